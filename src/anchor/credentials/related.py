"""A stacked credential names its parts: VC 2.0 ``relatedResource`` entries with the parts' anchored digests.

A credential *stacks* others (a 15-ECTS certificate made of three 5-ECTS micro-credentials) when its
achievement says so and the credential names each constituent credential by id and digest:

* ``credentialSubject.achievement.euMicroCredential.stackability.mode`` is ``"stack"`` (:data:`STACK_MODE`): the
  EU element "integration/stackability options" (Annex I) of the stacked credential says that it integrates
  other micro-credentials. The other modes keep their meaning (``stand-alone``; ``stackable`` towards another
  credential). ``"stack"`` is a new *value* of an existing term, not a new JSON-LD term: the published
  contexts are unchanged.
* The credential's top-level ``relatedResource`` (W3C VC Data Model 2.0, "Integrity of Related Resources")
  lists the parts, and nothing else: each entry is ``{"id": <the part credential's id>, "digestMultibase":
  <its anchored digest>}``. Both terms are defined by the VC 2.0 context, so JSON-LD expansion in safe mode
  keeps them. The digest is the one the part's receipt anchors (its ``AnchorMerkleProof.digest``: keccak-256
  for every credential format), written as a multihash (code ``0x1b`` keccak-256, length 32) in multibase
  base64url without padding (prefix ``u``), as VC 2.0 says ``digestMultibase`` is. Because the stacked
  credential is anchored itself, the list of its parts cannot be changed after issue; because the digest is
  the anchored one, each named part is exactly one anchored credential.

A stack names between 1 and :data:`MAX_STACK_PARTS` parts, each id once and each digest once, never itself.
:func:`stack_problems` reports what breaks these rules (the credential rules call it), :func:`stack_parts`
reads the parts of a valid stack, and :func:`with_parts` names the parts in a credential before it is issued.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from anchor.credentials.model import _pointer, _show, lookup
from anchor.credentials.receipt import split_receipt
from anchor.errors import CredentialValidationError, FieldProblem, InvalidInputError

__all__ = [
    "KECCAK_256_MULTIHASH",
    "MAX_STACK_PARTS",
    "STACK_MODE",
    "NamedPart",
    "digest_from_multibase",
    "digest_multibase",
    "is_stack",
    "part_reference",
    "stack_parts",
    "stack_problems",
    "with_parts",
]

STACK_MODE: Final = "stack"
"""The stackability mode of a credential that stacks the credentials its ``relatedResource`` names."""
MAX_STACK_PARTS: Final = 64
"""Most parts one stack may name (and one stack bundle may carry)."""
KECCAK_256_MULTIHASH: Final = 0x1B
"""The multicodec code of keccak-256 in a multihash: the hash of every anchored digest."""
_DIGEST_BYTES: Final = 32
_MULTIHASH_PREFIX: Final = bytes((KECCAK_256_MULTIHASH, _DIGEST_BYTES))
_HEX_DIGEST: Final = re.compile(r"0x[0-9a-f]{64}")
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]*")
_URI: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_STACKABILITY: Final = ("credentialSubject", "achievement", "euMicroCredential", "stackability")
_ENTRY_KEYS: Final = frozenset({"id", "digestMultibase"})


@dataclass(frozen=True)
class NamedPart:
    """One part a stack names: the part credential's ``id`` and anchored digest (``0x`` and 64 hex digits)."""

    id: str
    digest: str
    pointer: str
    """Where the stacked credential names it (``/relatedResource/0``)."""


def digest_multibase(digest: str | bytes) -> str:
    """An anchored digest (32 bytes, or ``0x`` and 64 hex digits) as a keccak-256 ``digestMultibase``."""
    if isinstance(digest, str):
        if not _HEX_DIGEST.fullmatch(digest.lower()):
            raise InvalidInputError(f"a digest is 0x and 64 hex digits, not {_show(digest)}")
        raw = bytes.fromhex(digest[2:])
    else:
        raw = bytes(digest)
    if len(raw) != _DIGEST_BYTES:
        raise InvalidInputError(f"a digest is {_DIGEST_BYTES} bytes, not {len(raw)}")
    return "u" + base64.urlsafe_b64encode(_MULTIHASH_PREFIX + raw).rstrip(b"=").decode("ascii")


def digest_from_multibase(text: object) -> str:
    """The anchored digest (``0x`` and 64 lowercase hex digits) a keccak-256 ``digestMultibase`` holds.

    :class:`InvalidInputError` saying what is wrong with anything else (another multibase, another hash, a
    wrong length).
    """
    if not isinstance(text, str):
        raise InvalidInputError(f"expected a multibase string, got {_show(text)}")
    if not text.startswith("u"):
        raise InvalidInputError(f"{_show(text)} is not multibase base64url: it must start with 'u'")
    body = text[1:]
    if not _BASE64URL.fullmatch(body) or len(body) % 4 == 1:
        raise InvalidInputError(f"{_show(text)} is not base64url without padding (A-Z a-z 0-9 - _)")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as error:
        raise InvalidInputError(f"{_show(text)} is not base64url: {error}") from None
    if len(raw) < 2 or raw[0] != KECCAK_256_MULTIHASH:
        code = f"0x{raw[0]:02x}" if raw else "nothing"
        raise InvalidInputError(
            f"{_show(text)} is not a keccak-256 multihash (code 0x1b): its hash code is {code}; an anchored "
            "digest is keccak-256"
        )
    if raw[1] != _DIGEST_BYTES or len(raw) != 2 + _DIGEST_BYTES:
        raise InvalidInputError(f"{_show(text)} holds {len(raw) - 2} digest bytes, not {_DIGEST_BYTES}")
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != body:
        raise InvalidInputError(f"{_show(text)} is not the canonical base64url form of its bytes")
    return "0x" + raw[2:].hex()


def part_reference(credential_id: str, digest: str | bytes) -> dict[str, str]:
    """The ``relatedResource`` entry naming the part ``credential_id`` anchored with ``digest``."""
    return {"id": credential_id, "digestMultibase": digest_multibase(digest)}


def with_parts(credential: Mapping[str, Any], part_receipts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A copy of ``credential`` that stacks the credentials of ``part_receipts``: stackability mode ``stack`` and a
    ``relatedResource`` entry per part (its id and the digest its receipt anchors).

    For the issuer of a stack, before it issues it: verify the part receipts first (``anchor verify``); this
    only reads them. Refused (:class:`InvalidInputError`): a receipt that is not one, or a part without an id.
    """
    entries = []
    for position, receipt in enumerate(part_receipts):
        part, proof = split_receipt(receipt)
        part_id = part.get("id")
        if not isinstance(part_id, str):
            raise InvalidInputError(f"part {position + 1}: /id: expected the credential's id, got {_show(part_id)}")
        entries.append(part_reference(part_id, proof.digest))
    stacked = copy.deepcopy(dict(credential))
    eu = lookup(stacked, _STACKABILITY[:-1])
    if not isinstance(eu, dict):
        raise InvalidInputError("/credentialSubject/achievement/euMicroCredential: is missing: it says what stacks")
    eu["stackability"] = {"mode": STACK_MODE}
    stacked["relatedResource"] = entries
    return stacked


def is_stack(credential: Mapping[str, Any]) -> bool:
    """Whether the credential's achievement says it stacks other credentials (stackability mode ``stack``)."""
    mode = lookup(credential, (*_STACKABILITY, "mode"))
    return isinstance(mode, str) and mode == STACK_MODE


def stack_problems(credential: Mapping[str, Any]) -> list[FieldProblem]:
    """What breaks the rules of a stack (module doc) in ``credential``; nothing for a credential that is not one."""
    return _read_parts(credential)[1]


def stack_parts(credential: Mapping[str, Any]) -> tuple[NamedPart, ...]:
    """The parts a stack names, in order; () for a credential that is not a stack.

    :class:`CredentialValidationError` naming each field that breaks the rules of a stack.
    """
    parts, problems = _read_parts(credential)
    if problems:
        raise CredentialValidationError(problems)
    return parts


def _read_parts(credential: Mapping[str, Any]) -> tuple[tuple[NamedPart, ...], list[FieldProblem]]:
    if not is_stack(credential):
        return (), []
    listed = credential.get("relatedResource")
    if listed is None:
        return (), [
            FieldProblem(
                "/relatedResource",
                f"is missing: a credential of stackability mode {STACK_MODE!r} names its parts there "
                "(id and digestMultibase of each)",
            )
        ]
    entries = listed if isinstance(listed, list) else [listed]
    if not entries or len(entries) > MAX_STACK_PARTS:
        return (), [
            FieldProblem(
                "/relatedResource", f"names {len(entries)} parts; a stack names 1 to {MAX_STACK_PARTS} credentials"
            )
        ]
    own_id = credential.get("id")
    problems: list[FieldProblem] = []
    parts: list[NamedPart] = []
    seen_ids: dict[str, str] = {}
    seen_digests: dict[str, str] = {}
    for index, entry in enumerate(entries):
        where: tuple[str | int, ...] = ("relatedResource", index) if isinstance(listed, list) else ("relatedResource",)
        pointer = _pointer(where)
        if not isinstance(entry, Mapping):
            problems.append(
                FieldProblem(pointer, f"expected an object with id and digestMultibase, got {_show(entry)}")
            )
            continue
        extra = sorted(set(entry) - _ENTRY_KEYS)
        if extra:
            problems.append(
                FieldProblem(
                    _pointer((*where, extra[0])),
                    "is not allowed: a stack's relatedResource entries name a part by id and digestMultibase only",
                )
            )
        part_id = entry.get("id")
        if not isinstance(part_id, str) or not _URI.fullmatch(part_id):
            problems.append(
                FieldProblem(_pointer((*where, "id")), f"expected the part credential's URI, got {_show(part_id)}")
            )
            continue
        try:
            digest = digest_from_multibase(entry.get("digestMultibase"))
        except InvalidInputError as error:
            problems.append(FieldProblem(_pointer((*where, "digestMultibase")), str(error)))
            continue
        if part_id == own_id:
            problems.append(FieldProblem(_pointer((*where, "id")), f"{_show(part_id)} is the stack itself"))
        elif part_id in seen_ids:
            problems.append(
                FieldProblem(
                    _pointer((*where, "id")), f"{_show(part_id)} is named again (first at {seen_ids[part_id]})"
                )
            )
        elif digest in seen_digests:
            problems.append(
                FieldProblem(_pointer((*where, "digestMultibase")), f"names the same digest as {seen_digests[digest]}")
            )
        else:
            seen_ids[part_id] = pointer
            seen_digests[digest] = pointer
            parts.append(NamedPart(part_id, digest, pointer))
    return tuple(parts), problems
