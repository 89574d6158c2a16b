"""`anchor demo` and `anchor node` on the command line, against a real anvil node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from anchor.cli import main
from anchor.merkle import StandardMerkleTree

from support.anvil import free_port
from support.ob_schema import validate_ob_achievement_credential

pytestmark = pytest.mark.slow


def test_demo_anchors_verifies_and_revokes(tmp_path: Path) -> None:
    env = {"ANCHOR_HOME": str(tmp_path), "ANCHOR_NODE_PORT": str(free_port()), "ANCHOR_NODE_BLOCK_TIME": "0.3"}
    runner = CliRunner()
    try:
        result = runner.invoke(main, ["demo", "--count", "50"], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert result.output.count(": VALID") == 3
        assert "with its ECTS changed to 60: TAMPERED" in result.output
        assert "verify again: REVOKED" in result.output
        receipts = list((tmp_path / "receipts" / "31337" / "batch-1").glob("*.json"))
        assert len(receipts) == 50
        document = json.loads(receipts[0].read_text(encoding="utf-8"))
        assert document["anchorFormat"] == "anchor-credential-v3"
        assert [proof["type"] for proof in document["proof"]] == ["DataIntegrityProof", "AnchorMerkleProof"]
        assert document["issuer"]["id"].startswith("did:key:z6Mk")
        assert validate_ob_achievement_credential(document) == []
        tree = StandardMerkleTree.of(
            [(bytes.fromhex(d["proof"][1]["digest"][2:]), d["proof"][1]["index"]) for d in map(_load, receipts)],
            ["bytes32", "uint256"],
        )
        assert tree.root == document["proof"][1]["root"]
        assert (
            "Signed by the issuer"
            in runner.invoke(
                main, ["--home", str(tmp_path), "verify", str(receipts[0])], env=env, catch_exceptions=False
            ).output
        )

        again = runner.invoke(main, ["demo", "--count", "3"], env=env, catch_exceptions=False)
        assert again.exit_code == 0, again.output
        assert "registry 0x" in again.output  # reused, not redeployed
        assert "3 credentials" in again.output

        status = runner.invoke(main, ["node", "status"], env=env, catch_exceptions=False)
        assert "31337" in status.output
        assert "True" in status.output
    finally:
        stopped = runner.invoke(main, ["node", "stop"], env=env, catch_exceptions=False)
    assert "stopped" in stopped.output
    assert "no local chain was running" in runner.invoke(main, ["node", "stop"], env=env).output


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_demo_refuses_other_networks(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo"], env={"ANCHOR_HOME": str(tmp_path), "ANCHOR_NETWORK": "polygon"})
    assert result.exit_code == 2
    assert "local chain only" in result.output
