"""The two JSON Schema engines behind validate_credential: jsonschema-rs decides, Python jsonschema explains.

A credential is schema-valid only if the fast engine (jsonschema-rs) says so, so it must never accept what the
reference engine (Python jsonschema) rejects. Hypothesis mutates valid credentials, fields and text alike, and
checks that; control characters, where the engines' regular expressions differ, are refused before either runs.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from anchor.credentials import parse_credential, schema, strict_json, validate_credential
from anchor.credentials.examples import generate_credentials
from anchor.errors import CredentialValidationError, FieldProblem, UnknownFormatError

BASES = [parse_credential(json.dumps(item)) for item in generate_credentials(4, seed=11)]

# Characters where regular-expression dialects disagree (\s, $, \d), plus plain ones.
tricky = st.sampled_from(
    ["\n", "\t", "\r", " ", "\x1c", "\x1f", "\x85", "\xa0", "\ufeff", "\u2028", "\u3000", "\u0660", "١", "é"]
)
texts = st.lists(st.one_of(tricky, st.characters(codec="utf-8", exclude_categories=["Cs"])), max_size=12).map("".join)
patterned = st.sampled_from(
    ["DE", "DE\n", "de", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z\n", "https://example.org/x", "did:web:x.y",
     "https:// x", "urn:uuid:1", "0x" + "ab" * 32, "0x" + "ab" * 32 + "\n", "en", "en-GB", "ECTS", "5", "0613"]
)  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
    texts,
    patterned,
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3), max_leaves=6
)


def paths(node: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path to a value inside ``node``."""
    found: list[tuple[str | int, ...]] = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, item in node.items():
            found += paths(item, (*prefix, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += paths(item, (*prefix, index))
    return found


def mutated(base: dict[str, Any], path: tuple[str | int, ...], action: str, value: Any) -> dict[str, Any]:
    """``base`` with the value at ``path`` replaced, deleted, or given a sibling."""
    result = copy.deepcopy(base)
    parent: Any = result
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "replace":
        parent[last] = value
    elif action == "delete":
        del parent[last]
    elif isinstance(parent, dict):
        parent["extra" if last != "extra" else "extra2"] = value
    else:
        parent.append(value)
    return result


def reference_problems(credential: dict[str, Any]) -> list[Any]:
    return list(schema._explaining_validator().iter_errors(credential))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.data())
def test_the_fast_engine_never_accepts_what_the_reference_engine_rejects(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(BASES))
    path = data.draw(st.sampled_from(paths(base)))
    action = data.draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
    candidate = mutated(base, path, action, data.draw(values))
    problems: list[FieldProblem] = []
    clean = strict_json._clean(candidate, [], problems, 0, controls=True)
    assume(not problems)  # refused before any schema engine runs
    if schema._fast_validator().is_valid(clean):
        assert reference_problems(clean) == [], f"only the reference engine rejects {path} ({action})"
    else:  # refused: by the schema, or (an anchorFormat of a later release) as an unknown format
        with pytest.raises((CredentialValidationError, UnknownFormatError)):
            validate_credential(clean)


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1c", "\x1f", "\x7f", "\x85", "\x9f"])
def test_control_characters_are_refused_in_any_text_or_key(character: str) -> None:
    credential = copy.deepcopy(BASES[0])
    credential["name"] = f"Data{character} literacy"
    with pytest.raises(CredentialValidationError) as info:
        validate_credential(credential)
    assert [problem.path for problem in info.value.problems] == ["/name"]
    assert f"U+{ord(character):04X}" in info.value.problems[0].message
    credential = copy.deepcopy(BASES[0])
    credential["credentialSubject"][f"note{character}"] = "x"
    with pytest.raises(CredentialValidationError, match="control character"):
        validate_credential(credential)


def test_tab_line_feed_and_carriage_return_stay_allowed_in_text() -> None:
    credential = copy.deepcopy(BASES[0])
    credential["description"] = "line one\r\n\tline two"
    validate_credential(credential)


def test_a_trailing_line_feed_does_not_pass_an_anchored_pattern() -> None:
    """Python's ``$`` matches before a final line feed; the deciding engine does not let "DE\\n" through."""
    credential = copy.deepcopy(BASES[0])
    credential["issuer"]["address"]["addressCountryCode"] = "DE\n"
    with pytest.raises(CredentialValidationError) as info:
        validate_credential(credential)
    assert [problem.path for problem in info.value.problems] == ["/issuer/address/addressCountryCode"]
    assert "white space at its start or end" in info.value.problems[0].message


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("name",), "\ufeff"),
        (("issuer", "id"), "https://x.example/\ufeffa"),
        (("anchorSalt",), "0x" + "ab" * 32 + "\n"),
    ],
)
def test_what_only_the_fast_engine_refuses_is_explained(path: tuple[str, ...], value: str) -> None:
    credential = copy.deepcopy(BASES[0])
    parent = credential
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    assert reference_problems(credential) == []  # Python jsonschema alone would let it through
    with pytest.raises(CredentialValidationError) as info:
        validate_credential(credential)
    (problem,) = info.value.problems
    assert problem.path == "/" + "/".join(path)
    assert " is not " in problem.message
    assert "U+FEFF" in problem.message or "white space" in problem.message


def test_a_problem_only_the_fast_engine_sees_is_still_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    credential = copy.deepcopy(BASES[0])
    credential["issuer"]["address"]["addressCountryCode"] = "DE\n"

    class Lenient:
        def iter_errors(self, _instance: object) -> list[Any]:
            return []

    monkeypatch.setattr(schema, "_explaining_validator", Lenient)
    with pytest.raises(CredentialValidationError) as info:
        validate_credential(credential)
    assert info.value.problems[0].path == "/issuer/address/addressCountryCode"


def test_validating_a_valid_credential_does_not_load_python_jsonschema() -> None:
    code = (
        "import json, sys\n"
        "from anchor.credentials import validate_credential\n"
        "from anchor.credentials.examples import generate_credentials\n"
        "validate_credential(json.loads(json.dumps(next(iter(generate_credentials(1, seed=3))))))\n"
        "assert 'jsonschema' not in sys.modules, 'jsonschema was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
