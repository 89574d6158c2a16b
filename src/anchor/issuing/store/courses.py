"""Course templates (versioned) and the learners of imported rosters.

A course's versions are numbered from 1 by :meth:`CourseStore.save_course`; saving a template whose content
equals the latest version's changes nothing. Concurrency: saving takes the course lock (an advisory lock on
PostgreSQL; SQLite's writers already take turns), so two workers saving the same course number their
versions one after the other.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from itertools import islice
from typing import Any, Final

from sqlalchemy import Connection, func, insert, select

from anchor.errors import InvalidInputError, InvariantError
from anchor.issuing.store.engine import StoreBase, select_in
from anchor.issuing.store.records import CourseRecord, RosterEntry
from anchor.issuing.store.schema import _courses

_COURSE_LOCK: Final = 0x616E63686F720016  # "anchor" + 0x16: courses (see engine.py for the others)
_CHUNK: Final = 500
_COURSE_COLUMNS: Final = (
    _courses.c.course_id,
    _courses.c.version,
    _courses.c.title,
    _courses.c.template,
    _courses.c.content_hash,
    _courses.c.created_at,
)


class CourseStore(StoreBase):
    """Course templates and roster entries."""

    def save_course(self, course_id: str, template: str, title: str, content_hash: str) -> tuple[CourseRecord, bool]:
        """Store ``template`` as the course's next version, unless it equals the latest; and whether it was new."""
        with self._transaction(write=True) as connection:
            self._lock(connection, _COURSE_LOCK)
            latest = _latest(connection, course_id)
            if latest is not None and latest.content_hash == content_hash:
                return latest, False
            values: dict[str, Any] = {
                "course_id": course_id,
                "version": 1 if latest is None else latest.version + 1,
                "title": title,
                "template": template,
                "content_hash": content_hash,
                "created_at": time.time(),
            }
            connection.execute(insert(_courses).values(**values))
            return CourseRecord(**values), True

    def get_course(self, course_id: str, version: int | None = None) -> CourseRecord:
        """A version of a course (default: the latest); :class:`InvalidInputError` naming what exists if none."""
        with self._transaction() as connection:
            if version is None:
                record = _latest(connection, course_id)
            else:
                row = connection.execute(
                    select(*_COURSE_COLUMNS).where(_courses.c.course_id == course_id, _courses.c.version == version)
                ).one_or_none()
                record = None if row is None else _course_record(row)
            if record is not None:
                return record
            latest = _latest(connection, course_id)
        if latest is None:
            raise InvalidInputError(f"no course {course_id!r} in the issuer database (see `anchor course list`)")
        raise InvalidInputError(
            f"course {course_id!r} has no version {version}; its versions are 1 to {latest.version}"
        )

    def list_courses(self) -> list[CourseRecord]:
        """The latest version of every course, by course id."""
        latest = (
            select(_courses.c.course_id, func.max(_courses.c.version).label("version"))
            .group_by(_courses.c.course_id)
            .subquery()
        )
        with self._transaction() as connection:
            rows = connection.execute(
                select(*_COURSE_COLUMNS)
                .join(
                    latest,
                    (latest.c.course_id == _courses.c.course_id) & (latest.c.version == _courses.c.version),
                )
                .order_by(_courses.c.course_id)
            ).all()
        return [_course_record(row) for row in rows]

    def roster_entries(self, course_id: str, learner_keys: Iterable[str]) -> dict[str, RosterEntry]:
        """The entries already recorded for these learners of a course (any version), by learner key."""
        found: dict[str, RosterEntry] = {}
        keys = iter(learner_keys)
        with self._transaction() as connection:
            while chunk := list(islice(keys, _CHUNK)):
                found.update((entry.learner_key, entry) for entry in _entries_of(connection, course_id, chunk))
        return found

    def save_roster_entries(self, entries: Iterable[RosterEntry]) -> tuple[int, int]:
        """Record new learners, and new addresses of known ones, in one transaction: (added, addresses changed).

        A learner is known by course and learner key; a known learner keeps the recorded credential and
        date of issuing. An entry whose credential id is recorded for another learner is an internal bug.
        """
        with self._transaction(write=True) as connection:
            self._lock(connection, _COURSE_LOCK)
            return _save_roster_entries(connection, entries)


def _save_roster_entries(connection: Connection, entries: Iterable[RosterEntry]) -> tuple[int, int]:
    """:meth:`CourseStore.save_roster_entries` in a writing transaction that holds the course lock (also the
    queue's, which records a roster's learners with their credentials: see :meth:`QueueStore.queue_rows`)."""
    added = changed = 0
    items = iter(entries)
    qmark = connection.dialect.paramstyle == "qmark"
    insert_entry, update_email = _INSERT_ENTRY[qmark], _UPDATE_EMAIL[qmark]
    while chunk := list(islice(items, _CHUNK)):
        known = _known_entries(connection, chunk)
        fresh: dict[tuple[str, str], tuple[Any, ...]] = {}
        moved: dict[str, str | None] = {}  # credential id -> the learner's new address
        now = time.time()
        for entry in chunk:
            key = (entry.course_id, entry.learner_key)
            held = known.get(key)
            if held is None:
                if key not in fresh:
                    fresh[key] = (
                        entry.credential_id,
                        entry.course_id,
                        entry.course_version,
                        entry.learner_key,
                        entry.email,
                        entry.valid_from,
                        now,
                    )
                continue
            if held.credential_id != entry.credential_id:
                raise InvariantError(
                    f"roster entry {entry.credential_id}: the learner already holds {held.credential_id}"
                )
            if held.email != entry.email:
                moved[held.credential_id] = entry.email
                known[key] = entry
                changed += 1
        if moved:
            connection.exec_driver_sql(update_email, [(email, held_id) for held_id, email in moved.items()])
        if fresh:
            connection.exec_driver_sql(insert_entry, list(fresh.values()))
            added += len(fresh)
    return added, changed


#: Roster entries through the DB-API with positional parameters, as the queue's inserts (SQLAlchemy's
#: compiling and its dict per row cost more than the database does), by "paramstyle is qmark" (SQLite's ``?``;
#: psycopg's ``%s`` otherwise). The columns are :class:`RosterEntry`'s, in its order.
_ENTRY_SELECT: Final = (
    "SELECT credential_id, course_id, course_version, learner_key, email, valid_from FROM roster_entries"
    " WHERE course_id = {mark} AND learner_key IN ({marks})"
)
_INSERT_ENTRY: Final = {
    True: "INSERT INTO roster_entries"
    " (credential_id, course_id, course_version, learner_key, email, valid_from, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)",
    False: "INSERT INTO roster_entries"
    " (credential_id, course_id, course_version, learner_key, email, valid_from, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)",
}

_UPDATE_EMAIL: Final = {
    True: "UPDATE roster_entries SET email = ? WHERE credential_id = ?",
    False: "UPDATE roster_entries SET email = %s WHERE credential_id = %s",
}


def _entries_of(connection: Connection, course_id: str, learner_keys: Iterable[str]) -> list[RosterEntry]:
    """The recorded entries of these learners of a course (at most a chunk's worth of keys)."""
    keys = tuple(set(learner_keys))
    if not keys:
        return []
    return [RosterEntry(*row) for row in select_in(connection, _ENTRY_SELECT, (course_id,), keys)]


def _known_entries(connection: Connection, chunk: list[RosterEntry]) -> dict[tuple[str, str], RosterEntry]:
    """The recorded entries of the learners of ``chunk``, by (course id, learner key)."""
    known: dict[tuple[str, str], RosterEntry] = {}
    for course_id in {entry.course_id for entry in chunk}:
        entries = _entries_of(connection, course_id, (e.learner_key for e in chunk if e.course_id == course_id))
        known.update(((course_id, entry.learner_key), entry) for entry in entries)
    return known


def _latest(connection: Connection, course_id: str) -> CourseRecord | None:
    row = connection.execute(
        select(*_COURSE_COLUMNS).where(_courses.c.course_id == course_id).order_by(_courses.c.version.desc()).limit(1)
    ).one_or_none()
    return None if row is None else _course_record(row)


def _course_record(row: Any) -> CourseRecord:
    return CourseRecord(**row._asdict())
