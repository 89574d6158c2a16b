"""Validating a credential: strict JSON, format version, schema, then the rules; and reading a credential file."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Final

from anchor.credentials.model import FORMAT_KEY, KNOWN_FORMATS, MAX_CREDENTIAL_BYTES, Credential, format_version
from anchor.credentials.rules import _semantic_problems
from anchor.credentials.schema import _fast_validator, _schema_problems
from anchor.credentials.strict_json import _clean, parse_credential
from anchor.errors import CredentialParseError, CredentialValidationError, FieldProblem, InvalidInputError

__all__ = ["load_credential_file", "read_credential_file", "validate_credential", "validate_parsed"]

#: The C1 controls (U+0080-U+009F) in UTF-8: C2 80 to C2 9F.
_C1_UTF8_RE: Final = re.compile(b"\xc2[\x80-\x9f]")


def _may_hold_control(text: str) -> bool:
    """Whether ``json.dumps(..., ensure_ascii=False)`` text may hold a control character validation refuses.

    DEL and the C1 controls stand there as they are, the C0 controls as ``\\b``, ``\\f`` or ``\\u00XX`` (the
    allowed tab, line feed and carriage return as ``\\t``, ``\\n``, ``\\r``); an escaped backslash before
    ``b``, ``f`` or ``u00`` also counts (then the full walk decides), and so does text that is not UTF-8.
    """
    if "\\u00" in text or "\\b" in text or "\\f" in text or "\x7f" in text:
        return True
    if text.isascii():
        return False
    try:
        return _C1_UTF8_RE.search(text.encode("utf-8")) is not None
    except UnicodeEncodeError:
        return True


def _may_hold_control_utf8(data: bytes) -> bool:
    """:func:`_may_hold_control` for the UTF-8 JSON text a credential was parsed from.

    Strict parsing refuses a raw C0 control inside a string, so in such text a control is an escape
    (``\\b``, ``\\f``, ``\\u00XX``: DEL and the C1 controls too may be escaped so), or a raw DEL or C1
    control; an escaped backslash before ``b``, ``f`` or ``u00`` also counts (then the full walk decides).
    """
    # Searches for one byte first: they run at memchr speed, those for two bytes or a pattern many times slower.
    if b"\\" in data and (b"\\u00" in data or b"\\b" in data or b"\\f" in data):
        return True
    return b"\x7f" in data or (b"\xc2" in data and _C1_UTF8_RE.search(data) is not None)


def read_credential_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a credential file of at most :data:`MAX_CREDENTIAL_BYTES` (a larger one refused unread)."""
    # os.open and os.read: a file object and its buffer cost more than reading a small file does
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise InvalidInputError(f"{Path(path)}: cannot read credential file: {error.strerror or error}") from error
    try:
        size = os.fstat(descriptor).st_size
        if size > MAX_CREDENTIAL_BYTES:
            raise CredentialParseError(
                f"{Path(path)}: file is {size} bytes, more than the {MAX_CREDENTIAL_BYTES}-byte limit for a credential"
            )
        data = os.read(descriptor, MAX_CREDENTIAL_BYTES + 1)
        while len(data) <= MAX_CREDENTIAL_BYTES and (more := os.read(descriptor, MAX_CREDENTIAL_BYTES + 1 - len(data))):
            data += more  # a short read (a pipe, a network file system): read on to the end or past the limit
    except OSError as error:
        raise InvalidInputError(f"{Path(path)}: cannot read credential file: {error.strerror or error}") from error
    finally:
        os.close(descriptor)
    if len(data) > MAX_CREDENTIAL_BYTES:
        raise CredentialParseError(f"{Path(path)}: more than the {MAX_CREDENTIAL_BYTES}-byte limit for a credential")
    return data


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
    _validate_content(clean, source)


def validate_parsed(credential: Credential, *, source: str | None = None, text: bytes | None = None) -> None:
    """:func:`validate_credential` for what :func:`parse_credential` returned, without walking it again.

    Parsing already made it strict I-JSON with NFC text, so of that walk only the refusal of control
    characters is left: their absence is seen in the credential's JSON text (at C speed); when one may be
    there, :func:`validate_credential` walks it and names each. The same problems, the same errors.
    ``text``: the bytes ``credential`` was parsed from, when the caller has them: they are searched instead of
    the credential encoded again (:func:`_may_hold_control_utf8`).
    """
    if not isinstance(credential, dict):
        validate_credential(credential, source=source)
        return
    if text is not None:
        maybe = _may_hold_control_utf8(text)
    else:
        maybe = _may_hold_control(json.dumps(credential, ensure_ascii=False))
    if maybe:
        validate_credential(credential, source=source)
        return
    _validate_content(credential, source)


def _validate_content(clean: Credential, source: str | None) -> None:
    """The format version, the schema and the rules, for a credential that is strict I-JSON without controls."""
    problems: list[FieldProblem] = []
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
    data = read_credential_file(path)
    credential = parse_credential(data, source=str(Path(path)))
    if validate:
        validate_credential(credential, source=str(Path(path)))
    return credential
