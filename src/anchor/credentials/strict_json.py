"""Strict JSON: parsing credential text as I-JSON (RFC 7493), and the walk that checks any JSON value.

Parsing is strict I-JSON: numbers must be exact in every JSON implementation, so integers beyond
±(2**53-1) are refused, and so are floats of magnitude in [2**53, 1e21), which RFC 8785 would write as
such integers; so are duplicate keys, NaN and Infinity, lone surrogates, a byte order mark and nesting
deeper than :data:`MAX_DEPTH`. Text is normalised to Unicode NFC on intake and again before hashing, so a
credential typed twice (once with precomposed, once with combining characters) has one digest.

One walk, :func:`_clean`, serves parsing, validation (which also refuses control characters in text other
than tab, line feed and carriage return) and the canonical form. Parsing skips it for the usual credential
(:func:`_parse_plain`: no duplicate keys, no forbidden numbers, NFC text), returning what the walk would.
"""

from __future__ import annotations

import json
import math
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from anchor.credentials.model import MAX_CREDENTIAL_BYTES, Credential, _pointer
from anchor.errors import CredentialParseError, FieldProblem

__all__ = ["I_JSON_MAX_INT", "MAX_DEPTH", "nesting_depth", "parse_credential", "parse_credential_floats"]

MAX_DEPTH: Final = 64
"""Deepest nesting of arrays and objects accepted."""
I_JSON_MAX_INT: Final = 2**53 - 1
# RFC 8785 writes a float of magnitude in [2**53, 1e21) as a bare integer token, which strict parsing
# refuses as beyond the I-JSON range; such floats are refused up front so every canonical form re-parses.
_JCS_INTEGER_FLOATS: Final = (float(2**53), 1e21)

_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")
#: C0 controls but tab, line feed and carriage return; DEL; C1 controls. Invisible in print and a means of
#: spoofing, they are refused in all text (which also keeps the two schema engines' ``\s`` in agreement).
_CONTROL_RE: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: What matters for nesting in JSON text: a string (to its closing quote, or to the end of the text when it
#: has none) or a bracket. The quantifiers are possessive and the closing quote optional, so a match never
#: fails once started and nothing is tried twice: one linear pass over any text. (A pattern that must find
#: the closing quote is retried from every later quote of an unterminated string of escaped quotes:
#: quadratic, minutes for 128 KiB.)
_NESTING_TOKEN_RE: Final = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?|[\[\]{}]', re.DOTALL)


class _Pairs(list[tuple[str, Any]]):
    """An object's members in document order, as the decoder saw them (duplicates kept)."""


@dataclass(frozen=True, slots=True)
class _BadNumber:
    """A number token the decoder met that I-JSON forbids; reported with its path by :func:`_clean`."""

    text: str
    reason: str


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in JSON text (brackets in strings not counted), or a bound.

    Returns the number of opening brackets instead when that is at most :data:`MAX_DEPTH`. One linear pass
    over ``text``, whatever it holds (unterminated strings included).

    Checked before ``json.loads``: its C decoder recurses per level, and in a process where a library has
    raised the recursion limit (py-evm sets 100000) deep input overflows the C stack instead of raising.
    """
    opening = text.count("[") + text.count("{")
    if opening <= MAX_DEPTH:  # the usual case: too few brackets to nest too deep, no scan needed
        return opening
    depth = deepest = 0
    for token in _NESTING_TOKEN_RE.finditer(text):
        char = text[token.start()]
        if char == '"':
            continue
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


class _NotPlainError(Exception):
    """Raised inside :func:`_parse_plain`'s decoder hooks: the text needs the full walk."""


def _plain_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise _NotPlainError  # a duplicate key
    return members


def _plain_int(text: str) -> int:
    value = _parse_int(text)
    if isinstance(value, _BadNumber):
        raise _NotPlainError
    return value


def _plain_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or _JCS_INTEGER_FLOATS[0] <= abs(value) < _JCS_INTEGER_FLOATS[1]:
        raise _NotPlainError
    return value


def _not_plain(text: str) -> Any:
    raise _NotPlainError


def _parse_plain(text: str, floats: list[float] | None = None) -> Credential | None:
    """The credential :func:`parse_credential` returns, without its walk; None when the walk must decide.

    The usual credential is a JSON object without duplicate keys or forbidden numbers whose text is NFC. The
    decoder's hooks refuse duplicate keys and every number the walk would refuse. A text then shows that
    every key and string is NFC without lone surrogates: the input text itself when it has no ``\\u``
    escape (its other escapes stand for ASCII characters), else ``json.dumps`` of the decoded value (where
    ``\\u0301`` counts as the mark it stands for). The quotes around each string are starters that compose
    with nothing, and the escapes stand for characters that compose with nothing either, so such a text is
    NFC only if every string in it is (an escape's letter that composes with a following mark makes the
    text not NFC: then the walk decides, which is merely slower). Keys equal after NFC are then equal keys,
    which the hook refuses. Anything else, including every error, is left to the walk, which reports it.
    ``floats``: when given, every float of the value is appended to it.
    """
    parse_float = _plain_float
    if floats is not None:
        found = floats

        def parse_float(text: str) -> float:
            value = _plain_float(text)
            found.append(value)
            return value

    try:
        value = json.loads(
            text,
            object_pairs_hook=_plain_object,
            parse_int=_plain_int,
            parse_float=parse_float,
            parse_constant=_not_plain,
        )
    except (_NotPlainError, ValueError, RecursionError):
        return None
    return _nfc_object(text, value)


def _nfc_object(text: str, value: Any) -> Credential | None:
    """``value`` (decoded from ``text``) when it is an object and its text is NFC without a lone surrogate, as
    the reference requires (the decoded value's text when a ``\\u`` escape may stand for anything); else None."""
    if type(value) is not dict:
        return None
    shown = text if "\\u" not in text else json.dumps(value, ensure_ascii=False)
    if shown.isascii():
        return value
    try:
        shown.encode("utf-8")  # refuses a lone surrogate
    except UnicodeEncodeError:
        return None
    return value if unicodedata.is_normalized("NFC", shown) else None


#: Every digit to "0", every other byte to "x": an integer beyond the I-JSON range shows as a run of 16 zeros.
_DIGITS_TO_ZERO: Final = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x78 for byte in range(256))
_SIXTEEN_DIGITS: Final = b"0" * 16
_compact_floats = threading.local()


def _collect_float(text: str) -> float:
    value = float(text)
    _compact_floats.found.append(value)
    return value


@cache
def _compact_decoder() -> Any:
    import msgspec.json

    return msgspec.json.Decoder(float_hook=_collect_float)


def _parse_compact(raw: bytes) -> tuple[Credential, list[float]] | None:
    """What :func:`parse_credential_floats` returns for ``raw``, through msgspec; None when the reference decides.

    msgspec's decoder is as strict as the standard library's about JSON (no NaN, no leading zeros, no raw
    controls in strings, no lone surrogates, escaped or not, UTF-8 only), but it keeps the last of duplicate
    keys. So the text is taken only when msgspec writes the value back exactly as the text is without its
    white space (``msgspec.json.format(raw, indent=-1)``, which keeps every member): then no object had a
    key twice, and every string and number is in msgspec's own form (strings escaped as ``json`` escapes
    them, as :func:`_parse_plain` reads them). The rest is :func:`_parse_plain`'s: no integer beyond
    ±(2**53-1) (it would show as 16 digits in a row; so may a string, which then goes to the reference),
    no float that strict parsing refuses, NFC text, few enough brackets, a JSON object, no byte order mark.
    """
    if len(raw) > MAX_CREDENTIAL_BYTES or raw.startswith(b"\xef\xbb\xbf"):
        return None
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
        return None
    import msgspec.json

    floats: list[float] = []
    _compact_floats.found = floats
    try:
        value = _compact_decoder().decode(raw)
        if type(value) is not dict or msgspec.json.format(raw, indent=-1) != (text := msgspec.json.encode(value)):
            return None
    except (msgspec.DecodeError, ValueError, TypeError, RecursionError):
        return None
    finally:
        _compact_floats.found = None
    if _SIXTEEN_DIGITS in text.translate(_DIGITS_TO_ZERO):
        return None
    for number in floats:
        if not math.isfinite(number) or _JCS_INTEGER_FLOATS[0] <= abs(number) < _JCS_INTEGER_FLOATS[1]:
            return None
    if not text.isascii() and not unicodedata.is_normalized("NFC", text.decode("utf-8")):
        return None
    return value, floats


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


def parse_credential(data: str | bytes | bytearray | memoryview, source: str | None = None) -> Credential:
    """Parse credential text as strict I-JSON and normalise its text to NFC.

    Rejected with :class:`CredentialParseError`: non-UTF-8 bytes, a byte order mark, invalid JSON, duplicate
    keys (also keys equal after NFC), NaN/Infinity, integers beyond ±(2**53-1), floats that overflow, lone
    surrogates (raw or escaped), nesting deeper than :data:`MAX_DEPTH`, more than
    :data:`MAX_CREDENTIAL_BYTES`, and a top level that is not an object. ``source`` (a file name, say)
    prefixes every message. The result is not validated: see :func:`validate_credential`.
    """
    return _parse_reference(data, source)[0]


def parse_credential_floats(
    data: str | bytes | bytearray | memoryview, source: str | None = None
) -> tuple[Credential, list[float] | None]:
    """:func:`parse_credential`, and every float of the credential (None: not known, when the walk decided).

    For the issuer's intake, which writes the stored document with msgspec when msgspec writes each float as
    ``repr`` does. Bytes are first tried by :func:`_parse_compact` (msgspec's C decoder), which returns what
    :func:`parse_credential` would, or leaves the text to it. :func:`parse_credential` itself never imports
    msgspec: a verifier, whose start-up time matters, does not load it.
    """
    if type(data) is bytes:
        compact = _parse_compact(data)
        if compact is not None:
            return compact
    return _parse_reference(data, source)


def _parse_reference(
    data: str | bytes | bytearray | memoryview, source: str | None
) -> tuple[Credential, list[float] | None]:
    """:func:`parse_credential` with the floats of :func:`parse_credential_floats`."""
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
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise CredentialParseError(f"{where}nested {depth} levels deep; at most {MAX_DEPTH} are allowed")
    floats: list[float] = []
    fast = _parse_plain(text, floats)
    if fast is not None:
        return fast, floats
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
    return credential, None
