"""Shared fixtures: local anvil nodes, and an in-process EVM (eth-tester + py-evm) with the registry deployed.

Helpers that are not fixtures live in the ``support`` package next to this file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.providers.eth_tester import EthereumTesterProvider

from anchor.chain import node
from anchor.chain.artifacts import load_artifact
from anchor.chain.contract_errors import DecodedError, ErrorDecoder
from anchor.config import Settings

from support.anvil import BLOCK_TIME, StartAnvil, start_anvil
from support.evm import deploy_registry

#: ape's own tests of the registry run under `ape test tests/ape` (`make test` runs it), not in this run;
#: named explicitly (`pytest tests/ape` too), the folder is collected.
collect_ignore = ["ape"]

# ---------------------------------------------------------------------------------------------- anvil


@pytest.fixture(scope="module")
def anvil_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartAnvil]:
    """Starts local anvil nodes (each on a free port, its state in a new folder), all stopped after the module.

    Module-scoped, not session-scoped: modules reorganise their chain (``anvil_reorg``), drop transactions
    from it or stop its mining, which must not reach the next module.
    """
    started: list[Settings] = []

    def start(
        name: str = "anvil", *, block_time: float = BLOCK_TIME, chain_id: int = node.DEFAULT_CHAIN_ID
    ) -> Settings:
        settings = start_anvil(tmp_path_factory.mktemp(name), block_time=block_time, chain_id=chain_id)
        started.append(settings)
        return settings

    yield start
    for settings in started:
        node.stop(settings)


@pytest.fixture(scope="module")
def anvil(anvil_nodes: StartAnvil) -> Settings:
    """One local anvil node (chain 31337, a block every ``BLOCK_TIME`` seconds) for the tests of a module."""
    return anvil_nodes()


# ---------------------------------------------------------------------------------------------- in-process EVM


@pytest.fixture(scope="session")
def tester() -> EthereumTester:
    return EthereumTester(PyEVMBackend())


@pytest.fixture(scope="session")
def w3(tester: EthereumTester) -> Web3:
    return Web3(EthereumTesterProvider(tester))


@pytest.fixture(scope="session")
def accounts(w3: Web3) -> list[str]:
    return list(w3.eth.accounts)


@pytest.fixture(scope="session")
def registry_artifact() -> dict[str, Any]:
    return load_artifact("CredentialRegistry")


@pytest.fixture(scope="session")
def decoder(registry_artifact: dict[str, Any]) -> ErrorDecoder:
    return ErrorDecoder(registry_artifact["abi"])


@pytest.fixture(scope="session")
def deployed_registry(w3: Web3, registry_artifact: dict[str, Any], accounts: list[str]) -> Contract:
    return deploy_registry(w3, registry_artifact, accounts[0])


@pytest.fixture
def registry(tester: EthereumTester, deployed_registry: Contract) -> Iterator[Contract]:
    """The registry, with every change a test makes rolled back afterwards."""
    snapshot = tester.take_snapshot()
    yield deployed_registry
    tester.revert_to_snapshot(snapshot)


def revert_data(error: Exception) -> bytes | str | None:
    """The revert data of a failed call, from web3's exceptions or eth-tester's own.

    eth-tester raises ``TransactionFailed("execution reverted: b'...'")`` for transactions it executes
    itself; the data is the bytes literal in that message.
    """
    if isinstance(error, ContractCustomError | ContractLogicError):
        return error.data if isinstance(error.data, str) else None
    message = str(error.args[0]) if error.args else ""
    prefix = "execution reverted: "
    if message.startswith(prefix + "b"):
        value = ast.literal_eval(message[len(prefix) :])
        return value if isinstance(value, bytes) else None
    return None


class Reverted:
    """Holds the decoded custom error once a ``reverts`` block has exited."""

    error: DecodedError | None = None


@pytest.fixture
def reverts(decoder: ErrorDecoder) -> Any:
    """``with reverts("Name", arg=value): ...`` asserts a revert with exactly that custom error."""

    @contextmanager
    def check(name: str, **expected: Any) -> Iterator[Reverted]:
        outcome = Reverted()
        with pytest.raises((ContractCustomError, ContractLogicError, TransactionFailed)) as info:
            yield outcome
        data = revert_data(info.value)
        assert data is not None, f"revert carried no data: {info.value!r}"
        decoded = decoder.decode(data)
        assert decoded is not None, f"unknown revert data {data}"
        assert decoded.name == name, f"expected {name}, got {decoded}"
        for key, value in expected.items():
            actual = decoded.args[key]
            if isinstance(actual, str) and isinstance(value, str):  # addresses: checksum case does not matter
                actual, value = actual.lower(), value.lower()
            assert actual == value, f"{decoded}: {key} should be {value!r}"
        outcome.error = decoded

    return check
