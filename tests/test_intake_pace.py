"""Intake pace: the msgspec paths give exactly what the reference paths give, and they are the ones taken.

- Parsing: :func:`strict_json._parse_compact` (msgspec's decoder, a re-encoding compared with the text without
  white space) returns what :func:`parse_credential` returns, or leaves the text to it: hostile texts
  (duplicate keys, also after NFC; decomposed text; lone surrogates raw and escaped; controls; integers and
  floats at and beyond the I-JSON limits; NaN; other white space; numbers in every spelling).
- Canonical form: :func:`jcs.dumps_issuer` gives the bytes of ``rfc8785`` or refuses what it refuses, for any
  value and for parsed values with their floats (keys that sort differently by UTF-16 code unit and by code
  point, U+2028, controls, floats msgspec writes otherwise than JCS).
- The stored document: :func:`intake._document_text` is ``json.dumps(..., ensure_ascii=False)`` byte for byte.
- The queue: :meth:`Store.queue_rows` refuses a malformed row as :meth:`Store.queue` refuses its credential.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from anchor.credentials import jcs, parse_credential, strict_json
from anchor.credentials.examples import generate_credentials
from anchor.errors import CredentialParseError, InvalidInputError
from anchor.issuing import intake
from anchor.issuing.store import NewCredential, Store

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Letters with precomposed and decomposed forms, combining marks, escape letters, quotes and brackets, controls,
# DEL and C1, U+2028, the top of the BMP (sorts above surrogate pairs in UTF-16), astral characters, surrogates.
ALPHABET = (
    'aenbfrtuAE019"\\/:,[]{}.e-\u00e9\u00c5\u0301\u0308\u1100\u1161\uac00\u2028\x7f\x85\x01\t\n'
    "\ue000\uffff\U0001f600\U00010000\ud800\udc00"
)
texts = st.text(alphabet=st.sampled_from(ALPHABET), max_size=6)
EDGE_NUMBERS = [2**53 - 1, -(2**53) + 1, 2**53, 10**16, 2.0**53, 1e21, 9.999999999999999e20, 1e16, -0.0, 0.0]
EDGE_NUMBERS += [5.0, 1.5, 0.1, 1e-7, 1e-6, 5e-324, 1.7976931348623157e308, 123456789012345.6]
numbers = st.integers(-(2**60), 2**60) | st.floats(allow_nan=False) | st.sampled_from(EDGE_NUMBERS)
values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=12,
)
# Spellings the encoders never write: each must be refused by both parsers or left to the reference.
ODD_SPELLINGS = (
    "01", "-01", "1.", ".5", "+1", "-", "1e", "1E5", "1e+5", "-0", "0x10", "NaN", "Infinity", "-Infinity",
    "1e400", "-1e400", "tru", "True", "nul", '"\\x41"', '"\\u004"', '"\\/"', '"\\ud800"', '"\\udc00\\ud800"',
    '"\\ud83d\\ude00"', '"a\tb"', '"a\x01b"', '"a\x7fb"', "[1,]", "1 /* c */", "9007199254740993",
    "12345678901234567890123", "1" * 400,
)  # fmt: skip
SPACES = ("", " ", "\n", "\r\n", "\t", "\x0c", "\x0b", "\u00a0", "\x00", "\ufeff")


def reference(data: bytes) -> tuple[str, Any]:
    """What strict parsing without msgspec makes of the bytes: the value (with its types), or the message."""
    try:
        value = parse_credential(data)
    except CredentialParseError as error:
        return "refused", str(error)
    return "parsed", (value, typed(value))


def compact(data: bytes) -> tuple[str, Any]:
    try:
        value, floats = strict_json.parse_credential_floats(data)
    except CredentialParseError as error:
        return "refused", str(error)
    if floats is not None:
        assert sorted(map(repr, floats)) == sorted(map(repr, floats_in(value)))
    return "parsed", (value, typed(value))


def typed(value: Any) -> Any:
    """The value's structure with the type of every leaf (1 and 1.0, True and 1, 0.0 and -0.0 differ)."""
    if isinstance(value, dict):
        return [(type(value).__name__, key, typed(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, float):
        return ("float", repr(value))
    return type(value).__name__


def floats_in(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [item for member in value.values() for item in floats_in(member)]
    if isinstance(value, list):
        return [item for member in value for item in floats_in(member)]
    return []


def encodings(value: dict[str, Any]) -> list[bytes]:
    """The value as JSON text: as msgspec and ``json`` write it (raw, indented, escaped); lone surrogates escaped."""
    found = [json.dumps(value).encode(), json.dumps(value, indent=1).encode()]
    for text in (json.dumps(value, ensure_ascii=False), json.dumps(value, ensure_ascii=False, indent=2)):
        with contextlib.suppress(UnicodeEncodeError):
            found.append(text.encode("utf-8"))
    return found


def assert_agree(data: bytes) -> None:
    fast = strict_json._parse_compact(data)
    expected = reference(data)
    if fast is not None:  # taken: it must be what the reference parses, with every float
        assert expected == ("parsed", (fast[0], typed(fast[0])))
        assert sorted(map(repr, fast[1])) == sorted(map(repr, floats_in(fast[0])))
    assert compact(data) == expected


# ------------------------------------------------------------------------------------------------ parsing


@PROPERTY
@given(st.dictionaries(texts, values, max_size=4), st.lists(st.tuples(texts, values), max_size=2))
def test_the_msgspec_parse_gives_what_the_reference_gives(
    value: dict[str, Any], duplicates: list[tuple[str, Any]]
) -> None:
    for data in encodings(value):
        assert_agree(data)
        if duplicates:  # the same key twice, as JSON text can have it
            extra = ",".join(f"{json.dumps(key)}:{json.dumps(item)}" for key, item in duplicates).encode()
            assert_agree(data.rstrip()[:-1] + (b"," if len(data.strip()) > 2 else b"") + extra + b"}")


@pytest.mark.parametrize("token", ODD_SPELLINGS)
@pytest.mark.parametrize("space", SPACES)
def test_odd_spellings_and_white_space_are_never_taken_where_the_reference_refuses(token: str, space: str) -> None:
    for text in (
        f'{{"a":{space}{token}}}',
        f'{{"a":[{token}{space}]}}',
        f'{{{space}"b":1,"a":{token}}}{space}',
        f'{{"a":1,"a":{token}}}',
    ):
        assert_agree(text.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize(
    "text",
    [
        '{"a":"e\u0301"}',
        '{"e\u0301":1,"\u00e9":2}',
        '{"a":1,"a":1}',
        '{"a":{"b":1,"b":2}}',
        '{"a":[{"x":1},{"x":1,"x":1}]}',
        '{"a":9007199254740991}',
        '{"a":9007199254740992}',
        '{"a":"9007199254740992"}',
        '{"a":9007199254740992.0}',
        '{"a":1e16}',
        '{"a":1e21}',
        '{"a":-0.0}',
        '{"a":"\\u0000"}',
        '{"a":"\u2028\x7f\u0085"}',
        '["a"]',
        '"a"',
        "{}",
        '{"a":' + "[" * 65 + "]" * 65 + "}",
        '{"a":' + "[" * 30 + "]" * 30 + "}",
        '{"a":"' + "x" * 100 + '"}' + " " * 3,
    ],
)
def test_odd_credentials_give_what_the_reference_gives(text: str) -> None:
    assert_agree(text.encode())
    assert_agree(b"\xef\xbb\xbf" + text.encode())
    assert_agree(text.encode()[:-1])  # cut short


@pytest.mark.parametrize("bad", [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82"])
def test_bytes_that_are_not_utf8_are_refused_as_the_reference_refuses_them(bad: bytes) -> None:
    assert_agree(b'{"a":"x' + bad + b'"}')


def test_ordinary_credentials_take_the_msgspec_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """The property would test the reference against itself if msgspec's path were never taken."""
    loads = [0]
    original = json.loads

    def counted(*args: Any, **kwargs: Any) -> Any:
        loads[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(json, "loads", counted)
    for credential in generate_credentials(20, seed=5, salted=False):
        for data in (json.dumps(credential, ensure_ascii=False).encode(), json.dumps(credential, indent=2).encode()):
            if b"\\u" not in data:
                assert strict_json._parse_compact(data) is not None
            assert_agree(data)
    data = json.dumps(next(generate_credentials(1, salted=False)), ensure_ascii=False).encode()
    intake.prepare_bytes(data, "x")  # the first loads the schema
    loads[0] = 0
    intake.prepare_bytes(data, "x")
    assert loads == [0]  # was 1: the standard library's decoder with a Python hook per object


# ------------------------------------------------------------------------------------------------ JCS


def outcome(dumps: Callable[[Any], bytes], value: Any) -> tuple[str, Any]:
    try:
        return "bytes", dumps(value)
    except (ValueError, TypeError, RecursionError) as error:
        return "refused", type(error)


JCS_FLOATS = st.floats() | st.sampled_from([*EDGE_NUMBERS, math.nan, math.inf])
jcs_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**54), 2**54) | JCS_FLOATS | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=12,
)


@PROPERTY
@given(jcs_values)
@example({"\ue000": 1, "\U0001f600": 2, "\uffff": 3, "a": 1.5})
@example({"a": [5.0, 1e-7, 1e21, 1.5]})
@example({"a": "\ud800"})
@example({"a": 2**53})
def test_dumps_issuer_gives_the_bytes_of_rfc8785(value: Any) -> None:
    assert outcome(jcs.dumps_issuer, value) == outcome(rfc8785.dumps, value)


@PROPERTY
@given(st.dictionaries(texts, values, max_size=5))
def test_dumps_issuer_of_a_parsed_value_with_its_floats_gives_the_bytes_of_rfc8785(value: dict[str, Any]) -> None:
    for data in encodings(value):
        try:
            parsed, floats = strict_json.parse_credential_floats(data)
        except CredentialParseError:
            continue
        canonical = outcome(lambda item, known=floats: jcs.dumps_issuer(item, known), parsed)  # type: ignore[misc]
        assert canonical == outcome(rfc8785.dumps, parsed)
        document = {**parsed, "anchorSalt": "0x" + "00" * 32}
        assert intake._document_text(document, floats) == json.dumps(
            document, ensure_ascii=False, separators=(",", ":")
        )


def test_the_usual_credential_is_canonicalized_and_stored_by_msgspec(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the standard library's encoder nor ``rfc8785`` runs for the usual credential."""
    inputs = [json.dumps(item, ensure_ascii=False).encode() for item in generate_credentials(10, seed=2, salted=False)]
    intake.prepare_bytes(inputs[0], "x")  # the first loads the schema
    used: list[str] = []
    for owner, name in ((jcs._ENCODER, "encode"), (json, "dumps"), (rfc8785, "dumps")):
        original = getattr(owner, name)

        def counted(*args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            used.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)
    for data in inputs:
        intake.prepare_bytes(data, "x")
    assert used == []  # was ["encode", "encode", "dumps"] per credential


# ------------------------------------------------------------------------------------------------ the queue


def new_credential(**changes: Any) -> NewCredential:
    fields: dict[str, Any] = {
        "credential_id": "urn:x:1",
        "content_hash": b"\x01" * 32,
        "digest": b"\x02" * 32,
        "document": "{}",
        "issuer": "did:web:x",
    }
    return NewCredential(**(fields | changes))


def as_row(item: NewCredential) -> tuple[Any, ...]:
    return intake._to_row("src", item)[1:]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"digest": b"\x02" * 31}, "urn:x:1: digest must be 32 bytes"),
        ({"content_hash": b"\x01" * 33}, "urn:x:1: content_hash must be 32 bytes"),
        ({"credential_id": ""}, "a credential to queue needs its id"),
        ({"status_list": 1}, "status_list and status_index are both integers >= 0, or both None"),
        ({"status_list": -1, "status_index": 0}, "status_list and status_index are both integers >= 0"),
        ({"status_list": True, "status_index": 0}, "status_list and status_index are both integers >= 0"),
    ],
)
def test_queue_rows_refuses_what_queue_refuses_with_the_same_message(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    with Store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        item = new_credential(**changes)
        with pytest.raises(InvalidInputError, match=message):
            store.queue([item])
        with pytest.raises(InvalidInputError, match=message):
            store.queue_rows([as_row(item)])
        for row in (("urn:x:1",), [*as_row(new_credential())], (*as_row(new_credential())[:1], "0xAB", *"abcde")):
            with pytest.raises(InvalidInputError, match=r"queue row|must be 32 bytes"):
                store.queue_rows([row])  # type: ignore[list-item]
        assert store.queued_count() == 0
        assert [outcome.status for outcome in store.queue_rows([as_row(new_credential())] * 2)] == [
            "queued",
            "duplicate",
        ]
        assert store.find_credential("urn:x:1") is not None


# ------------------------------------------------------------------------------------------------ rosters


def test_a_roster_credential_is_written_once_by_msgspec_and_parsed_as_intake_parses_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from anchor.issuing import courses, rosters

    from support.rosters import allowed_grades, course_template, write_csv

    template = course_template("DE")
    grades = allowed_grades(template)
    rows = [["Name", "E-Mail", "Student ID", "Grade", "End date"]]
    rows += [[f"Zoë Ångström {n}", f"learner{n}@uni.example", f"S{n:05}", grades[0], "2025-06-27"] for n in range(5)]
    roster = write_csv(tmp_path / "roster.csv", rows)
    written: list[str] = []
    original = intake._credential_bytes

    def counted(source: str, credential: Any) -> bytes:
        written.append(source)
        return original(source, credential)

    monkeypatch.setattr(intake, "_credential_bytes", counted)
    with Store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        course = courses.save_course(store, "datenkompetenz", template)[0]
        summary = rosters.import_roster(store, course, roster)
        assert summary.intake.queued == 5
        assert written == []  # was one json.dumps per row in this process, then a parse of it in intake
        for sample in summary.samples:
            stored = store.find_credential(sample["id"])
            assert stored is not None
            assert {key: value for key, value in json.loads(stored.document).items() if key != "anchorSalt"} == sample


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"creditsEarned": math.nan}, "row 1: not a JSON credential"),  # raised: not JSON at all
        ({"creditsEarned": math.inf}, "row 1: not a JSON credential"),
        ({"narrative": "a\ud800b"}, "lone surrogate"),  # a refused input
    ],
)
def test_what_msgspec_would_write_wrongly_goes_to_intakes_own_writer(
    change: dict[str, Any], message: str, tmp_path: Path
) -> None:
    """msgspec writes NaN as null and refuses lone surrogates: such a credential is refused as before."""
    from anchor.issuing import rosters

    credential = next(generate_credentials(1, salted=False))
    credential["credentialSubject"] |= change
    assert rosters._credential_text(credential) is credential
    with Store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        rejected: list[intake.Rejected] = []
        if "not a JSON credential" in message:
            with pytest.raises(InvalidInputError, match=message):
                intake.issue_credentials(store, [("row 1", credential)], on_rejected=rejected.append)
        else:
            summary = intake.issue_credentials(store, [("row 1", credential)], on_rejected=rejected.append)
            assert (summary.invalid, summary.committed) == (1, False)
            assert message in str(rejected[0])
        assert store.queued_count() == 0
    ordinary = next(generate_credentials(1, salted=False, seed=4))
    text = rosters._credential_text(ordinary)
    assert isinstance(text, bytes)
    assert parse_credential(text) == ordinary


def test_the_verifiers_parser_and_canonicalizer_never_load_msgspec() -> None:
    """msgspec is the issuer's: ``parse_credential`` and ``jcs.dumps`` (a verifier's) stay without it."""
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "from anchor.credentials import jcs, parse_credential\n"
        "value = parse_credential(json.dumps({'a': [1, 1.5, 'é']}).encode())\n"
        "jcs.dumps(value)\n"
        "print('msgspec' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    "text",
    [
        '{"\ue000": 1, "\U0001f600": 2, "\uffff": 3, "a": 1.5}',  # UTF-16 puts the astral key first
        '{"b": {"\U00010000x": 1, "\uff61": [2]}, "a": "\U0001f600"}',
        '{"a": [5.0, 1e-7, 1.5]}',  # floats msgspec writes otherwise than JCS
    ],
)
def test_dumps_issuer_with_known_floats_sorts_and_writes_as_rfc8785(text: str) -> None:
    parsed, floats = strict_json.parse_credential_floats(text.encode())
    assert floats is not None
    assert jcs.dumps_issuer(parsed, floats) == rfc8785.dumps(parsed)
