"""RFC 8785 (JCS) at C speed: exactly the bytes of ``rfc8785.dumps``, which stays the reference.

:func:`dumps` serialises with the standard library's C JSON encoder (sorted keys, no spaces, no ASCII
escaping) when that provably gives the JCS bytes, and hands the value to ``rfc8785`` otherwise, so every
value has the reference's result or the reference's exception. Where the two encoders agree and differ:

- strings: both escape exactly ``"``, ``\\`` and the controls below U+0020 (``\\b \\f \\n \\r \\t``, the others
  as ``\\u00xx`` in lowercase hex) and write everything else as UTF-8, U+007F and U+2028/U+2029 included;
  a lone surrogate makes the UTF-8 encoding fail, and then ``rfc8785`` refuses it;
- integers and ``true``/``false``/``null``: the same text; an integer beyond ±(2**53-1), which JCS refuses,
  is left to ``rfc8785``;
- keys: the C encoder sorts by code point, JCS by UTF-16 code unit. The orders differ only for characters
  beyond U+FFFF (surrogate pairs sort below U+E000-U+FFFF), so an object with such a key goes to
  ``rfc8785``; so does a key that is not a string (the C encoder would write ``1`` as ``"1"``);
- floats: the C encoder writes ``repr``, JCS the ECMAScript form (``5`` not ``5.0``, ``0`` for ``-0.0``,
  ``0.000001`` not ``1e-06``, ``1e-7`` not ``1e-07``). Each float whose two forms differ is rewritten in the
  text, by :func:`number` (the reference's algorithm), where its ``repr`` stands between a ``[``, ``:`` or
  ``,`` and a ``,``, ``]`` or ``}``: every float token does, and the rewrite happens only if exactly as many
  places match as the value holds such floats (a string that happens to contain ``:5.0,`` sends the value to
  ``rfc8785`` instead of being changed);
- anything else (subclasses of the JSON types, tuples, other objects, cycles): ``rfc8785`` decides.

One pass over the value (in Python, but touching containers and keys only) finds the keys, integers and
floats that matter; the serialisation itself is the C encoder's.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Final

import rfc8785

__all__ = ["dumps", "dumps_issuer", "msgspec_float", "number"]

_MAX_INT: Final = 2**53 - 1
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))
_BEYOND_BMP: Final = re.compile("[\U00010000-\U0010ffff]")
#: The lead bytes of 4-byte UTF-8 sequences (U+10000 and up), each searched for by itself (memchr speed).
_FOUR_BYTE_LEADS: Final = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")


def dumps(value: Any) -> bytes:
    """The RFC 8785 bytes of ``value``: ``rfc8785.dumps(value)``, the same bytes or the same exception."""
    fast = _fast(value)
    return fast if fast is not None else rfc8785.dumps(value)


def dumps_issuer(value: Any, floats: list[float] | None = None) -> bytes:
    """:func:`dumps` for the issuer's intake: the same bytes or the same exception, through msgspec's C encoder.

    ``msgspec.json.encode(value, order="sorted")`` is the JCS text of a value of plain JSON types with string
    keys and I-JSON integers when no key is beyond the BMP (msgspec sorts keys by code point, which is the
    UTF-16 order within the BMP) and every float in it is written by msgspec as JCS writes it (``1.5``: yes;
    ``5.0``, ``1e-7``: JCS writes ``5``, ``1e-7``, msgspec ``5.0``, ``1e-07``): its strings are escaped as the C
    encoder's (see the module doc) and a lone surrogate makes it raise (then ``rfc8785`` refuses it).

    ``floats``: every float in ``value``, when the caller knows the value is what strict parsing returned
    (:func:`anchor.credentials.strict_json.parse_credential_floats`: plain JSON types, I-JSON integers), or
    a part of such a value (then a superset of its floats will do). Otherwise (None) the walk of :func:`dumps`
    checks the types and integers and finds the floats. A key beyond the BMP is seen in the bytes (a 4-byte
    UTF-8 sequence): then :func:`dumps` decides. Any value the conditions do not cover goes the way of
    :func:`dumps`. msgspec is imported here, not at module import: a verifier, whose start-up time matters,
    never calls this.
    """
    kind = type(value)
    if kind is not dict and kind is not list:
        return dumps(value)
    if floats is None:
        floats = []
        if not _plain(value, floats):
            return dumps(value)
    if not all(msgspec_float(item) == number(item) for item in floats):
        return dumps(value)
    import msgspec.json

    try:
        text = msgspec.json.encode(value, order="sorted")
    except (TypeError, ValueError, RecursionError):  # a lone surrogate, say: the reference refuses it
        return dumps(value)
    if any(lead in text for lead in _FOUR_BYTE_LEADS):  # a character beyond the BMP, maybe in a key
        return dumps(value)
    return text


def msgspec_float(value: float) -> str:
    """How ``msgspec.json.encode`` writes a float (memoised: a batch's floats are few distinct values).

    Issuer side only (it imports msgspec). Zero is not memoised: ``0.0`` and ``-0.0`` are one key of a dict.
    """
    text = _MSGSPEC_FLOATS.get(value) if value else None
    if text is None:
        import msgspec.json

        text = msgspec.json.encode(value).decode()
        if value and value == value and len(_MSGSPEC_FLOATS) < _MSGSPEC_FLOATS_KEPT:
            _MSGSPEC_FLOATS[value] = text
    return text


_MSGSPEC_FLOATS_KEPT: Final = 4096
_MSGSPEC_FLOATS: dict[float, str] = {}


def number(value: float) -> str:
    """A finite float as JCS writes it (ECMAScript ``Number.prototype.toString``), as ``rfc8785`` does."""
    if value == 0:
        return "0"
    if value < 0:
        return "-" + number(-value)
    text = repr(value)  # the shortest digits that round-trip, as ECMAScript's
    mantissa, _, exponent_text = text.partition("e")
    exponent = int(exponent_text) if exponent_text else 0
    first, _, last = mantissa.partition(".")
    if last == "0":
        last = ""
    if 0 < exponent < 21:  # written out as an integer
        digits = first + last
        return digits + "0" * (exponent + 1 - len(digits))
    if -7 < exponent < 0:  # written out as 0.000ddd
        return "0." + "0" * (-exponent - 1) + first + last
    if exponent:
        shown = f"e{'-' if exponent < 0 else '+'}{abs(exponent)}"
        return f"{first}.{last}{shown}" if last else f"{first}{shown}"
    return f"{first}.{last}" if last else first


def _fast(value: Any) -> bytes | None:
    """The JCS bytes through the C encoder, or None when only ``rfc8785`` may decide (see the module doc)."""
    kind = type(value)
    if kind is not dict and kind is not list:
        return None  # a bare scalar: rare, left to the reference
    floats: list[float] = []
    if not _plain(value, floats):
        return None
    try:
        text = _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError):
        return None
    if floats:
        rewritten = _rewrite_floats(text, floats)
        if rewritten is None:
            return None
        text = rewritten
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the reference refuses it
        return None


def _plain(value: dict[str, Any] | list[Any], floats: list[float]) -> bool:
    """Whether the C encoder's text is JCS up to the floats (collected in ``floats``): see the module doc."""
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            for key in node:
                if type(key) is not str or (not key.isascii() and _BEYOND_BMP.search(key)):
                    return False
            items = node.values()
        else:
            items = node
        for item in items:
            kind = type(item)
            if kind is str or item is None or kind is bool:
                continue
            if kind is int:
                if not -_MAX_INT <= item <= _MAX_INT:
                    return False
            elif kind is float:
                floats.append(item)
            elif kind is dict or kind is list:
                stack.append(item)
            else:
                return False
    return True


def _rewrite_floats(text: str, floats: list[float]) -> str | None:
    """``text`` with each float token written as JCS writes it, or None if the tokens are not unambiguous."""
    wanted: Counter[str] = Counter()
    forms: dict[str, str] = {}
    for value in floats:  # finite: the C encoder refused NaN and infinities
        shown = repr(value)
        jcs = forms.get(shown)
        if jcs is None:
            jcs = forms[shown] = number(value)
        if jcs != shown:
            wanted[shown] += 1
    if not wanted:
        return text
    # Every place a float's repr stands between separators: each float token does, and so may text inside a
    # string; a repr holds no separator, so no two such places overlap.
    places: list[tuple[int, int, str]] = []
    for shown in wanted:
        at = text.find(shown)
        while at != -1:
            end = at + len(shown)
            if text[at - 1] in "[:," and text[end : end + 1] in (",", "]", "}"):
                places.append((at, end, forms[shown]))
            at = text.find(shown, at + 1)
    if len(places) != sum(wanted.values()):
        return None
    places.sort()
    pieces: list[str] = []
    done = 0
    for at, end, jcs in places:
        pieces += (text[done:at], jcs)
        done = end
    pieces.append(text[done:])
    return "".join(pieces)
