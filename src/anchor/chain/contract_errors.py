"""Decode a contract's custom errors (revert data) into names, arguments and readable sentences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_hash.auto import keccak

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


def _signature(error_abi: dict[str, Any]) -> str:
    return f"{error_abi['name']}({','.join(_canonical_type(i) for i in error_abi['inputs'])})"


def _canonical_type(param: dict[str, Any]) -> str:
    kind: str = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


class ErrorDecoder:
    """Decodes revert data against the errors declared in a contract ABI."""

    def __init__(self, abi: Sequence[dict[str, Any]]) -> None:
        self._errors: dict[bytes, dict[str, Any]] = {}
        for item in (*abi, *_BUILTIN_ERRORS):
            if item.get("type") == "error":
                self._errors[keccak(_signature(item).encode())[:4]] = item

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
        types = [_canonical_type(i) for i in item["inputs"]]
        try:
            values = abi_decode(types, raw[4:])
        except (DecodingError, ValueError, OverflowError):
            return None
        return DecodedError(item["name"], {i["name"]: v for i, v in zip(item["inputs"], values, strict=True)})
