"""Checks of the values the queries write: addresses (EIP-55, see :mod:`anchor.addresses`), hashes, states."""

from __future__ import annotations

import re
from typing import Any, Final, get_args

from anchor.addresses import is_address, to_checksum_address
from anchor.errors import InvalidInputError

_HEX32: Final = re.compile(r"0x[0-9a-f]{64}")
_HEX: Final = re.compile(r"0x(?:[0-9a-fA-F]{2})+")


def _address(value: str, what: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise InvalidInputError(f"{what} {value!r} is not an address")
    return to_checksum_address(value)


def _tx_hash(value: str) -> str:
    if not isinstance(value, str) or not _HEX32.fullmatch(value.lower()):
        raise InvalidInputError(f"{value!r} is not a transaction hash (0x and 64 hex digits)")
    return value.lower()


def _check_choice(value: str, choices: Any, what: str) -> None:
    allowed = get_args(choices)
    if value not in allowed:
        raise InvalidInputError(f"{what} {value!r} is not one of {', '.join(allowed)}")
