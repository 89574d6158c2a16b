"""Receipts of a large batch written by two processes (issue 13): the bytes one process writes, crash-safe, complete.

``write_receipts(workers=2)`` forks a second writer that takes its share of the Merkle tree's proof order
(``iter_proofs(share=...)``) and reads its own rows; ``workers=1`` is the single-process reference. The tree
is split in pieces of ``merkle.core.LEAF_PIECE`` leaves, made small here so that a few hundred credentials
reach both writers.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from anchor.credentials.examples import generate_credentials
from anchor.issuing import intake, receipts
from anchor.issuing.batch import build_tree
from anchor.issuing.store import BatchRecord, Store
from anchor.merkle import StandardMerkleTree, core, standard

from support.db import BACKENDS, fresh_database

CHAIN, REGISTRY, SIGNER = 31337, "0x" + "11" * 20, "0x" + "22" * 20
ISSUER_ID = 5
SIZES = (1, 2, 3, 7, 301, 446)
"""Batch sizes written both ways: a batch of 1, tiny odd ones, several hundred (odd and even)."""


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core, "LEAF_PIECE", 16)


def queue(store: Store, ids: list[str], seed: int = 21) -> None:
    credentials = generate_credentials(len(ids), seed=seed, salted=False)
    items = [(f"c{n}", {**credential, "id": ids[n]}) for n, credential in enumerate(credentials)]
    assert intake.issue_credentials(store, items, total=len(items), workers=1).queued == len(ids)


def anchor(store: Store, size: int, onchain: int) -> BatchRecord:
    batch = store.build_batch(size, CHAIN, REGISTRY, SIGNER, build_tree)
    assert batch is not None
    assert batch.size == size
    return store.update_batch(
        batch.id, onchain_batch_id=onchain, tx_hash="0x" + "ab" * 32, block_number=99, anchored_at=1764475200
    )


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, list[BatchRecord]]]:
    path = tmp_path_factory.mktemp("two-writers") / "issuer.db"
    with Store(f"sqlite:///{path}") as store:
        queue(store, [f"urn:uuid:00000000-0000-4000-8000-{n:012d}" for n in range(sum(SIZES))])
        yield store, [anchor(store, size, 10 + n) for n, size in enumerate(SIZES)]


def files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def test_shares_of_the_proof_order_are_every_proof_once() -> None:
    for size in (1, 2, 3, 16, 17, 33, 100, 257):
        tree = StandardMerkleTree.of([(bytes([n % 256]) * 32, n) for n in range(size)], ["bytes32", "uint256"])
        whole = list(tree.iter_proofs())
        for parts in (2, 3):
            shares = [list(tree.iter_proofs(share=(part, parts))) for part in range(parts)]
            assert sorted(item for share in shares for item in share) == sorted(whole)
            if size > 16 * parts:
                assert all(shares), f"{size} leaves, {parts} parts: a share is empty"
    with pytest.raises(ValueError, match="share"):
        list(tree.iter_proofs(share=(2, 2)))


@pytest.mark.parametrize("position", range(len(SIZES)))
def test_two_writers_write_the_bytes_of_one(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path, position: int
) -> None:
    store, records = batches
    batch = records[position]
    one = files(receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "one", workers=1))
    seen: list[tuple[int, int]] = []
    folder = receipts.write_receipts(
        store, batch, ISSUER_ID, tmp_path / "two", lambda done, total: seen.append((done, total)), workers=2
    )
    assert files(folder) == one
    assert len(one) == batch.size
    assert seen[-1] == (batch.size, batch.size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]  # no staging folder left


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_writer_reads_its_rows_from_either_database(backend: str, tmp_path: Path) -> None:
    """The forked writer opens its own connections (SQLite file or PostgreSQL), never the parent's."""
    with fresh_database(backend, tmp_path) as url, Store(url) as store:
        queue(store, [f"urn:uuid:{n:036d}" for n in range(150)], seed=8)
        batch = anchor(store, 150, 1)
        one = files(receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "one", workers=1))
        assert files(receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "two", workers=2)) == one
        assert store.get_batch(batch.id).size == 150  # the parent's connections still work


def writer_pids(monkeypatch: pytest.MonkeyPatch, log: Path, kill_child_after: int | None = None) -> None:
    """Log the pid of the process writing each receipt; optionally SIGKILL a forked writer mid-way."""
    original = receipts.write_receipt_file
    parent = os.getpid()
    written = [0]

    def logged(directory: int, name: str, data: bytes, instead: str | None = None) -> str:
        written[0] += 1
        if kill_child_after is not None and os.getpid() != parent and written[0] > kill_child_after:
            os.kill(os.getpid(), signal.SIGKILL)
        descriptor = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        os.close(descriptor)
        return original(directory, name, data, instead)

    monkeypatch.setattr(receipts, "write_receipt_file", logged)


def test_the_second_writer_is_another_process(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, records = batches
    log = tmp_path / "pids"
    writer_pids(monkeypatch, log)
    receipts.write_receipts(store, records[-1], ISSUER_ID, tmp_path / "two", workers=2)
    pids = log.read_text().split()
    assert len(pids) == records[-1].size
    assert len(set(pids)) == 2
    assert pids.count(str(os.getpid())) < records[-1].size


def test_a_killed_writer_leaves_no_partial_folder_and_the_batch_is_written_whole(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, records = batches
    batch = records[-1]
    reference = files(receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "one", workers=1))
    writer_pids(monkeypatch, tmp_path / "pids", kill_child_after=40)
    folder = receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "two", workers=2)
    assert files(folder) == reference  # the killed writer's share was written again, by one process
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]


def _crash_midway(url: str, batch: BatchRecord, target: Path) -> None:
    """In a forked process: write with two writers and SIGKILL this (the parent) writer after 60 receipts."""
    original = receipts.write_receipt_file
    me, written = os.getpid(), [0]

    def dying(directory: int, name: str, data: bytes, instead: str | None = None) -> str:
        if os.getpid() == me:
            written[0] += 1
            if written[0] > 60:
                os.kill(me, signal.SIGKILL)
        return original(directory, name, data, instead)

    receipts.write_receipt_file = dying  # this process only (a forked child of the test)
    with Store(url) as store:
        receipts.write_receipts(store, batch, ISSUER_ID, target, workers=2)


def test_a_killed_run_shows_no_partial_folder_and_a_rerun_completes_it(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path
) -> None:
    store, records = batches
    batch = records[-1]
    reference = files(receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "one", workers=1))
    target = tmp_path / "receipts"
    process = multiprocessing.get_context("fork").Process(target=_crash_midway, args=(store.url, batch, target))
    process.start()
    process.join(120)
    assert process.exitcode == -signal.SIGKILL
    folder = receipts.receipts_folder(target, batch)
    assert not folder.exists()
    assert [p.name for p in folder.parent.iterdir()] == [f".{folder.name}.partial"]  # hidden, never published
    assert files(receipts.write_receipts(store, batch, ISSUER_ID, target, workers=2)) == reference
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_receipt_that_cannot_be_written_is_reported_by_name(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    store, records = batches
    batch = records[-1]
    _, victim, _ = next(iter(store.batch_credentials(batch.id)))
    original = receipts.write_receipt_file

    def refusing(directory: int, name: str, data: bytes, instead: str | None = None) -> str:
        if name == receipts.receipt_file_name(victim):
            raise PermissionError(13, "Permission denied", name)
        return original(directory, name, data, instead)

    monkeypatch.setattr(receipts, "write_receipt_file", refusing)
    target = tmp_path / "receipts"
    with pytest.raises(receipts.ReceiptWriteError, match=f"credential '{victim}'.*Permission denied"):
        receipts.write_receipts(store, batch, ISSUER_ID, target, workers=workers)
    assert not receipts.receipts_folder(target, batch).exists()


def test_a_fallback_name_that_is_taken_too_replaces_no_receipt(tmp_path: Path) -> None:
    directory = os.open(tmp_path, os.O_RDONLY)
    try:
        receipts.write_receipt_file(directory, "a.json", b"first")
        receipts.write_receipt_file(directory, "a-5.json", b"other credential")
        names = [receipts.write_receipt_file(directory, "a.json", text, "a-5.json") for text in (b"second", b"third")]
        with pytest.raises(FileExistsError):
            receipts.write_receipt_file(directory, "a.json", b"fourth")
    finally:
        os.close(directory)
    assert files(tmp_path) == {
        "a.json": b"first",
        "a-5.json": b"other credential",
        "a-5-2.json": b"second",
        "a-5-3.json": b"third",
    }
    assert names == ["a-5-2.json", "a-5-3.json"]


def test_colliding_names_with_two_writers_are_the_files_of_one(tmp_path: Path) -> None:
    """Two ids with one file name, and ids that spell the fallback names: every receipt, as one process names it."""
    ids = ["urn:x:a", "urn:x_a", "urn:x_a-0", "urn:x_a-1"] + [f"urn:uuid:{n:036d}" for n in range(60)]
    with Store(f"sqlite:///{tmp_path / 'issuer.db'}") as store:
        queue(store, ids, seed=3)
        batch = anchor(store, len(ids), 3)
        one = files(receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "one", workers=1))
        two = files(receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "two", workers=2))
    assert two == one
    assert sorted(json.loads(text)["id"] for text in one.values()) == sorted(ids)  # none replaced another


def test_the_tree_nodes_read_at_once_are_those_read_one_by_one() -> None:
    """``load`` reads a dump's nodes in one pass when they are well formed; anything else is read node by node."""
    tree = StandardMerkleTree.of([(bytes([n]) * 32, n) for n in range(5)], ["bytes32", "uint256"])
    good = tree.dump()["tree"]
    node = good[3]
    variants = {
        "upper-case digits": node[:2] + node[2:].upper(),
        "upper-case X": "0X" + node[2:],
        "a space inside": node[:10] + " " + node[11:],
        "two spaces for a byte": node[:-2] + "  ",
        "0x inside": node[:20] + "0x" + node[22:],
        "one digit short": node[:-1],
        "one digit more": node + "0",
        "no prefix": node[2:] + "00",
        "bytes": bytes(32),
        "a number": 7,
    }
    for label, bad in variants.items():
        raw: list[object] = [*good[:3], bad, *good[4:]]
        try:
            expected: list[bytes] | str = [standard._node(x, "tree", i) for i, x in enumerate(raw)]
        except ValueError as error:
            expected = str(error)
        try:
            got: list[bytes] | str = standard._nodes(raw)
        except ValueError as error:
            got = str(error)
        assert got == expected, label
    assert standard._nodes(list(good)) == [bytes.fromhex(x[2:]) for x in good]


def test_the_dump_text_made_in_chunks_is_json_dumps_of_the_dump() -> None:
    """``build_tree`` stores ``dump_json()``: the text ``json.dumps(tree.dump())`` gave, without the dump's objects."""
    for size in (1, 2, 3, 70_000):  # 70,000 values and 139,999 nodes: more than one piece of 16,384 entries
        tree = StandardMerkleTree.of([(n.to_bytes(32, "big"), n) for n in range(size)], ["bytes32", "uint256"])
        assert tree.dump_json() == json.dumps(tree.dump())
    generic = StandardMerkleTree.of([["0x" + "ab" * 20, 5, True, 'x\u2028"y']], ["address", "uint8", "bool", "string"])
    assert generic.dump_json() == json.dumps(generic.dump())
    root, pieces = build_tree([bytes([n]) * 32 for n in range(9)])
    assert StandardMerkleTree.load(json.loads("".join(pieces))).root == root
