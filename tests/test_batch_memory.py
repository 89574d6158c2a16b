"""Building a batch and loading its tree for receipts: the same bytes as ever, in a fraction of the memory.

``Store.build_batch`` reads the claimed ids and digests into compact arrays and ``build_tree`` drops the
tree before joining its dump; ``receipts.batch_tree`` parses the stored dump a part at a time. The root,
the dump (byte for byte) and the indices must be those the plain way gives, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from anchor.credentials.receipt import LEAF_ENCODING
from anchor.errors import InvariantError
from anchor.issuing.batch import build_tree
from anchor.issuing.receipts import batch_tree
from anchor.issuing.store import Store
from anchor.merkle import StandardMerkleTree

from support.db import BACKENDS, fresh_database

ADDRESS = "0x" + "22" * 20


def _digests(count: int, seed: int = 0) -> list[bytes]:
    """``count`` distinct pseudo-random 32-byte digests (repeatable)."""
    blob = bytearray()
    state = seed.to_bytes(8, "big")
    while len(blob) < 32 * count:
        state = hashlib.sha256(state).digest()
        blob += state
    return [bytes(blob[i : i + 32]) for i in range(0, 32 * count, 32)]


def _queue(store: Store, digests: list[bytes], prefix: str = "c") -> None:
    store.queue_rows(
        (f"urn:{prefix}:{i}", "0x" + d[::-1].hex(), "0x" + d.hex(), "did:example:i", "{}", None, None)
        for i, d in enumerate(digests)
    )


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with fresh_database(request.param, tmp_path) as url, Store(url) as opened:
        yield opened


def _reference(digests: list[bytes]) -> tuple[str, str]:
    """Root and dump as built before: the plain tree of ``(digest, index)`` and ``json.dumps`` of its dump."""
    tree = StandardMerkleTree.of([(d, i) for i, d in enumerate(digests)], list(LEAF_ENCODING))
    return tree.root, json.dumps(tree.dump())


def _indices(store: Store, batch_id: int) -> list[tuple[str, int]]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT credential_id, batch_index FROM credentials WHERE batch_id = :b ORDER BY id"),
            {"b": batch_id},
        ).all()
    return [(str(row[0]), int(row[1])) for row in rows]


@pytest.mark.parametrize("size", [1, 2, 3, 1000, 4097])
def test_stored_root_dump_and_indices_are_those_of_the_plain_way(store: Store, size: int) -> None:
    digests = _digests(size, seed=size)
    _queue(store, digests)
    batch = store.build_batch(size + 5, 1, ADDRESS, ADDRESS, build_tree)
    assert batch is not None
    root, dump = _reference(digests)
    assert (batch.root, batch.size) == (root, size)
    assert store.tree_dump(batch.id) == dump
    assert _indices(store, batch.id) == [(f"urn:c:{i}", i) for i in range(size)]
    loaded = batch_tree(store, batch)
    assert loaded.root == root
    assert loaded.dump_json() == dump
    assert [loaded.at(i) for i in range(size)] == [(d, i) for i, d in enumerate(digests)]


def test_a_second_batch_takes_the_rest_in_queue_order(store: Store) -> None:
    digests = _digests(2500, seed=7)
    _queue(store, digests)
    first = store.build_batch(1000, 1, ADDRESS, ADDRESS, build_tree)
    second = store.build_batch(5000, 1, ADDRESS, ADDRESS, build_tree)
    assert first is not None
    assert second is not None
    assert store.tree_dump(second.id) == _reference(digests[1000:])[1]
    assert _indices(store, second.id) == [(f"urn:c:{i}", i - 1000) for i in range(1000, 2500)]
    assert store.build_batch(10, 1, ADDRESS, ADDRESS, build_tree) is None


def test_a_tampered_stored_digest_is_named(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url, Store(url) as store:
        _queue(store, _digests(3))
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE credentials SET digest = '0x12' WHERE credential_id = 'urn:c:1'"))
        with pytest.raises(InvariantError, match=r"credential row 2: stored digest '0x12'"):
            store.build_batch(10, 1, ADDRESS, ADDRESS, build_tree)
        assert store.queued_count() == 3


def test_a_tampered_stored_dump_is_refused_by_load_as_before(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url, Store(url) as store:
        _queue(store, _digests(5))
        batch = store.build_batch(10, 1, ADDRESS, ADDRESS, build_tree)
        assert batch is not None
        dump = json.loads(store.tree_dump(batch.id))
        for bad, message in (
            ({**dump, "tree": [*dump["tree"][:-1], "0x" + "00" * 32]}, "does not hash to its leaf"),
            ({**dump, "tree": [*dump["tree"][:-1], "0x" + "zz" * 32]}, r"tree\[8\]: expected 0x"),
            ({**dump, "values": [*dump["values"][:-1], {"value": ["0x12", "4"], "treeIndex": 4}]}, r"values\[4\]"),
            ({"format": "standard-v1", "leafEncoding": list(LEAF_ENCODING)}, "needs a list 'tree'"),
        ):
            with store.engine.begin() as connection:
                connection.execute(text("UPDATE batch_tree_parts SET text = :d"), {"d": json.dumps(bad)})
            with pytest.raises(Exception, match=message):
                batch_tree(store, batch)


MEMORY_SIZE = 100_000
#: Python allocations (tracemalloc peak) of building a batch of MEMORY_SIZE, and of loading its tree. Measured
#: (MB) before (f89c496): build 117, load 135; after: build 95, load 100. The bounds sit between.
BUILD_BOUND_MB = 106
LOAD_BOUND_MB = 118


def test_building_and_loading_a_large_batch_stays_under_a_memory_bound(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url, Store(url) as store:
        _queue(store, _digests(MEMORY_SIZE))
        tracemalloc.start()
        try:
            batch = store.build_batch(MEMORY_SIZE, 1, ADDRESS, ADDRESS, build_tree)
            build_peak = tracemalloc.get_traced_memory()[1] / 2**20
            assert batch is not None
            tracemalloc.reset_peak()
            tree = batch_tree(store, batch)
            load_peak = tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()
        print(f"build peak {build_peak:.0f} MB, load peak {load_peak:.0f} MB")
        assert tree.root == batch.root
        assert build_peak < BUILD_BOUND_MB
        assert load_peak < LOAD_BOUND_MB


def test_a_large_batch_does_not_leave_its_dump_bound_in_a_pooled_sqlite_connection(tmp_path: Path) -> None:
    """SQLite keeps a cached statement's bound values (its copy of the dump) until the statement runs again."""
    with fresh_database("sqlite", tmp_path) as url, Store(url) as store:
        _queue(store, _digests(10_000))
        assert store.build_batch(10_000, 1, ADDRESS, ADDRESS, build_tree) is not None
        assert store.engine.pool.checkedin() == 0  # type: ignore[attr-defined]  # QueuePool
        _queue(store, _digests(10, seed=1), prefix="small")
        assert store.build_batch(10, 1, ADDRESS, ADDRESS, build_tree) is not None
        assert store.engine.pool.checkedin() == 1  # type: ignore[attr-defined]  # small batches keep it
