"""A restarted local node answers for its finalized block at once (fault 9): what a verifier asks right after
`anchor node stop` and `anchor node start` (or a crash and a start) is an ``eth_call`` at ``finalized``."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_typing import HexStr
from web3 import Web3

from anchor.chain import node
from anchor.chain.jsonrpc import JsonRpcEndpoint
from anchor.config import Settings

from support.anvil import free_port

pytestmark = pytest.mark.slow

DEV_ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
# Constructor: SSTORE(0, 42); runtime: return the word in storage slot 0 (PUSH0 SLOAD PUSH0 MSTORE 0x20 PUSH0 RETURN).
STORING_CONTRACT = "0x602a600055" + "6008601160003960086000f3" + "5f545f5260205ff3"


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    configured = Settings(home=tmp_path / "home", node_port=free_port(), node_block_time=0.25)
    yield configured
    node.stop(configured)


def deploy_and_wait_for_finality(settings: Settings) -> str:
    """A contract holding 42, deployed and finalized; its address."""
    w3 = Web3(Web3.HTTPProvider(node.rpc_url(settings.node_port)))
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": DEV_ACCOUNT, "data": HexStr(STORING_CONTRACT)})
    )
    deadline = time.monotonic() + 10
    while w3.eth.get_block("finalized")["number"] < receipt["blockNumber"] + 2:  # a few blocks deep, as in the fault
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return str(receipt["contractAddress"])


def call_at_finalized(settings: Settings, contract: str) -> int:
    """What a verifier does: one eth_call at the finalized block, straight after the start."""
    endpoint = JsonRpcEndpoint(node.rpc_url(settings.node_port), timeout=5.0)
    try:
        return int(endpoint.eth_call(contract, "0x", "finalized"), 16)
    finally:
        endpoint.close()


def test_an_eth_call_at_the_finalized_block_succeeds_at_once_after_stop_and_start(settings: Settings) -> None:
    node.start(settings)
    contract = deploy_and_wait_for_finality(settings)
    assert call_at_finalized(settings, contract) == 42
    assert node.stop(settings)
    restarted = node.start(settings)
    assert restarted.block_number is not None
    assert restarted.finalized_block == restarted.block_number - 2
    assert call_at_finalized(settings, contract) == 42  # no "BlockOutOfRangeError", no waiting
    assert node.stop(settings)
    node.start(settings)  # twice over: the catch-up blocks are in the state too
    assert call_at_finalized(settings, contract) == 42


def test_the_same_after_a_kill_9(settings: Settings) -> None:
    started = node.start(settings)
    contract = deploy_and_wait_for_finality(settings)
    time.sleep(node.STATE_INTERVAL + 0.5)  # the state is dumped
    assert started.pid is not None
    os.kill(started.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while node.status(settings).running:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    node.start(settings)
    assert call_at_finalized(settings, contract) == 42
