"""EU micro-credentials as Open Badges 3.0 credentials: strict parsing, validation, canonical form, digest.

A credential is an Open Badges 3.0 ``OpenBadgeCredential`` (a W3C Verifiable Credential 2.0) whose
``Achievement`` carries the elements of Annex I of the Council Recommendation of 16 June 2022 on a
European approach to micro-credentials (2022/C 243/02). Where Open Badges has a field for an element it is
used; the rest lives in ``credentialSubject.achievement.euMicroCredential``, whose JSON-LD terms are defined
by the anchor context (:data:`EXTENSION_CONTEXT`, shipped as ``schemas/anchor-credential-v1.context.json``).

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
Notional workload                     ``ach.creditsAvailable`` in the unit ``eu.creditSystem`` = "ECTS";
                                      ``eu.workloadHours`` (optional)
Level (EQF; NQF, QF-EHEA cycle)       ``eu.eqfLevel`` (1-8); ``eu.nqf``, ``eu.qfEheaCycle`` (optional)
Type of assessment                    ``eu.assessment`` (``methods[]``, ``description``)
Form of participation                 ``eu.participation`` (online, onsite, blended, volunteering,
                                      work-experience)
Type of quality assurance             ``eu.qualityAssurance`` (``description``, ``body``, ``url``)
*Optional*
Prerequisites to enrol                ``eu.prerequisites``
Supervision, identity verification    ``eu.supervision``
Grade achieved                        ``credentialSubject.result[]`` (``value``; its ``resultDescription``
                                      is the id of an entry of ``ach.resultDescription[]``)
Integration/stackability options      ``eu.stackability`` (``mode``, ``towards``, ``towardsUrl``)
Duration of validity                  ``validUntil``
Further information                   ``eu.furtherInformation``
Field of education (ISCED-F)          ``ach.fieldOfStudy`` (text), ``eu.iscedF`` (code)
Language of the learning activity     ``ach.inLanguage``
====================================  ======================================================================

Hashing. ``digest = keccak256(canonical_bytes(credential))`` where the canonical bytes are RFC 8785 (JCS,
via the ``rfc8785`` library) of the credential without the top-level keys in :data:`EXCLUDED_KEYS`
(``proof``: VC proofs or a receipt's anchoring proof; ``anchor``: a receipt's anchoring proof object).
Everything else is hashed, including two anchor fields at the top level:

- ``anchorSalt``: 32 random bytes as 0x-hex, added at issue time by :func:`with_salt`, so that the Merkle
  siblings a receipt reveals cannot be confirmed by guessing another learner's credential.
- ``anchorFormat``: ``"anchor-credential-v1"``. The version is a field, not a domain-tag prefix on the
  hashed bytes, so the digest stays plain ``keccak256(JCS(credential minus proof))`` that any JCS library
  reproduces, while the version is still hashed (it cannot be swapped) and visible to a reader before it
  hashes anything. An unknown version is rejected with :class:`~anchor.errors.UnknownFormatError`.

Text is normalised to Unicode NFC on intake and again before hashing, so a credential typed twice (once
with precomposed, once with combining characters) has one digest. Parsing is strict I-JSON (RFC 7493):
numbers must be exact in every JSON implementation, so integers beyond ±(2**53-1) are refused, and so are
floats of magnitude in [2**53, 1e21), which RFC 8785 would write as such integers. Validation
refuses control characters in text other than tab, line feed and carriage return, and matches the
schema's patterns as ECMA-262 regular expressions (jsonschema-rs decides; Python jsonschema explains):
``$`` does not match before a final line feed, and U+FEFF counts as white space. This module is pure:
it imports nothing from the chain side.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import jsonschema_rs
import rfc8785
import sha3

from anchor.errors import (
    CredentialParseError,
    CredentialValidationError,
    FieldProblem,
    InvalidInputError,
    InvariantError,
    UnknownFormatError,
)

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = [
    "CONTEXTS",
    "CREDENTIAL_TYPES",
    "EXCLUDED_KEYS",
    "EXTENSION_CONTEXT",
    "FORMAT_KEY",
    "FORMAT_V1",
    "KNOWN_FORMATS",
    "MAX_CREDENTIAL_BYTES",
    "OB_CONTEXT",
    "SALT_KEY",
    "VC_CONTEXT",
    "Credential",
    "canonical_bytes",
    "canonical_json",
    "credential_context_document",
    "credential_digest",
    "credential_id",
    "credential_schema",
    "credential_title",
    "format_version",
    "is_expired",
    "is_not_yet_valid",
    "issuer_country",
    "issuer_id",
    "issuer_name",
    "learner_id",
    "learner_name",
    "load_credential_file",
    "new_salt",
    "parse_credential",
    "salt_bytes",
    "valid_from",
    "valid_until",
    "validate_credential",
    "with_salt",
]

Credential = dict[str, Any]
"""A credential as parsed JSON: a ``dict`` of JSON values (str, int, float, bool, None, list, dict)."""

FORMAT_V1: Final = "anchor-credential-v1"
KNOWN_FORMATS: Final = frozenset({FORMAT_V1})
FORMAT_KEY: Final = "anchorFormat"
SALT_KEY: Final = "anchorSalt"
EXCLUDED_KEYS: Final = frozenset({"proof", "anchor"})
"""Top-level keys left out of the canonical form: proofs are about the credential, not part of it."""

VC_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT: Final = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
EXTENSION_CONTEXT: Final = "https://w3id.org/anchor/credential/v1"
CONTEXTS: Final = (VC_CONTEXT, OB_CONTEXT, EXTENSION_CONTEXT)
CREDENTIAL_TYPES: Final = ("VerifiableCredential", "OpenBadgeCredential")

MAX_CREDENTIAL_BYTES: Final = 1 << 20
"""Largest credential accepted, in UTF-8 bytes (1 MiB): a credential is metadata, not a portfolio."""
MAX_DEPTH: Final = 64
"""Deepest nesting of arrays and objects accepted."""
I_JSON_MAX_INT: Final = 2**53 - 1
# RFC 8785 writes a float of magnitude in [2**53, 1e21) as a bare integer token, which strict parsing
# refuses as beyond the I-JSON range; such floats are refused up front so every canonical form re-parses.
_JCS_INTEGER_FLOATS: Final = (float(2**53), 1e21)
SALT_BYTES: Final = 32

_SCHEMA_FILE: Final = "anchor-credential-v1.schema.json"
_CONTEXT_FILE: Final = "anchor-credential-v1.context.json"
_SALT_RE: Final = re.compile(r"0x[0-9a-f]{64}")
_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")
#: C0 controls but tab, line feed and carriage return; DEL; C1 controls. Invisible in print and a means of
#: spoofing, they are refused in all text (which also keeps the two schema engines' ``\s`` in agreement).
_CONTROL_RE: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LONG_DIGITS_RE: Final = re.compile(rb"[0-9]{16}")
_STRING_RE: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET_RE: Final = re.compile(r"[^\[\]{}]+")
_DATETIME_RE: Final = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})",
)
_DATE_POINTERS: Final = (
    ("validFrom",),
    ("validUntil",),
    ("awardedDate",),
    ("credentialSubject", "activityStartDate"),
    ("credentialSubject", "activityEndDate"),
)

# ISO 3166-1 alpha-2, all 249 officially assigned codes (as in tzdata's iso3166.tab), plus XK for Kosovo,
# the user-assigned code the European Commission uses.
_ISO_3166_TEXT: Final = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    XK
"""
_ISO_3166_ALPHA2: Final = frozenset(_ISO_3166_TEXT.split())
_COUNTRY_HINTS: Final = {
    "EL": "Greece is GR in ISO 3166-1; EL is the EU's own abbreviation",
    "UK": "the United Kingdom is GB in ISO 3166-1",
}
# 1 ECTS credit is 25-30 hours of work (ECTS Users' Guide 2015); allow a margin either side.
_HOURS_PER_ECTS: Final = (20.0, 36.0)


# --------------------------------------------------------------------------------------------------------
# Strict JSON model: one walk shared by parsing, validation and canonicalisation.


class _Pairs(list[tuple[str, Any]]):
    """An object's members in document order, as the decoder saw them (duplicates kept)."""


@dataclass(frozen=True, slots=True)
class _BadNumber:
    """A number token the decoder met that I-JSON forbids; reported with its path by :func:`_clean`."""

    text: str
    reason: str


def _nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in JSON text (brackets in strings not counted), or a bound.

    Returns the number of opening brackets instead when that is at most :data:`MAX_DEPTH`.

    Checked before ``json.loads``: its C decoder recurses per level, and in a process where a library has
    raised the recursion limit (py-evm sets 100000) deep input overflows the C stack instead of raising.
    """
    opening = text.count("[") + text.count("{")
    if opening <= MAX_DEPTH:  # the usual case: too few brackets to nest too deep, no scan needed
        return opening
    depth = deepest = 0
    for char in _NOT_BRACKET_RE.sub("", _STRING_RE.sub("", text)):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _parse_int(text: str) -> int | _BadNumber:
    # 2**53-1 has 16 digits; longer tokens are refused before int() (which caps at 4300 digits).
    if len(text.lstrip("-")) <= 16:
        value = int(text)
        if abs(value) <= I_JSON_MAX_INT:
            return value
    shown = text if len(text) <= 40 else text[:37] + "..."
    return _BadNumber(shown, "is outside the I-JSON integer range ±(2**53-1)")


def _parse_float(text: str) -> float | _BadNumber:
    value = float(text)
    if math.isfinite(value):
        return value
    return _BadNumber(text if len(text) <= 40 else text[:37] + "...", "overflows a 64-bit float")


def _parse_constant(text: str) -> _BadNumber:
    return _BadNumber(text, "is not allowed: JSON has no NaN or Infinity")


def _pointer(path: Iterable[str | int]) -> str:
    """A JSON pointer (RFC 6901) for a path of keys and indexes."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _character_problem(
    pattern: re.Pattern[str], text: str, path: list[str | int], problems: list[FieldProblem], name: str, why: str
) -> bool:
    """Append a problem naming the first character of ``text`` that ``pattern`` finds; whether there was one."""
    found = pattern.search(text)
    if found is None:
        return False
    code, at = ord(found.group()), found.start()
    problems.append(FieldProblem(_pointer(path), f"contains {name} U+{code:04X} at character {at}{why}"))
    return True


def _control_problem(text: str, path: list[str | int], problems: list[FieldProblem]) -> None:
    """Append a problem if ``text`` holds a control character."""
    why = "; only tab, line feed and carriage return are allowed"
    _character_problem(_CONTROL_RE, text, path, problems, "the control character", why)


def _clean_text(text: str, path: list[str | int], problems: list[FieldProblem]) -> str:
    if _character_problem(_SURROGATE_RE, text, path, problems, "a lone surrogate", ", which is not Unicode text"):
        return text
    if unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def _clean(value: Any, path: list[str | int], problems: list[FieldProblem], depth: int, controls: bool = False) -> Any:
    """Return ``value`` as plain JSON with NFC text, appending a problem for anything I-JSON forbids.

    With ``controls``, also for text or keys holding a control character (a rule of credential content).
    """
    if isinstance(value, str):
        if controls:
            _control_problem(value, path, problems)
        return value if value.isascii() else _clean_text(value, path, problems)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -I_JSON_MAX_INT <= value <= I_JSON_MAX_INT:
            return int(value)
        problems.append(FieldProblem(_pointer(path), f"{value} is outside the I-JSON integer range ±(2**53-1)"))
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            problems.append(FieldProblem(_pointer(path), f"{value} is not allowed: JSON has no NaN or Infinity"))
        elif _JCS_INTEGER_FLOATS[0] <= abs(value) < _JCS_INTEGER_FLOATS[1]:
            problems.append(
                FieldProblem(
                    _pointer(path),
                    f"{value:.17g} is outside the I-JSON integer range ±(2**53-1) (RFC 8785 writes it as an integer)",
                )
            )
        return value
    if isinstance(value, _BadNumber):
        problems.append(FieldProblem(_pointer(path), f"{value.text} {value.reason}"))
        return None
    if depth >= MAX_DEPTH:
        problems.append(FieldProblem(_pointer(path), f"is nested more than {MAX_DEPTH} levels deep"))
        return None
    if isinstance(value, dict | _Pairs):
        members: Iterable[tuple[Any, Any]] = value.items() if isinstance(value, dict) else value
        out: dict[str, Any] = {}
        raw_keys: dict[str, str] = {}
        for key, item in members:
            if not isinstance(key, str):
                problems.append(FieldProblem(_pointer(path), f"has a key {key!r} that is not a string"))
                continue
            path.append(key)
            if controls:
                _control_problem(key, path, problems)
            name = key if key.isascii() else _clean_text(key, path, problems)
            path[-1] = name
            if name in out:
                if raw_keys.get(name, name) == key:
                    problems.append(FieldProblem(_pointer(path), f"duplicate key {key!r}"))
                else:
                    first = raw_keys.get(name, name)
                    problems.append(
                        FieldProblem(
                            _pointer(path),
                            f"duplicate key {key!a}: the same as {first!a} after Unicode NFC normalisation",
                        )
                    )
            elif name != key:
                raw_keys[name] = key
            out[name] = _clean(item, path, problems, depth + 1, controls)
            path.pop()
        return out
    if isinstance(value, list | tuple):
        items: list[Any] = []
        for index, item in enumerate(value):
            path.append(index)
            items.append(_clean(item, path, problems, depth + 1, controls))
            path.pop()
        return items
    problems.append(FieldProblem(_pointer(path), f"a {type(value).__name__} is not a JSON value"))
    return None


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list) and not isinstance(value, _Pairs):
        return "array"
    return "object"


def _show(value: object, limit: int = 60) -> str:
    """A short JSON rendering of a value for an error message."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------------------
# Parsing


def parse_credential(data: str | bytes | bytearray | memoryview, source: str | None = None) -> Credential:
    """Parse credential text as strict I-JSON and normalise its text to NFC.

    Rejected with :class:`CredentialParseError`: non-UTF-8 bytes, a byte order mark, invalid JSON, duplicate
    keys (also keys equal after NFC), NaN/Infinity, integers beyond ±(2**53-1), floats that overflow, lone
    surrogates (raw or escaped), nesting deeper than :data:`MAX_DEPTH`, more than
    :data:`MAX_CREDENTIAL_BYTES`, and a top level that is not an object. ``source`` (a file name, say)
    prefixes every message. The result is not validated: see :func:`validate_credential`.
    """
    where = f"{source}: " if source else ""
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if len(raw) > MAX_CREDENTIAL_BYTES:
            raise CredentialParseError(
                f"{where}credential is {len(raw)} bytes, more than the limit of {MAX_CREDENTIAL_BYTES}"
            )
        if raw.startswith(b"\xef\xbb\xbf"):
            raise CredentialParseError(f"{where}starts with a UTF-8 byte order mark; I-JSON text has none")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CredentialParseError(
                f"{where}not valid UTF-8: byte 0x{raw[error.start]:02x} at offset {error.start} ({error.reason})"
            ) from None
    elif isinstance(data, str):
        text = data
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_CREDENTIAL_BYTES:
            raise CredentialParseError(
                f"{where}credential is {size} bytes, more than the limit of {MAX_CREDENTIAL_BYTES}"
            )
        if text.startswith("\ufeff"):
            raise CredentialParseError(f"{where}starts with a byte order mark (U+FEFF); I-JSON text has none")
    else:
        raise TypeError(f"parse_credential takes str or bytes, not {type(data).__name__}")
    depth = _nesting_depth(text)
    if depth > MAX_DEPTH:
        raise CredentialParseError(f"{where}nested {depth} levels deep; at most {MAX_DEPTH} are allowed")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_Pairs,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as error:
        raise CredentialParseError(
            f"{where}not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise CredentialParseError(f"{where}nested too deeply to parse") from None
    if not isinstance(value, _Pairs):
        raise CredentialParseError(f"{where}the top level must be a JSON object, not {_json_type(value)}")
    problems: list[FieldProblem] = []
    credential: Credential = _clean(value, [], problems, 0)
    if problems:
        shown = "; ".join(str(problem) for problem in problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise CredentialParseError(f"{where}not strict I-JSON: {shown}{more}")
    return credential


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


# --------------------------------------------------------------------------------------------------------
# Validation


@cache
def _schema_text() -> str:
    return resources.files("anchor.credentials").joinpath("schemas", _SCHEMA_FILE).read_text(encoding="utf-8")


@cache
def _schema() -> dict[str, Any]:
    """The parsed schema, shared: read it, never change it (:func:`credential_schema` gives a copy)."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


def _inline_refs(node: Any, defs: Mapping[str, Any], active: tuple[str, ...] = ()) -> Any:
    """``node`` with every local ``$ref`` replaced by a copy of its target (siblings kept; clashes in allOf).

    Python jsonschema spends most of its time resolving references; the inlined schema validates ~3x faster.
    """
    if isinstance(node, list):
        return [_inline_refs(item, defs, active) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _inline_refs(value, defs, active) for key, value in node.items() if key not in ("$ref", "$defs")}
    ref = node.get("$ref")
    if ref is None:
        return out
    name = ref.removeprefix("#/$defs/")
    if name == ref or name not in defs or name in active:
        raise InvariantError(f"credential schema: cannot inline $ref {ref!r}")
    target: dict[str, Any] = _inline_refs(defs[name], defs, (*active, name))
    for key, value in out.items():
        if key in target and key != "description":
            target.setdefault("allOf", []).append({key: value})
        else:
            target[key] = value
    return target


@cache
def _fast_validator() -> jsonschema_rs.Validator:
    """The schema compiled by jsonschema-rs: answers valid or not, quickly, and starts in milliseconds.

    The shipped schema is checked against its metaschema by the tests, not at every start.
    """
    return jsonschema_rs.validator_for(_schema())


@cache
def _explaining_validator() -> Draft202012Validator:
    """The schema for the Python ``jsonschema`` library, whose errors carry what :func:`_describe` needs.

    Used only for a credential the fast validator found invalid, so valid credentials never import it.
    """
    from jsonschema import Draft202012Validator

    schema = _schema()
    return Draft202012Validator(_inline_refs(schema, schema.get("$defs", {})))


def _schema_problems(credential: Credential) -> list[FieldProblem]:
    """Every schema problem of a credential the fast validator rejected, described with its field.

    The fast engine is at least as strict as the Python one on the shipped schema (a property test), and
    stricter in two ways: a pattern's ``$`` does not match before a final line feed ("en\\n" is not a
    language code), and U+FEFF counts as white space. For those only the fast engine's errors exist; they
    are described by :func:`_describe_fast`, so a rejected credential is never let through.
    """
    problems = [problem for error in _explaining_validator().iter_errors(credential) for problem in _describe(error)]
    if problems:
        return problems
    return [_describe_fast(error) for error in _fast_validator().iter_errors(credential)]


def _describe_fast(error: jsonschema_rs.ValidationError) -> FieldProblem:
    """One jsonschema-rs error as a human problem: the field, what it must look like, what is wrong."""
    where = _pointer(error.instance_path)
    node: Any = _schema()
    for part in error.schema_path[:-1]:
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    title = node.get("title") if isinstance(node, dict) else None
    instance = error.instance
    if not (isinstance(instance, str) and error.schema_path and error.schema_path[-1] == "pattern" and title):
        return FieldProblem(where, error.message)
    hints = []
    if instance != instance.strip():
        hints.append("remove the white space at its start or end")
    if "\ufeff" in instance:
        hints.append("it contains U+FEFF, an invisible zero-width no-break space")
    return FieldProblem(where, f"{_show(instance)} is not {title}" + "".join(f"; {hint}" for hint in hints))


def credential_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``anchor-credential-v1``, as a fresh dict."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


def credential_context_document() -> dict[str, Any]:
    """The JSON-LD context document that :data:`EXTENSION_CONTEXT` names (anchor's extension terms)."""
    text = resources.files("anchor.credentials").joinpath("schemas", _CONTEXT_FILE).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


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


def _describe(error: ValidationError) -> list[FieldProblem]:
    """Turn one jsonschema error into human problems that name the field."""
    where = _pointer(error.absolute_path)
    keyword = error.validator
    expected = error.validator_value
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    title = schema.get("title")  # what a value must look like (on $defs)
    meaning = schema.get("description") or title  # what a field is for (on properties)
    if keyword == "required" and isinstance(instance, dict):
        properties = schema.get("properties", {})
        problems = []
        for name in expected:
            if name in instance:
                continue
            about = properties.get(name, {}).get("description")
            message = f"is missing (required: {about})" if about else "is missing"
            problems.append(FieldProblem(f"{where}/{_pointer([name])[1:]}", message))
        return problems
    if keyword == "additionalProperties" and isinstance(instance, dict):
        known = list(schema.get("properties", {}))
        problems = []
        for name in instance:
            if name in known:
                continue
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]!r}?" if close else " here"
            problems.append(FieldProblem(f"{where}/{_pointer([name])[1:]}", f"unknown property{hint}"))
        return problems
    if keyword == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else str(expected)
        shown = "" if isinstance(instance, dict | list) else " " + _show(instance)
        message = f"expected {wanted}, got {_json_type(instance)}{shown}"
    elif keyword == "const":
        message = f"must be {_show(expected)}, got {_show(instance)}"
    elif keyword == "enum":
        message = f"must be one of {', '.join(_show(item) for item in expected)}; got {_show(instance)}"
    elif keyword == "pattern":
        message = f"{_show(instance)} is not {title}" if title else f"{_show(instance)} does not match {expected}"
    elif keyword == "minLength":
        message = "must not be empty" if expected == 1 else f"must be at least {expected} characters long"
    elif keyword == "minItems":
        message = "must not be empty" if expected == 1 else f"must have at least {expected} items"
        message += f" ({meaning})" if meaning else ""
    elif keyword == "items" and expected is False:
        allowed = len(schema.get("prefixItems", []))
        message = f"has {len(instance) - allowed} unexpected extra item(s) after the first {allowed}"
        message += f" ({meaning})" if meaning else ""
    elif keyword == "uniqueItems":
        message = "has duplicate items"
    elif keyword == "contains":
        wanted_item = _show(expected["const"]) if "const" in expected else expected.get("title", "a matching item")
        message = f"must contain {wanted_item}"
    elif keyword == "minimum":
        message = f"{_show(instance)} is less than the minimum {expected}"
    elif keyword == "maximum":
        message = f"{_show(instance)} is greater than the maximum {expected}"
    elif keyword == "exclusiveMinimum":
        message = f"{_show(instance)} must be greater than {expected}"
    elif keyword == "exclusiveMaximum":
        message = f"{_show(instance)} must be less than {expected}"
    else:
        message = error.message
    return [FieldProblem(where, message)]


def lookup(credential: Mapping[str, Any], path: tuple[str | int, ...]) -> Any:
    """The value at ``path`` (keys and list positions), or None when any step is missing or of the wrong kind."""
    value: Any = credential
    for part in path:
        if isinstance(part, str) and isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(part, int) and isinstance(value, list) and 0 <= part < len(value):
            value = value[part]
        else:
            return None
    return value


def _to_datetime(text: str) -> datetime | None:
    """An RFC 3339 date-time with a timezone as an aware datetime; None if it is not one."""
    match = _DATETIME_RE.fullmatch(text)
    if match is None:
        return None
    base, fraction, zone = match.groups()
    micro = (fraction or "").ljust(6, "0")[:6]
    return datetime.fromisoformat(f"{base}.{micro}{'+00:00' if zone == 'Z' else zone}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _semantic_problems(credential: Credential) -> list[FieldProblem]:
    """The rules the schema cannot express; values of the wrong shape are left to the schema's report."""
    problems: list[FieldProblem] = []
    dates: dict[tuple[str, ...], datetime] = {}
    for path in _DATE_POINTERS:
        text = lookup(credential, path)
        if isinstance(text, str):
            try:
                moment = _to_datetime(text)
            except ValueError as error:
                problems.append(FieldProblem(_pointer(path), f"{_show(text)} is not a real date-time: {error}"))
                continue
            if moment is not None:
                dates[path] = moment
    start, end = dates.get(("validFrom",)), dates.get(("validUntil",))
    if start is not None and end is not None and end <= start:
        problems.append(FieldProblem("/validUntil", f"{end.isoformat()} is not after validFrom {start.isoformat()}"))
    start = dates.get(("credentialSubject", "activityStartDate"))
    end = dates.get(("credentialSubject", "activityEndDate"))
    if start is not None and end is not None and end < start:
        problems.append(
            FieldProblem(
                "/credentialSubject/activityEndDate",
                f"{end.isoformat()} is before activityStartDate {start.isoformat()}",
            )
        )

    country_path = ("issuer", "address", "addressCountryCode")
    country = lookup(credential, country_path)
    if isinstance(country, str) and re.fullmatch(r"[A-Z]{2}", country) and country not in _ISO_3166_ALPHA2:
        hint = _COUNTRY_HINTS.get(country, "no such code is assigned")
        problems.append(
            FieldProblem(_pointer(country_path), f"{_show(country)} is not an ISO 3166-1 alpha-2 code ({hint})")
        )

    achievement_path: tuple[str, ...] = ("credentialSubject", "achievement")
    ects = lookup(credential, (*achievement_path, "creditsAvailable"))
    hours = lookup(credential, (*achievement_path, "euMicroCredential", "workloadHours"))
    if _is_number(ects) and _is_number(hours) and ects > 0 and hours > 0:
        low, high = _HOURS_PER_ECTS[0] * ects, _HOURS_PER_ECTS[1] * ects
        if not low <= hours <= high:
            problems.append(
                FieldProblem(
                    _pointer((*achievement_path, "euMicroCredential", "workloadHours")),
                    f"{hours} hours does not fit {ects} ECTS"
                    f" (1 ECTS is 25-30 hours of work; expected {low:g}-{high:g})",
                )
            )
    earned = lookup(credential, ("credentialSubject", "creditsEarned"))
    if _is_number(ects) and _is_number(earned) and earned > ects:
        problems.append(
            FieldProblem("/credentialSubject/creditsEarned", f"{earned} is more than the {ects} ECTS available")
        )

    descriptions: dict[str, Mapping[str, Any]] = {}
    listed = lookup(credential, (*achievement_path, "resultDescription"))
    for index, item in enumerate(listed if isinstance(listed, list) else []):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            if item["id"] in descriptions:
                problems.append(
                    FieldProblem(
                        _pointer((*achievement_path, "resultDescription", index, "id")),
                        f"{_show(item['id'], 200)} is used by another resultDescription",
                    )
                )
            descriptions[item["id"]] = item
    results = lookup(credential, ("credentialSubject", "result"))
    for index, result in enumerate(results if isinstance(results, list) else []):
        if not isinstance(result, dict):
            continue
        reference = result.get("resultDescription")
        if not isinstance(reference, str):
            continue
        description = descriptions.get(reference)
        if description is None:
            problems.append(
                FieldProblem(
                    _pointer(("credentialSubject", "result", index, "resultDescription")),
                    f"{_show(reference, 200)} is not the id of any achievement resultDescription",
                )
            )
            continue
        allowed = description.get("allowedValue")
        value = result.get("value")
        if isinstance(allowed, list) and isinstance(value, str) and value not in allowed:
            problems.append(
                FieldProblem(
                    _pointer(("credentialSubject", "result", index, "value")),
                    f"{_show(value)} is not an allowedValue of {_show(reference, 200)}: "
                    + ", ".join(_show(item) for item in allowed),
                )
            )
    return problems


# --------------------------------------------------------------------------------------------------------
# Salt, canonical form, digest


def new_salt() -> str:
    """32 bytes from the operating system's CSPRNG, as 0x-prefixed lowercase hex."""
    return "0x" + secrets.token_bytes(SALT_BYTES).hex()


def _salt_hex(salt: str | bytes) -> str:
    if isinstance(salt, bytes):
        if len(salt) != SALT_BYTES:
            raise InvalidInputError(f"a salt is {SALT_BYTES} bytes, got {len(salt)}")
        return "0x" + salt.hex()
    if isinstance(salt, str) and _SALT_RE.fullmatch(salt.lower()):
        return salt.lower()
    raise InvalidInputError(f"a salt is 0x followed by 64 hex digits, got {_show(salt)}")


def with_salt(credential: Mapping[str, Any], salt: str | bytes | None = None, *, replace: bool = False) -> Credential:
    """A shallow copy of ``credential`` with ``anchorSalt`` set (a fresh random salt unless one is given).

    Refuses (:class:`InvalidInputError`) to overwrite an existing salt unless ``replace`` is true, since that
    changes the credential's digest. Nested objects are shared with the input, not copied.
    """
    if not isinstance(credential, Mapping):
        raise InvalidInputError(f"a credential is a JSON object, got {type(credential).__name__}")
    if SALT_KEY in credential and not replace:
        raise InvalidInputError(
            f"credential already has an {SALT_KEY}; replacing it changes its digest (pass replace=True to do so)"
        )
    salted = dict(credential)
    salted[SALT_KEY] = new_salt() if salt is None else _salt_hex(salt)
    return salted


def salt_bytes(credential: Mapping[str, Any]) -> bytes:
    """The credential's 32-byte salt; :class:`CredentialValidationError` if it has none or a malformed one."""
    value = credential.get(SALT_KEY)
    if value is None:
        raise CredentialValidationError(
            [FieldProblem(f"/{SALT_KEY}", "is missing: a credential is salted (with_salt) before it is hashed")]
        )
    if not isinstance(value, str) or not _SALT_RE.fullmatch(value):
        raise CredentialValidationError(
            [FieldProblem(f"/{SALT_KEY}", f"{_show(value)} is not 0x followed by 64 lowercase hex digits")]
        )
    return bytes.fromhex(value[2:])


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes of any JSON value, after the strict I-JSON checks and NFC normalisation.

    :class:`CredentialValidationError` names the path of anything that is not strict I-JSON.
    """
    # Fast path: rfc8785 itself refuses non-string keys, NaN/Infinity, integers beyond ±(2**53-1), lone
    # surrogates and non-JSON types; JCS text is NFC exactly when every key and string in it is (its
    # quotes are starters, so nothing composes across them); and a float that JCS writes as an integer
    # beyond the I-JSON range shows as a run of 16+ digits. Only when a check fails does the
    # path-tracking walk run, to report the problem or to normalise and serialise again.
    try:
        result: bytes = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeError, RecursionError):
        pass
    else:
        if (result.isascii() or unicodedata.is_normalized("NFC", result.decode("utf-8"))) and (
            _LONG_DIGITS_RE.search(result) is None
        ):
            return result
    problems: list[FieldProblem] = []
    clean = _clean(value, [], problems, 0)
    if problems:
        raise CredentialValidationError(problems)
    try:
        result = rfc8785.dumps(clean)
    except (rfc8785.CanonicalizationError, UnicodeError) as error:
        raise InvariantError(f"rfc8785 refused a value that passed the I-JSON checks: {error}") from error
    return result


def canonical_bytes(credential: Mapping[str, Any]) -> bytes:
    """The bytes that are hashed: JCS of the credential without the top-level :data:`EXCLUDED_KEYS`.

    Checks the format version (:class:`UnknownFormatError` for an unknown one) but not the schema.
    """
    if not isinstance(credential, Mapping):
        raise InvalidInputError(f"a credential is a JSON object, got {type(credential).__name__}")
    format_version(credential)
    return canonical_json({key: value for key, value in credential.items() if key not in EXCLUDED_KEYS})


def credential_digest(credential: Mapping[str, Any]) -> bytes:
    """``keccak256(canonical_bytes(credential))``, 32 bytes; the credential must be salted."""
    salt_bytes(credential)
    return bytes(sha3.keccak_256(canonical_bytes(credential)).digest())


# --------------------------------------------------------------------------------------------------------
# Accessors


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
    problem = f"{_show(text)} is not an RFC 3339 date-time with a timezone"
    if not isinstance(text, str):
        raise CredentialValidationError([FieldProblem(f"/{key}", problem)])
    try:
        moment = _to_datetime(text)
    except ValueError as error:
        raise CredentialValidationError([FieldProblem(f"/{key}", f"{problem}: {error}")]) from None
    if moment is None:
        raise CredentialValidationError([FieldProblem(f"/{key}", problem)])
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
