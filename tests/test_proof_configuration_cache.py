"""Intake signs every credential of a run with one proof configuration: it is canonicalized once, not once per
credential (found by ``benchmarks/e2e_bench.py``), and the proofs stay byte-identical to pyld's."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from anchor.credentials import data_integrity as di
from anchor.credentials import rdfc
from anchor.credentials.examples import generate_credentials
from anchor.credentials.model import FORMAT_V2

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
METHOD = "did:web:uni.example#key-1"
CREATED = datetime(2025, 8, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every document data_integrity canonicalizes, in order (the real canonicalization still runs)."""
    seen: list[dict[str, Any]] = []

    def canonize(document: dict[str, Any]) -> str:
        seen.append(document)
        return rdfc.canonize(document)

    monkeypatch.setattr(di, "canonize", canonize)
    return seen


def credentials(count: int, seed: int = 7) -> list[dict[str, Any]]:
    return [dict(item) for item in generate_credentials(count, seed=seed, credential_format=FORMAT_V2)]


def reference_proof_value(document: dict[str, Any], proof: dict[str, Any]) -> str:
    """The proofValue computed from scratch with pyld (Ed25519 is deterministic)."""
    config = {"@context": document["@context"], **{k: v for k, v in proof.items() if k != "proofValue"}}
    data = (
        hashlib.sha256(rdfc.canonize_reference(config).encode()).digest()
        + hashlib.sha256(rdfc.canonize_reference(document).encode()).digest()
    )
    return "z" + str(base58.b58encode(KEY.sign(data)).decode("ascii"))


def test_one_run_canonicalizes_its_proof_configuration_once(counted: list[dict[str, Any]]) -> None:
    documents = credentials(5)
    for document in documents:
        di.sign(document, KEY, METHOD, created=CREATED)
    configurations = [item for item in counted if "proofPurpose" in item]
    assert len(configurations) == 1  # was 5: once per credential
    assert len(counted) == 6


def test_cached_proofs_are_byte_identical_to_pyld() -> None:
    documents = credentials(4, seed=11)
    for document in documents:
        proof = di.sign(document, KEY, METHOD, created=CREATED)
        assert proof["proofValue"] == reference_proof_value(document, proof)
        di.verify(document, proof, PUBLIC)


def test_another_option_is_not_served_from_the_cache(counted: list[dict[str, Any]]) -> None:
    document = credentials(1, seed=3)[0]
    first = di.sign(document, KEY, METHOD, created=CREATED)
    later = di.sign(document, KEY, METHOD, created=datetime(2025, 8, 2, tzinfo=UTC))
    other_key = di.sign(document, KEY, "did:web:uni.example#key-2", created=CREATED)
    assert len([item for item in counted if "proofPurpose" in item]) == 3
    for proof in (first, later, other_key):
        assert proof["proofValue"] == reference_proof_value(document, proof)
    # a proof whose options changed after signing fails, though the signed configuration is cached
    forged = {**first, "created": later["created"]}
    with pytest.raises(di.SignatureError, match="does not match"):
        di.verify(document, forged, PUBLIC)
    moved = {**first, "verificationMethod": other_key["verificationMethod"]}
    with pytest.raises(di.SignatureError, match="does not match"):
        di.verify(document, moved, PUBLIC)


def test_another_context_is_another_key() -> None:
    document = credentials(1, seed=5)[0]
    proof = di.sign(document, KEY, METHOD, created=CREATED)
    key = di._configuration_key(document, proof)
    assert key is not None
    for context in (document["@context"][0], list(reversed(document["@context"])), document["@context"][:2]):
        assert di._configuration_key({**document, "@context": context}, proof) not in (None, key)


def test_configurations_with_other_than_strings_are_not_cached() -> None:
    document = credentials(1, seed=9)[0]
    proof = {"type": di.PROOF_TYPE, "cryptosuite": di.CRYPTOSUITE, "created": 5}
    assert di._configuration_key(document, proof) is None
    assert di._configuration_key({**document, "@context": [{"@vocab": "x:"}]}, {"type": di.PROOF_TYPE}) is None


def test_the_cache_stays_bounded() -> None:
    document = credentials(1, seed=13)[0]
    for day in range(1, 3 * di._CONFIGURATION_DIGESTS_MAX):
        di.sign(
            document, KEY, METHOD, created=datetime(2025, 1, 1, tzinfo=UTC).replace(day=1 + day % 28, hour=day % 24)
        )
        assert len(di._CONFIGURATION_DIGESTS) <= di._CONFIGURATION_DIGESTS_MAX
