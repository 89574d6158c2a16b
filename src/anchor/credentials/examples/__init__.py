"""Realistic EU micro-credentials for demos, tests and benchmarks.

:func:`generate_credentials` yields any number of valid ``anchor-credential-v1`` credentials, deterministic
for a seed: eight awarding bodies (DE, FR, PL, FI, ES, PT, GR, IT), each with courses, grade scales and
learners named in the local language. Salts come from the seeded generator, not from
:func:`anchor.credentials.new_salt`, so that a run can be repeated: use them for demos and benchmarks only.

The institutions are fictional; their DIDs use the reserved ``.example`` domain. Each is a data file beside
this module (``de.json``, ``fr.json``, ...), read once on import into the :class:`Issuer` dataclasses below.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, Final

from anchor.credentials.model import CONTEXTS_BY_FORMAT, CREDENTIAL_TYPES, FORMAT_V1, Credential
from anchor.errors import InvalidInputError, InvariantError

__all__ = ["ISSUERS", "Course", "GradeScale", "Issuer", "generate_credentials", "issuer_for_country"]


@dataclass(frozen=True)
class GradeScale:
    """How an awarding body grades: an Open Badges ``ResultDescription`` and the grades it gives."""

    name: str
    result_type: str
    grades: tuple[str, ...]
    """Grades the generator awards (the better ones first, drawn with falling weights)."""
    allowed: bool = True
    """Whether ``grades`` is the closed list of allowed values (else ``value_min``/``value_max`` bound it)."""
    value_min: str | None = None
    value_max: str | None = None


@dataclass(frozen=True)
class Course:
    """A learning activity that leads to a micro-credential."""

    slug: str
    title: str
    description: str
    criteria: str
    outcomes: tuple[str, ...]
    ects: float
    hours: int
    eqf: int
    field_of_study: str
    isced: str
    participation: str
    assessment: tuple[str, ...]
    assessment_note: str
    supervision: str | None = None
    prerequisites: str | None = None
    stacks_towards: str | None = None
    valid_years: int | None = None
    nqf_level: str | None = None
    cycle: str | None = None


@dataclass(frozen=True)
class Issuer:
    """An awarding body and what it offers."""

    id: str
    name: str
    country_code: str
    country: str
    locality: str
    region: str
    language: str
    url: str
    nqf_framework: str
    qa_description: str
    qa_body: str
    grade_scale: GradeScale
    courses: tuple[Course, ...]
    given_names: tuple[str, ...]
    family_names: tuple[str, ...]


#: The built-in awarding bodies' countries, in the order the generator draws from; each has a data file
#: ``<code>.json`` beside this module holding an :class:`Issuer` (field names as in the dataclasses).
_COUNTRIES: Final = ("DE", "FR", "PL", "FI", "ES", "PT", "GR", "IT")


def _tuples(data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a record from JSON, with its arrays as tuples."""
    return {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}


def _load_issuer(country_code: str) -> Issuer:
    """The built-in issuer of a country from its data file; :class:`InvariantError` if the file is not one."""
    name = f"{country_code.lower()}.json"
    try:
        data = json.loads(resources.files(__name__).joinpath(name).read_text(encoding="utf-8"))
        fields = _tuples(data)
        fields["grade_scale"] = GradeScale(**_tuples(data["grade_scale"]))
        fields["courses"] = tuple(Course(**_tuples(course)) for course in data["courses"])
        issuer = Issuer(**fields)
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise InvariantError(f"example issuer data {name}: {error}") from error
    if issuer.country_code != country_code:
        raise InvariantError(f"example issuer data {name}: holds the issuer of {issuer.country_code!r}")
    return issuer


ISSUERS: Final = tuple(_load_issuer(code) for code in _COUNTRIES)
"""The built-in awarding bodies, one per country."""


def issuer_for_country(country_code: str) -> Issuer:
    """The built-in issuer of a country (DE, FR, PL, FI, ES, PT, GR or IT)."""
    for issuer in ISSUERS:
        if issuer.country_code == country_code:
            return issuer
    known = ", ".join(issuer.country_code for issuer in ISSUERS)
    raise InvalidInputError(f"no example issuer in {country_code!r}; there is one in {known}")


def _uuid4(bits: int) -> str:
    """A version-4 UUID string from 128 random bits (cheaper than building a ``uuid.UUID``)."""
    text = f"{bits:032x}"
    variant = "89ab"[int(text[16], 16) & 3]
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{variant}{text[17:20]}-{text[20:32]}"


def _days(start: datetime, count: int) -> list[tuple[str, str, str]]:
    """For each day from ``start``: its date, the day the course started, and the year it was issued."""
    out = []
    for offset in range(count):
        day = start + timedelta(days=offset)
        began = day - timedelta(days=42 + offset % 28)
        out.append((day.strftime("%Y-%m-%d"), began.strftime("%Y-%m-%d"), day.strftime("%Y")))
    return out


def _profile(issuer: Issuer) -> dict[str, Any]:
    return {
        "id": issuer.id,
        "type": ["Profile"],
        "name": issuer.name,
        "url": issuer.url,
        "address": {
            "type": ["Address"],
            "addressCountryCode": issuer.country_code,
            "addressCountry": issuer.country,
            "addressRegion": issuer.region,
            "addressLocality": issuer.locality,
        },
    }


def _achievement(issuer: Issuer, course: Course) -> dict[str, Any]:
    base = f"{issuer.url}/microcredentials/{course.slug}"
    scale = issuer.grade_scale
    description: dict[str, Any] = {
        "id": f"{base}#grade",
        "type": ["ResultDescription"],
        "name": scale.name,
        "resultType": scale.result_type,
    }
    if scale.allowed:
        description["allowedValue"] = list(scale.grades)
    if scale.value_min is not None:
        description["valueMin"] = scale.value_min
    if scale.value_max is not None:
        description["valueMax"] = scale.value_max
    eu: dict[str, Any] = {
        "eqfLevel": course.eqf,
        "creditSystem": "ECTS",
        "workloadHours": course.hours,
        "learningOutcomes": list(course.outcomes),
        "iscedF": course.isced,
        "assessment": {"methods": list(course.assessment), "description": course.assessment_note},
        "participation": course.participation,
        "qualityAssurance": {"description": issuer.qa_description, "body": issuer.qa_body},
    }
    if course.nqf_level is not None:
        eu["nqf"] = {"framework": issuer.nqf_framework, "level": course.nqf_level}
    if course.cycle is not None:
        eu["qfEheaCycle"] = course.cycle
    if course.supervision is not None:
        eu["supervision"] = course.supervision
    if course.prerequisites is not None:
        eu["prerequisites"] = course.prerequisites
    if course.stacks_towards is not None:
        eu["stackability"] = {"mode": "stackable", "towards": course.stacks_towards}
    else:
        eu["stackability"] = {"mode": "stand-alone"}
    return {
        "id": base,
        "type": ["Achievement"],
        "achievementType": "MicroCredential",
        "name": course.title,
        "description": course.description,
        "criteria": {"narrative": course.criteria},
        "creditsAvailable": course.ects,
        "fieldOfStudy": course.field_of_study,
        "inLanguage": issuer.language,
        "resultDescription": [description],
        "euMicroCredential": eu,
    }


def generate_credentials(
    count: int,
    seed: int = 0,
    *,
    issuer: Issuer | None = None,
    salted: bool = True,
    start: datetime = datetime(2025, 1, 6, tzinfo=UTC),
    credential_format: str = FORMAT_V1,
    issuer_did: str | None = None,
) -> Iterator[Credential]:
    """Yield ``count`` valid, realistic credentials; the same arguments always yield the same credentials.

    ``issuer`` fixes the awarding body (default: each credential from a random built-in one). Issue dates
    fall on the 365 days from ``start``. With ``salted`` each credential gets an ``anchorSalt`` from the
    seeded generator. ``credential_format``: ``anchor-credential-v1`` or ``-v2`` (unsigned: the issuer signs v2 at
    intake); ``issuer_did`` replaces the awarding body's ``issuer.id`` (for example by a did:key). Every
    credential is a fresh object tree: callers may mutate what they receive.
    """
    if count < 0:
        raise InvalidInputError(f"count must be at least 0, got {count}")
    if credential_format not in CONTEXTS_BY_FORMAT:
        known = sorted(CONTEXTS_BY_FORMAT)
        raise InvalidInputError(f"credential_format must be one of {known}, got {credential_format!r}")
    contexts = CONTEXTS_BY_FORMAT[credential_format]
    rng = random.Random(seed)  # noqa: S311 -- reproducible demo data; production salts use secrets
    issuers = (issuer,) if issuer is not None else ISSUERS
    days = _days(start, 365)
    profiles = {id(item): _profile(item) for item in issuers}
    offerings = [(item, course) for item in issuers for course in item.courses]
    grade_weights = {
        id(item): [float(len(item.grade_scale.grades) - rank) for rank in range(len(item.grade_scale.grades))]
        for item in issuers
    }
    for _ in range(count):
        awarding, course = offerings[rng.randrange(len(offerings))]
        day, began, year = days[rng.randrange(365)]
        hour = 8 + rng.randrange(10)
        minute = rng.randrange(60)
        given = rng.choice(awarding.given_names)
        family = rng.choice(awarding.family_names)
        student = rng.randrange(10_000, 1_000_000)
        profile = profiles[id(awarding)]
        achievement = _achievement(awarding, course)
        scale = awarding.grade_scale
        grade = rng.choices(scale.grades, weights=grade_weights[id(awarding)])[0]
        subject: dict[str, Any] = {
            "id": f"urn:uuid:{_uuid4(rng.getrandbits(128))}",
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "hashed": False,
                    "identityHash": f"{given} {family}",
                    "identityType": "name",
                },
                {
                    "type": "IdentityObject",
                    "hashed": False,
                    "identityHash": f"{year}-{student:06d}",
                    "identityType": "sisSourcedId",
                },
            ],
            "achievement": achievement,
            "creditsEarned": course.ects,
            "activityStartDate": f"{began}T08:00:00Z",
            "activityEndDate": f"{day}T{hour - 1:02d}:00:00Z",
            "result": [
                {
                    "type": ["Result"],
                    "resultDescription": achievement["resultDescription"][0]["id"],
                    "value": grade,
                    "status": "Completed",
                }
            ],
        }
        credential: Credential = {
            "@context": list(contexts),
            "id": f"urn:uuid:{_uuid4(rng.getrandbits(128))}",
            "type": list(CREDENTIAL_TYPES),
            "name": course.title,
            "issuer": {**profile, "address": dict(profile["address"]), "type": ["Profile"]},
            "validFrom": f"{day}T{hour:02d}:{minute:02d}:00Z",
            "credentialSubject": subject,
            "anchorFormat": credential_format,
        }
        if issuer_did is not None:
            credential["issuer"]["id"] = issuer_did
        if course.valid_years is not None:
            until_year = int(year) + course.valid_years
            month_day = "-02-28" if day[4:] == "-02-29" else day[4:]
            credential["validUntil"] = f"{until_year}{month_day}T23:59:59Z"
        if salted:
            credential["anchorSalt"] = f"0x{rng.getrandbits(256):064x}"
        yield credential
