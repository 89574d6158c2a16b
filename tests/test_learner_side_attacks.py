"""Learner-side attacks on presentations, baked badges and stacks: what a holder controls, refused or bounded.

The holder of a receipt controls every byte of what they show. These tests try to get a VALID verdict for
something never issued, or to make the verifier do unbounded work, and check the attempt is refused.
"""

from __future__ import annotations

import copy
import json
import struct
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from anchor.credentials import FORMAT_V3, credential_digest, parse_credential, with_salt
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.examples.stack import stack_example
from anchor.credentials.presentations import make_presentation, parse_presentation
from anchor.credentials.receipt import LEAF_ENCODING, AnchorProof, make_receipt
from anchor.credentials.related import with_parts
from anchor.errors import InvalidInputError
from anchor.merkle import StandardMerkleTree
from anchor.sharing.baking import MAX_SVG_BYTES, PNG_KEYWORD, PNG_SIGNATURE, _chunk, bake_svg, unbake
from anchor.sharing.stacks import STACK_FORMAT, STACK_TYPE, build_bundle
from anchor.verifier import Verdict, Verifier
from anchor.verifier.stacks import verify_stack

from support.fake_chain import FakeChain, FakeEndpoint

SIGNATURE = {
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-rdfc-2022",
    "created": "2026-11-23T02:00:00Z",
    "verificationMethod": "did:web:example.edu#key-1",
    "proofPurpose": "assertionMethod",
    "proofValue": "z" + "2" * 86,
}


def _receipts(count: int) -> list[dict[str, Any]]:
    credentials = []
    for credential in generate_credentials(count, seed=31, credential_format=FORMAT_V3):
        credential["proof"] = [dict(SIGNATURE)]
        credentials.append(credential)
    leaves = [("0x" + credential_digest(credential).hex(), index) for index, credential in enumerate(credentials)]
    tree = StandardMerkleTree.of(leaves, LEAF_ENCODING)
    return [
        make_receipt(
            credential,
            AnchorProof(
                chain_id=80002,
                registry="0x5FbDB2315678afecb367f032d93F642f64180aa3",
                batch_id=4,
                issuer_id=2,
                index=index,
                digest=leaves[index][0],
                merkle_proof=tuple(tree.get_proof(index)),
                root=tree.root,
                transaction_hash="0x" + "ef" * 32,
                block_number=1234,
                anchored_at=datetime(2026, 11, 23, 2, 0, 13, tzinfo=UTC),
            ),
        )
        for index, credential in enumerate(credentials)
    ]


RECEIPTS = _receipts(2)


def _bounded(action: Any) -> str:
    """The refusal ``action()`` raises, checking it came at once and without allocating much."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(InvalidInputError) as caught:
            action()
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 2, f"took {elapsed:.1f} s"
    assert peak < 200 << 20, f"allocated {peak >> 20} MiB"
    return str(caught.value)


# ------------------------------------------------------------------ unbounded work from a long key


def _long_key_bomb(document: dict[str, Any], holder: dict[str, Any]) -> bytes:
    """``document`` with a 200 kB key holding 5,000 claims: under 300 kB of text, but each claim's pointer
    repeats the key, so naive pointer building costs 5,000 x 200 kB = 1 GB."""
    holder["k" * 200_000] = {str(at): 1 for at in range(5_000)}
    return json.dumps(document, separators=(",", ":")).encode()


def test_a_presentation_with_a_long_key_over_many_claims_is_refused_without_building_every_pointer() -> None:
    presentation = make_presentation(RECEIPTS[0], hide=["credentialSubject.result"])
    text = _long_key_bomb(presentation, presentation["credential"])
    document = parse_credential(text)
    message = _bounded(lambda: parse_presentation(document))
    assert "claim path" in message or "claims" in message


def test_a_v3_receipt_with_a_long_key_over_many_claims_is_refused_without_building_every_pointer() -> None:
    receipt = copy.deepcopy(RECEIPTS[0])
    text = _long_key_bomb(receipt, receipt)
    credential = parse_credential(text)
    credential.pop("proof")
    message = _bounded(lambda: credential_digest(credential))
    assert "claim path" in message or "claims" in message


# ------------------------------------------------------------------ refused as they should be (guards)

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def fake_chain() -> Iterator[tuple[FakeChain, Verifier]]:
    chain = FakeChain()
    endpoint = FakeEndpoint(chain)
    try:
        yield chain, Verifier([endpoint.url], [chain.registry], timeout=5)
    finally:
        endpoint.close()


def test_a_presentation_withholding_the_issuer_id_or_validity_end_is_not_valid(
    fake_chain: tuple[FakeChain, Verifier],
) -> None:
    chain, verifier = fake_chain
    issuer = issuer_for_country("PT")
    chain.register(1, issuer.name, "PT", issuer.id)
    credential = next(generate_credentials(1, seed=7, issuer=issuer, credential_format=FORMAT_V3))
    credential["validUntil"] = "2026-02-01T00:00:00Z"  # expired at NOW: withholding it must not hide that
    (receipt,) = chain.anchor(1, [credential])
    assert verifier.verify(make_presentation(receipt, hide=["credentialSubject.result"]), now=NOW).failed[0].code == (
        "expired"
    )
    for hidden in ("issuer.id", "validUntil", "issuer"):
        result = verifier.verify(make_presentation(receipt, hide=[hidden]), now=NOW)
        assert result.verdict is Verdict.INVALID, hidden
        assert any(check.code == "withheld-required" for check in result.failed), (hidden, result.failed)


def _stack(chain: FakeChain) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    example = stack_example()
    ids: dict[str, int] = {}
    for credential in (example.certificate, *example.parts):
        issuer = credential["issuer"]
        if issuer["id"] not in ids:
            ids[issuer["id"]] = len(ids) + 1
            chain.register(ids[issuer["id"]], issuer["name"], issuer["address"]["addressCountryCode"], issuer["id"])
    parts = [
        chain.anchor(ids[part["issuer"]["id"]], [with_salt(part, bytes([at + 1]) * 32)])[0]
        for at, part in enumerate(example.parts)
    ]
    certificate = with_parts(example.certificate, parts)
    (stacked,) = chain.anchor(ids[certificate["issuer"]["id"]], [with_salt(certificate, bytes([9]) * 32)])
    return stacked, parts


def test_a_stack_whose_stacked_credential_is_revoked_or_whose_part_is_not_a_receipt_is_not_valid(
    fake_chain: tuple[FakeChain, Verifier],
) -> None:
    chain, verifier = fake_chain
    stacked, parts = _stack(chain)
    bundle = build_bundle(stacked, parts)
    assert verify_stack(verifier, bundle, now=NOW).verdict is Verdict.VALID
    text = json.loads(json.dumps({"type": STACK_TYPE, "format": STACK_FORMAT, "stacked": stacked, "parts": parts}))
    impostor = copy.deepcopy(text)
    impostor["parts"][0] = {"type": "AnchorPresentation", "id": parts[0]["id"], "proof": parts[0]["proof"]}
    assert verify_stack(verifier, json.dumps(impostor).encode(), now=NOW).verdict is not Verdict.VALID
    other = copy.deepcopy(text)
    other["parts"][0]["credentialSubject"]["id"] = other["parts"][0]["credentialSubject"]["id"].upper()
    assert verify_stack(verifier, json.dumps(other).encode(), now=NOW).verdict is Verdict.INVALID
    chain.batches[max(chain.batches)].revoked_at = 1_760_000_000
    revoked = verify_stack(verifier, bundle, now=NOW)
    assert revoked.verdict is Verdict.INVALID
    assert revoked.status == "STACKED REVOKED"


def test_hostile_badge_images_are_refused_or_read_within_bounds() -> None:
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    end = _chunk(b"IEND", b"")
    credential = json.dumps({"id": "urn:x"}).encode()
    baked = _chunk(b"iTXt", PNG_KEYWORD.encode() + b"\x00\x00\x00\x00\x00" + credential)
    bomb = zlib.compress(b"\x00" * (64 << 20), 9)  # 64 MiB inflated, never inflated by the reader
    started = time.monotonic()
    assert unbake(PNG_SIGNATURE + header + baked + _chunk(b"zTXt", b"Comment\x00\x00" + bomb) + end) == credential
    four_gb = PNG_SIGNATURE + header + struct.pack(">I4s", 0xFFFF_FFF0, b"iTXt") + b"x" * 64
    with pytest.raises(InvalidInputError, match="over 2"):
        unbake(four_gb)
    svg = bake_svg('<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>', {"id": "urn:x"})
    depth = (MAX_SVG_BYTES - len(svg)) // 8
    assert unbake(svg.replace(b"<rect/>", b"<g>" * depth + b"</g>" * depth)) == credential.replace(b" ", b"")
    assert time.monotonic() - started < 5
