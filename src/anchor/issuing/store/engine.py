"""The engine under the issuer database: URLs, SQLite's configuration, transactions, locks, opening and migrating.

Concurrency. On SQLite every writing transaction starts with ``BEGIN IMMEDIATE``: writers take turns
(waiting up to :data:`SQLITE_BUSY_SECONDS`), readers never block (write-ahead log). On PostgreSQL, a
transaction that must not overlap others of its kind takes a transaction-scoped advisory lock
(:meth:`StoreBase._lock`): the migration, and the queue's intakes (see :mod:`anchor.issuing.store.queue`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Final, Self

from sqlalchemy import Connection, Engine, create_engine, event, insert, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import ConnectionPoolEntry

from anchor.config import Settings
from anchor.errors import InvalidInputError, StoreError
from anchor.files import make_private_if_present, private_directory, private_file
from anchor.issuing.store.schema import MIGRATIONS, SCHEMA_VERSION, _current_version, _versions
from anchor.urls import mask_url

SQLITE_BUSY_SECONDS: Final = 60.0
"""How long a SQLite writer waits for another to finish before giving up."""
SQLITE_LARGE_WRITE_CACHE_KIB: Final = 64 << 10
"""SQLite's page cache (KiB) for a transaction that writes many rows (the queue's, for a roster): its index pages
stay in memory instead of being spilled to the log and read back again (measured, 20,000-row roster, 3
alternations on the shared machine: its inserts a third less CPU, the import a quarter less time; at 50,000 rows
a fifth of the reads and half the writes). The connection goes back to the pool with SQLite's default cache
(2,000 KiB), so no other transaction holds that memory (peak memory: up to this much more while a roster is
imported)."""
_SQLITE_DEFAULT_CACHE: Final = "PRAGMA cache_size = -2000"
# Keys of PostgreSQL transaction-scoped advisory locks ("anchor" + a number).
_MIGRATION_LOCK: Final = 0x616E63686F720001
_QUEUE_LOCK: Final = 0x616E63686F720002


class StoreBase:
    """The connection to the issuer database that every part of :class:`~anchor.issuing.store.Store` uses.

    It opens the engine, migrates, and runs transactions (:meth:`_transaction`); the parts (queue,
    batches, attempts, revocations, leases) add the queries.
    """

    def __init__(self, url: str | URL, *, migrate: bool = True) -> None:
        """Connect to ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``) and bring its schema up to date.

        ``postgresql://`` and ``postgres://`` mean psycopg 3. With ``migrate=False`` a database that is not
        at :data:`SCHEMA_VERSION` is refused instead of upgraded.
        """
        self.url = _normalise_url(url)
        self._shown_url = mask_url(self.url.render_as_string(hide_password=False))
        self.dialect = self.url.get_backend_name()
        if self.dialect not in {"sqlite", "postgresql"}:
            raise InvalidInputError(f"database {self._shown_url}: anchor supports SQLite and PostgreSQL only")
        try:
            if self.dialect == "sqlite":
                file = self.url.database not in (None, "", ":memory:")
                if file:
                    _make_sqlite_file_private(self.url)
                self.engine = create_engine(self.url, connect_args={"timeout": SQLITE_BUSY_SECONDS})
                _configure_sqlite(self.engine, file=file)
            else:
                self.engine = create_engine(self.url, pool_pre_ping=True)
        except (ArgumentError, NoSuchModuleError) as error:
            raise InvalidInputError(f"database {self._shown_url}: {error}") from None
        try:
            if migrate:
                self.migrate()
            elif (version := self.schema_version()) != SCHEMA_VERSION:
                raise StoreError(
                    f"database {self._shown_url} is at schema version {version}, this release uses {SCHEMA_VERSION}"
                )
        except BaseException:
            self.engine.dispose()
            raise

    @classmethod
    def open(cls, settings: Settings) -> Self:
        """The configured issuer database (creating the SQLite file's folder, 0700), migrated."""
        url = _normalise_url(settings.effective_database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            private_directory(Path(str(url.database)).expanduser().parent)
        return cls(url)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self._shown_url!r})"

    # ---------------------------------------------------------------------------------------------- plumbing

    @contextmanager
    def _transaction(self, write: bool = False, *, large: bool = False) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises. ``large``: a writing
        transaction of many rows (SQLite gives it :data:`SQLITE_LARGE_WRITE_CACHE_KIB` of page cache)."""
        with self._connect() as connection:
            if write:
                connection.execution_options(anchor_write=True, anchor_large=large)
            try:
                with connection.begin():
                    yield connection
            except DBAPIError as error:
                raise self._failure(error) from error

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        try:
            connection = self.engine.connect()
        except DBAPIError as error:
            reason = str(error.orig or error).strip().splitlines()[0]
            raise StoreError(f"cannot reach the issuer database {self._shown_url}: {reason}") from error
        with connection:
            yield connection

    def _failure(self, error: DBAPIError) -> StoreError:
        reason = str(error.orig or error).strip().splitlines()[0]
        return StoreError(f"issuer database {self._shown_url}: {reason}")

    def _lock(self, connection: Connection, key: int) -> None:
        """Serialise this transaction with others taking ``key`` (PostgreSQL; SQLite writers already are)."""
        if self.dialect == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    # ---------------------------------------------------------------------------------------------- schema

    def schema_version(self) -> int:
        """The version the database is at (0: empty)."""
        with self._transaction() as connection:
            return _current_version(connection)

    def migrate(self) -> int:
        """Apply the missing migrations in one transaction; returns the version reached.

        :class:`StoreError` if the database is newer than this release.
        """
        with self._transaction(write=True) as connection:
            self._lock(connection, _MIGRATION_LOCK)
            _versions.create(connection, checkfirst=True)
            current = _current_version(connection)
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"database {self._shown_url} is at schema version {current}, newer than this release's "
                    f"{SCHEMA_VERSION}: upgrade anchor"
                )
            for migration in MIGRATIONS:
                if migration.version > current:
                    migration.apply(connection)
                    connection.execute(
                        insert(_versions).values(
                            version=migration.version, description=migration.description, applied_at=time.time()
                        )
                    )
        return SCHEMA_VERSION


# --------------------------------------------------------------------------------------------------------
# Helpers


def _normalise_url(url: str | URL) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInputError(f"{mask_url(str(url))} is not a database URL") from None
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _make_sqlite_file_private(url: URL) -> None:
    """Create the SQLite file 0600 before SQLite does (it would use 0644), and make an older one 0600.

    SQLite creates a database's ``-wal`` and ``-shm`` files with the database file's own mode, so they are
    private too; ones an older release left open are made private here. A missing folder is left for
    SQLite to report, as before.
    """
    path = Path(str(url.database)).expanduser()
    if url.query.get("uri") or not path.parent.is_dir():
        return
    try:
        private_file(path)
        for suffix in ("-wal", "-shm", "-journal"):
            make_private_if_present(path.with_name(path.name + suffix))
    except OSError as error:
        raise StoreError(f"cannot make the issuer database {path} private to its owner: {error}") from error


def select_in(connection: Connection, sql: str, leading: tuple[Any, ...], values: tuple[Any, ...]) -> list[Any]:
    """The rows of ``sql``, a query with a ``{mark}`` for each of ``leading`` and one ``IN ({marks})`` for
    ``values``, through the DB-API (SQLite's ``?`` or PostgreSQL's ``%s``): SQLAlchemy's compiling of a
    ``IN`` of hundreds of values costs more than the query does."""
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    query = sql.format(mark=mark, marks=", ".join((mark,) * len(values)))
    return list(connection.exec_driver_sql(query, (*leading, *values)).all())


def _configure_sqlite(engine: Engine, *, file: bool) -> None:
    """Transactional DDL, ``BEGIN IMMEDIATE`` for writers, foreign keys, write-ahead log.

    pysqlite's own transaction handling starts transactions late and never around DDL; it is turned off
    and every transaction begins explicitly (the recipe in SQLAlchemy's SQLite dialect documentation).
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_SECONDS * 1000)}")
        if file:
            _use_write_ahead_log(cursor)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get("anchor_large", False):
            connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_LARGE_WRITE_CACHE_KIB}")
            connection.info["anchor_large_cache"] = True
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("anchor_write", False) else "BEGIN")

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        if record.info.pop("anchor_large_cache", False) and dbapi_connection is not None:
            with suppress(sqlite3.Error):  # a connection that cannot take it is being dropped anyway
                dbapi_connection.execute(_SQLITE_DEFAULT_CACHE)  # frees the pages beyond it


def _use_write_ahead_log(cursor: Any) -> None:
    """Switch a SQLite file to WAL (persistent, so once per file).

    Switching needs the file to itself, and SQLite reports "database is locked" without waiting when a
    writer holds it (or recovers its log): when several connections open a new file together, the
    others retry until the first one's switch shows.
    """
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
