"""What a verification returns: named checks, each passed, failed or not checked, and a verdict.

Pure data: no chain access here. :meth:`Verification.to_json` is the machine-readable form that
``anchor verify --json`` prints and ``POST /verify`` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T")


class CheckState(StrEnum):
    """The outcome of one check."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not-checked"


class Verdict(StrEnum):
    """The overall answer.

    ``VALID``: every check passed (or, like the signature of a v1 credential, does not apply: code
    :data:`NOT_APPLICABLE`). ``INVALID``: a check failed (tampered, unsigned, untrusted, not anchored, revoked,
    expired, endpoints disagree...). ``ERROR``: the input is not a usable receipt, or an RPC endpoint or the
    issuer's DID document could not be had, so nothing can be said either way (CLI exit code 2).
    """

    VALID = "VALID"
    INVALID = "INVALID"
    ERROR = "ERROR"


#: The checks, in the order they run and are shown: (name, title).
CHECKS: tuple[tuple[str, str], ...] = (
    ("receipt", "Receipt readable, format anchor-receipt-v1, v2 or v3, or a presentation"),
    ("schema", "Credential complete (EU micro-credential elements)"),
    ("integrity", "Credential unchanged (digest and Merkle proof)"),
    ("signature", "Signed by the issuer"),
    ("chain", "Chain and trusted registry"),
    ("anchored", "Root anchored for the batch, final"),
    ("issuer", "Anchored by the credential's issuer"),
    ("revocation", "Not revoked"),
    ("validity", "Within its validity period"),
)
CHECK_TITLES: dict[str, str] = dict(CHECKS)
#: The code of a check that does not apply to the receipt (the signature of a format that predates signatures):
#: not checked, and not counted against a VALID verdict.
NOT_APPLICABLE = "not-applicable"

#: Which failure names the overall status when several checks fail (most telling first).
_HEADLINE_ORDER = (
    "receipt",
    "integrity",
    "signature",
    "chain",
    "anchored",
    "issuer",
    "revocation",
    "schema",
    "validity",
)


@dataclass(frozen=True)
class Check:
    """One named check and its outcome.

    ``code`` is a stable machine-readable word for the outcome (``ok``, ``tampered``, ``revoked``,
    ``untrusted-registry``...); ``reason`` says it for a person.
    """

    name: str
    state: CheckState
    reason: str
    code: str = "ok"

    @property
    def title(self) -> str:
        """The check's human title."""
        return CHECK_TITLES.get(self.name, self.name)

    def to_json(self) -> dict[str, str]:
        """The check as JSON."""
        return {
            "name": self.name,
            "title": self.title,
            "state": self.state.value,
            "code": self.code,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Revocation:
    """A revocation found on chain: of the credential alone, or of its whole batch."""

    scope: str
    """``credential`` or ``batch``."""
    reason_code: int
    """The on-chain reason code (1..255)."""
    reason: str
    """The reason in words (``fraud``, ``issued-in-error``...; ``code N`` for codes anchor does not name)."""
    revoked_at: datetime | None
    """Block time of the revocation, when it could be read."""
    block_number: int | None = None
    """Block of the revocation, when known."""

    def to_json(self) -> dict[str, Any]:
        """The revocation as JSON."""
        return {
            "scope": self.scope,
            "reasonCode": self.reason_code,
            "reason": self.reason,
            "revokedAt": _iso(self.revoked_at),
            "blockNumber": self.block_number,
        }


@dataclass(frozen=True)
class Evidence:
    """Where the credential is anchored: what the receipt claims and what the registry answered.

    ``transaction_hash``, ``block_number`` and ``anchored_at`` are the receipt's claims, never evidence by
    themselves; the ``*_onchain`` fields are what the endpoints agreed on: the batch record's block and time
    (``credentialStatus``) and the transaction of its ``BatchAnchored`` event. The ``issuer_*`` fields are
    the registered name, country and identifier of the issuer that anchored the batch (None when the
    receipt names another issuer, or the registry was not asked). ``trust_source`` says where the trust in
    the registry came from. Show the on-chain values; a claim only labelled as such.
    """

    chain_id: int
    network: str | None
    registry: str
    batch_id: int
    index: int
    issuer_id: int
    root: str
    digest: str
    transaction_hash: str
    block_number: int
    anchored_at: datetime
    issuer_name: str | None = None
    issuer_uri: str | None = None
    issuer_country: str | None = None
    anchored_at_block_onchain: int | None = None
    anchored_at_onchain: datetime | None = None
    transaction_hash_onchain: str | None = None
    finalized_block: int | None = None
    revocation: Revocation | None = None
    explorer_tx: str | None = None
    """Explorer link of the confirmed transaction; of the claimed one (label it so) only while the registry was
    not asked; None when the registry answered but the transaction was not confirmed."""
    explorer_registry: str | None = None
    explorer_block: str | None = None
    """Explorer link of the batch's block on chain, else of the claimed one (label it so)."""
    endpoints: tuple[str, ...] = ()
    trust_source: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The evidence as JSON."""
        return {
            "chainId": self.chain_id,
            "network": self.network,
            "registry": self.registry,
            "batchId": self.batch_id,
            "index": self.index,
            "issuerId": self.issuer_id,
            "issuerName": self.issuer_name,
            "issuerUri": self.issuer_uri,
            "issuerCountry": self.issuer_country,
            "root": self.root,
            "digest": self.digest,
            "transactionHash": self.transaction_hash,
            "blockNumber": self.block_number,
            "anchoredAt": _iso(self.anchored_at),
            "anchoredAtBlockOnChain": self.anchored_at_block_onchain,
            "anchoredAtOnChain": _iso(self.anchored_at_onchain),
            "transactionHashOnChain": self.transaction_hash_onchain,
            "registryTrustedBy": self.trust_source,
            "finalizedBlock": self.finalized_block,
            "revocation": self.revocation.to_json() if self.revocation else None,
            "explorer": {
                "transaction": self.explorer_tx,
                "registry": self.explorer_registry,
                "block": self.explorer_block,
            },
            "endpoints": list(self.endpoints),
        }

    def but(self, **changes: Any) -> Evidence:
        """The same evidence with ``changes`` (field names): what :func:`dataclasses.replace` gives, at a tenth of
        its cost (a verification changes its evidence up to three times)."""
        unknown = changes.keys() - _EVIDENCE_NAMES
        if unknown:
            raise TypeError(f"Evidence has no field {', '.join(sorted(unknown))}")
        changed = object.__new__(Evidence)
        changed.__dict__.update(self.__dict__)
        changed.__dict__.update(changes)
        return changed


@dataclass(frozen=True)
class CredentialSummary:
    """What a person reads on a credential: learner, title, awarding body, workload, level, outcomes."""

    credential_id: str | None
    learner: str | None
    title: str | None
    description: str | None
    awarding_body: str | None
    awarding_body_id: str | None
    country: str | None
    ects: float | None
    eqf_level: int | None
    learning_outcomes: tuple[str, ...]
    grade: str | None
    valid_from: str | None
    valid_until: str | None
    participation: str | None
    assessment: str | None
    quality_assurance: str | None
    language: str | None
    workload_hours: float | None = None
    """The notional workload in hours, where the credential states it (the only workload without ECTS)."""
    withheld: tuple[str, ...] = ()
    """The fields a presentation withholds (dotted paths, ``credentialSubject.result.0.value``); none for a receipt."""

    @property
    def workload(self) -> str | None:
        """The notional workload as a person reads it: "5 ECTS", "5 ECTS (125 hours)" or "80 hours (no ECTS)".

        Annex I asks for ECTS "wherever possible"; a workload in hours alone is said to have no ECTS.
        """
        hours = f"{self.workload_hours:g} hours" if self.workload_hours is not None else None
        if self.ects is None:
            return f"{hours} (no ECTS)" if hours else None
        return f"{self.ects:g} ECTS" + (f" ({hours})" if hours else "")

    def to_json(self) -> dict[str, Any]:
        """The summary as JSON."""
        return {
            "id": self.credential_id,
            "learner": self.learner,
            "title": self.title,
            "description": self.description,
            "awardingBody": self.awarding_body,
            "awardingBodyId": self.awarding_body_id,
            "country": self.country,
            "ects": self.ects,
            "eqfLevel": self.eqf_level,
            "workloadHours": self.workload_hours,
            "workload": self.workload,
            "learningOutcomes": list(self.learning_outcomes),
            "grade": self.grade,
            "validFrom": self.valid_from,
            "validUntil": self.valid_until,
            "participation": self.participation,
            "assessment": self.assessment,
            "qualityAssurance": self.quality_assurance,
            "language": self.language,
            "withheld": list(self.withheld),
        }


@dataclass(frozen=True)
class Verification:
    """The result of verifying one receipt: every check in order, the verdict and a one-line summary.

    ``status`` is the word to show in large letters: ``VALID``, or what went wrong (``REVOKED``,
    ``TAMPERED``, ``EXPIRED``, ``UNTRUSTED REGISTRY``, ``ENDPOINTS DISAGREE``...).
    """

    checks: tuple[Check, ...]
    verdict: Verdict
    status: str
    summary: str
    checked_at: datetime
    source: str | None = None
    evidence: Evidence | None = None
    credential: CredentialSummary | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    """What does not change the verdict but should be told: a status list that disagrees with the chain..."""

    @property
    def valid(self) -> bool:
        """Whether the verdict is VALID."""
        return self.verdict is Verdict.VALID

    def check(self, name: str) -> Check:
        """The check called ``name``."""
        for item in self.checks:
            if item.name == name:
                return item
        raise KeyError(name)

    @property
    def failed(self) -> tuple[Check, ...]:
        """The checks that failed, in order."""
        return tuple(item for item in self.checks if item.state is CheckState.FAILED)

    def with_source(self, source: str | None) -> Verification:
        """The same result, labelled with where the receipt came from."""
        return replace(self, source=source)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as plain values (a directory's results come back from its worker processes this way): each
        check, enum and dataclass pickled as an object costs about twice the time and 1.3 times the bytes.

        A check is one tuple of plain strings, the same tuple object for the same check in every result of
        this process (most checks of a directory's results say the same words): pickled once per message,
        then referred to, and unpickled into one :class:`Check`.
        """
        evidence, credential = self.evidence, self.credential
        sent = _SENT_CHECKS
        if len(sent) > _SENT_CHECKS_KEPT:
            sent.clear()
        return (
            _unpickled,
            (
                tuple(sent.setdefault(key := _check_values(check), key) for check in self.checks),
                _VERDICT_VALUES[self.verdict],
                self.status,
                self.summary,
                self.checked_at,
                self.source,
                None if evidence is None else _evidence_values(evidence),
                None if credential is None else _summary_values(credential),
                self.extra,
                self.warnings,
            ),
        )

    def to_json(self) -> dict[str, Any]:
        """The machine-readable result."""
        return {
            "verdict": self.verdict.value,
            "status": self.status,
            "summary": self.summary,
            "source": self.source,
            "checkedAt": _iso(self.checked_at),
            "checks": [item.to_json() for item in self.checks],
            "evidence": self.evidence.to_json() if self.evidence else None,
            "credential": self.credential.to_json() if self.credential else None,
            "warnings": list(self.warnings),
        }


def headline(checks: tuple[Check, ...]) -> Check | None:
    """The failed check that names the overall status, or None when nothing failed."""
    failed = {item.name: item for item in checks if item.state is CheckState.FAILED}
    for name in _HEADLINE_ORDER:
        if name in failed:
            return failed[name]
    return next(iter(failed.values()), None)


_EVIDENCE_NAMES = frozenset(item.name for item in fields(Evidence))
_EVIDENCE_FIELDS = tuple(item.name for item in fields(Evidence))
_SUMMARY_FIELDS = tuple(item.name for item in fields(CredentialSummary))
#: The field values of an Evidence and a CredentialSummary, in their order (so also their __init__'s).
_evidence_values = attrgetter(*_EVIDENCE_FIELDS)
_summary_values = attrgetter(*_SUMMARY_FIELDS)
_STATES = {state.value: state for state in CheckState}
_STATE_VALUES = {state: state.value for state in CheckState}
_VERDICTS = {verdict.value: verdict for verdict in Verdict}
_VERDICT_VALUES = {verdict: verdict.value for verdict in Verdict}
#: The checks' tuples this process pickled, each kept once (see :meth:`Verification.__reduce__`), and the
#: checks it unpickled, by their tuple; each bounded (emptied when full).
_SENT_CHECKS: dict[tuple[str, str, str, str], tuple[str, str, str, str]] = {}
_RECEIVED_CHECKS: dict[tuple[str, str, str, str], Check] = {}
_SENT_CHECKS_KEPT = 4096


def _check_values(check: Check) -> tuple[str, str, str, str]:
    return (check.name, _STATE_VALUES[check.state], check.reason, check.code)


def _received_check(values: tuple[str, str, str, str]) -> Check:
    found = _RECEIVED_CHECKS.get(values)
    if found is None:
        if len(_RECEIVED_CHECKS) > _SENT_CHECKS_KEPT:
            _RECEIVED_CHECKS.clear()
        name, state, reason, code = values
        found = _RECEIVED_CHECKS[values] = Check(name, _STATES[state], reason, code)
    return found


def _frozen(cls: type[T], names: tuple[str, ...], values: tuple[Any, ...]) -> T:
    """An instance of the frozen dataclass ``cls`` with ``values`` for its fields ``names``, as its ``__init__``
    would make it (these classes check nothing in it), at a third of its cost."""
    made = object.__new__(cls)
    made.__dict__.update(zip(names, values, strict=True))
    return made


def _unpickled(
    checks: tuple[tuple[str, str, str, str], ...],
    verdict: str,
    status: str,
    summary: str,
    checked_at: datetime,
    source: str | None,
    evidence: tuple[Any, ...] | None,
    credential: tuple[Any, ...] | None,
    extra: dict[str, Any],
    warnings: tuple[str, ...],
) -> Verification:
    """The :class:`Verification` :meth:`Verification.__reduce__` pickled."""
    return _frozen(
        Verification,
        _VERIFICATION_FIELDS,
        (
            tuple(map(_received_check, checks)),
            _VERDICTS[verdict],
            status,
            summary,
            checked_at,
            source,
            None if evidence is None else _frozen(Evidence, _EVIDENCE_FIELDS, evidence),
            None if credential is None else _frozen(CredentialSummary, _SUMMARY_FIELDS, credential),
            extra,
            warnings,
        ),
    )


_VERIFICATION_FIELDS = tuple(item.name for item in fields(Verification))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
