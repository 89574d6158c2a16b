"""Salt, canonical form and digest: the bytes a credential is anchored by.

``digest = keccak256(canonical_bytes(credential))`` where the canonical bytes are RFC 8785 (JCS, by
:mod:`anchor.credentials.jcs`: the bytes of the ``rfc8785`` library, at C speed) of the credential's
*hashed view* (:func:`hashed_view`):

- ``anchor-credential-v1``: the credential without the top-level keys in :data:`EXCLUDED_KEYS` (``proof``:
  VC proofs or a receipt's anchoring proof; ``anchor``: an anchoring proof object);
- ``anchor-credential-v2``: the credential without ``anchor``, whose ``proof`` keeps every proof except
  the anchoring proof (``AnchorMerkleProof``), as a list. The digest therefore covers the issuer's Data
  Integrity signature: anchoring also timestamps the signature, and a signature cannot be swapped.
- ``anchor-credential-v3``: the hashed view of v2, but the digest is not the hash of its JCS bytes: it
  commits to each claim with its own salt (:mod:`anchor.credentials.disclosure`), so that a learner can
  withhold claims in a presentation.

Everything else is hashed, including two anchor fields at the top level:

- ``anchorSalt``: 32 random bytes as 0x-hex, added at issue time by :func:`with_salt`, so that the Merkle
  siblings a receipt reveals cannot be confirmed by guessing another learner's credential.
- ``anchorFormat``: ``"anchor-credential-v1"``. The version is a field, not a domain-tag prefix on the
  hashed bytes, so the digest stays plain ``keccak256(JCS(credential minus proof))`` that any JCS library
  reproduces, while the version is still hashed (it cannot be swapped) and visible to a reader before it
  hashes anything. An unknown version is rejected with :class:`~anchor.errors.UnknownFormatError`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Final

import rfc8785
from _pysha3 import keccak_256  # not the sha3 module: it imports hashlib (OpenSSL)

from anchor.credentials import jcs
from anchor.credentials.model import (
    ANCHOR_PROOF_TYPE,
    EXCLUDED_KEYS,
    FORMAT_KEY,
    FORMAT_V1,
    FORMAT_V3,
    SALT_KEY,
    Credential,
    _show,
    format_version,
)
from anchor.credentials.strict_json import _clean
from anchor.errors import CredentialValidationError, FieldProblem, InvalidInputError, InvariantError

__all__ = [
    "SALT_BYTES",
    "canonical_bytes",
    "canonical_json",
    "credential_digest",
    "hashed_view",
    "issuer_proofs",
    "new_salt",
    "plain_credential_digest",
    "salt_bytes",
    "with_salt",
]

SALT_BYTES: Final = 32
_SALT_RE: Final = re.compile(r"0x[0-9a-f]{64}")
#: Every digit to "0", every other byte to "x": a run of 16 digits is then a run of 16 zeros (a regular
#: expression takes ten times as long).
_DIGITS_TO_ZERO: Final = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x78 for byte in range(256))
_SIXTEEN_DIGITS: Final = b"0" * 16
#: RFC 8785 for a plain value without floats or keys beyond the BMP: the C encoder's own text (see :mod:`.jcs`).
_PLAIN_JCS: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))
#: The lead bytes of 4-byte UTF-8 sequences (U+10000 and up): a key there sorts differently in UTF-16.
_FOUR_BYTE_LEADS: Final = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")


def new_salt() -> str:
    """32 bytes from the operating system's CSPRNG, as 0x-prefixed lowercase hex."""
    import secrets  # here: a verifier makes no salts, and starts faster without it

    return "0x" + secrets.token_bytes(SALT_BYTES).hex()


def _salt_hex(salt: str | bytes) -> str:
    if isinstance(salt, bytes):
        if len(salt) != SALT_BYTES:
            raise InvalidInputError(f"a salt is {SALT_BYTES} bytes, got {len(salt)}")
        return "0x" + salt.hex()
    if isinstance(salt, str) and _SALT_RE.fullmatch(salt.lower()):
        return salt.lower()
    raise InvalidInputError(f"a salt is 0x followed by 64 hex digits, got {_show(salt)}")


def with_salt(credential: Mapping[str, Any], salt: str | bytes | None = None, *, replace: bool = False) -> Credential:
    """A shallow copy of ``credential`` with ``anchorSalt`` set (a fresh random salt unless one is given).

    Refuses (:class:`InvalidInputError`) to overwrite an existing salt unless ``replace`` is true, since that
    changes the credential's digest. Nested objects are shared with the input, not copied.
    """
    if not isinstance(credential, Mapping):
        raise InvalidInputError(f"a credential is a JSON object, got {type(credential).__name__}")
    if SALT_KEY in credential and not replace:
        raise InvalidInputError(
            f"credential already has an {SALT_KEY}; replacing it changes its digest (pass replace=True to do so)"
        )
    salted = dict(credential)
    salted[SALT_KEY] = new_salt() if salt is None else _salt_hex(salt)
    return salted


def salt_bytes(credential: Mapping[str, Any]) -> bytes:
    """The credential's 32-byte salt; :class:`CredentialValidationError` if it has none or a malformed one."""
    value = credential.get(SALT_KEY)
    if value is None:
        raise CredentialValidationError(
            [FieldProblem(f"/{SALT_KEY}", "is missing: a credential is salted (with_salt) before it is hashed")]
        )
    if not isinstance(value, str) or not _SALT_RE.fullmatch(value):
        raise CredentialValidationError(
            [FieldProblem(f"/{SALT_KEY}", f"{_show(value)} is not 0x followed by 64 lowercase hex digits")]
        )
    return bytes.fromhex(value[2:])


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes of any JSON value, after the strict I-JSON checks and NFC normalisation.

    :class:`CredentialValidationError` names the path of anything that is not strict I-JSON.
    """
    # Fast path: rfc8785 itself refuses non-string keys, NaN/Infinity, integers beyond ±(2**53-1), lone
    # surrogates and non-JSON types; JCS text is NFC exactly when every key and string in it is (its
    # quotes are starters, so nothing composes across them); and a float that JCS writes as an integer
    # beyond the I-JSON range shows as a run of 16+ digits. Only when a check fails does the
    # path-tracking walk run, to report the problem or to normalise and serialise again.
    try:
        result = jcs.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeError, RecursionError):
        pass
    else:
        if (result.isascii() or unicodedata.is_normalized("NFC", result.decode("utf-8"))) and (
            _SIXTEEN_DIGITS not in result.translate(_DIGITS_TO_ZERO)
        ):
            return result
    problems: list[FieldProblem] = []
    clean = _clean(value, [], problems, 0)
    if problems:
        raise CredentialValidationError(problems)
    try:
        result = jcs.dumps(clean)
    except (rfc8785.CanonicalizationError, UnicodeError) as error:
        raise InvariantError(f"rfc8785 refused a value that passed the I-JSON checks: {error}") from error
    return result


def issuer_proofs(credential: Mapping[str, Any]) -> list[Any]:
    """The credential's proofs other than anchoring proofs, in order (``proof`` may be one object or a list)."""
    raw = credential.get("proof")
    proofs = raw if isinstance(raw, list) else [] if raw is None else [raw]
    return [proof for proof in proofs if not (isinstance(proof, Mapping) and proof.get("type") == ANCHOR_PROOF_TYPE)]


def hashed_view(credential: Mapping[str, Any]) -> dict[str, Any]:
    """What the digest covers (see the module doc); checks the format version, not the schema."""
    if not isinstance(credential, Mapping):
        raise InvalidInputError(f"a credential is a JSON object, got {type(credential).__name__}")
    version = format_version(credential)
    view = {key: value for key, value in credential.items() if key not in EXCLUDED_KEYS}
    if version != FORMAT_V1:
        proofs = issuer_proofs(credential)
        if proofs:
            view["proof"] = proofs
    return view


def canonical_bytes(credential: Mapping[str, Any]) -> bytes:
    """The bytes that are hashed: JCS of :func:`hashed_view`.

    Checks the format version (:class:`UnknownFormatError` for an unknown one) but not the schema.
    """
    return canonical_json(hashed_view(credential))


def credential_digest(credential: Mapping[str, Any]) -> bytes:
    """``keccak256(canonical_bytes(credential))``, 32 bytes; the credential must be salted.

    An ``anchor-credential-v3`` credential's digest commits to each claim instead
    (:func:`anchor.credentials.disclosure.v3_digest`, over the same checked and normalised view).
    """
    master = salt_bytes(credential)
    if credential.get(FORMAT_KEY) == FORMAT_V3:
        from anchor.credentials.disclosure import v3_digest  # v3 only: a v1/v2 receipt's check does not load it

        return v3_digest(hashed_view(credential), master)
    return bytes(keccak_256(canonical_bytes(credential)).digest())


def plain_credential_digest(credential: Mapping[str, Any]) -> bytes:
    """:func:`credential_digest` of a credential known to be plain: the same bytes or the same error.

    Plain is what :func:`anchor.verifier.reading.parse_receipt_fast` returns (or a part of it): only dicts with
    string keys, lists, strings, booleans, None and integers within ±(2**53-1), no float, every string NFC. For
    such a value every check of :func:`canonical_json` holds (strict I-JSON, NFC, no float for JCS to write
    otherwise than ``repr``), and the C encoder's sorted text is the JCS text unless a key lies beyond the BMP
    (sorted by code point, not UTF-16 unit): then, as for v3, :func:`credential_digest` hashes it. Nothing is
    walked again, nothing normalised again.
    """
    salt_bytes(credential)
    if credential.get(FORMAT_KEY) == FORMAT_V3:
        return credential_digest(credential)
    view = hashed_view(credential)
    try:
        text = _PLAIN_JCS.encode(view).encode("utf-8")
    except (TypeError, ValueError, RecursionError):  # not plain after all: the reference decides
        return credential_digest(credential)
    if any(lead in text for lead in _FOUR_BYTE_LEADS):
        return credential_digest(credential)
    return bytes(keccak_256(text).digest())
