"""Stacks: a stacked credential and the credentials it is made of, as one file (``anchor-stack-v1``).

How a stack is written in a credential (``stackability.mode`` "stack" and VC 2.0 ``relatedResource`` entries
naming each part by id and keccak-256 ``digestMultibase``) is :mod:`anchor.credentials.related`. This module
is the learner's side: :func:`build_bundle` (``anchor stack``) puts the stacked credential's receipt and its
parts' receipts into one bundle, refusing a part the stacked credential does not name, a named part that is
missing, a part given twice, or a part whose anchored digest is not the named one; :func:`parse_bundle` reads
a bundle strictly; :func:`learner_mismatch` and :func:`stack_workload` are the rules the verifier
(:mod:`anchor.verifier.stacks`) applies.

The bundle (JSON Schema ``credentials/schemas/anchor-stack-v1.schema.json``)::

    {"type": "AnchorCredentialStack", "format": "anchor-stack-v1",
     "stacked": <receipt of the stacked credential>, "parts": [<receipt of a part>, ...]}

Limits: the file is strict I-JSON of at most :data:`MAX_STACK_BYTES` (1 MiB, a receipt's limit and the web
API's body limit) with 1 to :data:`~anchor.credentials.related.MAX_STACK_PARTS` parts, each credential id
once. A part that is itself a stack is only a receipt here: its own parts are not looked for, so a bundle is
verified in one pass however its credentials refer to each other.

**Same learner.** A part belongs to the stack's learner when, if the stacked credential has a
``credentialSubject.id``, the part's ``credentialSubject.id`` is that same URI; and otherwise when the part's
``credentialSubject.identifier`` entries are exactly the stacked credential's (the same set of
``IdentityObject``\\s, compared in canonical JSON), which must include one that is not a name (two people
can share a name). Issuers that stack credentials of other issuers therefore put the learner's own stable
id (a DID of the learner's wallet, say) in ``credentialSubject.id`` of every part and of the stack.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

import jsonschema_rs

from anchor.credentials import MAX_CREDENTIAL_BYTES, parse_credential
from anchor.credentials.digest import canonical_json
from anchor.credentials.model import _show, lookup
from anchor.credentials.receipt import split_receipt
from anchor.credentials.related import (
    MAX_STACK_PARTS,
    STACK_MODE,
    NamedPart,
    is_stack,
    stack_parts,
)
from anchor.errors import CredentialValidationError, InvalidInputError

__all__ = [
    "MAX_STACK_BYTES",
    "STACK_FORMAT",
    "STACK_TYPE",
    "StackBundle",
    "StackBundleError",
    "StackWorkload",
    "build_bundle",
    "is_bundle_text",
    "learner_mismatch",
    "match_parts",
    "parse_bundle",
    "stack_workload",
]

STACK_TYPE: Final = "AnchorCredentialStack"
STACK_FORMAT: Final = "anchor-stack-v1"
MAX_STACK_BYTES: Final = MAX_CREDENTIAL_BYTES
"""Largest bundle file, in bytes: the limit of one receipt, and of the web API's request body."""
_SCHEMA_FILE: Final = "anchor-stack-v1.schema.json"
_MARKER: Final = STACK_FORMAT.encode("ascii")


class StackBundleError(InvalidInputError):
    """A bundle that is not a usable ``anchor-stack-v1`` file, or parts that do not make the stack named.

    ``code``: ``unreadable`` (not strict I-JSON, or too large) or ``bad-bundle`` (JSON, but not a usable bundle).
    """

    def __init__(self, message: str, code: str = "bad-bundle") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class StackBundle:
    """The stacked credential's receipt and its parts' receipts (parsed JSON objects)."""

    stacked: dict[str, Any]
    parts: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        """The bundle file's JSON object."""
        return {"type": STACK_TYPE, "format": STACK_FORMAT, "stacked": self.stacked, "parts": list(self.parts)}


@cache
def _validator() -> Any:
    text = resources.files("anchor.credentials").joinpath("schemas", _SCHEMA_FILE).read_text(encoding="utf-8")
    return jsonschema_rs.Draft202012Validator(json.loads(text))


def is_bundle_text(data: bytes | str) -> bool:
    """Whether ``data`` may be a bundle: it holds the format marker (a receipt is read as one otherwise)."""
    if isinstance(data, bytes):
        return _MARKER in data
    return STACK_FORMAT in data


def parse_bundle(data: bytes | str | Mapping[str, Any], source: str | None = None) -> StackBundle:
    """A bundle from its file's bytes (strict I-JSON, at most :data:`MAX_STACK_BYTES`) or parsed JSON.

    :class:`StackBundleError` naming the field for anything but a bundle of receipts each with a string ``id``
    (checked as receipts by the verifier), with 1 to 64 parts and no credential id twice.
    """
    where = f"{source}: " if source else ""
    if isinstance(data, bytes | str):
        size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
        if size > MAX_STACK_BYTES:
            raise StackBundleError(
                f"{where}the stack bundle is larger than the limit of {MAX_STACK_BYTES} bytes", "unreadable"
            )
        try:
            document: Any = parse_credential(data)
        except InvalidInputError as error:
            raise StackBundleError(f"{where}not a readable stack bundle: {error}", "unreadable") from None
    else:
        document = data
    if not isinstance(document, Mapping):
        raise StackBundleError(f"{where}a stack bundle is a JSON object")
    if document.get("type") != STACK_TYPE or document.get("format") != STACK_FORMAT:
        raise StackBundleError(
            f"{where}not a stack bundle: type {_show(document.get('type'))} and format {_show(document.get('format'))}"
            f", expected {STACK_TYPE!r} and {STACK_FORMAT!r}"
        )
    parts = document.get("parts")
    if isinstance(parts, list) and len(parts) > MAX_STACK_PARTS:
        raise StackBundleError(f"{where}/parts: {len(parts)} parts; a stack bundle carries at most {MAX_STACK_PARTS}")
    errors = sorted(_validator().iter_errors(dict(document)), key=lambda error: list(error.instance_path))
    if errors:
        first = errors[0]
        pointer = "".join(f"/{part}" for part in first.instance_path) or "/"
        message = first.message if len(first.message) <= 200 else first.message[:197] + "..."  # it quotes values
        raise StackBundleError(f"{where}{pointer}: {message}")
    stacked = dict(document["stacked"])
    receipts = tuple(dict(part) for part in document["parts"])
    seen: dict[str, int] = {}
    for index, receipt in enumerate((stacked, *receipts)):
        pointer = "/stacked" if index == 0 else f"/parts/{index - 1}"
        credential_id = receipt.get("id")
        if not isinstance(credential_id, str):
            raise StackBundleError(f"{where}{pointer}/id: expected the credential's id, got {_show(credential_id)}")
        if credential_id in seen:
            first_at = "/stacked" if seen[credential_id] == 0 else f"/parts/{seen[credential_id] - 1}"
            raise StackBundleError(
                f"{where}{pointer}: credential {_show(credential_id, 200)} is in the bundle twice (also at {first_at})"
            )
        seen[credential_id] = index
    return StackBundle(stacked, receipts)


def match_parts(
    named: Sequence[NamedPart], parts: Iterable[Mapping[str, Any]]
) -> tuple[list[tuple[NamedPart, int | None]], list[int]]:
    """Each named part with the position of the part receipt of the same credential id (None: missing), and
    the positions of the part receipts the stack does not name."""
    by_id = {part.get("id"): position for position, part in enumerate(parts)}
    matched = [(item, by_id.pop(item.id, None)) for item in named]
    return matched, sorted(position for key, position in by_id.items() if isinstance(key, str) or key is None)


def build_bundle(stacked_receipt: Mapping[str, Any], part_receipts: Sequence[Mapping[str, Any]]) -> StackBundle:
    """The bundle of a stacked credential's receipt and the receipts of exactly the parts it names.

    Refused (:class:`StackBundleError`, naming the part): the stacked receipt is not a receipt of a stack; a
    part is not named by it, is given twice, or is anchored with another digest than the named one; a named
    part is missing; the bundle would be larger than :data:`MAX_STACK_BYTES`.
    """
    try:
        credential, _ = split_receipt(stacked_receipt)
    except InvalidInputError as error:
        raise StackBundleError(f"the stacked credential's receipt is not usable: {error}") from None
    title = _show(credential.get("id"), 200)
    if not is_stack(credential):
        mode = lookup(credential, ("credentialSubject", "achievement", "euMicroCredential", "stackability", "mode"))
        raise StackBundleError(
            f"credential {title} is not a stack: its achievement's euMicroCredential.stackability.mode is "
            f"{_show(mode)}, not {STACK_MODE!r}"
        )
    try:
        named = stack_parts(credential)
    except CredentialValidationError as error:
        raise StackBundleError(f"credential {title} does not name its parts correctly: {error}") from None
    parts: list[dict[str, Any]] = []
    digests: list[str] = []
    for position, receipt in enumerate(part_receipts):
        try:
            part, proof = split_receipt(receipt)
        except InvalidInputError as error:
            raise StackBundleError(f"part {position + 1} is not a usable receipt: {error}") from None
        parts.append(dict(receipt))
        digests.append(proof.digest)
    matched, unnamed = match_parts(named, parts)
    seen: set[Any] = set()
    for position, part in enumerate(parts):
        if part.get("id") in seen:
            raise StackBundleError(f"part {position + 1}: credential {_show(part.get('id'), 200)} is given twice")
        seen.add(part.get("id"))
    if unnamed:
        position = unnamed[0]
        listed = ", ".join(_show(item.id, 200) for item in named)
        raise StackBundleError(
            f"part {position + 1}: credential {_show(parts[position].get('id'), 200)} is not named by the stacked "
            f"credential {title}, which names {listed}"
        )
    for item, found in matched:
        if found is None:
            raise StackBundleError(
                f"the stacked credential names {_show(item.id, 200)} ({item.pointer}), but no part receipt given is "
                "that credential"
            )
        if digests[found] != item.digest:
            raise StackBundleError(
                f"part {found + 1}: credential {_show(item.id, 200)} is anchored with digest {digests[found]}, but "
                f"the stacked credential names digest {item.digest} ({item.pointer}): not the credential it stacks"
            )
    bundle = StackBundle(dict(stacked_receipt), tuple(parts))
    size = len(json.dumps(bundle.to_json(), ensure_ascii=False, indent=2).encode("utf-8"))
    if size > MAX_STACK_BYTES:
        raise StackBundleError(f"the stack bundle would be {size} bytes, more than the limit of {MAX_STACK_BYTES}")
    return bundle


def learner_mismatch(stacked: Mapping[str, Any], part: Mapping[str, Any]) -> str | None:
    """Why ``part`` is not the same learner's as ``stacked`` (the module doc's rule), or None when it is."""
    learner = lookup(stacked, ("credentialSubject", "id"))
    if isinstance(learner, str):
        other = lookup(part, ("credentialSubject", "id"))
        if other == learner:
            return None
        return f"its learner is {_show(other, 120)}, not the stack's {_show(learner, 120)} (credentialSubject.id)"
    own = _identifiers(stacked)
    if not any(item.get("identityType") != "name" for item in own.values()):
        return (
            "the stacked credential names its learner by neither credentialSubject.id nor an identifier other than "
            "a name, so no part can be shown to be the same learner's"
        )
    if set(_identifiers(part)) != set(own):
        return (
            "its credentialSubject.identifier entries are not the stack's (and the stack has no credentialSubject.id)"
        )
    return None


def _identifiers(credential: Mapping[str, Any]) -> dict[bytes, Mapping[str, Any]]:
    """The credential's identifier entries by their canonical JSON."""
    listed = lookup(credential, ("credentialSubject", "identifier"))
    items = listed if isinstance(listed, list) else [] if listed is None else [listed]
    out: dict[bytes, Mapping[str, Any]] = {}
    for item in items:
        if isinstance(item, Mapping):
            try:
                out[canonical_json(item)] = item
            except InvalidInputError:
                continue
    return out


@dataclass(frozen=True)
class StackWorkload:
    """The notional workload of a stack's parts: ECTS where they state it, hours for those that do not."""

    ects: float | None
    """The sum of the ECTS credits of the parts that state them (None: no part does)."""
    hours: float | None
    """The sum of the workload hours of the parts without ECTS (None: every part states ECTS)."""

    @property
    def text(self) -> str | None:
        """ "15 ECTS", "80 hours (no ECTS)", or "10 ECTS + 80 hours (no ECTS)"."""
        said = [f"{self.ects:g} ECTS" if self.ects is not None else None]
        said.append(f"{self.hours:g} hours (no ECTS)" if self.hours is not None else None)
        shown = " + ".join(item for item in said if item)
        return shown or None


def stack_workload(workloads: Iterable[tuple[float | None, float | None]]) -> StackWorkload:
    """The total of the parts' ``(ects, hours)``: ECTS summed, hours summed for the parts without ECTS."""
    ects: list[float] = []
    hours: list[float] = []
    for part_ects, part_hours in workloads:
        if part_ects is not None:
            ects.append(part_ects)
        elif part_hours is not None:
            hours.append(part_hours)
    return StackWorkload(math.fsum(ects) if ects else None, math.fsum(hours) if hours else None)
