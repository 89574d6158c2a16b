"""anchor.credentials: strict parsing, validation, canonical form, digest, accessors."""

from __future__ import annotations

import copy
import json
import string
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from eth_hash.auto import keccak
from jsonschema import Draft202012Validator

from anchor.credentials import (
    CONTEXTS,
    EXCLUDED_KEYS,
    MAX_CREDENTIAL_BYTES,
    canonical_bytes,
    canonical_json,
    credential_context_document,
    credential_digest,
    credential_id,
    credential_schema,
    credential_title,
    format_version,
    is_expired,
    is_not_yet_valid,
    issuer_country,
    issuer_id,
    issuer_name,
    learner_id,
    learner_name,
    load_credential_file,
    new_salt,
    parse_credential,
    salt_bytes,
    valid_from,
    valid_until,
    validate_credential,
    with_salt,
)
from anchor.errors import (
    CredentialParseError,
    CredentialValidationError,
    FieldProblem,
    InvalidInputError,
    UnknownFormatError,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "credentials"
GOLDEN = Path(__file__).resolve().parent / "golden" / "credential"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))
SALT = "0x" + "11" * 32


def example(name: str) -> dict[str, Any]:
    return parse_credential((EXAMPLES / name).read_bytes(), source=name)


@pytest.fixture
def full() -> dict[str, Any]:
    """The example with every optional element."""
    return example("de-datenkompetenz.json")


@pytest.fixture
def minimal() -> dict[str, Any]:
    """The example with the mandatory elements only."""
    return example("fr-cybersecurite-industrielle.json")


def problems_of(credential: object) -> list[FieldProblem]:
    with pytest.raises(CredentialValidationError) as info:
        validate_credential(credential)
    return info.value.problems


def paths_of(credential: object) -> list[str]:
    return [problem.path for problem in problems_of(credential)]


def message_at(credential: object, path: str) -> str:
    found = [problem.message for problem in problems_of(credential) if problem.path == path]
    assert found, f"no problem at {path}: {problems_of(credential)}"
    return found[0]


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def set_at(value: Any, path: tuple[Any, ...], new: Any) -> None:
    for part in path[:-1]:
        value = value[part]
    value[path[-1]] = new


def delete_at(value: Any, pointer: str) -> None:
    parts = pointer.strip("/").split("/")
    for part in parts[:-1]:
        value = value[part]
    del value[parts[-1]]


# ------------------------------------------------------------------------------------------------------
# Strict parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1, "a": 2}', "/a: duplicate key 'a'"),
        ('{"outer": {"k": true, "k": false}}', "/outer/k: duplicate key 'k'"),
        (
            '{"caf\u00e9": 1, "cafe\u0301": 2}',
            "/café: duplicate key 'cafe\\u0301': the same as 'caf\\xe9' after Unicode NFC normalisation",
        ),
        ('{"a": NaN}', "/a: NaN is not allowed"),
        ('{"a": [Infinity]}', "/a/0: Infinity is not allowed"),
        ('{"a": {"b": -Infinity}}', "/a/b: -Infinity is not allowed"),
        ('{"n": 9007199254740992}', "/n: 9007199254740992 is outside the I-JSON integer range"),
        ('{"n": -9007199254740992}', "/n: -9007199254740992 is outside the I-JSON integer range"),
        ('{"n": 123456789012345678901234567890}', "/n: 123456789012345678901234567890 is outside"),
        ('{"x": 1e400}', "/x: 1e400 overflows a 64-bit float"),
        ('{"x": -1e400}', "/x: -1e400 overflows a 64-bit float"),
        ('{"x": 1e20}', "/x: 1e+20 is outside the I-JSON integer range"),
        ('{"x": 9007199254740992.0}', "/x: 9007199254740992 is outside the I-JSON integer range"),
        ('{"s": "\\ud800"}', "/s: contains a lone surrogate U+D800"),
        ('{"s": "ok \\udfff"}', "/s: contains a lone surrogate U+DFFF at character 3"),
        ('{"s": ["\\ud83d"]}', "/s/0: contains a lone surrogate U+D83D"),
        ('{"\\udc00": 1}', "/\udc00: contains a lone surrogate U+DC00"),
        ("[1, 2]", "the top level must be a JSON object, not array"),
        ('"text"', "the top level must be a JSON object, not string"),
        ("42", "the top level must be a JSON object, not integer"),
        ("null", "the top level must be a JSON object, not null"),
        ('{"a": 1', "not valid JSON: Expecting ',' delimiter at line 1 column 8"),
        ('{"a": 1}\n{"b": 2}', "not valid JSON: Extra data at line 2 column 1"),
        ("", "not valid JSON: Expecting value at line 1 column 1"),
        ('{"a": "tab\there"}', "not valid JSON: Invalid control character"),
        ("\ufeff{}", "byte order mark"),
    ],
)
def test_parse_rejects(text: str, expected: str) -> None:
    with pytest.raises(CredentialParseError) as info:
        parse_credential(text)
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"a": "\xff"}', "not valid UTF-8: byte 0xff at offset 7"),
        (b'{"a": "\xc3"}', "not valid UTF-8: byte 0xc3 at offset 7"),
        (b'{"a": "\xed\xa0\x80"}', "not valid UTF-8: byte 0xed at offset 7"),  # an encoded surrogate
        (b'{"a": "\xc0\xaf"}', "not valid UTF-8"),  # an overlong "/"
        (b"\xef\xbb\xbf{}", "starts with a UTF-8 byte order mark"),
        ('{"a": "\u00e9"}'.encode("latin-1"), "not valid UTF-8"),
    ],
)
def test_parse_rejects_bytes(data: bytes, expected: str) -> None:
    with pytest.raises(CredentialParseError) as info:
        parse_credential(data)
    assert expected in str(info.value)


def test_parse_names_the_source() -> None:
    with pytest.raises(CredentialParseError, match=r"^inbox/42\.json: not strict I-JSON: /a: duplicate key"):
        parse_credential('{"a": 1, "a": 2}', source="inbox/42.json")


def test_parse_reports_several_problems() -> None:
    with pytest.raises(CredentialParseError) as info:
        parse_credential('{"a": NaN, "b": {"c": 1, "c": 2}, "d": 1e999}')
    message = str(info.value)
    assert "/a: NaN" in message
    assert "/b/c: duplicate key" in message
    assert "/d: 1e999 overflows" in message


def test_parse_accepts_the_edges_of_i_json() -> None:
    parsed = parse_credential(
        '{"max": 9007199254740991, "min": -9007199254740991, "pair": "\\ud83d\\ude00", "big": 1e308, "z": -0.0,'
        ' "f": 9007199254740991.0, "e": 1e21, "long": "12345678901234567890"}'
    )
    assert parsed == {
        "max": 2**53 - 1,
        "min": -(2**53) + 1,
        "pair": "\U0001f600",
        "big": 1e308,
        "z": 0.0,
        "f": 2.0**53 - 1,
        "e": 1e21,
        "long": "12345678901234567890",
    }
    assert canonical_json(parsed) == (
        b'{"big":1e+308,"e":1e+21,"f":9007199254740991,"long":"12345678901234567890",'
        b'"max":9007199254740991,"min":-9007199254740991,"pair":"\xf0\x9f\x98\x80","z":0}'
    )


def test_parse_rejects_deep_nesting() -> None:
    assert parse_credential('{"a": ' + "[" * 63 + "]" * 63 + "}")
    with pytest.raises(CredentialParseError, match="nested 65 levels deep; at most 64 are allowed"):
        parse_credential('{"a": ' + "[" * 64 + "]" * 64 + "}")
    # The C decoder would recurse 100000 deep; in a process where py-evm raised the recursion limit, that
    # crashes the interpreter instead of raising, so the depth is checked before decoding.
    with pytest.raises(CredentialParseError, match="nested 100001 levels deep"):
        parse_credential('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    # Brackets inside strings do not count.
    assert parse_credential(json.dumps({"a": "[" * 100 + '\\"{' * 100}))


def test_parse_rejects_oversized_input() -> None:
    padding = "x" * MAX_CREDENTIAL_BYTES
    with pytest.raises(CredentialParseError, match=r"more than the limit of 1048576"):
        parse_credential('{"a": "' + padding + '"}')
    with pytest.raises(CredentialParseError, match=r"more than the limit of 1048576"):
        parse_credential(('{"a": "' + padding + '"}').encode())


def test_parse_normalises_keys_and_strings_to_nfc() -> None:
    nfd = unicodedata.normalize("NFD", '{"Straße": "Jyväskylä", "list": ["Łódź", "Ñandú"], "ἄλφα": {"é": "ώ"}}')
    assert nfd != unicodedata.normalize("NFC", nfd)
    parsed = parse_credential(nfd)
    assert parsed == {"Straße": "Jyväskylä", "list": ["Łódź", "Ñandú"], "ἄλφα": {"é": "ώ"}}
    for path, value in leaves(parsed):
        assert unicodedata.is_normalized("NFC", value), path
        for key in path:
            assert not isinstance(key, str) or unicodedata.is_normalized("NFC", key)


def test_parse_takes_only_text() -> None:
    with pytest.raises(TypeError, match="str or bytes"):
        parse_credential(123)  # type: ignore[arg-type]


def test_load_credential_file(tmp_path: Path, minimal: dict[str, Any]) -> None:
    assert load_credential_file(EXAMPLES / "fr-cybersecurite-industrielle.json") == minimal

    big = tmp_path / "big.json"
    big.write_bytes(b'{"a": "' + b"x" * MAX_CREDENTIAL_BYTES + b'"}')
    with pytest.raises(CredentialParseError, match=rf"^{big}: file is 1048585 bytes, more than the 1048576-byte"):
        load_credential_file(big)

    with pytest.raises(InvalidInputError, match=r"missing\.json: cannot read credential file"):
        load_credential_file(tmp_path / "missing.json")

    broken = copy.deepcopy(minimal)
    del broken["validFrom"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(CredentialValidationError) as info:
        load_credential_file(path)
    assert info.value.source == str(path)
    assert str(info.value).startswith(f"{path}: invalid credential (1 problem)")
    assert load_credential_file(path, validate=False) == broken

    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"a": 1, "a": 1}')
    with pytest.raises(CredentialParseError, match=rf"^{bad}: "):
        load_credential_file(bad)


# ------------------------------------------------------------------------------------------------------
# Schema and validation


def test_schema_is_valid_draft_2020_12_and_matches_the_constants() -> None:
    schema = credential_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert [item["const"] for item in schema["properties"]["@context"]["prefixItems"][:2]] == list(CONTEXTS[:2])
    assert schema["properties"]["anchorFormat"]["enum"] == [
        "anchor-credential-v1",
        "anchor-credential-v2",
        "anchor-credential-v3",
    ]
    # each format's own extension context: tests/test_eu_annex_v2_schema.py


def test_context_document_defines_every_extension_term() -> None:
    """Each property anchor adds has a JSON-LD term; a term nobody uses would be a stale definition."""
    schema = credential_schema()
    context = credential_context_document()["@context"]
    top_level = {"anchorFormat", "anchorSalt", "anchor"}
    assert top_level <= set(context)

    def terms(definition: dict[str, Any]) -> set[str]:
        names = set()
        for name, term in definition.items():
            if name.startswith("@"):
                continue
            names.add(name)
            if isinstance(term, dict) and "@context" in term:
                names |= {f"{name}.{inner}" for inner in terms(term["@context"])}
        return names

    def properties(node: dict[str, Any]) -> set[str]:
        names = set()
        for name, sub in node.get("properties", {}).items():
            names.add(name)
            names |= {f"{name}.{inner}" for inner in properties(sub)}
        return names

    assert terms(context["euMicroCredential"]["@context"]) == properties(schema["$defs"]["euMicroCredential"])


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.name)
def test_example_files_are_valid(path: Path) -> None:
    credential = load_credential_file(path)
    validate_credential(with_salt(credential, SALT))
    assert "anchorSalt" not in credential, "examples are what an issuer submits: unsalted"


def test_examples_cover_the_promised_variety() -> None:
    credentials = [load_credential_file(path) for path in EXAMPLE_FILES]
    assert len(credentials) >= 5
    countries = {issuer_country(credential) for credential in credentials}
    assert {"DE", "FR", "PL", "FI", "ES", "PT"} <= countries
    assert any(valid_until(credential) is not None for credential in credentials)
    assert any(valid_until(credential) is None for credential in credentials)
    text = json.dumps(credentials, ensure_ascii=False)
    for needle in ("Łódź", "Jyväskylä", "Ñ", "Ελένη"):
        assert needle in text
    with_grade = [c for c in credentials if "result" in c["credentialSubject"]]
    assert 0 < len(with_grade) < len(credentials)


MANDATORY = [
    "/@context",
    "/id",
    "/type",
    "/name",
    "/issuer",
    "/issuer/id",
    "/issuer/type",
    "/issuer/name",
    "/issuer/address",
    "/issuer/address/addressCountryCode",
    "/validFrom",
    "/credentialSubject",
    "/credentialSubject/id",
    "/credentialSubject/type",
    "/credentialSubject/identifier",
    "/credentialSubject/achievement",
    "/credentialSubject/achievement/id",
    "/credentialSubject/achievement/type",
    "/credentialSubject/achievement/achievementType",
    "/credentialSubject/achievement/name",
    "/credentialSubject/achievement/description",
    "/credentialSubject/achievement/criteria",
    "/credentialSubject/achievement/criteria/narrative",
    "/credentialSubject/achievement/creditsAvailable",
    "/credentialSubject/achievement/euMicroCredential",
    "/credentialSubject/achievement/euMicroCredential/creditSystem",
    "/credentialSubject/achievement/euMicroCredential/learningOutcomes",
    "/credentialSubject/achievement/euMicroCredential/assessment",
    "/credentialSubject/achievement/euMicroCredential/assessment/methods",
    "/credentialSubject/achievement/euMicroCredential/participation",
    "/credentialSubject/achievement/euMicroCredential/qualityAssurance",
    "/credentialSubject/achievement/euMicroCredential/qualityAssurance/description",
    "/anchorFormat",
]


@pytest.mark.parametrize("pointer", MANDATORY)
def test_each_missing_mandatory_element_is_named(minimal: dict[str, Any], pointer: str) -> None:
    delete_at(minimal, pointer)
    problems = problems_of(minimal)
    assert [problem.path for problem in problems] == [pointer]
    assert problems[0].message.startswith("is missing")


def test_a_missing_eu_element_says_what_it_is(minimal: dict[str, Any]) -> None:
    del minimal["credentialSubject"]["achievement"]["euMicroCredential"]["participation"]
    assert message_at(minimal, "/credentialSubject/achievement/euMicroCredential/participation") == (
        "is missing (required: EU element 'form of participation in the learning activity')"
    )


def test_every_problem_is_reported_at_once(full: dict[str, Any]) -> None:
    achievement = full["credentialSubject"]["achievement"]
    achievement["euMicroCredential"]["eqfLevel"] = 9
    del achievement["name"]
    achievement["euMicroCredential"]["participation"] = "hybrid"
    full["issuer"]["address"]["addressCountryCode"] = "de"
    full["validUntil"] = "2024-01-01T00:00:00Z"
    with pytest.raises(CredentialValidationError) as info:
        validate_credential(full)
    error = info.value
    assert [str(problem) for problem in error.problems] == [
        "/credentialSubject/achievement/euMicroCredential/eqfLevel: 9 is greater than the maximum 8",
        '/credentialSubject/achievement/euMicroCredential/participation: must be one of "online", "onsite", '
        '"blended", "volunteering", "work-experience"; got "hybrid"',
        "/credentialSubject/achievement/name: is missing (required: EU element 'title of the micro-credential')",
        '/issuer/address/addressCountryCode: "de" is not an ISO 3166-1 alpha-2 country code '
        "(two uppercase letters, e.g. DE)",
        "/validUntil: 2024-01-01T00:00:00+00:00 is not after validFrom 2025-03-14T10:30:00+00:00",
    ]
    assert str(error).startswith("invalid credential (5 problems):\n  - /credentialSubject/")


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            ("credentialSubject", "achievement", "euMicroCredential", "eqfLevel"),
            "6",
            'expected integer, got string "6"',
        ),
        (
            ("credentialSubject", "achievement", "euMicroCredential", "eqfLevel"),
            6.5,
            "expected integer, got number 6.5",
        ),
        (("credentialSubject", "achievement", "euMicroCredential", "eqfLevel"), True, "expected integer, got boolean"),
        (("credentialSubject", "achievement", "creditsAvailable"), "3", 'expected number, got string "3"'),
        (("credentialSubject", "achievement", "euMicroCredential", "learningOutcomes"), "x", "expected array"),
        (("credentialSubject", "identifier", 0, "hashed"), "false", 'expected boolean, got string "false"'),
        (("validFrom",), 20250627, "expected string, got integer 20250627"),
        (("issuer",), "did:web:example.org", 'expected object, got string "did:web:example.org"'),
        (("credentialSubject", "achievement", "name"), None, "expected string, got null"),
        (("credentialSubject", "achievement", "criteria"), ["text"], "expected object, got array"),
    ],
)
def test_wrong_types_are_named(minimal: dict[str, Any], path: tuple[Any, ...], value: Any, expected: str) -> None:
    set_at(minimal, path, value)
    pointer = "".join(f"/{part}" for part in path)
    assert expected in message_at(minimal, pointer)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("credentialSubject", "achievement", "euMicroCredential", "eqfLevel"), 0, "0 is less than the minimum 1"),
        (("credentialSubject", "achievement", "euMicroCredential", "eqfLevel"), 9, "9 is greater than the maximum 8"),
        (("credentialSubject", "achievement", "creditsAvailable"), 0, "0 must be greater than 0"),
        (("credentialSubject", "achievement", "creditsAvailable"), -2, "-2 must be greater than 0"),
        (("credentialSubject", "achievement", "creditsAvailable"), 61, "61 is greater than the maximum 60"),
        (("credentialSubject", "achievement", "name"), "", "must not be empty"),
        (("credentialSubject", "achievement", "name"), "   ", '"   " is not non-blank text'),
        (("credentialSubject", "achievement", "euMicroCredential", "learningOutcomes"), [], "must not be empty"),
        (("credentialSubject", "achievement", "euMicroCredential", "learningOutcomes"), ["a", "a"], "duplicate"),
        (("credentialSubject", "achievement", "achievementType"), "Badge", 'must be "MicroCredential", got "Badge"'),
        (("credentialSubject", "achievement", "euMicroCredential", "creditSystem"), "ECVET", 'must be "ECTS"'),
        (("credentialSubject", "id"), "not a uri", '"not a uri" is not an absolute URI'),
        (("issuer", "id"), "http://insecure.example", "is not a DID (did:method:...) or an https:// URL"),
        (("issuer", "id"), "did:web", "is not a DID"),
        (("validFrom",), "2025-06-27", '"2025-06-27" is not an RFC 3339 date-time with a timezone'),
        (("validFrom",), "2025-06-27T16:00:00", "is not an RFC 3339 date-time with a timezone"),
        (("validFrom",), "2025-06-27 16:00:00Z", "is not an RFC 3339 date-time with a timezone"),
        (("validFrom",), "2025-02-29T16:00:00Z", "is not a real date-time: day is out of range for month"),
        (("validFrom",), "2025-06-27T25:00:00Z", "is not a real date-time: hour must be in 0..23"),
        (("issuer", "address", "addressCountryCode"), "DEU", "is not an ISO 3166-1 alpha-2 country code"),
        (("issuer", "address", "addressCountryCode"), "EL", "Greece is GR in ISO 3166-1"),
        (("issuer", "address", "addressCountryCode"), "UK", "the United Kingdom is GB"),
        (("issuer", "address", "addressCountryCode"), "ZZ", '"ZZ" is not an ISO 3166-1 alpha-2 code'),
        (("anchorSalt",), "0x1234", "is not 32 random bytes as 0x-prefixed lowercase hex"),
        (("anchorSalt",), "0x" + "AB" * 32, "is not 32 random bytes as 0x-prefixed lowercase hex"),
        (("@context",), [*CONTEXTS, "https://example.org/extra"], "1 unexpected extra item(s) after the first 3"),
        (("@context", 2), "https://example.org/other", 'must be "https://w3id.org/anchor/credential/v1"'),
        (("type",), ["VerifiableCredential"], 'must contain "OpenBadgeCredential"'),
        (("type",), ["OpenBadgeCredential", "OpenBadgeCredential"], "has duplicate items"),
    ],
)
def test_bad_values_are_explained(minimal: dict[str, Any], path: tuple[Any, ...], value: Any, expected: str) -> None:
    set_at(minimal, path, value)
    pointer = "".join(f"/{part}" for part in path)
    assert expected in message_at(minimal, pointer)


@pytest.mark.parametrize("when", ["２０２５-06-27T16:00:00Z", "2025-06-27T16:00:00\u0662Z", "2025-06-27t16:00:00z"])
def test_dates_take_ascii_digits_and_capital_letters_only(minimal: dict[str, Any], when: str) -> None:
    minimal["validFrom"] = when
    problems = problems_of(minimal)
    assert [problem.path for problem in problems] == ["/validFrom"]
    assert "is not an RFC 3339 date-time with a timezone" in problems[0].message


def test_every_assigned_country_code_is_accepted(minimal: dict[str, Any]) -> None:
    """Cross-checks the embedded ISO 3166-1 list against tzdata's copy of it."""
    tzdata = pytest.importorskip("tzdata", reason="tzdata holds the reference copy of ISO 3166-1")
    table = (resources.files(tzdata) / "zoneinfo" / "iso3166.tab").read_text(encoding="utf-8")
    assigned = {line.split("\t")[0] for line in table.splitlines() if line and not line.startswith("#")}
    assert len(assigned) == 249
    for code in sorted(assigned | {"XK"}):
        minimal["issuer"]["address"]["addressCountryCode"] = code
        validate_credential(minimal)
    unassigned = {a + b for a in string.ascii_uppercase for b in string.ascii_uppercase} - assigned - {"XK"}
    for code in sorted(unassigned)[::40]:
        minimal["issuer"]["address"]["addressCountryCode"] = code
        assert "is not an ISO 3166-1 alpha-2 code" in message_at(minimal, "/issuer/address/addressCountryCode")


def test_unknown_properties_are_reported_with_a_suggestion(minimal: dict[str, Any]) -> None:
    minimal["credentialSubject"]["achievement"]["creditAvailable"] = 3
    minimal["validuntil"] = "2030-01-01T00:00:00Z"
    minimal["credentialSubject"]["achievement"]["euMicroCredential"]["colour"] = "blue"
    assert message_at(minimal, "/credentialSubject/achievement/creditAvailable") == (
        "unknown property; did you mean 'creditsAvailable'?"
    )
    assert message_at(minimal, "/validuntil") == "unknown property; did you mean 'validUntil'?"
    assert message_at(minimal, "/credentialSubject/achievement/euMicroCredential/colour") == "unknown property here"


def test_the_learner_must_be_named_in_plain_text(minimal: dict[str, Any]) -> None:
    minimal["credentialSubject"]["identifier"][0]["hashed"] = True
    assert message_at(minimal, "/credentialSubject/identifier") == (
        'must contain an IdentityObject with identityType "name" and hashed false (the learner\'s name)'
    )


def test_stackable_needs_a_target(full: dict[str, Any]) -> None:
    full["credentialSubject"]["achievement"]["euMicroCredential"]["stackability"] = {"mode": "stackable"}
    assert paths_of(full) == ["/credentialSubject/achievement/euMicroCredential/stackability/towards"]


def test_expiry_must_follow_issue(minimal: dict[str, Any]) -> None:
    minimal["validUntil"] = minimal["validFrom"]
    assert message_at(minimal, "/validUntil") == (
        "2025-06-27T16:00:00+02:00 is not after validFrom 2025-06-27T16:00:00+02:00"
    )
    minimal["validUntil"] = "2025-06-27T14:00:01Z"  # one second after validFrom, in another zone
    validate_credential(minimal)


def test_activity_must_end_after_it_starts(full: dict[str, Any]) -> None:
    full["credentialSubject"]["activityEndDate"] = "2024-01-01T00:00:00Z"
    assert "is before activityStartDate" in message_at(full, "/credentialSubject/activityEndDate")


def test_workload_hours_must_fit_the_ects(full: dict[str, Any]) -> None:
    eu = full["credentialSubject"]["achievement"]["euMicroCredential"]
    eu["workloadHours"] = 900
    assert message_at(full, "/credentialSubject/achievement/euMicroCredential/workloadHours") == (
        "900 hours does not fit 5 ECTS (1 ECTS is 25-30 hours of work; expected 100-180)"
    )
    eu["workloadHours"] = 125
    validate_credential(full)


def test_credits_earned_cannot_exceed_credits_available(full: dict[str, Any]) -> None:
    full["credentialSubject"]["creditsEarned"] = 6
    assert message_at(full, "/credentialSubject/creditsEarned") == "6 is more than the 5 ECTS available"


def test_grades_must_match_their_result_description(full: dict[str, Any]) -> None:
    result = full["credentialSubject"]["result"][0]
    result["value"] = "0,7"
    assert message_at(full, "/credentialSubject/result/0/value").startswith(
        '"0,7" is not an allowedValue of "https://www.th-mainfranken.example/microcredentials/datenkompetenz#grade"'
    )
    result["resultDescription"] = "https://elsewhere.example/#grade"
    assert message_at(full, "/credentialSubject/result/0/resultDescription") == (
        '"https://elsewhere.example/#grade" is not the id of any achievement resultDescription'
    )
    descriptions = full["credentialSubject"]["achievement"]["resultDescription"]
    descriptions.append(copy.deepcopy(descriptions[0]))
    assert "is used by another resultDescription" in message_at(
        full, "/credentialSubject/achievement/resultDescription/1/id"
    )


def test_values_that_are_not_json_are_problems_not_crashes(minimal: dict[str, Any]) -> None:
    minimal["credentialSubject"]["creditsEarned"] = float("nan")
    minimal["name"] = {1, 2}
    minimal["credentialSubject"]["achievement"]["euMicroCredential"]["eqfLevel"] = 2**60
    assert paths_of(minimal) == [
        "/credentialSubject/achievement/euMicroCredential/eqfLevel",
        "/credentialSubject/creditsEarned",
        "/name",
    ]
    assert problems_of([minimal]) == [FieldProblem("", "expected a JSON object, got list")]


def test_validation_takes_nfd_text(full: dict[str, Any]) -> None:
    validate_credential(json.loads(unicodedata.normalize("NFD", json.dumps(full, ensure_ascii=False))))


def test_validation_error_carries_the_source(minimal: dict[str, Any]) -> None:
    del minimal["id"]
    with pytest.raises(CredentialValidationError, match=r"^queue/7\.json: invalid credential \(1 problem\):"):
        validate_credential(minimal, source="queue/7.json")


# ------------------------------------------------------------------------------------------------------
# Format version


def test_unknown_format_versions_are_rejected(minimal: dict[str, Any]) -> None:
    minimal["anchorFormat"] = "anchor-credential-v9"
    for check in (validate_credential, canonical_bytes, format_version):
        with pytest.raises(UnknownFormatError, match="unknown credential format 'anchor-credential-v9'"):
            check(minimal)
    with pytest.raises(UnknownFormatError):
        credential_digest(with_salt(minimal, SALT))


def test_format_must_be_present_and_a_string(minimal: dict[str, Any]) -> None:
    minimal["anchorFormat"] = 1
    assert message_at(minimal, "/anchorFormat") == (
        'must be one of "anchor-credential-v1", "anchor-credential-v2", "anchor-credential-v3"; got 1'
    )
    with pytest.raises(CredentialValidationError, match="expected a string such as 'anchor-credential-v1'"):
        canonical_bytes(minimal)
    del minimal["anchorFormat"]
    with pytest.raises(CredentialValidationError, match="/anchorFormat: is missing"):
        canonical_bytes(minimal)


# ------------------------------------------------------------------------------------------------------
# Salt


def test_new_salt_is_32_random_bytes() -> None:
    salts = {new_salt() for _ in range(100)}
    assert len(salts) == 100
    for salt in salts:
        assert len(salt) == 66
        assert salt.startswith("0x")
        assert len(bytes.fromhex(salt[2:])) == 32


def test_with_salt(minimal: dict[str, Any]) -> None:
    before = copy.deepcopy(minimal)
    salted = with_salt(minimal)
    assert minimal == before, "the input is not changed"
    assert salted == {**before, "anchorSalt": salted["anchorSalt"]}
    assert len(salt_bytes(salted)) == 32
    assert with_salt(minimal, bytes(range(32)))["anchorSalt"] == "0x" + bytes(range(32)).hex()
    assert with_salt(minimal, "0x" + "AB" * 32)["anchorSalt"] == "0x" + "ab" * 32

    with pytest.raises(InvalidInputError, match="already has an anchorSalt"):
        with_salt(salted)
    assert with_salt(salted, SALT, replace=True)["anchorSalt"] == SALT

    with pytest.raises(InvalidInputError, match="a salt is 32 bytes, got 31"):
        with_salt(minimal, bytes(31))
    with pytest.raises(InvalidInputError, match="a salt is 0x followed by 64 hex digits"):
        with_salt(minimal, "11" * 32)


def test_digest_requires_a_well_formed_salt(minimal: dict[str, Any]) -> None:
    with pytest.raises(CredentialValidationError, match=r"/anchorSalt: is missing: a credential is salted"):
        credential_digest(minimal)
    minimal["anchorSalt"] = "0x" + "AB" * 32
    with pytest.raises(CredentialValidationError, match=r"is not 0x followed by 64 lowercase hex digits"):
        credential_digest(minimal)


# ------------------------------------------------------------------------------------------------------
# Canonical form and digest


def test_golden_digest_never_changes() -> None:
    credential = load_credential_file(GOLDEN / "credential.json")
    assert canonical_bytes(credential) == (GOLDEN / "canonical.json").read_bytes()
    assert "0x" + credential_digest(credential).hex() == (GOLDEN / "digest.txt").read_text().strip()


def test_golden_canonical_form_by_independent_means() -> None:
    """The golden bytes are JCS: for this document (ASCII keys) that is sorted compact JSON, 5.0 written 5."""
    credential = json.loads((GOLDEN / "credential.json").read_text(encoding="utf-8"))
    hashed = {key: value for key, value in credential.items() if key not in ("proof", "anchor")}
    hashed["credentialSubject"]["achievement"]["creditsAvailable"] = 5
    expected = json.dumps(hashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    golden = (GOLDEN / "canonical.json").read_bytes()
    assert golden == expected
    assert keccak(golden).hex() == (GOLDEN / "digest.txt").read_text().strip()[2:]


def test_digest_is_keccak_of_jcs_without_proofs(full: dict[str, Any]) -> None:
    salted = with_salt(full, SALT)
    assert canonical_bytes(salted) == rfc8785.dumps(salted)
    assert credential_digest(salted) == keccak(rfc8785.dumps(salted))
    assert len(credential_digest(salted)) == 32


def test_proofs_do_not_change_the_digest(full: dict[str, Any]) -> None:
    assert {"proof", "anchor"} == EXCLUDED_KEYS
    salted = with_salt(full, SALT)
    digest = credential_digest(salted)
    salted["proof"] = {"type": "DataIntegrityProof", "proofValue": "z1"}
    salted["anchor"] = {"batchId": 3, "index": 17, "proof": ["0x" + "00" * 32]}
    assert credential_digest(salted) == digest
    salted["proof"] = [{"type": "DataIntegrityProof", "proofValue": "z2"}]
    salted["anchor"] = {"batchId": 4}
    assert credential_digest(salted) == digest
    salted["description"] = "anything else is hashed"
    assert credential_digest(salted) != digest


def test_every_field_and_the_salt_change_the_digest(full: dict[str, Any]) -> None:
    salted = with_salt(full, SALT)
    digest = credential_digest(salted)
    seen = {digest}
    for path, value in leaves(salted):
        if path == ("anchorFormat",):
            continue  # another value is another format, refused rather than hashed
        changed = copy.deepcopy(salted)
        if isinstance(value, bool):
            new: Any = not value
        elif isinstance(value, int | float):
            new = value + 1
        elif path == ("anchorSalt",):
            new = "0x" + "22" * 32
        else:
            new = value + "."
        set_at(changed, path, new)
        seen.add(credential_digest(changed))
    assert len(seen) == len(list(leaves(salted)))  # every change gave a new digest (format excluded)

    changed = copy.deepcopy(salted)
    changed["credentialSubject"]["achievement"]["euMicroCredential"]["learningOutcomes"].reverse()
    assert credential_digest(changed) != digest, "the order of a list is meaningful"


def test_key_order_does_not_matter(full: dict[str, Any]) -> None:
    def reverse(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: reverse(value[key]) for key in reversed(list(value))}
        if isinstance(value, list):
            return [reverse(item) for item in value]
        return value

    salted = with_salt(full, SALT)
    reordered = reverse(salted)
    assert list(reordered) != list(salted)
    assert canonical_bytes(reordered) == canonical_bytes(salted)
    assert credential_digest(reordered) == credential_digest(salted)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.name)
def test_nfc_and_nfd_spellings_hash_the_same(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    nfd_text = unicodedata.normalize("NFD", text)
    salted_nfc = with_salt(parse_credential(text), SALT)
    from_nfd_text = with_salt(parse_credential(nfd_text), SALT)
    nfd_dict = with_salt(json.loads(nfd_text), SALT)  # a dict built without parse_credential
    assert credential_digest(from_nfd_text) == credential_digest(salted_nfc)
    assert credential_digest(nfd_dict) == credential_digest(salted_nfc)
    if nfd_text != text:
        assert json.loads(nfd_text) != json.loads(text)


def test_formatting_of_the_text_does_not_matter(full: dict[str, Any]) -> None:
    salted = with_salt(full, SALT)
    digest = credential_digest(salted)
    for text in (
        json.dumps(salted),
        json.dumps(salted, ensure_ascii=False, indent=4),
        json.dumps(salted, separators=(",", ":"), sort_keys=True),
    ):
        assert credential_digest(parse_credential(text)) == digest


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": float("nan")}, "/a: nan is not allowed"),
        ({"a": [float("inf")]}, "/a/0: inf is not allowed"),
        ({"a": 2**53}, "/a: 9007199254740992 is outside the I-JSON integer range"),
        ({"a": [2.0**53]}, "/a/0: 9007199254740992 is outside the I-JSON integer range"),
        ({"a": -1e20}, "/a: -1e+20 is outside the I-JSON integer range ±(2**53-1) (RFC 8785 writes it"),
        ({"a": "\ud800"}, "/a: contains a lone surrogate U+D800"),
        ({"a": {1: "x"}}, "/a: has a key 1 that is not a string"),
        ({"a": {"x"}}, "/a: a set is not a JSON value"),
        ({"a": b"x"}, "/a: a bytes is not a JSON value"),
        ({"cafe\u0301": 1, "caf\u00e9": 2}, "duplicate key 'caf\\xe9': the same as 'cafe\\u0301' after Unicode NFC"),
    ],
)
def test_canonical_json_refuses_what_is_not_i_json(value: Any, expected: str) -> None:
    with pytest.raises(CredentialValidationError) as info:
        canonical_json(value)
    assert expected in str(info.value)


def test_canonical_bytes_takes_only_objects() -> None:
    with pytest.raises(InvalidInputError, match="a credential is a JSON object, got list"):
        canonical_bytes([])  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------------
# Accessors


def test_accessors(full: dict[str, Any]) -> None:
    assert credential_id(full) == "urn:uuid:6f1d2c3e-8b4a-4c5d-9e7f-0a1b2c3d4e5f"
    assert issuer_id(full) == "did:web:credentials.th-mainfranken.example"
    assert issuer_name(full) == "Technische Hochschule Mainfranken"
    assert issuer_country(full) == "DE"
    assert learner_id(full) == "urn:uuid:0b7c9a12-3d4e-4f56-8a9b-c0d1e2f3a4b5"
    assert learner_name(full) == "Jürgen Müller-Weiß"
    assert credential_title(full) == "Datenkompetenz für Ingenieurinnen und Ingenieure"
    assert valid_from(full) == datetime(2025, 3, 14, 10, 30, tzinfo=UTC)
    assert valid_until(full) is None
    assert learner_name(example("pt-web-accessibility.json")) == "Ελένη Κωνσταντινίδου"
    assert valid_from(example("pt-web-accessibility.json")) == datetime(2025, 9, 19, 17, 20, 31, 250000, tzinfo=UTC)


def test_accessors_name_what_is_missing(minimal: dict[str, Any]) -> None:
    del minimal["issuer"]["name"]
    minimal["credentialSubject"]["identifier"][0]["hashed"] = True
    minimal["validFrom"] = "yesterday"
    with pytest.raises(CredentialValidationError, match=r"/issuer/name: is missing"):
        issuer_name(minimal)
    with pytest.raises(CredentialValidationError, match=r"/credentialSubject/identifier: has no plaintext"):
        learner_name(minimal)
    with pytest.raises(CredentialValidationError, match=r'/validFrom: "yesterday" is not an RFC 3339 date-time'):
        valid_from(minimal)
    minimal["id"] = 7
    with pytest.raises(CredentialValidationError, match=r"/id: expected a string, got integer"):
        credential_id(minimal)


def test_expiry() -> None:
    credential = example("es-fotovoltaica.json")
    until = valid_until(credential)
    assert until == datetime(2030, 7, 4, 23, 59, 59, tzinfo=timezone(timedelta(hours=2)))
    assert not is_expired(credential, until)
    assert is_expired(credential, until + timedelta(seconds=1))
    assert not is_expired(credential, datetime(2026, 1, 1, tzinfo=UTC))
    assert not is_expired(example("pl-uczenie-maszynowe.json"), datetime(9999, 1, 1, tzinfo=UTC))
    assert is_not_yet_valid(credential, datetime(2025, 7, 4, 6, 59, 59, tzinfo=UTC))
    assert not is_not_yet_valid(credential, datetime(2025, 7, 4, 7, 0, 0, tzinfo=UTC))
    with pytest.raises(InvalidInputError, match="needs a timezone"):
        is_expired(credential, datetime(2031, 1, 1))


def test_expiry_defaults_to_now(minimal: dict[str, Any]) -> None:
    assert not is_expired(minimal)
    assert not is_not_yet_valid(minimal)
    minimal["validFrom"] = "1999-01-01T00:00:00Z"
    minimal["validUntil"] = "2000-01-01T00:00:00Z"
    assert is_expired(minimal)
    minimal["validFrom"] = "9999-01-01T00:00:00Z"
    assert is_not_yet_valid(minimal)
