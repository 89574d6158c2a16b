"""The fast RFC 8785 canonicalizer (:mod:`anchor.credentials.jcs`) against the reference, ``rfc8785``.

For every value both give the same bytes or both refuse: credentials of every example issuer with mutations,
and adversarial values (keys that sort differently by UTF-16 code unit and by code point, U+2028, controls,
lone surrogates, floats of every size, integers at the I-JSON limits). The fast path must also really be
taken for ordinary credentials, or the comparison would only test the reference against itself.
"""

from __future__ import annotations

import copy
import json
import math
import struct
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from anchor.credentials import canonical_json, jcs, parse_credential
from anchor.credentials.examples import ISSUERS, generate_credentials
from anchor.credentials.model import FORMAT_V2

PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters where the encoders could part: escapes, controls, DEL and C1, line/paragraph separators,
# quotes, the top of the BMP (U+E000-U+FFFF sorts above surrogate pairs in UTF-16, below them by code point),
# astral characters, and lone surrogates (which both must refuse).
TRICKY = (
    '"\\/\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x1f\x7f\x80\x9f\u00a0\u00e9\u2028\u2029\ud7ff'
    "\ue000\uf8ff\ufb01\ufeff\uffef\uffff\U00010000\U0001f600\U0001f469\U0010ffff"
)
keys = st.text(alphabet=st.sampled_from(TRICKY + "aZ09:,[]{}.e-"), max_size=4) | st.text(max_size=6)
surrogate_text = st.text(alphabet=st.sampled_from("ab\ud800\udbff\udc00\udfff"), min_size=1, max_size=3)
integers = st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | st.sampled_from(
    [2**53 - 1, -(2**53) + 1, 2**53, -(2**53), 2**53 + 1, 10**16, 0, -1]
)
EDGE_FLOATS = [0.0, -0.0, 5.0, -5.0, 0.1, 1e-6, 1e-7, 1e-5, 5e-324, -5e-324, 1e20, 1e21, 9.999999999999999e20]
EDGE_FLOATS += [1.7976931348623157e308, 2.0**53, 2.0**53 - 1, 1234567890123456.0, 1e16, 123456789012345680.0]
floats = st.floats() | st.sampled_from([*EDGE_FLOATS, float("nan"), float("inf"), float("-inf")])
scalars = st.none() | st.booleans() | integers | floats | st.text(max_size=8) | keys
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4) | st.tuples(children, children)
    ),
    max_leaves=20,
)


def outcome(dumps: Callable[[Any], bytes], value: Any) -> tuple[str, Any]:
    """What a canonicalizer makes of a value: its bytes, or the type of what it raised."""
    try:
        return "bytes", dumps(value)
    except (ValueError, TypeError, RecursionError) as error:  # CanonicalizationError is a ValueError
        return "refused", type(error)


def assert_same(value: Any) -> None:
    assert outcome(jcs.dumps, value) == outcome(rfc8785.dumps, value)


# ------------------------------------------------------------------------------------------------ strings


def test_every_code_point_is_written_as_the_reference_writes_it() -> None:
    for start in range(0, 0x110000, 0x4000):
        chars = [chr(code) for code in range(start, min(start + 0x4000, 0x110000)) if not 0xD800 <= code <= 0xDFFF]
        assert_same({"k": "".join(chars), "".join(chars[:64]): [chars[0], chars[-1]]})


def test_keys_sort_by_utf16_code_units_not_by_code_points() -> None:
    value = {"\ue000": 1, "\U0001f600": 2, "\uffff": 3, "a": 4}
    expected = rfc8785.dumps(value)
    assert jcs.dumps(value) == expected
    assert expected.index("\U0001f600".encode()) < expected.index("\ue000".encode())  # UTF-16: D83D < E000
    assert json.dumps(value, sort_keys=True, ensure_ascii=False).encode() != expected.replace(b",", b", ").replace(
        b":", b": "
    )


def test_lone_surrogates_and_non_string_keys_are_refused_as_the_reference_refuses_them() -> None:
    for value in ({"a": "\ud800"}, {"\udfff": 1}, {1: "a"}, {None: 1}, {True: 1}, [{"a": {2.5: 1}}]):
        assert outcome(jcs.dumps, value)[0] == "refused"
        assert_same(value)


# ------------------------------------------------------------------------------------------------ numbers


@PROPERTY
@given(st.floats(allow_nan=False, allow_infinity=False))
@example(5e-324)
@example(-0.0)
@example(1e21)
@example(1e-7)
@example(1e-6)
@example(123456789012345680.0)
def test_floats_are_written_as_ecmascript_writes_them(value: float) -> None:
    assert jcs.number(value) == rfc8785.dumps(value).decode()
    assert_same([value, {"x": value, "y": [value, -value]}])


def test_floats_from_random_bit_patterns() -> None:
    seeds = [struct.unpack("<d", struct.pack("<Q", (n * 0x9E3779B97F4A7C15) % 2**64))[0] for n in range(20_000)]
    finite = [value for value in seeds if math.isfinite(value)]
    assert [jcs.number(value) for value in finite] == [rfc8785.dumps(value).decode() for value in finite]
    assert_same(finite[:2000])


def test_a_string_that_looks_like_a_float_token_is_never_rewritten() -> None:
    for value in (
        {"a": 5.0, "b": ":5.0,"},
        {"a": [1e-7], "b": "[1e-07]"},
        {"a": -0.0, "b": "x,-0.0}"},
        {":5.0,": 5.0},
        [5.0, 5.0, 5.0, "5.0", ",5.0]"],
    ):
        assert_same(value)


def test_integers_at_and_beyond_the_i_json_limit() -> None:
    for number in (2**53 - 1, -(2**53) + 1, 2**53, -(2**53), 10**30):
        assert_same({"n": number})
        assert_same([number])


# ------------------------------------------------------------------------------------------------ properties


@PROPERTY
@given(values)
def test_any_value_gives_the_reference_bytes_or_the_reference_refusal(value: Any) -> None:
    assert_same(value)


def example_credentials() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for n, issuer in enumerate(ISSUERS):
        found += generate_credentials(2, seed=n, issuer=issuer)
        found += generate_credentials(1, seed=n, issuer=issuer, credential_format=FORMAT_V2)
    return found


EXAMPLES = example_credentials()


def containers(value: Any) -> list[Any]:
    """Every object and array inside ``value``, itself included."""
    found: list[Any] = [value] if isinstance(value, dict | list) else []
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        found += containers(child)
    return found


@PROPERTY
@given(st.sampled_from(range(len(EXAMPLES))), st.lists(st.tuples(st.integers(0, 10**6), keys, values), max_size=4))
def test_mutated_credentials_give_the_reference_bytes(which: int, mutations: list[tuple[int, str, Any]]) -> None:
    credential = copy.deepcopy(EXAMPLES[which])
    for where, key, value in mutations:
        places = containers(credential)
        place = places[where % len(places)]
        if isinstance(place, dict):
            place[key] = value
        else:
            place.insert(where % (len(place) + 1), value)
    assert_same(credential)


# ------------------------------------------------------------------------------------------------ the fast path


def test_the_fast_path_serves_ordinary_credentials_with_and_without_floats() -> None:
    for credential in EXAMPLES:
        clean = parse_credential(json.dumps(credential))
        assert jcs._fast(clean) == rfc8785.dumps(clean)
        clean["credentialSubject"]["creditsEarned"] = 2.5
        clean["extra"] = [5.0, -0.0, 1e-6, 1e-7, 0.1, "\u2028\x7f"]
        assert jcs._fast(clean) == rfc8785.dumps(clean)
        assert canonical_json(clean) == rfc8785.dumps(clean)


@pytest.mark.parametrize(
    "value",
    [{"\U0001f600": 1}, {"a": 2**53}, {"a": ("t",)}, {"a": 5.0, "b": "x:5.0,"}, {"a": "\ud800"}],
    ids=["astral key", "integer beyond I-JSON", "tuple", "ambiguous float", "lone surrogate"],
)
def test_what_the_fast_path_cannot_prove_goes_to_the_reference(value: Any) -> None:
    assert jcs._fast(value) is None
    assert_same(value)
