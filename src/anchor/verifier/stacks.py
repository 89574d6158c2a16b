"""Verifying a stack bundle (``anchor-stack-v1``): the stacked credential, every part, and how they fit.

Every receipt in the bundle gets the full receipt checks of :mod:`anchor.verifier.checks` (integrity,
signature, chain, anchored, issuer, revocation, validity), each as a receipt of its own: a part that is itself
a stack is verified as a plain receipt, its own parts are not looked for (no recursion, however credentials
refer to each other). Then the checks of the stack, in order:

1. ``bundle``: the file is a bundle (:func:`anchor.sharing.stacks.parse_bundle`: strict I-JSON, at most
   1 MiB, 1 to 64 parts, no credential twice); else the verdict is ERROR (CLI exit code 2).
2. ``stacked``: the stacked credential's receipt is VALID.
3. ``named``: it is a stack (stackability mode "stack") naming its parts by id and digest
   (:mod:`anchor.credentials.related`).
4. ``complete``: every named part is in the bundle, with the named digest (the one its receipt anchors, which
   the ``integrity`` check of the part recomputes), and the bundle holds no part the stack does not name.
5. ``learner``: every part is the same learner's as the stacked credential (the rule of
   :mod:`anchor.sharing.stacks`: ``credentialSubject.id``, else identical identifier entries).
6. ``parts``: every part's receipt is VALID.

The verdict: ERROR when the bundle is unusable; else INVALID when a check failed (a part revoked, expired,
tampered, of another learner, missing, not named...: the summary names the part by its credential id and
title); else ERROR when a receipt could not be verified (an RPC endpoint unreachable...); else VALID. The
result reports the parts' total workload (ECTS, or hours for the parts without ECTS) and the EQF levels.

The machine-readable result (``anchor verify --json`` of a bundle, ``POST /verify`` with a bundle)::

    {"kind": "stack", "verdict": "VALID" | "INVALID" | "ERROR", "status": "VALID" | "PART REVOKED" | ...,
     "summary": "...", "source": ..., "checkedAt": "...Z",
     "checks": [{"name", "title", "state", "code", "reason"}, ...],          # the six above, in order
     "stack": {"format": "anchor-stack-v1", "id", "title", "learner", "awardingBody",
               "workload": {"ects": 15.0, "hours": null, "text": "15 ECTS"},  # the parts' total
               "statedWorkload": "15 ECTS (450 hours)",                        # what the stack itself says
               "eqfLevel": 6, "partEqfLevels": [6, 6, 6]},
     "stacked": <the receipt result of the stacked credential, as for one receipt> | null,
     "parts": [{"id", "title", "namedAt": "/relatedResource/0" | null, "digest": "0x..." | null,
                "position": 0 | null,                    # index in the bundle's parts; null: missing
                "problems": ["..."],                      # what the stack checks found about this part
                "result": <the part's receipt result> | null}, ...],
     "warnings": ["..."]}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from anchor.credentials import parse_credential
from anchor.credentials.model import _show
from anchor.credentials.receipt import split_receipt
from anchor.credentials.related import NamedPart, is_stack, stack_parts
from anchor.errors import CredentialValidationError, InvalidInputError
from anchor.sharing.stacks import (
    MAX_STACK_BYTES,
    STACK_FORMAT,
    STACK_TYPE,
    StackBundle,
    StackBundleError,
    StackWorkload,
    is_bundle_text,
    learner_mismatch,
    match_parts,
    parse_bundle,
    stack_workload,
)
from anchor.verifier.model import Check, CheckState, Verdict, Verification, headline
from anchor.verifier.session import Verifier

__all__ = ["STACK_CHECKS", "PartResult", "StackCheck", "StackVerification", "verify_if_stack", "verify_stack"]

#: The checks of a stack, in order: (name, title).
STACK_CHECKS: Final = (
    ("bundle", "Stack bundle readable, format anchor-stack-v1"),
    ("stacked", "Stacked credential valid (every receipt check)"),
    ("named", "Names its parts by id and digest"),
    ("complete", "Every named part present, with its digest"),
    ("learner", "Every part is the same learner's"),
    ("parts", "Every part valid (every receipt check)"),
)
_TITLES: Final = dict(STACK_CHECKS)
_STATUS_WORDS: Final = {
    "unreadable": "NOT A STACK",
    "bad-bundle": "NOT A STACK",
    "not-a-stack": "NOT A STACK",
    "part-missing": "PART MISSING",
    "part-not-named": "PART NOT NAMED",
    "digest-mismatch": "PART NOT THE NAMED ONE",
    "other-learner": "OTHER LEARNER",
}
#: Parts verified at once (threads), when a bundle has several.
_WORKERS: Final = 4


@dataclass(frozen=True)
class StackCheck(Check):
    """A check of a stack (titles from :data:`STACK_CHECKS`)."""

    @property
    def title(self) -> str:
        """The check's human title."""
        return _TITLES.get(self.name, self.name)


@dataclass(frozen=True)
class PartResult:
    """One part: as the stacked credential names it, and as the bundle carries it."""

    id: str | None
    named_at: str | None
    """Where the stacked credential names it (None: the bundle carries a part it does not name)."""
    digest: str | None
    """The digest the stacked credential names."""
    position: int | None
    """Its index in the bundle's parts (None: missing)."""
    result: Verification | None
    problems: tuple[str, ...] = ()

    @property
    def title(self) -> str | None:
        """The part's title, when its receipt was read."""
        return self.result.credential.title if self.result and self.result.credential else None

    @property
    def label(self) -> str:
        """How a message names the part: its credential id, and title and issuer when known."""
        shown = f"part {_show(self.id, 120)}"
        summary = self.result.credential if self.result else None
        details = [item for item in (summary.title, summary.awarding_body) if item] if summary else []
        return shown + (f" ({', '.join(details)})" if details else "")

    def to_json(self) -> dict[str, Any]:
        """The part as JSON."""
        return {
            "id": self.id,
            "title": self.title,
            "namedAt": self.named_at,
            "digest": self.digest,
            "position": self.position,
            "problems": list(self.problems),
            "result": self.result.to_json() if self.result else None,
        }


@dataclass(frozen=True)
class StackVerification:
    """The result of verifying a stack bundle (the module doc); shaped like a receipt's :class:`Verification`."""

    checks: tuple[Check, ...]
    verdict: Verdict
    status: str
    summary: str
    checked_at: datetime
    source: str | None = None
    stacked: Verification | None = None
    parts: tuple[PartResult, ...] = ()
    workload: StackWorkload | None = None
    warnings: tuple[str, ...] = ()
    part_levels: tuple[int | None, ...] = field(default=())

    @property
    def valid(self) -> bool:
        """Whether the verdict is VALID."""
        return self.verdict is Verdict.VALID

    @property
    def failed(self) -> tuple[Check, ...]:
        """The checks that failed, in order."""
        return tuple(item for item in self.checks if item.state is CheckState.FAILED)

    def check(self, name: str) -> Check:
        """The check called ``name``."""
        for item in self.checks:
            if item.name == name:
                return item
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """The machine-readable result (the module doc)."""
        summary = self.stacked.credential if self.stacked else None
        return {
            "kind": "stack",
            "verdict": self.verdict.value,
            "status": self.status,
            "summary": self.summary,
            "source": self.source,
            "checkedAt": self.checked_at.isoformat().replace("+00:00", "Z"),
            "checks": [item.to_json() for item in self.checks],
            "stack": {
                "format": STACK_FORMAT,
                "id": summary.credential_id if summary else None,
                "title": summary.title if summary else None,
                "learner": summary.learner if summary else None,
                "awardingBody": summary.awarding_body if summary else None,
                "workload": None
                if self.workload is None
                else {"ects": self.workload.ects, "hours": self.workload.hours, "text": self.workload.text},
                "statedWorkload": summary.workload if summary else None,
                "eqfLevel": summary.eqf_level if summary else None,
                "partEqfLevels": list(self.part_levels),
            },
            "stacked": self.stacked.to_json() if self.stacked else None,
            "parts": [part.to_json() for part in self.parts],
            "warnings": list(self.warnings),
        }


def verify_if_stack(
    verifier: Verifier, data: bytes, *, source: str | None = None, deadline: float | None = None
) -> StackVerification | None:
    """The stack's result when ``data`` is a stack bundle (a JSON object of type ``AnchorCredentialStack`` or format
    ``anchor-stack-v1``), else None: anything else (a receipt, text that is not JSON) is a receipt's to verify.

    Costs a byte search for input without the format marker (every receipt but a rare one).
    """
    if not is_bundle_text(data):
        return None
    if len(data) > MAX_STACK_BYTES:  # too large to be read, but marked as a bundle: refused as one
        return verify_stack(verifier, data, source=source, deadline=deadline)
    try:
        document = parse_credential(data)
    except InvalidInputError:
        return None
    if document.get("type") != STACK_TYPE and document.get("format") != STACK_FORMAT:
        return None
    return verify_stack(verifier, document, source=source, deadline=deadline)


def verify_stack(
    verifier: Verifier,
    bundle: bytes | str | Mapping[str, Any] | StackBundle,
    *,
    now: datetime | None = None,
    source: str | None = None,
    deadline: float | None = None,
) -> StackVerification:
    """Verify a stack bundle (file bytes, parsed JSON or a :class:`StackBundle`) with ``verifier``."""
    moment = now or datetime.now(UTC)
    checks: dict[str, Check] = {
        name: StackCheck(name, CheckState.NOT_CHECKED, "not checked", "not-checked") for name, _ in STACK_CHECKS
    }

    def done(**values: Any) -> StackVerification:
        ordered = tuple(checks[name] for name, _ in STACK_CHECKS)
        undecided = values.pop("undecided", None)
        verdict, status, summary = _conclude(ordered, values.get("stacked"), values.get("parts", ()), undecided)
        return StackVerification(ordered, verdict, status, summary, moment, source, **values)

    try:
        parsed = bundle if isinstance(bundle, StackBundle) else parse_bundle(bundle)
    except StackBundleError as error:
        checks["bundle"] = StackCheck("bundle", CheckState.FAILED, str(error), error.code)
        return done()
    checks["bundle"] = StackCheck(
        "bundle", CheckState.PASSED, f"{STACK_FORMAT} with the stacked credential and {len(parsed.parts)} parts"
    )
    receipts = [parsed.stacked, *parsed.parts]
    results = list(
        verifier.verify_many(
            range(len(receipts)),
            lambda position: verifier.verify(
                receipts[position], now=moment, source=_where(position), deadline=deadline
            ),
            workers=min(_WORKERS, len(receipts)),
        )
    )
    stacked, part_results = results[0], results[1:]
    undecided = [result for result in results if result.verdict is Verdict.ERROR]

    if stacked.valid:
        checks["stacked"] = StackCheck("stacked", CheckState.PASSED, f"VALID: {stacked.summary}")
    elif stacked.verdict is Verdict.INVALID:
        checks["stacked"] = StackCheck(
            "stacked",
            CheckState.FAILED,
            f"the stacked credential is {stacked.status}: {stacked.summary}",
            "stacked-invalid",
        )
    else:
        checks["stacked"] = StackCheck(
            "stacked", CheckState.NOT_CHECKED, f"not verified: {stacked.summary}", "undecided"
        )

    credential = _credential(parsed.stacked)
    named: tuple[NamedPart, ...] = ()
    if credential is None:
        checks["named"] = StackCheck("named", CheckState.NOT_CHECKED, "not checked: the stacked receipt is unusable")
    elif not is_stack(credential):
        checks["named"] = StackCheck(
            "named",
            CheckState.FAILED,
            "the stacked credential is not a stack: its achievement's euMicroCredential.stackability.mode is not "
            "'stack'",
            "not-a-stack",
        )
    else:
        try:
            named = stack_parts(credential)
        except CredentialValidationError as error:
            checks["named"] = StackCheck(
                "named", CheckState.FAILED, f"its parts are not named correctly: {error}", "not-a-stack"
            )
        else:
            checks["named"] = StackCheck(
                "named", CheckState.PASSED, f"stackability mode 'stack', {len(named)} parts named in relatedResource"
            )

    credentials = [_credential(receipt) for receipt in parsed.parts]
    matched, unnamed = match_parts(named, parsed.parts)
    parts: list[PartResult] = []
    complete: list[tuple[str, str]] = []
    learner: list[str] = []
    for item, position in matched:
        if position is None:
            part = PartResult(item.id, item.pointer, item.digest, None, None, ("missing from the bundle",))
            complete.append(("part-missing", f"{part.label}, named at {item.pointer}, is missing from the bundle"))
            parts.append(part)
            continue
        result = part_results[position]
        problems: list[str] = []
        anchored = result.evidence.digest if result.evidence else None
        if anchored != item.digest:
            problems.append(f"anchored with digest {anchored}, not the named {item.digest}")
        own = credentials[position]
        mismatch = learner_mismatch(credential, own) if credential is not None and own is not None else None
        if mismatch:
            problems.append(f"not the stack's learner: {mismatch}")
        part = PartResult(item.id, item.pointer, item.digest, position, result, tuple(problems))
        if anchored != item.digest:
            complete.append(
                (
                    "digest-mismatch",
                    f"{part.label} is anchored with digest {anchored}, but the stack names {item.digest}",
                )
            )
        if mismatch:
            learner.append(f"{part.label}: {mismatch}")
        parts.append(part)
    for position in unnamed:
        result = part_results[position]
        receipt_id = parsed.parts[position].get("id")
        part = PartResult(
            receipt_id if isinstance(receipt_id, str) else None,
            None,
            None,
            position,
            result,
            ("not named by the stacked credential",),
        )
        complete.append(
            ("part-not-named", f"{part.label} is in the bundle, but the stacked credential does not name it")
        )
        parts.append(part)

    if checks["named"].state is CheckState.PASSED:
        if complete:
            code, reason = complete[0]
            more = f" (and {len(complete) - 1} more)" if len(complete) > 1 else ""
            checks["complete"] = StackCheck("complete", CheckState.FAILED, reason + more, code)
        else:
            checks["complete"] = StackCheck(
                "complete", CheckState.PASSED, f"all {len(named)} named parts present, each with the named digest"
            )
        if learner:
            more = f" (and {len(learner) - 1} more)" if len(learner) > 1 else ""
            checks["learner"] = StackCheck("learner", CheckState.FAILED, learner[0] + more, "other-learner")
        elif credential is not None and all(credentials):
            checks["learner"] = StackCheck("learner", CheckState.PASSED, _learner_rule(credential))

    bad = [part for part in parts if part.result is not None and part.result.verdict is Verdict.INVALID]
    if bad:
        first = bad[0]
        assert first.result is not None
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        checks["parts"] = StackCheck(
            "parts",
            CheckState.FAILED,
            f"{first.label} is {first.result.status}: {first.result.summary}{more}",
            "part-" + (first.result.failed[0].code if first.result.failed else "invalid"),
        )
    elif all(result.valid for result in part_results):
        checks["parts"] = StackCheck("parts", CheckState.PASSED, f"all {len(part_results)} parts VALID")
    else:
        checks["parts"] = StackCheck("parts", CheckState.NOT_CHECKED, "not every part could be verified", "undecided")

    present = [part.result for part in parts if part.result is not None and part.named_at is not None]
    workload = stack_workload(
        (result.credential.ects, result.credential.workload_hours) for result in present if result.credential
    )
    warnings = [f"stacked credential: {warning}" for warning in stacked.warnings]
    warnings += [f"{part.label}: {warning}" for part in parts if part.result for warning in part.result.warnings]
    stated = stacked.credential.ects if stacked.credential else None
    if stated is not None and workload.ects is not None and abs(stated - workload.ects) > 1e-9:
        warnings.append(f"the stacked credential states {stated:g} ECTS; its parts add up to {workload.text}")
    return done(
        stacked=stacked,
        parts=tuple(parts),
        workload=workload,
        warnings=tuple(warnings),
        part_levels=tuple(result.credential.eqf_level if result.credential else None for result in present),
        undecided=undecided,
    )


def _where(position: int) -> str:
    return "stacked credential" if position == 0 else f"part {position}"


def _credential(receipt: Mapping[str, Any]) -> dict[str, Any] | None:
    try:
        credential, _ = split_receipt(receipt)
    except InvalidInputError:
        return None
    return credential


def _learner_rule(credential: Mapping[str, Any]) -> str:
    subject = credential.get("credentialSubject")
    if isinstance(subject, Mapping) and isinstance(subject.get("id"), str):
        return f"every part's credentialSubject.id is the stack's {_show(subject['id'], 120)}"
    return "every part has the stack's credentialSubject.identifier entries"


def _conclude(
    checks: tuple[Check, ...],
    stacked: Verification | None,
    parts: tuple[PartResult, ...],
    undecided: list[Verification] | None,
) -> tuple[Verdict, str, str]:
    """Verdict, status word and summary (the module doc's order)."""
    if checks[0].state is CheckState.FAILED:
        return Verdict.ERROR, "NOT A STACK", checks[0].reason[:1].upper() + checks[0].reason[1:]
    first = headline(checks)
    if first is not None:
        if first.name == "stacked" and stacked is not None:
            status = f"STACKED {stacked.status}"
        elif first.name == "parts":
            failed = next(part for part in parts if part.result is not None and part.result.verdict is Verdict.INVALID)
            assert failed.result is not None
            status = f"PART {failed.result.status}"
        else:
            status = _STATUS_WORDS.get(first.code, first.code.upper().replace("-", " "))
        return Verdict.INVALID, status, first.reason[:1].upper() + first.reason[1:]
    if undecided:
        result = undecided[0]
        return Verdict.ERROR, result.status, f"{result.source}: {result.summary}"
    if any(check.state is not CheckState.PASSED for check in checks):
        return Verdict.ERROR, "NOT VERIFIED", "not every check of the stack could run"
    return Verdict.VALID, "VALID", "every check of the stacked credential and of each of its parts passed"
