"""After `anchor demo`: its files are private (fault 8), the issuer commands sign as its issuer (fault 10),
and `anchor batch run` stops at a spending budget and resumes (fault 11): one demo run, on a real anvil node.

The demo runs under umask 0, the worst case: without the explicit modes everything would be world-writable.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from anchor.chain.keys import development_accounts
from anchor.cli import main
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.demo import DEMO_COUNTRY, ISSUER_ACCOUNT
from anchor.demo.issuer_key import record_demo_issuer, record_path, recorded_demo_account
from anchor.errors import InvalidInputError

from support.anvil import free_port

CHAIN_ID = 31337
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


class Demo:
    """The home of one demo run and a way to run `anchor` against it."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {"ANCHOR_HOME": str(home), "ANCHOR_NODE_PORT": str(free_port()), "ANCHOR_NODE_BLOCK_TIME": "0.3"}
        self.runner = CliRunner()

    def anchor(self, *args: str, **env: str) -> Result:
        return self.runner.invoke(main, list(args), env=self.env | env, catch_exceptions=False)

    def receipts(self) -> list[Path]:
        return sorted((self.home / "receipts" / str(CHAIN_ID) / "batch-1").glob("*.json"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    ran = Demo(tmp_path_factory.mktemp("demo") / "home")
    previous = os.umask(0)
    try:
        result = ran.anchor("demo", "--count", "5")
    finally:
        os.umask(previous)
    try:
        assert result.exit_code == 0, result.output
        assert "verify again: REVOKED" in result.output
        yield ran
    finally:
        ran.anchor("node", "stop")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow
def test_personal_data_and_the_home_are_private_after_a_real_batch(demo: Demo) -> None:
    home = demo.home
    assert mode(home) == 0o700
    assert mode(home / "node") == 0o700
    database = home / "anchor.db"
    assert mode(database) == 0o600
    previous = os.umask(0)
    try:  # SQLite gives the database's -wal and -shm files the database file's mode, whatever the umask
        with sqlite3.connect(database) as connection:
            connection.execute("CREATE TABLE IF NOT EXISTS probe (x)")
            for suffix in ("-wal", "-shm"):
                assert mode(database.with_name(database.name + suffix)) == 0o600, suffix
    finally:
        os.umask(previous)
    receipts = home / "receipts"
    for folder in (receipts, receipts / str(CHAIN_ID), receipts / str(CHAIN_ID) / "batch-1"):
        assert mode(folder) == 0o700, folder
    files = demo.receipts()
    assert len(files) == 5
    assert {mode(path) for path in files} == {0o600}
    assert not [path for path in files[0].parent.iterdir() if path.suffix != ".json"]  # no temporary files left
    assert mode(record_path(home, CHAIN_ID)) == 0o600


@pytest.mark.slow
def test_revoke_after_the_demo_signs_as_its_issuer_without_flags(demo: Demo) -> None:
    receipt = demo.receipts()[1]  # the demo revoked the first
    revoked = demo.anchor("revoke", str(receipt), "--reason", "fraud")
    assert revoked.exit_code == 0, revoked.output
    assert "1 credential(s) of batch 1 revoked (fraud)" in revoked.output
    assert f"signing with development account {ISSUER_ACCOUNT}, the demo issuer's" in revoked.output
    assert "not an active signer" not in revoked.output

    exported = demo.anchor("receipt", json.loads(receipt.read_text(encoding="utf-8"))["id"])
    assert exported.exit_code == 0, exported.output


@pytest.mark.slow
def test_batch_run_after_the_demo_stops_at_a_budget_then_resumes(demo: Demo, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    issuer = issuer_for_country(DEMO_COUNTRY)
    for number, credential in enumerate(generate_credentials(3, seed=4242, issuer=issuer, salted=False)):
        (inbox / f"{number}.json").write_text(json.dumps(credential, ensure_ascii=False), encoding="utf-8")
    assert demo.anchor("issue", "--unsigned", str(inbox)).exit_code == 0

    stopped = demo.anchor("batch", "run", ANCHOR_BUDGET_PER_RUN="0.000000000000000001")
    assert stopped.exit_code == 1, stopped.output
    message = " ".join(stopped.output.split())
    assert "spending budget per run reached, stopped before signing" in message
    assert "this run spent 0 ETH of the budget of 0.000000000000000001 ETH (ANCHOR_BUDGET_PER_RUN)" in message
    assert "(built, 3 credentials) (`anchor batch run` resumes)" in message

    resumed = demo.anchor("batch", "run")
    assert resumed.exit_code == 0, resumed.output
    assert "3 credentials anchored in 1 batch(es)" in resumed.output
    assert f"signing with development account {ISSUER_ACCOUNT}" in resumed.output


@pytest.mark.slow
def test_explicit_flags_win_over_the_demo_record(demo: Demo) -> None:
    receipt = demo.receipts()[2]
    as_admin = demo.anchor("revoke", str(receipt), "--reason", "fraud", "--dev-account", "0")
    assert as_admin.exit_code == 1
    assert f"{development_accounts()[0].address} is not an active signer" in as_admin.output


def test_the_record_names_its_chain_and_registry(tmp_path: Path) -> None:
    assert recorded_demo_account(tmp_path, CHAIN_ID, REGISTRY) is None  # no demo ran here
    path = record_demo_issuer(tmp_path, CHAIN_ID, REGISTRY, 1, ISSUER_ACCOUNT)
    assert recorded_demo_account(tmp_path, CHAIN_ID, REGISTRY.lower()) == ISSUER_ACCOUNT
    assert recorded_demo_account(tmp_path, CHAIN_ID, "0x" + "11" * 20) is None  # redeployed since
    assert recorded_demo_account(tmp_path, 1337, REGISTRY) is None  # another local chain
    assert recorded_demo_account(tmp_path, 137, REGISTRY) is None  # never on a public chain
    with pytest.raises(InvalidInputError, match="public"):
        record_demo_issuer(tmp_path, 137, REGISTRY, 1, ISSUER_ACCOUNT)

    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["address"] == development_accounts()[ISSUER_ACCOUNT].address
    path.write_text(json.dumps(record | {"development_account": 99}), encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"issuer-31337\.json: development_account 99"):
        recorded_demo_account(tmp_path, CHAIN_ID, REGISTRY)
    path.write_text(json.dumps(record | {"development_account": 2}), encoding="utf-8")
    with pytest.raises(InvalidInputError, match="is not development account 2's"):
        recorded_demo_account(tmp_path, CHAIN_ID, REGISTRY)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="not a readable demo issuer record"):
        recorded_demo_account(tmp_path, CHAIN_ID, REGISTRY)
