"""The verifier's trust list: registry addresses are checked with their EIP-55 checksum, never re-checksummed."""

from __future__ import annotations

import pytest

from anchor.errors import InvalidInputError
from anchor.verifier.trust import TrustedRegistry, as_trusted

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def _mistyped(address: str) -> str:
    """``address`` with the case of its first letter flipped: still 40 hex digits, checksum now wrong."""
    position = next(i for i, c in enumerate(address) if i > 1 and c.isalpha())
    return address[:position] + address[position].swapcase() + address[position + 1 :]


@pytest.mark.parametrize("given", [REGISTRY, REGISTRY.lower(), "0x" + REGISTRY[2:].upper(), f"  {REGISTRY}\n"])
def test_a_registry_is_trusted_in_its_checksummed_form(given: str) -> None:
    assert as_trusted(given) == TrustedRegistry(REGISTRY, None, "given")


@pytest.mark.parametrize("wrap", [lambda a: a, lambda a: TrustedRegistry(a, 137, "--registry")])
def test_a_mistyped_mixed_case_registry_is_refused_not_re_checksummed(wrap: object) -> None:
    with pytest.raises(InvalidInputError, match="checksum"):
        as_trusted(wrap(_mistyped(REGISTRY)))  # type: ignore[operator]


@pytest.mark.parametrize("bad", ["", "0x1234", REGISTRY + "00", "0x" + "g" * 40])
def test_what_is_not_an_address_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="not an address"):
        as_trusted(bad)
