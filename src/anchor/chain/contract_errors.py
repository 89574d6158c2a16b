"""Decode a contract's custom errors (revert data) into names and arguments, with :mod:`anchor.chain.abi_codec`.

Addresses among the arguments come back EIP-55 checksummed (the codec decodes them in lower case).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from anchor.addresses import to_checksum_address
from anchor.chain.abi_codec import AbiDecodingError, AbiEncodingError, canonical_type, decode, signature_hash

#: ``Error(string)`` and ``Panic(uint256)``, the two errors Solidity itself raises.
_BUILTIN_ERRORS: tuple[dict[str, Any], ...] = (
    {"type": "error", "name": "Error", "inputs": [{"name": "message", "type": "string"}]},
    {"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]},
)


@dataclass(frozen=True)
class DecodedError:
    """A custom error decoded from revert data."""

    name: str
    args: dict[str, Any]

    def __str__(self) -> str:
        shown = ", ".join(f"{key}={_show(value)}" for key, value in self.args.items())
        return f"{self.name}({shown})"


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def _checksummed(item: Mapping[str, Any], value: Any) -> Any:
    """The decoded ``value`` of ABI input ``item`` with every address in it EIP-55 checksummed."""
    kind: str = item["type"]
    if kind.endswith("[]"):
        element = {**item, "type": kind[:-2]}
        return tuple(_checksummed(element, one) for one in value)
    if kind == "tuple":
        return tuple(_checksummed(part, one) for part, one in zip(item["components"], value, strict=True))
    return to_checksum_address(value) if kind == "address" else value


class ErrorDecoder:
    """Decodes revert data against the errors declared in a contract ABI."""

    def __init__(self, abi: Sequence[dict[str, Any]]) -> None:
        self._errors: dict[bytes, dict[str, Any]] = {}
        for item in (*abi, *_BUILTIN_ERRORS):
            if item.get("type") == "error":
                self._errors[signature_hash(item)[:4]] = item

    def selector(self, name: str) -> bytes:
        """The 4-byte selector of error ``name``."""
        for selector, item in self._errors.items():
            if item["name"] == name:
                return selector
        raise KeyError(f"no error named {name!r} in the ABI")

    def decode(self, data: bytes | str) -> DecodedError | None:
        """The error encoded in ``data``, or None if the selector is unknown or the data malformed."""
        raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else data
        item = self._errors.get(raw[:4])
        if item is None:
            return None
        types = [canonical_type(i) for i in item["inputs"]]
        try:
            values = decode(types, raw[4:])
        except (AbiDecodingError, AbiEncodingError):  # malformed data; a type the codec does not support
            return None
        return DecodedError(
            item["name"],
            {i["name"]: _checksummed(i, v) for i, v in zip(item["inputs"], values, strict=True)},
        )
