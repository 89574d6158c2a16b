"""The credential format: an EU micro-credential as an Open Badges 3.0 credential, its constants and paths.

A credential is an Open Badges 3.0 ``OpenBadgeCredential`` (a W3C Verifiable Credential 2.0) whose
``Achievement`` carries the elements of Annex I of the Council Recommendation of 16 June 2022 on a
European approach to micro-credentials (2022/C 243/02) (the list enforced; not the 2020 draft list of
critical information elements). Where Open Badges has a field for an element it is used; the rest lives in
``credentialSubject.achievement.euMicroCredential``, whose JSON-LD terms are defined by anchor's extension
context (:data:`EXTENSION_CONTEXT_V2`, shipped as ``anchor/contexts/credential-v2.jsonld``; v1 credentials
use :data:`EXTENSION_CONTEXT`, ``anchor/contexts/v1``).

====================================  ======================================================================
EU element (Annex I)                  JSON path (``ach`` = ``credentialSubject.achievement``,
                                      ``eu`` = ``ach.euMicroCredential``)
====================================  ======================================================================
*Mandatory*
Identification of the learner         ``credentialSubject.id`` and ``credentialSubject.identifier[]``
                                      (an ``IdentityObject`` with ``identityType`` "name", not hashed)
Title of the micro-credential         ``ach.name`` (and the credential's top-level ``name``)
Country(ies)/Region(s) of the issuer  ``issuer.address.addressCountryCode`` (ISO 3166-1 alpha-2),
                                      ``issuer.address.addressRegion`` (optional)
Awarding body(ies)                    ``issuer`` (``Profile``: ``id`` a DID or https URL, ``name``)
Date of issuing                       ``validFrom``
Learning outcomes                     ``ach.criteria.narrative`` and ``eu.learningOutcomes[]``
                                      (optionally ``ach.alignment[]``, e.g. to ESCO skills)
Notional workload                     in ECTS wherever possible: ``ach.creditsAvailable`` with
                                      ``eu.creditSystem`` = "ECTS" (both or neither; ``eu.workloadHours``
                                      optional beside them), else ``eu.workloadHours`` alone (hours)
Level, if applicable (EQF, NQF)       ``eu.eqfLevel`` (1-8), ``eu.nqf``, ``eu.qfEheaCycle``: each optional
Type of assessment                    ``eu.assessment`` (``methods[]``, ``description``)
Form of participation                 ``eu.participation`` (online, onsite, blended, volunteering,
                                      work-experience)
Type of quality assurance             ``eu.qualityAssurance`` (``description``, ``body``, ``url``)
*Optional*
Prerequisites to enrol                ``eu.prerequisites``
Supervision, identity verification    ``eu.supervision``
Grade achieved                        ``credentialSubject.result[]`` (``value``; its ``resultDescription``
                                      is the id of an entry of ``ach.resultDescription[]``)
Integration/stackability options      ``eu.stackability`` (``mode``, ``towards``, ``towardsUrl``); a stack
                                      (``mode`` "stack") names its parts in ``relatedResource``
                                      (:mod:`anchor.credentials.related`)
Duration of validity                  ``validUntil``
Further information                   ``eu.furtherInformation``
Field of education (ISCED-F)          ``ach.fieldOfStudy`` (text), ``eu.iscedF`` (code)
Language of the learning activity     ``ach.inLanguage``
====================================  ======================================================================

The format is versioned by the hashed top-level field ``anchorFormat`` (:data:`FORMAT_KEY`); an unknown
version is refused by :func:`format_version`. Every module that reports a problem names the field with
:func:`_pointer` (a JSON pointer) and shows the value with :func:`_show`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from anchor.errors import CredentialValidationError, FieldProblem, UnknownFormatError

__all__ = [
    "ANCHOR_PROOF_TYPE",
    "CONTEXTS",
    "CONTEXTS_BY_FORMAT",
    "CONTEXTS_V2",
    "CREDENTIAL_TYPES",
    "EXCLUDED_KEYS",
    "EXTENSION_CONTEXT",
    "EXTENSION_CONTEXT_V2",
    "FORMAT_KEY",
    "FORMAT_V1",
    "FORMAT_V2",
    "FORMAT_V3",
    "KNOWN_FORMATS",
    "MAX_CREDENTIAL_BYTES",
    "OB_CONTEXT",
    "SALT_KEY",
    "VC_CONTEXT",
    "Credential",
    "format_version",
    "lookup",
]

Credential = dict[str, Any]
"""A credential as parsed JSON: a ``dict`` of JSON values (str, int, float, bool, None, list, dict)."""

FORMAT_V1: Final = "anchor-credential-v1"
FORMAT_V2: Final = "anchor-credential-v2"
"""v2: signed by the issuer (a Data Integrity proof in ``proof``, covered by the digest), with a
``credentialStatus`` entry for standard wallets, under the v2 extension context."""
FORMAT_V3: Final = "anchor-credential-v3"
"""v3: v2 (signed, same contexts) whose digest commits to each claim separately, so that a learner can disclose
some claims and withhold others (:mod:`anchor.credentials.disclosure`)."""
KNOWN_FORMATS: Final = frozenset({FORMAT_V1, FORMAT_V2, FORMAT_V3})
FORMAT_KEY: Final = "anchorFormat"
SALT_KEY: Final = "anchorSalt"
EXCLUDED_KEYS: Final = frozenset({"proof", "anchor"})
"""Top-level keys left out of the v1 canonical form: proofs are about the credential, not part of it.
(v2 keeps the issuer's proofs in the canonical form and leaves out only the anchoring proof.)"""
ANCHOR_PROOF_TYPE: Final = "AnchorMerkleProof"
"""The ``type`` of a receipt's anchoring proof, the one proof no digest ever covers."""

VC_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT: Final = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
EXTENSION_CONTEXT: Final = "https://w3id.org/anchor/credential/v1"
CONTEXTS: Final = (VC_CONTEXT, OB_CONTEXT, EXTENSION_CONTEXT)
EXTENSION_CONTEXT_V2: Final = "https://w3id.org/anchor/contexts/credential-v2.jsonld"
CONTEXTS_V2: Final = (VC_CONTEXT, OB_CONTEXT, EXTENSION_CONTEXT_V2)
CONTEXTS_BY_FORMAT: Final = {FORMAT_V1: CONTEXTS, FORMAT_V2: CONTEXTS_V2, FORMAT_V3: CONTEXTS_V2}
CREDENTIAL_TYPES: Final = ("VerifiableCredential", "OpenBadgeCredential")

MAX_CREDENTIAL_BYTES: Final = 1 << 20
"""Largest credential accepted, in UTF-8 bytes (1 MiB): a credential is metadata, not a portfolio."""

#: An RFC 3339 date-time with a timezone, as the schema's date-time fields hold.
_DATETIME_RE: Final = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})",
)


def format_version(credential: Mapping[str, Any]) -> str:
    """The credential's ``anchorFormat``; :class:`UnknownFormatError` unless this release knows it."""
    value = credential.get(FORMAT_KEY)
    if value is None:
        raise CredentialValidationError([FieldProblem(f"/{FORMAT_KEY}", f"is missing: expected {FORMAT_V1!r}")])
    if not isinstance(value, str):
        raise CredentialValidationError(
            [FieldProblem(f"/{FORMAT_KEY}", f"expected a string such as {FORMAT_V1!r}, got {_show(value)}")]
        )
    if value not in KNOWN_FORMATS:
        known = ", ".join(sorted(KNOWN_FORMATS))
        raise UnknownFormatError(f"unknown credential format {value!r}; this release reads {known}")
    return value


def lookup(credential: Mapping[str, Any], path: tuple[str | int, ...]) -> Any:
    """The value at ``path`` (keys and list positions), or None when any step is missing or of the wrong kind."""
    value: Any = credential
    for part in path:
        # a dict first: the usual case, without the costlier Mapping check
        if (type(value) is dict and type(part) is str) or (isinstance(part, str) and isinstance(value, Mapping)):
            value = value.get(part)
        elif isinstance(part, int) and isinstance(value, list) and 0 <= part < len(value):
            value = value[part]
        else:
            return None
    return value


def _to_datetime(text: str) -> datetime | None:
    """An RFC 3339 date-time with a timezone as an aware datetime; None if it is not one.

    ValueError if it is not a real date-time, or is outside years 1-9999 in UTC (where a datetime cannot be
    compared with another or converted: ``0001-01-01T00:00:00+01:00`` is in year 0).
    """
    match = _DATETIME_RE.fullmatch(text)
    if match is None:
        return None
    base, fraction, zone = match.groups()
    micro = (fraction or "").ljust(6, "0")[:6]
    moment = datetime.fromisoformat(f"{base}.{micro}{'+00:00' if zone == 'Z' else zone}")
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("it is outside years 1-9999 in UTC") from None
    return moment


def _pointer(path: Iterable[str | int]) -> str:
    """A JSON pointer (RFC 6901) for a path of keys and indexes."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _show(value: object, limit: int = 60) -> str:
    """A short JSON rendering of a value for an error message."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
