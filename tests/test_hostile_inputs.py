"""Hostile credential text: linear-time parsing and schema checks, and dates no datetime can compare (issue 14).

The time bounds here are correctness bounds, not benchmarks: each input is one that took minutes (or hours)
with a quadratic algorithm and takes milliseconds with a linear one, so a bound of a second or two tells
the two apart on any machine.
"""

from __future__ import annotations

import copy
import itertools
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema._utils import uniq

from anchor.credentials import parse_credential, validate_credential
from anchor.credentials.examples import generate_credentials
from anchor.credentials.schema import MAX_DESCRIBED, MAX_EXPLAINED_VALUES, _equality_key, credential_schema
from anchor.credentials.strict_json import MAX_DEPTH, nesting_depth
from anchor.errors import CredentialParseError, CredentialValidationError

#: Seconds a linear pass over any of these inputs takes at most, with a wide margin (they take milliseconds).
BOUND = 2.0


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return next(generate_credentials(1, seed=14))


def _timed(function: Any, *args: Any) -> tuple[float, BaseException | None]:
    start = time.perf_counter()
    try:
        function(*args)
    except Exception as error:
        return time.perf_counter() - start, error
    return time.perf_counter() - start, None


# ---------------------------------------------------------------------------------------------- nesting scan


@pytest.mark.parametrize("count", [65_536, (1 << 20) // 2 - 40])
def test_an_unterminated_string_of_escaped_quotes_is_scanned_in_linear_time(count: int) -> None:
    text = "[" * (MAX_DEPTH + 1) + '"' + '\\"' * count  # the reported input: 65 brackets, a quote, \" x 65,536
    elapsed, error = _timed(parse_credential, text)
    assert isinstance(error, CredentialParseError)
    assert "nested 65 levels deep" in str(error)
    assert elapsed < BOUND, f"{elapsed:.2f} s for {len(text)} characters"


def _reference_depth(text: str) -> int:
    """The nesting depth by a character-by-character state machine (the specification of the scan)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='[]{}"\\ a', max_size=400))
def test_the_nesting_scan_agrees_with_a_character_by_character_scan(text: str) -> None:
    found = nesting_depth(text)
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        assert found == text.count("[") + text.count("{")
    else:
        assert found == _reference_depth(text)


def test_brackets_in_strings_do_not_count_and_escapes_are_honoured() -> None:
    assert nesting_depth("[" * 70 + "]" * 70) == 70
    assert nesting_depth('["' + "[" * 100 + '"]') <= MAX_DEPTH
    assert nesting_depth('["\\"' + "[" * 100 + '"]') <= MAX_DEPTH  # the escaped quote does not end the string
    assert nesting_depth('["\\\\"' + "[" * 100) == 101  # an escaped backslash does: the brackets are outside


# ---------------------------------------------------------------------------------------------- schema patterns


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


PATTERNS = sorted(set(_patterns(credential_schema())))
PREFIXES = [
    "",
    "a",
    "a:",
    "did:a:",
    "did:a:b/",
    "https://",
    "https://a",
    "ab",
    "en-",
    "ext:",
    "0x",
    "2024-01-01T00:00:00",
]
FILLERS = ["a", "/", ":", "-", "0", ".", "%", "a-", "ab-", "\\u00e9"]
TAILS = [" ", "\n ", "!", "\u00a0"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_schema_pattern_matches_in_linear_time(pattern: str) -> None:
    """Python's ``re.search`` (as jsonschema runs it) on near-misses of 20,000 characters: no backtracking blow-up.

    A pattern such as ``https://[^\\s/?#]+[^\\s]*$`` takes seconds on one of these (minutes at 200 KB).
    """
    compiled = re.compile(pattern)
    for prefix, filler, tail in itertools.product(PREFIXES, FILLERS, TAILS):
        text = prefix + filler * (20_000 // len(filler)) + tail
        start = time.perf_counter()
        compiled.search(text)
        elapsed = time.perf_counter() - start
        assert elapsed < 0.5, f"{pattern}: {elapsed:.2f} s on {prefix!r} + {filler!r} * n + {tail!r}"


def test_a_200_kb_https_issuer_id_is_refused_at_once(base: dict[str, Any]) -> None:
    credential = copy.deepcopy(base)
    credential["issuer"]["id"] = "https://" + "a" * 200_000 + " "
    elapsed, error = _timed(validate_credential, credential)
    assert isinstance(error, CredentialValidationError)
    problems = {str(problem) for problem in error.problems}
    assert "/issuer/id: is 200009 characters long; at most 2048 are allowed" in problems
    assert elapsed < BOUND, f"{elapsed:.2f} s"


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        (("issuer", "id"), 2048),
        (("id",), 2048),
        (("credentialSubject", "id"), 2048),
        (("name",), 10_000),
        (("credentialSubject", "achievement", "description"), 10_000),
    ],
)
def test_identifiers_and_text_are_bounded_in_length(base: dict[str, Any], path: tuple[str, ...], limit: int) -> None:
    prefix = "https://example.org/" if path[-1] == "id" else ""
    at_limit, over = copy.deepcopy(base), copy.deepcopy(base)
    for credential, size in ((at_limit, limit), (over, limit + 1)):
        node = credential
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = prefix + "a" * (size - len(prefix))
    validate_credential(at_limit)
    with pytest.raises(CredentialValidationError) as info:
        validate_credential(over)
    pointer = "/" + "/".join(path)
    assert f"{pointer}: is {limit + 1} characters long; at most {limit} are allowed" in str(info.value)


# ---------------------------------------------------------------------------------------------- uniqueItems


def test_unique_items_of_items_that_do_not_sort_is_checked_in_linear_time(base: dict[str, Any]) -> None:
    """jsonschema's own ``uniqueItems`` compares every pair when the items do not sort: 15 s for this list."""
    credential = copy.deepcopy(base)
    credential["type"] = [{}, *(str(number) for number in range(9_000))]
    elapsed, error = _timed(validate_credential, credential)
    assert isinstance(error, CredentialValidationError)
    assert "/type/0: expected string, got object" in str(error)
    assert elapsed < BOUND, f"{elapsed:.2f} s"


@pytest.mark.parametrize("item", [{}, 0, "x"])
def test_a_credential_of_a_million_bytes_of_small_values_is_refused_at_once(base: dict[str, Any], item: Any) -> None:
    """Describing each problem of 300,000 values takes either engine seconds: the longest list is named instead."""
    credential = copy.deepcopy(base)
    credential["type"] = [item] * 300_000
    elapsed, error = _timed(validate_credential, credential)
    assert isinstance(error, CredentialValidationError)
    assert [str(problem) for problem in error.problems] == [
        f"/type: has 300000 items; the credential holds more than {MAX_EXPLAINED_VALUES} JSON values, too many to "
        "describe its schema problems"
    ]
    assert elapsed < BOUND, f"{elapsed:.2f} s"


def test_duplicates_are_still_found(base: dict[str, Any]) -> None:
    credential = copy.deepcopy(base)
    credential["type"] = [*credential["type"], {"b": [1, 2.0], "a": True}, {"a": True, "b": [1.0, 2]}]
    with pytest.raises(CredentialValidationError, match="/type: has duplicate items"):
        validate_credential(credential)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.0, 1.0, -1.0, 2.5]) | st.sampled_from("ab"),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("ab"), inner, max_size=2),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_JSON, max_size=5))
def test_the_linear_unique_items_agrees_with_jsonschemas(items: list[Any]) -> None:
    keys = [_equality_key(item) for item in items]
    assert (len(set(keys)) == len(keys)) == uniq(items)


def test_a_credential_with_thousands_of_problems_is_described_briefly(base: dict[str, Any]) -> None:
    credential = copy.deepcopy(base)
    credential.update({f"unknown{number}": 0 for number in range(5_000)})
    credential["credentialSubject"]["achievement"]["euMicroCredential"]["learningOutcomes"] = list(range(4_000))
    elapsed, error = _timed(validate_credential, credential)
    assert isinstance(error, CredentialValidationError)
    assert len(error.problems) <= MAX_DESCRIBED + 3
    assert "/: has 4900 more unknown properties" in str(error)
    assert elapsed < BOUND, f"{elapsed:.2f} s"


def test_grades_are_checked_against_thousands_of_allowed_values_in_linear_time(base: dict[str, Any]) -> None:
    """Each result compared with a list, and the list written out in each problem: minutes and gigabytes."""
    credential = copy.deepcopy(base)
    description = credential["credentialSubject"]["achievement"]["resultDescription"][0]
    description["allowedValue"] = [f"v{number}" for number in range(50_000)]
    result = {"type": ["Result"], "resultDescription": description["id"], "value": "none of them"}
    credential["credentialSubject"]["result"] = [dict(result) for _ in range(5_000)]
    elapsed, error = _timed(validate_credential, credential)
    assert isinstance(error, CredentialValidationError)
    problem = next(problem for problem in error.problems if problem.path == "/credentialSubject/result/0/value")
    assert problem.message.endswith('"v18", "v19" (and 49980 more)')
    assert elapsed < BOUND, f"{elapsed:.2f} s"


# ---------------------------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("field", "value"),
    [("validFrom", "0001-01-01T00:00:00+01:00"), ("validUntil", "9999-12-31T23:59:59-01:00")],
)
def test_a_date_outside_years_1_to_9999_in_utc_is_refused_with_its_field(
    base: dict[str, Any], field: str, value: str
) -> None:
    credential = copy.deepcopy(base)
    credential[field] = value
    with pytest.raises(CredentialValidationError) as info:
        validate_credential(credential)
    assert [problem.path for problem in info.value.problems] == [f"/{field}"]
    assert "outside years 1-9999 in UTC" in str(info.value)


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [
        ("0001-01-01T00:00:00Z", None),
        ("0001-01-01T01:00:00+01:00", None),
        ("2025-01-01T00:00:00Z", "9999-12-31T23:59:59Z"),
    ],
)
def test_the_extreme_dates_that_exist_in_utc_are_accepted(
    base: dict[str, Any], valid_from: str, valid_until: str | None
) -> None:
    credential = copy.deepcopy(base)
    credential["validFrom"] = valid_from
    credential.pop("validUntil", None)
    if valid_until is not None:
        credential["validUntil"] = valid_until
    validate_credential(credential)
