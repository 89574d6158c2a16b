"""Properties of the canonical form over arbitrary JSON values (Hypothesis)."""

from __future__ import annotations

import json
import random
import unicodedata
from typing import Any

import pytest
import rfc8785
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from anchor.credentials import canonical_json, credential_digest, parse_credential, with_salt
from anchor.credentials.examples import generate_credentials
from anchor.errors import CredentialParseError, CredentialValidationError

# Any Unicode text except surrogates (which are not text and are refused on intake).
text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12)
# Text built from letters that have both a precomposed and a decomposed spelling.
accented = st.text(alphabet=st.sampled_from("aeoAEOnNzZ\u00e9\u00f1\u00c5\u0142\u017c\u1f04\u0301\u0303\u0308\u0327"))
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not 2**53 <= abs(f) < 1e21)
    | text
    | accented
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(text | accented, children, max_size=5),
    max_leaves=30,
)
json_objects = st.dictionaries(text | accented, json_values, max_size=6)


def nfc(value: Any) -> Any:
    """An independent NFC normaliser: the reference the fast path is checked against."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [nfc(item) for item in value]
    if isinstance(value, dict):
        return {nfc(key): nfc(item) for key, item in value.items()}
    return value


def nfd(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFD", value)
    if isinstance(value, list):
        return [nfd(item) for item in value]
    if isinstance(value, dict):
        return {nfd(key): nfd(item) for key, item in value.items()}
    return value


def keys_survive_nfc(value: Any) -> bool:
    """False when two keys of one object are the same after NFC (canonical_json refuses those)."""
    if isinstance(value, list):
        return all(keys_survive_nfc(item) for item in value)
    if isinstance(value, dict):
        normalised = {unicodedata.normalize("NFC", key) for key in value}
        return len(normalised) == len(value) and all(keys_survive_nfc(item) for item in value.values())
    return True


def shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {key: shuffled(value[key], rng) for key in keys}
    return value


@settings(max_examples=200)
@given(json_objects)
def test_canonical_form_is_stable_through_parsing(value: dict[str, Any]) -> None:
    assume(keys_survive_nfc(value))
    canonical = canonical_json(value)
    reparsed = parse_credential(canonical)
    assert canonical_json(reparsed) == canonical
    assert parse_credential(canonical_json(reparsed)) == reparsed


@settings(max_examples=200)
@given(json_values)
def test_canonical_form_is_jcs_of_the_nfc_value(value: Any) -> None:
    assume(keys_survive_nfc(value))
    assert canonical_json(value) == rfc8785.dumps(nfc(value))


@settings(max_examples=200)
@given(json_objects)
def test_nfc_and_nfd_spellings_are_one_canonical_form(value: dict[str, Any]) -> None:
    assume(keys_survive_nfc(value) and keys_survive_nfc(nfd(value)))
    assert canonical_json(nfd(value)) == canonical_json(nfc(value)) == canonical_json(value)


@settings(max_examples=150)
@given(json_objects, st.randoms(use_true_random=False))
def test_key_order_does_not_matter(value: dict[str, Any], rng: random.Random) -> None:
    assume(keys_survive_nfc(value))
    assert canonical_json(shuffled(value, rng)) == canonical_json(value)


@settings(max_examples=150)
@given(json_objects, st.booleans(), st.sampled_from([None, 0, 2, "\t"]))
def test_any_serialisation_parses_to_the_same_canonical_form(
    value: dict[str, Any], ascii_only: bool, indent: int | str | None
) -> None:
    assume(keys_survive_nfc(value))
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    assert canonical_json(parse_credential(text)) == canonical_json(value)
    assert canonical_json(parse_credential(text.encode())) == canonical_json(value)


@given(st.floats(min_value=2**53, max_value=1e21, exclude_max=True), st.booleans())
def test_floats_that_jcs_writes_as_huge_integers_are_refused_everywhere(number: float, negative: bool) -> None:
    """Else a canonical form could hold an integer token that strict parsing refuses."""
    value = {"n": -number if negative else number}
    with pytest.raises(CredentialValidationError, match="outside the I-JSON integer range"):
        canonical_json(value)
    with pytest.raises(CredentialParseError, match="outside the I-JSON integer range"):
        parse_credential(json.dumps(value))
    with pytest.raises(CredentialParseError, match="outside the I-JSON integer range"):
        parse_credential(rfc8785.dumps(value))


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.binary(min_size=32, max_size=32))
def test_a_credential_digest_depends_on_its_salt(seed: int, salt: bytes) -> None:
    credential = next(generate_credentials(1, seed=seed))
    resalted = with_salt(credential, salt, replace=True)
    assert (credential_digest(resalted) == credential_digest(credential)) == (
        resalted["anchorSalt"] == credential["anchorSalt"]
    )
    text = json.dumps(resalted, ensure_ascii=False, indent=1)
    assert credential_digest(parse_credential(unicodedata.normalize("NFD", text))) == credential_digest(resalted)
