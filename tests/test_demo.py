"""`anchor demo` and `anchor node` on the command line, against a real anvil node."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from anchor.cli import main
from anchor.merkle import StandardMerkleTree

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_anchors_verifies_and_revokes(tmp_path: Path) -> None:
    env = {"ANCHOR_HOME": str(tmp_path), "ANCHOR_NODE_PORT": str(free_port()), "ANCHOR_NODE_BLOCK_TIME": "0.3"}
    runner = CliRunner()
    try:
        result = runner.invoke(main, ["demo", "--count", "50"], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        for line in ("credential 0: VALID", "with its title altered: BAD_PROOF", "revoked (issued in error): REVOKED"):
            assert line in result.output
        dump = json.loads((tmp_path / "demo" / "batch-1" / "tree.json").read_text())
        tree = StandardMerkleTree.load(dump)
        assert len(tree) == 50
        assert tree.root in result.output
        lines = (tmp_path / "demo" / "batch-1" / "credentials.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == 50

        again = runner.invoke(main, ["demo", "--count", "3"], env=env, catch_exceptions=False)
        assert again.exit_code == 0, again.output
        assert "registry 0x" in again.output  # reused, not redeployed
        assert "batch 2 of 3" in again.output

        status = runner.invoke(main, ["node", "status"], env=env, catch_exceptions=False)
        assert "31337" in status.output
        assert "True" in status.output
    finally:
        stopped = runner.invoke(main, ["node", "stop"], env=env, catch_exceptions=False)
    assert "stopped" in stopped.output
    assert "no local chain was running" in runner.invoke(main, ["node", "stop"], env=env).output


def test_demo_refuses_other_networks(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo"], env={"ANCHOR_HOME": str(tmp_path), "ANCHOR_NETWORK": "polygon"})
    assert result.exit_code == 2
    assert "local chain only" in result.output
