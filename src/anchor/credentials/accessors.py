"""Reading a credential's fields: ids, names, title and dates, each checked for its kind.

A missing or mistyped field raises :class:`~anchor.errors.CredentialValidationError` naming it, so an
accessor is safe on a credential that was parsed but not validated.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from anchor.credentials.model import _pointer, _show, _to_datetime, lookup
from anchor.credentials.strict_json import _json_type
from anchor.errors import CredentialValidationError, FieldProblem, InvalidInputError

__all__ = [
    "credential_id",
    "credential_title",
    "is_expired",
    "is_not_yet_valid",
    "issuer_country",
    "issuer_id",
    "issuer_name",
    "learner_id",
    "learner_name",
    "valid_from",
    "valid_until",
]


def _field(credential: Mapping[str, Any], path: tuple[str, ...]) -> str:
    value = lookup(credential, path)
    if not isinstance(value, str):
        problem = "is missing" if value is None else f"expected a string, got {_json_type(value)}"
        raise CredentialValidationError([FieldProblem(_pointer(path), problem)])
    return value


def credential_id(credential: Mapping[str, Any]) -> str:
    """The credential's ``id``."""
    return _field(credential, ("id",))


def issuer_id(credential: Mapping[str, Any]) -> str:
    """The awarding body's id (DID or https URL)."""
    return _field(credential, ("issuer", "id"))


def issuer_name(credential: Mapping[str, Any]) -> str:
    """The awarding body's name."""
    return _field(credential, ("issuer", "name"))


def issuer_country(credential: Mapping[str, Any]) -> str:
    """The awarding body's ISO 3166-1 alpha-2 country code."""
    return _field(credential, ("issuer", "address", "addressCountryCode"))


def learner_id(credential: Mapping[str, Any]) -> str:
    """The learner's URI (``credentialSubject.id``)."""
    return _field(credential, ("credentialSubject", "id"))


def learner_name(credential: Mapping[str, Any]) -> str:
    """The learner's name: the first plaintext ``IdentityObject`` of identityType "name"."""
    identifiers = lookup(credential, ("credentialSubject", "identifier"))
    for item in identifiers if isinstance(identifiers, list) else []:
        if (
            isinstance(item, dict)
            and item.get("identityType") == "name"
            and item.get("hashed") is False
            and isinstance(item.get("identityHash"), str)
        ):
            name: str = item["identityHash"]
            return name
    raise CredentialValidationError(
        [FieldProblem("/credentialSubject/identifier", "has no plaintext IdentityObject of identityType 'name'")]
    )


def credential_title(credential: Mapping[str, Any]) -> str:
    """The micro-credential's title (the achievement's name)."""
    return _field(credential, ("credentialSubject", "achievement", "name"))


def _moment(credential: Mapping[str, Any], key: str) -> datetime | None:
    text = lookup(credential, (key,))
    if text is None:
        return None
    wrong = "is not an RFC 3339 date-time with a timezone"  # the message is made only when it is needed
    if not isinstance(text, str):
        raise CredentialValidationError([FieldProblem(f"/{key}", f"{_show(text)} {wrong}")])
    try:
        moment = _to_datetime(text)
    except ValueError as error:
        raise CredentialValidationError([FieldProblem(f"/{key}", f"{_show(text)} {wrong}: {error}")]) from None
    if moment is None:
        raise CredentialValidationError([FieldProblem(f"/{key}", f"{_show(text)} {wrong}")])
    return moment


def valid_from(credential: Mapping[str, Any]) -> datetime:
    """The date of issue (``validFrom``) as an aware datetime."""
    moment = _moment(credential, "validFrom")
    if moment is None:
        raise CredentialValidationError([FieldProblem("/validFrom", "is missing")])
    return moment


def valid_until(credential: Mapping[str, Any]) -> datetime | None:
    """The expiry (``validUntil``) as an aware datetime, or None if the credential does not expire."""
    return _moment(credential, "validUntil")


def _aware(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInputError(f"a time to check validity at needs a timezone, got naive {at.isoformat()}")
    return at


def is_expired(credential: Mapping[str, Any], at: datetime | None = None) -> bool:
    """Whether ``at`` (default: now) is after ``validUntil``; a credential without one never expires."""
    until = valid_until(credential)
    return until is not None and _aware(at) > until


def is_not_yet_valid(credential: Mapping[str, Any], at: datetime | None = None) -> bool:
    """Whether ``at`` (default: now) is before ``validFrom``."""
    return _aware(at) < valid_from(credential)
