"""The verifier's presentation branch: a v3 credential shown with some claims withheld.

A presentation (:mod:`anchor.credentials.presentations`) goes through the receipt's checks with these
differences:

- ``receipt``: the presentation is read and every disclosed claim's commitment recomputed from its salt; a bad
  salt or commitment, a duplicated claim path, the master salt or an unknown format make it unusable (ERROR,
  exit 2), never VALID.
- ``schema``: the elements the verifier requires are disclosed (:data:`DEFAULT_REQUIRED` unless it names its
  own; :data:`ALWAYS_REQUIRED` in any case, since the registry and expiry checks read them), and the disclosed
  values pass the schema and the EU rules except where a withheld claim is involved (the issuer's intake
  validated the full credential).
- ``integrity``: the digest recomputed from the disclosed claims and the withheld commitments is the
  anchoring proof's, and the Merkle proof leads from (digest, index) to the root.
- ``signature``: not checked. The issuer's Data Integrity signature covers the full credential, and its
  master salt, which a presentation never carries; the presentation is proven by its anchoring instead (the
  registry records the batch's issuer, whose identity the ``issuer`` check compares with the disclosed one).

Chain, anchoring, issuer, revocation and validity are the receipt's checks, run on the disclosed credential.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from anchor.credentials import validate_credential
from anchor.credentials.presentations import ALWAYS_DISCLOSED, Presentation, parse_presentation, to_pointer
from anchor.errors import CredentialValidationError, InvalidInputError, UnknownFormatError
from anchor.verifier.model import NOT_APPLICABLE, Check, CheckState, Verification

if TYPE_CHECKING:
    from anchor.verifier.checks import Run

__all__ = ["ALWAYS_REQUIRED", "DEFAULT_REQUIRED", "required_pointers", "verify_presentation"]

_ACH: Final = "/credentialSubject/achievement"
_EU: Final = f"{_ACH}/euMicroCredential"
ALWAYS_REQUIRED: Final = ALWAYS_DISCLOSED
"""Required whatever the verifier asks: the format, the issuer's id, name and country (the registry check
compares them with the registered issuer) and the validity dates (the expiry check)."""
DEFAULT_REQUIRED: Final = (
    f"{_ACH}/name",  # title
    "/issuer",  # awarding body, its country and region
    "/validFrom",  # date of issuing
    f"{_ACH}/criteria/narrative",  # learning outcomes
    f"{_EU}/learningOutcomes",
    f"{_ACH}/creditsAvailable",  # notional workload
    f"{_EU}/creditSystem",
    f"{_EU}/workloadHours",
    f"{_EU}/eqfLevel",  # level, if applicable
    f"{_EU}/nqf",
    f"{_EU}/qfEheaCycle",
    f"{_EU}/assessment",  # type of assessment
    f"{_EU}/participation",  # form of participation
    f"{_EU}/qualityAssurance",  # type of quality assurance
)
"""The mandatory elements of Annex I other than the learner's identification (``credentialSubject.id`` and
``identifier``): required when the verifier names none. An element the credential does not have (a level
that does not apply) is not asked for."""


def required_pointers(require: Iterable[str] | None) -> tuple[tuple[str, ...], frozenset[str]]:
    """The pointers to require (the verifier's, else the defaults, with :data:`ALWAYS_REQUIRED`) and those of
    them that must be in the credential (the ones the verifier named); :class:`InvalidInputError` for a bad path.
    """
    named = tuple(dict.fromkeys(to_pointer(path) for path in require)) if require is not None else ()
    chosen = named if require is not None else DEFAULT_REQUIRED
    return tuple(dict.fromkeys((*ALWAYS_REQUIRED, *chosen))), frozenset(named)


def verify_presentation(run: Run, document: Mapping[str, Any], require: Iterable[str] | None) -> Verification:
    """Every check of ``run`` on a presentation (see the module doc)."""
    try:
        wanted, named = required_pointers(require)
    except InvalidInputError as error:
        return run.unusable(f"--require: {error}", "bad-require")
    try:
        presentation = parse_presentation(document)
    except UnknownFormatError as error:
        return run.unusable(str(error), "unknown-format")
    except InvalidInputError as error:
        return run.unusable(f"not a usable presentation: {error}", "not-a-presentation")
    proof = presentation.proof
    credential = presentation.credential
    run.passed(
        "receipt",
        f"presentation of an {proof.receipt_format} credential for batch {proof.batch_id}, index {proof.index}: "
        f"{len(presentation.disclosed)} claims shown, {len(presentation.withheld)} withheld",
    )
    from anchor.verifier.presentation import summarize

    run.summary = replace(summarize(credential), withheld=_withheld_fields(presentation))
    run.evidence = run._claimed_evidence(proof)

    _schema(run, presentation, wanted, named)
    intact = _integrity(run, presentation)
    run._validity(credential)
    if run._chain(proof):
        if intact:
            run._registry(credential, proof)
        else:
            run.skipped(["anchored", "issuer", "revocation"], "not asked: the presentation does not match its proof")
    run.checks["signature"] = Check(
        "signature",
        CheckState.NOT_CHECKED,
        "not checkable on a presentation: the issuer's signature covers the full credential, and "
        f"{_claims(len(presentation.withheld))} withheld; the shown claims are proven by its anchoring instead",
        NOT_APPLICABLE,
    )
    run.warnings += run.verifier.status_list_warnings(credential, run.checks)
    return run.result()


def _schema(run: Run, presentation: Presentation, wanted: tuple[str, ...], named: frozenset[str]) -> None:
    present = (*presentation.disclosed, *presentation.withheld)
    missing: list[str] = []
    for pointer in wanted:
        if presentation.is_withheld(pointer):
            missing.append(f"{pointer} is withheld")
        elif pointer in named and not any(item == pointer or item.startswith(pointer + "/") for item in present):
            missing.append(f"{pointer} is not in the credential")
    if missing:
        count = len(missing)
        run.failed(
            "schema",
            "withheld-required",
            f"{count} required element{'s' if count != 1 else ''} not disclosed: {'; '.join(missing[:6])}"
            + (f" (and {count - 6} more)" if count > 6 else ""),
        )
        return
    try:
        validate_credential(presentation.credential)
    except CredentialValidationError as error:
        problems = [problem for problem in error.problems if not _about_withheld(problem.path, presentation)]
        if problems:
            shown = "; ".join(str(problem) for problem in problems[:4])
            count = len(problems)
            run.failed("schema", "schema", f"{count} problem{'s' if count != 1 else ''} in the shown claims: {shown}")
            return
    except InvalidInputError as error:
        run.failed("schema", "schema", str(error))
        return
    run.passed(
        "schema",
        f"the {len(wanted)} required elements are disclosed; the shown claims are valid "
        f"{presentation.credential.get('anchorFormat')} (the issuer validated the full credential)",
    )


def _integrity(run: Run, presentation: Presentation) -> bool:
    proof = presentation.proof
    digest = presentation.digest
    if digest != proof.digest:
        run.failed(
            "integrity",
            "tampered",
            f"the shown claims and withheld commitments hash to {_short(digest)}, but the credential was anchored "
            f"as {_short(proof.digest)}: a shown value, a salt or a commitment was changed",
        )
        return False
    if not run.proof_leads_to_root(digest, proof):
        return False
    run.passed(
        "integrity",
        f"digest {_short(digest)} recomputed from the {len(presentation.disclosed)} shown claims and their salts "
        f"and the {len(presentation.withheld)} withheld commitments; the Merkle proof "
        f"({len(proof.merkle_proof)} steps) leads from (digest, index {proof.index}) to root {_short(proof.root)}",
    )
    return True


def _about_withheld(path: str, presentation: Presentation) -> bool:
    """Whether a schema problem at ``path`` may come from a withheld claim (it is at, above or below one)."""
    return any(
        pointer == path or pointer.startswith(path + "/") or path.startswith(pointer + "/")
        for pointer in presentation.withheld
    )


def _withheld_fields(presentation: Presentation) -> tuple[str, ...]:
    """The withheld fields as a person reads them: dotted paths of the largest parts withheld whole
    (``credentialSubject.identifier`` rather than each of its claims)."""
    shown_above = {pointer[:at] for pointer in presentation.disclosed for at in _cuts(pointer)}
    fields: dict[str, None] = {}
    for pointer in presentation.withheld:
        whole = pointer
        for at in _cuts(pointer):
            if pointer[:at] not in shown_above:
                whole = pointer[:at]
                break
        fields[".".join(step.replace("~1", "/").replace("~0", "~") for step in whole[1:].split("/"))] = None
    return tuple(fields)


def _cuts(pointer: str) -> list[int]:
    """The ends of the ancestors of ``pointer`` below the root, outermost first."""
    return [at for at in range(1, len(pointer)) if pointer[at] == "/"]


def _claims(count: int) -> str:
    return f"{count} claim is" if count == 1 else f"{count} claims are"


def _short(value: str) -> str:
    return f"{value[:10]}…{value[-4:]}" if len(value) > 16 else value
