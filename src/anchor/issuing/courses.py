"""Course templates: what every credential of a course says, whoever the learner (``anchor course ...``).

A registrar describes a course once: the awarding body and the achievement with every EU element that does
not vary per learner (title, learning outcomes, workload, level, assessment, participation, quality
assurance...). A template is a JSON object (strict I-JSON, at most 1 MiB)::

    {
      "issuer":        {... the awarding body's Profile, exactly as in a credential ...},
      "achievement":   {... the Achievement, as in a credential's credentialSubject.achievement ...},
      "name":          "...",  optional: the credentials' name (default: the achievement's name)
      "description":   "...",  optional: the credentials' description
      "validForYears": 5       optional: each credential expires that many years after its date of issuing
    }

It is validated on its own, with the credential's own schema and rules: the template is put in a sample
credential, and every problem is reported at the template's own path (``/achievement/creditsAvailable``).
A course is stored in the issuer database under an id (letters, digits, ``.``, ``_``, ``-``) and versioned:
saving a changed template makes a new version, saving the same one changes nothing. A credential names the
version it was issued from in ``achievement.version`` (so a template cannot set it).

The learner's part (name, identifiers, result, dates) comes from a roster: :mod:`anchor.issuing.rosters`
builds each credential with :meth:`Course.credential`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, NamedTuple

import sha3

from anchor.credentials import (
    CONTEXTS,
    CREDENTIAL_TYPES,
    FORMAT_KEY,
    FORMAT_V1,
    MAX_CREDENTIAL_BYTES,
    canonical_json,
    parse_credential,
    validate_credential,
)
from anchor.credentials.model import _show
from anchor.errors import CredentialValidationError, FieldProblem, InvalidInputError
from anchor.issuing.store import CourseRecord, Store

__all__ = [
    "MAX_VALID_YEARS",
    "TEMPLATE_KEYS",
    "Course",
    "Learner",
    "check_template",
    "get_course",
    "list_courses",
    "load_template",
    "parse_course_ref",
    "save_course",
    "template_hash",
]

TEMPLATE_KEYS: Final = ("issuer", "achievement", "name", "description", "validForYears")
MAX_VALID_YEARS: Final = 100
_COURSE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: Paths of a credential's problems -> the template's path (the first prefix that matches).
_TEMPLATE_PATHS: Final = (
    ("/credentialSubject/achievement", "/achievement"),
    ("/issuer", "/issuer"),
    ("/name", "/name"),
    ("/description", "/description"),
    ("/validUntil", "/validForYears"),
)
#: The namespace of learners' subject ids made from credential ids (see :meth:`Course.credential`).
_SUBJECT_NAMESPACE: Final = uuid.UUID("3c0b7d0e-5f0a-4f8e-9a53-6d1c2b8e4a16")
_SAMPLE_DATE: Final = "2025-01-01T00:00:00Z"


class Learner(NamedTuple):
    """The part of a credential that is the learner's (one roster row), already checked field by field.

    A named tuple: made once per roster row and sent to intake's workers, it costs a third of a frozen
    dataclass to make, pickle and unpickle."""

    name: str
    identifiers: tuple[tuple[str, str], ...] = ()
    """``(identityType, value)`` pairs besides the name (``sisSourcedId``, ``nationalIdentityNumber``...)."""
    subject_id: str | None = None
    """``credentialSubject.id`` (a URI); default: a UUID URN made from the credential id."""
    grade: str | None = None
    status: str | None = None
    credits: float | int | None = None
    """ECTS credits earned; default: the achievement's ``creditsAvailable``."""
    start_date: str | None = None
    end_date: str | None = None
    valid_until: str | None = None
    """Overrides ``validForYears``."""
    narrative: str | None = None
    term: str | None = None


@dataclass(frozen=True)
class Course:
    """One version of a course template."""

    course_id: str
    version: int
    template: Mapping[str, Any]
    created_at: float = 0.0
    _achievement: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        achievement = {**self.template["achievement"], "version": str(self.version)}
        object.__setattr__(self, "_achievement", achievement)

    @property
    def title(self) -> str:
        """The achievement's name."""
        return str(self.template["achievement"].get("name", ""))

    @property
    def language(self) -> str | None:
        """The achievement's ``inLanguage``, if it states one."""
        value = self.template["achievement"].get("inLanguage")
        return value if isinstance(value, str) else None

    @property
    def grade_description(self) -> str | None:
        """The id of the achievement's first ``resultDescription``: what a roster's grades refer to."""
        listed = self.template["achievement"].get("resultDescription")
        if isinstance(listed, list) and listed and isinstance(listed[0], Mapping):
            value = listed[0].get("id")
            return value if isinstance(value, str) else None
        return None

    def credential(self, learner: Learner, *, credential_id: str, valid_from: str) -> dict[str, Any]:
        """The credential of one learner (not validated here: intake validates it like any other).

        Its objects for the issuer and the achievement are shared between calls: treat them as read-only.
        """
        template = self.template
        achievement = self._achievement
        subject: dict[str, Any] = {
            "id": learner.subject_id or f"urn:uuid:{uuid.uuid5(_SUBJECT_NAMESPACE, credential_id)}",
            "type": ["AchievementSubject"],
            "identifier": [
                {"type": "IdentityObject", "hashed": False, "identityHash": learner.name, "identityType": "name"},
                *(
                    {"type": "IdentityObject", "hashed": False, "identityHash": value, "identityType": kind}
                    for kind, value in learner.identifiers
                ),
            ],
            "achievement": achievement,
        }
        credits = learner.credits if learner.credits is not None else achievement.get("creditsAvailable")
        if credits is not None:
            subject["creditsEarned"] = credits
        if learner.start_date is not None:
            subject["activityStartDate"] = learner.start_date
        if learner.end_date is not None:
            subject["activityEndDate"] = learner.end_date
        if learner.grade is not None or learner.status is not None:
            result: dict[str, Any] = {"type": ["Result"]}
            if learner.grade is not None:
                description = self.grade_description
                if description is not None:
                    result["resultDescription"] = description
                result["value"] = learner.grade
            result["status"] = learner.status or "Completed"
            subject["result"] = [result]
        if learner.narrative is not None:
            subject["narrative"] = learner.narrative
        if learner.term is not None:
            subject["term"] = learner.term
        credential: dict[str, Any] = {
            "@context": list(CONTEXTS),
            "id": credential_id,
            "type": list(CREDENTIAL_TYPES),
            "name": template.get("name", achievement.get("name")),
            "issuer": template["issuer"],
            "validFrom": valid_from,
            "credentialSubject": subject,
            FORMAT_KEY: FORMAT_V1,
        }
        if "description" in template:
            credential["description"] = template["description"]
        until = learner.valid_until or _years_after(valid_from, template.get("validForYears"))
        if until is not None:
            credential["validUntil"] = until
        return credential


def _years_after(valid_from: str, years: object) -> str | None:
    """The end (23:59:59 UTC) of the day ``years`` years after ``valid_from``'s day in UTC (29 Feb -> 28 Feb)."""
    if not isinstance(years, int) or isinstance(years, bool):
        return None
    try:
        start = datetime.fromisoformat(valid_from).astimezone(UTC)
    except ValueError:
        return None  # the date itself is reported by validation
    day = 28 if (start.month, start.day) == (2, 29) else start.day
    year = start.year + years
    if year > 9999:
        return None
    return f"{year:04d}-{start.month:02d}-{day:02d}T23:59:59Z"


# --------------------------------------------------------------------------------------------------------
# Templates


def load_template(path: str | Path) -> dict[str, Any]:
    """Read a template file (refused by its size before it is read) and check it (:func:`check_template`)."""
    file = Path(path)
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_CREDENTIAL_BYTES + 1)
    except OSError as error:
        raise InvalidInputError(f"{file}: cannot read the course template: {error.strerror or error}") from error
    return check_template(parse_credential(data, source=str(file)), source=str(file))


def check_template(template: object, *, source: str | None = None) -> dict[str, Any]:
    """The template, checked: :class:`CredentialValidationError` lists every problem at the template's paths."""
    if not isinstance(template, dict):
        raise CredentialValidationError([FieldProblem("", "a course template is a JSON object")], source)
    problems = [
        FieldProblem(f"/{key}", f"is not a course template field (known: {', '.join(TEMPLATE_KEYS)})")
        for key in template
        if key not in TEMPLATE_KEYS
    ]
    for key in ("issuer", "achievement"):
        if key not in template:
            problems.append(FieldProblem(f"/{key}", "is missing"))
        elif not isinstance(template[key], dict):
            problems.append(FieldProblem(f"/{key}", f"expected an object, got {_show(template[key])}"))
    achievement = template.get("achievement")
    if isinstance(achievement, dict) and "version" in achievement:
        problems.append(
            FieldProblem(
                "/achievement/version",
                "is set by anchor: each credential names the course version it was issued from; remove it",
            )
        )
    years = template.get("validForYears")
    if "validForYears" in template and (
        not isinstance(years, int) or isinstance(years, bool) or not 1 <= years <= MAX_VALID_YEARS
    ):
        problems.append(
            FieldProblem("/validForYears", f"expected a whole number of years 1-{MAX_VALID_YEARS}, got {_show(years)}")
        )
    if problems:
        raise CredentialValidationError(problems, source)
    sample = Course("sample", 1, template).credential(
        Learner("Sample Learner", credits=_sample_credits(template)),
        credential_id="urn:uuid:00000000-0000-4000-8000-000000000000",
        valid_from=_SAMPLE_DATE,
    )
    try:
        validate_credential(sample)
    except CredentialValidationError as error:
        found = [_template_problem(problem) for problem in error.problems]
        if "name" not in template:  # the credentials' name is the achievement's: reported there
            found = [problem for problem in found if problem.path != "/name"] or found
        raise CredentialValidationError(found, source) from None
    return template


def _sample_credits(template: Mapping[str, Any]) -> float | int | None:
    """The credits a sample learner earns: all those available when that is a number the schema takes."""
    available = template["achievement"].get("creditsAvailable")
    number = isinstance(available, int | float) and not isinstance(available, bool) and 0 < available <= 60
    return available if number else 1


def _template_problem(problem: FieldProblem) -> FieldProblem:
    for prefix, replacement in _TEMPLATE_PATHS:
        if problem.path == prefix or problem.path.startswith(prefix + "/"):
            return FieldProblem(replacement + problem.path[len(prefix) :], problem.message)
    return FieldProblem(problem.path, f"{problem.message} (in a credential made from the template)")


def template_hash(template: Mapping[str, Any]) -> str:
    """0x-hex keccak256 of the template's canonical JSON (RFC 8785): what tells versions apart."""
    return "0x" + bytes(sha3.keccak_256(canonical_json(template)).digest()).hex()


# --------------------------------------------------------------------------------------------------------
# Stored courses


def check_course_id(course_id: str) -> str:
    """``course_id`` if it is a valid course id; :class:`InvalidInputError` otherwise."""
    if not isinstance(course_id, str) or not _COURSE_ID.fullmatch(course_id):
        raise InvalidInputError(
            f"invalid course id {course_id!r}: use letters, digits, '.', '_' or '-' "
            "(at most 64, starting with a letter or digit)"
        )
    return course_id


def parse_course_ref(text: str) -> tuple[str, int | None]:
    """``ID`` or ``ID@VERSION`` -> the course id and the version (None: the latest)."""
    course_id, at, version = text.partition("@")
    check_course_id(course_id)
    if not at:
        return course_id, None
    if not (version.isascii() and version.isdigit()) or int(version) < 1 or len(version) > 9:
        raise InvalidInputError(f"{text!r}: the version after '@' is a number from 1")
    return course_id, int(version)


def save_course(store: Store, course_id: str, template: Mapping[str, Any]) -> tuple[Course, bool]:
    """Check and store a template as the course's next version (unless unchanged); the course, and if it is new."""
    check_course_id(course_id)
    checked = check_template(dict(template), source=f"course {course_id}")
    text = json.dumps(checked, ensure_ascii=False, indent=2)
    record, created = store.save_course(course_id, text, str(checked["achievement"]["name"]), template_hash(checked))
    return _course(record), created


def get_course(store: Store, course_id: str, version: int | None = None) -> Course:
    """A stored course (the latest version by default)."""
    return _course(store.get_course(check_course_id(course_id), version))


def list_courses(store: Store) -> list[Course]:
    """The latest version of every stored course."""
    return [_course(record) for record in store.list_courses()]


def _course(record: CourseRecord) -> Course:
    return Course(record.course_id, record.version, json.loads(record.template), record.created_at)
