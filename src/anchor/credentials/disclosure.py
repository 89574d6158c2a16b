"""The ``anchor-credential-v3`` digest: one salted commitment per claim, so that claims can be withheld.

A v3 credential is a signed v2 credential (same contexts, same Data Integrity proof over the full
credential) whose digest commits to each claim separately. It is anchored exactly like every other
version: the digest is the 32-byte value of the Merkle leaf ``(digest, index)``.

Claims
    Every leaf of the credential's *hashed view* (:func:`~anchor.credentials.digest.hashed_view`: the
    credential without the anchoring proof, the issuer's Data Integrity proof included) except the master
    salt ``anchorSalt``: every string, number, boolean and null, and every empty array or object (so that
    ``[]`` is not the same credential as a missing field). Each is named by its RFC 6901 JSON Pointer
    (``/credentialSubject/result/0/value``). ``anchorFormat`` is a claim like any other, and a presentation
    must always disclose it.

Per-claim salt
    32 bytes of the salt stream ``SHAKE256(SALT_DOMAIN + the 32 bytes of anchorSalt)``: the claim that comes
    ``n``-th in pointer order (see below) gets bytes ``32 n`` to ``32 n + 32``. A receipt carries only the
    master salt; a presentation carries the salts of the claims it discloses and never the master salt (with
    it, a verifier could try every grade until a withheld commitment matched). The stream is a PRF of the
    master salt: a disclosed claim's salt says nothing about another claim's. (One SHAKE256 call for all
    claims rather than an HMAC-SHA256 per claim: the same independence, for a fraction of the cost at intake,
    where every credential is hashed; a verifier never derives a salt, it is given them.)

Commitment
    ``keccak256(JCS([path, salt, value]))`` where ``path`` is the claim's path as a JSON array of object
    keys (strings) and array positions (integers), ``salt`` the salt as 0x-hex and ``value`` the claim's
    value. The path, rather than the pointer, is committed to because a pointer does not say whether
    ``/a/0`` is the first element of an array or the member ``"0"`` of an object: committing to the typed
    path means a presentation cannot re-shape the containers around a disclosed value. Equal values in two
    credentials (or at two places of one) give unrelated commitments, since their salts differ.

Digest
    ``keccak256(JCS(["anchor-credential-v3", [[pointer, commitment], ...]]))`` with the commitments as 0x-hex
    and the entries sorted by pointer in Unicode code point order (the same as the order of their UTF-8
    bytes, and of Python's ``sorted``). A flat list rather than a Merkle tree of claims: a presentation
    lists every withheld claim's pointer anyway (so that the verifier sees what is withheld), so a tree
    would save nothing, and the list is one JCS call to hash.

The strict I-JSON checks and the NFC normalisation are those of the whole-credential digest
(:func:`~anchor.credentials.digest.canonical_json`), applied to the hashed view once; the claims are then
read from the normalised view. Every claim's pointer repeats those of its containers, so a credential of more
than :data:`MAX_CLAIMS` claims, or a container whose pointer is longer than :data:`MAX_POINTER` characters, is
refused (:func:`check_container`) before the pointers under it are built: a 300 kB key above 6,000 claims
would otherwise cost gigabytes.

Recomputing the digest from a presentation (:func:`presented_digest`) takes the disclosed values with their
salts and the withheld claims' commitments, and refuses (:class:`DisclosureError`, naming the pointer) a
salt or commitment that is not 32 bytes, a claim that is both disclosed and withheld, a withheld claim that
is also the container of another claim, a disclosed claim without a salt, a salt for a claim that is not
disclosed, and the master salt.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, Final

from _pysha3 import keccak_256  # not the sha3 module: it imports hashlib (OpenSSL)

from anchor.credentials import jcs
from anchor.credentials.model import FORMAT_V3, SALT_KEY, _show
from anchor.credentials.strict_json import I_JSON_MAX_INT, MAX_DEPTH
from anchor.errors import InvalidInputError, InvariantError

__all__ = [
    "MAX_CLAIMS",
    "MAX_POINTER",
    "SALT_DOMAIN",
    "Claim",
    "DisclosureError",
    "check_container",
    "claim_salts",
    "claims",
    "commitment",
    "commitments",
    "digest_of_commitments",
    "normalised_view",
    "parse_pointer",
    "pointer_of",
    "presented_digest",
    "v3_digest",
]

SALT_DOMAIN: Final = b"anchor-credential-v3 claim salt\x00"
"""Prefixed to the pointer in a per-claim salt's HMAC message: these salts are for nothing else."""
MAX_POINTER: Final = 4096
"""Longest claim path a presentation may name, in characters."""
MAX_CLAIMS: Final = 10_000
"""Most claims a presentation may name (disclosed plus withheld): a credential is metadata, not a portfolio."""
_HEX32: Final = re.compile(r"0x[0-9a-f]{64}")
#: JCS text of a string: the standard library's C encoder escapes exactly what RFC 8785 does (see
#: :mod:`anchor.credentials.jcs`), for the NFC, surrogate-free strings of a normalised view.
_string_json: Final = encode_basestring
#: Floats below this magnitude JCS writes as at most 15 digits before the point: never beyond the I-JSON range.
_PLAIN_FLOAT: Final = 1e15
_POINTER_STEP: Final = re.compile(r"/((?:[^/~]|~[01])*)")

Path = tuple[str | int, ...]


class DisclosureError(InvalidInputError):
    """A presentation whose claims cannot be proven as given (the message names the claim's pointer)."""


@dataclass(frozen=True)
class Claim:
    """One claim of a credential: its pointer, its typed path and its value (a scalar or an empty container)."""

    pointer: str
    path: Path
    value: Any


def pointer_of(path: Path) -> str:
    """The RFC 6901 JSON Pointer of a path of keys and positions."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """The unescaped reference tokens of an RFC 6901 pointer; :class:`DisclosureError` if it is not one, or
    is longer than :data:`MAX_POINTER` characters or deeper than a credential nests (:data:`MAX_DEPTH`)."""
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise DisclosureError(f"claim path {_show(pointer)} is not a JSON Pointer (RFC 6901, starting with /)")
    if len(pointer) > MAX_POINTER or pointer.count("/") > MAX_DEPTH:
        raise DisclosureError(
            f"claim path {_show(pointer)} is longer than {MAX_POINTER} characters or deeper than {MAX_DEPTH} levels"
        )
    tokens = []
    at = 0
    while at < len(pointer):
        match = _POINTER_STEP.match(pointer, at)
        if match is None or match.end() == at:
            raise DisclosureError(f"claim path {_show(pointer)} is not a JSON Pointer (a ~ is written ~0, a / ~1)")
        tokens.append(match.group(1).replace("~1", "/").replace("~0", "~"))
        at = match.end()
    return tuple(tokens)


def claims(view: Any) -> Iterator[Claim]:
    """Every claim of a (normalised) hashed view, in document order; the master salt is not a claim."""
    if not isinstance(view, dict):
        raise InvalidInputError(f"a credential is a JSON object, got {type(view).__name__}")
    stack: list[tuple[str, Path, Any]] = [
        ("/" + _escape(key), (key,), value) for key, value in reversed(view.items()) if key != SALT_KEY
    ]
    while stack:
        pointer, path, value = stack.pop()
        kind = type(value)
        if kind is dict and value:
            stack.extend((f"{pointer}/{_escape(key)}", (*path, key), item) for key, item in reversed(value.items()))
        elif kind is list and value:
            stack.extend((f"{pointer}/{at}", (*path, at), item) for at, item in reversed(list(enumerate(value))))
        else:
            yield Claim(pointer, path, value)


def commitment(path: Path, salt: bytes, value: Any) -> bytes:
    """``keccak256(JCS([path, salt-hex, value]))``: the commitment to one claim."""
    text = f'[[{",".join(map(_segment_json, path))}],"0x{salt.hex()}",{_value_json(value)}]'
    return bytes(keccak_256(text.encode("utf-8")).digest())


def digest_of_commitments(entries: Mapping[str, bytes]) -> bytes:
    """The v3 digest of the claims' commitments by pointer: JCS written out (see the module doc for the order)."""
    listed = ",".join(f'[{_string_json(pointer)},"0x{entries[pointer].hex()}"]' for pointer in sorted(entries))
    return bytes(keccak_256(f'["{FORMAT_V3}",[{listed}]]'.encode()).digest())


def v3_digest(view: Mapping[str, Any], master: bytes) -> bytes:
    """The v3 digest of a hashed ``view`` salted with ``master`` (32 bytes).

    The same as :func:`commitments` then :func:`digest_of_commitments`, in one walk that writes each claim's
    path text once for all the claims below it and checks as it goes that the view is already strict I-JSON
    in NFC. Only a view that is not (or holds a float that JCS might write beyond the I-JSON range) goes
    through :func:`~anchor.credentials.digest.canonical_json`, which names the problem or normalises it, and
    is walked again.
    """
    leaves = _leaves(view)
    if leaves is None:
        leaves = _leaves(_normalised(view))
        if leaves is None:
            raise InvariantError("a view normalised by canonical_json failed the claims' strict I-JSON checks")
    salts = _salt_stream(master, len(leaves))
    keccak = keccak_256
    listed: list[str] = []
    entry = listed.append
    for at, (pointer, path, shown) in enumerate(leaves):
        text = f'[{path}],"0x{salts[64 * at : 64 * at + 64]}",{shown}]'
        entry(f'[{_string_json(pointer)},"0x{keccak(text.encode()).hexdigest()}"]')
    return bytes(keccak(f'["{FORMAT_V3}",[{",".join(listed)}]]'.encode()).digest())


def commitments(view: Mapping[str, Any], master: bytes) -> dict[str, bytes]:
    """Each claim's commitment by pointer, in pointer order (what a presentation lists for withheld claims)."""
    leaves = _leaves(view)
    if leaves is None:
        leaves = _leaves(_normalised(view))
        if leaves is None:
            raise InvariantError("a view normalised by canonical_json failed the claims' strict I-JSON checks")
    salts = _salt_stream(master, len(leaves))
    return {
        pointer: bytes(keccak_256(f'[{path}],"0x{salts[64 * at : 64 * at + 64]}",{shown}]'.encode()).digest())
        for at, (pointer, path, shown) in enumerate(leaves)
    }


def claim_salts(view: Mapping[str, Any], master: bytes) -> dict[str, bytes]:
    """Each claim's salt by pointer, in pointer order: the ``at``-th claim's is bytes ``32 at`` to ``32 at + 32``
    of the salt stream."""
    leaves = _leaves(view)
    if leaves is None:
        leaves = _leaves(_normalised(view))
        if leaves is None:
            raise InvariantError("a view normalised by canonical_json failed the claims' strict I-JSON checks")
    salts = bytes.fromhex(_salt_stream(master, len(leaves)))
    return {pointer: salts[32 * at : 32 * at + 32] for at, (pointer, _, _) in enumerate(leaves)}


def normalised_view(view: Mapping[str, Any]) -> dict[str, Any]:
    """``view`` itself when it is plainly strict I-JSON in NFC, else its normalised copy (or the error naming the
    problem): the view whose claims a presentation shows."""
    return dict(view) if _leaves(view) is not None else dict(_normalised(view))


def _normalised(view: Mapping[str, Any]) -> Any:
    from anchor.credentials.digest import canonical_json  # the slow path; digest imports this module

    return json.loads(canonical_json(dict(view)))


def _leaves(view: Mapping[str, Any]) -> list[tuple[str, str, str]] | None:
    """Each claim as (pointer, JCS text of its path without the closing bracket, JCS text of its value), in
    pointer order; None when the view is not plainly strict I-JSON in NFC (see :func:`v3_digest`)."""
    leaves: list[tuple[str, str, str]] = []
    stack: list[tuple[str, str, Any, int]] = []  # (pointer, path text, value, depth)
    for key, value in view.items():
        if key != SALT_KEY:
            if type(key) is not str or not (key.isascii() or _plain(key)):
                return None
            stack.append(("/" + _escape(key), "[" + _string_json(key), value, 1))
    pop = stack.pop
    push = stack.append
    leaf = leaves.append
    while stack:
        pointer, path, value, depth = pop()
        kind = type(value)
        if kind is str:
            if not (value.isascii() or _plain(value)):
                return None
            leaf((pointer, path, _string_json(value)))
        elif kind is dict:
            if not value:
                leaf((pointer, path, "{}"))
            elif depth >= MAX_DEPTH:
                return None
            else:
                check_container(pointer, len(leaves) + len(stack) + len(value))
                for key, item in value.items():
                    if type(key) is not str or not (key.isascii() or _plain(key)):
                        return None
                    step = key if "~" not in key and "/" not in key else _escape(key)
                    push((f"{pointer}/{step}", f"{path},{_string_json(key)}", item, depth + 1))
        elif kind is list:
            if not value:
                leaf((pointer, path, "[]"))
            elif depth >= MAX_DEPTH:
                return None
            else:
                check_container(pointer, len(leaves) + len(stack) + len(value))
                for at, item in enumerate(value):
                    push((f"{pointer}/{at}", f"{path},{at}", item, depth + 1))
        elif kind is int:
            if not -I_JSON_MAX_INT <= value <= I_JSON_MAX_INT:
                return None
            leaf((pointer, path, str(value)))
        elif value is True or value is False or value is None:
            leaf((pointer, path, "true" if value is True else "false" if value is False else "null"))
        elif kind is float and -_PLAIN_FLOAT < value < _PLAIN_FLOAT:
            leaf((pointer, path, jcs.number(value)))
        else:
            return None
    leaves.sort()
    return leaves


def _salt_stream(master: bytes, count: int) -> str:
    """The salts of ``count`` claims in pointer order, as one hex string (64 digits each)."""
    if len(master) != 32:
        raise InvalidInputError(f"a master salt is 32 bytes, got {len(master)}")
    return hashlib.shake_256(SALT_DOMAIN + master).hexdigest(32 * count)


def presented_digest(
    disclosed: Mapping[str, Any],
    salts: Mapping[str, Any],
    withheld: Mapping[str, Any],
) -> bytes:
    """The v3 digest recomputed from a presentation, or :class:`DisclosureError` naming the first bad claim.

    ``disclosed`` maps each disclosed claim's pointer to its :class:`Claim` (read off the presented
    credential), ``salts`` the disclosed claims' pointers to their salts (0x-hex), ``withheld`` the withheld
    claims' pointers to their commitments (0x-hex).
    """
    if SALT_KEY in salts or f"/{SALT_KEY}" in salts or f"/{SALT_KEY}" in withheld:
        raise DisclosureError(f"/{SALT_KEY}: a presentation never carries the master salt")
    if len(salts) + len(withheld) > MAX_CLAIMS:
        raise DisclosureError(f"{len(salts) + len(withheld)} claims: a presentation names at most {MAX_CLAIMS}")
    entries: dict[str, bytes] = {}
    for pointer, value in withheld.items():
        parse_pointer(pointer)
        if not unicodedata.is_normalized("NFC", pointer):
            raise DisclosureError(f"withheld claim {_show(pointer)}: a claim path is in Unicode NFC")
        if pointer in disclosed:
            raise DisclosureError(f"claim {_show(pointer)} is both disclosed and withheld (a duplicated claim path)")
        entries[pointer] = _hash32(value, f"the commitment of withheld claim {_show(pointer)}")
    for pointer in salts:
        if pointer not in disclosed:
            raise DisclosureError(f"a salt is given for claim {_show(pointer)}, which the credential does not disclose")
    for pointer, claim in disclosed.items():
        if pointer not in salts:
            raise DisclosureError(f"disclosed claim {_show(pointer)} has no salt: it cannot be proven")
        salt = _hash32(salts[pointer], f"the salt of disclosed claim {_show(pointer)}")
        entries[pointer] = commitment(claim.path, salt, claim.value)
    containers = {pointer[:at] for pointer in entries for at in _slashes(pointer)}
    nested = sorted(containers.intersection(entries))
    if nested:
        raise DisclosureError(
            f"claim {_show(nested[0])} also contains other claims (a duplicated claim path): a claim is a single value"
        )
    return digest_of_commitments(entries)


def check_container(pointer: str, at_least: int) -> None:
    """:class:`DisclosureError` for a container whose claims' pointers would be unbounded work to build: its
    own pointer longer than :data:`MAX_POINTER` (each claim under it repeats it), or ``at_least`` (a lower bound
    on the claims found so far, still to walk and about to be walked) over :data:`MAX_CLAIMS`."""
    if len(pointer) > MAX_POINTER:
        raise DisclosureError(f"claim path {_show(pointer)} is longer than {MAX_POINTER} characters")
    if at_least > MAX_CLAIMS:
        raise DisclosureError(f"the credential has more than {MAX_CLAIMS} claims (at {_show(pointer)})")


def _hash32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        length = f" ({(len(value) - 2) // 2} bytes)" if isinstance(value, str) and value.startswith("0x") else ""
        raise DisclosureError(f"{what} is {_show(value)}{length}: expected 32 bytes as 0x and 64 lowercase hex digits")
    return bytes.fromhex(value[2:])


def _slashes(pointer: str) -> Iterator[int]:
    at = pointer.find("/", 1)
    while at != -1:
        yield at
        at = pointer.find("/", at + 1)


def _plain(text: str) -> bool:
    """Whether non-ASCII ``text`` is NFC and free of lone surrogates (so JCS writes it as it is)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return unicodedata.is_normalized("NFC", text)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1") if "~" in key or "/" in key else key


def _segment_json(part: str | int) -> str:
    return str(part) if type(part) is int else _string_json(str(part))


def _value_json(value: Any) -> str:
    """JCS text of a claim's value: a scalar or an empty container of a normalised (strict I-JSON, NFC) view."""
    kind = type(value)
    if kind is str:
        return _string_json(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if kind is int:
        if not -I_JSON_MAX_INT <= value <= I_JSON_MAX_INT:
            raise DisclosureError(f"the integer {value} is beyond the I-JSON range (+-(2**53-1))")
        return str(value)
    if kind is float:
        return jcs.number(value)
    if kind is dict and not value:
        return "{}"
    if kind is list and not value:
        return "[]"
    raise DisclosureError(f"a claim's value is a JSON scalar or an empty container, got {_show(value)}")
