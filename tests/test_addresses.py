"""anchor.addresses against eth_utils: the same EIP-55 checksums; a mixed-case address must carry a valid one.

eth_utils' ``is_address`` accepts any mix of cases; anchor refuses a broken checksum, as EIP-55 intends (a
typing error in a ``--registry`` address, or a hand-edited receipt, is caught rather than trusted).
"""

from __future__ import annotations

import pytest
from eth_utils.address import is_checksum_address as eth_is_checksum_address
from eth_utils.address import to_checksum_address as eth_to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from anchor.addresses import checked_address, is_address, to_checksum_address
from anchor.errors import InvalidInputError

raw_addresses = st.binary(min_size=20, max_size=20)


@settings(max_examples=300)
@given(raw_addresses)
def test_checksum_matches_eth_utils(raw: bytes) -> None:
    lower = "0x" + raw.hex()
    assert to_checksum_address(lower) == eth_to_checksum_address(lower)
    assert to_checksum_address(lower.upper().replace("0X", "0x")) == eth_to_checksum_address(lower)


@settings(max_examples=300)
@given(raw_addresses, st.integers(min_value=0, max_value=39))
def test_mixed_case_needs_a_valid_checksum_as_in_eth_utils(raw: bytes, flip: int) -> None:
    checksummed = eth_to_checksum_address("0x" + raw.hex())
    digits = list(checksummed[2:])
    digits[flip] = digits[flip].swapcase()
    flipped = "0x" + "".join(digits)
    assert is_address(checksummed)
    assert is_address(checksummed.lower())
    assert is_address("0x" + raw.hex().upper())
    mixed = flipped[2:] not in (flipped[2:].lower(), flipped[2:].upper())
    assert is_address(flipped) == (not mixed or eth_is_checksum_address(flipped))


@pytest.mark.parametrize(
    "value", ["", "0x", "0x" + "a" * 39, "0x" + "a" * 41, "0x" + "g" * 40, "a" * 42, " 0x" + "a" * 40, None, 5]
)
def test_non_addresses_are_refused(value: object) -> None:
    assert not is_address(value)
    with pytest.raises(ValueError, match="not an address"):
        to_checksum_address(value)  # type: ignore[arg-type]


def test_the_eip55_examples() -> None:
    for address in (
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ):
        assert to_checksum_address(address.lower()) == address
        assert is_address(address)


@settings(max_examples=100)
@given(raw_addresses, st.integers(min_value=0, max_value=39))
def test_checked_address_refuses_a_mistyped_checksum_where_to_checksum_address_would_rewrite_it(
    raw: bytes, flip: int
) -> None:
    checksummed = eth_to_checksum_address("0x" + raw.hex())
    for form in (checksummed, checksummed.lower(), "0x" + checksummed[2:].upper()):
        assert checked_address(form) == checksummed
    digits = list(checksummed[2:])
    digits[flip] = digits[flip].swapcase()
    flipped = "0x" + "".join(digits)
    if flipped == checksummed or is_address(flipped):
        return  # a digit has no case, or the flip made the address all one case
    assert to_checksum_address(flipped) == checksummed  # the silent rewrite checked_address exists to prevent
    with pytest.raises(InvalidInputError, match="wrong EIP-55 checksum; copy the address again or give it all lower"):
        checked_address(flipped)
    with pytest.raises(InvalidInputError, match="not an address"):
        checked_address(flipped[:-1])
