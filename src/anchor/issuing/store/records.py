"""What the issuer database hands out and takes in: frozen records (never live rows) and the states they name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

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
    status_list: int | None = None
    """The status list whose entry the credential's ``credentialStatus`` names (see
    :meth:`Store.reserve_status_indices`); None: the credential has no status entry."""
    status_index: int | None = None
    """The entry's index in that list."""


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
    gas_used: int | None = None
    """Gas the mined transaction used (None until it is final, and for attempts never mined)."""
    fee_wei: int | None = None
    """What the mined transaction paid: ``gasUsed`` x ``effectiveGasPrice`` of its receipt."""
    mined_at: float | None = None
    """When its fee was recorded (unix seconds): the time the spending budget per day counts by."""


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


DeliveryMethod = Literal["email", "folder"]
DeliveryState = Literal["sent", "failed"]
"""``sent``: the SMTP server accepted the message, or the learner's folder was written; ``failed``: it was not
(the error is recorded; a later run tries again)."""


@dataclass(frozen=True, slots=True)
class CourseRecord:
    """One version of a course template (see :mod:`anchor.issuing.courses`)."""

    course_id: str
    version: int
    title: str
    template: str
    """The template as JSON text."""
    content_hash: str
    """0x-hex keccak256 of the template's canonical JSON: an unchanged template is not a new version."""
    created_at: float


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """A learner of an imported roster: the credential issued to them, and where to deliver it."""

    credential_id: str
    course_id: str
    course_version: int
    learner_key: str
    """0x-hex SHA-256 of what tells this learner apart in the course (see :mod:`anchor.issuing.rosters`)."""
    email: str | None
    valid_from: str
    """The credential's ``validFrom``: a re-imported roster keeps the date of issuing of the first import."""


@dataclass(frozen=True, slots=True)
class DeliveryItem:
    """A credential of an anchored batch, with its learner's e-mail address and its delivery so far."""

    index: int
    credential_id: str
    document: str
    email: str | None
    """From the roster it was issued from (None: no address, or not issued from a roster)."""
    method: DeliveryMethod | None
    """How it was last delivered or tried (None: never)."""
    state: DeliveryState | None
    attempts: int
    error: str | None
