"""What a person reads of a verification: the verdict's status word and sentence, and the credential summary.

:func:`conclude` turns the checks into the verdict, a status word (``VALID``, ``TAMPERED``, ``REVOKED``...)
and a one-sentence summary; :func:`summarize` reads the fields a person looks at off the credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from anchor.credentials import lookup
from anchor.verifier.model import NOT_APPLICABLE, Check, CheckState, CredentialSummary, Verdict, headline

#: The status word shown for a failure code, where it is not just the code in capitals.
_STATUS_WORDS = {
    "unreadable": "NOT A RECEIPT",
    "not-a-receipt": "NOT A RECEIPT",
    "unknown-format": "UNKNOWN FORMAT",
    "schema": "INCOMPLETE CREDENTIAL",
    "bad-proof": "TAMPERED",
    "no-digest": "TAMPERED",
    "unknown-batch": "NOT ANCHORED",
    "root-mismatch": "NOT ANCHORED",
    "no-contract": "NOT ANCHORED",
    "block-mismatch": "NOT ANCHORED",
    "anchoring-unconfirmed": "NOT ANCHORED",
    "transaction-mismatch": "WRONG TRANSACTION",
    "anchored-at-mismatch": "WRONG ANCHORING TIME",
    "issuer-id-mismatch": "WRONG ISSUER",
    "issuer-mismatch": "WRONG ISSUER",
    "issuer-name-mismatch": "WRONG ISSUER",
    "issuer-country-mismatch": "WRONG ISSUER",
    "issuer-unknown": "WRONG ISSUER",
    "issuer-inactive": "ISSUER DEACTIVATED",
    "batch-revoked": "REVOKED",
    "unsigned": "NOT SIGNED",
    "several-signatures": "BAD SIGNATURE",
    "unsupported-cryptosuite": "BAD SIGNATURE",
    "wrong-proof-purpose": "BAD SIGNATURE",
    "malformed-signature": "BAD SIGNATURE",
    "bad-signature": "BAD SIGNATURE",
    "foreign-signature": "WRONG SIGNER",
    "signer-not-registered": "WRONG SIGNER",
    "key-not-authorized": "WRONG SIGNER",
    "did-document-invalid": "BAD DID DOCUMENT",
    "did-unresolved": "DID UNRESOLVED",
}
#: Codes of a check left undecided by something outside the receipt (ERROR), named in the status when no
#: RPC endpoint failed.
_UNDECIDED = ("did-unresolved",)


def conclude(checks: tuple[Check, ...], error: str | None) -> tuple[Verdict, str, str]:
    """The verdict, status word and summary of ``checks`` (in :data:`~anchor.verifier.model.CHECKS` order).

    ``error`` is why an RPC endpoint could not be asked, if one could not. A check that does not apply
    (code :data:`~anchor.verifier.model.NOT_APPLICABLE`) does not stand in the way of VALID.
    """
    first = headline(checks)
    applying = [check for check in checks if check.code != NOT_APPLICABLE]
    undecided = next((check for check in checks if check.code in _UNDECIDED), None)
    if any(check.name == "receipt" and check.state is CheckState.FAILED for check in checks):
        verdict = Verdict.ERROR
    elif first is not None:
        verdict = Verdict.INVALID
    elif error is not None or any(check.state is not CheckState.PASSED for check in applying):
        verdict = Verdict.ERROR
    else:
        verdict = Verdict.VALID
    if verdict is Verdict.VALID:
        status = "VALID"
        summary = "every check passed" if len(applying) == len(checks) else "every check that applies passed"
    elif first is not None:
        status = _STATUS_WORDS.get(first.code, first.code.upper().replace("-", " "))
        summary = first.reason[:1].upper() + first.reason[1:]
    elif error is None and undecided is not None:
        status = _STATUS_WORDS[undecided.code]
        summary = undecided.reason[:1].upper() + undecided.reason[1:]
    else:
        status = "RPC UNREACHABLE" if error else "NOT VERIFIED"
        summary = error or "not every check could run"
    return verdict, status, summary


def summarize(credential: Mapping[str, Any]) -> CredentialSummary:
    """What a person reads on ``credential``; missing fields are None (nothing here raises)."""

    def text(within: Any, *path: str | int) -> str | None:
        value = lookup(within, path)
        return value if isinstance(value, str) else None

    # each level looked up once, each field from its own level (lookup is None for a missing or wrong level)
    subject = lookup(credential, ("credentialSubject",))
    achievement = lookup(subject, ("achievement",))
    eu = lookup(achievement, ("euMicroCredential",))
    issuer = lookup(credential, ("issuer",))
    learner = None
    identifiers = lookup(subject, ("identifier",))
    for item in identifiers if isinstance(identifiers, list) else []:
        if isinstance(item, Mapping) and item.get("identityType") == "name" and item.get("hashed") is False:
            learner = item.get("identityHash") if isinstance(item.get("identityHash"), str) else None
            break
    outcomes = lookup(eu, ("learningOutcomes",))
    ects = lookup(achievement, ("creditsAvailable",))
    hours = lookup(eu, ("workloadHours",))
    eqf = lookup(eu, ("eqfLevel",))
    methods = lookup(eu, ("assessment", "methods"))
    assessment = ", ".join(str(item) for item in methods) if isinstance(methods, list) else None
    note = text(eu, "assessment", "description")
    if note:
        assessment = f"{assessment}: {note}" if assessment else note
    qa_body = text(eu, "qualityAssurance", "body")
    qa = text(eu, "qualityAssurance", "description")
    return CredentialSummary(
        credential_id=text(credential, "id"),
        learner=learner,
        title=text(achievement, "name") or text(credential, "name"),
        description=text(achievement, "description"),
        awarding_body=text(issuer, "name"),
        awarding_body_id=text(issuer, "id"),
        country=text(issuer, "address", "addressCountryCode"),
        ects=float(ects) if isinstance(ects, int | float) and not isinstance(ects, bool) else None,
        workload_hours=float(hours) if isinstance(hours, int | float) and not isinstance(hours, bool) else None,
        eqf_level=eqf if isinstance(eqf, int) and not isinstance(eqf, bool) else None,
        learning_outcomes=tuple(str(item) for item in outcomes) if isinstance(outcomes, list) else (),
        grade=text(subject, "result", 0, "value"),
        valid_from=text(credential, "validFrom"),
        valid_until=text(credential, "validUntil"),
        participation=text(eu, "participation"),
        assessment=assessment,
        quality_assurance=" ".join(part for part in (qa, f"({qa_body})" if qa_body else None) if part) or None,
        language=text(achievement, "inLanguage"),
    )
