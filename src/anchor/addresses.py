"""Ethereum addresses as text: recognising one and writing it with its EIP-55 checksum.

Kept free of eth_utils (and so of eth_typing and pydantic), whose import costs a one-receipt
``anchor verify`` more than the verification itself; a test checks equality with eth_utils.
"""

from __future__ import annotations

import re
from typing import Final

import sha3

_HEX_ADDRESS: Final = re.compile(r"0[xX][0-9a-fA-F]{40}")


def is_address(value: object) -> bool:
    """Whether ``value`` is 0x and 40 hex digits, all lower case, all upper case, or correctly checksummed."""
    if not isinstance(value, str) or _HEX_ADDRESS.fullmatch(value) is None:
        return False
    digits = value[2:]
    if digits == digits.lower() or digits == digits.upper():
        return True
    return to_checksum_address(value) == "0x" + digits


def to_checksum_address(value: str) -> str:
    """``value`` (0x and 40 hex digits, any case) in its EIP-55 mixed-case form; ValueError if not an address."""
    if not isinstance(value, str) or _HEX_ADDRESS.fullmatch(value) is None:
        raise ValueError(f"{value!r} is not an address (0x followed by 40 hex digits)")
    digits = value[2:].lower()
    nibbles = sha3.keccak_256(digits.encode("ascii")).hexdigest()
    return "0x" + "".join(
        digit.upper() if int(nibble, 16) >= 8 else digit for digit, nibble in zip(digits, nibbles, strict=False)
    )
