"""Ed25519 Multikeys and did:key (anchor.credentials.multikey): encoding, strict decoding, DID documents."""

from __future__ import annotations

import json
from pathlib import Path

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from anchor.credentials.multikey import (
    did_key,
    did_key_document,
    did_key_verification_method,
    public_key_from_multibase,
    public_key_multibase,
)
from anchor.errors import InvalidInputError

VECTORS = Path(__file__).resolve().parent / "vectors" / "vc-di-eddsa"


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_the_specification_key_pair_encodes_as_published() -> None:
    pair = json.loads((VECTORS / "keyPair.json").read_text(encoding="utf-8"))
    secret = base58.b58decode(pair["privateKeyMultibase"][1:])
    assert secret[:2] == b"\x80\x26"  # multicodec ed25519-priv
    public = raw_public(Ed25519PrivateKey.from_private_bytes(secret[2:]))
    assert public_key_multibase(public) == pair["publicKeyMultibase"]
    assert public_key_from_multibase(pair["publicKeyMultibase"]) == public


@settings(max_examples=200)
@given(st.binary(min_size=32, max_size=32))
def test_round_trip_and_the_z6mk_prefix(raw: bytes) -> None:
    text = public_key_multibase(raw)
    assert text.startswith("z6Mk")
    assert public_key_from_multibase(text) == raw
    assert did_key(raw) == "did:key:" + text
    assert did_key_verification_method(raw) == f"did:key:{text}#{text}"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "is not multibase base58btc"),
        ("z", "is not multibase base58btc"),
        ("u7QHf", "is not multibase base58btc"),  # base64url multibase
        ("z6Mk0OIl", "is not multibase base58btc"),  # 0, O, I, l are not in the alphabet
        ("z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2 ", "is not multibase base58btc"),
        (" z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2", "is not multibase base58btc"),
        ("z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F", "expected multicodec header 0xed01, got 0xec01"),  # X25519
        ("z" + base58.b58encode(b"\xed\x01" + bytes(31)).decode(), "holds 31 key bytes"),
        ("z" + base58.b58encode(b"\xed\x01" + bytes(33)).decode(), "holds 33 key bytes"),
    ],
)
def test_decoding_is_strict_and_names_the_value(text: str, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason) as caught:
        public_key_from_multibase(text)
    assert repr(text)[:60] in str(caught.value)


def test_an_overlong_value_is_refused_before_decoding() -> None:
    # base58 decoding takes time quadratic in the length: 200,000 characters would take minutes
    with pytest.raises(InvalidInputError, match="is 200001 characters; an Ed25519 Multikey is 48"):
        public_key_from_multibase("z" + "2" * 200_000)


def test_a_non_string_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="is not multibase base58btc"):
        public_key_from_multibase(b"z6Mk")  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", [bytes(31), bytes(33), "0" * 32])
def test_encoding_needs_32_raw_bytes(raw: object) -> None:
    with pytest.raises(InvalidInputError, match="an Ed25519 public key is 32 raw bytes"):
        public_key_multibase(raw)  # type: ignore[arg-type]


def test_did_key_document_is_computed_offline() -> None:
    raw = raw_public(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    did = did_key(raw)
    method = did_key_verification_method(raw)
    assert did_key_document(did) == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {"id": method, "type": "Multikey", "controller": did, "publicKeyMultibase": public_key_multibase(raw)}
        ],
        "authentication": [method],
        "assertionMethod": [method],
    }


@pytest.mark.parametrize(
    ("did", "reason"),
    [
        ("did:web:uni.example", "is not a did:key DID"),
        ("z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2", "is not a did:key DID"),
        ("did:key:z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F", "not an Ed25519 key"),
        ("did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6Mk", "is not multibase base58btc"),
    ],
)
def test_did_key_document_refuses_what_is_not_an_ed25519_did_key(did: str, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason):
        did_key_document(did)
