"""Fixtures of the brownie tests (``brownie test --network anvil-test``: `make brownie` runs them on an anvil
that brownie starts). brownie provides ``accounts``, ``chain`` and the project's contract containers
(``CredentialRegistry``, brownie's own build of contracts/registry)."""

import pytest

from anchor.credentials.receipt import LEAF_ENCODING
from anchor.merkle import StandardMerkleTree

#: Eight credentials' digests and the tree anchor builds of them (leaf: digest and index).
DIGESTS = [bytes([n]) * 32 for n in range(1, 9)]
TREE = StandardMerkleTree.of([(digest, index) for index, digest in enumerate(DIGESTS)], list(LEAF_ENCODING))


@pytest.fixture(autouse=True)
def isolated(fn_isolation):
    """Every test starts from the module's state (brownie's snapshots)."""


@pytest.fixture(scope="module")
def registry(CredentialRegistry, accounts):  # noqa: N803 (brownie names the fixture after the contract)
    """The registry as brownie built it, deployed by account 0 (the admin), with issuer 1 whose key is account 1."""
    deployed = CredentialRegistry.deploy(2 * 24 * 3600, accounts[0], {"from": accounts[0]})
    deployed.registerIssuer("Uniwersytet Warszawski", b"PL", "did:web:uw.edu.pl", [accounts[1]], {"from": accounts[0]})
    return deployed
