"""The queue: credentials waiting for a batch, duplicates and conflicts, and where a credential is.

Concurrency. On PostgreSQL, :meth:`Store.queue` takes a transaction-scoped advisory lock, so intakes take
turns and two of them cannot both insert the same new credential id; on SQLite its ``BEGIN IMMEDIATE``
does the same (see :mod:`anchor.issuing.store.engine`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any, Final

from sqlalchemy import Connection, func, select

from anchor.errors import CredentialConflictError, InvalidInputError
from anchor.issuing.store.courses import _COURSE_LOCK, _save_roster_entries
from anchor.issuing.store.engine import _QUEUE_LOCK, StoreBase, select_in
from anchor.issuing.store.records import CredentialRecord, CredentialState, NewCredential, QueueOutcome, RosterEntry
from anchor.issuing.store.schema import _batches, _credentials, _documents, _status_lists

_QUEUE_CHUNK: Final = 500
QUEUE_ROW_FIELDS: Final = (
    "credential_id",
    "content_hash",
    "digest",
    "issuer",
    "document",
    "status_list",
    "status_index",
)
QueueRow = tuple[str, str, str, str, str, int | None, int | None]
"""A credential to queue as :meth:`QueueStore.queue_rows` takes it: :data:`QUEUE_ROW_FIELDS`, the hashes as
``0x`` and 64 lowercase hex digits (as stored), the rest as in :class:`NewCredential`."""
_HASH_HEX: Final = re.compile(r"0x[0-9a-f]{64}")
#: The two inserts of a queued credential, as DB-API SQL for ``executemany`` with positional parameters
#: (SQLAlchemy's own executemany costs more per row than the database does): by "paramstyle is qmark"
#: (SQLite's ``?``; psycopg's ``%s`` otherwise).
_INSERTS: Final = {
    True: (
        "INSERT INTO credentials (credential_id, content_hash, digest, issuer, queued_at, status_list, status_index)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        "INSERT INTO credential_documents (credential, document) VALUES (?, ?)",
    ),
    False: (
        "INSERT INTO credentials (credential_id, content_hash, digest, issuer, queued_at, status_list, status_index)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        "INSERT INTO credential_documents (credential, document) VALUES (%s, %s)",
    ),
}
#: The two look-ups of a chunk, by id, as DB-API SQL (``{}``: one placeholder per id): the ids already held
#: (with their content and batch), then the row numbers of those just inserted.
_KNOWN_SQL: Final = (
    "SELECT credentials.credential_id, credentials.content_hash, credentials.batch_id, batches.state"
    " FROM credentials LEFT OUTER JOIN batches ON credentials.batch_id = batches.id"
    " WHERE credentials.credential_id IN ({marks})"
)
_ROW_IDS_SQL: Final = "SELECT credential_id, id FROM credentials WHERE credential_id IN ({marks})"


class QueueStore(StoreBase):
    """Queueing credentials and finding them again."""

    def queue(self, items: Iterable[NewCredential], *, skip_conflicts: bool = False) -> list[QueueOutcome]:
        """Queue credentials, all in one transaction; one outcome per item, in order.

        A credential whose id is in the database with the same content (``content_hash``), or earlier in
        ``items``, is a ``duplicate``: nothing changes. One whose id is taken by other content is a
        ``conflict``: :class:`CredentialConflictError` is raised and nothing is queued, unless
        ``skip_conflicts``, which queues the rest and reports those as ``conflict``.
        """
        return self.queue_rows((_row_of(item) for item in items), skip_conflicts=skip_conflicts)

    def queue_rows(
        self,
        rows: Iterable[QueueRow],
        *,
        skip_conflicts: bool = False,
        roster_entries: Callable[[Sequence[str]], Iterable[RosterEntry]] | None = None,
    ) -> list[QueueOutcome]:
        """:meth:`queue` for credentials as :data:`QueueRow` tuples (what intake's worker processes hand over).

        Each row is checked as :meth:`queue` checks a :class:`NewCredential` (same messages); the rows of a
        chunk go in with one ``executemany`` per table. ``rows`` is read as it comes, inside the transaction
        (intake hands over rows while its workers prepare the next ones): an exception it raises rolls back
        everything. ``roster_entries``: called with the credential ids of each chunk of rows as it goes in,
        the entries it returns (those credentials' learners) are recorded in the same transaction
        (:meth:`save_roster_entries`): a roster's learners and their credentials are committed together or
        not at all (a conflict that refuses the rows rolls them back as well).
        """
        outcomes: list[QueueOutcome] = []
        conflicts: dict[str, str] = {}
        fresh: set[str] = set()  # ids first queued by this call
        course_locked = False
        # A roster's transaction also records its learners (two more indexes of random keys, and their look-ups):
        # SQLite gives it a large page cache. Credentials alone keep the default: measured on 20,000 files, the
        # large cache saved CPU but cost time (the dirty pages it holds are all written at the commit).
        with self._transaction(write=True, large=roster_entries is not None) as connection:
            self._lock(connection, _QUEUE_LOCK)
            qmark = connection.dialect.paramstyle == "qmark"
            insert_credential, insert_document = _INSERTS[qmark]
            iterator = iter(rows)
            while chunk := list(islice(iterator, _QUEUE_CHUNK)):
                for row in chunk:
                    _check_row(row)
                wanted = tuple({row[0] for row in chunk})
                known = {
                    credential_id: (content_hash, batch_id, state)
                    for credential_id, content_hash, batch_id, state in select_in(connection, _KNOWN_SQL, (), wanted)
                }
                new_rows: list[tuple[Any, ...]] = []
                documents: dict[str, str] = {}
                now = time.time()
                for credential_id, content, digest, issuer, document, status_list, status_index in chunk:
                    held = known.get(credential_id)
                    if held is None:
                        known[credential_id] = (content, None, None)
                        fresh.add(credential_id)
                        outcomes.append(QueueOutcome(credential_id, "queued", "queued"))
                        new_rows.append((credential_id, content, digest, issuer, now, status_list, status_index))
                        documents[credential_id] = document
                        continue
                    held_content, batch_id, batch_state = held
                    state = _credential_state(batch_id, batch_state)
                    if held_content == content:
                        outcomes.append(QueueOutcome(credential_id, "duplicate", state, batch_id))
                    else:
                        outcomes.append(QueueOutcome(credential_id, "conflict", state, batch_id))
                        conflicts[credential_id] = (
                            "earlier in the same input"
                            if credential_id in fresh
                            else "queued"
                            if batch_id is None
                            else f"batch {batch_id} ({batch_state})"
                        )
                if new_rows:
                    _check_status_entries(connection, new_rows)
                    connection.exec_driver_sql(insert_credential, new_rows)
                    row_ids = select_in(connection, _ROW_IDS_SQL, (), tuple(documents))
                    connection.exec_driver_sql(
                        insert_document, [(row_id, documents[credential_id]) for credential_id, row_id in row_ids]
                    )
                if roster_entries is not None:
                    if not course_locked:
                        self._lock(connection, _COURSE_LOCK)
                        course_locked = True
                    _save_roster_entries(connection, roster_entries([row[0] for row in chunk]))
            if conflicts and not skip_conflicts:
                raise CredentialConflictError(conflicts)
        return outcomes

    def queued_count(self) -> int:
        """How many credentials wait for a batch."""
        with self._transaction() as connection:
            count = connection.execute(
                select(func.count()).select_from(_credentials).where(_credentials.c.batch_id.is_(None))
            ).scalar_one()
        return int(count)

    def credential_counts(self) -> dict[CredentialState, int]:
        """How many credentials are queued, in a batch not anchored yet, and anchored."""
        counts: dict[CredentialState, int] = {"queued": 0, "batched": 0, "anchored": 0}
        with self._transaction() as connection:
            rows = connection.execute(
                select(_batches.c.state, func.count())
                .select_from(_credentials.outerjoin(_batches, _credentials.c.batch_id == _batches.c.id))
                .group_by(_batches.c.state)
            ).all()
        for batch_state, count in rows:
            counts["queued" if batch_state is None else "anchored" if batch_state == "anchored" else "batched"] += count
        return counts

    def find_credential(self, credential_id: str) -> CredentialRecord | None:
        """The credential with this ``id``, or None."""
        with self._transaction() as connection:
            row = connection.execute(
                select(*_credentials.c, _documents.c.document, _batches.c.state.label("batch_state"))
                .select_from(
                    _credentials.join(_documents, _documents.c.credential == _credentials.c.id).outerjoin(
                        _batches, _credentials.c.batch_id == _batches.c.id
                    )
                )
                .where(_credentials.c.credential_id == credential_id)
            ).one_or_none()
        if row is None:
            return None
        return CredentialRecord(
            id=row.id,
            credential_id=row.credential_id,
            content_hash=bytes.fromhex(row.content_hash[2:]),
            digest=bytes.fromhex(row.digest[2:]),
            document=row.document,
            issuer=row.issuer,
            queued_at=row.queued_at,
            batch_id=row.batch_id,
            batch_index=row.batch_index,
            state=_credential_state(row.batch_id, row.batch_state),
        )


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _row_of(item: NewCredential) -> QueueRow:
    """A checked :class:`NewCredential` as a :data:`QueueRow`."""
    if not isinstance(item, NewCredential):
        raise InvalidInputError(f"queue takes NewCredential items, not {type(item).__name__}")
    for name in ("digest", "content_hash"):
        value = getattr(item, name)
        if not isinstance(value, bytes) or len(value) != 32:
            raise InvalidInputError(f"{item.credential_id}: {name} must be 32 bytes")
    return (
        item.credential_id,
        _hex(item.content_hash),
        _hex(item.digest),
        item.issuer,
        item.document,
        item.status_list,
        item.status_index,
    )


def _check_row(row: QueueRow) -> None:
    """Refuse a row that is not a credential to queue (as :func:`_row_of` would refuse its NewCredential)."""
    if type(row) is not tuple or len(row) != len(QUEUE_ROW_FIELDS):
        raise InvalidInputError(f"a queue row is a tuple of {', '.join(QUEUE_ROW_FIELDS)}, not {row!r:.200}")
    credential_id, content_hash, digest, issuer, document, status_list, status_index = row
    if not credential_id or not isinstance(credential_id, str):
        raise InvalidInputError("a credential to queue needs its id")
    for name, value in (("digest", digest), ("content_hash", content_hash)):
        if not isinstance(value, str) or not _HASH_HEX.fullmatch(value):
            raise InvalidInputError(f"{credential_id}: {name} must be 32 bytes")
    if not isinstance(issuer, str) or not isinstance(document, str):
        raise InvalidInputError(f"{credential_id}: issuer and document are text")
    if (status_list is None) != (status_index is None) or any(
        value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0)
        for value in (status_list, status_index)
    ):
        raise InvalidInputError(
            f"{credential_id}: status_list and status_index are both integers >= 0, or both None "
            f"(not {status_list!r} and {status_index!r})"
        )


def _check_status_entries(connection: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Each status entry is of a list of the credential's own issuer, and inside it (``rows``: as inserted)."""
    wanted = {row[5] for row in rows if row[5] is not None}
    if not wanted:
        return
    lists = {
        row.id: (row.issuer, row.size)
        for row in connection.execute(
            select(_status_lists.c.id, _status_lists.c.issuer, _status_lists.c.size).where(
                _status_lists.c.id.in_(wanted)
            )
        )
    }
    for credential_id, _, _, credential_issuer, _, number, index in rows:
        if number is None:
            continue
        issuer, size = lists.get(number, (None, 0))
        if issuer is None:
            raise InvalidInputError(f"{credential_id}: there is no status list {number}")
        if issuer != credential_issuer:
            raise InvalidInputError(
                f"{credential_id}: status list {number} is {issuer!r}'s, not the credential issuer's "
                f"{credential_issuer!r}"
            )
        if index >= size:
            raise InvalidInputError(f"{credential_id}: status index {index} is outside list {number} ({size})")


def _credential_state(batch_id: int | None, batch_state: str | None) -> CredentialState:
    if batch_id is None:
        return "queued"
    return "anchored" if batch_state == "anchored" else "batched"
