"""Leaf encodings: ABI type names, value checking and normalisation, leaf hashing.

A leaf encoding is the list of Solidity ABI types of a leaf value, e.g.
``["bytes32", "uint256"]``. A value is checked and brought to one *normal form*
before it is hashed or stored:

=========== ======================== ======================== ==========================
ABI type    accepted                 normal form (Python)     JSON form (dump, multiproof)
=========== ======================== ======================== ==========================
uintN/intN  int (not bool), decimal  int                      decimal string
            or 0x-hex string
bytesN      bytes-like or 0x-hex of  bytes                    0x-hex, lower case
            exactly N bytes
address     20 bytes or 0x-hex (EIP- str, EIP-55 checksummed  same
            55 checked if mixed case)
bool        bool only                bool                     JSON true / false
string      str                      str                      same
bytes       bytes-like or 0x-hex     bytes                    0x-hex, lower case
=========== ======================== ======================== ==========================

The leaf is ``keccak256(keccak256(abi.encode(value...)))``, as OpenZeppelin's
``standardLeafHash``. For exactly ``["bytes32", "uint256"]`` (an anchor leaf: a
credential digest and its index in the batch) values are encoded directly, without
a generic ABI encoder; every other encoding goes through ``eth_abi``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, Protocol, cast

import _pysha3  # not the sha3 module: it imports hashlib (OpenSSL), which nothing here needs

from anchor.addresses import checked_address, to_checksum_address
from anchor.errors import InvalidInputError, MerkleInputError

Scalar = bytes | int | bool | str
"""One element of a normalised leaf value."""

LeafValue = tuple[Scalar, ...]
"""A normalised leaf value: one element per ABI type of the encoding."""

JsonScalar = str | bool
"""One element of a leaf value in its JSON form (as in ``dump()`` and multiproofs)."""


class _Hash(Protocol):
    def digest(self) -> bytes: ...


keccak_256: Callable[[bytes], _Hash] = _pysha3.keccak_256
"""The Keccak-256 constructor used everywhere (safe-pysha3, the fastest binding measured)."""

_Kind = Literal["uint", "int", "fixed_bytes", "address", "bool", "string", "bytes"]

_NUMBER = re.compile(r"(u?)int([0-9]*)")
_FIXED_BYTES = re.compile(r"bytes([0-9]{1,2})")
_HEX = re.compile(r"0x([0-9a-fA-F]*)")
_DECIMAL = re.compile(r"-?[0-9]+")
_SUPPORTED = "uintN, intN (N = 8..256, step 8), bytesN (N = 1..32), address, bool, string, bytes"
_UINT256_BOUND = 1 << 256
_MAX_UINT256_DIGITS = len(str(_UINT256_BOUND - 1))  # 78
_FAST_TYPES = ("bytes32", "uint256")


@dataclass(frozen=True, slots=True)
class AbiType:
    """One ABI type of a leaf encoding."""

    name: str
    """The name as given (``uint`` stays ``uint``; dumps keep it)."""
    canonical: str
    """The canonical ABI name (``uint`` becomes ``uint256``)."""
    kind: _Kind
    size: int
    """Bits for ``uintN``/``intN``, bytes for ``bytesN``; 0 otherwise."""


def parse_type(name: object, position: int) -> AbiType:
    """Parse one ABI type name; ``position`` is its index in the encoding (for messages)."""
    if not isinstance(name, str):
        raise MerkleInputError(f"leafEncoding[{position}]: expected an ABI type name, got {_kind_of(name)}")
    if match := _NUMBER.fullmatch(name):
        bits = int(match.group(2)) if match.group(2) else 256
        if match.group(2).startswith("0") or not (8 <= bits <= 256 and bits % 8 == 0):
            raise MerkleInputError(f"leafEncoding[{position}]: invalid integer type {name!r}")
        kind: _Kind = "uint" if match.group(1) else "int"
        return AbiType(name, f"{kind}{bits}", kind, bits)
    if match := _FIXED_BYTES.fullmatch(name):
        length = int(match.group(1))
        if match.group(1).startswith("0") or not 1 <= length <= 32:
            raise MerkleInputError(f"leafEncoding[{position}]: invalid fixed bytes type {name!r}")
        return AbiType(name, name, "fixed_bytes", length)
    if name in ("address", "bool", "string", "bytes"):
        return AbiType(name, name, name, 0)  # type: ignore[arg-type]  # name is one of the literals
    raise MerkleInputError(f"leafEncoding[{position}]: unsupported ABI type {name!r} (supported: {_SUPPORTED})")


class LeafEncoding:
    """A parsed leaf encoding: checks, normalises, encodes and hashes values.

    Get one with :func:`leaf_encoding` (cached per list of type names).
    """

    __slots__ = ("_encode", "fast", "names", "types")

    def __init__(self, names: Sequence[object]) -> None:
        if isinstance(names, str | bytes) or not isinstance(names, Sequence):
            raise MerkleInputError(f"leafEncoding: expected a list of ABI type names, got {_kind_of(names)}")
        if len(names) == 0:
            raise MerkleInputError("leafEncoding: expected at least one ABI type, got an empty list")
        self.types: tuple[AbiType, ...] = tuple(parse_type(name, i) for i, name in enumerate(names))
        self.names: tuple[str, ...] = tuple(t.name for t in self.types)
        self.fast: bool = tuple(t.canonical for t in self.types) == _FAST_TYPES
        """True for ``(bytes32, uint256)``: the anchor leaf, encoded without eth_abi."""
        self._encode: Callable[[LeafValue], bytes] = _encode_fast if self.fast else self._encode_generic

    def __repr__(self) -> str:
        return f"LeafEncoding({list(self.names)!r})"

    def normalise(self, value: object, where: str) -> LeafValue:
        """Check ``value`` against the encoding and return its normal form.

        ``where`` names the value in error messages, e.g. ``values[3]``.
        """
        if self.fast:
            if _is_fast_normal(value):
                return value  # type: ignore[return-value]  # checked by _is_fast_normal
            if (parsed := _fast_from_json(value)) is not None:
                return parsed
        if isinstance(value, str | bytes | bytearray | memoryview) or not isinstance(value, Sequence):
            raise MerkleInputError(
                f"{where}: expected a tuple of {len(self.types)} elements ({', '.join(self.names)}), "
                f"got {_kind_of(value)}"
            )
        if len(value) != len(self.types):
            raise MerkleInputError(
                f"{where}: expected {len(self.types)} elements ({', '.join(self.names)}), got {len(value)}"
            )
        return tuple(
            _normalise_scalar(t, x, f"{where}[{i}]") for i, (t, x) in enumerate(zip(self.types, value, strict=True))
        )

    def encode(self, value: LeafValue) -> bytes:
        """``abi.encode`` of a normalised value."""
        return self._encode(value)

    def leaf_hash(self, value: LeafValue) -> bytes:
        """The leaf of a normalised value: ``keccak256(keccak256(abi.encode(value)))``."""
        return keccak_256(keccak_256(self._encode(value)).digest()).digest()

    def leaf_hashes(self, values: Sequence[Any], start: int, stop: int) -> list[bytes]:
        """Leaves of ``values[start:stop]``; on the fast path a value not in normal form gets ``b""``.

        Used by the bulk build. On the fast path the check and the hashing are one
        pass over the values (no generic encoder, no per-value function call); the
        caller normalises the values that came back as ``b""`` (raising for bad ones)
        and hashes them again. Other encodings expect normalised values.
        """
        k = keccak_256
        if self.fast:
            bound = _UINT256_BOUND
            return [
                k(k(v[0] + v[1].to_bytes(32, "big")).digest()).digest()
                if type(v) is tuple
                and len(v) == 2
                and type(v[0]) is bytes
                and len(v[0]) == 32
                and type(v[1]) is int
                and 0 <= v[1] < bound
                else b""
                for v in values[start:stop]
            ]
        encode = self._encode
        return [k(k(encode(v)).digest()).digest() for v in values[start:stop]]

    def to_json(self, value: LeafValue) -> list[JsonScalar]:
        """The JSON form of a normalised value (as OpenZeppelin dumps it)."""
        if self.fast:
            return ["0x" + cast(bytes, value[0]).hex(), str(value[1])]
        return [_scalar_to_json(t, x) for t, x in zip(self.types, value, strict=True)]

    def _encode_generic(self, value: LeafValue) -> bytes:
        from eth_abi.abi import encode  # imported here: only the generic path pays for it

        return encode([t.canonical for t in self.types], list(value))


@lru_cache(maxsize=64)
def _cached_encoding(names: tuple[str, ...]) -> LeafEncoding:
    return LeafEncoding(names)


def leaf_encoding(names: Sequence[object]) -> LeafEncoding:
    """The parsed :class:`LeafEncoding` for a list of ABI type names (cached)."""
    if isinstance(names, list | tuple) and all(isinstance(n, str) for n in names):
        return _cached_encoding(tuple(cast(Sequence[str], names)))
    return LeafEncoding(names)


def _encode_fast(value: LeafValue) -> bytes:
    return cast(bytes, value[0]) + cast(int, value[1]).to_bytes(32, "big")


def _is_fast_normal(v: object) -> bool:
    return (
        type(v) is tuple
        and len(v) == 2
        and type(v[0]) is bytes
        and len(v[0]) == 32
        and type(v[1]) is int
        and 0 <= v[1] < _UINT256_BOUND
    )


def _fast_from_json(v: object) -> LeafValue | None:
    """``["0x" + 64 hex digits, "decimal"]`` (the JSON form of an anchor leaf) parsed, or None for anything else."""
    if type(v) is not list or len(v) != 2:
        return None
    digest, number = v
    if not (type(digest) is str and len(digest) == 66 and digest[:2] == "0x"):
        return None
    if not (type(number) is str and 0 < len(number) <= _MAX_UINT256_DIGITS and number.isascii() and number.isdigit()):
        return None
    try:
        raw = bytes.fromhex(digest[2:])
    except ValueError:
        return None
    value = int(number)
    if len(raw) != 32 or value >= _UINT256_BOUND:
        return None
    return (raw, value)


def _normalise_scalar(t: AbiType, x: object, where: str) -> Scalar:
    label = f"{where} ({t.name})"
    if t.kind in ("uint", "int"):
        number = _to_int(x, label)
        low, high = (0, 1 << t.size) if t.kind == "uint" else (-(1 << (t.size - 1)), 1 << (t.size - 1))
        if not low <= number < high:
            raise MerkleInputError(f"{label}: {number} is out of range [{_power(low)}, {_power(high)})")
        return number
    if t.kind == "fixed_bytes":
        data = _to_bytes(x, label)
        if len(data) != t.size:
            raise MerkleInputError(f"{label}: expected exactly {t.size} bytes, got {len(data)}")
        return data
    if t.kind == "bytes":
        return _to_bytes(x, label)
    if t.kind == "address":
        return _to_address(x, label)
    if t.kind == "bool":
        if type(x) is not bool:
            raise MerkleInputError(f"{label}: expected a bool, got {_kind_of(x)}")
        return x
    # string
    if not isinstance(x, str):
        raise MerkleInputError(f"{label}: expected a str, got {_kind_of(x)}")
    try:
        x.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MerkleInputError(f"{label}: string is not valid UTF-8 ({exc.reason})") from None
    return str(x)


def _to_int(x: object, label: str) -> int:
    if isinstance(x, bool):
        raise MerkleInputError(f"{label}: expected an integer, got a bool")
    if isinstance(x, int):
        return int(x)
    if isinstance(x, str):
        if _DECIMAL.fullmatch(x):
            sign, digits = ("-", x[1:]) if x.startswith("-") else ("", x)
            digits = digits.lstrip("0") or "0"
            if len(digits) > _MAX_UINT256_DIGITS:  # also keeps int() under its digit limit
                raise MerkleInputError(f"{label}: {x[:20]}... ({len(x)} digits) is out of range for any ABI integer")
            return int(sign + digits, 10)
        if (match := _HEX.fullmatch(x)) and match.group(1):
            return int(match.group(1), 16)
        raise MerkleInputError(f"{label}: expected an integer or a decimal or 0x-hex string, got {x!r}")
    raise MerkleInputError(f"{label}: expected an integer, got {_kind_of(x)}")


def _to_bytes(x: object, label: str) -> bytes:
    if isinstance(x, bytes | bytearray | memoryview):
        return bytes(x)
    if isinstance(x, str):
        match = _HEX.fullmatch(x)
        if match is None or len(match.group(1)) % 2:
            raise MerkleInputError(f"{label}: expected bytes or a 0x-hex string of whole bytes, got {x!r}")
        return bytes.fromhex(match.group(1))
    raise MerkleInputError(f"{label}: expected bytes or a 0x-hex string, got {_kind_of(x)}")


def _to_address(x: object, label: str) -> str:
    if isinstance(x, bytes | bytearray | memoryview):
        raw = bytes(x)
        if len(raw) != 20:
            raise MerkleInputError(f"{label}: expected 20 bytes, got {len(raw)}")
        return to_checksum_address("0x" + raw.hex())
    if not isinstance(x, str):
        raise MerkleInputError(f"{label}: expected a 0x-hex address string, got {_kind_of(x)}")
    match = _HEX.fullmatch(x)
    if match is None or len(match.group(1)) != 40:
        raise MerkleInputError(f"{label}: expected 0x followed by 40 hex digits, got {x!r}")
    try:
        return checked_address(x)
    except InvalidInputError:  # an address, so the checksum is what failed
        raise MerkleInputError(f"{label}: mixed-case address {x!r} fails its EIP-55 checksum") from None


def _scalar_to_json(t: AbiType, x: Scalar) -> JsonScalar:
    if isinstance(x, bool | str):
        return x
    if isinstance(x, int):
        return str(x)
    return "0x" + x.hex()


def _power(bound: int) -> str:
    """A range bound as ``2**N`` (or ``-2**N``) when it is a large power of two."""
    magnitude = abs(bound)
    if magnitude > 1 << 16 and magnitude & (magnitude - 1) == 0:
        return f"{'-' if bound < 0 else ''}2**{magnitude.bit_length() - 1}"
    return str(bound)


def _kind_of(x: object) -> str:
    return "None" if x is None else f"a {type(x).__name__}"
