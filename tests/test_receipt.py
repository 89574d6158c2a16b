"""The receipt format: credential + AnchorMerkleProof, round trip and strict parsing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from anchor.credentials import credential_digest
from anchor.credentials.examples import generate_credentials
from anchor.credentials.receipt import AnchorProof, ReceiptError, make_receipt, split_receipt
from anchor.errors import UnknownFormatError

PROOF = AnchorProof(
    chain_id=80002,
    registry="0x5FbDB2315678afecb367f032d93F642f64180aa3",
    batch_id=4,
    issuer_id=2,
    index=17,
    digest="0x" + "ab" * 32,
    merkle_proof=("0x" + "01" * 32, "0x" + "02" * 32),
    root="0x" + "cd" * 32,
    transaction_hash="0x" + "ef" * 32,
    block_number=1234,
    anchored_at=datetime(2026, 11, 23, 2, 0, 13, tzinfo=UTC),
)


@pytest.fixture
def credential() -> dict[str, Any]:
    return next(generate_credentials(1, seed=3))


def test_round_trip_keeps_the_digest(credential: dict[str, Any]) -> None:
    receipt = make_receipt(credential, PROOF)
    assert receipt["proof"]["type"] == "AnchorMerkleProof"
    assert receipt["proof"]["anchoredAt"] == "2026-11-23T02:00:13Z"
    back, proof = split_receipt(receipt)
    assert proof == PROOF
    assert back == credential
    assert credential_digest(receipt) == credential_digest(credential)  # the proof is not hashed


def test_an_existing_vc_proof_is_kept(credential: dict[str, Any]) -> None:
    signed = dict(credential, proof={"type": "DataIntegrityProof", "proofValue": "z3x"})
    receipt = make_receipt(signed, PROOF)
    assert [p["type"] for p in receipt["proof"]] == ["DataIntegrityProof", "AnchorMerkleProof"]
    back, _ = split_receipt(receipt)
    assert back["proof"] == {"type": "DataIntegrityProof", "proofValue": "z3x"}


def test_not_a_receipt(credential: dict[str, Any]) -> None:
    with pytest.raises(ReceiptError, match="not an anchor receipt"):
        split_receipt(credential)
    twice = dict(credential, proof=[PROOF.to_json(), PROOF.to_json()])
    with pytest.raises(ReceiptError, match="exactly one"):
        split_receipt(twice)
    with pytest.raises(ReceiptError, match="JSON object"):
        split_receipt([])  # type: ignore[arg-type]


def test_unknown_format_is_rejected(credential: dict[str, Any]) -> None:
    receipt = make_receipt(credential, PROOF)
    receipt["proof"]["format"] = "anchor-receipt-v9"
    with pytest.raises(UnknownFormatError, match="anchor-receipt-v9"):
        split_receipt(receipt)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("chainId", 0, "/proof/chainId"),
        ("batchId", "4", "/proof/batchId"),
        ("index", -1, "/proof/index"),
        ("index", True, "/proof/index"),
        ("root", "0x1234", "/proof/root"),
        ("registry", "0xnotanaddress", "/proof/registry"),
        ("merkleProof", ["0x" + "zz" * 32], "/proof/merkleProof/0"),
        ("merkleProof", ["0x" + "00" * 32] * 65, "/proof/merkleProof"),
        ("anchoredAt", "yesterday", "/proof/anchoredAt"),
        ("anchoredAt", "2026-11-23T02:00:13", "/proof/anchoredAt"),
    ],
)
def test_malformed_proof_fields_are_named(credential: dict[str, Any], field: str, value: Any, message: str) -> None:
    receipt = make_receipt(credential, PROOF)
    receipt["proof"][field] = value
    with pytest.raises(ReceiptError, match=message):
        split_receipt(receipt)
