"""Batches: queued credentials claimed under one Merkle tree, and the batch's way to being anchored.

Concurrency. On PostgreSQL, :meth:`Store.build_batch` claims queued credentials with
``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent workers take disjoint sets and a credential lands in
exactly one batch; on SQLite the writers of batches take turns (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import re
import time
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any, Final

from sqlalchemy import Connection, Row, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from anchor.errors import InvalidInputError, InvariantError, StoreError
from anchor.issuing.store.engine import StoreBase, select_in
from anchor.issuing.store.records import UNFINISHED_BATCH_STATES, BatchRecord, BatchState
from anchor.issuing.store.schema import _batches, _credentials, _documents, _tree_parts
from anchor.issuing.store.values import _HEX32, _address, _check_choice

STREAM_CHUNK: Final = 1000
"""Rows fetched per round trip when streaming a batch's credentials."""
TREE_PART_CHARS: Final = 4 * 2**20
"""Characters per stored part of a batch's tree dump (the last part of a dump is shorter): 4 MB of its text."""
_RELEASE_AFTER: Final = 10_000
"""Batches at least this large close the SQLite connections that stored them (see ``build_batch``)."""
_DIGEST_HEX: Final = re.compile(r"0x[0-9a-fA-F]{64}")
_BATCH_COLUMNS: Final = tuple(_batches.c)
_DOCUMENTS_PER_QUERY: Final = 10_000
"""Indices whose documents one query fetches (:meth:`BatchStore.batch_documents` asks for more in parts)."""
#: The documents of some indices of a batch (:meth:`BatchStore.batch_documents`, through :func:`select_in`).
_BATCH_DOCUMENTS_SQL: Final = (
    "SELECT credentials.batch_index, credentials.credential_id, credential_documents.document"
    " FROM credentials JOIN credential_documents ON credential_documents.credential = credentials.id"
    " WHERE credentials.batch_id = {mark} AND credentials.batch_index IN ({marks})"
)
#: What ``build_tree`` gives ``build_batch``: the root (0x-hex) and the dump, whole or as its pieces in order.
TreeBuilder = Callable[[list[bytes]], tuple[str, str | Iterable[str]]]
#: Put the credentials whose row ids are listed (in index order) into a batch, by dialect.
_ASSIGN_INDICES: Final = {
    "sqlite": text(
        "UPDATE credentials SET batch_id = :batch_id, batch_index = claimed.key"
        " FROM json_each(:ids) AS claimed WHERE credentials.id = claimed.value"
    ),
    "postgresql": text(
        "UPDATE credentials SET batch_id = :batch_id, batch_index = claimed.position - 1"
        " FROM unnest(CAST(:ids AS BIGINT[])) WITH ORDINALITY AS claimed(id, position)"
        " WHERE credentials.id = claimed.id"
    ),
}


class BatchStore(StoreBase):
    """Building batches from the queue, following them to anchored, and reading their credentials back."""

    def build_batch(
        self,
        max_size: int,
        chain_id: int,
        registry: str,
        signer: str,
        build_tree: TreeBuilder,
    ) -> BatchRecord | None:
        """Claim up to ``max_size`` queued credentials (oldest first) as a new ``built`` batch, in one transaction.

        They get indices 0..n-1 in queue order; ``build_tree(digests in index order)`` returns the Merkle
        root (0x-hex) and the tree's JSON dump, both stored with the batch: the dump as one text or as an
        iterable of its pieces in order (:func:`anchor.issuing.batch.build_tree` makes them lazily), stored
        as parts of :data:`TREE_PART_CHARS` characters, each inserted as soon as it is complete and then
        dropped, so a large dump is never whole in memory. None when nothing is queued. If ``build_tree`` or
        its pieces raise, nothing changes (no batch, no part, the credentials still queued). On PostgreSQL
        concurrent callers claim disjoint credentials (``FOR UPDATE SKIP LOCKED``).
        """
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise InvalidInputError(f"a batch holds at least one credential; max_size {max_size!r}")
        registry, signer = _address(registry, "registry"), _address(signer, "signer")
        with self._transaction(write=True) as connection:
            ids, digests = _claim(connection, max_size)
            if not ids:
                return None
            size = len(ids)
            # Memory (a batch of a million): ids and digests are compact arrays, the digests handed to
            # build_tree as one list (the tree's values share its bytes), the dump a part at a time.
            root, dump = build_tree([bytes(digests[i : i + 32]) for i in range(0, 32 * size, 32)])
            del digests
            if (
                not isinstance(root, str)
                or not _HEX32.fullmatch(root.lower())
                or not isinstance(dump, Iterable)
                or isinstance(dump, bytes | bytearray | memoryview | Mapping)
            ):
                raise InvariantError(
                    f"build_tree returned {root!r} and a {type(dump).__name__}, not a root and JSON (text or pieces)"
                )
            now = time.time()
            batch_id = connection.execute(
                insert(_batches).returning(_batches.c.id),
                {
                    "state": "built",
                    "root": root.lower(),
                    "size": size,
                    "chain_id": chain_id,
                    "registry": registry,
                    "signer": signer,
                    "created_at": now,
                    "updated_at": now,
                },
            ).scalar_one()
            # Each part as an execute parameter, not in the statement: SQLAlchemy's cache of compiled statements
            # keeps the statement it compiled, so a value bound into it would stay alive after the build.
            parts = _cut(dump if not isinstance(dump, str) else (dump,), TREE_PART_CHARS)
            del dump  # the pieces' iterator (and the tree it keeps) is now held by parts alone
            for number, part in enumerate(parts):
                connection.execute(insert(_tree_parts), {"batch_id": batch_id, "part": number, "text": part})
                del part
            del parts
            # One set-based statement: each claimed row's index is its position in the list of ids.
            connection.execute(
                _ASSIGN_INDICES[self.dialect],
                {"batch_id": batch_id, "ids": _json_ids(ids) if self.dialect == "sqlite" else ids.tolist()},
            )
            record = _batch_record(connection.execute(select(*_BATCH_COLUMNS).where(_batches.c.id == batch_id)).one())
        if self.dialect == "sqlite" and size >= _RELEASE_AFTER and self.url.database not in (None, "", ":memory:"):
            # SQLite keeps a cached statement's bound values (its own copy of the last part) until the statement
            # runs again: close the pooled connections rather than carry it to the receipts.
            self.engine.dispose()
        return record

    def get_batch(self, batch_id: int) -> BatchRecord:
        """The batch with this id; :class:`InvalidInputError` if there is none."""
        with self._transaction() as connection:
            row = connection.execute(select(*_BATCH_COLUMNS).where(_batches.c.id == batch_id)).one_or_none()
        if row is None:
            raise InvalidInputError(f"no batch {batch_id} in the issuer database")
        return _batch_record(row)

    def tree_dump(self, batch_id: int) -> str:
        """The batch's Merkle tree, as the JSON text ``build_tree`` returned (``standard-v1`` dump).

        Its stored parts joined (for a large batch, the parts and the text are both in memory while they are
        joined: to write the dump out, take :meth:`tree_dump_parts` instead). Errors as :meth:`tree_dump_parts`.
        """
        return "".join(self.tree_dump_parts(batch_id))

    def tree_dump_parts(self, batch_id: int) -> Iterator[str]:
        """The text of the batch's tree dump in its stored parts, in order, fetched one at a time.

        Their concatenation is :meth:`tree_dump`. One part at a time comes from the database (a server-side
        cursor on PostgreSQL); the iterator holds a connection until exhausted or closed. Raised as the parts
        are taken: :class:`InvalidInputError` naming the batch when it has no stored part (or no such batch),
        :class:`InvariantError` naming the batch when the stored part numbers are not 0, 1, 2, ... (a part
        lost or added: the text would not be the dump).
        """
        expected = 0
        with self._connect() as connection:
            try:
                connection.begin()
                result = connection.execution_options(yield_per=1).execute(
                    select(_tree_parts.c.part, _tree_parts.c.text)
                    .where(_tree_parts.c.batch_id == batch_id)
                    .order_by(_tree_parts.c.part)
                )
                for number, part in result:
                    if number != expected:
                        raise InvariantError(
                            f"batch {batch_id}: stored tree dump part {number} where part {expected} belongs"
                        )
                    expected += 1
                    yield str(part)
                    del part
                if not expected:
                    found = connection.execute(select(_batches.c.id).where(_batches.c.id == batch_id)).first()
                    raise InvalidInputError(
                        f"batch {batch_id} has no stored tree dump"
                        if found is not None
                        else f"no batch {batch_id} in the issuer database"
                    )
            except DBAPIError as error:
                raise self._failure(error) from error

    def batch_digests(self, batch_id: int) -> bytearray:
        """The digests of a batch's credentials in index order, 32 bytes each (the leaves' first halves).

        Read :data:`STREAM_CHUNK` rows at a time into one compact array (32 MB for a million). Raises
        :class:`InvariantError` naming the batch when the stored indices are not 0..n-1 or a stored digest is
        not ``0x`` and 64 hex digits: the batch's tree cannot be rebuilt from them.
        """
        digests = bytearray()
        expected = 0
        with self._transaction() as connection:
            result = connection.execute(
                select(_credentials.c.batch_index, _credentials.c.digest)
                .where(_credentials.c.batch_id == batch_id)
                .order_by(_credentials.c.batch_index)
            )
            for rows in result.partitions(STREAM_CHUNK):
                for index, digest in rows:
                    if index != expected:
                        raise InvariantError(
                            f"batch {batch_id}: stored credential index {index} where index {expected} belongs"
                        )
                    if type(digest) is not str or not _DIGEST_HEX.fullmatch(digest):
                        raise InvariantError(
                            f"batch {batch_id}: the credential at index {index} has stored digest {digest!r}, "
                            "not 0x and 64 hex digits"
                        )
                    expected += 1
                digests += bytes.fromhex("".join([row[1][2:] for row in rows]))
        return digests

    def list_batches(self, limit: int = 50) -> list[BatchRecord]:
        """The ``limit`` most recent batches, newest first."""
        with self._transaction() as connection:
            rows = connection.execute(select(*_BATCH_COLUMNS).order_by(_batches.c.id.desc()).limit(limit)).all()
        return [_batch_record(row) for row in rows]

    def unfinished_batches(self, chain_id: int, registry: str) -> list[BatchRecord]:
        """Batches for this chain and registry not anchored yet (built, signed, sent), oldest first."""
        with self._transaction() as connection:
            rows = connection.execute(
                select(*_BATCH_COLUMNS)
                .where(
                    _batches.c.chain_id == chain_id,
                    _batches.c.registry == _address(registry, "registry"),
                    _batches.c.state.in_(UNFINISHED_BATCH_STATES),
                )
                .order_by(_batches.c.id)
            ).all()
        return [_batch_record(row) for row in rows]

    def update_batch(
        self,
        batch_id: int,
        *,
        state: BatchState | None = None,
        onchain_batch_id: int | None = None,
        tx_hash: str | None = None,
        block_number: int | None = None,
        anchored_at: int | None = None,
        gas_used: int | None = None,
        fee_wei: int | None = None,
        expected_state: BatchState | None = None,
    ) -> BatchRecord:
        """Set the given fields (None: unchanged); with ``expected_state``, only if the batch is in that state.

        Returns the updated batch; :class:`StoreError` if ``expected_state`` does not hold.
        """
        if state is not None:
            _check_choice(state, BatchState, "batch state")
        values: dict[str, Any] = {
            key: value
            for key, value in {
                "state": state,
                "onchain_batch_id": onchain_batch_id,
                "tx_hash": tx_hash,
                "block_number": block_number,
                "anchored_at": anchored_at,
                "gas_used": gas_used,
                "fee_wei": fee_wei,
            }.items()
            if value is not None
        }
        with self._transaction(write=True) as connection:
            current = connection.execute(
                select(_batches.c.state).where(_batches.c.id == batch_id).with_for_update()
            ).scalar()
            if current is None:
                raise InvalidInputError(f"no batch {batch_id} in the issuer database")
            if expected_state is not None and current != expected_state:
                raise StoreError(f"batch {batch_id} is {current}, not {expected_state}")
            connection.execute(
                update(_batches).where(_batches.c.id == batch_id).values(**values, updated_at=time.time())
            )
            return _batch_record(connection.execute(select(*_BATCH_COLUMNS).where(_batches.c.id == batch_id)).one())

    def batch_credentials(self, batch_id: int) -> Iterator[tuple[int, str, str]]:
        """``(index, credential_id, document)`` of every credential of a batch, streamed in index order.

        Rows come :data:`STREAM_CHUNK` at a time (a server-side cursor on PostgreSQL), so a batch of a
        million is never in memory at once. The iterator holds a connection until exhausted or closed.
        """
        with self._connect() as connection:
            try:
                connection.begin()
                result = connection.execution_options(yield_per=STREAM_CHUNK).execute(
                    select(_credentials.c.batch_index, _credentials.c.credential_id, _documents.c.document)
                    .select_from(_credentials.join(_documents, _documents.c.credential == _credentials.c.id))
                    .where(_credentials.c.batch_id == batch_id)
                    .order_by(_credentials.c.batch_index)
                )
                for row in result:
                    yield int(row.batch_index), str(row.credential_id), str(row.document)
            except DBAPIError as error:
                raise self._failure(error) from error

    def batch_documents(self, batch_id: int, indices: Collection[int]) -> dict[int, tuple[str, str]]:
        """``{index: (credential_id, document)}`` for these indices of a batch, in one query.

        For writing receipts in the Merkle tree's proof order (:meth:`StandardMerkleTree.iter_proofs`), a
        chunk at a time; an index the batch does not hold is absent from the result.
        """
        wanted, rows = tuple(indices), []
        with self._transaction() as connection:
            for start in range(0, len(wanted), _DOCUMENTS_PER_QUERY):  # SQLite binds at most 32,766 values
                part = wanted[start : start + _DOCUMENTS_PER_QUERY]
                rows += select_in(connection, _BATCH_DOCUMENTS_SQL, (batch_id,), part)
        return {int(row[0]): (str(row[1]), str(row[2])) for row in rows}


def _claim(connection: Connection, max_size: int) -> tuple[array[int], bytearray]:
    """The row ids (in queue order) and digests (32 bytes each, in the same order) of up to ``max_size``
    queued credentials, locked for this transaction; fetched :data:`STREAM_CHUNK` rows at a time."""
    ids: array[int] = array("q")
    digests = bytearray()
    # Not a server-side cursor (yield_per) on PostgreSQL: the statements that follow share the connection.
    result = connection.execute(
        select(_credentials.c.id, _credentials.c.digest)
        .where(_credentials.c.batch_id.is_(None))
        .order_by(_credentials.c.id)
        .limit(max_size)
        .with_for_update(skip_locked=True)
    )
    for rows in result.partitions(STREAM_CHUNK):
        for row_id, digest in rows:
            if type(digest) is not str or not _DIGEST_HEX.fullmatch(digest):
                raise InvariantError(f"credential row {row_id}: stored digest {digest!r} is not 0x and 64 hex digits")
        ids.extend(row[0] for row in rows)
        digests += bytes.fromhex("".join([row[1][2:] for row in rows]))
    return ids, digests


def _cut(pieces: Iterable[str], size: int) -> Iterator[str]:
    """The text of ``pieces`` (taken one at a time) in parts of ``size`` characters, the last shorter.

    Raises :class:`InvariantError` for a piece that is not text, and for a dump without any text.
    """
    held: list[str] = []
    count = total = 0
    for number, piece in enumerate(pieces):
        if type(piece) is not str:
            raise InvariantError(f"build_tree's dump piece {number} is a {type(piece).__name__}, not text")
        if not piece:
            continue
        held.append(piece)
        count += len(piece)
        total += len(piece)
        if count < size:
            continue
        joined = "".join(held) if len(held) > 1 else held[0]
        del held[:], piece
        start = 0
        while count - start >= size:
            yield joined[start : start + size]
            start += size
        rest = joined[start:]
        del joined
        if rest:
            held.append(rest)
        count -= start
        del rest
    if not total:
        raise InvariantError("build_tree returned an empty dump")
    if held:
        yield "".join(held)


def _json_ids(ids: array[int]) -> str:
    """``json.dumps(list(ids))``, without the list of int objects."""
    return "[" + ", ".join(map(str, ids)) + "]"


def _batch_record(row: Row[Any]) -> BatchRecord:
    return BatchRecord(**row._asdict())
