"""The issuer database: queued credentials, batches with their trees, transaction attempts, revocations, leases.

SQLAlchemy 2 Core on SQLite (a file under ``ANCHOR_HOME`` by default, nothing to install) or PostgreSQL
(``postgresql+psycopg://...``, for issuers running several workers). Every state change is one database
transaction; records handed out are frozen dataclasses, never live rows.

Schema versions. The schema is created and upgraded by :data:`MIGRATIONS`, a forward-only list of
functions in this module, recorded in a ``schema_version`` table (one row per applied version). Opening a
store applies the missing ones in one transaction, under a lock (``BEGIN IMMEDIATE`` on SQLite, an
advisory lock on PostgreSQL, whose DDL is transactional too), so two workers starting together migrate
once; a database newer than this release is refused rather than guessed at. Alembic was weighed and left
out: for six tables it would add a dependency, an ini file, a script folder and an ``env.py`` that
imports the application, to do what forty lines here do; everything ships inside the package, so nothing
is looked up or downloaded at run time. The rule that keeps this honest: a released migration function is
never edited; a change is a new function appended to :data:`MIGRATIONS`. The DDL lives only in the
migrations; queries use the lightweight table clauses below, and a test checks that a database migrated
from empty has every column they name.

Concurrency. On PostgreSQL, :meth:`Store.build_batch` claims queued credentials with
``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent workers take disjoint sets and a credential lands in
exactly one batch; :meth:`Store.queue` takes a transaction-scoped advisory lock, so intakes take turns and
two of them cannot both insert the same new credential id. On SQLite every writing transaction starts with
``BEGIN IMMEDIATE``: writers take turns (waiting up to :data:`SQLITE_BUSY_SECONDS`), readers never block
(write-ahead log). Leases (:meth:`Store.acquire_lease`) are one portable upsert; their times are the
workers' clocks (unix seconds), which must agree to within much less than a lease's length.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Final, Literal, get_args

from eth_utils.address import is_address, to_checksum_address
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    column,
    create_engine,
    event,
    func,
    insert,
    select,
    table,
    text,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import ConnectionPoolEntry

from anchor.config import Settings, mask_url
from anchor.errors import CredentialConflictError, InvalidInputError, InvariantError, StoreError

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "AttemptRecord",
    "AttemptState",
    "BatchRecord",
    "BatchState",
    "CredentialRecord",
    "CredentialState",
    "Migration",
    "NewAttempt",
    "NewCredential",
    "QueueOutcome",
    "QueueStatus",
    "RevocationRecord",
    "RevocationState",
    "Store",
]

BatchState = Literal["built", "signed", "sent", "anchored"]
"""``built``: credentials claimed and tree stored; ``signed``: a transaction journaled; ``sent``: broadcast."""
AttemptState = Literal["signed", "broadcast", "mined", "replaced", "dropped"]
RevocationState = Literal["pending", "signed", "done"]
CredentialState = Literal["queued", "batched", "anchored"]
"""Where a credential is: waiting for a batch, in a batch not anchored yet, or in an anchored batch."""
QueueStatus = Literal["queued", "duplicate", "conflict"]
Purpose = Literal["anchor", "revoke"]

UNFINISHED_BATCH_STATES: Final = ("built", "signed", "sent")
UNFINISHED_REVOCATION_STATES: Final = ("pending", "signed")
SQLITE_BUSY_SECONDS: Final = 60.0
"""How long a SQLite writer waits for another to finish before giving up."""
STREAM_CHUNK: Final = 1000
"""Rows fetched per round trip when streaming a batch's credentials."""
_QUEUE_CHUNK: Final = 500
_HEX32: Final = re.compile(r"0x[0-9a-f]{64}")
_HEX: Final = re.compile(r"0x(?:[0-9a-fA-F]{2})+")
# Keys of PostgreSQL transaction-scoped advisory locks ("anchor" + a number).
_MIGRATION_LOCK: Final = 0x616E63686F720001
_QUEUE_LOCK: Final = 0x616E63686F720002


# --------------------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class NewCredential:
    """A validated, salted credential ready to queue (see :func:`anchor.issuing.intake.prepare_credential`)."""

    credential_id: str
    content_hash: bytes
    """keccak256 of the canonical credential without its salt: the same credential issued twice."""
    digest: bytes
    """keccak256 of the canonical salted credential: what the Merkle leaf commits to."""
    document: str
    """The salted credential as JSON text (NFC-normalised), exactly as it goes into receipts."""
    issuer: str
    """The awarding body's id (DID or URL)."""


@dataclass(frozen=True, slots=True)
class QueueOutcome:
    """What :meth:`Store.queue` did with one credential.

    ``status``: ``queued``; ``duplicate`` (this credential, same content, is already in the database:
    nothing changed); ``conflict`` (its id is taken by other content: not queued). ``state`` and
    ``batch_id`` describe the credential now in the database under that id.
    """

    credential_id: str
    status: QueueStatus
    state: CredentialState
    batch_id: int | None = None


@dataclass(frozen=True, slots=True)
class CredentialRecord:
    """One credential in the database."""

    id: int
    credential_id: str
    content_hash: bytes
    digest: bytes
    document: str
    issuer: str
    queued_at: float
    batch_id: int | None
    batch_index: int | None
    state: CredentialState


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """One batch, without its (large) tree: see :meth:`Store.tree_dump`."""

    id: int
    state: BatchState
    root: str
    size: int
    chain_id: int
    registry: str
    signer: str
    onchain_batch_id: int | None
    tx_hash: str | None
    block_number: int | None
    anchored_at: int | None
    """Block time of the anchoring transaction, unix seconds."""
    gas_used: int | None
    fee_wei: int | None
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class NewAttempt:
    """A signed transaction to journal before it is broadcast."""

    purpose: Purpose
    signer: str
    nonce: int
    tx_hash: str
    raw_tx: str
    """The signed transaction bytes, 0x-hex: rebroadcast byte for byte when resuming."""
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    batch_id: int | None = None
    revocation_id: int | None = None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One journaled transaction attempt."""

    id: int
    purpose: Purpose
    batch_id: int | None
    revocation_id: int | None
    signer: str
    nonce: int
    tx_hash: str
    raw_tx: str
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    state: AttemptState
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class RevocationRecord:
    """One revocation transaction's worth of indices of one on-chain batch (none: the whole batch)."""

    id: int
    chain_id: int
    registry: str
    onchain_batch_id: int
    indices: tuple[int, ...]
    reason: int
    state: RevocationState
    tx_hash: str | None
    block_number: int | None
    created_at: float
    updated_at: float


# --------------------------------------------------------------------------------------------------------
# Schema: migrations (the only DDL) and the table clauses queries use


class Wei(TypeDecorator[int]):
    """A wei amount as decimal text: exact at any size on every database (a fee can exceed 2**63)."""

    impl = String(80)
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Any) -> str | None:
        """Write an int as decimal text."""
        return None if value is None else str(int(value))

    def process_result_value(self, value: Any, dialect: Any) -> int | None:
        """Read decimal text back as an int."""
        return None if value is None else int(value)


def _row_id() -> BigInteger:
    # SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
    return BigInteger().with_variant(Integer(), "sqlite")


def _migrate_1(connection: Connection) -> None:
    """Version 1: credentials (and their documents), batches, tx_attempts, revocations, leases."""
    metadata = MetaData()
    Table(
        "batches",
        metadata,
        Column("id", _row_id(), primary_key=True, autoincrement=True),
        Column("state", String(16), nullable=False),
        Column("root", String(66), nullable=False),
        Column("size", Integer, nullable=False),
        Column("tree_dump", Text, nullable=False),
        Column("chain_id", BigInteger, nullable=False),
        Column("registry", String(42), nullable=False),
        Column("signer", String(42), nullable=False),
        Column("onchain_batch_id", BigInteger),
        Column("tx_hash", String(66)),
        Column("block_number", BigInteger),
        Column("anchored_at", BigInteger),
        Column("gas_used", BigInteger),
        Column("fee_wei", String(80)),
        Column("created_at", Float, nullable=False),
        Column("updated_at", Float, nullable=False),
        UniqueConstraint("chain_id", "registry", "root", name="uq_batches_root"),
        CheckConstraint("state IN ('built', 'signed', 'sent', 'anchored')", name="ck_batches_state"),
        CheckConstraint("size > 0", name="ck_batches_size"),
    )
    credentials = Table(
        "credentials",
        metadata,
        Column("id", _row_id(), primary_key=True, autoincrement=True),
        Column("credential_id", Text, nullable=False),
        Column("content_hash", String(66), nullable=False),
        Column("digest", String(66), nullable=False),
        Column("issuer", Text, nullable=False),
        Column("queued_at", Float, nullable=False),
        Column("batch_id", BigInteger, ForeignKey("batches.id", name="fk_credentials_batch")),
        Column("batch_index", Integer),
        UniqueConstraint("credential_id", name="uq_credentials_credential_id"),
        UniqueConstraint("digest", name="uq_credentials_digest"),
        UniqueConstraint("batch_id", "batch_index", name="uq_credentials_batch_index"),
        CheckConstraint("(batch_id IS NULL) = (batch_index IS NULL)", name="ck_credentials_batch_index"),
    )
    # The queue: the oldest credentials without a batch, found without scanning the batched ones.
    Index(
        "ix_credentials_queue",
        credentials.c.id,
        sqlite_where=credentials.c.batch_id.is_(None),
        postgresql_where=credentials.c.batch_id.is_(None),
    )
    # Documents apart: claiming a credential for a batch then rewrites a short row, not a 4 KB one.
    Table(
        "credential_documents",
        metadata,
        Column(
            "credential",
            BigInteger,
            ForeignKey("credentials.id", name="fk_credential_documents_credential"),
            primary_key=True,
            autoincrement=False,
        ),
        Column("document", Text, nullable=False),
    )
    Table(
        "revocations",
        metadata,
        Column("id", _row_id(), primary_key=True, autoincrement=True),
        Column("chain_id", BigInteger, nullable=False),
        Column("registry", String(42), nullable=False),
        Column("onchain_batch_id", BigInteger, nullable=False),
        Column("indices", Text, nullable=False),
        Column("reason", Integer, nullable=False),
        Column("state", String(16), nullable=False),
        Column("tx_hash", String(66)),
        Column("block_number", BigInteger),
        Column("created_at", Float, nullable=False),
        Column("updated_at", Float, nullable=False),
        CheckConstraint("state IN ('pending', 'signed', 'done')", name="ck_revocations_state"),
    )
    attempts = Table(
        "tx_attempts",
        metadata,
        Column("id", _row_id(), primary_key=True, autoincrement=True),
        Column("purpose", String(16), nullable=False),
        Column("batch_id", BigInteger, ForeignKey("batches.id", name="fk_tx_attempts_batch")),
        Column("revocation_id", BigInteger, ForeignKey("revocations.id", name="fk_tx_attempts_revocation")),
        Column("signer", String(42), nullable=False),
        Column("nonce", BigInteger, nullable=False),
        Column("tx_hash", String(66), nullable=False),
        Column("raw_tx", Text, nullable=False),
        Column("max_fee_per_gas", String(80), nullable=False),
        Column("max_priority_fee_per_gas", String(80), nullable=False),
        Column("state", String(16), nullable=False),
        Column("created_at", Float, nullable=False),
        Column("updated_at", Float, nullable=False),
        UniqueConstraint("tx_hash", name="uq_tx_attempts_tx_hash"),
        CheckConstraint(
            "(purpose = 'anchor' AND batch_id IS NOT NULL AND revocation_id IS NULL)"
            " OR (purpose = 'revoke' AND revocation_id IS NOT NULL AND batch_id IS NULL)",
            name="ck_tx_attempts_purpose",
        ),
        CheckConstraint(
            "state IN ('signed', 'broadcast', 'mined', 'replaced', 'dropped')", name="ck_tx_attempts_state"
        ),
    )
    Index("ix_tx_attempts_batch", attempts.c.batch_id)
    Index("ix_tx_attempts_revocation", attempts.c.revocation_id)
    Table(
        "leases",
        metadata,
        Column("name", String(200), primary_key=True),
        Column("owner", String(200), nullable=False),
        Column("expires_at", Float, nullable=False),
    )
    metadata.create_all(connection)


@dataclass(frozen=True)
class Migration:
    """One forward step of the schema."""

    version: int
    description: str
    apply: Callable[[Connection], None]


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "credentials, credential_documents, batches, tx_attempts, revocations, leases", _migrate_1),
)
SCHEMA_VERSION: Final = MIGRATIONS[-1].version

_versions = Table(
    "schema_version",
    MetaData(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied_at", Float, nullable=False),
)

_credentials = table(
    "credentials",
    column("id", BigInteger),
    column("credential_id", Text),
    column("content_hash", String),
    column("digest", String),
    column("issuer", Text),
    column("queued_at", Float),
    column("batch_id", BigInteger),
    column("batch_index", Integer),
)
_documents = table("credential_documents", column("credential", BigInteger), column("document", Text))
_batches = table(
    "batches",
    column("id", BigInteger),
    column("state", String),
    column("root", String),
    column("size", Integer),
    column("tree_dump", Text),
    column("chain_id", BigInteger),
    column("registry", String),
    column("signer", String),
    column("onchain_batch_id", BigInteger),
    column("tx_hash", String),
    column("block_number", BigInteger),
    column("anchored_at", BigInteger),
    column("gas_used", BigInteger),
    column("fee_wei", Wei),
    column("created_at", Float),
    column("updated_at", Float),
)
_attempts = table(
    "tx_attempts",
    column("id", BigInteger),
    column("purpose", String),
    column("batch_id", BigInteger),
    column("revocation_id", BigInteger),
    column("signer", String),
    column("nonce", BigInteger),
    column("tx_hash", String),
    column("raw_tx", Text),
    column("max_fee_per_gas", Wei),
    column("max_priority_fee_per_gas", Wei),
    column("state", String),
    column("created_at", Float),
    column("updated_at", Float),
)
_revocations = table(
    "revocations",
    column("id", BigInteger),
    column("chain_id", BigInteger),
    column("registry", String),
    column("onchain_batch_id", BigInteger),
    column("indices", Text),
    column("reason", Integer),
    column("state", String),
    column("tx_hash", String),
    column("block_number", BigInteger),
    column("created_at", Float),
    column("updated_at", Float),
)
_leases = table("leases", column("name", String), column("owner", String), column("expires_at", Float))

#: The tables and columns queries use; a database migrated to :data:`SCHEMA_VERSION` has all of them.
QUERIED_COLUMNS: Final = {
    clause.name: tuple(c.name for c in clause.c)
    for clause in (_credentials, _documents, _batches, _attempts, _revocations, _leases)
}

_BATCH_COLUMNS: Final = tuple(c for c in _batches.c if c.name != "tree_dump")
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


# --------------------------------------------------------------------------------------------------------
# The store


class Store:
    """The issuer database. Thread-safe; open one per process (or per worker) and share it."""

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
                self.engine = create_engine(self.url, connect_args={"timeout": SQLITE_BUSY_SECONDS})
                _configure_sqlite(self.engine, file=self.url.database not in (None, "", ":memory:"))
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
    def open(cls, settings: Settings) -> Store:
        """The configured issuer database (creating the SQLite file's folder), migrated."""
        url = _normalise_url(settings.effective_database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            Path(str(url.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return cls(url)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self._shown_url!r})"

    # ---------------------------------------------------------------------------------------------- plumbing

    @contextmanager
    def _transaction(self, write: bool = False) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._connect() as connection:
            if write:
                connection.execution_options(anchor_write=True)
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

    # ---------------------------------------------------------------------------------------------- queue

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

    # ---------------------------------------------------------------------------------------------- batches

    def build_batch(
        self,
        max_size: int,
        chain_id: int,
        registry: str,
        signer: str,
        build_tree: Callable[[list[bytes]], tuple[str, str]],
    ) -> BatchRecord | None:
        """Claim up to ``max_size`` queued credentials (oldest first) as a new ``built`` batch, in one transaction.

        They get indices 0..n-1 in queue order; ``build_tree(digests in index order)`` returns the Merkle
        root (0x-hex) and the tree's JSON dump, both stored with the batch. None when nothing is queued.
        If ``build_tree`` raises, nothing changes. On PostgreSQL concurrent callers claim disjoint
        credentials (``FOR UPDATE SKIP LOCKED``).
        """
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise InvalidInputError(f"a batch holds at least one credential; max_size {max_size!r}")
        registry, signer = _address(registry, "registry"), _address(signer, "signer")
        with self._transaction(write=True) as connection:
            claimed = connection.execute(
                select(_credentials.c.id, _credentials.c.digest)
                .where(_credentials.c.batch_id.is_(None))
                .order_by(_credentials.c.id)
                .limit(max_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not claimed:
                return None
            root, dump = build_tree([bytes.fromhex(row.digest[2:]) for row in claimed])
            if not isinstance(root, str) or not _HEX32.fullmatch(root.lower()) or not isinstance(dump, str):
                raise InvariantError(f"build_tree returned {root!r} and a {type(dump).__name__}, not a root and JSON")
            now = time.time()
            batch_id = connection.execute(
                insert(_batches)
                .values(
                    state="built",
                    root=root.lower(),
                    size=len(claimed),
                    tree_dump=dump,
                    chain_id=chain_id,
                    registry=registry,
                    signer=signer,
                    created_at=now,
                    updated_at=now,
                )
                .returning(_batches.c.id)
            ).scalar_one()
            # One set-based statement: each claimed row's index is its position in the list of ids.
            ids = [row.id for row in claimed]
            connection.execute(
                _ASSIGN_INDICES[self.dialect],
                {"batch_id": batch_id, "ids": json.dumps(ids) if self.dialect == "sqlite" else ids},
            )
            return _batch_record(connection.execute(select(*_BATCH_COLUMNS).where(_batches.c.id == batch_id)).one())

    def get_batch(self, batch_id: int) -> BatchRecord:
        """The batch with this id; :class:`InvalidInputError` if there is none."""
        with self._transaction() as connection:
            row = connection.execute(select(*_BATCH_COLUMNS).where(_batches.c.id == batch_id)).one_or_none()
        if row is None:
            raise InvalidInputError(f"no batch {batch_id} in the issuer database")
        return _batch_record(row)

    def tree_dump(self, batch_id: int) -> str:
        """The batch's Merkle tree, as the JSON text ``build_tree`` returned (``standard-v1`` dump)."""
        with self._transaction() as connection:
            dump = connection.execute(select(_batches.c.tree_dump).where(_batches.c.id == batch_id)).scalar()
        if dump is None:
            raise InvalidInputError(f"no batch {batch_id} in the issuer database")
        return str(dump)

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

    # ---------------------------------------------------------------------------------------------- attempts

    def record_attempt(self, attempt: NewAttempt) -> AttemptRecord:
        """Journal a signed transaction and move its batch or revocation to ``signed``, in one transaction.

        Recording the same transaction (hash) again returns the first record and changes nothing.
        """
        _check_choice(attempt.purpose, Purpose, "purpose")
        target_id = attempt.batch_id if attempt.purpose == "anchor" else attempt.revocation_id
        other_id = attempt.revocation_id if attempt.purpose == "anchor" else attempt.batch_id
        if target_id is None or other_id is not None:
            raise InvalidInputError(
                f"an attempt to {attempt.purpose} names exactly its "
                f"{'batch' if attempt.purpose == 'anchor' else 'revocation'}"
            )
        tx_hash = _tx_hash(attempt.tx_hash)
        if not _HEX.fullmatch(attempt.raw_tx):
            raise InvalidInputError(f"raw transaction of {tx_hash} is not 0x-hex")
        with self._transaction(write=True) as connection:
            existing = connection.execute(select(_attempts).where(_attempts.c.tx_hash == tx_hash)).one_or_none()
            if existing is not None:
                record = _attempt_record(existing)
                if (record.purpose, record.batch_id, record.revocation_id, record.raw_tx) != (
                    attempt.purpose,
                    attempt.batch_id,
                    attempt.revocation_id,
                    attempt.raw_tx,
                ):
                    raise StoreError(f"transaction {tx_hash} is already journaled for something else")
                return record
            target = _batches if attempt.purpose == "anchor" else _revocations
            final = "anchored" if attempt.purpose == "anchor" else "done"
            state = connection.execute(
                select(target.c.state).where(target.c.id == target_id).with_for_update()
            ).scalar()
            what = f"{'batch' if attempt.purpose == 'anchor' else 'revocation'} {target_id}"
            if state is None:
                raise InvalidInputError(f"no {what} in the issuer database")
            if state == final:
                raise StoreError(f"{what} is {final} already; refusing to journal another transaction for it")
            now = time.time()
            attempt_id = connection.execute(
                insert(_attempts)
                .values(
                    purpose=attempt.purpose,
                    batch_id=attempt.batch_id,
                    revocation_id=attempt.revocation_id,
                    signer=_address(attempt.signer, "signer"),
                    nonce=attempt.nonce,
                    tx_hash=tx_hash,
                    raw_tx=attempt.raw_tx,
                    max_fee_per_gas=attempt.max_fee_per_gas,
                    max_priority_fee_per_gas=attempt.max_priority_fee_per_gas,
                    state="signed",
                    created_at=now,
                    updated_at=now,
                )
                .returning(_attempts.c.id)
            ).scalar_one()
            connection.execute(update(target).where(target.c.id == target_id).values(state="signed", updated_at=now))
            return _attempt_record(connection.execute(select(_attempts).where(_attempts.c.id == attempt_id)).one())

    def attempts_for_batch(self, batch_id: int) -> list[AttemptRecord]:
        """The batch's transaction attempts, oldest first."""
        return self._attempts(_attempts.c.batch_id == batch_id)

    def attempts_for_revocation(self, revocation_id: int) -> list[AttemptRecord]:
        """The revocation's transaction attempts, oldest first."""
        return self._attempts(_attempts.c.revocation_id == revocation_id)

    def _attempts(self, condition: Any) -> list[AttemptRecord]:
        with self._transaction() as connection:
            rows = connection.execute(select(_attempts).where(condition).order_by(_attempts.c.id)).all()
        return [_attempt_record(row) for row in rows]

    def set_attempt_state(self, attempt_id: int, state: AttemptState) -> None:
        """Record what became of a transaction attempt."""
        _check_choice(state, AttemptState, "attempt state")
        with self._transaction(write=True) as connection:
            changed = connection.execute(
                update(_attempts).where(_attempts.c.id == attempt_id).values(state=state, updated_at=time.time())
            ).rowcount
        if changed != 1:
            raise InvalidInputError(f"no transaction attempt {attempt_id} in the issuer database")

    # ---------------------------------------------------------------------------------------------- revocations

    def create_revocation(
        self, chain_id: int, registry: str, onchain_batch_id: int, indices: Sequence[int], reason: int
    ) -> RevocationRecord:
        """Record a revocation to send (``pending``): ``indices`` of an on-chain batch, or none for all of it."""
        if any(isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in indices):
            raise InvalidInputError(f"credential indices are non-negative integers: {list(indices)[:10]}")
        now = time.time()
        with self._transaction(write=True) as connection:
            revocation_id = connection.execute(
                insert(_revocations)
                .values(
                    chain_id=chain_id,
                    registry=_address(registry, "registry"),
                    onchain_batch_id=onchain_batch_id,
                    indices=json.dumps(list(indices)),
                    reason=reason,
                    state="pending",
                    created_at=now,
                    updated_at=now,
                )
                .returning(_revocations.c.id)
            ).scalar_one()
            row = connection.execute(select(_revocations).where(_revocations.c.id == revocation_id)).one()
        return _revocation_record(row)

    def get_revocation(self, revocation_id: int) -> RevocationRecord:
        """The revocation with this id; :class:`InvalidInputError` if there is none."""
        with self._transaction() as connection:
            row = connection.execute(select(_revocations).where(_revocations.c.id == revocation_id)).one_or_none()
        if row is None:
            raise InvalidInputError(f"no revocation {revocation_id} in the issuer database")
        return _revocation_record(row)

    def unfinished_revocations(self) -> list[RevocationRecord]:
        """Revocations not done yet (pending, signed), oldest first."""
        with self._transaction() as connection:
            rows = connection.execute(
                select(_revocations)
                .where(_revocations.c.state.in_(UNFINISHED_REVOCATION_STATES))
                .order_by(_revocations.c.id)
            ).all()
        return [_revocation_record(row) for row in rows]

    def update_revocation(
        self,
        revocation_id: int,
        *,
        state: RevocationState | None = None,
        tx_hash: str | None = None,
        block_number: int | None = None,
    ) -> RevocationRecord:
        """Set the given fields (None: unchanged); returns the updated revocation."""
        if state is not None:
            _check_choice(state, RevocationState, "revocation state")
        values: dict[str, Any] = {"updated_at": time.time()}
        if state is not None:
            values["state"] = state
        if tx_hash is not None:
            values["tx_hash"] = _tx_hash(tx_hash)
        if block_number is not None:
            values["block_number"] = block_number
        with self._transaction(write=True) as connection:
            changed = connection.execute(
                update(_revocations).where(_revocations.c.id == revocation_id).values(**values)
            ).rowcount
            if changed != 1:
                raise InvalidInputError(f"no revocation {revocation_id} in the issuer database")
            row = connection.execute(select(_revocations).where(_revocations.c.id == revocation_id)).one()
        return _revocation_record(row)

    # ---------------------------------------------------------------------------------------------- leases

    def acquire_lease(self, name: str, owner: str, seconds: float, *, now: float | None = None) -> bool:
        """Take the lease ``name`` for ``seconds``: True if it was free, expired, or ``owner``'s already.

        One atomic statement (``INSERT ... ON CONFLICT DO UPDATE ... WHERE``, the same on SQLite and
        PostgreSQL): of concurrent callers, exactly one wins a free or expired lease.
        """
        if seconds <= 0:
            raise InvalidInputError(f"a lease lasts a positive number of seconds, not {seconds}")
        moment = time.time() if now is None else now
        with self._transaction(write=True) as connection:
            taken = connection.execute(
                text(
                    "INSERT INTO leases (name, owner, expires_at) VALUES (:name, :owner, :expires)"
                    " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at"
                    " WHERE leases.owner = excluded.owner OR leases.expires_at <= :now"
                ),
                {"name": name, "owner": owner, "expires": moment + seconds, "now": moment},
            ).rowcount
        return bool(taken == 1)

    def renew_lease(self, name: str, owner: str, seconds: float, *, now: float | None = None) -> bool:
        """Extend ``owner``'s lease to ``seconds`` from now; False if it is not (or no longer) theirs."""
        moment = time.time() if now is None else now
        with self._transaction(write=True) as connection:
            changed = connection.execute(
                update(_leases)
                .where(_leases.c.name == name, _leases.c.owner == owner)
                .values(expires_at=moment + seconds)
            ).rowcount
        return bool(changed == 1)

    def release_lease(self, name: str, owner: str) -> bool:
        """Give the lease up; False if it was not ``owner``'s (taken over after expiring, or never held)."""
        with self._transaction(write=True) as connection:
            changed = connection.execute(
                _leases.delete().where(_leases.c.name == name, _leases.c.owner == owner)
            ).rowcount
        return bool(changed == 1)

    def lease_owner(self, name: str, *, now: float | None = None) -> str | None:
        """Who holds the lease ``name`` now (None: nobody, or it expired)."""
        moment = time.time() if now is None else now
        with self._transaction() as connection:
            owner = connection.execute(
                select(_leases.c.owner).where(_leases.c.name == name, _leases.c.expires_at > moment)
            ).scalar()
        return None if owner is None else str(owner)


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
        write = connection.get_execution_options().get("anchor_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


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


def _current_version(connection: Connection) -> int:
    if not connection.dialect.has_table(connection, "schema_version"):
        return 0
    return int(connection.execute(select(func.max(_versions.c.version))).scalar() or 0)


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


def _address(value: str, what: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise InvalidInputError(f"{what} {value!r} is not an address")
    return str(to_checksum_address(value))


def _tx_hash(value: str) -> str:
    if not isinstance(value, str) or not _HEX32.fullmatch(value.lower()):
        raise InvalidInputError(f"{value!r} is not a transaction hash (0x and 64 hex digits)")
    return value.lower()


def _check_choice(value: str, choices: Any, what: str) -> None:
    allowed = get_args(choices)
    if value not in allowed:
        raise InvalidInputError(f"{what} {value!r} is not one of {', '.join(allowed)}")


def _credential_state(batch_id: int | None, batch_state: str | None) -> CredentialState:
    if batch_id is None:
        return "queued"
    return "anchored" if batch_state == "anchored" else "batched"


def _batch_record(row: Row[Any]) -> BatchRecord:
    return BatchRecord(**row._asdict())


def _attempt_record(row: Row[Any]) -> AttemptRecord:
    return AttemptRecord(**row._asdict())


def _revocation_record(row: Row[Any]) -> RevocationRecord:
    values = row._asdict()
    values["indices"] = tuple(json.loads(values["indices"]))
    return RevocationRecord(**values)
