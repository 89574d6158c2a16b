"""The strict parser's fast path (no walk for plain credentials) returns exactly what the walk returns.

``parse_credential`` first tries the decoder with refusing hooks and one NFC check of a whole text; anything
unusual goes to the walk. For every text, the fast parser and the walk alone must give the same value (the
same types too) or the same error message: duplicate keys (also after NFC), decomposed text raw and
escaped, lone surrogates, escapes next to combining marks, forbidden numbers, a top level that is no object.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anchor.credentials import strict_json
from anchor.credentials.examples import generate_credentials
from anchor.errors import CredentialParseError

PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Letters with precomposed and decomposed forms, combining marks, escape letters, Hangul jamo, surrogates.
ALPHABET = (
    'aenbfrtuAE"\\/\u00e9\u00c5\u0301\u0308\u030a\u0327\u0307\u1100\u1161\u11a8\uac00\u2028\x7f\x01\n\ud800\udc00'
)
texts = st.text(alphabet=st.sampled_from(ALPHABET), max_size=6)
numbers = st.integers(-(2**60), 2**60) | st.floats(allow_nan=False) | st.sampled_from([2.0**53, 1e21, -0.0, 5.0])
values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=12,
)


def walk_only(text: str | bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Any]:
    with monkeypatch.context() as patched:
        patched.setattr(strict_json, "_parse_plain", lambda text, floats=None: None)
        return outcome(text)


def outcome(text: str | bytes) -> tuple[str, Any]:
    try:
        value = strict_json.parse_credential(text)
    except CredentialParseError as error:
        return "refused", str(error)
    return "parsed", (value, typed(value))


def typed(value: Any) -> Any:
    """The value's structure with the type of every leaf, so that 1 and 1.0, True and 1 differ."""
    if isinstance(value, dict):
        return [(type(value).__name__, key, typed(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [typed(item) for item in value]
    return type(value).__name__


def encodings(value: dict[str, Any]) -> list[str]:
    """The value as JSON text, raw and escaped, with and without spaces (lone surrogates only escaped)."""
    found = [json.dumps(value, ensure_ascii=True, allow_nan=True), json.dumps(value, ensure_ascii=True, indent=1)]
    raw = json.dumps(value, ensure_ascii=False, allow_nan=True)
    return [*found, raw]


@PROPERTY
@given(st.dictionaries(texts, values, max_size=4), st.lists(st.tuples(texts, values), max_size=2))
def test_the_fast_path_and_the_walk_agree(value: dict[str, Any], duplicates: list[tuple[str, Any]]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for text in encodings(value):
            if duplicates:  # the same key twice, as JSON text can have it
                extra = ",".join(f"{json.dumps(key)}:{json.dumps(item)}" for key, item in duplicates)
                text = text[:-1] + ("," if len(text) > 2 else "") + extra + "}"
            assert outcome(text) == walk_only(text, monkeypatch)
            try:
                data = text.encode("utf-8")
            except UnicodeEncodeError:
                continue
            assert outcome(data) == walk_only(data, monkeypatch)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": "e\u0301"}',
        '{"a": "e\\u0301"}',
        '{"e\u0301": 1, "\u00e9": 2}',
        '{"e\\u0301": 1, "\\u00e9": 2}',
        '{"a": "\\n\u0301"}',
        '{"a": "\\b\u0307"}',
        '{"a": "\\ud800"}',
        '{"a": "\ud800"}',
        '{"a": 1, "a": 1}',
        '{"a": 9007199254740992}',
        '{"a": 9007199254740992.0}',
        '{"a": 1e400}',
        '{"a": NaN}',
        '{"a": -Infinity}',
        '["a"]',
        '{"a": "\u1100\u1161"}',
        '{"a": "\\u1100\\u1161"}',
        '{"C:\\\\u0301": "x"}',
    ],
)
def test_odd_texts_give_what_the_walk_gives(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert outcome(text) == walk_only(text, monkeypatch)
    if "\ud800" not in text:
        assert outcome(text.encode()) == walk_only(text.encode(), monkeypatch)


def test_ordinary_credentials_take_the_fast_path() -> None:
    for credential in generate_credentials(8, seed=3):
        for text in (json.dumps(credential), json.dumps(credential, ensure_ascii=False, indent=2)):
            assert strict_json._parse_plain(text) == credential
