"""Presentations: a v3 credential with some claims withheld, and the proof that what is shown was anchored.

A learner makes a presentation from a receipt of an ``anchor-credential-v3`` credential
(:func:`make_presentation`, the ``anchor present`` command) and shows it instead of the receipt::

    {
      "type": "AnchorPresentation",
      "format": "anchor-presentation-v1",
      "credential": {...},                  the credential's hashed view, withheld values removed
      "disclosedSalts": {"/pointer": "0x..."},   the salt of every disclosed claim
      "withheld": {"/pointer": "0x..."},         the commitment of every withheld claim
      "proof": {"type": "AnchorMerkleProof", "format": "anchor-receipt-v3", ...}   the receipt's anchoring proof
    }

It is not a receipt (a receipt is the credential itself, with the anchoring proof in ``proof``), and it never
holds the master salt ``anchorSalt``: with it a verifier could try every possible grade until a withheld
commitment matched. The JSON schema is ``schemas/anchor-presentation-v1.schema.json``.

In ``credential``, a withheld member of an object is left out, and an object or array all of whose claims are
withheld too; a withheld element of an array is ``null``, so that the positions of the others stay (the
verifier knows it is a placeholder because its pointer, or one below it, is listed in ``withheld``).

A verifier (:func:`parse_presentation`) reads every disclosed claim off ``credential`` (its typed path, so the
containers around a disclosed value cannot be re-shaped), recomputes each one's commitment from its salt,
adds the withheld commitments, and recomputes the digest (:func:`anchor.credentials.disclosure.presented_digest`),
which must be the anchored one. What the verifier learns: every disclosed value, as issued; which claims are
withheld (their pointers); nothing about a withheld value (each has its own 256-bit salt).

Paths for ``--hide``/``--disclose`` are dotted (``credentialSubject.result``, ``credentialSubject.identifier.0``)
or JSON Pointers (``/credentialSubject/result``); a path selects the claim there and every claim under it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from anchor.credentials.digest import hashed_view, salt_bytes
from anchor.credentials.disclosure import (
    MAX_CLAIMS,
    Claim,
    DisclosureError,
    check_container,
    claim_salts,
    claims,
    commitments,
    normalised_view,
    parse_pointer,
    pointer_of,
    presented_digest,
    v3_digest,
)
from anchor.credentials.model import FORMAT_KEY, FORMAT_V3, SALT_KEY, _show
from anchor.credentials.receipt import (
    PRESENTATION_TYPE,
    RECEIPT_FORMAT_V3,
    AnchorProof,
    is_presentation,
    parse_proof,
    split_receipt,
)
from anchor.errors import InvariantError, UnknownFormatError

__all__ = [
    "ALWAYS_DISCLOSED",
    "PRESENTATION_FORMAT",
    "PRESENTATION_TYPE",
    "Presentation",
    "is_presentation",
    "make_presentation",
    "parse_presentation",
    "to_pointer",
]

PRESENTATION_FORMAT: Final = "anchor-presentation-v1"
#: What ``--disclose`` always discloses besides the paths given: what every verifier needs for the registry
#: and expiry checks (present in the credential or not). ``anchorFormat`` can never be withheld.
ALWAYS_DISCLOSED: Final = (
    f"/{FORMAT_KEY}",
    "/issuer/id",
    "/issuer/name",
    "/issuer/address/addressCountryCode",
    "/validFrom",
    "/validUntil",
)
_MEMBERS: Final = frozenset({"type", "format", "credential", "disclosedSalts", "withheld", "proof"})


@dataclass(frozen=True)
class Presentation:
    """A parsed presentation: what it shows, what it withholds, and the digest its claims recompute to."""

    credential: dict[str, Any]
    """The credential as presented: withheld values left out (withheld array elements are ``null``)."""
    proof: AnchorProof
    withheld: tuple[str, ...]
    """The pointers of the withheld claims, in pointer order."""
    disclosed: tuple[str, ...]
    """The pointers of the disclosed claims, in pointer order."""
    digest: str = field(repr=False)
    """The digest recomputed from the disclosed claims and the withheld commitments (0x-hex)."""

    def is_withheld(self, pointer: str) -> bool:
        """Whether anything at or under ``pointer`` is withheld."""
        return any(item == pointer or item.startswith(pointer + "/") for item in self.withheld)


def to_pointer(path: str) -> str:
    """A ``--hide``/``--disclose`` path as a JSON Pointer: ``/a/b`` as it is, ``a.b.0`` as ``/a/b/0``."""
    if not isinstance(path, str) or not path:
        raise DisclosureError(f"a claim path is a dotted path or a JSON Pointer, got {_show(path)}")
    if path.startswith("/"):
        parse_pointer(path)
        return path
    parts = path.split(".")
    if any(not part for part in parts):
        raise DisclosureError(f"claim path {path!r} has an empty step")
    return pointer_of(tuple(parts))


def make_presentation(
    receipt: Mapping[str, Any],
    *,
    hide: Iterable[str] = (),
    disclose: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The presentation of a v3 ``receipt`` withholding the claims under ``hide`` (or all but ``disclose``).

    With ``disclose`` (a list of paths), every claim not under one of them or :data:`ALWAYS_DISCLOSED` is
    withheld. An unknown path, or hiding ``anchorFormat``, is a :class:`DisclosureError` naming it. The
    presentation is parsed and its digest checked against the receipt's before it is returned.
    """
    credential, proof = split_receipt(receipt)
    if credential.get(FORMAT_KEY) != FORMAT_V3 or proof.receipt_format != RECEIPT_FORMAT_V3:
        raise DisclosureError(
            f"only {FORMAT_V3} receipts can be presented with claims withheld; this one is "
            f"{_show(credential.get(FORMAT_KEY))}, whose digest commits to the whole credential"
        )
    master = salt_bytes(credential)
    view = normalised_view(hashed_view(credential))
    if "0x" + v3_digest(view, master).hex() != proof.digest:
        raise DisclosureError("the receipt's credential does not hash to its proof's digest: it was changed")
    every = {claim.pointer: claim for claim in claims(view)}
    hidden = _select(every, hide, "--hide")
    if disclose is not None:
        shown = _select(every, disclose, "--disclose") | _select(every, ALWAYS_DISCLOSED, None)
        hidden |= set(every) - shown
    if f"/{FORMAT_KEY}" in hidden:
        raise DisclosureError(f"/{FORMAT_KEY} cannot be withheld: a verifier needs the format to read the rest")
    salts = claim_salts(view, master)
    withheld = commitments(view, master)
    document = {
        "type": PRESENTATION_TYPE,
        "format": PRESENTATION_FORMAT,
        "credential": _pruned({key: value for key, value in view.items() if key != SALT_KEY}, "", hidden),
        "disclosedSalts": {pointer: "0x" + salts[pointer].hex() for pointer in sorted(every) if pointer not in hidden},
        "withheld": {pointer: "0x" + withheld[pointer].hex() for pointer in sorted(hidden)},
        "proof": proof.to_json(),
    }
    if parse_presentation(document).digest != proof.digest:
        raise InvariantError("a presentation made from a receipt does not recompute to the receipt's digest")
    return document


def parse_presentation(document: Mapping[str, Any]) -> Presentation:
    """Read and check a presentation and recompute its digest; :class:`DisclosureError` names what is wrong.

    Whether the digest is the anchored one (and the Merkle proof leads to the root) is for the verifier.
    """
    if not is_presentation(document):
        raise DisclosureError(f"/type: a presentation has type {PRESENTATION_TYPE!r}")
    version = document.get("format")
    if version != PRESENTATION_FORMAT:
        raise UnknownFormatError(
            f"/format: {_show(version)} is not a presentation format this release knows ({PRESENTATION_FORMAT})"
        )
    unknown = sorted(set(document) - _MEMBERS)
    if unknown:
        raise DisclosureError(f"/{unknown[0]}: not a member of a presentation ({', '.join(sorted(_MEMBERS))})")
    credential = document.get("credential")
    salts = document.get("disclosedSalts")
    withheld = document.get("withheld")
    raw_proof = document.get("proof")
    for name, value in (("credential", credential), ("disclosedSalts", salts), ("withheld", withheld)):
        if not isinstance(value, Mapping):
            raise DisclosureError(f"/{name}: expected a JSON object, got {_show(value)}")
    if not isinstance(raw_proof, Mapping):
        raise DisclosureError(f"/proof: expected the anchoring proof object, got {_show(raw_proof)}")
    assert isinstance(credential, Mapping)
    assert isinstance(salts, Mapping)
    assert isinstance(withheld, Mapping)
    if SALT_KEY in credential or SALT_KEY in document:
        raise DisclosureError(f"/credential/{SALT_KEY}: a presentation never carries the master salt")
    if f"/{FORMAT_KEY}" in withheld or credential.get(FORMAT_KEY) != FORMAT_V3:
        raise DisclosureError(
            f"/credential/{FORMAT_KEY}: a presentation discloses the credential format {FORMAT_V3!r}, "
            f"got {_show(credential.get(FORMAT_KEY))}"
        )
    proof = parse_proof(raw_proof)
    if proof.receipt_format != RECEIPT_FORMAT_V3:
        raise DisclosureError(f"/proof/format: a presentation carries an {RECEIPT_FORMAT_V3} anchoring proof")
    if len(salts) + len(withheld) > MAX_CLAIMS:
        raise DisclosureError(f"{len(salts) + len(withheld)} claims: a presentation names at most {MAX_CLAIMS}")
    for pointer in withheld:
        parse_pointer(pointer)  # before anything is derived from it: bounded length and depth
    placeholders = {pointer[:at] for pointer in withheld for at in _cuts(pointer)}
    disclosed = _disclosed(credential, placeholders)
    digest = presented_digest(disclosed, salts, withheld)
    return Presentation(
        credential=copy.deepcopy(dict(credential)),
        proof=proof,
        withheld=tuple(sorted(withheld)),
        disclosed=tuple(sorted(disclosed)),
        digest="0x" + digest.hex(),
    )


def _select(every: Mapping[str, Claim], paths: Iterable[str], option: str | None) -> set[str]:
    """The pointers of the claims at or under each path; a path that selects none is an error naming it."""
    chosen: set[str] = set()
    for path in paths:
        pointer = to_pointer(path)
        found = {item for item in every if item == pointer or item.startswith(pointer + "/")}
        if not found and option is not None:
            raise DisclosureError(f"{option} {path}: the credential has no claim at {pointer}")
        chosen |= found
    return chosen


def _pruned(value: Any, pointer: str, hidden: set[str]) -> Any:
    """``value`` without the hidden claims (see the module doc); :data:`_GONE` when nothing of it is shown."""
    if isinstance(value, dict) and value:
        kept = {key: _pruned(item, f"{pointer}/{_escape(key)}", hidden) for key, item in value.items()}
        kept = {key: item for key, item in kept.items() if item is not _GONE}
        return kept if kept or not pointer else _GONE
    if isinstance(value, list) and value:
        items = [_pruned(item, f"{pointer}/{at}", hidden) for at, item in enumerate(value)]
        return [None if item is _GONE else item for item in items] if any(i is not _GONE for i in items) else _GONE
    return _GONE if pointer in hidden else copy.deepcopy(value)


_GONE: Final = object()


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _cuts(pointer: str) -> Iterable[int]:
    """Where each ancestor of ``pointer`` ends, and its own end: the pointers a placeholder may stand at."""
    at = pointer.find("/", 1)
    while at != -1:
        yield at
        at = pointer.find("/", at + 1)
    yield len(pointer)


def _disclosed(credential: Mapping[str, Any], placeholders: set[str]) -> dict[str, Claim]:
    """Every disclosed claim of a presented credential by pointer; a ``null`` array element at a withheld
    pointer (or above one) is a placeholder, not a claim."""
    found: dict[str, Claim] = {}
    stack: list[tuple[str, tuple[str | int, ...], Any]] = [
        (f"/{_escape(key)}", (key,), value) for key, value in credential.items()
    ]
    while stack:
        pointer, path, value = stack.pop()
        if isinstance(value, dict | list) and value:  # bounded before each child's pointer (this one's + a step)
            check_container(pointer, len(found) + len(stack) + len(value))
        if isinstance(value, dict) and value:
            stack.extend((f"{pointer}/{_escape(key)}", (*path, key), item) for key, item in value.items())
        elif isinstance(value, list) and value:
            for at, item in enumerate(value):
                child = f"{pointer}/{at}"
                if item is None and child in placeholders:
                    continue
                stack.append((child, (*path, at), item))
        else:
            found[pointer] = Claim(pointer, path, value)
        if len(found) > MAX_CLAIMS:
            raise DisclosureError(f"the presented credential has more than {MAX_CLAIMS} claims")
    return found
