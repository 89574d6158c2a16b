"""The registry on the in-process EVM (eth-tester + py-evm) that the ``registry`` fixture in conftest deploys."""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.contract import Contract

ADMIN_DELAY = 3 * 24 * 3600  # seconds a new admin waits before accepting the role


def deploy_registry(w3: Web3, artifact: dict[str, Any], admin: str, delay: int = ADMIN_DELAY) -> Contract:
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = factory.constructor(delay, admin).transact({"from": admin})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])
