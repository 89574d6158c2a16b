"""A batch's tree dump stored in parts (schema version 5): never whole in memory while a batch is built.

The dump's text is its parts joined in order, byte for byte ``json.dumps(tree.dump())``; a database of
version 4 keeps each batch's dump through the migration; a lost or extra part is refused by name; a build
that fails halfway through its dump leaves nothing behind; and the build's Python allocations hold the tree
and a part of the dump, not the dump twice. Every store test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, inspect, text
from test_batch_memory import _digests, _queue

import anchor.issuing.store.batches as batches_module
import anchor.merkle.standard as standard_module
from anchor.credentials.receipt import LEAF_ENCODING
from anchor.errors import InvalidInputError, InvariantError
from anchor.issuing.batch import build_tree
from anchor.issuing.receipts import batch_tree, rebuilt_tree
from anchor.issuing.store import MIGRATIONS, SCHEMA_VERSION, Store
from anchor.issuing.store.engine import _normalise_url
from anchor.issuing.store.schema import _versions
from anchor.merkle import StandardMerkleTree

from support.db import BACKENDS, fresh_database

ADDRESS = "0x" + "33" * 20


def _reference(digests: list[bytes]) -> tuple[str, str]:
    """Root and dump as ever: the plain tree of ``(digest, index)`` and ``json.dumps`` of its dump."""
    tree = StandardMerkleTree.of([(d, i) for i, d in enumerate(digests)], list(LEAF_ENCODING))
    return tree.root, json.dumps(tree.dump())


def _stored_parts(store: Store, batch_id: int | None = None) -> list[tuple[int, int, str]]:
    """``(batch_id, part, text)`` rows as stored, in order."""
    where = "" if batch_id is None else f" WHERE batch_id = {int(batch_id)}"
    with store.engine.connect() as connection:
        rows = connection.execute(
            text(f"SELECT batch_id, part, text FROM batch_tree_parts{where} ORDER BY batch_id, part")
        ).all()
    return [(int(row[0]), int(row[1]), str(row[2])) for row in rows]


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    with Store(database) as opened:
        yield opened


# ------------------------------------------------------------------------------------------------ migration


def test_a_version_4_database_keeps_every_batch_dump_through_the_migration(database: str) -> None:
    dumps: dict[int, tuple[str, str, int]] = {}
    engine = create_engine(_normalise_url(database))
    try:
        with engine.begin() as connection:
            _versions.create(connection)
            for migration in MIGRATIONS:
                if migration.version > 4:
                    break
                migration.apply(connection)
                connection.execute(
                    insert(_versions).values(version=migration.version, description=migration.description, applied_at=0)
                )
            for number, size in enumerate((1, 5, 3000), start=1):
                digests = _digests(size, seed=number)
                root, dump = _reference(digests)
                dumps[number] = (root, dump, size)
                connection.execute(
                    text(
                        "INSERT INTO batches (id, state, root, size, tree_dump, chain_id, registry, signer,"
                        " created_at, updated_at) VALUES (:id, 'built', :root, :size, :dump, 1, :a, :a, 0, 0)"
                    ),
                    {"id": number, "root": root, "size": size, "dump": dump, "a": ADDRESS},
                )
                connection.execute(
                    text(
                        "INSERT INTO credentials (credential_id, content_hash, digest, issuer, queued_at,"
                        " batch_id, batch_index) VALUES (:id, :h, :d, 'did:example:i', 0, :b, :i)"
                    ),
                    [
                        {"id": f"urn:{number}:{i}", "h": "0x" + d[::-1].hex(), "d": "0x" + d.hex(), "b": number, "i": i}
                        for i, d in enumerate(digests)
                    ],
                )
            if connection.dialect.name == "postgresql":  # the ids were given: move the sequence past them
                connection.execute(text("SELECT setval('batches_id_seq', 3)"))
    finally:
        engine.dispose()
    with Store(database) as store:
        assert store.schema_version() == SCHEMA_VERSION == 5
        assert "tree_dump" not in {c["name"] for c in inspect(store.engine).get_columns("batches")}
        assert [(b, p) for b, p, _ in _stored_parts(store)] == [(1, 0), (2, 0), (3, 0)]
        for number, (root, dump, size) in dumps.items():
            assert store.tree_dump(number) == dump
            assert list(store.tree_dump_parts(number)) == [dump]
            batch = store.get_batch(number)
            assert (batch.root, batch.size) == (root, size)
            assert batch_tree(store, batch).dump_json() == dump
            assert rebuilt_tree(store, batch).dump_json() == dump
        # The migrated database builds batches as a new one does, its constraints intact.
        _queue(store, _digests(4, seed=99), prefix="new")
        built = store.build_batch(10, 1, ADDRESS, ADDRESS, build_tree)
        assert built is not None
        assert built.id == 4
        assert store.tree_dump(built.id) == _reference(_digests(4, seed=99))[1]
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"), store.engine.begin() as connection:
            connection.execute(text("INSERT INTO batch_tree_parts (batch_id, part, text) VALUES (4, 0, 'x')"))
        with pytest.raises(Exception, match=r"(?i)foreign key"), store.engine.begin() as connection:
            connection.execute(text("INSERT INTO batch_tree_parts (batch_id, part, text) VALUES (99, 0, 'x')"))
        with pytest.raises(Exception, match=r"ck_batch_tree_parts_part|CHECK"), store.engine.begin() as connection:
            connection.execute(text("INSERT INTO batch_tree_parts (batch_id, part, text) VALUES (4, -1, 'x')"))


# ------------------------------------------------------------------------------------------------ parts


def test_a_dump_spans_parts_of_the_part_size_in_order(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches_module, "TREE_PART_CHARS", 1000)
    monkeypatch.setattr(standard_module, "DUMP_PIECE_ENTRIES", 7)  # pieces smaller and larger than a part
    digests = _digests(300, seed=3)
    _queue(store, digests)
    batch = store.build_batch(1000, 1, ADDRESS, ADDRESS, build_tree)
    assert batch is not None
    root, dump = _reference(digests)
    assert batch.root == root
    rows = _stored_parts(store, batch.id)
    assert len(rows) == -(-len(dump) // 1000) > 50
    assert [part for _, part, _ in rows] == list(range(len(rows)))
    assert all(len(part) == 1000 for _, _, part in rows[:-1])
    assert 0 < len(rows[-1][2]) <= 1000
    assert "".join(part for _, _, part in rows) == dump
    assert list(store.tree_dump_parts(batch.id)) == [part for _, _, part in rows]
    assert store.tree_dump(batch.id) == dump
    assert batch_tree(store, batch).root == root


@pytest.mark.parametrize(
    "pieces",
    [
        ["x" * 2500],  # one text, cut
        ["ab", "", "c" * 997, "d", "e" * 3000, "f"],  # pieces across, at and beyond the boundaries
        ["y" * 1000, "z" * 1000],  # exact multiples: no empty last part
    ],
)
def test_pieces_are_cut_into_parts_whatever_their_sizes(
    store: Store, monkeypatch: pytest.MonkeyPatch, pieces: list[str]
) -> None:
    monkeypatch.setattr(batches_module, "TREE_PART_CHARS", 1000)
    _queue(store, _digests(2))
    whole = "".join(pieces)
    batch = store.build_batch(10, 1, ADDRESS, ADDRESS, lambda digests: ("0x" + "ab" * 32, iter(pieces)))
    assert batch is not None
    parts = list(store.tree_dump_parts(batch.id))
    assert parts == [whole[i : i + 1000] for i in range(0, len(whole), 1000)]
    assert store.tree_dump(batch.id) == whole


def test_a_dump_given_whole_is_stored_in_parts_too(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches_module, "TREE_PART_CHARS", 64)
    digests = _digests(9, seed=4)
    _queue(store, digests)
    root, dump = _reference(digests)
    batch = store.build_batch(10, 1, ADDRESS, ADDRESS, lambda given: (root, dump))
    assert batch is not None
    assert [len(part) for _, _, part in _stored_parts(store, batch.id)][:-1] == [64] * (len(dump) // 64)
    assert store.tree_dump(batch.id) == dump


def test_the_pieces_are_lazy_and_join_to_the_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(standard_module, "DUMP_PIECE_ENTRIES", 3)
    tree = StandardMerkleTree.of([(d, i) for i, d in enumerate(_digests(10))], list(LEAF_ENCODING))
    pieces = tree.dump_json_pieces()
    assert isinstance(pieces, Iterator)
    taken = list(pieces)
    assert len(taken) == 1 + 7 + 1 + 4 + 1  # head, 19 nodes by 3, middle, 10 values by 3, tail
    assert "".join(taken) == tree.dump_json() == json.dumps(tree.dump())


# ------------------------------------------------------------------------------------------------ refusals


def test_a_gap_in_the_stored_parts_is_named(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches_module, "TREE_PART_CHARS", 100)
    _queue(store, _digests(5))
    batch = store.build_batch(10, 1, ADDRESS, ADDRESS, build_tree)
    assert batch is not None
    assert len(_stored_parts(store, batch.id)) > 3
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM batch_tree_parts WHERE part = 2"))
    with pytest.raises(InvariantError, match=rf"batch {batch.id}: stored tree dump part 3 where part 2 belongs"):
        store.tree_dump(batch.id)
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM batch_tree_parts WHERE part = 0"))
    parts = store.tree_dump_parts(batch.id)
    with pytest.raises(InvariantError, match=rf"batch {batch.id}: stored tree dump part 1 where part 0 belongs"):
        next(parts)


def test_a_batch_without_parts_and_a_missing_batch_are_named(store: Store) -> None:
    _queue(store, _digests(3))
    batch = store.build_batch(10, 1, ADDRESS, ADDRESS, build_tree)
    assert batch is not None
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM batch_tree_parts"))
    with pytest.raises(InvalidInputError, match=rf"batch {batch.id} has no stored tree dump"):
        store.tree_dump(batch.id)
    with pytest.raises(InvalidInputError, match=rf"batch {batch.id} has no stored tree dump"):
        list(store.tree_dump_parts(batch.id))
    with pytest.raises(InvalidInputError, match="no batch 999 in the issuer database"):
        store.tree_dump(999)


def _nothing_left(store: Store, queued: int) -> None:
    assert store.list_batches() == []
    assert _stored_parts(store) == []
    assert store.queued_count() == queued


def test_a_dump_failing_halfway_leaves_no_batch_and_no_part(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches_module, "TREE_PART_CHARS", 100)
    digests = _digests(20)
    _queue(store, digests)
    taken: list[str] = []

    def failing(given: list[bytes]) -> tuple[str, Iterator[str]]:
        root, pieces = build_tree(given)

        def halfway() -> Iterator[str]:
            for number, piece in enumerate(pieces):
                if number == 3:
                    raise RuntimeError("the dump failed halfway")
                taken.append(piece)
                yield piece

        return root, halfway()

    monkeypatch.setattr(standard_module, "DUMP_PIECE_ENTRIES", 4)
    with pytest.raises(RuntimeError, match="the dump failed halfway"):
        store.build_batch(100, 1, ADDRESS, ADDRESS, failing)
    assert sum(map(len, taken)) > 300  # parts had been inserted before the failure
    _nothing_left(store, 20)
    batch = store.build_batch(100, 1, ADDRESS, ADDRESS, build_tree)  # and the next run builds the batch
    assert batch is not None
    assert store.tree_dump(batch.id) == _reference(digests)[1]


@pytest.mark.parametrize(
    ("dump", "message"),
    [
        (["[1, ", b"2]"], "build_tree's dump piece 1 is a bytes, not text"),
        (["", ""], "build_tree returned an empty dump"),
        ("", "build_tree returned an empty dump"),
        (b"[]", "returned '0x" + "ab" * 32 + "' and a bytes, not a root and JSON"),
        (None, "and a NoneType, not a root and JSON"),
    ],
)
def test_a_dump_that_is_not_text_is_refused_and_leaves_nothing(store: Store, dump: object, message: str) -> None:
    _queue(store, _digests(3))
    pieces = iter(dump) if isinstance(dump, list) else dump  # pieces as an iterator, taken as they come
    with pytest.raises(InvariantError, match=message):
        store.build_batch(10, 1, ADDRESS, ADDRESS, lambda given: ("0x" + "ab" * 32, pieces))  # type: ignore[arg-type,return-value]
    _nothing_left(store, 3)


# ------------------------------------------------------------------------------------------------ memory

MEMORY_SIZE = 100_000
#: The build's Python allocation peak must stay under (the tree, with its leaves) + this share of the dump.
#: Measured at 100,000 with 1 MB parts and pieces of 4,096 entries (MB, tracemalloc): tree 26, dump 24; the
#: build's peak before (HEAD e057991: the dump made whole, then stored) 95 = tree + 2.83 x dump; with the
#: dump in parts 40 = tree + 0.57 x dump (the claimed ids and digests, a part being cut and a piece being made
#: beside the tree). At 200,000 with the real sizes (4 MB parts, 16,384 entries): 2.24 before, 0.74 after.
DUMP_SHARE_BOUND = 1.3


def _queue_fast(store: Store, digests: list[bytes]) -> None:
    """Queue credentials with these digests as plain rows (what ``queue_rows`` stores, without its checks)."""
    with store.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO credentials (credential_id, content_hash, digest, issuer, queued_at)"
                " VALUES (:id, :h, :d, 'did:example:i', 0)"
            ),
            [{"id": f"urn:m:{i}", "h": "0x" + d[::-1].hex(), "d": "0x" + d.hex()} for i, d in enumerate(digests)],
        )


def _tree_alone_mb(digests: Iterable[bytes]) -> float:
    """The Python allocations that a built tree of these digests holds (its leaves' bytes included)."""
    tracemalloc.start()
    try:
        tree = StandardMerkleTree.of([(bytes(d), i) for i, d in enumerate(digests)], list(LEAF_ENCODING))
        held = tracemalloc.get_traced_memory()[0] / 2**20
    finally:
        tracemalloc.stop()
    del tree
    return held


def test_building_a_large_batch_holds_the_tree_and_a_part_not_the_dump_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parts and pieces scaled to the test's batch (a quarter of the real sizes for a tenth of a million).
    monkeypatch.setattr(batches_module, "TREE_PART_CHARS", 2**20)
    monkeypatch.setattr(standard_module, "DUMP_PIECE_ENTRIES", 4096)
    digests = _digests(MEMORY_SIZE, seed=5)
    with fresh_database("sqlite", tmp_path) as url, Store(url) as store:
        _queue_fast(store, digests)
        tree_mb = _tree_alone_mb(digests)
        del digests
        tracemalloc.start()
        try:
            batch = store.build_batch(MEMORY_SIZE, 1, ADDRESS, ADDRESS, build_tree)
            peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()
        assert batch is not None
        dump_mb = sum(len(part) for _, _, part in _stored_parts(store, batch.id)) / 2**20
    share = (peak_mb - tree_mb) / dump_mb
    print(f"tree {tree_mb:.0f} MB, dump {dump_mb:.0f} MB, build peak {peak_mb:.0f} MB = tree + {share:.2f} x dump")
    assert share < DUMP_SHARE_BOUND
