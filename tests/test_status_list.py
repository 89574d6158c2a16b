"""W3C Bitstring Status List v1.0 (anchor.credentials.status_list): the specification's examples, bounds, strictness."""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import secrets
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchor.credentials.status_list import (
    MAX_LIST_BYTES,
    MIN_ENTRIES,
    StatusBits,
    StatusEntry,
    StatusListError,
    decode_list,
    encode_list,
    find_status_entry,
    list_file_name,
    parse_status_entry,
    parse_status_list_credential,
    shuffled_index,
    status_entry_for,
    status_list_credential,
    status_list_url,
)

#: The encodedList of every example of the Recommendation (https://www.w3.org/TR/vc-bitstring-status-list/,
#: Examples 3 and 5): an empty list of 131,072 entries.
SPEC_ENCODED_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
#: Example 3 of the Recommendation, "Example BitstringStatusListCredential", as printed.
SPEC_EXAMPLE_3: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "id": "https://example.com/credentials/status/3",
    "type": ["VerifiableCredential", "BitstringStatusListCredential"],
    "issuer": "did:example:12345",
    "validFrom": "2021-04-05T14:27:40Z",
    "credentialSubject": {
        "id": "https://example.com/status/3#list",
        "type": "BitstringStatusList",
        "statusPurpose": "revocation",
        "encodedList": SPEC_ENCODED_LIST,
    },
}
#: Example 1's revocation entry.
SPEC_ENTRY = {
    "id": "https://example.com/credentials/status/3#94567",
    "type": "BitstringStatusListEntry",
    "statusPurpose": "revocation",
    "statusListIndex": "94567",
    "statusListCredential": "https://example.com/credentials/status/3",
}
BASE = "https://uni.example/status"


def gzip_member(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def multibase(data: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---------------------------------------------------------------------------------------------- the specification


def test_the_specifications_encoded_list_is_reproduced_byte_for_byte() -> None:
    assert decode_list(SPEC_ENCODED_LIST) == bytes(MIN_ENTRIES // 8)
    assert StatusBits().encode() == SPEC_ENCODED_LIST
    assert encode_list(bytes(16384)) == SPEC_ENCODED_LIST


def test_the_specifications_example_3_is_what_the_builder_makes() -> None:
    built = status_list_credential(
        "https://example.com/credentials/status/3",
        "did:example:12345",
        StatusBits(),
        datetime(2021, 4, 5, 14, 27, 40, tzinfo=UTC),
    )
    # The example's subject id lives under /status/, not /credentials/status/ (an inconsistency of the
    # example; the id is not used in validation). anchor, like Digital Bazaar's library, uses <list URL>#list.
    expected = json.loads(json.dumps(SPEC_EXAMPLE_3))
    expected["credentialSubject"]["id"] = "https://example.com/credentials/status/3#list"
    assert built == expected
    parsed = parse_status_list_credential(SPEC_EXAMPLE_3)
    assert parsed.url == "https://example.com/credentials/status/3"
    assert parsed.issuer == "did:example:12345"
    assert parsed.bits == StatusBits()


def test_the_specifications_entry_is_read() -> None:
    entry = parse_status_entry(SPEC_ENTRY)
    assert entry == StatusEntry("https://example.com/credentials/status/3", 94567)
    assert entry.to_json() == SPEC_ENTRY


def test_index_zero_is_the_left_most_bit_and_the_last_index_the_right_most() -> None:
    """Section 7.1: index 0 is the left-most bit of the bitstring (0x80 of the first byte)."""
    bits = StatusBits()
    bits.set(0)
    bits.set(9)
    bits.set(MIN_ENTRIES - 1)
    raw = bits.to_bytes()
    assert raw[0] == 0x80
    assert raw[1] == 0x40
    assert raw[-1] == 0x01
    assert sum(raw) == 0x80 + 0x40 + 0x01
    assert list(bits.set_indices()) == [0, 9, MIN_ENTRIES - 1]
    assert bits.get(9)
    assert not bits.get(8)
    assert not bits.get(10)
    again = StatusBits.decode(bits.encode())
    assert again == bits
    bits.set(9, False)
    assert not bits.get(9)


@settings(max_examples=40, deadline=None)
@given(st.sets(st.integers(0, MIN_ENTRIES - 1), max_size=60), st.integers(0, MIN_ENTRIES - 1))
def test_encoding_round_trips_and_each_entry_is_its_own(indices: set[int], probe: int) -> None:
    bits = StatusBits()
    for index in indices:
        bits.set(index)
    decoded = StatusBits.decode(bits.encode())
    assert list(decoded.set_indices()) == sorted(indices)
    assert decoded.get(probe) is (probe in indices)


def test_lists_shorter_than_the_minimum_or_not_whole_bytes_are_refused() -> None:
    with pytest.raises(StatusListError, match="at least 131072 entries"):
        StatusBits(MIN_ENTRIES - 8)
    with pytest.raises(StatusListError, match="whole number of bytes"):
        StatusBits(MIN_ENTRIES + 1)
    with pytest.raises(StatusListError, match="at least 131072 entries"):
        decode_list(multibase(gzip_member(bytes(16383))))
    assert len(StatusBits(MIN_ENTRIES * 2)) == MIN_ENTRIES * 2
    with pytest.raises(StatusListError, match="outside the list"):
        StatusBits().get(MIN_ENTRIES)
    with pytest.raises(StatusListError, match="outside the list"):
        StatusBits().set(-1)


# ---------------------------------------------------------------------------------------------- hostile lists


def test_a_list_that_expands_beyond_the_cap_is_refused_without_expanding_it() -> None:
    bomb = multibase(gzip_member(bytes(MAX_LIST_BYTES + 8)))
    assert len(bomb) < 40_000  # 16 MiB of zeros compress to about 16 KB
    with pytest.raises(StatusListError, match=f"more than {MAX_LIST_BYTES} bytes"):
        decode_list(bomb)
    small_cap = multibase(gzip_member(bytes(64 * 1024)))
    with pytest.raises(StatusListError, match="more than 32768 bytes"):
        decode_list(small_cap, max_bytes=32 * 1024)
    assert len(decode_list(small_cap, max_bytes=64 * 1024)) == 64 * 1024


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        (SPEC_ENCODED_LIST[1:], "must start with 'u'"),
        ("z" + SPEC_ENCODED_LIST[1:], "must start with 'u'"),
        (SPEC_ENCODED_LIST + "=", "base64url without padding"),
        (SPEC_ENCODED_LIST.replace("-", "+"), "base64url without padding"),
        (SPEC_ENCODED_LIST + "A", "base64url without padding"),  # a length no base64 text has
        (SPEC_ENCODED_LIST[:-8], "truncated"),
        (multibase(gzip_member(bytes(16384)) + b"\x00"), "1 bytes after its GZIP data"),
        (multibase(gzip_member(bytes(8192)) + gzip_member(bytes(8192))), "after its GZIP data"),
        (multibase(__import__("zlib").compress(bytes(16384))), "not GZIP"),
        (multibase(bytes(16384)), "not GZIP"),
        (42, "must be a string"),
        ("u" + "A" * (4 * (MAX_LIST_BYTES + 1024) // 3 + 8), "characters long"),
    ],
)
def test_malformed_encoded_lists_are_refused_saying_why(encoded: object, message: str) -> None:
    with pytest.raises(StatusListError, match=message):
        decode_list(encoded)


# ---------------------------------------------------------------------------------------------- entries


def test_entries_are_built_with_the_list_url_and_a_decimal_index() -> None:
    assert status_list_url(BASE, 3) == "https://uni.example/status/3.json"
    assert status_list_url(BASE + "/", 3) == "https://uni.example/status/3.json"
    assert list_file_name(status_list_url(BASE, 3)) == "3.json"
    entry = status_entry_for(BASE, 3, 94567)
    assert entry == {
        "id": "https://uni.example/status/3.json#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": "https://uni.example/status/3.json",
    }
    assert parse_status_entry(entry) == StatusEntry("https://uni.example/status/3.json", 94567)
    assert find_status_entry({"credentialStatus": entry}) == parse_status_entry(entry)
    assert find_status_entry({"credentialStatus": [entry]}) == parse_status_entry(entry)
    assert find_status_entry({}) is None


@pytest.mark.parametrize(
    ("base", "number", "message"),
    [
        ("http://uni.example/status", 1, "not an https URL"),
        ("https:///status", 1, "not an https URL with a host"),
        ("https://user:pw@uni.example/status", 1, "user name or password"),
        ("https://uni.example/status#x", 1, "fragment"),
        ("https://uni.example/status?x=1", 1, "query"),
        ("https://uni.example/sta tus", 1, "printable ASCII without spaces"),
        ("https://uni.example:99999/status", 1, "not a URL"),
        (BASE, 0, "not a positive integer"),
        (BASE, True, "not a positive integer"),
    ],
)
def test_bad_base_urls_and_list_numbers_are_refused(base: str, number: int, message: str) -> None:
    with pytest.raises(StatusListError, match=message):
        status_list_url(base, number)


def changed(**members: object) -> dict[str, object]:
    entry: dict[str, object] = dict(SPEC_ENTRY)
    for key, value in members.items():
        if value is None:
            entry.pop(key)
        else:
            entry[key] = value
    return entry


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (changed(type="StatusList2021Entry"), r"credentialStatus\.type must be 'BitstringStatusListEntry'"),
        (changed(statusPurpose="suspension"), r"credentialStatus\.statusPurpose must be 'revocation'"),
        (changed(statusListIndex=94567), r"statusListIndex must be a decimal string"),
        (changed(statusListIndex="094567"), r"statusListIndex must be a decimal string"),
        (changed(statusListIndex="-1"), r"statusListIndex must be a decimal string"),
        (changed(statusListIndex="+1"), r"statusListIndex must be a decimal string"),
        (changed(statusListIndex=" 1"), r"statusListIndex must be a decimal string"),
        (changed(statusListIndex="١٢"), r"statusListIndex must be a decimal string"),  # Arabic-Indic digits
        (changed(statusListIndex="9" * 400), r"statusListIndex must be a decimal string"),
        (changed(statusListIndex="9999999999"), r"beyond any accepted list"),
        (changed(statusListCredential="http://example.com/credentials/status/3"), r"not an https URL"),
        (changed(id="https://example.com/credentials/status/3"), r"credentialStatus\.id must be"),
        (changed(id="https://example.com/credentials/status/3#94568"), r"credentialStatus\.id must be"),
        (changed(id=None), r"lacks id"),
        (changed(statusListCredential=None), r"lacks statusListCredential"),
        (changed(statusSize=2), r"members anchor does not use: statusSize"),
        ("not an object", r"must be an object"),
    ],
)
def test_entries_are_parsed_strictly_naming_the_member(entry: object, message: str) -> None:
    with pytest.raises(StatusListError, match=message):
        parse_status_entry(entry)


def test_a_credential_with_several_status_entries_is_refused() -> None:
    with pytest.raises(StatusListError, match="one entry, not 2"):
        find_status_entry({"credentialStatus": [SPEC_ENTRY, SPEC_ENTRY]})
    with pytest.raises(StatusListError, match=r"credentialStatus\[0\]\.type"):
        find_status_entry({"credentialStatus": [changed(type="X")]})


# ---------------------------------------------------------------------------------------------- list credentials


def spec_list(**members: object) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(SPEC_EXAMPLE_3))
    for key, value in members.items():
        if key.startswith("subject_"):
            document["credentialSubject"][key.removeprefix("subject_")] = value
        else:
            document[key] = value
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (spec_list(**{"@context": ["https://www.w3.org/2018/credentials/v1"]}), "@context must be a list starting"),
        (spec_list(type=["VerifiableCredential", "StatusList2021Credential"]), "type must list"),
        (spec_list(id="http://example.com/credentials/status/3"), "id .* is not an https URL"),
        (spec_list(issuer=""), "issuer must be a DID or URL"),
        (spec_list(subject_type="StatusList2021"), r"credentialSubject\.type must be"),
        (spec_list(subject_statusPurpose="suspension"), r"statusPurpose must be 'revocation'"),
        (spec_list(subject_encodedList="H4sI"), r"credentialSubject\.encodedList .* must start with 'u'"),
        (spec_list(credentialSubject=[]), "credentialSubject must be one object"),
        ([], "is a JSON object"),
    ],
)
def test_status_list_credentials_are_parsed_strictly(document: object, message: str) -> None:
    with pytest.raises(StatusListError, match=message):
        parse_status_list_credential(document)


def test_the_issuer_may_be_an_object_with_an_id() -> None:
    parsed = parse_status_list_credential(spec_list(issuer={"id": "did:example:12345", "name": "Uni"}))
    assert parsed.issuer == "did:example:12345"


def test_valid_from_needs_a_timezone() -> None:
    with pytest.raises(StatusListError, match="timezone"):
        status_list_credential(BASE + "/1.json", "did:example:1", StatusBits(), datetime(2025, 1, 1))


# ---------------------------------------------------------------------------------------------- index order


@pytest.mark.parametrize("size", [1, 2, 3, 1000, 4096, 5003])
def test_shuffled_indices_are_a_permutation(size: int) -> None:
    key = secrets.token_bytes(16)
    indices = [shuffled_index(key, position, size) for position in range(size)]
    assert sorted(indices) == list(range(size))


def test_shuffled_indices_reveal_no_order_and_depend_on_the_key() -> None:
    key = bytes(range(16))
    first = [shuffled_index(key, position, MIN_ENTRIES) for position in range(2000)]
    assert len(set(first)) == 2000
    assert all(0 <= index < MIN_ENTRIES for index in first)
    # neither sequential nor clustered at the start: the positions spread over the whole list
    assert sum(1 for a, b in itertools.pairwise(first) if b == a + 1) < 5
    assert max(first) > MIN_ENTRIES * 0.9
    assert min(first) < MIN_ENTRIES * 0.1
    other = [shuffled_index(bytes(range(1, 17)), position, MIN_ENTRIES) for position in range(2000)]
    assert sum(1 for a, b in zip(first, other, strict=True) if a == b) < 5
    with pytest.raises(StatusListError, match="outside a list of"):
        shuffled_index(key, MIN_ENTRIES, MIN_ENTRIES)
    with pytest.raises(StatusListError, match="16 bytes"):
        shuffled_index(b"short", 0, MIN_ENTRIES)


#: Example 5 of the Recommendation, its eddsa-rdfc-2022 tab: the status list signed by a did:key.
SPEC_EXAMPLE_5_PROOF = {
    "type": "DataIntegrityProof",
    "created": "2025-04-27T20:53:40Z",
    "verificationMethod": "did:key:z6MkeVw6bAm59CopQquZcVLUpapvEEELqfpdWfHkSont8HR6",
    "cryptosuite": "eddsa-rdfc-2022",
    "proofPurpose": "assertionMethod",
    "proofValue": "z4hwxiLnXHLUAomJXtfoowKc1ZBNpw1Wjw1vYsXEvifETSh6odbtmh6qfEDijRBxCZJ5hjguPotaywncvcHQ9yfRf",
}


def test_the_specifications_signed_status_list_verifies() -> None:
    """Example 5 (eddsa-rdfc-2022) verifies with anchor's Data Integrity code, and a changed bit does not.

    The example's second context (``https://www.w3.org/ns/credentials/examples/v2``, not shipped) only sets
    ``@vocab``; every term of a status list is defined by the VC 2.0 context, so the canonical N-Quads, and
    with them the signature, are the same without it.
    """
    from anchor.credentials.data_integrity import SignatureError, verify
    from anchor.credentials.multikey import public_key_from_multibase

    key = public_key_from_multibase("z6MkeVw6bAm59CopQquZcVLUpapvEEELqfpdWfHkSont8HR6")
    verify(SPEC_EXAMPLE_3, SPEC_EXAMPLE_5_PROOF, key)
    parsed = parse_status_list_credential({**SPEC_EXAMPLE_3, "proof": SPEC_EXAMPLE_5_PROOF})
    assert parsed.bits == StatusBits()
    revoked = StatusBits()
    revoked.set(94567)
    with pytest.raises(SignatureError, match="does not match"):
        verify(spec_list(subject_encodedList=revoked.encode()), SPEC_EXAMPLE_5_PROOF, key)


def test_the_configuration_checks_the_status_settings() -> None:
    from anchor.config import STATUS_LIST_SIZES, Settings
    from anchor.errors import InvalidInputError

    assert STATUS_LIST_SIZES == (MIN_ENTRIES, MAX_LIST_BYTES * 8)  # the configuration's bounds are the format's
    given: dict[str, Any] = {"status_base_url": BASE, "status_list_size": "262144", "status_publish_dir": "www"}
    settings = Settings(**given)  # strings, as from the environment
    assert (settings.status_base_url, settings.status_list_size, str(settings.status_publish_dir)) == (
        BASE,
        262144,
        "www",
    )
    assert Settings().status_base_url is None
    assert Settings().status_list_size == MIN_ENTRIES
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"status_base_url": "http://uni.example/status"},
            "status_base_url: 'http://uni.example/status' is not an https",
        ),
        (
            {"status_base_url": "https://me:secret@uni.example/s"},
            r"'https://me:\*\*\*\*@uni\.example/\*\*\*\*' must not",
        ),
        ({"status_base_url": "https://uni.example/s?a=1"}, "must not have a query"),
        ({"status_list_size": MIN_ENTRIES - 8}, "status_list_size: 131064 is not a status list size"),
        ({"status_list_size": MIN_ENTRIES + 4}, "a multiple of 8"),
    ]
    for bad, message in cases:
        with pytest.raises(InvalidInputError, match=message):
            Settings(**bad)
    with pytest.raises(InvalidInputError) as shown:
        Settings(status_base_url="https://me:secret@uni.example/s")
    assert "secret" not in str(shown.value)


def test_an_entry_maps_back_to_its_list_and_index() -> None:
    from anchor.credentials.status_list import status_slot

    assert status_slot(status_entry_for(BASE, 12, 345), BASE) == (12, 345)
    assert status_slot(status_entry_for(BASE, 12, 345), BASE + "/") == (12, 345)
    with pytest.raises(StatusListError, match=r"not a status list under https://other\.example/status"):
        status_slot(status_entry_for(BASE, 12, 345), "https://other.example/status")
    for url in ("https://uni.example/status/012.json", "https://uni.example/status/list.json"):
        entry = {**status_entry_for(BASE, 1, 5), "statusListCredential": url, "id": url + "#5"}
        with pytest.raises(StatusListError, match="not a status list of anchor's"):
            status_slot(entry, BASE)
