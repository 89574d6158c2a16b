"""Shared fixtures: an in-process EVM (eth-tester + py-evm) with the registry deployed from the committed artifact."""

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

from anchor.chain.artifacts import load_artifact
from anchor.chain.contract_errors import DecodedError, ErrorDecoder

ADMIN_DELAY = 3 * 24 * 3600  # seconds a new admin waits before accepting the role


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


def deploy_registry(w3: Web3, artifact: dict[str, Any], admin: str, delay: int = ADMIN_DELAY) -> Contract:
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = factory.constructor(delay, admin).transact({"from": admin})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


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
