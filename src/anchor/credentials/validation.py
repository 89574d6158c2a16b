"""Validating a credential: strict JSON, format version, schema, then the rules; and reading a credential file."""

from __future__ import annotations

import os
from pathlib import Path

from anchor.credentials.model import FORMAT_KEY, KNOWN_FORMATS, MAX_CREDENTIAL_BYTES, Credential, format_version
from anchor.credentials.rules import _semantic_problems
from anchor.credentials.schema import _fast_validator, _schema_problems
from anchor.credentials.strict_json import _clean, parse_credential
from anchor.errors import CredentialParseError, CredentialValidationError, FieldProblem, InvalidInputError

__all__ = ["load_credential_file", "validate_credential"]


def validate_credential(credential: object, *, source: str | None = None) -> None:
    """Check a credential against the schema and the rules JSON Schema cannot express.

    Raises :class:`CredentialValidationError` listing every problem (JSON pointer and what is wrong), or
    :class:`UnknownFormatError` if ``anchorFormat`` names a version this release does not know.
    """
    if not isinstance(credential, dict):
        raise CredentialValidationError(
            [FieldProblem("", f"expected a JSON object, got {type(credential).__name__}")], source
        )
    problems: list[FieldProblem] = []
    clean: Credential = _clean(credential, [], problems, 0, controls=True)
    if problems:
        raise CredentialValidationError(_unique_sorted(problems), source)
    version = clean.get(FORMAT_KEY)
    if isinstance(version, str) and version not in KNOWN_FORMATS:
        format_version(clean)
    if not _fast_validator().is_valid(clean):
        problems.extend(_schema_problems(clean))
    problems.extend(_semantic_problems(clean))
    if problems:
        raise CredentialValidationError(_unique_sorted(problems), source)


def _unique_sorted(problems: list[FieldProblem]) -> list[FieldProblem]:
    seen: dict[FieldProblem, None] = dict.fromkeys(problems)
    return sorted(seen, key=lambda problem: problem.path)


def load_credential_file(path: str | os.PathLike[str], *, validate: bool = True) -> Credential:
    """Read, parse and (by default) validate a credential file of at most :data:`MAX_CREDENTIAL_BYTES`."""
    file = Path(path)
    try:
        with file.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_CREDENTIAL_BYTES:
                raise CredentialParseError(
                    f"{file}: file is {size} bytes, more than the {MAX_CREDENTIAL_BYTES}-byte limit for a credential"
                )
            data = stream.read(MAX_CREDENTIAL_BYTES + 1)
    except OSError as error:
        raise InvalidInputError(f"{file}: cannot read credential file: {error.strerror or error}") from error
    if len(data) > MAX_CREDENTIAL_BYTES:
        raise CredentialParseError(f"{file}: more than the {MAX_CREDENTIAL_BYTES}-byte limit for a credential")
    credential = parse_credential(data, source=str(file))
    if validate:
        validate_credential(credential, source=str(file))
    return credential
