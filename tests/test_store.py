"""The issuer database, every test on SQLite and on a real PostgreSQL (see ``support.db``)."""

from __future__ import annotations

import dataclasses
import json
import random
import secrets
import sqlite3
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sha3
from sqlalchemy import create_engine, inspect, text

from anchor.config import Settings
from anchor.errors import CredentialConflictError, InvalidInputError, StoreError
from anchor.issuing.store import (
    MIGRATIONS,
    QUERIED_COLUMNS,
    SCHEMA_VERSION,
    STREAM_CHUNK,
    NewAttempt,
    NewCredential,
    Store,
    batches,
)
from anchor.merkle import StandardMerkleTree

from support.db import BACKENDS, fresh_database

CHAIN = 31337
REGISTRY = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
SIGNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
LEAF_ENCODING = ["bytes32", "uint256"]


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    with Store(database) as opened:
        yield opened


def keccak(data: bytes) -> bytes:
    return bytes(sha3.keccak_256(data).digest())


def credential(number: int, content: str = "", size: int = 0) -> NewCredential:
    """A queueable credential; the same ``number`` and ``content`` is the same credential (any salt)."""
    credential_id = f"urn:uuid:{uuid.UUID(int=number)}"
    salt = secrets.token_hex(32)
    body = {"id": credential_id, "content": content, "padding": "x" * size}
    return NewCredential(
        credential_id=credential_id,
        content_hash=keccak(json.dumps(body).encode()),
        digest=keccak(json.dumps(body | {"anchorSalt": salt}).encode()),
        document=json.dumps(body | {"anchorSalt": salt}),
        issuer="did:web:uni.example",
    )


def merkle_tree(digests: list[bytes]) -> tuple[str, str]:
    tree = StandardMerkleTree.of([(digest, index) for index, digest in enumerate(digests)], LEAF_ENCODING)
    return tree.root, json.dumps(tree.dump())


def listing_tree(digests: list[bytes]) -> tuple[str, str]:
    """A cheap stand-in tree: the root hashes the digests in order, the dump lists them."""
    return "0x" + keccak(b"".join(digests)).hex(), json.dumps([digest.hex() for digest in digests])


def build(store: Store, max_size: int = 1000, tree: Callable[[list[bytes]], tuple[str, str]] = merkle_tree) -> Any:
    return store.build_batch(max_size, CHAIN, REGISTRY, SIGNER, tree)


# ------------------------------------------------------------------------------------------------ schema


def test_migrates_an_empty_database_to_every_queried_column(database: str) -> None:
    with Store(database) as store:
        assert store.schema_version() == SCHEMA_VERSION
        inspector = inspect(store.engine)
        for table_name, columns in QUERIED_COLUMNS.items():
            assert set(columns) <= {c["name"] for c in inspector.get_columns(table_name)}, table_name


def test_reopening_is_idempotent_and_keeps_the_data(database: str) -> None:
    with Store(database) as store:
        store.queue([credential(1)])
    with Store(database) as store, Store(database, migrate=False) as checked:
        assert store.find_credential(credential(1).credential_id) is not None
        assert checked.queued_count() == 1
        with store.engine.connect() as connection:
            versions = connection.execute(text("SELECT version FROM schema_version ORDER BY version")).scalars()
            assert list(versions) == [m.version for m in MIGRATIONS]


def test_workers_opening_an_empty_database_together_migrate_it_once(database: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(12)

    def open_store() -> None:
        try:
            barrier.wait()
            Store(database).close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Store(database) as store, store.engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM schema_version")).scalar() == len(MIGRATIONS)


def test_a_new_sqlite_file_locked_by_another_connection_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "issuer.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN EXCLUSIVE")  # as another process creating the file at the same moment
    timer = threading.Timer(0.5, other.execute, ["COMMIT"])
    timer.start()
    try:
        with Store(f"sqlite:///{path}") as store:
            assert store.schema_version() == SCHEMA_VERSION
            with store.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        timer.join()
        other.close()


def test_a_newer_schema_is_refused(database: str) -> None:
    with Store(database) as store, store.engine.begin() as connection:
        connection.execute(text("INSERT INTO schema_version VALUES (999, 'from the future', 0)"))
    with pytest.raises(StoreError, match="schema version 999, newer than this release"):
        Store(database)


def test_an_unmigrated_database_is_refused_without_migrate(database: str) -> None:
    with pytest.raises(StoreError, match=f"schema version 0, this release uses {SCHEMA_VERSION}"):
        Store(database, migrate=False)


def test_open_creates_the_sqlite_folder(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "a" / "b")
    with Store.open(settings) as store:
        assert store.dialect == "sqlite"
    assert (tmp_path / "a" / "b" / "anchor.db").is_file()


def test_urls_are_checked_and_postgres_means_psycopg() -> None:
    with pytest.raises(InvalidInputError, match="SQLite and PostgreSQL only"):
        Store("mysql://user@localhost/db")
    with pytest.raises(InvalidInputError, match="not a database URL"):
        Store("not a url")
    with pytest.raises(StoreError, match="cannot reach the issuer database") as caught:
        Store("postgresql://anchor:s3cret-value@127.0.0.1:1/anchor")
    assert "s3cret-value" not in str(caught.value)
    assert "postgresql+psycopg://anchor:****@127.0.0.1:1" in str(caught.value)


# ------------------------------------------------------------------------------------------------ queue


def test_queue_reports_each_credential_and_stores_it(store: Store) -> None:
    items = [credential(n) for n in range(3)]
    outcomes = store.queue(items)
    assert [(o.credential_id, o.status, o.state) for o in outcomes] == [
        (item.credential_id, "queued", "queued") for item in items
    ]
    assert store.queued_count() == 3
    found = store.find_credential(items[1].credential_id)
    assert found is not None
    assert (found.digest, found.content_hash, found.document, found.issuer) == (
        items[1].digest,
        items[1].content_hash,
        items[1].document,
        items[1].issuer,
    )
    assert (found.state, found.batch_id, found.batch_index) == ("queued", None, None)
    assert store.find_credential("urn:uuid:nobody") is None


def test_queue_is_all_or_nothing_across_chunks(store: Store) -> None:
    store.queue([credential(10_000)])
    items = [credential(n) for n in range(600)]
    broken = NewCredential(items[550].credential_id, items[550].content_hash, b"\x01" * 31, "{}", "did:web:x")
    with pytest.raises(InvalidInputError, match="digest must be 32 bytes"):
        store.queue([*items[:550], broken, *items[551:]])
    assert store.queued_count() == 1

    # A failure inside the database (a digest already taken) half-way rolls back the first chunk too.
    clash = NewCredential(items[550].credential_id, items[550].content_hash, items[3].digest, "{}", "did:web:x")
    with pytest.raises(StoreError, match="issuer database"):
        store.queue([*items[:550], clash])
    assert store.queued_count() == 1
    assert store.find_credential(items[0].credential_id) is None


def test_the_same_credential_twice_is_a_duplicate_in_every_state(store: Store) -> None:
    first = credential(1, "grade A")
    store.queue([first, credential(2)])
    again = credential(1, "grade A")  # same content, another salt
    assert again.digest != first.digest

    def outcome() -> tuple[str, str, int | None]:
        (result,) = store.queue([again])
        return result.status, result.state, result.batch_id

    assert outcome() == ("duplicate", "queued", None)
    batch = build(store)
    assert outcome() == ("duplicate", "batched", batch.id)
    store.update_batch(batch.id, state="anchored")
    assert outcome() == ("duplicate", "anchored", batch.id)
    kept = store.find_credential(first.credential_id)
    assert kept is not None
    assert (kept.digest, kept.document, kept.state) == (first.digest, first.document, "anchored")
    assert store.queued_count() == 0


def test_a_duplicate_within_one_call_is_queued_once(store: Store) -> None:
    outcomes = store.queue([credential(1), credential(1), credential(2)])
    assert [o.status for o in outcomes] == ["queued", "duplicate", "queued"]
    assert store.queued_count() == 2


def test_other_content_under_a_used_id_is_a_conflict_and_nothing_is_queued(store: Store) -> None:
    store.queue([credential(1, "grade A")])
    batch = build(store)
    store.update_batch(batch.id, state="anchored")
    with pytest.raises(CredentialConflictError) as caught:
        store.queue([credential(2), credential(1, "grade B"), credential(3)])
    assert caught.value.conflicts == {credential(1).credential_id: f"batch {batch.id} (anchored)"}
    assert store.queued_count() == 0
    with pytest.raises(CredentialConflictError, match="earlier in"):
        store.queue([credential(4, "one"), credential(4, "two")])
    assert store.queued_count() == 0


def test_skip_conflicts_queues_the_rest(store: Store) -> None:
    store.queue([credential(1, "grade A")])
    outcomes = store.queue([credential(2), credential(1, "grade B")], skip_conflicts=True)
    assert [(o.status, o.state) for o in outcomes] == [("queued", "queued"), ("conflict", "queued")]
    assert store.queued_count() == 2
    record = store.find_credential(credential(1).credential_id)
    assert record is not None
    assert json.loads(record.document)["content"] == "grade A"


# ------------------------------------------------------------------------------------------------ batches


def test_build_batch_claims_in_queue_order_with_contiguous_indices(store: Store) -> None:
    items = [credential(n) for n in range(25)]
    store.queue(items[:10])
    store.queue(items[10:])
    seen: list[list[bytes]] = []

    def tree(digests: list[bytes]) -> tuple[str, str]:
        seen.append(digests)
        return merkle_tree(digests)

    first = build(store, 10, tree)
    second = build(store, 10, tree)
    third = build(store, 10, tree)
    assert build(store, 10, tree) is None
    assert [b.size for b in (first, second, third)] == [10, 10, 5]
    assert seen == [[item.digest for item in items[i : i + 10]] for i in (0, 10, 20)]
    assert (first.state, first.chain_id, first.registry, first.signer) == (
        "built",
        CHAIN,
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        SIGNER,
    )
    listed = list(store.batch_credentials(second.id))
    assert [(i, c) for i, c, _ in listed] == [(i, items[10 + i].credential_id) for i in range(10)]
    assert [d for _, _, d in listed] == [item.document for item in items[10:20]]
    for index, item in enumerate(items[20:]):
        record = store.find_credential(item.credential_id)
        assert record is not None
        assert (record.batch_id, record.batch_index, record.state) == (third.id, index, "batched")
    assert store.credential_counts() == {"queued": 0, "batched": 25, "anchored": 0}


def test_the_stored_tree_is_the_built_one(store: Store) -> None:
    items = [credential(n) for n in range(7)]
    store.queue(items)
    batch = build(store)
    tree = StandardMerkleTree.load(json.loads(store.tree_dump(batch.id)))
    assert tree.root == batch.root
    for index, item in enumerate(items):
        assert tree.at(index) == (item.digest, index)
    with pytest.raises(InvalidInputError, match="no batch 999"):
        store.tree_dump(999)


def test_a_failing_tree_or_a_root_clash_changes_nothing(store: Store) -> None:
    store.queue([credential(1), credential(2)])

    def broken(digests: list[bytes]) -> tuple[str, str]:
        raise RuntimeError("tree failed")

    with pytest.raises(RuntimeError, match="tree failed"):
        build(store, tree=broken)
    assert store.queued_count() == 2
    assert store.list_batches() == []

    def constant(digests: list[bytes]) -> tuple[str, str]:
        return "0x" + "ab" * 32, "[]"

    build(store, 1, constant)
    with pytest.raises(StoreError):
        build(store, 1, constant)  # the same root twice on one registry
    assert store.queued_count() == 1
    assert len(store.list_batches()) == 1


def test_build_batch_checks_its_arguments(store: Store) -> None:
    store.queue([credential(1)])
    with pytest.raises(InvalidInputError, match="at least one"):
        build(store, 0)
    with pytest.raises(InvalidInputError, match="not an address"):
        store.build_batch(10, CHAIN, "0x1234", SIGNER, merkle_tree)
    assert store.queued_count() == 1


def test_a_mistyped_checksum_is_refused_not_rewritten(store: Store) -> None:
    """A mixed-case address must carry its EIP-55 checksum: one letter's case changed is another address."""
    mistyped = SIGNER.replace("C5", "c5", 1)
    assert mistyped != SIGNER
    store.queue([credential(1)])
    with pytest.raises(InvalidInputError, match="not an address"):
        store.build_batch(10, CHAIN, REGISTRY, mistyped, merkle_tree)
    with pytest.raises(InvalidInputError, match="not an address"):
        store.create_revocation(CHAIN, mistyped, 0, [1], 0)
    assert store.queued_count() == 1
    assert store.unfinished_revocations() == []


def test_two_workers_never_put_a_credential_in_two_batches(database: str) -> None:
    """Two workers (own Store, own connections) build batches while a third process-alike queues."""
    total, errors = 3000, []
    producer, workers = Store(database), [Store(database), Store(database)]
    queueing = threading.Event()
    queueing.set()
    built: list[list[int]] = [[], []]

    def slow_tree(digests: list[bytes]) -> tuple[str, str]:
        time.sleep(0.002)  # keep the transaction open so the workers overlap
        return listing_tree(digests)

    def produce() -> None:
        try:
            for start in range(0, total, 100):
                producer.queue([credential(n) for n in range(start, start + 100)])
                time.sleep(0.005)
        except BaseException as error:
            errors.append(error)
        finally:
            queueing.clear()

    def work(number: int) -> None:
        chooser = random.Random(number)
        try:
            while True:
                batch = workers[number].build_batch(chooser.randint(1, 120), CHAIN, REGISTRY, SIGNER, slow_tree)
                if batch is not None:
                    built[number].append(batch.id)
                elif not queueing.is_set() and workers[number].queued_count() == 0:
                    return
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=produce)] + [threading.Thread(target=work, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert built[0] or built[1], "no worker built a batch"
    if not database.startswith("sqlite"):
        # PostgreSQL claims rows with SKIP LOCKED, so both workers make progress. SQLite serialises writers
        # with no fairness: on a loaded machine one worker can win every time, which is correct too.
        assert built[0], "worker 0 built no batch"
        assert built[1], "worker 1 built no batch"
    seen: dict[str, int] = {}
    with Store(database) as store:
        for batch_id in built[0] + built[1]:
            batch = store.get_batch(batch_id)
            rows = list(store.batch_credentials(batch_id))
            assert [index for index, _, _ in rows] == list(range(batch.size))
            digests = [store.find_credential(credential_id) for _, credential_id, _ in rows]
            assert [record.digest.hex() for record in digests if record] == json.loads(store.tree_dump(batch_id))
            for _, credential_id, _ in rows:
                assert credential_id not in seen, f"{credential_id} in batches {seen[credential_id]} and {batch_id}"
                seen[credential_id] = batch_id
        assert len(seen) == total
        assert store.queued_count() == 0
    for opened in (producer, *workers):
        opened.close()


def test_batch_credentials_are_streamed(store: Store, database: str) -> None:
    count, size = 10 * STREAM_CHUNK, 2000
    store.queue([credential(n, size=size) for n in range(count)])
    batch = build(store, count, listing_tree)
    rows = store.batch_credentials(batch.id)
    tracemalloc.start()
    try:
        first = next(rows)
        if store.dialect == "postgresql":  # a server-side cursor: the server holds the rest
            monitor = create_engine(database)
            with monitor.connect() as connection:
                statements = connection.execute(
                    text("SELECT query FROM pg_stat_activity WHERE datname = current_database()")
                ).scalars()
                assert any(query.startswith("FETCH FORWARD") for query in statements)
            monitor.dispose()
        indices = [first[0]] + [index for index, _, _ in rows]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        rows.close()
    assert indices == list(range(count))
    # About one chunk of rows at a time, not the whole batch.
    assert peak < 3 * STREAM_CHUNK * size, f"{peak:,} bytes held for {count * size:,} bytes of documents"


def test_batch_documents_are_those_of_the_indices_asked_for_in_this_batch_only(store: Store) -> None:
    """The receipts' query (through the DB-API: ``?`` on SQLite, ``%s`` on PostgreSQL): the indices asked
    for, in any order, of this batch and no other; an index the batch does not hold is absent."""
    store.queue([credential(n, content="first") for n in range(30)])
    first = build(store, 30)
    store.queue([credential(100 + n, content="second") for n in range(12)])
    second = build(store, 12)
    stored = {index: (credential_id, document) for index, credential_id, document in store.batch_credentials(first.id)}
    wanted = [17, 3, 29, 0, 8]
    assert store.batch_documents(first.id, wanted) == {index: stored[index] for index in wanted}
    found = store.batch_documents(second.id, [0, 11, 12, 29])  # 12 and 29 are only in the first batch
    assert sorted(found) == [0, 11]
    assert all(json.loads(document)["content"] == "second" for _, document in found.values())
    assert store.batch_documents(first.id, list(range(30))) == stored  # one query of the whole batch


def test_batch_documents_beyond_one_query_are_fetched_in_parts(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.queue([credential(n) for n in range(30)])
    batch = build(store, 30)
    stored = {index: (credential_id, document) for index, credential_id, document in store.batch_credentials(batch.id)}
    monkeypatch.setattr(batches, "_DOCUMENTS_PER_QUERY", 7)
    sizes: list[int] = []
    original = batches.select_in

    def select_in(connection: Any, sql: str, leading: tuple[Any, ...], values: tuple[Any, ...]) -> list[Any]:
        sizes.append(len(values))
        return original(connection, sql, leading, values)

    monkeypatch.setattr(batches, "select_in", select_in)
    assert store.batch_documents(batch.id, range(29, -1, -1)) == stored
    assert sizes == [7, 7, 7, 7, 2]


# ------------------------------------------------------------------------------------------------ state


def test_batches_move_through_their_states(store: Store) -> None:
    store.queue([credential(n) for n in range(3)])
    first = build(store, 1)
    second = build(store, 1)
    other = store.build_batch(1, 80002, REGISTRY, SIGNER, merkle_tree)
    assert [b.id for b in store.unfinished_batches(CHAIN, REGISTRY.upper().replace("0X", "0x"))] == [
        first.id,
        second.id,
    ]
    assert [b.id for b in store.unfinished_batches(80002, REGISTRY)] == [other.id]
    updated = store.update_batch(
        first.id,
        state="anchored",
        onchain_batch_id=7,
        tx_hash="0x" + "12" * 32,
        block_number=99,
        anchored_at=1_700_000_000,
        gas_used=70_000,
        fee_wei=2**70,  # more than fits a 64-bit integer column
        expected_state="built",
    )
    assert (updated.state, updated.onchain_batch_id, updated.fee_wei, updated.anchored_at) == (
        "anchored",
        7,
        2**70,
        1_700_000_000,
    )
    assert store.get_batch(first.id) == updated
    assert updated.updated_at >= updated.created_at
    assert [b.id for b in store.unfinished_batches(CHAIN, REGISTRY)] == [second.id]
    assert [b.id for b in store.list_batches(2)] == [other.id, second.id]
    with pytest.raises(StoreError, match="is anchored, not built"):
        store.update_batch(first.id, state="sent", expected_state="built")
    with pytest.raises(InvalidInputError, match="batch state 'lost'"):
        store.update_batch(second.id, state="lost")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="no batch 999"):
        store.get_batch(999)
    assert store.credential_counts() == {"queued": 0, "batched": 2, "anchored": 1}


def attempt(batch_id: int | None = None, revocation_id: int | None = None, nonce: int = 0) -> NewAttempt:
    return NewAttempt(
        purpose="anchor" if batch_id is not None else "revoke",
        batch_id=batch_id,
        revocation_id=revocation_id,
        signer=SIGNER.lower(),
        nonce=nonce,
        tx_hash="0x" + secrets.token_hex(32),
        raw_tx="0x02f8" + secrets.token_hex(100),
        max_fee_per_gas=2**64 + 1,
        max_priority_fee_per_gas=30 * 10**9,
    )


def test_attempts_are_journaled_with_their_batch_state(store: Store) -> None:
    store.queue([credential(1)])
    batch = build(store)
    first = store.record_attempt(attempt(batch.id))
    assert store.get_batch(batch.id).state == "signed"
    assert (first.state, first.signer, first.max_fee_per_gas) == ("signed", SIGNER, 2**64 + 1)
    store.update_batch(batch.id, state="sent")
    replacement = store.record_attempt(attempt(batch.id))
    assert store.get_batch(batch.id).state == "signed"
    store.set_attempt_state(first.id, "replaced")
    journaled = store.attempts_for_batch(batch.id)
    assert [(a.id, a.state) for a in journaled] == [(first.id, "replaced"), (replacement.id, "signed")]
    assert journaled[1].raw_tx == replacement.raw_tx

    again = NewAttempt(**{f: getattr(replacement, f) for f in NewAttempt.__dataclass_fields__})
    assert store.record_attempt(again) == store.attempts_for_batch(batch.id)[1]  # idempotent
    assert len(store.attempts_for_batch(batch.id)) == 2

    store.update_batch(batch.id, state="anchored")
    with pytest.raises(StoreError, match="anchored already"):
        store.record_attempt(attempt(batch.id))
    with pytest.raises(InvalidInputError, match="no batch 999"):
        store.record_attempt(attempt(999))
    with pytest.raises(InvalidInputError, match="names exactly its batch"):
        store.record_attempt(dataclasses.replace(attempt(batch.id), revocation_id=1))
    with pytest.raises(InvalidInputError, match="attempt state 'lost'"):
        store.set_attempt_state(first.id, "lost")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="no transaction attempt 999"):
        store.set_attempt_state(999, "mined")


def test_revocations_are_recorded_and_resumable(store: Store) -> None:
    some = store.create_revocation(CHAIN, REGISTRY, 3, [5, 1, 300], 2)
    whole = store.create_revocation(CHAIN, REGISTRY, 4, [], 1)
    assert (some.indices, some.reason, some.state, some.registry) == (
        (5, 1, 300),
        2,
        "pending",
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    )
    assert whole.indices == ()
    assert [r.id for r in store.unfinished_revocations()] == [some.id, whole.id]
    sent = store.record_attempt(attempt(revocation_id=some.id))
    assert store.get_revocation(some.id).state == "signed"
    assert [a.id for a in store.attempts_for_revocation(some.id)] == [sent.id]
    done = store.update_revocation(some.id, state="done", tx_hash=sent.tx_hash, block_number=12)
    assert (done.state, done.tx_hash, done.block_number) == ("done", sent.tx_hash, 12)
    assert [r.id for r in store.unfinished_revocations()] == [whole.id]
    with pytest.raises(StoreError, match="done already"):
        store.record_attempt(attempt(revocation_id=some.id))
    with pytest.raises(InvalidInputError, match="non-negative"):
        store.create_revocation(CHAIN, REGISTRY, 3, [-1], 2)
    with pytest.raises(InvalidInputError, match="no revocation 999"):
        store.update_revocation(999, state="done")


# ------------------------------------------------------------------------------------------------ leases


def test_a_lease_has_one_owner_until_it_expires(store: Store) -> None:
    now = 1_000_000.0
    assert store.acquire_lease("signer:1", "a", 60, now=now)
    assert not store.acquire_lease("signer:1", "b", 60, now=now + 59)
    assert store.lease_owner("signer:1", now=now + 59) == "a"
    assert store.acquire_lease("signer:1", "a", 60, now=now + 30)  # ours: extended to now + 90
    assert not store.acquire_lease("signer:1", "b", 60, now=now + 89)
    assert store.renew_lease("signer:1", "a", 60, now=now + 80)  # to now + 140
    assert not store.acquire_lease("signer:1", "b", 60, now=now + 139)
    assert store.lease_owner("signer:1", now=now + 140) is None
    assert store.acquire_lease("signer:1", "b", 60, now=now + 140)  # expired: taken over
    assert not store.renew_lease("signer:1", "a", 60, now=now + 141)
    assert not store.release_lease("signer:1", "a")
    assert store.acquire_lease("signer:2", "a", 60, now=now + 141)  # another name is another lease
    assert store.release_lease("signer:1", "b")
    assert store.acquire_lease("signer:1", "a", 60, now=now + 142)


@pytest.mark.parametrize("held_by", [None, "expired"])
def test_of_racing_workers_exactly_one_takes_a_lease(store: Store, database: str, held_by: str | None) -> None:
    if held_by is not None:
        assert store.acquire_lease("signer:1", held_by, 1, now=time.time() - 10)
    stores = [Store(database) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    won: list[str] = []
    errors: list[BaseException] = []

    def race(number: int) -> None:
        try:
            barrier.wait()
            if stores[number].acquire_lease("signer:1", f"worker-{number}", 60):
                won.append(f"worker-{number}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for opened in stores:
        opened.close()
    assert errors == []
    assert len(won) == 1
    assert store.lease_owner("signer:1") == won[0]
