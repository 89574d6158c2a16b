"""The v2 credential and receipt formats: the digest covers the issuer's signature, never the anchoring proof."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from anchor.credentials import (
    CONTEXTS_V2,
    FORMAT_V1,
    FORMAT_V2,
    canonical_bytes,
    credential_digest,
    hashed_view,
    with_salt,
)
from anchor.credentials.examples import generate_credentials
from anchor.credentials.receipt import (
    RECEIPT_FORMAT,
    RECEIPT_FORMAT_V2,
    AnchorProof,
    ReceiptError,
    make_receipt,
    split_receipt,
)

PROOF = AnchorProof(
    chain_id=80002,
    registry="0x5FbDB2315678afecb367f032d93F642f64180aa3",
    batch_id=4,
    issuer_id=2,
    index=17,
    digest="0x" + "ab" * 32,
    merkle_proof=("0x" + "01" * 32,),
    root="0x" + "cd" * 32,
    transaction_hash="0x" + "ef" * 32,
    block_number=1234,
    anchored_at=datetime(2026, 11, 23, 2, 0, 13, tzinfo=UTC),
)
SIGNATURE = {
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-rdfc-2022",
    "created": "2026-11-23T02:00:00Z",
    "verificationMethod": "did:web:example.edu#key-1",
    "proofPurpose": "assertionMethod",
    "proofValue": "z" + "2" * 86,
}


@pytest.fixture
def signed_v2() -> dict[str, Any]:
    credential = next(iter(generate_credentials(1, seed=5)))
    credential["@context"] = list(CONTEXTS_V2)
    credential["anchorFormat"] = FORMAT_V2
    credential = with_salt(credential, replace=True)
    credential["proof"] = [dict(SIGNATURE)]
    return credential


def test_v2_digest_covers_the_issuer_signature(signed_v2: dict[str, Any]) -> None:
    before = credential_digest(signed_v2)
    forged = copy.deepcopy(signed_v2)
    forged["proof"][0]["proofValue"] = "z" + "3" * 86
    assert credential_digest(forged) != before
    stripped = copy.deepcopy(signed_v2)
    del stripped["proof"]
    assert credential_digest(stripped) != before


def test_v2_digest_ignores_only_the_anchoring_proof(signed_v2: dict[str, Any]) -> None:
    receipt = make_receipt(signed_v2, PROOF)
    assert credential_digest(receipt) == credential_digest(signed_v2)
    assert hashed_view(receipt)["proof"] == [SIGNATURE]
    # a single proof object and a one-element list are the same JSON-LD proof set: same digest
    as_object = dict(signed_v2, proof=SIGNATURE)
    assert canonical_bytes(as_object) == canonical_bytes(signed_v2)


def test_v1_digest_still_ignores_every_proof(signed_v2: dict[str, Any]) -> None:
    v1 = dict(signed_v2, anchorFormat=FORMAT_V1)
    assert credential_digest(v1) == credential_digest({k: v for k, v in v1.items() if k != "proof"})


def test_v2_receipt_proof_is_a_list_signature_first(signed_v2: dict[str, Any]) -> None:
    receipt = make_receipt(signed_v2, PROOF)
    assert [p["type"] for p in receipt["proof"]] == ["DataIntegrityProof", "AnchorMerkleProof"]
    assert receipt["proof"][1]["format"] == RECEIPT_FORMAT_V2
    credential, proof = split_receipt(receipt)
    assert credential == signed_v2
    assert proof.receipt_format == RECEIPT_FORMAT_V2
    # making a receipt of a receipt replaces the anchoring proof instead of adding a second one
    again = make_receipt(receipt, PROOF)
    assert again == receipt


def test_v1_receipt_keeps_its_shape() -> None:
    credential = with_salt(next(iter(generate_credentials(1, seed=5))), replace=True)
    receipt = make_receipt(credential, PROOF)
    assert isinstance(receipt["proof"], dict)
    assert receipt["proof"]["format"] == RECEIPT_FORMAT
    assert split_receipt(receipt)[0] == credential


def test_receipt_format_must_match_the_credential_format(signed_v2: dict[str, Any]) -> None:
    receipt = make_receipt(signed_v2, PROOF)
    receipt["proof"][1]["format"] = RECEIPT_FORMAT
    with pytest.raises(ReceiptError, match="does not go with a credential in 'anchor-credential-v2'"):
        split_receipt(receipt)
    v1 = make_receipt(dict(signed_v2, anchorFormat=FORMAT_V1), PROOF)
    v1["proof"][-1]["format"] = RECEIPT_FORMAT_V2
    with pytest.raises(ReceiptError, match="expected 'anchor-receipt-v1'"):
        split_receipt(v1)


def test_v2_receipt_with_a_proof_object_is_refused(signed_v2: dict[str, Any]) -> None:
    receipt = make_receipt(signed_v2, PROOF)
    receipt["proof"] = receipt["proof"][1]
    with pytest.raises(ReceiptError, match="proof is a list of proofs"):
        split_receipt(receipt)
