"""Local anvil nodes for tests: a free port, a node started on it, and anvil's own RPC methods.

The ``anvil`` and ``anvil_nodes`` fixtures in ``conftest.py`` start nodes with :func:`start_anvil` and stop
them after the module. Tests that stop or restart a node themselves (``test_node``), or that start one with
``anchor node start`` on the command line (``test_demo``, ``test_issuer_cli``), use :func:`free_port` alone.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Protocol

from web3 import Web3

from anchor.chain import node
from anchor.config import Settings

#: Seconds between blocks of a test node: fast enough for tests, slow enough to see a transaction pending.
BLOCK_TIME = 0.25


class StartAnvil(Protocol):
    """The ``anvil_nodes`` fixture: starts a node whose state lives in a new folder named after ``name``."""

    def __call__(
        self, name: str = "anvil", *, block_time: float = BLOCK_TIME, chain_id: int = node.DEFAULT_CHAIN_ID
    ) -> Settings: ...


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_anvil(home: Path, *, block_time: float = BLOCK_TIME, chain_id: int = node.DEFAULT_CHAIN_ID) -> Settings:
    """Start anvil on a free port with its state under ``home``; the settings that reach it."""
    settings = Settings(home=home, node_port=free_port(), node_block_time=block_time)
    node.start(settings, chain_id=chain_id)
    return settings


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    """Call one of anvil's own methods (``evm_mine``, ``anvil_dropTransaction``...); its result."""
    answer = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    if "error" in answer:
        raise RuntimeError(f"{method} failed: {answer['error']}")
    return answer.get("result")
