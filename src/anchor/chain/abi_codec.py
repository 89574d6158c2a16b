"""A small, strict Solidity ABI codec: values to bytes and back, no chain I/O.

It exists so that the verifier does not import ``eth_abi`` (with eth_utils, eth_typing and parsimonious
about 150 ms of start-up for a one-receipt ``anchor verify``). Types are canonical ABI type strings:

=============== =========================================== =============================================
type            encode accepts                              decode returns
=============== =========================================== =============================================
``uint<M>``     int (not bool) in ``0 .. 2**M - 1``         int
``bytes<M>``    bytes-like of exactly M bytes               bytes
``bool``        bool                                        bool
``address``     20 bytes, or ``0x`` + 40 hex digits         str, ``0x`` + 40 lower-case hex digits
                (EIP-55 checked if mixed case)
``string``      str                                         str
``bytes``       bytes-like                                  bytes
``T[]``         list or tuple of T                          tuple
``(T1,T2,…)``   list or tuple of as many values             tuple
=============== =========================================== =============================================

M is 8 to 256 in steps of 8 for ``uint``, 1 to 32 for ``bytes``; tuples are spelled out and may nest.
Fixed-size arrays ``T[k]``, ``int<M>`` and fixed-point types are not supported (the registry uses none).
``encode`` is byte-identical to ``eth_abi.encode`` (for ``bytes<M>`` it takes exactly M bytes, where
eth_abi pads shorter values). A bad type string or value raises :class:`AbiEncodingError`.

``decode`` reads data from an endpoint that may be hostile and raises :class:`AbiDecodingError`, and
nothing else, on any byte string: data too short, non-zero padding (high bytes of ``uint<M>``,
``address`` and ``bool``, low bytes of ``bytes<M>``, the tail of ``string``/``bytes``), a ``bool`` other
than 0 or 1, an offset that points into its container's head or past the end of the data, a length
that does not fit in the data, invalid UTF-8. Offsets need not be canonical, but altogether decoding
may not read more bytes than the data holds, so overlapping tails cannot blow a small input up into a
huge value (canonical encodings never overlap). Bytes after the encoded value are ignored, as eth_abi does.

Both errors are :class:`~anchor.errors.InvalidInputError` (so also ``ValueError``): data from an endpoint and
values from a caller are input anchor cannot accept, never an internal bug.

An entry of a JSON ABI (function, event or error) gives its canonical type strings with
:func:`canonical_type`, its signature (``name(type,...)``) with :func:`signature`, and the keccak256 of
that with :func:`signature_hash` (whose first 4 bytes are a function's or error's selector, and all 32 an
event's topic).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from typing import Any

from _pysha3 import keccak_256  # not the sha3 module: it imports hashlib (OpenSSL)

from anchor.addresses import is_address
from anchor.errors import InvalidInputError

__all__ = [
    "AbiDecodingError",
    "AbiEncodingError",
    "canonical_type",
    "decode",
    "encode",
    "signature",
    "signature_hash",
]

WORD = 32


class AbiEncodingError(InvalidInputError):
    """A type string is not a supported canonical ABI type, or a value does not fit its type."""


class AbiDecodingError(InvalidInputError):
    """The data is not a valid (strict) ABI encoding of the types."""


@dataclass(frozen=True)
class _Type:
    """One parsed ABI type."""

    kind: str
    """``uint``, ``fixed-bytes``, ``bool``, ``address``, ``string``, ``bytes``, ``array`` or ``tuple``."""
    name: str
    """The canonical type string, for messages."""
    size: int = 0
    """Bits of a ``uint``, bytes of a ``bytes<M>``."""
    components: tuple[_Type, ...] = ()
    """The item type of an array (one), the component types of a tuple."""

    @cached_property
    def dynamic(self) -> bool:
        """Whether the value sits in its container's tail, behind an offset."""
        return self.kind in ("string", "bytes", "array") or any(c.dynamic for c in self.components)

    @cached_property
    def head_size(self) -> int:
        """Bytes the value takes in its container's head."""
        if self.kind == "tuple" and not self.dynamic:
            return sum(c.head_size for c in self.components)
        return WORD

    @cached_property
    def uint_bits(self) -> tuple[int, ...] | None:
        """For a ``uint<M>`` or a tuple (nested or not) of nothing but them: each one's M, in order (one word
        each, no offsets); None for any other type."""
        if self.kind == "uint":
            return (self.size,)
        if self.kind != "tuple":
            return None
        bits: list[int] = []
        for component in self.components:
            inner = component.uint_bits
            if inner is None:
                return None
            bits += inner
        return tuple(bits)


_ELEMENTARY = re.compile(r"(uint|bytes)([1-9][0-9]*)|bool|address|string|bytes")


@cache
def _parse(name: str) -> _Type:
    """The type named ``name``; :class:`AbiEncodingError` if it is not a supported canonical type."""
    if name.endswith("[]"):
        return _Type("array", name, components=(_parse(name[:-2]),))
    if name.startswith("(") and name.endswith(")"):
        return _Type("tuple", name, components=tuple(_parse(part) for part in _split(name[1:-1], name)))
    match = _ELEMENTARY.fullmatch(name)
    if match is None:
        raise AbiEncodingError(f"{name!r} is not a supported canonical ABI type")
    base, digits = match.group(1), match.group(2)
    if base is None:
        return _Type(name, name)
    size = int(digits)
    if base == "uint" and (size > 256 or size % 8):
        raise AbiEncodingError(f"{name!r}: uint<M> needs M a multiple of 8 from 8 to 256")
    if base == "bytes" and size > 32:
        raise AbiEncodingError(f"{name!r}: bytes<M> needs M from 1 to 32")
    return _Type("uint" if base == "uint" else "fixed-bytes", name, size)


def _split(inner: str, name: str) -> list[str]:
    """The comma-separated component types of a tuple's inside (commas of nested tuples kept)."""
    parts: list[str] = []
    depth = start = 0
    for i, char in enumerate(inner):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                break
        elif char == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    if depth != 0 or not inner:
        raise AbiEncodingError(f"{name!r} is not a supported canonical ABI type (empty or unbalanced tuple)")
    parts.append(inner[start:])
    return parts


def _parse_all(types: Sequence[str]) -> _Type:
    """The tuple type of a whole argument list."""
    if isinstance(types, str):
        raise AbiEncodingError("types must be a sequence of type strings, not one string")
    for name in types:
        if not isinstance(name, str):
            raise AbiEncodingError(f"{name!r} is not a type string")
    return _parse_tuple(tuple(types))


@lru_cache(maxsize=256)
def _parse_tuple(types: tuple[str, ...]) -> _Type:
    """The tuple type of argument list ``types``, parsed once (its cached properties with it)."""
    return _Type("tuple", f"({','.join(types)})", components=tuple(_parse(name) for name in types))


# --- JSON ABI entries -------------------------------------------------------------------------------------


def canonical_type(item: Mapping[str, Any]) -> str:
    """The canonical ABI type of a JSON ABI input or output, tuples spelled out: ``(uint256,bytes32)[]``."""
    kind: str = item["type"]
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(component) for component in item["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def signature(entry: Mapping[str, Any]) -> str:
    """The canonical signature of a JSON ABI function, event or error: ``name(type,...)``."""
    return f"{entry['name']}({','.join(canonical_type(item) for item in entry['inputs'])})"


def signature_hash(entry: Mapping[str, Any]) -> bytes:
    """keccak256 of :func:`signature`: its first 4 bytes select a function or error, all 32 are an event's topic."""
    return bytes(keccak_256(signature(entry).encode()).digest())


# --- encoding ---------------------------------------------------------------------------------------------


def encode(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """The ABI encoding of ``values`` as the argument list ``types`` (what ``abi.encode`` gives)."""
    return _encode(_parse_all(types), values)


def _encode(t: _Type, value: Any) -> bytes:
    """The encoding of one value: head and tail of a tuple or array, else the value's own bytes."""
    if t.kind == "tuple":
        return _encode_sequence(t.components, _sequence(t, value, len(t.components)))
    if t.kind == "array":
        items = _sequence(t, value, None)
        (item,) = t.components
        if not item.dynamic:  # static items (a Merkle proof's bytes32[]): all heads, no offsets
            return _uint_word(len(items)) + b"".join([_encode(item, one) for one in items])
        return _uint_word(len(items)) + _encode_sequence(t.components * len(items), items)
    if t.kind == "uint":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << t.size:
            raise AbiEncodingError(f"{t.name} takes an int from 0 to 2**{t.size} - 1, not {value!r:.80}")
        return _uint_word(value)
    if t.kind == "bool":
        if not isinstance(value, bool):
            raise AbiEncodingError(f"bool takes True or False, not {value!r:.80}")
        return _uint_word(int(value))
    if t.kind == "fixed-bytes":
        if not isinstance(value, bytes | bytearray | memoryview) or len(value) != t.size:
            raise AbiEncodingError(f"{t.name} takes exactly {t.size} bytes, not {value!r:.80}")
        return bytes(value).ljust(WORD, b"\0")
    if t.kind == "address":
        return _address(value).rjust(WORD, b"\0")
    if t.kind == "string":
        if not isinstance(value, str):
            raise AbiEncodingError(f"string takes a str, not {value!r:.80}")
        try:
            raw = value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise AbiEncodingError(f"string {value!r:.80} is not encodable as UTF-8: {error}") from None
        return _uint_word(len(raw)) + _padded(raw)
    if not isinstance(value, bytes | bytearray | memoryview):  # bytes
        raise AbiEncodingError(f"bytes takes a bytes-like value, not {value!r:.80}")
    raw = bytes(value)
    return _uint_word(len(raw)) + _padded(raw)


def _encode_sequence(types: Sequence[_Type], values: Sequence[Any]) -> bytes:
    """Heads then tails: a dynamic value's head is the offset of its tail from the start of the heads."""
    heads: list[bytes] = []
    tails: list[bytes] = []
    offset = sum(t.head_size for t in types)
    for t, value in zip(types, values, strict=True):
        encoded = _encode(t, value)
        if t.dynamic:
            heads.append(_uint_word(offset))
            tails.append(encoded)
            offset += len(encoded)
        else:
            heads.append(encoded)
    return b"".join(heads + tails)


def _sequence(t: _Type, value: Any, length: int | None) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise AbiEncodingError(f"{t.name} takes a list or tuple, not {value!r:.80}")
    if length is not None and len(value) != length:
        raise AbiEncodingError(f"{t.name} takes {length} values, not {len(value)}")
    return value


def _address(value: Any) -> bytes:
    """The 20 bytes of an address given as bytes or as 0x-hex (EIP-55 checked when mixed case)."""
    if isinstance(value, bytes | bytearray | memoryview) and len(value) == 20:
        return bytes(value)
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        digits = value[2:]
        if re.fullmatch(r"[0-9a-fA-F]{40}", digits):
            if not is_address(value):  # 0x and 40 hex digits, so only a broken mixed-case checksum fails
                raise AbiEncodingError(f"address {value!r} is mixed case but not EIP-55 checksummed")
            return bytes.fromhex(digits)
    raise AbiEncodingError(f"address takes 20 bytes or 0x and 40 hex digits, not {value!r:.80}")


def _uint_word(value: int) -> bytes:
    return value.to_bytes(WORD, "big")


def _padded(raw: bytes) -> bytes:
    return raw + b"\0" * (-len(raw) % WORD)


# --- decoding ---------------------------------------------------------------------------------------------


def decode(types: Sequence[str], data: bytes) -> tuple[Any, ...]:
    """The values of the argument list ``types`` encoded in ``data``; :class:`AbiDecodingError` if invalid.

    A bad type string raises :class:`AbiEncodingError` (a mistake of the caller, not of the data).
    """
    t = _parse_all(types)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    raw = bytes(data)
    bits = t.uint_bits
    if bits is not None and len(raw) >= WORD * len(bits):  # words of uints only (a status answer, say)
        numbers = [int.from_bytes(raw[at : at + WORD], "big") for at in range(0, WORD * len(bits), WORD)]
        if not any(number >> size for number, size in zip(numbers, bits, strict=True)):
            return _nested(t, iter(numbers))  # type: ignore[no-any-return]  # a tuple: t is one
    values: tuple[Any, ...] = _Decoder(raw).decode(t, 0)  # also says what is wrong
    return values


def _nested(t: _Type, numbers: Iterator[int]) -> Any:
    """The value of ``t`` (see :attr:`_Type.uint_bits`) from its words' ``numbers``, in order."""
    if t.kind == "uint":
        return next(numbers)
    return tuple(_nested(component, numbers) for component in t.components)


class _Decoder:
    """Reads values out of one byte string, charging every byte read to a budget of ``len(data)``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.budget = len(data)

    def decode(self, t: _Type, at: int) -> Any:
        """The value of type ``t`` whose encoding starts at ``at`` (its head if static, its tail if dynamic)."""
        if t.kind == "tuple":
            return self._sequence(t.components, at)
        if t.kind == "array":
            count = self._uint(at, 256, t.name + " length")
            item = t.components[0]
            if count * item.head_size > len(self.data) - (at + WORD):
                raise AbiDecodingError(f"{t.name} at byte {at}: length {count} does not fit in the data")
            return self._sequence((item,) * count, at + WORD)
        if t.kind == "uint":
            return self._uint(at, t.size, t.name)
        if t.kind == "bool":
            value = self._uint(at, 256, "bool")
            if value > 1:
                raise AbiDecodingError(f"bool at byte {at} is {value}, not 0 or 1")
            return value == 1
        if t.kind == "address":
            return "0x" + self._uint(at, 160, "address").to_bytes(20, "big").hex()
        if t.kind == "fixed-bytes":
            word = self._read(at, WORD, t.name)
            if any(word[t.size :]):
                raise AbiDecodingError(f"{t.name} at byte {at} has non-zero padding")
            return word[: t.size]
        length = self._uint(at, 256, t.name + " length")  # string, bytes
        if length > len(self.data) - (at + WORD):
            raise AbiDecodingError(f"{t.name} at byte {at}: length {length} does not fit in the data")
        padded = self._read(at + WORD, length + (-length % WORD), t.name)
        if any(padded[length:]):
            raise AbiDecodingError(f"{t.name} at byte {at} has non-zero padding")
        if t.kind == "bytes":
            return padded[:length]
        try:
            return padded[:length].decode("utf-8")
        except UnicodeDecodeError as error:
            raise AbiDecodingError(f"string at byte {at} is not valid UTF-8: {error}") from None

    def _sequence(self, types: Sequence[_Type], start: int) -> tuple[Any, ...]:
        """The values of a tuple's or array's items whose heads start at ``start``; offsets count from there."""
        head_end = start + sum(t.head_size for t in types)
        if head_end > len(self.data):
            raise AbiDecodingError(f"data ends at byte {len(self.data)}, inside a head that ends at byte {head_end}")
        values: list[Any] = []
        at = start
        for t in types:
            if t.dynamic:
                offset = self._uint(at, 256, f"offset of {t.name}")
                tail = start + offset
                if not head_end <= tail < len(self.data):
                    raise AbiDecodingError(f"offset {offset} of {t.name} at byte {at} points outside its tail")
                values.append(self.decode(t, tail))
            else:
                values.append(self.decode(t, at))
            at += t.head_size
        return tuple(values)

    def _uint(self, at: int, bits: int, what: str) -> int:
        value = int.from_bytes(self._read(at, WORD, what), "big")
        if value >> bits:
            raise AbiDecodingError(f"{what} at byte {at} does not fit in {bits} bits (non-zero padding)")
        return value

    def _read(self, at: int, size: int, what: str) -> bytes:
        if at + size > len(self.data):
            raise AbiDecodingError(f"data ends at byte {len(self.data)}, inside {what} at byte {at}")
        self.budget -= size
        if self.budget < 0:
            raise AbiDecodingError(f"reading {what} at byte {at} would read more bytes than the data holds")
        return self.data[at : at + size]
