"""Fixtures of the ape-native tests: ``ape test tests/ape`` (``make test`` runs it; the project's own pytest run
leaves this folder to ape, see tests/conftest.py).

ape provides ``project`` (the contracts, compiled by ape offline through the solc look-alike in .solcx),
``chain`` and ``accounts``; the test chain is ape's local network (eth-tester), each test isolated in a snapshot.
"""

from __future__ import annotations

from typing import Any

import ape
import pytest

#: Seconds a new admin waits before accepting the role.
ADMIN_DELAY = 2 * 24 * 3600


@pytest.fixture(scope="session")
def accounts() -> Any:
    """ape's test accounts (tests/conftest.py's fixture of the same name, web3 addresses, would shadow ape's)."""
    return ape.accounts.test_accounts


@pytest.fixture(scope="session")
def admin(accounts: Any) -> Any:
    return accounts[0]


@pytest.fixture(scope="session")
def issuer_key(accounts: Any) -> Any:
    return accounts[1]


@pytest.fixture(scope="session")
def second_key(accounts: Any) -> Any:
    return accounts[2]


@pytest.fixture(scope="session")
def outsider(accounts: Any) -> Any:
    return accounts[3]


@pytest.fixture(scope="session")
def other_issuer_key(accounts: Any) -> Any:
    return accounts[4]


@pytest.fixture(scope="module")
def registry(
    chain: Any, admin: Any, issuer_key: Any, second_key: Any, outsider: Any, other_issuer_key: Any, project: Any
) -> Any:
    """CredentialRegistry as ape compiled it, deployed by the admin with a two-day admin transfer delay, and two
    issuers: 1 (key ``issuer_key``) and 2 (key ``other_issuer_key``).

    It asks for every session fixture the tests use, so that ape sets them up first (its snapshots isolate
    each scope; a session fixture first needed after this one would be set up again, "rebased").
    """
    registry = admin.deploy(project.CredentialRegistry, ADMIN_DELAY, admin)
    registry.registerIssuer("Universität Heidelberg", b"DE", "did:web:uni-heidelberg.de", [issuer_key], sender=admin)
    registry.registerIssuer("Universidade de Lisboa", b"PT", "did:web:ulisboa.pt", [other_issuer_key], sender=admin)
    return registry


@pytest.fixture
def issuer(registry: Any) -> int:
    """The id of the issuer whose key is ``issuer_key``."""
    return 1
