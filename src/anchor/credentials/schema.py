"""The credential's JSON Schema and its two engines: jsonschema-rs decides, Python jsonschema explains.

A credential is schema-valid only if jsonschema-rs says so. It compiles the schema in milliseconds and
matches its patterns as ECMA-262 regular expressions: ``$`` does not match before a final line feed, and
U+FEFF counts as white space. Python ``jsonschema``, whose errors carry what it takes to name the field and
say what is wrong, is imported only to explain a credential the fast engine rejected, so checking a valid
credential never loads it (start-up time). The schema and the JSON-LD context document ship as package data
in ``schemas/``.
"""

from __future__ import annotations

import itertools
import json
import sys
import types
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Final, cast

from anchor.credentials.jsonld import context_document
from anchor.credentials.model import EXTENSION_CONTEXT, Credential, _pointer, _show
from anchor.credentials.strict_json import _json_type
from anchor.errors import FieldProblem, InvariantError
from anchor.files import package_data

if TYPE_CHECKING:
    import jsonschema_rs
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = ["credential_context_document", "credential_schema"]

#: Schema problems described for one credential; a credential with more is told that there are more.
MAX_DESCRIBED: Final = 100
#: JSON values (objects, arrays, strings, numbers...) of a credential whose schema problems are described one by
#: one: both engines' work (and jsonschema-rs's messages, which quote whole values) grows with the values they
#: walk, seconds for a 1 MiB list of small items. A real credential holds a few hundred.
MAX_EXPLAINED_VALUES: Final = 10_000
_SCHEMA_FILE: Final = "anchor-credential-v1.schema.json"


@cache
def _schema_text() -> str:
    # package_data, not importlib.resources or pkgutil: the same data, without importing tempfile, shutil, zipfile
    # (a one-receipt `anchor verify` starts faster)
    data = package_data("anchor.credentials", f"schemas/{_SCHEMA_FILE}")
    if data is None:
        raise InvariantError(f"the package data schemas/{_SCHEMA_FILE} of anchor.credentials cannot be read")
    return data.decode("utf-8")


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
    _import_jsonschema_rs()
    import jsonschema_rs  # imported by then, without the email package

    return jsonschema_rs.validator_for(_schema())


_DAYS: Final = ("Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,")
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _utc_date(data: str) -> datetime | None:
    """``email.utils.parsedate_to_datetime(data)`` for the one form ``Tue, 27 Oct 2026 10:17:51 +0000`` (a UTC
    date as jsonschema-rs records its build time), None for any other text (the real function's)."""
    parts = data.split(" ")
    if len(parts) != 6 or parts[0] not in _DAYS or parts[2] not in _MONTHS or parts[5] != "+0000":
        return None
    day, year, clock = parts[1], parts[3], parts[4].split(":")
    numbers = [day, year, *clock]
    if len(clock) != 3 or not all(n.isascii() and n.isdigit() for n in numbers):
        return None
    if len(year) != 4 or year[0] == "0" or len(day) > 2 or any(len(n) != 2 for n in clock):
        return None  # (the real function moves a year below 100 into 1969-2068)
    try:
        hour, minute, second = (int(n) for n in clock)
        return datetime(int(year), _MONTHS.index(parts[2]) + 1, int(day), hour, minute, second, tzinfo=UTC)
    except ValueError:  # an impossible date: the real function's answer (an error)
        return None


def _import_jsonschema_rs() -> None:
    """Import jsonschema-rs without :mod:`email.utils` (a tenth of a one-receipt ``anchor verify``).

    Its extension imports ``email.utils`` when it loads for one thing: ``parsedate_to_datetime`` of its own
    build time (``jsonschema_rs.jsonschema_rs.__build__``), an RFC 2822 date in UTC such as ``Tue, 27 Oct 2026
    10:17:51 +0000``. While it loads, ``email.utils`` is a stand-in module whose function reads that form
    (the same datetime as the real one) and hands any other text to the real function; the stand-in is gone
    from :data:`sys.modules` before this returns, so whoever imports ``email.utils`` later gets the real one.
    """
    if "jsonschema_rs.jsonschema_rs" in sys.modules or "email.utils" in sys.modules:
        return  # nothing to save: loaded, or email.utils is
    stand_in = _email_utils_stand_in()
    sys.modules["email.utils"] = stand_in
    try:
        import jsonschema_rs  # noqa: F401
    finally:
        if sys.modules.get("email.utils") is stand_in:
            del sys.modules["email.utils"]


def _email_utils_stand_in() -> types.ModuleType:
    """A module for ``sys.modules["email.utils"]`` while jsonschema-rs loads: :func:`_utc_date` for its build
    date; any other date, or any other name asked of it, removes the stand-in and is the real module's."""
    stand_in = types.ModuleType("email.utils")

    def real_module() -> types.ModuleType:
        if sys.modules.get("email.utils") is stand_in:
            del sys.modules["email.utils"]
        import email.utils

        return email.utils

    def parsedate_to_datetime(data: str) -> datetime:
        parsed = _utc_date(data)
        return parsed if parsed is not None else cast(datetime, real_module().parsedate_to_datetime(data))

    stand_in.parsedate_to_datetime = parsedate_to_datetime  # type: ignore[attr-defined]
    stand_in.__getattr__ = lambda name: getattr(real_module(), name)  # type: ignore[method-assign]
    return stand_in


@cache
def _explaining_validator() -> Draft202012Validator:
    """The schema for the Python ``jsonschema`` library, whose errors carry what :func:`_describe` needs.

    Used only for a credential the fast validator found invalid, so valid credentials never import it. Its
    ``uniqueItems`` is :func:`_unique_items` (linear): the library's own compares every pair of items that do
    not sort (objects, or numbers mixed with strings), which an attacker turns into hours of work.
    """
    from jsonschema import Draft202012Validator, validators

    schema = _schema()
    explaining = validators.extend(Draft202012Validator, {"uniqueItems": _unique_items})
    validator: Draft202012Validator = explaining(_inline_refs(schema, schema.get("$defs", {})))
    return validator


def _unique_items(validator: Any, unique: object, instance: object, schema: object) -> Iterator[ValidationError]:
    """``uniqueItems`` in one pass: each item's :func:`_equality_key` goes into a set."""
    from jsonschema.exceptions import ValidationError

    if not (unique and validator.is_type(instance, "array")):
        return
    seen: set[object] = set()
    for item in cast(list[Any], instance):
        key = _equality_key(item)
        if key in seen:
            yield ValidationError(f"{_show(instance)} has non-unique elements")
            return
        seen.add(key)


def _equality_key(value: Any) -> object:
    """A hashable stand-in for a JSON value, equal for values JSON Schema calls equal.

    Numbers compare by value (1 equals 1.0), booleans are not numbers, object keys are unordered: the same
    equality as ``jsonschema``'s. Values come from strict parsing: at most :data:`MAX_DEPTH` levels deep.
    """
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(_equality_key(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((key, _equality_key(item)) for key, item in value.items()))
    return ("other", repr(value))


def _schema_problems(credential: Credential) -> list[FieldProblem]:
    """The schema problems of a credential the fast validator rejected (at most about :data:`MAX_DESCRIBED`).

    The fast engine is at least as strict as the Python one on the shipped schema (a property test), and
    stricter in two ways: a pattern's ``$`` does not match before a final line feed ("en\\n" is not a
    language code), and U+FEFF counts as white space. For those only the fast engine's errors exist; they
    are described by :func:`_describe_fast`, so a rejected credential is never let through. A credential of
    more than :data:`MAX_EXPLAINED_VALUES` values gets one problem saying so (:func:`_oversized`).
    """
    oversized = _oversized(credential)
    if oversized is not None:
        return [oversized]
    problems: list[FieldProblem] = []
    for error in _explaining_validator().iter_errors(credential):
        problems.extend(_describe(error))
        if len(problems) >= MAX_DESCRIBED:
            problems.append(FieldProblem("", f"more problems not listed (the first {MAX_DESCRIBED} are)"))
            return problems
    if problems:
        return problems
    return [
        _describe_fast(error) for error in itertools.islice(_fast_validator().iter_errors(credential), MAX_DESCRIBED)
    ]


def _oversized(credential: Credential) -> FieldProblem | None:
    """A problem naming the longest list if ``credential`` holds more than :data:`MAX_EXPLAINED_VALUES` values."""
    count = 0
    stack: list[Any] = [credential]
    while stack and count <= MAX_EXPLAINED_VALUES:
        value = stack.pop()
        count += 1
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    if count <= MAX_EXPLAINED_VALUES:
        return None
    # one more walk, of the non-empty containers only, for the longest list; a path is (parent's path, key)
    size, at = 0, None
    containers: list[tuple[Any, Any]] = [(None, credential)]
    while containers:
        where, value = containers.pop()
        members = value.items() if isinstance(value, dict) else enumerate(value)
        if isinstance(value, list) and len(value) > size:
            size, at = len(value), where
        containers.extend(((where, key), item) for key, item in members if item and isinstance(item, dict | list))
    path: list[str | int] = []
    while at is not None:
        at, key = at
        path.insert(0, key)
    message = (
        f"the credential holds more than {MAX_EXPLAINED_VALUES} JSON values, too many to describe its schema problems"
    )
    return FieldProblem(_pointer(path), f"has {size} items; {message}" if size else message)


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
    """The JSON Schema (draft 2020-12) of ``anchor-credential-v1`` and ``-v2``, as a fresh dict."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


def credential_context_document() -> dict[str, Any]:
    """The JSON-LD context document that :data:`EXTENSION_CONTEXT` names (anchor's extension terms)."""
    return context_document(EXTENSION_CONTEXT)


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
        unknown = [name for name in instance if name not in known]
        for name in unknown[:MAX_DESCRIBED]:
            import difflib  # only to explain an invalid credential

            close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]!r}?" if close else " here"
            problems.append(FieldProblem(f"{where}/{_pointer([name])[1:]}", f"unknown property{hint}"))
        if len(unknown) > MAX_DESCRIBED:
            problems.append(FieldProblem(where, f"has {len(unknown) - MAX_DESCRIBED} more unknown properties"))
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
    elif keyword == "maxLength":
        message = f"is {len(instance)} characters long; at most {expected} are allowed"
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
