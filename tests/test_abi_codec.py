"""The ABI codec against eth_abi (generated types and values), its strictness on hostile data, and the verifier."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from typing import Any

import eth_abi
import pytest
from eth_abi.exceptions import DecodingError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anchor.chain.abi_codec import AbiDecodingError, AbiEncodingError, decode, encode
from anchor.chain.jsonrpc import RpcError
from anchor.chain.registry_abi import NoContractError, RegistryAbi, registry_abi

STATUS = ["(uint8,uint256,uint64,uint64,uint64,uint8)"]
ISSUER = ["(string,bytes2,string,uint64,uint64,uint32)"]
REVOKED = ["uint256[]", "uint8"]

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def normal(value: Any) -> Any:
    """``value`` as decoding returns it: lists become tuples."""
    if isinstance(value, list | tuple):
        return tuple(normal(item) for item in value)
    return value


# --- generated types and values ---------------------------------------------------------------------------

# A type tree is ("leaf", name), ("array", item) or ("tuple", (components...)).
Node = tuple[str, Any]

leaf_names = st.one_of(
    st.integers(1, 32).map(lambda m: f"uint{8 * m}"),
    st.integers(1, 32).map(lambda m: f"bytes{m}"),
    st.sampled_from(["bool", "address", "string", "bytes"]),
)
type_trees: st.SearchStrategy[Node] = st.recursive(
    leaf_names.map(lambda name: ("leaf", name)),
    lambda children: st.one_of(
        children.map(lambda item: ("array", item)),
        st.lists(children, min_size=1, max_size=4).map(lambda parts: ("tuple", tuple(parts))),
    ),
    max_leaves=8,
)


def type_name(node: Node) -> str:
    kind, inner = node
    if kind == "leaf":
        return str(inner)
    if kind == "array":
        return type_name(inner) + "[]"
    return "(" + ",".join(type_name(part) for part in inner) + ")"


def values_of(node: Node) -> st.SearchStrategy[Any]:
    kind, inner = node
    if kind == "array":
        return st.lists(values_of(inner), max_size=4)
    if kind == "tuple":
        return st.tuples(*(values_of(part) for part in inner))
    name = str(inner)
    if name.startswith("uint"):
        return st.integers(0, 2 ** int(name[4:]) - 1)
    if name.startswith("bytes") and name != "bytes":
        size = int(name[5:])
        return st.binary(min_size=size, max_size=size)
    return {
        "bool": st.booleans(),
        "address": st.binary(min_size=20, max_size=20).map(lambda raw: "0x" + raw.hex()),
        "string": st.text(max_size=40),
        "bytes": st.binary(max_size=70),
    }[name]


@st.composite
def typed_values(draw: st.DrawFn) -> tuple[list[str], list[Any]]:
    """An argument list: its type strings and matching values."""
    trees = draw(st.lists(type_trees, max_size=4))
    return [type_name(tree) for tree in trees], [draw(values_of(tree)) for tree in trees]


@given(typed_values())
@PROPERTY
def test_encode_is_byte_identical_to_eth_abi(case: tuple[list[str], list[Any]]) -> None:
    types, values = case
    assert encode(types, values) == eth_abi.encode(types, values)


@given(typed_values())
@PROPERTY
def test_decode_round_trips_eth_abi_encodings(case: tuple[list[str], list[Any]]) -> None:
    types, values = case
    data = eth_abi.encode(types, values)
    decoded = decode(types, data)
    assert decoded == normal(values)
    assert decoded == eth_abi.decode(types, data)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[list[str], bytes]:
    """A valid encoding with a few words overwritten by small, boundary or random numbers, or cut short."""
    types, values = draw(typed_values())
    data = bytearray(eth_abi.encode(types, values))
    for _ in range(draw(st.integers(0, 3))):
        if len(data) < 32:
            break
        at = draw(st.integers(0, len(data) // 32 - 1)) * 32
        value = draw(st.one_of(st.integers(0, 300), st.sampled_from([2**64, 2**255, 2**256 - 1])))
        data[at : at + 32] = word(value)
    cut = draw(st.integers(0, len(data)))
    return types, bytes(data[: cut if draw(st.booleans()) else len(data)])


@given(mutated())
@PROPERTY
def test_decode_accepts_only_what_eth_abi_accepts_with_the_same_value(case: tuple[list[str], bytes]) -> None:
    types, data = case
    try:
        ours = decode(types, data)
    except AbiDecodingError:
        return
    assert ours == eth_abi.decode(types, data)


# --- strictness -------------------------------------------------------------------------------------------


def test_canonical_status_and_issuer_answers_decode() -> None:
    status = (3, 7, 1_700_000_000, 123, 0, 0)
    issuer = ("Universität Wien", b"AT", "https://univie.ac.at", 5, 0, 2)
    assert decode(STATUS, eth_abi.encode(STATUS, [status])) == (status,)
    assert decode(ISSUER, eth_abi.encode(ISSUER, [issuer])) == (issuer,)
    assert decode(REVOKED, eth_abi.encode(REVOKED, [[1, 2, 3], 4])) == ((1, 2, 3), 4)


@pytest.mark.parametrize(
    ("types", "data"),
    [
        (["uint8"], word(1 << 8)),
        (["uint64"], word(2**64)),
        (["uint256", "uint8"], word(1) + word(0x1FF)),
        (["bool"], word(2)),
        (["bool"], word(1 << 8)),
        (["address"], word(1 << 160)),
        (["bytes2"], b"AT\x01" + bytes(29)),
        (["string"], word(32) + word(1) + b"a\x01" + bytes(30)),
        (["bytes"], word(32) + word(3) + b"abc" + bytes(28) + b"\x01"),
        (STATUS, word(1) + word(1) + word(2**64) + word(0) * 3),
    ],
    ids=[
        "uint8-high-bit",
        "uint64-out-of-range",
        "uint8-second",
        "bool-2",
        "bool-high-byte",
        "address-high-byte",
        "bytes2-low-byte",
        "string-padding",
        "bytes-padding",
        "status-uint64",
    ],
)
def test_dirty_padding_and_out_of_range_values_are_rejected(types: list[str], data: bytes) -> None:
    with pytest.raises(AbiDecodingError):
        decode(types, data)
    with pytest.raises(DecodingError):  # eth_abi agrees
        eth_abi.decode(types, data)


@pytest.mark.parametrize(
    "data",
    [
        word(64) + word(0),  # past the end
        word(2**256 - 1) + word(0),
        word(0) + word(0),  # into the head (the offset itself)
    ],
    ids=["past-end", "huge", "into-head"],
)
def test_offsets_outside_the_tail_are_rejected(data: bytes) -> None:
    with pytest.raises(AbiDecodingError, match="offset"):
        decode(["string"], data)


def test_nested_offsets_count_from_their_container() -> None:
    data = eth_abi.encode(["(uint8,string[])"], [(1, ["a", "b"])])
    assert decode(["(uint8,string[])"], data) == ((1, ("a", "b")),)
    # the inner array's first item offset (64, relative to the items' start) moved to 0: points into its head
    broken = bytearray(data)
    items = 32 + 64 + 32  # outer offset, tuple head (uint8, offset), array length
    assert broken[items : items + 32] == word(64)
    broken[items : items + 32] = word(0)
    with pytest.raises(AbiDecodingError, match="offset"):
        decode(["(uint8,string[])"], bytes(broken))


def test_non_canonical_offsets_in_bounds_are_accepted_as_eth_abi_does() -> None:
    data = word(64) + word(0xFF) + word(2) + b"hi" + bytes(30)  # a gap between head and tail
    assert decode(["string"], data) == eth_abi.decode(["string"], data) == ("hi",)
    assert decode(["uint8"], word(5) + b"trailing") == (5,)  # bytes after the value are ignored


@pytest.mark.parametrize("length", [97, 2**32, 2**64, 2**255, 2**256 - 1])
@pytest.mark.parametrize("types", [["uint256[]"], ["string[]"], ["(uint8,uint8)[]"], ["string"], ["bytes"]])
def test_lengths_that_do_not_fit_in_the_data_are_rejected_without_allocating(types: list[str], length: int) -> None:
    data = word(32) + word(length) + word(1) * 3
    with pytest.raises(AbiDecodingError, match="length"):
        decode(types, data)


def test_overlapping_tails_cannot_amplify_the_input() -> None:
    big = "x" * 3200
    data = bytearray(eth_abi.encode(["string[]"], [[big, ""]]))
    aliased = bytearray(data)  # the second item points at the first one's tail
    aliased[96:128] = aliased[64:96]
    assert eth_abi.decode(["string[]"], bytes(aliased)) == ((big, big),)  # eth_abi would read it twice
    with pytest.raises(AbiDecodingError, match="more bytes than the data holds"):
        decode(["string[]"], bytes(aliased))
    # 1,000 items on one 3 kB string: 3 MB out of 35 kB in
    count = 1000
    bomb = word(32) + word(count) + word(32 * count) * count + word(len(big)) + big.encode()
    with pytest.raises(AbiDecodingError, match="more bytes than the data holds"):
        decode(["string[]"], bomb)


@pytest.mark.parametrize(("types", "values"), [(STATUS, [(3, 7, 1, 2, 0, 0)]), (ISSUER, [("n", b"DE", "u", 1, 0, 1)])])
def test_truncated_data_is_rejected(types: list[str], values: list[Any]) -> None:
    data = eth_abi.encode(types, values)
    for size in range(len(data)):
        with pytest.raises(AbiDecodingError):
            decode(types, data[:size])


@pytest.mark.parametrize("raw", [b"\xff", b"\xc3", b"\xed\xa0\x80", b"ok\xc0\xaf"])
def test_invalid_utf8_is_rejected(raw: bytes) -> None:
    data = word(32) + word(len(raw)) + raw.ljust(32, b"\0")
    with pytest.raises(AbiDecodingError, match="UTF-8"):
        decode(["string"], data)
    assert decode(["bytes"], data) == (raw,)


@st.composite
def hostile(draw: st.DrawFn) -> bytes:
    """Random bytes, or words made of offsets, lengths and boundary values that reach deeper paths."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=400))
    words = st.one_of(
        st.sampled_from([0, 1, 2, 31, 32, 64, 96, 128, 160, 192, 224, 256, 2**64, 2**255, 2**256 - 1]),
        st.integers(0, 2**256 - 1),
        st.binary(min_size=32, max_size=32).map(lambda raw: int.from_bytes(raw, "big")),
    )
    data = b"".join(word(value) for value in draw(st.lists(words, max_size=16)))
    return data[: draw(st.integers(0, len(data)))] if draw(st.booleans()) else data


@given(hostile(), st.sampled_from([STATUS, ISSUER, REVOKED, ["(string,bytes,uint8[])[]"], ["string[][]"]]))
@settings(max_examples=1500, deadline=None)
def test_hostile_bytes_raise_only_abi_decoding_error(data: bytes, types: list[str]) -> None:
    with contextlib.suppress(AbiDecodingError):
        decode(types, data)


# --- encoding errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["uint", "uint7", "uint264", "uint08", "int256", "bytes0", "bytes33", "uint8[2]", "()", "(uint8", "(uint8))",
     "(uint8,)", "tuple", " uint8", "fixed128x18", "uint256[", "(uint8)(uint8)"],
)  # fmt: skip
def test_unsupported_type_strings_are_rejected(name: str) -> None:
    with pytest.raises(AbiEncodingError):
        encode([name], [0])
    with pytest.raises(AbiEncodingError):
        decode([name], word(0))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("uint8", 256),
        ("uint8", -1),
        ("uint256", True),
        ("uint256", "1"),
        ("bool", 1),
        ("bytes32", bytes(31)),
        ("bytes2", "AT"),
        ("address", "0x" + "ab" * 19),
        ("address", "ab" * 20),
        ("address", "0x52908400098527886E0F7030069857D2E4169Ee7"),  # bad EIP-55 checksum
        ("string", b"text"),
        ("string", "\ud800"),
        ("bytes", "text"),
        ("uint8[]", 1),
        ("uint8[]", "ab"),
        ("(uint8,bool)", (1,)),
        ("(uint8,bool)", [1, True, 2]),
    ],
)
def test_values_that_do_not_fit_are_rejected(name: str, value: Any) -> None:
    with pytest.raises(AbiEncodingError):
        encode([name], [value])


def test_addresses_encode_from_bytes_lower_upper_or_checksummed_hex() -> None:
    checksummed = "0x52908400098527886E0F7030069857D2E4169EE7"  # from EIP-55
    raw = bytes.fromhex(checksummed[2:])
    expected = eth_abi.encode(["address"], [checksummed])
    for value in (raw, checksummed, checksummed.lower(), "0x" + checksummed[2:].upper()):
        assert encode(["address"], [value]) == expected
    assert decode(["address"], expected) == (checksummed.lower(),)


def test_argument_counts_must_match() -> None:
    with pytest.raises(AbiEncodingError):
        encode(["uint8", "uint8"], [1])
    with pytest.raises(AbiEncodingError):
        encode("uint8", [1])


# --- the verifier's use -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def abi() -> RegistryAbi:
    return registry_abi()


def test_call_data_equals_eth_abi(abi: RegistryAbi) -> None:
    digest = "0x" + "ab" * 32
    proof = ["0x" + "01" * 32, "0x" + "fe" * 32]
    expected = eth_abi.encode(
        ["uint256", "uint256", "bytes32", "bytes32[]"], [7, 3, bytes.fromhex("ab" * 32), [b"\x01" * 32, b"\xfe" * 32]]
    )
    assert abi.status_call(7, 3, digest, proof) == "0x" + abi._status.selector.hex() + expected.hex()
    assert abi.status_call(1, 0, digest, []).startswith("0x" + abi._status.selector.hex())
    assert abi.issuer_call(42) == "0x" + abi._issuer.selector.hex() + eth_abi.encode(["uint256"], [42]).hex()


def test_answers_decode_and_bad_answers_map_to_rpc_errors(abi: RegistryAbi) -> None:
    status = "0x" + eth_abi.encode(STATUS, [(1, 7, 100, 10, 0, 0)]).hex()
    assert abi.decode_status(status).issuer_id == 7
    issuer = "0x" + eth_abi.encode(ISSUER, [("Uni", b"DE", "https://u.example", 1, 0, 2)]).hex()
    assert abi.decode_issuer(7, issuer).country == "DE"
    revoked = "0x" + eth_abi.encode(REVOKED, [[4, 9], 2]).hex()
    assert abi.decode_revoked(revoked) == ([4, 9], 2)
    with pytest.raises(NoContractError, match="no data"):
        abi.decode_status("0x")
    with pytest.raises(NoContractError, match="does not decode"):
        abi.decode_status("0x" + "ff" * 192)
    with pytest.raises(NoContractError, match="does not decode"):
        abi.decode_issuer(7, "0x" + word(2**200).hex())
    with pytest.raises(RpcError, match="not 0x-hex"):
        abi.decode_status("0xzz")
    with pytest.raises(RpcError, match="does not decode"):
        abi.decode_revoked("0x" + word(64).hex())


def test_the_verifier_does_not_import_eth_abi() -> None:
    code = (
        "import json, sys\n"
        "import anchor.chain.abi_codec\n"
        "heavy = ('eth_abi', 'eth_utils', 'eth_typing', 'web3', 'parsimonious')\n"
        "codec = sorted(m for m in heavy if m in sys.modules)\n"
        "import anchor.verifier, anchor.verifier.onchain\n"
        "verifier = sorted(m for m in ('eth_abi', 'parsimonious') if m in sys.modules)\n"
        "print(json.dumps([codec, verifier]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [[], []]
