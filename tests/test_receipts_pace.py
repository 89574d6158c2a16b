"""Receipts at a million (issue 13): the tree rebuilt from the stored digests, the same bytes, crash-safe.

``write_receipts`` no longer parses the batch's stored tree dump (250 MB of JSON for a million leaves): it
rebuilds the tree from the batch's stored ``(digest, index)`` leaves (``rebuilt_tree``) and refuses to write
anything when the rebuilt root is not the batch's root. The receipts must be byte for byte those made from
the stored dump (``batch_tree``, the way before), and a batch's folder appears complete or not at all.
The e2e benchmark's credential files (``e2e_bench.credential_texts``) must pass intake as they are.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import multiprocessing
import os
import re
import signal
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from anchor.credentials.examples import generate_credentials
from anchor.errors import InvariantError
from anchor.issuing import intake, receipts
from anchor.issuing.batch import build_tree
from anchor.issuing.store import BatchRecord, Store

from support.db import BACKENDS, fresh_database

ROOT = Path(__file__).resolve().parent.parent
CHAIN, REGISTRY, SIGNER = 31337, "0x" + "11" * 20, "0x" + "22" * 20
ISSUER_ID = 5
SIZES = (1, 2, 3, 301, 446)
"""A batch of 1, tiny odd ones, several hundred (odd and even)."""


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, list[BatchRecord]]]:
    path = tmp_path_factory.mktemp("pace") / "issuer.db"
    with Store(f"sqlite:///{path}") as store:
        credentials = generate_credentials(sum(SIZES), seed=31, salted=False)
        items = [(f"c{n}", credential) for n, credential in enumerate(credentials)]
        assert intake.issue_credentials(store, items, total=len(items), workers=1).queued == sum(SIZES)
        records = []
        for n, size in enumerate(SIZES):
            batch = store.build_batch(size, CHAIN, REGISTRY, SIGNER, build_tree)
            assert batch is not None
            assert batch.size == size
            records.append(
                store.update_batch(
                    batch.id, onchain_batch_id=20 + n, tx_hash="0x" + "ab" * 32, block_number=99, anchored_at=1764475200
                )
            )
        yield store, records


def files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def from_the_dump(store: Store, batch: BatchRecord) -> dict[str, bytes]:
    """Every receipt of ``batch`` as the reference path makes it from the stored dump (the tree before)."""
    tree = receipts.batch_tree(store, batch)
    made = {}
    for index, credential_id, document in store.batch_credentials(batch.id):
        receipt = receipts.receipt_for(batch, tree, index, ISSUER_ID, document)
        made[receipts.receipt_file_name(credential_id)] = (
            json.dumps(receipt, indent=2, ensure_ascii=False) + "\n"
        ).encode()
    return made


@pytest.mark.parametrize("position", range(len(SIZES)))
def test_receipts_from_the_rebuilt_tree_are_those_of_the_stored_dump(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path, position: int
) -> None:
    store, records = batches
    batch = records[position]
    folder = receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "receipts")
    assert files(folder) == from_the_dump(store, batch)
    assert receipts.rebuilt_tree(store, batch).dump_json() == store.tree_dump(batch.id)


def test_the_stored_dump_is_not_read_to_write_receipts(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dump of a million leaves is 250 MB of text: receipts must not parse it (nor hold it beside the tree)."""
    store, records = batches

    def refused(batch_id: int) -> str:
        raise AssertionError(f"the dump of batch {batch_id} was read")

    monkeypatch.setattr(store, "tree_dump", refused)
    folder = receipts.write_receipts(store, records[-1], ISSUER_ID, tmp_path / "receipts")
    assert len(files(folder)) == records[-1].size


def _tampered(tmp_path: Path, statement: str) -> tuple[Store, BatchRecord]:
    store = Store(f"sqlite:///{tmp_path / 'tampered.db'}")
    credentials = generate_credentials(9, seed=4, salted=False)
    items = [(f"c{n}", credential) for n, credential in enumerate(credentials)]
    assert intake.issue_credentials(store, items, total=len(items), workers=1).queued == 9
    batch = store.build_batch(9, CHAIN, REGISTRY, SIGNER, build_tree)
    assert batch is not None
    batch = store.update_batch(
        batch.id, onchain_batch_id=3, tx_hash="0x" + "ab" * 32, block_number=99, anchored_at=1764475200
    )
    with store.engine.begin() as connection:
        for one in statement.split(";"):
            connection.execute(text(one), {"batch": batch.id})
    return store, batch


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (  # a digest changed after the batch was built (its dump and root still the old ones)
            "UPDATE credentials SET digest = '0x' || substr(digest, 4) || '0'"
            " WHERE batch_id = :batch AND batch_index = 4",
            r"batch \d+: the tree rebuilt from its 9 stored digests has root 0x[0-9a-f]{64}, not the batch's root",
        ),
        (  # two credentials swapped places
            "UPDATE credentials SET batch_index = 100 WHERE batch_id = :batch AND batch_index = 0;"
            "UPDATE credentials SET batch_index = 0 WHERE batch_id = :batch AND batch_index = 8;"
            "UPDATE credentials SET batch_index = 8 WHERE batch_id = :batch AND batch_index = 100",
            r"batch \d+: the tree rebuilt from its 9 stored digests has root",
        ),
        (  # a credential left the batch
            "UPDATE credentials SET batch_id = NULL, batch_index = NULL WHERE batch_id = :batch AND batch_index = 8",
            r"batch \d+: 8 stored credentials for a batch of 9",
        ),
        (  # a hole in the indices
            "UPDATE credentials SET batch_index = 20 WHERE batch_id = :batch AND batch_index = 3",
            r"batch \d+: stored credential index 4 where index 3 belongs",
        ),
    ],
)
def test_a_rebuilt_tree_that_is_not_the_batch_s_is_refused_by_name(
    tmp_path: Path, statement: str, message: str
) -> None:
    store, batch = _tampered(tmp_path, statement)
    with store:
        target = tmp_path / "receipts"
        with pytest.raises(InvariantError, match=message) as raised:
            receipts.write_receipts(store, batch, ISSUER_ID, target)
        assert f"batch {batch.id}" in str(raised.value)
        folder = receipts.receipts_folder(target, batch)
        assert not folder.parent.exists() or list(folder.parent.iterdir()) == []  # nothing written, nothing staged


def _killed_midway(url: str, batch: BatchRecord, target: Path) -> None:
    """In a forked process: write the receipts with one writer and SIGKILL this process after 100 receipts."""
    original = receipts.write_receipt_file
    written = [0]

    def dying(directory: int, name: str, data: bytes, instead: str | None = None) -> str:
        written[0] += 1
        if written[0] > 100:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(directory, name, data, instead)

    receipts.write_receipt_file = dying  # this process only (a forked child of the test)
    with Store(url) as store:
        receipts.write_receipts(store, batch, ISSUER_ID, target, workers=1)


def test_a_killed_writer_leaves_no_folder_and_a_rerun_completes_it(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path
) -> None:
    store, records = batches
    batch = records[-1]
    target = tmp_path / "receipts"
    process = multiprocessing.get_context("fork").Process(target=_killed_midway, args=(store.url, batch, target))
    process.start()
    process.join(120)
    assert process.exitcode == -signal.SIGKILL
    folder = receipts.receipts_folder(target, batch)
    assert not folder.exists()
    assert [p.name for p in folder.parent.iterdir()] == [f".{folder.name}.partial"]  # hidden, never published
    assert files(receipts.write_receipts(store, batch, ISSUER_ID, target)) == from_the_dump(store, batch)
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def test_a_receipt_the_file_system_refuses_is_an_error_naming_it(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, records = batches
    batch = records[3]
    _, victim, _ = list(store.batch_credentials(batch.id))[150]
    wanted = receipts.receipt_file_name(victim)
    real_open = os.open

    def full_disk(path: str, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if path == wanted:
            raise OSError(28, "No space left on device")
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", full_disk)
    target = tmp_path / "receipts"
    with pytest.raises(receipts.ReceiptWriteError) as raised:
        receipts.write_receipts(store, batch, ISSUER_ID, target)
    assert f"credential {victim!r}" in str(raised.value)
    assert wanted in str(raised.value)
    assert "No space left on device" in str(raised.value)
    assert not receipts.receipts_folder(target, batch).exists()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=230) | st.from_regex(r"urn:[a-z]{1,5}:[A-Za-z0-9:._-]{0,220}", fullmatch=True))
def test_receipt_file_names_are_those_of_the_one_substitution(credential_id: str) -> None:
    assert receipts.receipt_file_name(credential_id) == re.sub(r"[^A-Za-z0-9._-]", "_", credential_id)[:200] + ".json"


def _e2e_bench() -> ModuleType:
    """``benchmarks/e2e_bench.py`` as a module (a script, not a package)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("e2e_bench", ROOT / "benchmarks" / "e2e_bench.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("e2e_bench", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_e2e_credential_files_pass_intake_and_are_distinct(tmp_path: Path) -> None:
    """The 1M run's generator (one template per credential): realistic ~3 KB files, strict-parsed and valid."""
    bench = _e2e_bench()
    did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    count = 1203  # more than the templates: some are used twice, with their own ids and salts
    bench.write_credentials(tmp_path / "in", count, did)
    written = sorted((tmp_path / "in").rglob("*.json"))
    assert len(written) == count
    sizes = [path.stat().st_size for path in written]
    assert 2000 < sum(sizes) / count < 4500
    documents = [json.loads(path.read_bytes()) for path in written]
    assert len({document["id"] for document in documents}) == count
    assert len({document["anchorSalt"] for document in documents}) == count
    assert all(document["issuer"]["id"] == did for document in documents)
    with Store(f"sqlite:///{tmp_path / 'issuer.db'}") as store:
        summary = intake.issue(store, [str(tmp_path / "in")], workers=1)
        assert (summary.queued, summary.invalid, summary.committed) == (count, 0, True), summary


def test_a_built_batch_s_dump_is_not_kept_alive_after_it_is_stored(tmp_path: Path) -> None:
    """SQLAlchemy's cache of compiled statements keeps the statement it compiled: a dump bound into the
    statement (rather than passed as a parameter) stayed alive, 250 MB for a million, into the receipts."""
    with Store(f"sqlite:///{tmp_path / 'issuer.db'}") as store:
        store.queue_rows(
            (f"urn:c:{i}", "0x" + f"{i:064x}", "0x" + f"{i + 7:064x}", "did:example:i", "{}", None, None)
            for i in range(5000)
        )
        gc.collect()
        tracemalloc.start()
        try:
            batch = store.build_batch(5000, CHAIN, REGISTRY, SIGNER, build_tree)
            gc.collect()
            alive = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert batch is not None
        dump = len(store.tree_dump(batch.id))
        assert dump > 1_000_000
        assert alive < dump / 4, f"{alive} bytes still allocated after storing a dump of {dump}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_rebuilt_tree_is_the_stored_one_on_either_database(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url, Store(url) as store:
        store.queue_rows(
            (f"urn:c:{i}", "0x" + f"{i:064x}", "0x" + f"{(i + 1) * 7919:064x}", "did:example:i", "{}", None, None)
            for i in range(2500)
        )
        first = store.build_batch(1001, CHAIN, REGISTRY, SIGNER, build_tree)
        second = store.build_batch(5000, CHAIN, REGISTRY, SIGNER, build_tree)
        assert first is not None
        assert second is not None
        for batch in (first, second):
            rebuilt = receipts.rebuilt_tree(store, batch)
            assert rebuilt.root == batch.root
            assert rebuilt.dump_json() == store.tree_dump(batch.id)
