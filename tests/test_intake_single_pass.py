"""Intake parses, validates and canonicalizes each credential once, with results identical to the reference path.

The reference is intake as it was: parse, re-serialise and parse again, the full validation walk, and the
``rfc8785`` library for both the content hash and the digest. With the salt fixed, the stored document, the
digest and the content hash must be byte for byte the same for the example credentials of every issuer,
unsigned and signed, and for credentials with floats, decomposed text, U+2028 and a salt of their own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import rfc8785
import sha3
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchor.credentials import (
    SALT_KEY,
    credential_digest,
    hashed_view,
    parse_credential,
    validate_credential,
    validation,
    with_salt,
)
from anchor.credentials import digest as digest_module
from anchor.credentials.examples import ISSUERS, generate_credentials
from anchor.credentials.model import FORMAT_V2, FORMAT_V3
from anchor.credentials.multikey import did_key, did_key_verification_method
from anchor.errors import CredentialValidationError
from anchor.issuing import intake
from anchor.issuing.signing import IntakeSigner, sign_for_issue
from anchor.issuing.store import NewCredential

FIXED_SALT = "0x" + "5a" * 32


@pytest.fixture(autouse=True)
def fixed_salt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digest_module, "new_salt", lambda: FIXED_SALT)


def keccak(data: bytes) -> bytes:
    return bytes(sha3.keccak_256(data).digest())


def reference(data: bytes, signer: IntakeSigner | None = None) -> NewCredential:
    """Intake as it was before the single pass (the validity period check aside: the examples are current)."""
    first = parse_credential(data, source="x")
    clean = parse_credential(json.dumps(first, ensure_ascii=False, allow_nan=False), source="x")
    validate_credential(clean, source="x")
    unsalted = {key: value for key, value in clean.items() if key != SALT_KEY}
    document = clean if SALT_KEY in clean else with_salt(clean)
    if signer is not None:
        document = sign_for_issue(clean, signer)
    return NewCredential(
        credential_id=document["id"],
        content_hash=keccak(rfc8785.dumps(hashed_view(unsalted))),
        # a v1 input is signed as v3, whose digest commits to each claim (tested in test_disclosure.py)
        digest=credential_digest(document)
        if document["anchorFormat"] == FORMAT_V3
        else keccak(rfc8785.dumps(hashed_view(document))),
        document=json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        issuer=document["issuer"]["id"],
    )


def signer() -> IntakeSigner:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    public = key.public_key().public_bytes_raw()
    return IntakeSigner.now(did_key(public), did_key_verification_method(public), key.private_bytes_raw())


def variants(credential: dict[str, Any]) -> list[dict[str, Any]]:
    """The credential; the same with floats, decomposed text, U+2028, an astral character; with a salt."""
    odd = json.loads(json.dumps(credential))
    credits = odd["credentialSubject"]["achievement"]["creditsAvailable"]
    odd["credentialSubject"]["achievement"]["creditsAvailable"] = float(credits)  # 3.0: JCS writes 3
    odd["credentialSubject"]["creditsEarned"] = credits - 0.5
    odd["name"] = "Pru\u0308fung \u2028 \U0001f393 \\b"
    salted = with_salt(credential, "0x" + "01" * 32)
    return [credential, odd, salted]


def inputs(issuer_did: str | None = None, formats: tuple[str, ...] = ("anchor-credential-v1",)) -> list[bytes]:
    found = []
    for n, issuer in enumerate(ISSUERS):
        for credential_format in formats:
            for credential in generate_credentials(
                1, seed=n, issuer=issuer, salted=False, credential_format=credential_format, issuer_did=issuer_did
            ):
                found += [
                    json.dumps(variant, ensure_ascii=False, indent=1).encode() for variant in variants(credential)
                ]
    return found


def test_unsigned_results_are_those_of_the_reference_path(tmp_path: Path) -> None:
    for n, data in enumerate(inputs()):
        expected = reference(data)
        path = tmp_path / f"{n}.json"
        path.write_bytes(data)
        assert intake.prepare_bytes(data, "x") == expected
        assert intake.prepare_file(path) == expected
        assert intake.prepare_credential(json.loads(data)) == expected


def test_signed_results_are_those_of_the_reference_path() -> None:
    issuing = signer()
    for data in inputs(issuing.did, ("anchor-credential-v1", FORMAT_V2))[::2]:
        expected = reference(data, issuing)
        assert intake.prepare_bytes(data, "x", signer=issuing) == expected


def counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[int]:
    calls = [0]
    original: Callable[..., Any] = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_a_credential_is_parsed_walked_and_canonicalized_once_per_view(monkeypatch: pytest.MonkeyPatch) -> None:
    data = inputs()[0]
    parses = counting(monkeypatch, intake, "parse_credential_floats")
    walks = counting(monkeypatch, validation, "_clean")
    references = counting(monkeypatch, rfc8785, "dumps")
    intake.prepare_bytes(data, "x")
    assert parses == [1]  # was 2: parsed, re-serialised and parsed again
    assert walks == [0]  # was 1: validation walked the parsed credential again
    assert references == [0]  # was 2: the pure-Python canonicalizer for the content hash and the digest


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("note", "a\x08b"),
        ("note", "a\x0cb"),
        ("note", "a\x00b"),
        ("note", "a\x1fb"),
        ("note", "a\x7fb"),
        ("note", "a\x85b"),
        ("no\x01te", "x"),
        ("note", ["ok", {"deep\x9f": "x"}]),
    ],
)
def test_control_characters_are_refused_with_their_path_as_before(key: str, value: Any) -> None:
    credential = next(generate_credentials(1, salted=False))
    credential[key] = value
    data = json.dumps(credential).encode()
    with pytest.raises(CredentialValidationError) as full:
        validate_credential(parse_credential(data))
    with pytest.raises(CredentialValidationError) as fast:
        intake.prepare_bytes(data, "x")
    assert fast.value.problems == full.value.problems
    assert any("control character" in problem.message for problem in fast.value.problems)


def test_an_escaped_backslash_that_looks_like_a_control_escape_is_not_refused() -> None:
    credential = next(generate_credentials(1, salted=False))
    credential["name"] = "C:\\bin\\fonts\\u0001"
    data = json.dumps(credential).encode()
    assert intake.prepare_bytes(data, "x") == reference(data)
