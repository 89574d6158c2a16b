"""The queue: credentials waiting for a batch, duplicates and conflicts, and where a credential is.

Concurrency. On PostgreSQL, :meth:`Store.queue` takes a transaction-scoped advisory lock, so intakes take
turns and two of them cannot both insert the same new credential id; on SQLite its ``BEGIN IMMEDIATE``
does the same (see :mod:`anchor.issuing.store.engine`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from itertools import islice
from typing import Any, Final

from sqlalchemy import Connection, func, insert, select

from anchor.errors import CredentialConflictError, InvalidInputError
from anchor.issuing.store.engine import _QUEUE_LOCK, StoreBase
from anchor.issuing.store.records import CredentialRecord, CredentialState, NewCredential, QueueOutcome
from anchor.issuing.store.schema import _batches, _credentials, _documents, _status_lists

_QUEUE_CHUNK: Final = 500


class QueueStore(StoreBase):
    """Queueing credentials and finding them again."""

    def queue(self, items: Iterable[NewCredential], *, skip_conflicts: bool = False) -> list[QueueOutcome]:
        """Queue credentials, all in one transaction; one outcome per item, in order.

        A credential whose id is in the database with the same content (``content_hash``), or earlier in
        ``items``, is a ``duplicate``: nothing changes. One whose id is taken by other content is a
        ``conflict``: :class:`CredentialConflictError` is raised and nothing is queued, unless
        ``skip_conflicts``, which queues the rest and reports those as ``conflict``.
        """
        outcomes: list[QueueOutcome] = []
        conflicts: dict[str, str] = {}
        fresh: set[str] = set()  # ids first queued by this call
        with self._transaction(write=True) as connection:
            self._lock(connection, _QUEUE_LOCK)
            iterator = iter(items)
            while chunk := list(islice(iterator, _QUEUE_CHUNK)):
                for item in chunk:
                    _check_new_credential(item)
                rows = connection.execute(
                    select(
                        _credentials.c.credential_id,
                        _credentials.c.content_hash,
                        _credentials.c.batch_id,
                        _batches.c.state,
                    )
                    .select_from(_credentials.outerjoin(_batches, _credentials.c.batch_id == _batches.c.id))
                    .where(_credentials.c.credential_id.in_({item.credential_id for item in chunk}))
                ).all()
                known = {row.credential_id: (row.content_hash, row.batch_id, row.state) for row in rows}
                new_rows: list[dict[str, Any]] = []
                documents: dict[str, str] = {}
                now = time.time()
                for item in chunk:
                    content = _hex(item.content_hash)
                    held = known.get(item.credential_id)
                    if held is None:
                        known[item.credential_id] = (content, None, None)
                        fresh.add(item.credential_id)
                        outcomes.append(QueueOutcome(item.credential_id, "queued", "queued"))
                        new_rows.append(
                            {
                                "credential_id": item.credential_id,
                                "content_hash": content,
                                "digest": _hex(item.digest),
                                "issuer": item.issuer,
                                "queued_at": now,
                                "status_list": item.status_list,
                                "status_index": item.status_index,
                            }
                        )
                        documents[item.credential_id] = item.document
                        continue
                    held_content, batch_id, batch_state = held
                    state = _credential_state(batch_id, batch_state)
                    if held_content == content:
                        outcomes.append(QueueOutcome(item.credential_id, "duplicate", state, batch_id))
                    else:
                        outcomes.append(QueueOutcome(item.credential_id, "conflict", state, batch_id))
                        conflicts[item.credential_id] = (
                            "earlier in the same input"
                            if item.credential_id in fresh
                            else "queued"
                            if batch_id is None
                            else f"batch {batch_id} ({batch_state})"
                        )
                if new_rows:
                    _check_status_entries(connection, new_rows)
                    connection.execute(insert(_credentials), new_rows)
                    row_ids = connection.execute(
                        select(_credentials.c.credential_id, _credentials.c.id).where(
                            _credentials.c.credential_id.in_(documents)
                        )
                    ).all()
                    connection.execute(
                        insert(_documents),
                        [{"credential": row.id, "document": documents[row.credential_id]} for row in row_ids],
                    )
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


def _check_new_credential(item: NewCredential) -> None:
    if not isinstance(item, NewCredential):
        raise InvalidInputError(f"queue takes NewCredential items, not {type(item).__name__}")
    for name in ("digest", "content_hash"):
        value = getattr(item, name)
        if not isinstance(value, bytes) or len(value) != 32:
            raise InvalidInputError(f"{item.credential_id}: {name} must be 32 bytes")
    if not item.credential_id:
        raise InvalidInputError("a credential to queue needs its id")
    if (item.status_list is None) != (item.status_index is None) or any(
        value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0)
        for value in (item.status_list, item.status_index)
    ):
        raise InvalidInputError(
            f"{item.credential_id}: status_list and status_index are both integers >= 0, or both None "
            f"(not {item.status_list!r} and {item.status_index!r})"
        )


def _check_status_entries(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Each status entry is of a list of the credential's own issuer, and inside it."""
    wanted = {row["status_list"] for row in rows if row["status_list"] is not None}
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
    for row in rows:
        number, index = row["status_list"], row["status_index"]
        if number is None:
            continue
        issuer, size = lists.get(number, (None, 0))
        if issuer is None:
            raise InvalidInputError(f"{row['credential_id']}: there is no status list {number}")
        if issuer != row["issuer"]:
            raise InvalidInputError(
                f"{row['credential_id']}: status list {number} is {issuer!r}'s, not the credential issuer's "
                f"{row['issuer']!r}"
            )
        if index >= size:
            raise InvalidInputError(f"{row['credential_id']}: status index {index} is outside list {number} ({size})")


def _credential_state(batch_id: int | None, batch_state: str | None) -> CredentialState:
    if batch_id is None:
        return "queued"
    return "anchored" if batch_state == "anchored" else "batched"
