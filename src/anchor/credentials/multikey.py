"""Ed25519 public keys as W3C Multikeys, ``did:key`` identifiers and their offline DID documents.

A Multikey ``publicKeyMultibase`` is the multibase (base58btc, prefix ``z``) encoding of the multicodec
header ``0xed 0x01`` (ed25519-pub) followed by the 32 raw key bytes, so every Ed25519 key reads
``z6Mk...`` (Controlled Identifiers v1.0, Multikey). A ``did:key`` DID is that string after
``did:key:``; its only verification method is ``<did>#<multibase>`` and its DID document is computed from
the DID itself, without any lookup (the did:key method, Ed25519 keys).

Decoding is strict: a wrong multibase prefix, multicodec header, length or alphabet is refused with
:class:`~anchor.errors.InvalidInputError` naming the value, never read leniently.
"""

from __future__ import annotations

import re
from typing import Any, Final

from anchor.errors import InvalidInputError

__all__ = [
    "DID_KEY_PREFIX",
    "ED25519_PUB_HEADER",
    "did_key",
    "did_key_document",
    "did_key_verification_method",
    "public_key_from_multibase",
    "public_key_multibase",
]

#: multicodec ``ed25519-pub`` (0xed) as an unsigned varint: the two bytes before the raw key.
ED25519_PUB_HEADER: Final = b"\xed\x01"
ED25519_KEY_LENGTH: Final = 32
DID_KEY_PREFIX: Final = "did:key:"
DID_CONTEXT: Final = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT: Final = "https://w3id.org/security/multikey/v1"

#: Longest publicKeyMultibase looked at (an Ed25519 Multikey is 48 characters).
MULTIBASE_MAX_LENGTH: Final = 64
#: The length of every Ed25519 ``publicKeyMultibase``: ``z`` and the 47 base58 digits of the 34 bytes of header
#: and key (a constant, not computed at import: computing it would import base58, and with it hashlib).
ED25519_MULTIBASE_LENGTH: Final = 48
_BASE58BTC: Final = re.compile(r"z[1-9A-HJ-NP-Za-km-z]+")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def public_key_multibase(raw: bytes) -> str:
    """The Multikey ``publicKeyMultibase`` (``z6Mk...``) of a raw 32-byte Ed25519 public key."""
    if not isinstance(raw, bytes) or len(raw) != ED25519_KEY_LENGTH:
        size = f"{len(raw)} bytes" if isinstance(raw, bytes) else type(raw).__name__
        raise InvalidInputError(f"an Ed25519 public key is {ED25519_KEY_LENGTH} raw bytes, got {size}")
    import base58  # here, as below: it imports hashlib (OpenSSL); verifying an unsigned credential needs neither

    encoded: bytes = base58.b58encode(ED25519_PUB_HEADER + raw)
    return "z" + encoded.decode("ascii")


def public_key_from_multibase(text: str) -> bytes:
    """The raw 32-byte Ed25519 public key of a Multikey ``publicKeyMultibase``; strict."""
    if isinstance(text, str) and len(text) > MULTIBASE_MAX_LENGTH:  # base58 decoding is quadratic: bound it first
        raise InvalidInputError(
            f"publicKeyMultibase {_show(text)} is {len(text)} characters; an Ed25519 Multikey is 48"
        )
    if not isinstance(text, str) or _BASE58BTC.fullmatch(text) is None:
        raise InvalidInputError(
            f"publicKeyMultibase {_show(text)} is not multibase base58btc ('z' then the base58 alphabet)"
        )
    import base58

    decoded: bytes = base58.b58decode(text[1:])
    if not decoded.startswith(ED25519_PUB_HEADER):
        raise InvalidInputError(
            f"publicKeyMultibase {_show(text)} is not an Ed25519 key: expected multicodec header 0xed01, "
            f"got 0x{decoded[:2].hex()}"
        )
    raw = decoded[len(ED25519_PUB_HEADER) :]
    if len(raw) != ED25519_KEY_LENGTH:
        raise InvalidInputError(
            f"publicKeyMultibase {_show(text)} holds {len(raw)} key bytes; an Ed25519 key has {ED25519_KEY_LENGTH}"
        )
    return raw


def did_key(raw: bytes) -> str:
    """The ``did:key`` DID of a raw Ed25519 public key."""
    return DID_KEY_PREFIX + public_key_multibase(raw)


def did_key_verification_method(raw: bytes) -> str:
    """The verification method id (``did:key:z..#z..``) of a raw Ed25519 public key's ``did:key``."""
    multibase = public_key_multibase(raw)
    return f"{DID_KEY_PREFIX}{multibase}#{multibase}"


def did_key_document(did: str) -> dict[str, Any]:
    """The DID document of an Ed25519 ``did:key`` DID, computed offline.

    One ``Multikey`` verification method, listed under ``assertionMethod`` and ``authentication``.
    """
    if not isinstance(did, str) or not did.startswith(DID_KEY_PREFIX):
        raise InvalidInputError(f"{_show(did)} is not a did:key DID (expected 'did:key:z6Mk...')")
    multibase = did[len(DID_KEY_PREFIX) :]
    try:
        public_key_from_multibase(multibase)
    except InvalidInputError as error:
        raise InvalidInputError(f"did:key DID {_show(did)}: {error}") from None
    method_id = f"{did}#{multibase}"
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": [
            {"id": method_id, "type": "Multikey", "controller": did, "publicKeyMultibase": multibase}
        ],
        "authentication": [method_id],
        "assertionMethod": [method_id],
    }
