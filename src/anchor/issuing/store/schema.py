"""The schema: migrations (the only DDL), the ``schema_version`` table, and the table clauses queries use.

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
from empty has every column they name (:data:`QUERIED_COLUMNS`). The migrations are applied by
:meth:`~anchor.issuing.store.engine.StoreBase.migrate`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    column,
    func,
    select,
    table,
    text,
)


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


def _migrate_2(connection: Connection) -> None:
    """Version 2: what each mined transaction cost (gas used, fee in wei, when recorded), for spending budgets."""
    for ddl in (
        "ALTER TABLE tx_attempts ADD COLUMN gas_used BIGINT",
        "ALTER TABLE tx_attempts ADD COLUMN fee_wei VARCHAR(80)",
        "ALTER TABLE tx_attempts ADD COLUMN mined_at FLOAT",
        "CREATE INDEX ix_tx_attempts_mined_at ON tx_attempts (mined_at)",
    ):
        connection.execute(text(ddl))


def _migrate_3(connection: Connection) -> None:
    """Version 3: course templates (versioned), the learners of imported rosters, deliveries to learners."""
    metadata = MetaData()
    Table(
        "courses",
        metadata,
        Column("id", _row_id(), primary_key=True, autoincrement=True),
        Column("course_id", String(64), nullable=False),
        Column("version", Integer, nullable=False),
        Column("title", Text, nullable=False),
        Column("template", Text, nullable=False),
        Column("content_hash", String(66), nullable=False),
        Column("created_at", Float, nullable=False),
        UniqueConstraint("course_id", "version", name="uq_courses_version"),
        CheckConstraint("version >= 1", name="ck_courses_version"),
    )
    Table(
        "roster_entries",
        metadata,
        Column("id", _row_id(), primary_key=True, autoincrement=True),
        Column("credential_id", Text, nullable=False),
        Column("course_id", String(64), nullable=False),
        Column("course_version", Integer, nullable=False),
        Column("learner_key", String(66), nullable=False),
        Column("email", Text),
        Column("valid_from", String(40), nullable=False),
        Column("created_at", Float, nullable=False),
        UniqueConstraint("credential_id", name="uq_roster_entries_credential_id"),
        UniqueConstraint("course_id", "learner_key", name="uq_roster_entries_learner"),
        ForeignKeyConstraint(
            ["course_id", "course_version"],
            ["courses.course_id", "courses.version"],
            name="fk_roster_entries_course",
        ),
    )
    Table(
        "deliveries",
        metadata,
        Column("id", _row_id(), primary_key=True, autoincrement=True),
        Column("credential_id", Text, nullable=False),
        Column("method", String(8), nullable=False),
        Column("state", String(8), nullable=False),
        Column("address", Text, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("error", Text),
        Column("delivered_at", Float),
        Column("updated_at", Float, nullable=False),
        UniqueConstraint("credential_id", name="uq_deliveries_credential_id"),
        CheckConstraint("method IN ('email', 'folder')", name="ck_deliveries_method"),
        CheckConstraint("state IN ('sent', 'failed')", name="ck_deliveries_state"),
    )
    metadata.create_all(connection)


def _migrate_4(connection: Connection) -> None:
    """Version 4: status lists (W3C Bitstring Status List), and each credential's entry in one."""
    metadata = MetaData()
    status_lists = Table(
        "status_lists",
        metadata,
        Column("id", _row_id(), primary_key=True, autoincrement=True),
        Column("issuer", Text, nullable=False),
        Column("size", Integer, nullable=False),
        Column("used", Integer, nullable=False),
        Column("shuffle_key", String(64), nullable=False),
        Column("created_at", Float, nullable=False),
        CheckConstraint("size > 0", name="ck_status_lists_size"),
        CheckConstraint("used >= 0 AND used <= size", name="ck_status_lists_used"),
    )
    Index("ix_status_lists_issuer", status_lists.c.issuer, status_lists.c.id)
    metadata.create_all(connection)
    both_or_neither = "(status_list IS NULL) = (status_index IS NULL)"
    connection.execute(text("ALTER TABLE credentials ADD COLUMN status_list BIGINT REFERENCES status_lists (id)"))
    if connection.dialect.name == "sqlite":  # SQLite adds constraints only with a column
        connection.execute(
            text(
                "ALTER TABLE credentials ADD COLUMN status_index INTEGER"
                f" CONSTRAINT ck_credentials_status CHECK ({both_or_neither})"
            )
        )
    else:
        connection.execute(text("ALTER TABLE credentials ADD COLUMN status_index INTEGER"))
        connection.execute(
            text(f"ALTER TABLE credentials ADD CONSTRAINT ck_credentials_status CHECK ({both_or_neither})")
        )
    connection.execute(text("CREATE UNIQUE INDEX uq_credentials_status ON credentials (status_list, status_index)"))


def _migrate_5(connection: Connection) -> None:
    """Version 5: a batch's tree dump in parts (``batch_tree_parts``), the ``batches.tree_dump`` column dropped.

    The text of a dump is its parts joined in ``part`` order, so a large one (250 MB for a million
    credentials) is written and read a part at a time, never whole in memory. Each batch's dump so far
    becomes its part 0 as it is (one statement, inside the database).
    """
    metadata = MetaData()
    Table("batches", metadata, Column("id", _row_id(), primary_key=True))  # the foreign key's target, as it is
    parts = Table(
        "batch_tree_parts",
        metadata,
        Column("batch_id", BigInteger, nullable=False),
        Column("part", Integer, nullable=False),
        Column("text", Text, nullable=False),
        PrimaryKeyConstraint("batch_id", "part", name="pk_batch_tree_parts"),
        ForeignKeyConstraint(["batch_id"], ["batches.id"], name="fk_batch_tree_parts_batch"),
        CheckConstraint("part >= 0", name="ck_batch_tree_parts_part"),
    )
    parts.create(connection)
    connection.execute(
        text("INSERT INTO batch_tree_parts (batch_id, part, text) SELECT id, 0, tree_dump FROM batches ORDER BY id")
    )
    # Neither dialect needs the table rebuilt: tree_dump is in no index, key, or CHECK/UNIQUE constraint.
    connection.execute(text("ALTER TABLE batches DROP COLUMN tree_dump"))


@dataclass(frozen=True)
class Migration:
    """One forward step of the schema."""

    version: int
    description: str
    apply: Callable[[Connection], None]


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "credentials, credential_documents, batches, tx_attempts, revocations, leases", _migrate_1),
    Migration(2, "tx_attempts: gas_used, fee_wei, mined_at (spending budgets)", _migrate_2),
    Migration(3, "courses, roster_entries, deliveries (course templates, rosters, delivery)", _migrate_3),
    Migration(4, "status_lists; credentials: status_list, status_index (W3C Bitstring Status List)", _migrate_4),
    Migration(5, "batch_tree_parts (a batch's tree dump in parts); batches: tree_dump dropped", _migrate_5),
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
    column("status_list", BigInteger),
    column("status_index", Integer),
)
_status_lists = table(
    "status_lists",
    column("id", BigInteger),
    column("issuer", Text),
    column("size", Integer),
    column("used", Integer),
    column("shuffle_key", String),
    column("created_at", Float),
)
_documents = table("credential_documents", column("credential", BigInteger), column("document", Text))
_batches = table(
    "batches",
    column("id", BigInteger),
    column("state", String),
    column("root", String),
    column("size", Integer),
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
_tree_parts = table("batch_tree_parts", column("batch_id", BigInteger), column("part", Integer), column("text", Text))
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
    column("gas_used", BigInteger),
    column("fee_wei", Wei),
    column("mined_at", Float),
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
_courses = table(
    "courses",
    column("id", BigInteger),
    column("course_id", String),
    column("version", Integer),
    column("title", Text),
    column("template", Text),
    column("content_hash", String),
    column("created_at", Float),
)
_roster_entries = table(
    "roster_entries",
    column("id", BigInteger),
    column("credential_id", Text),
    column("course_id", String),
    column("course_version", Integer),
    column("learner_key", String),
    column("email", Text),
    column("valid_from", String),
    column("created_at", Float),
)
_deliveries = table(
    "deliveries",
    column("id", BigInteger),
    column("credential_id", Text),
    column("method", String),
    column("state", String),
    column("address", Text),
    column("attempts", Integer),
    column("error", Text),
    column("delivered_at", Float),
    column("updated_at", Float),
)

#: The tables and columns queries use; a database migrated to :data:`SCHEMA_VERSION` has all of them.
QUERIED_COLUMNS: Final = {
    clause.name: tuple(c.name for c in clause.c)
    for clause in (
        _credentials,
        _documents,
        _batches,
        _tree_parts,
        _attempts,
        _revocations,
        _leases,
        _courses,
        _roster_entries,
        _deliveries,
        _status_lists,
    )
}


def _current_version(connection: Connection) -> int:
    if not connection.dialect.has_table(connection, "schema_version"):
        return 0
    return int(connection.execute(select(func.max(_versions.c.version))).scalar() or 0)
