"""Intake's shortcuts (issue 13) give exactly what the slow path gives.

- the v1 digest is spliced from the unsalted canonical bytes intake computes for the content hash
  (``intake._digest``): the same 32 bytes as ``credential_digest``, whatever the top-level keys;
- the control-character check reads the bytes a credential was parsed from (``validate_parsed(text=...)``):
  the same verdict and problems as the walk, for every way JSON text can carry a control character;
- directory inputs are named as ``pathlib`` names them, and the spooled records come back intact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
import sha3
from hypothesis import given, settings
from hypothesis import strategies as st

from anchor.credentials import (
    SALT_KEY,
    canonical_bytes,
    credential_digest,
    hashed_view,
    parse_credential,
    validate_credential,
    with_salt,
)
from anchor.credentials.examples import generate_credentials
from anchor.credentials.validation import validate_parsed
from anchor.errors import AnchorError, CredentialValidationError
from anchor.issuing import intake
from anchor.issuing.store import Store

EXAMPLES = list(generate_credentials(6, seed=31, salted=False))
#: Keys on both sides of "anchorSalt" in UTF-16 order, some of which sort differently by code point.
NEAR_SALT = [
    "anchorSal",
    "anchorSalt\U0001f600",
    "anchorSalt\uffff",
    "anchorSaltA",
    "anchorS",
    "anchorT",
    "anchor",
    "@a",
    "\U0001f600",
    "\uffff",
    "A",
    "zz",
    "proof",
    "anchor",
]


def outcome(check: Any) -> Any:
    """What ``check()`` returns, or the type and message of the error it raises."""
    try:
        return check()
    except AnchorError as error:
        return type(error), str(error)


def keccak(data: bytes) -> bytes:
    return bytes(sha3.keccak_256(data).digest())


@settings(max_examples=300, deadline=None)
@given(
    which=st.integers(0, len(EXAMPLES) - 1),
    extra=st.dictionaries(st.sampled_from(NEAR_SALT) | st.text(max_size=4), st.integers(-5, 5) | st.text(max_size=3)),
    drop=st.sets(st.sampled_from(["@context", "anchorFormat", "id", "name", "validFrom"])),
    salt=st.binary(min_size=32, max_size=32),
)
def test_the_spliced_v1_digest_is_credential_digest(
    which: int, extra: dict[str, Any], drop: set[str], salt: bytes
) -> None:
    base = {key: value for key, value in EXAMPLES[which].items() if key not in drop}
    credential = {**base, **{key: value for key, value in extra.items() if key not in ("anchorFormat", SALT_KEY)}}
    document = with_salt(credential, salt)
    unsalted = {key: value for key, value in document.items() if key != SALT_KEY}
    try:
        unsalted_canonical = canonical_bytes(unsalted)
    except AnchorError:  # an anchorFormat dropped: nothing to splice into
        return
    spliced = outcome(lambda: intake._digest(document, unsalted_canonical))
    assert spliced == outcome(lambda: credential_digest(document))


def test_a_malformed_salt_is_refused_as_credential_digest_refuses_it() -> None:
    document = {**EXAMPLES[0], SALT_KEY: "0x" + "AB" * 32}
    unsalted = dict(EXAMPLES[0])
    with pytest.raises(CredentialValidationError) as fast:
        intake._digest(document, canonical_bytes(unsalted))
    with pytest.raises(CredentialValidationError) as slow:
        credential_digest(document)
    assert fast.value.problems == slow.value.problems


def test_prepared_credentials_carry_the_reference_hashes() -> None:
    for number, credential in enumerate(EXAMPLES):
        data = json.dumps(credential, ensure_ascii=False, indent=2).encode()
        item = intake.prepare_bytes(data, f"c{number}")
        document = json.loads(item.document)
        unsalted = {key: value for key, value in document.items() if key != SALT_KEY}
        assert item.digest == keccak(rfc8785.dumps(hashed_view(document)))
        assert item.content_hash == keccak(rfc8785.dumps(hashed_view(unsalted)))


# ------------------------------------------------------------------------------------------------ controls

CONTROL_FORMS = st.sampled_from(
    [
        "\\u0001",
        "\\u001F",
        "\\u001f",
        "\\u007f",
        "\\u0085",
        "\\u009F",
        "\\b",
        "\\f",
        "\x7f",
        "\u0085",
        "\u009f",
        "\\t",
        "\\n",
        "\\r",
        "\\\\b",
        "\\\\f",
        "\\\\u0001",
        "\\u00e9",
        "\\u2028",
        "e\u0301",
        "plain",
    ]
)


@settings(max_examples=300, deadline=None)
@given(which=st.integers(0, len(EXAMPLES) - 1), pieces=st.lists(CONTROL_FORMS, max_size=3), in_key=st.booleans())
def test_the_control_check_on_the_parsed_bytes_is_the_walks(which: int, pieces: list[str], in_key: bool) -> None:
    text = json.dumps(EXAMPLES[which], ensure_ascii=False)
    inserted = "".join(pieces)
    if in_key:
        text = text.replace('"name":', f'"na{inserted}me":', 1)
    else:
        text = text.replace('"name": "', f'"name": "{inserted}', 1)
    data = text.encode()
    try:
        credential = parse_credential(data, source="x")
    except AnchorError:
        return
    fast = outcome(lambda: validate_parsed(credential, source="x", text=data))
    assert fast == outcome(lambda: validate_credential(credential, source="x"))
    assert fast == outcome(lambda: validate_parsed(credential, source="x"))


# ------------------------------------------------------------------------------------------------ inputs


def test_directory_inputs_are_named_as_pathlib_names_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/1.json", "a/b/2.json", "a/.hidden.json", "a/notes.txt", "3.json"):
        (tmp_path / name).write_text("{}")
    monkeypatch.chdir(tmp_path)
    for given_as in (".", "a", "a/", str(tmp_path), str(tmp_path) + "/", "./a"):
        expected = sorted(
            str(path) for path in Path(given_as).rglob("*.json") if not any(p.startswith(".") for p in path.parts[-1:])
        )
        names = [source for source, data in intake.iter_inputs([given_as])]
        assert sorted(names) == expected, given_as
        assert intake.count_inputs([given_as]) == len(expected)


def test_duplicates_and_conflicts_are_still_reported_from_the_spool(tmp_path: Path) -> None:
    """The spool (marshal records) is read again only when an outcome is not "queued"."""
    with Store(f"sqlite:///{tmp_path / 'issuer.db'}") as store:
        items = [(f"c{n}", credential) for n, credential in enumerate(EXAMPLES)]
        assert intake.issue_credentials(store, items, workers=1).queued == len(EXAMPLES)
        changed = {**EXAMPLES[2], "name": "Another title"}
        heard: list[str] = []
        summary = intake.issue_credentials(
            store,
            [
                *items[:2],
                ("changed", changed),
                ("fresh", EXAMPLES[0] | {"id": "urn:uuid:" + "1" * 8 + "-1111-4111-8111-" + "1" * 12}),
            ],
            workers=1,
            partial=True,
            on_rejected=lambda rejected: heard.append(rejected.source),
            on_duplicate=lambda source, outcome: heard.append(source),
        )
        assert (summary.queued, sum(summary.duplicates.values()), summary.conflicts) == (1, 2, 1)
        assert sorted(heard) == ["c0", "c1", "changed"]
        record = store.find_credential(EXAMPLES[1]["id"])
        assert record is not None
        assert json.loads(record.document)[SALT_KEY].startswith("0x")
