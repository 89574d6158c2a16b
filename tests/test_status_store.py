"""Status list entries in the issuer database: handed out once, across lists, workers and crashes (SQLite and
PostgreSQL)."""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sha3
from sqlalchemy import create_engine, text

from anchor.errors import InvalidInputError, StoreError
from anchor.issuing.store import NewCredential, StatusListEntry, Store
from anchor.merkle import StandardMerkleTree

from support.db import BACKENDS, fresh_database

ISSUER = "did:web:uni.example"
OTHER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
CHAIN = 31337
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
SIGNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


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


def credential(number: int, slot: tuple[int, int] | None, issuer: str = ISSUER) -> NewCredential:
    credential_id = f"urn:uuid:{uuid.UUID(int=number)}"
    body = json.dumps({"id": credential_id, "issuer": issuer})
    return NewCredential(
        credential_id=credential_id,
        content_hash=keccak(body.encode()),
        digest=keccak(body.encode() + b"salt"),
        document=body,
        issuer=issuer,
        status_list=None if slot is None else slot[0],
        status_index=None if slot is None else slot[1],
    )


def merkle_tree(digests: list[bytes]) -> tuple[str, str]:
    tree = StandardMerkleTree.of([(digest, index) for index, digest in enumerate(digests)], ["bytes32", "uint256"])
    return tree.root, json.dumps(tree.dump())


def pairs(store: Store, issuer: str, count: int, list_size: int) -> list[tuple[int, int]]:
    return [pair for slots in store.reserve_status_indices(issuer, count, list_size=list_size) for pair in slots]


def test_entries_fill_a_list_then_open_the_next(store: Store) -> None:
    first = pairs(store, ISSUER, 7, list_size=10)
    assert {number for number, _ in first} == {first[0][0]}
    more = pairs(store, ISSUER, 8, list_size=10)  # 3 left in the first list, 5 in a new one
    numbers = sorted({number for number, _ in first + more})
    assert len(numbers) == 2
    by_list = {number: sorted(index for n, index in first + more if n == number) for number in numbers}
    assert by_list[numbers[0]] == list(range(10))  # the whole first list, each index once
    assert len(by_list[numbers[1]]) == 5
    assert len(set(by_list[numbers[1]])) == 5
    assert all(0 <= index < 10 for index in by_list[numbers[1]])
    lists = store.status_lists()
    assert [(record.number, record.issuer, record.size, record.used) for record in lists] == [
        (numbers[0], ISSUER, 10, 10),
        (numbers[1], ISSUER, 10, 5),
    ]
    # a list keeps the size it was opened with; a new size applies to the next list
    later = pairs(store, ISSUER, 6, list_size=12)
    assert [number for number, _ in later] == [numbers[1]] * 5 + [numbers[1] + 1]
    assert store.status_lists()[-1].size == 12
    assert store.reserve_status_indices(ISSUER, 0) == []


def test_a_big_reservation_spans_lists_and_reports_them_in_order(store: Store) -> None:
    reserved = store.reserve_status_indices(ISSUER, 25, list_size=10)
    assert [len(slots) for slots in reserved] == [10, 10, 5]
    assert [slots.positions for slots in reserved] == [range(0, 10), range(0, 10), range(0, 5)]
    assert len({pair for slots in reserved for pair in slots}) == 25


def test_issuers_have_lists_of_their_own(store: Store) -> None:
    mine = pairs(store, ISSUER, 3, list_size=10)
    theirs = pairs(store, OTHER, 3, list_size=10)
    assert {number for number, _ in mine}.isdisjoint({number for number, _ in theirs})
    assert [record.issuer for record in store.status_lists(OTHER)] == [OTHER]


@pytest.mark.parametrize(
    ("issuer", "count", "size", "message"),
    [
        ("", 1, 10, "belongs to an issuer"),
        (ISSUER, -1, 10, "integer >= 0"),
        (ISSUER, True, 10, "integer >= 0"),
        (ISSUER, 1, 0, "1 to 134217728 entries"),
        (ISSUER, 1, 2**40, "1 to 134217728 entries"),
    ],
)
def test_bad_reservations_are_refused(store: Store, issuer: str, count: int, size: int, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        store.reserve_status_indices(issuer, count, list_size=size)


def test_entries_handed_out_before_a_crash_are_never_handed_out_again(database: str) -> None:
    """The reservation commits before the entries are used: a worker that dies holding them loses them (a gap)."""
    with Store(database) as first:
        lost = pairs(first, ISSUER, 6, list_size=10)
    # the process died before queueing anything: a new one continues after the lost entries
    with Store(database) as second:
        after = pairs(second, ISSUER, 4, list_size=10)
        assert set(lost).isdisjoint(after)
        assert second.status_lists()[0].used == 10


def test_a_failed_reservation_hands_out_nothing(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import anchor.issuing.store.status as status_module

    with Store(database) as store:
        pairs(store, ISSUER, 2, list_size=10)

        def broken(length: int) -> bytes:
            raise RuntimeError("no randomness")

        monkeypatch.setattr(status_module.secrets, "token_bytes", broken)  # type: ignore[attr-defined]
        with pytest.raises(RuntimeError):
            store.reserve_status_indices(ISSUER, 12, list_size=10)  # 8 from the list, then a new list fails
        assert [(record.size, record.used) for record in store.status_lists()] == [(10, 2)]


def test_two_workers_reserving_at_once_get_disjoint_entries(database: str) -> None:
    workers = [Store(database) for _ in range(3)]
    barrier = threading.Barrier(len(workers))
    got: list[list[tuple[int, int]]] = [[] for _ in workers]
    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            barrier.wait()
            for round_number in range(25):
                got[number] += pairs(workers[number], ISSUER, 1 + (round_number + number) % 7, list_size=40)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.close()
    assert errors == []
    every = [pair for chunk in got for pair in chunk]
    assert len(every) == sum(1 + (r + n) % 7 for n in range(3) for r in range(25))
    assert len(set(every)) == len(every), "an entry was handed out twice"
    with Store(database) as store:
        lists = store.status_lists()
        assert sum(record.used for record in lists) == len(every)
        assert all(record.used == record.size for record in lists[:-1])


def test_queued_credentials_record_their_entry_and_where_they_are_anchored(store: Store) -> None:
    slots = pairs(store, ISSUER, 4, list_size=10)
    number = slots[0][0]
    store.queue([credential(n, slots[n]) for n in range(3)] + [credential(9, None)])
    batch = store.build_batch(2, CHAIN, REGISTRY, SIGNER, merkle_tree)
    assert batch is not None
    store.update_batch(
        batch.id,
        state="anchored",
        onchain_batch_id=5,
        tx_hash="0x" + "ab" * 32,
        block_number=12,
        anchored_at=1_700_000_000,
    )
    entries = sorted(store.status_list_entries(number), key=lambda entry: entry.credential_id)
    assert entries == [
        StatusListEntry(slots[0][1], credential(0, None).credential_id, CHAIN, REGISTRY, 5, 0),
        StatusListEntry(slots[1][1], credential(1, None).credential_id, CHAIN, REGISTRY, 5, 1),
        StatusListEntry(slots[2][1], credential(2, None).credential_id, None, None, None, None),
    ]
    assert list(store.status_list_entries(number + 100)) == []


def test_an_entry_is_recorded_once_and_only_in_its_issuers_list(store: Store) -> None:
    (number, index), second = pairs(store, ISSUER, 2, list_size=10)
    store.queue([credential(1, (number, index))])
    with pytest.raises(StoreError, match=r"(?i)unique"):
        store.queue([credential(2, (number, index))])
    with pytest.raises(InvalidInputError, match=f"status list {number} is 'did:web:uni.example''s, not"):
        store.queue([credential(3, second, issuer=OTHER)])
    with pytest.raises(InvalidInputError, match="status index 10 is outside list"):
        store.queue([credential(4, (number, 10))])
    with pytest.raises(InvalidInputError, match="there is no status list 999"):
        store.queue([credential(5, (999, 0))])
    half = dataclasses.replace(credential(6, None), status_list=number)
    with pytest.raises(InvalidInputError, match="both integers >= 0, or both None"):
        store.queue([half])
    assert store.queued_count() == 1


def test_the_database_refuses_half_an_entry(database: str, store: Store) -> None:
    """The CHECK constraint holds even for a writer that skips the store's own checks."""
    (number, _), *_ = pairs(store, ISSUER, 1, list_size=10)
    store.queue([credential(1, None)])
    engine = create_engine(store.url)
    try:
        with pytest.raises(Exception, match=r"(?i)ck_credentials_status|constraint"), engine.begin() as connection:
            connection.execute(text("UPDATE credentials SET status_list = :n"), {"n": number})
    finally:
        engine.dispose()


def test_the_intake_entry_source_reserves_and_names_entries(store: Store) -> None:
    from anchor.credentials.status_list import parse_status_entry, status_slot
    from anchor.issuing.status_lists import status_entry_source

    base = "https://uni.example/status"
    next_entries = status_entry_source(store, ISSUER, base, 10)
    entries = next_entries(12)
    assert len(entries) == 12
    slots = [status_slot(entry, base) for entry in entries]
    assert len(set(slots)) == 12
    assert {number for number, _ in slots} == {record.number for record in store.status_lists(ISSUER)}
    assert parse_status_entry(entries[0]).list_url == f"{base}/{slots[0][0]}.json"
    with pytest.raises(InvalidInputError, match="not an https URL"):
        status_entry_source(store, ISSUER, "http://uni.example/status", 10)


def test_a_database_of_the_previous_version_with_credentials_is_upgraded(database: str) -> None:
    from sqlalchemy import insert

    from anchor.issuing.store.engine import _normalise_url
    from anchor.issuing.store.schema import MIGRATIONS, _versions

    engine = create_engine(_normalise_url(database))
    try:
        with engine.begin() as connection:
            _versions.create(connection)
            for migration in MIGRATIONS:
                if migration.version >= 4:
                    break
                migration.apply(connection)
                connection.execute(
                    insert(_versions).values(version=migration.version, description=migration.description, applied_at=0)
                )
            old = credential(1, None)
            connection.execute(
                text(
                    "INSERT INTO credentials (credential_id, content_hash, digest, issuer, queued_at)"
                    " VALUES (:id, :content, :digest, :issuer, 0)"
                ),
                {
                    "id": old.credential_id,
                    "content": "0x" + old.content_hash.hex(),
                    "digest": "0x" + old.digest.hex(),
                    "issuer": ISSUER,
                },
            )
            connection.execute(
                text("INSERT INTO credential_documents (credential, document) SELECT id, :doc FROM credentials"),
                {"doc": old.document},
            )
    finally:
        engine.dispose()
    with Store(database) as store:
        assert store.schema_version() >= 4
        found = store.find_credential(old.credential_id)
        assert found is not None
        slots = pairs(store, ISSUER, 1, list_size=10)
        store.queue([credential(2, slots[0])])
        assert store.queued_count() == 2


class _CappedEndpoint:
    """A JSON-RPC endpoint that refuses batches of more than ``cap`` requests (as public endpoints do)."""

    shown_url = "https://capped.example"

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.sizes: list[int] = []

    def batch(self, requests: list[tuple[str, list[object]]]) -> list[object]:
        self.sizes.append(len(requests))
        if len(requests) > self.cap:
            from anchor.chain.jsonrpc import RpcError

            raise RpcError(f"batch of {len(requests)} is too large")
        return ["0x" + f"{n:064x}" for n in range(len(requests))]


def test_reads_fall_back_to_smaller_batches_when_an_endpoint_caps_them() -> None:
    from anchor.issuing.status_lists import READ_CHUNK, ChainRevocations

    endpoint = _CappedEndpoint(cap=10)
    chain = ChainRevocations(endpoint, "finalized")  # type: ignore[arg-type]
    chain._block = 7
    answers = chain._calls([(REGISTRY, "0x00")] * 30)
    assert len(answers) == 30
    assert endpoint.sizes[0] == min(READ_CHUNK, 30)
    assert sum(size for size in endpoint.sizes if size <= 10) == 30  # the answered batches, each within the cap
    refusing = ChainRevocations(_CappedEndpoint(cap=0), "finalized")  # type: ignore[arg-type]
    refusing._block = 7
    with pytest.raises(Exception, match="too large"):
        refusing._calls([(REGISTRY, "0x00")])
