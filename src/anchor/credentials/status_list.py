"""W3C Bitstring Status List v1.0: status entries, the bitstring, and the status list credential (pure).

What a standard wallet or verifier reads to learn that a credential was revoked
(https://www.w3.org/TR/vc-bitstring-status-list/); the chain stays the authority, the lists mirror it.

- A credential carries a ``credentialStatus``, a ``BitstringStatusListEntry``: the list's URL
  (``statusListCredential``), the credential's position in it (``statusListIndex``, a decimal string),
  ``statusPurpose`` ``revocation`` and an ``id`` ``<list URL>#<index>`` (:class:`StatusEntry`,
  :func:`parse_status_entry`).
- A list is a bitstring of at least :data:`MIN_ENTRIES` bits (16 KiB), bit 0 the left-most (most
  significant) bit of byte 0; a set bit means revoked (:class:`StatusBits`). Its ``encodedList`` is the
  multibase base64url form (prefix ``u``, no padding) of the GZIP-compressed bitstring. Decoding is
  bounded (:data:`MAX_LIST_BYTES`): a hostile list of a few kilobytes cannot expand into gigabytes.
- The list is published as a ``BitstringStatusListCredential`` signed by the issuer
  (:func:`status_list_credential` builds it unsigned; :func:`parse_status_list_credential` reads one).

Indices are handed out in an order that reveals nothing (:func:`shuffled_index`): the specification asks
that an index not tell when a credential was issued nor how many were; a keyed permutation of the list's
positions does that without remembering which indices are taken.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from anchor.errors import InvalidInputError
from anchor.urls import https_url_problem

__all__ = [
    "ENTRY_TYPE",
    "LIST_CREDENTIAL_TYPE",
    "LIST_TYPE",
    "MAX_LIST_BYTES",
    "MIN_ENTRIES",
    "STATUS_PURPOSE",
    "VC_V2_CONTEXT",
    "StatusBits",
    "StatusEntry",
    "StatusList",
    "StatusListError",
    "decode_list",
    "encode_list",
    "find_status_entry",
    "parse_status_entry",
    "parse_status_list_credential",
    "shuffled_index",
    "status_entry_for",
    "status_list_credential",
    "status_list_url",
    "status_slot",
]

VC_V2_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
ENTRY_TYPE: Final = "BitstringStatusListEntry"
LIST_TYPE: Final = "BitstringStatusList"
LIST_CREDENTIAL_TYPE: Final = "BitstringStatusListCredential"
#: The only purpose anchor publishes: revocation is permanent, as on the chain.
STATUS_PURPOSE: Final = "revocation"
#: The specification's minimum list length (131,072 entries, 16 KiB): fewer would single credentials out.
MIN_ENTRIES: Final = 131_072
#: Largest decoded list accepted, in bytes (16 MiB, 134 million entries); larger is refused unexpanded.
MAX_LIST_BYTES: Final = 16 << 20
#: The compression level the specification's example and Digital Bazaar's library (pako) use: same bytes.
_GZIP_LEVEL: Final = 6
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]*")
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]*")
_ENTRY_KEYS: Final = frozenset({"id", "type", "statusPurpose", "statusListIndex", "statusListCredential"})


class StatusListError(InvalidInputError):
    """A status entry, encoded list or status list credential that does not follow the specification."""


# --------------------------------------------------------------------------------------------------------
# The bitstring


class StatusBits:
    """A status bitstring: bit ``i`` is the ``i``-th bit from the left (bit 0 = 0x80 of byte 0); set = revoked."""

    __slots__ = ("_bytes",)

    def __init__(self, entries: int = MIN_ENTRIES) -> None:
        """An all-clear list of ``entries`` bits (at least :data:`MIN_ENTRIES`, a whole number of bytes)."""
        _check_length(entries)
        self._bytes = bytearray(entries // 8)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray) -> StatusBits:
        """The list whose bitstring is ``data`` (copied)."""
        bits = cls.__new__(cls)
        _check_length(len(data) * 8)
        bits._bytes = bytearray(data)
        return bits

    @classmethod
    def decode(cls, encoded: object, *, max_bytes: int = MAX_LIST_BYTES) -> StatusBits:
        """The list an ``encodedList`` holds (see :func:`decode_list`)."""
        return cls.from_bytes(decode_list(encoded, max_bytes=max_bytes))

    def __len__(self) -> int:
        """Number of entries (bits)."""
        return len(self._bytes) * 8

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StatusBits) and other._bytes == self._bytes

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"StatusBits({len(self)} entries, {self.count()} set)"

    def _position(self, index: int) -> tuple[int, int]:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self):
            raise StatusListError(f"status index {index!r} is outside the list (0..{len(self) - 1})")
        return index >> 3, 0x80 >> (index & 7)

    def get(self, index: int) -> bool:
        """Whether entry ``index`` is set (revoked)."""
        byte, mask = self._position(index)
        return bool(self._bytes[byte] & mask)

    def set(self, index: int, value: bool = True) -> None:
        """Set (or clear) entry ``index``."""
        byte, mask = self._position(index)
        if value:
            self._bytes[byte] |= mask
        else:
            self._bytes[byte] &= 0xFF ^ mask

    def set_indices(self) -> Iterator[int]:
        """The set entries, in increasing order."""
        for number, byte in enumerate(self._bytes):
            if byte:
                for bit in range(8):
                    if byte & (0x80 >> bit):
                        yield number * 8 + bit

    def count(self) -> int:
        """How many entries are set."""
        return sum(byte.bit_count() for byte in self._bytes)

    def to_bytes(self) -> bytes:
        """The bitstring."""
        return bytes(self._bytes)

    def encode(self) -> str:
        """The ``encodedList`` value (see :func:`encode_list`)."""
        return encode_list(self._bytes)


def _check_length(entries: int) -> None:
    if entries < MIN_ENTRIES:
        raise StatusListError(
            f"a status list holds at least {MIN_ENTRIES} entries (16 KiB), as the specification requires "
            f"for herd privacy; this one holds {entries}"
        )
    if entries % 8:
        raise StatusListError(f"a status list holds a whole number of bytes; {entries} entries is not")
    if entries > MAX_LIST_BYTES * 8:
        raise StatusListError(f"a status list holds at most {MAX_LIST_BYTES * 8} entries; {entries} is more")


def encode_list(bitstring: bytes | bytearray) -> str:
    """``u`` + base64url (no padding) of the GZIP-compressed ``bitstring`` (deterministic: no time, level 6)."""
    _check_length(len(bitstring) * 8)
    compressed = gzip.compress(bytes(bitstring), compresslevel=_GZIP_LEVEL, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_list(encoded: object, *, max_bytes: int = MAX_LIST_BYTES) -> bytes:
    """The bitstring of an ``encodedList``: multibase base64url, no padding, one GZIP member, nothing after.

    At most ``max_bytes`` are expanded: a list that would decompress to more is refused without expanding it
    further (a "zip bomb" of a few kilobytes could otherwise claim gigabytes). :class:`StatusListError`
    names what is wrong.
    """
    if not isinstance(encoded, str):
        raise StatusListError(f"encodedList must be a string, not {type(encoded).__name__}")
    if not encoded.startswith("u"):
        raise StatusListError(
            f"encodedList {encoded[:12]!r} is not multibase base64url: it must start with 'u' (no padding)"
        )
    body = encoded[1:]
    # even incompressible data grows by a few bytes only: longer text is not a list of max_bytes
    if len(body) > 4 * (max_bytes + 1024) // 3 + 4:
        raise StatusListError(f"encodedList is {len(body)} characters long, more than any accepted list needs")
    if not _BASE64URL.fullmatch(body) or len(body) % 4 == 1:
        raise StatusListError("encodedList is not base64url without padding (characters A-Z a-z 0-9 - _ only)")
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as error:
        raise StatusListError(f"encodedList is not base64url: {error}") from None
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP framing only
    try:
        bitstring = inflater.decompress(compressed, max_bytes + 1)
    except zlib.error as error:
        raise StatusListError(f"encodedList is not GZIP-compressed: {error}") from None
    if len(bitstring) > max_bytes:
        raise StatusListError(f"encodedList expands to more than {max_bytes} bytes: refused")
    if not inflater.eof:
        raise StatusListError("encodedList is truncated: the GZIP data ends early")
    if inflater.unused_data:
        raise StatusListError(f"encodedList has {len(inflater.unused_data)} bytes after its GZIP data")
    _check_length(len(bitstring) * 8)
    return bitstring


def shuffled_index(key: bytes, position: int, size: int) -> int:
    """The ``position``-th index of a keyed pseudorandom permutation of ``range(size)``.

    A balanced Feistel network of four BLAKE2b rounds over the smallest even number of bits that holds
    ``size``, cycle-walking until the value falls inside the list: a bijection, so distinct positions give
    distinct indices (no index is handed out twice) without recording which are taken, and without the key
    the indices say nothing about issuance order or numbers.
    """
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < size:
        raise StatusListError(f"position {position!r} is outside a list of {size} entries")
    if len(key) < 16:
        raise StatusListError("a status list's shuffle key holds at least 16 bytes")
    import hashlib  # here: verifying a credential without a status list does not load OpenSSL's hashlib

    half = max(1, ((size - 1).bit_length() + 1) // 2)
    mask = (1 << half) - 1
    width = (half + 7) // 8
    value = position
    while True:
        left, right = value >> half, value & mask
        for round_number in range(4):
            digest = hashlib.blake2b(
                bytes((round_number,)) + right.to_bytes(width, "big"), key=key[:64], digest_size=8
            ).digest()
            left, right = right, left ^ (int.from_bytes(digest, "big") & mask)
        value = (left << half) | right
        if value < size:
            return value


# --------------------------------------------------------------------------------------------------------
# URLs and entries


def _check_list_url(url: object, what: str) -> str:
    """A status list URL: https, a host, no user, no fragment, printable ASCII, not too long."""
    problem = https_url_problem(url)
    if problem is not None:
        raise StatusListError(f"{what} {str(url)[:80]!r} {problem}")
    assert isinstance(url, str)
    return url


def status_list_url(base_url: str, list_number: int) -> str:
    """The URL of status list ``list_number`` under ``base_url``: ``<base_url>/<number>.json``.

    The file that ``anchor status publish`` writes is named by the URL's last segment (``<number>.json``);
    ``.json`` so that a static web server sends it as JSON.
    """
    _check_list_url(base_url, "status base URL")
    if isinstance(list_number, bool) or not isinstance(list_number, int) or list_number < 1:
        raise StatusListError(f"status list number {list_number!r} is not a positive integer")
    if urlsplit(base_url).query:
        raise StatusListError(f"status base URL {base_url!r} must not have a query (?...)")
    return f"{base_url.rstrip('/')}/{list_number}.json"


def list_file_name(url: str) -> str:
    """The file a status list at ``url`` is published as: the URL's last path segment."""
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    if not name or name in {".", ".."} or "\\" in name:
        raise StatusListError(f"status list URL {url!r} does not end with a file name")
    return name


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One credential's place in a status list: a ``BitstringStatusListEntry`` for revocation."""

    list_url: str
    """The status list credential's URL (``statusListCredential``)."""
    index: int
    """The credential's entry in the list (``statusListIndex``)."""

    @property
    def id(self) -> str:
        """The entry's id: ``<list URL>#<index>``."""
        return f"{self.list_url}#{self.index}"

    def to_json(self) -> dict[str, str]:
        """The ``credentialStatus`` object."""
        return {
            "id": self.id,
            "type": ENTRY_TYPE,
            "statusPurpose": STATUS_PURPOSE,
            "statusListIndex": str(self.index),
            "statusListCredential": self.list_url,
        }


def status_entry_for(base_url: str, list_number: int, index: int) -> dict[str, str]:
    """The ``credentialStatus`` of entry ``index`` of status list ``list_number`` under ``base_url``."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < MAX_LIST_BYTES * 8:
        raise StatusListError(f"status index {index!r} is not an entry of a status list")
    return StatusEntry(status_list_url(base_url, list_number), index).to_json()


def status_slot(entry: Mapping[str, Any], base_url: str) -> tuple[int, int]:
    """The (list number, index) a ``credentialStatus`` made by :func:`status_entry_for` under ``base_url`` names.

    What the issuer database records for the credential (``NewCredential.status_list``, ``status_index``);
    :class:`StatusListError` for an entry that is not one of ``base_url``'s lists.
    """
    number, index = entry_slot(entry)
    list_url = parse_status_entry(entry).list_url
    if status_list_url(base_url, number) != list_url:
        raise StatusListError(f"credentialStatus names {list_url}, not a status list under {base_url}")
    return number, index


def entry_slot(entry: Mapping[str, Any]) -> tuple[int, int]:
    """The (list number, index) of an entry naming one of anchor's status lists (``.../<number>.json``)."""
    parsed = parse_status_entry(entry)
    number = list_file_name(parsed.list_url).removesuffix(".json")
    if not number.isascii() or not _DECIMAL.fullmatch(number) or number == "0":
        raise StatusListError(f"credentialStatus names {parsed.list_url}, not a status list of anchor's")
    return int(number), parsed.index


def parse_status_entry(value: object, *, where: str = "credentialStatus") -> StatusEntry:
    """A ``BitstringStatusListEntry`` read strictly: exactly anchor's five members, each as the specification says.

    ``type`` ``BitstringStatusListEntry``, ``statusPurpose`` ``revocation``, ``statusListIndex`` a decimal
    string without sign or leading zero, ``statusListCredential`` an https URL, and ``id`` exactly
    ``<statusListCredential>#<statusListIndex>``. :class:`StatusListError` names the member at fault.
    """
    if not isinstance(value, Mapping):
        raise StatusListError(f"{where} must be an object, not {type(value).__name__}")
    unknown = sorted(str(key) for key in value if key not in _ENTRY_KEYS)
    if unknown:
        raise StatusListError(f"{where} has members anchor does not use: {', '.join(unknown)}")
    missing = sorted(_ENTRY_KEYS - value.keys())
    if missing:
        raise StatusListError(f"{where} lacks {', '.join(missing)}")
    if value["type"] != ENTRY_TYPE:
        raise StatusListError(f"{where}.type must be {ENTRY_TYPE!r}, not {value['type']!r}")
    if value["statusPurpose"] != STATUS_PURPOSE:
        raise StatusListError(f"{where}.statusPurpose must be {STATUS_PURPOSE!r}, not {value['statusPurpose']!r}")
    text = value["statusListIndex"]
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text) or len(text) > 10:
        raise StatusListError(
            f"{where}.statusListIndex must be a decimal string (no sign, no leading zero), not {text!r:.40}"
        )
    index = int(text)
    if index >= MAX_LIST_BYTES * 8:
        raise StatusListError(f"{where}.statusListIndex {index} is beyond any accepted list")
    url = _check_list_url(value["statusListCredential"], f"{where}.statusListCredential")
    entry = StatusEntry(url, index)
    if value["id"] != entry.id:
        raise StatusListError(
            f"{where}.id must be {entry.id!r} (the list URL, '#' and the index), not {value['id']!r:.120}"
        )
    return entry


def find_status_entry(credential: Mapping[str, Any]) -> StatusEntry | None:
    """The credential's revocation entry: None without ``credentialStatus``; refused when it is not exactly one."""
    status = credential.get("credentialStatus")
    if status is None:
        return None
    if isinstance(status, list):
        if len(status) != 1:
            raise StatusListError(f"credentialStatus must hold one entry, not {len(status)}")
        return parse_status_entry(status[0], where="credentialStatus[0]")
    return parse_status_entry(status)


# --------------------------------------------------------------------------------------------------------
# The status list credential


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise StatusListError("a status list's validFrom needs a timezone")
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def status_list_credential(url: str, issuer: str, bits: StatusBits, valid_from: datetime) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential`` publishing ``bits`` at ``url``, issued by ``issuer``.

    VC 2.0 context only (it defines every status list term), no ``validUntil``: the chain is the authority
    and a list that expired because nobody republished it would stop wallets from reading it at all.
    """
    _check_list_url(url, "status list URL")
    if not isinstance(issuer, str) or not issuer:
        raise StatusListError(f"a status list's issuer is a DID or URL, not {issuer!r}")
    return {
        "@context": [VC_V2_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": _iso(valid_from),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": LIST_TYPE,
            "statusPurpose": STATUS_PURPOSE,
            "encodedList": bits.encode(),
        },
    }


@dataclass(frozen=True)
class StatusList:
    """A status list credential read strictly (its proofs are not checked here: see the verifier)."""

    url: str
    issuer: str
    valid_from: str | None
    bits: StatusBits
    document: dict[str, Any]
    """The whole credential, proofs included."""


def parse_status_list_credential(document: object, *, max_bytes: int = MAX_LIST_BYTES) -> StatusList:
    """A ``BitstringStatusListCredential`` for revocation, read strictly; its list decoded with bounds.

    :class:`StatusListError` names the member at fault. The proofs are left to the caller (the issuer's DID).
    """
    if not isinstance(document, Mapping):
        raise StatusListError(f"a status list credential is a JSON object, not {type(document).__name__}")
    context = document.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_V2_CONTEXT:
        raise StatusListError(f"status list credential: @context must be a list starting with {VC_V2_CONTEXT!r}")
    types = document.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types or LIST_CREDENTIAL_TYPE not in types:
        raise StatusListError(
            "status list credential: type must list VerifiableCredential and "
            f"{LIST_CREDENTIAL_TYPE}, not {types!r:.120}"
        )
    url = _check_list_url(document.get("id"), "status list credential: id")
    issuer = document.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    if not isinstance(issuer, str) or not issuer:
        raise StatusListError("status list credential: issuer must be a DID or URL (or an object with one as id)")
    valid_from = document.get("validFrom")
    if valid_from is not None and not isinstance(valid_from, str):
        raise StatusListError("status list credential: validFrom must be a date-time string")
    subject = document.get("credentialSubject")
    if not isinstance(subject, Mapping):
        raise StatusListError("status list credential: credentialSubject must be one object")
    if subject.get("type") != LIST_TYPE:
        raise StatusListError(f"status list credential: credentialSubject.type must be {LIST_TYPE!r}")
    if subject.get("statusPurpose") != STATUS_PURPOSE:
        raise StatusListError(
            f"status list credential: credentialSubject.statusPurpose must be {STATUS_PURPOSE!r}, "
            f"not {subject.get('statusPurpose')!r:.60}"
        )
    try:
        bits = StatusBits.decode(subject.get("encodedList"), max_bytes=max_bytes)
    except StatusListError as error:
        raise StatusListError(f"status list credential {url}: credentialSubject.{error}") from None
    return StatusList(url, issuer, valid_from, bits, dict(document))
