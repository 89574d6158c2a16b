"""W3C Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (Data Integrity EdDSA Cryptosuites v1.0).

An issuer signs a credential with its Ed25519 key::

    proof = sign(credential, private_key, "did:web:uni.example#key-1")
    signed = add_proof(credential, proof)          # "proof": [..., proof]

and anyone holding the issuer's public key checks it::

    verify(credential_without_proof, proof, public_key)   # SignatureError with the reason, or None

The signed bytes are ``hashData = SHA-256(canonical proof configuration) || SHA-256(canonical document)``
(spec section 3.2.4), where the proof configuration is the proof without ``proofValue`` and with the
document's ``@context``, both canonicalized by RDFC-1.0 (:func:`canonize`: JSON-LD in safe mode with the
shipped contexts only, byte-identical to ``pyld``). ``proofValue`` is ``z`` + base58btc of the 64-byte
Ed25519 signature. The document is signed without any ``proof`` (proof-set semantics): pass it that way.

Verifying refuses, each with its own reason: another proof type, cryptosuite or purpose, a proof
``@context`` other than the document's, a missing or garbled ``proofValue``, a signature of the wrong
length, an expired proof, a proof chain (``previousProof``), anything safe-mode JSON-LD refuses (a term the
contexts do not define, a relative IRI...), and a signature that does not match. Resolving the
``verificationMethod`` to the key, and checking that the issuer lists it under ``assertionMethod``, is the
caller's job (:mod:`anchor.verifier.dids`).
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from anchor.credentials.rdfc import UnsafeJsonLdError, canonize, canonize_reference
from anchor.errors import InvalidInputError, InvariantError

__all__ = [
    "CRYPTOSUITE",
    "PROOF_PURPOSE",
    "PROOF_TYPE",
    "SignatureError",
    "add_proof",
    "canonize",
    "canonize_reference",
    "format_created",
    "hash_data",
    "proof_configuration",
    "sign",
    "verify",
]

CRYPTOSUITE: Final = "eddsa-rdfc-2022"
PROOF_TYPE: Final = "DataIntegrityProof"
PROOF_PURPOSE: Final = "assertionMethod"
#: Contexts that define ``DataIntegrityProof`` and its terms; the document's ``@context`` must hold one.
SUITE_CONTEXTS: Final = ("https://www.w3.org/ns/credentials/v2", "https://w3id.org/security/data-integrity/v2")
SIGNATURE_LENGTH: Final = 64
#: Longest proofValue looked at: 'z' and the base58 of 64 bytes is at most 89 characters.
PROOF_VALUE_MAX_LENGTH: Final = 100

#: XML Schema dateTimeStamp (a dateTime with a time zone), as Data Integrity requires for created/expires.
_DATE_TIME: Final = re.compile(
    r"(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})", flags=re.ASCII
)
_BASE58BTC: Final = re.compile(r"z[1-9A-HJ-NP-Za-km-z]+")


class SignatureError(InvalidInputError):
    """A Data Integrity proof that cannot be made or is not valid; the message says why."""


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


def format_created(moment: datetime) -> str:
    """``moment`` as a Data Integrity ``created`` value: UTC, whole seconds, ``Z`` (2025-01-31T12:00:00Z)."""
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise SignatureError(f"created must be a timezone-aware datetime, got {_show(moment)}")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_date_time(value: object, field: str) -> datetime:
    if not isinstance(value, str) or _DATE_TIME.fullmatch(value) is None:
        raise SignatureError(f"proof {field} {_show(value)} is not an XML Schema dateTime with a time zone")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SignatureError(f"proof {field} {_show(value)} is not a valid date and time") from None


def _check_document(document: object) -> Mapping[str, Any]:
    if not isinstance(document, Mapping):
        raise SignatureError(f"the document to sign or verify is a JSON object, got {type(document).__name__}")
    if "proof" in document:
        raise SignatureError("pass the document without its 'proof': a Data Integrity proof signs the rest")
    context = document.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if not any(item in SUITE_CONTEXTS for item in contexts):
        raise SignatureError(
            f"the document's @context {_show(context)} names neither {SUITE_CONTEXTS[0]} nor "
            f"{SUITE_CONTEXTS[1]}, so DataIntegrityProof is not defined"
        )
    return document


def proof_configuration(document: Mapping[str, Any], proof: Mapping[str, Any]) -> dict[str, Any]:
    """The proof configuration that is signed: ``proof`` without ``proofValue``, with the document's ``@context``."""
    config = {key: copy.deepcopy(value) for key, value in proof.items() if key not in ("proofValue", "@context")}
    return {"@context": copy.deepcopy(document["@context"]), **config}


def _canonize(document: Mapping[str, Any], what: str) -> bytes:
    try:
        return canonize(document).encode("utf-8")
    except UnsafeJsonLdError as error:
        raise SignatureError(f"{what}: {error}") from error
    except UnicodeEncodeError as error:
        raise SignatureError(f"{what}: a string holds a lone surrogate, which UTF-8 cannot encode") from error


def hash_data(document: Mapping[str, Any], proof: Mapping[str, Any]) -> bytes:
    """The 64 bytes an ``eddsa-rdfc-2022`` proof signs: SHA-256 of the canonical proof configuration, then of
    the canonical document (``document`` without ``proof``)."""
    config = _configuration_digest(document, proof)
    return config + hashlib.sha256(_canonize(document, "document")).digest()


#: SHA-256 of recent canonical proof configurations. Every credential of one intake run shares its proof
#: configuration (the same @context, created and verificationMethod), so it is canonicalized once per run,
#: not once per credential. Bounded: emptied when full.
_CONFIGURATION_DIGESTS: Final[dict[tuple[object, ...], bytes]] = {}
_CONFIGURATION_DIGESTS_MAX: Final = 64


def _configuration_digest(document: Mapping[str, Any], proof: Mapping[str, Any]) -> bytes:
    """SHA-256 of the canonical proof configuration, from the cache when the same one was canonicalized lately."""
    key = _configuration_key(document, proof)
    digest = _CONFIGURATION_DIGESTS.get(key) if key is not None else None
    if digest is None:
        digest = hashlib.sha256(_canonize(proof_configuration(document, proof), "proof configuration")).digest()
        if key is not None:
            if len(_CONFIGURATION_DIGESTS) >= _CONFIGURATION_DIGESTS_MAX:
                _CONFIGURATION_DIGESTS.clear()
            _CONFIGURATION_DIGESTS[key] = digest
    return digest


def _configuration_key(document: Mapping[str, Any], proof: Mapping[str, Any]) -> tuple[object, ...] | None:
    """What determines the proof configuration entirely (and the canonicalizer), when it is made of plain
    strings only: the document's @context (a string, or a list of them) and the proof's other members in
    order, without proofValue. None (not cached) for anything else."""
    context = document.get("@context")
    if type(context) is list and all(type(item) is str for item in context):
        contexts: object = tuple(context)
    elif type(context) is str:
        contexts = context
    else:
        return None
    members = tuple((name, value) for name, value in proof.items() if name not in ("proofValue", "@context"))
    if not all(type(name) is str and type(value) is str for name, value in members):
        return None
    return (canonize, contexts, members)


def _check_verification_method(value: object) -> str:
    if not isinstance(value, str) or re.fullmatch(r"[A-Za-z][A-Za-z0-9+\-.]*:[^\s<>\"{}|^`\\]+", value) is None:
        raise SignatureError(f"verificationMethod {_show(value)} is not an absolute IRI (such as did:web:x#key-1)")
    return value


def sign(
    document: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    verification_method: str,
    *,
    created: datetime | None = None,
) -> dict[str, Any]:
    """An ``eddsa-rdfc-2022`` Data Integrity proof of ``document`` (given without ``proof``).

    ``verification_method`` is the id of the public key in the issuer's DID document
    (``did:web:uni.example#key-1``, ``did:key:z6Mk..#z6Mk..``); ``created`` defaults to now. The signature is
    checked against the public key before the proof is returned.
    """
    document = _check_document(document)
    if not isinstance(private_key, Ed25519PrivateKey):
        raise SignatureError(f"an eddsa-rdfc-2022 proof needs an Ed25519 private key, got {type(private_key).__name__}")
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": format_created(created if created is not None else datetime.now(UTC)),
        "verificationMethod": _check_verification_method(verification_method),
        "proofPurpose": PROOF_PURPOSE,
    }
    data = hash_data(document, proof)
    signature = private_key.sign(data)
    try:  # a fault while signing can leak an EdDSA key: never hand out a signature that does not verify
        private_key.public_key().verify(signature, data)
    except InvalidSignature:
        raise InvariantError("Ed25519 produced a signature that does not verify; the key was not used") from None
    proof["proofValue"] = "z" + base58.b58encode(signature).decode("ascii")
    return proof


def add_proof(document: Mapping[str, Any], proof: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` whose ``proof`` is a list ending with ``proof`` (after any proofs it had)."""
    existing = document.get("proof")
    if existing is None:
        proofs: list[Any] = []
    elif isinstance(existing, list):
        proofs = list(existing)
    else:
        proofs = [existing]
    return {**document, "proof": [*proofs, dict(proof)]}


def _signature(proof: Mapping[str, Any]) -> bytes:
    value = proof.get("proofValue")
    if value is None:
        raise SignatureError("the proof has no proofValue")
    if isinstance(value, str) and len(value) > PROOF_VALUE_MAX_LENGTH:  # base58 decoding is quadratic: bound it
        raise SignatureError(f"proofValue is {len(value)} characters; an Ed25519 signature takes at most 89")
    if not isinstance(value, str) or _BASE58BTC.fullmatch(value) is None:
        raise SignatureError(f"proofValue {_show(value)} is not multibase base58btc ('z' then the base58 alphabet)")
    signature: bytes = base58.b58decode(value[1:])
    if len(signature) != SIGNATURE_LENGTH:
        raise SignatureError(f"proofValue holds {len(signature)} bytes; an Ed25519 signature has {SIGNATURE_LENGTH}")
    return signature


def verify(
    document: Mapping[str, Any], proof: Mapping[str, Any], public_key: bytes, *, now: datetime | None = None
) -> None:
    """Check an ``eddsa-rdfc-2022`` proof of ``document`` (given without ``proof``) against a raw Ed25519 key.

    Returns nothing when the proof is valid; raises :class:`SignatureError` with the reason otherwise.
    ``now`` (default: the current time) is when an ``expires`` proof option must not have passed.
    """
    document = _check_document(document)
    if not isinstance(proof, Mapping):
        raise SignatureError(f"a proof is a JSON object, got {type(proof).__name__}")
    if proof.get("type") != PROOF_TYPE:
        raise SignatureError(f"proof type {_show(proof.get('type'))} is not {PROOF_TYPE!r}")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise SignatureError(f"proof cryptosuite {_show(proof.get('cryptosuite'))} is not {CRYPTOSUITE!r}")
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        raise SignatureError(f"proof purpose {_show(proof.get('proofPurpose'))} is not {PROOF_PURPOSE!r}")
    _check_verification_method(proof.get("verificationMethod"))
    if "previousProof" in proof:
        raise SignatureError("proof chains (previousProof) are not supported")
    if "@context" in proof and proof["@context"] != document["@context"]:
        raise SignatureError(
            f"the proof's @context {_show(proof['@context'])} is not the document's {_show(document['@context'])}"
        )
    if "created" in proof:
        _parse_date_time(proof["created"], "created")
    if "expires" in proof:
        expires = _parse_date_time(proof["expires"], "expires")
        moment = now if now is not None else datetime.now(UTC)
        if expires <= moment:
            raise SignatureError(f"the proof expired at {proof['expires']}")
    signature = _signature(proof)
    if not isinstance(public_key, bytes) or len(public_key) != 32:
        size = f"{len(public_key)} bytes" if isinstance(public_key, bytes) else type(public_key).__name__
        raise SignatureError(f"an Ed25519 public key is 32 raw bytes, got {size}")
    data = hash_data(document, proof)
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError):
        method = proof.get("verificationMethod")
        raise SignatureError(
            f"the signature does not match: the document or the proof options changed since {method} signed "
            "them, or another key signed"
        ) from None
