"""Status lists: each issuer's W3C Bitstring Status Lists, the entries handed out, and where each credential is.

A credential that gets a ``credentialStatus`` at intake (before it is signed) takes an entry of its issuer's
current status list with :meth:`StatusStore.reserve_status_indices`; the entry is recorded on its row
(``status_list``, ``status_index``) when it is queued, so that ``anchor status publish`` maps the chain's
revocations (batch, index) to the list's bits (:meth:`StatusStore.status_list_entries`).

Handing out. A list is a row of ``status_lists``: its issuer, its size (fixed when it is opened), how many of
its entries are handed out (``used``) and a random key. The ``n``-th entry handed out is index
``shuffled_index(key, n, size)``, a keyed permutation (:func:`anchor.credentials.status_list.shuffled_index`),
so indices reveal neither issuance order nor counts, and distinct ``n`` give distinct indices. ``used``
only grows, in the transaction that hands the entries out and commits before they are used: an entry is
never handed out twice, even when the process dies after reserving (its entries are then simply unused,
which the specification allows). A unique index on ``(status_list, status_index)`` of the credentials is
the last line of defence.

Concurrency. Reserving takes a transaction-scoped advisory lock on PostgreSQL (SQLite's writers already
take turns), so two workers reserving at once get disjoint entries.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError

from anchor.credentials.status_list import MAX_LIST_BYTES, MIN_ENTRIES, shuffled_index
from anchor.errors import InvalidInputError
from anchor.issuing.store.batches import STREAM_CHUNK
from anchor.issuing.store.engine import StoreBase
from anchor.issuing.store.schema import _batches, _credentials, _status_lists

_STATUS_LOCK: Final = 0x616E63686F720053  # "anchor" + "S": status lists (see engine.py for the others)
#: Bytes of a list's shuffle key.
_KEY_BYTES: Final = 16


@dataclass(frozen=True, slots=True)
class StatusListRecord:
    """One status list of the issuer database."""

    number: int
    """The list's number: its URL is ``<status base URL>/<number>.json``."""
    issuer: str
    size: int
    """Entries (bits) of the list."""
    used: int
    """Entries handed out so far."""
    created_at: float


@dataclass(frozen=True, slots=True)
class StatusSlots:
    """Entries of one status list handed out together: the ``positions``-th entries handed out of list ``number``."""

    number: int
    size: int
    positions: range
    key: bytes

    def __len__(self) -> int:
        return len(self.positions)

    def indices(self) -> Iterator[int]:
        """The status list indices, in the order they were handed out."""
        return (shuffled_index(self.key, position, self.size) for position in self.positions)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        """``(list number, index)`` of each entry."""
        return ((self.number, index) for index in self.indices())


@dataclass(frozen=True, slots=True)
class StatusListEntry:
    """A credential recorded in a status list, and where it is anchored (None while it is not)."""

    index: int
    credential_id: str
    chain_id: int | None
    registry: str | None
    onchain_batch_id: int | None
    batch_index: int | None


class StatusStore(StoreBase):
    """Handing out status list entries, and reading each list's credentials back."""

    def reserve_status_indices(self, issuer: str, count: int, *, list_size: int = MIN_ENTRIES) -> list[StatusSlots]:
        """Hand out ``count`` entries of ``issuer``'s status lists, in one committed transaction.

        Entries come from the issuer's newest list while it has room, then from new lists of ``list_size``
        entries (a list keeps the size it was opened with). Returns the entries list by list; iterate each
        :class:`StatusSlots` for ``(list number, index)`` pairs. Never the same entry twice, also across
        workers and crashes (see the module's docstring).
        """
        if not isinstance(issuer, str) or not issuer:
            raise InvalidInputError(f"a status list belongs to an issuer (DID or URL), not {issuer!r}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidInputError(f"the number of status entries to reserve must be an integer >= 0, not {count!r}")
        _check_list_size(list_size)
        reserved: list[StatusSlots] = []
        if count == 0:
            return reserved
        with self._transaction(write=True) as connection:
            self._lock(connection, _STATUS_LOCK)
            current = connection.execute(
                select(_status_lists.c.id, _status_lists.c.size, _status_lists.c.used, _status_lists.c.shuffle_key)
                .where(_status_lists.c.issuer == issuer)
                .order_by(_status_lists.c.id.desc())
                .limit(1)
            ).one_or_none()
            left = count
            while left:
                if current is None or current.used >= current.size:
                    key = secrets.token_bytes(_KEY_BYTES)
                    number = connection.execute(
                        insert(_status_lists)
                        .values(issuer=issuer, size=list_size, used=0, shuffle_key=key.hex(), created_at=time.time())
                        .returning(_status_lists.c.id)
                    ).scalar_one()
                    number, size, used = int(number), list_size, 0
                else:
                    number, size, used = int(current.id), int(current.size), int(current.used)
                    key = bytes.fromhex(current.shuffle_key)
                taken = min(left, size - used)
                connection.execute(update(_status_lists).where(_status_lists.c.id == number).values(used=used + taken))
                reserved.append(StatusSlots(number, size, range(used, used + taken), key))
                left -= taken
                current = None
        return reserved

    def status_lists(self, issuer: str | None = None) -> list[StatusListRecord]:
        """The status lists (of ``issuer``, or all), by number."""
        query = select(
            _status_lists.c.id,
            _status_lists.c.issuer,
            _status_lists.c.size,
            _status_lists.c.used,
            _status_lists.c.created_at,
        ).order_by(_status_lists.c.id)
        if issuer is not None:
            query = query.where(_status_lists.c.issuer == issuer)
        with self._transaction() as connection:
            rows = connection.execute(query).all()
        return [_list_record(row) for row in rows]

    def status_list_entries(self, number: int) -> Iterator[StatusListEntry]:
        """Every credential queued with an entry of list ``number``, and where it is anchored; streamed.

        A credential not anchored yet (queued, or in a batch not anchored) has ``onchain_batch_id`` None.
        Rows come :data:`~anchor.issuing.store.STREAM_CHUNK` at a time; the iterator holds a connection
        until it is exhausted or closed.
        """
        with self._connect() as connection:
            try:
                connection.begin()
                result = connection.execution_options(yield_per=STREAM_CHUNK).execute(
                    select(
                        _credentials.c.status_index,
                        _credentials.c.credential_id,
                        _batches.c.state,
                        _batches.c.chain_id,
                        _batches.c.registry,
                        _batches.c.onchain_batch_id,
                        _credentials.c.batch_index,
                    )
                    .select_from(_credentials.outerjoin(_batches, _credentials.c.batch_id == _batches.c.id))
                    .where(_credentials.c.status_list == number)
                    .order_by(_credentials.c.status_index)
                )
                for row in result:
                    anchored = row.state == "anchored" and row.onchain_batch_id is not None
                    yield StatusListEntry(
                        index=int(row.status_index),
                        credential_id=str(row.credential_id),
                        chain_id=int(row.chain_id) if anchored else None,
                        registry=str(row.registry) if anchored else None,
                        onchain_batch_id=int(row.onchain_batch_id) if anchored else None,
                        batch_index=int(row.batch_index) if anchored else None,
                    )
            except DBAPIError as error:
                raise self._failure(error) from error


def _check_list_size(size: object) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size > MAX_LIST_BYTES * 8:
        raise InvalidInputError(f"a status list holds 1 to {MAX_LIST_BYTES * 8} entries, not {size!r}")


def _list_record(row: Any) -> StatusListRecord:
    return StatusListRecord(
        number=int(row.id),
        issuer=str(row.issuer),
        size=int(row.size),
        used=int(row.used),
        created_at=float(row.created_at),
    )
