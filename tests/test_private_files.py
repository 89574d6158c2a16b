"""Personal data is private to its owner whatever the umask (fault 8): the issuer database with its -wal and
-shm files, receipts (0600) and their folders, ANCHOR_HOME (0700). The end-to-end check, after a real batch,
is in ``test_demo_issuer``."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from anchor.config import Settings
from anchor.files import private_directory, write_json_atomically, write_private_text
from anchor.issuing.store import Store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o000, 0o022, 0o177])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The process umask for one test: none at all, the usual one, and one that would lock a folder."""
    previous = os.umask(request.param)
    try:
        yield int(request.param)
    finally:
        os.umask(previous)


def test_a_new_database_and_its_log_files_are_private(tmp_path: Path, umask: int) -> None:
    settings = Settings(home=tmp_path / "new" / "home")
    with Store.open(settings) as store, store.engine.connect() as connection:
        connection.execute(text("SELECT COUNT(*) FROM credentials"))
        database = settings.resolved_home / "anchor.db"
        assert mode(database) == 0o600
        for suffix in ("-wal", "-shm"):  # while a connection is open, both exist
            assert mode(database.with_name(database.name + suffix)) == 0o600, suffix
    assert mode(tmp_path / "new") == mode(tmp_path / "new" / "home") == 0o700


def test_a_database_left_open_by_an_older_release_is_made_private(tmp_path: Path) -> None:
    database = tmp_path / "anchor.db"
    Store(f"sqlite:///{database}").close()
    for path in tmp_path.iterdir():
        path.chmod(0o644)
    Store(f"sqlite:///{database}").close()
    assert {path.name: mode(path) for path in tmp_path.iterdir()} == dict.fromkeys(
        (path.name for path in tmp_path.iterdir()), 0o600
    )


def test_receipt_files_and_folders_are_private(tmp_path: Path, umask: int) -> None:
    folder = private_directory(tmp_path / "receipts" / "31337" / "batch-1")
    write_json_atomically(folder / "a.json", {"name": "Jürgen"}, private=True)
    write_private_text(tmp_path / "exported.json", "{}\n")
    assert mode(folder / "a.json") == mode(tmp_path / "exported.json") == 0o600
    assert (folder / "a.json").read_text(encoding="utf-8") == '{\n  "name": "Jürgen"\n}\n'
    for path in (tmp_path / "receipts", tmp_path / "receipts" / "31337", folder):
        assert mode(path) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == ["a.json"]  # no temporary file left


def test_folders_of_an_older_release_are_tightened_only_when_asked(tmp_path: Path) -> None:
    mine = tmp_path / "batch-1"
    mine.mkdir(mode=0o755)
    mine.chmod(0o755)
    private_directory(mine)
    assert mode(mine) == 0o755  # someone's existing folder (an --out) is left as it is
    private_directory(mine, tighten=True)
    assert mode(mine) == 0o700


def test_an_existing_file_is_replaced_not_written_through(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text("untouched", encoding="utf-8")
    link = tmp_path / "receipt.json"
    link.symlink_to(target)
    write_private_text(link, "{}\n")
    assert target.read_text(encoding="utf-8") == "untouched"
    assert not link.is_symlink()
    assert mode(link) == 0o600


def test_the_first_key_or_deployment_record_makes_a_private_home(tmp_path: Path, umask: int) -> None:
    """`anchor key new` or `anchor deploy` as the very first command must not leave ANCHOR_HOME world-readable."""
    from anchor.chain.deployments import Deployment, record_deployment
    from anchor.chain.keys import Keystore

    keys_home = tmp_path / "keys-first" / ".anchor"
    Keystore(keys_home / "keys").create("issuer", "a password", iterations=2)
    assert mode(keys_home) == mode(keys_home / "keys") == 0o700
    assert mode(keys_home / "keys" / "issuer.json") == 0o600

    deploy_home = tmp_path / "deploy-first" / ".anchor"
    deployment = Deployment(
        31337, "0x" + "11" * 20, 1, "0x" + "22" * 32, "0x" + "33" * 20, "0x" + "33" * 20, 0, "0x", "local"
    )
    record_deployment(deploy_home / "deployments", deployment)
    assert mode(deploy_home) == mode(deploy_home / "deployments") == 0o700


def test_read_source_never_reads_more_than_one_byte_past_the_limit(tmp_path: Path) -> None:
    from anchor.errors import InvalidInputError
    from anchor.files import read_source

    big = tmp_path / "big.json"
    big.write_bytes(b"x" * 5000)
    assert read_source(str(big), 100) == b"x" * 101
    with pytest.raises(InvalidInputError, match=r"cannot read .*missing\.json"):
        read_source(str(tmp_path / "missing.json"), 100)
