"""The issuer database: queued credentials, batches with their trees, transaction attempts, revocations, leases.

SQLAlchemy 2 Core on SQLite (a file under ``ANCHOR_HOME`` by default, nothing to install) or PostgreSQL
(``postgresql+psycopg://...``, for issuers running several workers). Every state change is one database
transaction; records handed out are frozen dataclasses, never live rows.

One module per concern, combined into :class:`Store`:

- :mod:`~anchor.issuing.store.records`: the records handed out and taken in, and the states they name;
- :mod:`~anchor.issuing.store.schema`: the migrations (the only DDL), schema versions, the table clauses;
- :mod:`~anchor.issuing.store.engine`: URLs, SQLite's configuration, transactions and locks, opening and
  migrating (:class:`~anchor.issuing.store.engine.StoreBase`, which every part below builds on);
- :mod:`~anchor.issuing.store.queue`, :mod:`~anchor.issuing.store.batches`,
  :mod:`~anchor.issuing.store.attempts` (the transaction journal), :mod:`~anchor.issuing.store.revocations`,
  :mod:`~anchor.issuing.store.leases`, :mod:`~anchor.issuing.store.courses` (course templates, roster
  entries), :mod:`~anchor.issuing.store.deliveries`, :mod:`~anchor.issuing.store.status` (status lists): the
  queries of each concern, and how concurrent workers share them;
- :mod:`~anchor.issuing.store.values`: the checks of values on their way in.

Names with a leading underscore (the table clauses, the checks, the lock keys) are the package's own:
its modules share them; nothing outside the package imports them.
"""

from __future__ import annotations

from anchor.issuing.store.attempts import AttemptStore
from anchor.issuing.store.batches import STREAM_CHUNK, BatchStore
from anchor.issuing.store.courses import CourseStore
from anchor.issuing.store.deliveries import DeliveryStore
from anchor.issuing.store.engine import SQLITE_BUSY_SECONDS
from anchor.issuing.store.leases import LeaseStore
from anchor.issuing.store.queue import QueueStore
from anchor.issuing.store.records import (
    UNFINISHED_BATCH_STATES,
    UNFINISHED_REVOCATION_STATES,
    AttemptRecord,
    AttemptState,
    BatchRecord,
    BatchState,
    CourseRecord,
    CredentialRecord,
    CredentialState,
    DeliveryItem,
    DeliveryMethod,
    DeliveryState,
    NewAttempt,
    NewCredential,
    Purpose,
    QueueOutcome,
    QueueStatus,
    RevocationRecord,
    RevocationState,
    RosterEntry,
)
from anchor.issuing.store.revocations import RevocationStore
from anchor.issuing.store.schema import MIGRATIONS, QUERIED_COLUMNS, SCHEMA_VERSION, Migration, Wei
from anchor.issuing.store.status import StatusListEntry, StatusListRecord, StatusSlots, StatusStore

__all__ = [
    "MIGRATIONS",
    "QUERIED_COLUMNS",
    "SCHEMA_VERSION",
    "SQLITE_BUSY_SECONDS",
    "STREAM_CHUNK",
    "UNFINISHED_BATCH_STATES",
    "UNFINISHED_REVOCATION_STATES",
    "AttemptRecord",
    "AttemptState",
    "BatchRecord",
    "BatchState",
    "CourseRecord",
    "CredentialRecord",
    "CredentialState",
    "DeliveryItem",
    "DeliveryMethod",
    "DeliveryState",
    "Migration",
    "NewAttempt",
    "NewCredential",
    "Purpose",
    "QueueOutcome",
    "QueueStatus",
    "RevocationRecord",
    "RevocationState",
    "RosterEntry",
    "StatusListEntry",
    "StatusListRecord",
    "StatusSlots",
    "Store",
    "Wei",
]


class Store(QueueStore, BatchStore, AttemptStore, RevocationStore, LeaseStore, CourseStore, DeliveryStore, StatusStore):
    """The issuer database. Thread-safe; open one per process (or per worker) and share it."""
