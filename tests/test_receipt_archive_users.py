"""What takes a batch's receipts takes its archive too (issue 13): ``anchor demo``, ``batch run --share``,
``anchor verify``, and :func:`share_receipts`, with ``receipts.ARCHIVE_ABOVE`` made small."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_receipts_two_writers import anchor, queue

from anchor.cli import main
from anchor.credentials.examples import issuer_for_country
from anchor.issuing import receipts
from anchor.issuing.store import BatchRecord, Store
from anchor.sharing.share import share_receipts
from anchor.verifier.archive import ArchiveError, archive_members, stored_receipts

from support.anvil import free_port
from support.local_issuer import issued_on_a_local_chain

ISSUER = issuer_for_country("FI")
DID = "did:web:osaamismerkit.example"


@pytest.fixture
def small_archives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(receipts, "ARCHIVE_ABOVE", 2)


@pytest.fixture
def batch(tmp_path: Path) -> Iterator[tuple[Store, BatchRecord]]:
    with Store(f"sqlite:///{tmp_path / 'issuer.db'}") as store:
        queue(store, [f"urn:uuid:00000000-0000-4000-8000-{n:012d}" for n in range(7)])
        yield store, anchor(store, 7, 9)


def _shared(folder: Path) -> dict[str, dict[str, bytes]]:
    return {learner.name: {path.name: path.read_bytes() for path in learner.iterdir()} for learner in folder.iterdir()}


def test_sharing_an_archive_shares_what_its_folder_shares(batch: tuple[Store, BatchRecord], tmp_path: Path) -> None:
    store, record = batch
    folder = receipts.write_receipts(store, record, 5, tmp_path / "folder", archive=False)
    archive = receipts.write_receipts(store, record, 5, tmp_path / "archive", archive=True)
    from_files = share_receipts(sorted(folder.glob("*.json")), tmp_path / "shared-files")
    from_archive = share_receipts([archive], tmp_path / "shared-archive")
    assert len(from_archive) == len(from_files) == 7
    assert _shared(tmp_path / "shared-archive") == _shared(tmp_path / "shared-files")


def test_a_folder_and_an_archive_store_the_same_receipts(batch: tuple[Store, BatchRecord], tmp_path: Path) -> None:
    store, record = batch
    folder = receipts.write_receipts(store, record, 5, tmp_path / "folder", archive=False)
    archive = receipts.write_receipts(store, record, 5, tmp_path / "archive", archive=True)
    in_folder, in_archive = stored_receipts(folder), stored_receipts(archive)
    names = sorted(path.name for path in folder.glob("*.json"))
    assert [receipt.name for receipt in in_folder] == names  # by name
    assert sorted(receipt.name for receipt in in_archive) == names  # in archive (proof) order
    assert {r.name: r.read() for r in in_archive} == {r.name: r.read() for r in in_folder}
    assert in_archive[0].source == f"{archive}:batch-9/{in_archive[0].name}"
    assert in_folder[0].source == str(folder / names[0])
    (alone,) = stored_receipts(folder / names[0])  # a receipt file is itself
    assert (alone.name, alone.read()) == (names[0], (folder / names[0]).read_bytes())
    assert len(share_receipts([folder], tmp_path / "from-folder")) == 7  # a folder: its files
    share_receipts(sorted(folder.glob("*.json")), tmp_path / "from-files")
    assert _shared(tmp_path / "from-folder") == _shared(tmp_path / "from-files")
    with archive.open("r+b") as stream:  # the archive shrank after it was listed: the member's read names it
        stream.truncate(archive_members(str(archive))[-1].offset + 1)
    with pytest.raises(ArchiveError, match=rf"batch-9\.tar:batch-9/{in_archive[-1].name}: .*ends inside"):
        in_archive[-1].read()


def test_sharing_a_broken_archive_names_the_member(batch: tuple[Store, BatchRecord], tmp_path: Path) -> None:
    store, record = batch
    archive = receipts.write_receipts(store, record, 5, tmp_path / "archive", archive=True)
    data = bytearray(archive.read_bytes())
    second = 512 + -(-int(data[124:135], 8) // 512) * 512  # the second member's header
    data[second + 10] ^= 1  # a byte of its name: its checksum no longer holds
    archive.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=r"batch-9\.tar.*checksum"):
        share_receipts([archive], tmp_path / "shared")


def test_the_demo_anchors_a_large_batch_as_an_archive_and_verifies_it(small_archives: None, tmp_path: Path) -> None:
    env = {"ANCHOR_HOME": str(tmp_path), "ANCHOR_NODE_PORT": str(free_port()), "ANCHOR_NODE_BLOCK_TIME": "0.3"}
    runner = CliRunner()
    try:
        result = runner.invoke(main, ["demo", "--count", "5"], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert result.output.count(": VALID") == 3
        assert "with its ECTS changed to 60: TAMPERED" in result.output
        assert "verify again: REVOKED" in result.output
        archive = tmp_path / "receipts" / "31337" / "batch-1.tar"
        assert f"receipts: {archive}" in result.output
        with tarfile.open(archive) as tar:
            assert len([member for member in tar if member.isfile()]) == 5
        verified = runner.invoke(main, ["--home", str(tmp_path), "verify", str(archive)], env=env)
        assert "5 receipts: 4 valid, 1 invalid, 0 error" in verified.output, verified.output
        assert "batch-1.tar:batch-1/" in verified.output
    finally:
        runner.invoke(main, ["node", "stop"], env=env, catch_exceptions=False)


def test_batch_run_shares_the_learners_of_an_archive(small_archives: None, tmp_path: Path) -> None:
    with issued_on_a_local_chain(tmp_path, ISSUER, DID, 3) as anchor:
        ran = anchor("batch", "run", "--dev-account", "1", "--share", tmp_path / "share")
        assert ran.exit_code == 0, ran.output
        assert "3 learner folder(s) to share" in ran.output
        archive = tmp_path / "home" / "receipts" / "31337" / "batch-1.tar"
        with tarfile.open(archive) as tar:
            members = [tar.extractfile(member).read() for member in tar]  # type: ignore[union-attr]
        shared = [(folder / "receipt.json").read_bytes() for folder in (tmp_path / "share").iterdir()]
        assert sorted(json.dumps(json.loads(data)) for data in members) == sorted(
            json.dumps(json.loads(data)) for data in shared
        )
