"""Ethereum addresses as text: recognising one and writing it with its EIP-55 checksum.

The one place anchor checks and writes EIP-55 checksums (the CLI, the Merkle leaf encoding, the
registry wrapper, receipts and the verifier all come here). A mixed-case address must carry a valid
checksum: a mistyped one is refused rather than silently re-checksummed into another address.

Kept free of eth_utils (and so of eth_typing and pydantic), whose import costs a one-receipt
``anchor verify`` more than the verification itself; a test checks equality with eth_utils.
"""

from __future__ import annotations

import re
from typing import Final

from _pysha3 import keccak_256  # not the sha3 module: it imports hashlib (OpenSSL)

from anchor.errors import InvalidInputError

_HEX_ADDRESS: Final = re.compile(r"0[xX][0-9a-fA-F]{40}")
#: A hex digit of the hash -> 0x20 where EIP-55 wants the address digit upper case (hash nibble >= 8).
_UPPER_WHERE: Final = bytes.maketrans(b"0123456789abcdef", b"\x00" * 8 + b"\x20" * 8)
#: A lower-case hex digit -> 0x20 (the ASCII case bit) for a letter, 0 for a digit (which has no case).
_CASE_BIT: Final = bytes.maketrans(b"0123456789abcdef", b"\x00" * 10 + b"\x20" * 6)


def is_address(value: object) -> bool:
    """Whether ``value`` is 0x and 40 hex digits, all lower case, all upper case, or correctly checksummed."""
    if not isinstance(value, str) or _HEX_ADDRESS.fullmatch(value) is None:
        return False
    return _eip55(value[2:]) is not None


def to_checksum_address(value: str) -> str:
    """``value`` (0x and 40 hex digits, any case) in its EIP-55 mixed-case form.

    The case of ``value`` is not checked (see :func:`checked_address`); InvalidInputError if not an address.
    """
    return "0x" + _checksummed(_digits(value))


def checked_address(value: object) -> str:
    """``value`` in its EIP-55 form, once it is known to be an address someone meant.

    InvalidInputError if it is not 0x and 40 hex digits, or if it is mixed case with a wrong checksum
    (a typing error that :func:`to_checksum_address` would turn into another, valid-looking address).
    """
    checksummed = _eip55(_digits(value))
    if checksummed is None:
        raise InvalidInputError(
            f"{value!r} has a wrong EIP-55 checksum; copy the address again or give it all lower-case"
        )
    return "0x" + checksummed


def _digits(value: object) -> str:
    """The 40 hex digits of address ``value``; InvalidInputError if it is not one."""
    if not isinstance(value, str) or _HEX_ADDRESS.fullmatch(value) is None:
        raise InvalidInputError(f"{value!r} is not an address (0x followed by 40 hex digits)")
    return value[2:]


def _eip55(digits: str) -> str | None:
    """40 hex ``digits`` in EIP-55 case, or None if they are mixed case and differ from it.

    All lower or all upper case claims no checksum; mixed case claims one, and must match.
    """
    checksummed = _checksummed(digits)
    if checksummed == digits or digits == digits.lower() or digits == digits.upper():
        return checksummed
    return None


def _checksummed(digits: str) -> str:
    """40 hex ``digits`` (any case) in EIP-55 case: a letter is upper case where keccak256 of the lower-case
    digits has a nibble >= 8 at the same position.

    Done on whole integers rather than digit by digit (four times faster; the Merkle leaf encoding checksums
    every address of a tree): clearing the ASCII case bit 0x20 of a lower-case letter makes it upper case.
    """
    lower = digits.lower().encode("ascii")
    upper_where = keccak_256(lower).hexdigest()[:40].encode("ascii").translate(_UPPER_WHERE)
    case_bits = int.from_bytes(upper_where, "big") & int.from_bytes(lower.translate(_CASE_BIT), "big")
    return (int.from_bytes(lower, "big") ^ case_bits).to_bytes(40, "big").decode("ascii")
