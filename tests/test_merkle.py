"""anchor.merkle against @openzeppelin/merkle-tree (cross-checks, golden files) and its error cases.

The reference library runs once for the whole module (tests/js/oz_merkle.js, one
batch of cases); each test reads its case's result.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from anchor.errors import InvariantError, MerkleInputError, UnknownFormatError
from anchor.merkle import FORMAT, StandardMerkleTree, core, standard_leaf_hash
from anchor.merkle.encoding import keccak_256

ROOT = Path(__file__).resolve().parent
OZ_SCRIPT = ROOT / "js" / "oz_merkle.js"
GOLDEN = ROOT / "golden" / "merkle"
ANCHOR = ["bytes32", "uint256"]
SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 100]
RNG = random.Random(20240611)
RANDOM_SIZES = sorted(RNG.sample(range(2, 400), 6))
MIXED = ["address", "bool", "int256", "bytes4", "uint8", "string", "bytes", "uint"]


def digest(i: int, salt: str = "") -> bytes:
    return keccak_256(f"credential {salt}{i}".encode()).digest()


def anchor_json(values: list[tuple[bytes, int]]) -> list[list[str]]:
    return [["0x" + d.hex(), str(i)] for d, i in values]


def index_sets(n: int, rng: random.Random) -> list[list[int]]:
    sets = [[0], [n - 1], list(range(n)), list(range(n))[::-1]]
    for _ in range(4):
        sets.append(rng.sample(range(n), rng.randint(1, n)))
    return sets


def address(rng: random.Random) -> str:
    from anchor.addresses import to_checksum_address

    return to_checksum_address("0x" + rng.randbytes(20).hex())


def mixed_value(rng: random.Random, i: int) -> list[Any]:
    return [
        address(rng),
        rng.random() < 0.5,
        str(rng.randint(-(2**255), 2**255 - 1)),
        "0x" + rng.randbytes(4).hex(),
        str(rng.randint(0, 255)),
        f"credential №{i} ✓",
        "0x" + rng.randbytes(rng.randint(0, 70)).hex(),
        str(i),
    ]


def build_cases() -> dict[str, dict[str, Any]]:
    """Every cross-check case, by name: encoding, values in JSON form and the multiproof index sets."""
    rng = random.Random(7)
    cases: dict[str, dict[str, Any]] = {}
    for n in SIZES + RANDOM_SIZES:
        values = [(digest(i, f"n{n}-"), i) for i in range(n)]
        cases[f"anchor-{n}"] = {"encoding": ANCHOR, "values": anchor_json(values), "multiproofs": index_sets(n, rng)}
    # identical values: the sort must keep them in value order, as the JS sort does
    dup = [(digest(i % 3), 7) for i in range(10)]
    cases["anchor-duplicates"] = {"encoding": ANCHOR, "values": anchor_json(dup), "multiproofs": [[0, 3], [1, 2, 9]]}
    for n in (1, 2, 6, 31):
        values = [[address(rng), str(rng.randint(0, 2**256 - 1))] for _ in range(n)]
        cases[f"address-{n}"] = {
            "encoding": ["address", "uint256"],
            "values": values,
            "multiproofs": index_sets(n, rng),
        }
    values = [mixed_value(rng, i) for i in range(12)]
    cases["mixed-12"] = {"encoding": MIXED, "values": values, "multiproofs": index_sets(12, rng)}
    return cases


CASES = build_cases()


def run_oz(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    completed = subprocess.run(
        ["node", str(OZ_SCRIPT)],
        input=json.dumps({"cases": cases}),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    results: list[dict[str, Any]] = json.loads(completed.stdout)["results"]
    return results


@pytest.fixture(scope="module")
def oz() -> dict[str, dict[str, Any]]:
    """The reference library's results for every case, plus OZ loading our dumps ('load:<name>')."""
    names = list(CASES)
    batch: list[dict[str, Any]] = [{"op": "of", **CASES[name]} for name in names]
    for name in names:
        ours = StandardMerkleTree.of(CASES[name]["values"], CASES[name]["encoding"])
        batch.append({"op": "load", "dump": ours.dump()})
    results = run_oz(batch)
    by_name = dict(zip(names, results[: len(names)], strict=True))
    by_name.update({f"load:{name}": r for name, r in zip(names, results[len(names) :], strict=True)})
    for name, result in by_name.items():
        assert "error" not in result, f"{name}: {result}"
    return by_name


# -- cross-checks ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_same_tree_as_openzeppelin(oz: dict[str, dict[str, Any]], name: str) -> None:
    case, expected = CASES[name], oz[name]
    tree = StandardMerkleTree.of(case["values"], case["encoding"])
    assert tree.root == expected["root"]
    assert [tree.get_proof(i) for i in range(len(tree))] == expected["proofs"]
    assert tree.get_all_proofs() == expected["proofs"]
    assert [tree.get_multiproof(s) for s in case["multiproofs"]] == expected["multiproofs"]
    assert tree.dump() == expected["dump"]
    assert json.dumps(tree.dump()) == json.dumps(expected["dump"])  # same keys, same order
    assert tree.render() == expected["render"]


@pytest.mark.parametrize("name", list(CASES))
def test_loads_openzeppelin_dump(oz: dict[str, dict[str, Any]], name: str) -> None:
    loaded = StandardMerkleTree.load(oz[name]["dump"])
    assert loaded.root == oz[name]["root"]
    assert loaded.dump() == oz[name]["dump"]
    assert [loaded.get_proof(i) for i in range(len(loaded))] == oz[name]["proofs"]


@pytest.mark.parametrize("name", list(CASES))
def test_openzeppelin_loads_our_dump(oz: dict[str, dict[str, Any]], name: str) -> None:
    assert oz[f"load:{name}"]["root"] == oz[name]["root"]
    assert oz[f"load:{name}"]["proofs"] == oz[name]["proofs"]


def test_native_python_values_give_the_same_tree(oz: dict[str, dict[str, Any]]) -> None:
    values = [(digest(i, "n33-"), i) for i in range(33)]
    tree = StandardMerkleTree.of(values, ANCHOR)
    assert tree.root == oz["anchor-33"]["root"]
    assert tree.at(5) == values[5]
    assert tree.at(5)[0] is values[5][0]  # the fast path keeps the caller's objects
    assert list(tree) == list(enumerate(values))


def test_bulk_proofs_match_openzeppelin_on_a_larger_tree() -> None:
    values = [(digest(i, "bulk-"), i) for i in range(1500)]
    [expected] = run_oz([{"op": "of", "encoding": ANCHOR, "values": anchor_json(values)}])
    tree = StandardMerkleTree.of(values, ANCHOR)
    assert tree.root == expected["root"]
    assert tree.get_all_proofs() == expected["proofs"]
    assert sorted(index for index, _ in tree.iter_proofs()) == list(range(1500))


def test_openzeppelin_non_canonical_dump_values_load() -> None:
    # OpenZeppelin dumps values exactly as they were given: numbers, hex numbers, upper-case hex.
    values: list[list[Any]] = [["0x" + "AB" * 32, 5], ["0x" + "cd" * 32, "0x10"], ["0x" + "ef" * 32, "17"]]
    [expected] = run_oz([{"op": "of", "encoding": ANCHOR, "values": values}])
    loaded = StandardMerkleTree.load(expected["dump"])
    assert loaded.root == expected["root"]
    assert loaded.dump()["values"][0]["value"] == ["0x" + "ab" * 32, "5"]  # written back in normal form
    assert loaded.dump()["values"][1]["value"] == ["0x" + "cd" * 32, "16"]


def test_long_decimal_strings_with_leading_zeros() -> None:
    value = ["0x" + "00" * 32, "0" * 5000 + "5"]
    assert StandardMerkleTree.of([value], ANCHOR).at(0) == (bytes(32), 5)
    assert StandardMerkleTree.of([[-(2**255) + 1]], ["int256"]).at(0) == (-(2**255) + 1,)
    assert StandardMerkleTree.of([["-" + "0" * 90 + "7"]], ["int8"]).at(0) == (-7,)


def test_openzeppelin_rejects_what_it_should(oz: dict[str, dict[str, Any]]) -> None:
    # our bytes32 rule is stricter than abi-utils (which right-pads short values); make the difference visible
    [short] = run_oz([{"op": "of", "encoding": ANCHOR, "values": [["0x1234", "1"]]}])
    assert "error" not in short
    with pytest.raises(MerkleInputError, match=r"values\[0\]\[0\] \(bytes32\): expected exactly 32 bytes, got 2"):
        StandardMerkleTree.of([["0x1234", "1"]], ANCHOR)


# -- golden files --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bytes32-uint256", "address-uint256"])
def test_golden(name: str) -> None:
    dump = json.loads((GOLDEN / f"{name}.dump.json").read_text())
    root = (GOLDEN / f"{name}.root").read_text().strip()
    proofs = json.loads((GOLDEN / f"{name}.proofs.json").read_text())
    multi = json.loads((GOLDEN / f"{name}.multiproof.json").read_text())
    values = [entry["value"] for entry in dump["values"]]

    tree = StandardMerkleTree.of(values, dump["leafEncoding"])
    assert tree.root == root
    assert tree.dump() == dump
    assert (json.dumps(tree.dump(), indent=2) + "\n") == (GOLDEN / f"{name}.dump.json").read_text()
    assert tree.get_all_proofs() == proofs
    assert tree.get_multiproof(multi["indices"]) == multi["multiproof"]
    assert StandardMerkleTree.load(dump).root == root
    for value, proof in zip(values, proofs, strict=True):
        assert StandardMerkleTree.verify(root, dump["leafEncoding"], value, proof)
    assert StandardMerkleTree.verify_multiproof(root, dump["leafEncoding"], multi["multiproof"])


def test_golden_anchor_root_never_changes() -> None:
    # The root of the golden anchor batch, written here too: changing the golden file alone is not enough.
    assert (GOLDEN / "bytes32-uint256.root").read_text() == (
        "0x667701a3135c5a5bf881c8d8b55b8e29e07643d86661b2cd5ecb0bb40519508f\n"
    )


# -- the hashes themselves -------------------------------------------------------------------------


def test_leaf_is_double_keccak_of_abi_encoding() -> None:
    value = (bytes(range(32)), 258)
    encoded = bytes(range(32)) + (258).to_bytes(32, "big")
    expected = keccak_256(keccak_256(encoded).digest()).digest()
    assert standard_leaf_hash(ANCHOR, value) == expected
    tree = StandardMerkleTree.of([value], ANCHOR)
    assert tree.root == "0x" + expected.hex() == tree.leaf_hash(value)


def test_generic_encoding_equals_fast_path() -> None:
    value = (bytes(range(32)), 2**255 + 3)
    assert standard_leaf_hash(["bytes32", "uint"], value) == standard_leaf_hash(ANCHOR, value)
    from eth_abi.abi import encode

    expected = keccak_256(keccak_256(encode(ANCHOR, list(value))).digest()).digest()
    assert standard_leaf_hash(ANCHOR, value) == expected


def test_inner_node_is_sorted_pair_hash() -> None:
    a, b = digest(1), digest(2)
    assert core.node_hash(a, b) == core.node_hash(b, a) == keccak_256(min(a, b) + max(a, b)).digest()


def test_an_inner_node_is_not_a_leaf() -> None:
    # Second preimage: the children of an inner node, read as a (bytes32, uint256) value, do not prove.
    tree = StandardMerkleTree.of([(digest(i), i) for i in range(4)], ANCHOR)
    left, right = bytes.fromhex(tree.dump()["tree"][1][2:]), bytes.fromhex(tree.dump()["tree"][2][2:])
    low, high = sorted((left, right))
    forged = (low, int.from_bytes(high, "big"))
    assert not StandardMerkleTree.verify(tree.root, ANCHOR, forged, [])


# -- API -------------------------------------------------------------------------------------------


def test_api_basics() -> None:
    values = [(digest(i), i) for i in range(5)]
    tree = StandardMerkleTree.of(iter(values), ANCHOR)  # any iterable
    assert len(tree) == 5
    assert tree.leaf_encoding == ("bytes32", "uint256")
    assert list(tree.entries()) == list(enumerate(values))
    assert tree.leaf_lookup(values[3]) == 3
    assert tree.leaf_lookup(("0x" + values[3][0].hex(), "3")) == 3
    assert sorted(tree.tree_indices) == list(range(4, 9))
    assert "StandardMerkleTree(root=0x" in repr(tree)
    multi = tree.get_multiproof([4, 1])
    assert json.loads(json.dumps(multi)) == multi  # JSON-ready as it is
    assert StandardMerkleTree.verify_multiproof(tree.root, ANCHOR, multi)
    assert StandardMerkleTree.verify(bytes.fromhex(tree.root[2:]), ANCHOR, values[2], tree.get_proof(2))
    tree.validate()
    assert dict(tree.iter_proofs()) == {i: tree.get_proof(i) for i in range(5)}


def test_duplicate_values_lookup_the_last_one_like_openzeppelin() -> None:
    tree = StandardMerkleTree.of([(digest(1), 1), (digest(2), 2), (digest(1), 1)], ANCHOR)
    assert tree.leaf_lookup((digest(1), 1)) == 2
    assert tree.tree_indices[0] != tree.tree_indices[2]


def test_mixed_encoding_normal_forms() -> None:
    tree = StandardMerkleTree.of(CASES["mixed-12"]["values"], MIXED)
    value = tree.at(0)
    assert isinstance(value[0], str)
    assert value[0].startswith("0x")
    assert isinstance(value[1], bool)
    assert isinstance(value[2], int)
    assert isinstance(value[4], int)
    assert isinstance(value[3], bytes)
    assert len(value[3]) == 4
    assert isinstance(value[6], bytes)
    assert tree.dump()["values"][0]["value"] == CASES["mixed-12"]["values"][0]


def test_address_given_as_bytes_or_lower_case_is_checksummed() -> None:
    raw = bytes.fromhex("ab5801a7d398351b8be11c439e05c5b3259aec9b")
    a = StandardMerkleTree.of([(raw, 1)], ["address", "uint256"])
    b = StandardMerkleTree.of([("0x" + raw.hex(), 1)], ["address", "uint256"])
    c = StandardMerkleTree.of([("0x" + raw.hex().upper(), 1)], ["address", "uint256"])
    assert a.root == b.root == c.root
    assert a.at(0)[0] == "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B"


# -- bad input: MerkleInputError naming the problem --------------------------------------------------

GOOD = (bytes(32), 0)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ((bytes(31), 0), r"values\[1\]\[0\] \(bytes32\): expected exactly 32 bytes, got 31"),
        ((bytes(33), 0), r"values\[1\]\[0\] \(bytes32\): expected exactly 32 bytes, got 33"),
        (("0x" + "00" * 31, 0), r"values\[1\]\[0\] \(bytes32\): expected exactly 32 bytes, got 31"),
        (("00" * 32, 0), r"values\[1\]\[0\] \(bytes32\): expected bytes or a 0x-hex string"),
        (("0x" + "zz" * 32, 0), r"values\[1\]\[0\] \(bytes32\): expected bytes or a 0x-hex string"),
        ((None, 0), r"values\[1\]\[0\] \(bytes32\): expected bytes or a 0x-hex string, got None"),
        ((bytes(32), -1), r"values\[1\]\[1\] \(uint256\): -1 is out of range \[0, 2\*\*256\)"),
        ((bytes(32), 2**256), r"values\[1\]\[1\] \(uint256\): .* is out of range"),
        ((bytes(32), True), r"values\[1\]\[1\] \(uint256\): expected an integer, got a bool"),
        ((bytes(32), 1.0), r"values\[1\]\[1\] \(uint256\): expected an integer, got a float"),
        ((bytes(32), "1e3"), r"values\[1\]\[1\] \(uint256\): expected an integer or a decimal or 0x-hex string"),
        ((bytes(32),), r"values\[1\]: expected 2 elements \(bytes32, uint256\), got 1"),
        ((bytes(32), 0, 0), r"values\[1\]: expected 2 elements \(bytes32, uint256\), got 3"),
        (b"\x00" * 64, r"values\[1\]: expected a tuple of 2 elements \(bytes32, uint256\), got a bytes"),
        ("0x" + "00" * 64, r"values\[1\]: expected a tuple of 2 elements \(bytes32, uint256\), got a str"),
        (7, r"values\[1\]: expected a tuple of 2 elements \(bytes32, uint256\), got a int"),
        # the JSON form, as in dumps and multiproofs
        (["0x" + "00" * 31 + " 0", "1"], r"values\[1\]\[0\] \(bytes32\): expected bytes or a 0x-hex string"),
        (["0x" + "00" * 32, "1" * 79], r"values\[1\]\[1\] \(uint256\): 1+\.\.\. \(79 digits\) is out of range"),
        (["0x" + "00" * 32, "2" * 78], r"values\[1\]\[1\] \(uint256\): 2+ is out of range \[0, 2\*\*256\)"),
        (["0x" + "00" * 32, "9" * 5000], r"values\[1\]\[1\] \(uint256\): 9+\.\.\. \(5000 digits\) is out of range"),
        (["0x" + "00" * 32, "\u0663"], r"values\[1\]\[1\] \(uint256\): expected an integer or a decimal"),
        (["0x" + "00" * 32, ""], r"values\[1\]\[1\] \(uint256\): expected an integer or a decimal"),
    ],
)
def test_bad_anchor_value(value: object, message: str) -> None:
    with pytest.raises(MerkleInputError, match=message):
        StandardMerkleTree.of([GOOD, value, GOOD], ANCHOR)  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("encoding", "value", "message"),
    [
        (["address"], ["0x" + "11" * 19], r"\[0\] \(address\): expected 0x followed by 40 hex digits"),
        (["address"], [bytes(19)], r"\[0\] \(address\): expected 20 bytes, got 19"),
        (
            ["address"],
            ["0xab5801a7d398351b8be11c439e05c5b3259aeC9B"],
            r"\[0\] \(address\): mixed-case address '0x.*' fails its EIP-55 checksum",
        ),
        (["bool"], [1], r"\[0\] \(bool\): expected a bool, got a int"),
        (["bool"], ["true"], r"\[0\] \(bool\): expected a bool, got a str"),
        (["int256"], [2**255], r"\[0\] \(int256\): .* is out of range"),
        (["int8"], [-129], r"\[0\] \(int8\): -129 is out of range \[-128, 128\)"),
        (["uint8"], [256], r"\[0\] \(uint8\): 256 is out of range \[0, 256\)"),
        (["bytes4"], ["0x123456"], r"\[0\] \(bytes4\): expected exactly 4 bytes, got 3"),
        (["bytes"], ["0x123"], r"\[0\] \(bytes\): expected bytes or a 0x-hex string of whole bytes"),
        (["string"], [b"abc"], r"\[0\] \(string\): expected a str, got a bytes"),
        (["string"], ["\ud800"], r"\[0\] \(string\): string is not valid UTF-8"),
    ],
)
def test_bad_generic_value(encoding: list[str], value: list[object], message: str) -> None:
    with pytest.raises(MerkleInputError, match=r"values\[0\]" + message):
        StandardMerkleTree.of([value], encoding)


@pytest.mark.parametrize(
    ("encoding", "message"),
    [
        (["uint256[]"], r"leafEncoding\[0\]: unsupported ABI type 'uint256\[\]'"),
        (["(uint256,bool)"], r"leafEncoding\[0\]: unsupported ABI type"),
        (["bytes32", "uint7"], r"leafEncoding\[1\]: invalid integer type 'uint7'"),
        (["uint264"], r"leafEncoding\[0\]: invalid integer type 'uint264'"),
        (["uint08"], r"leafEncoding\[0\]: invalid integer type 'uint08'"),
        (["bytes33"], r"leafEncoding\[0\]: invalid fixed bytes type 'bytes33'"),
        (["bytes0"], r"leafEncoding\[0\]: invalid fixed bytes type 'bytes0'"),
        ([], r"leafEncoding: expected at least one ABI type"),
        ("bytes32", r"leafEncoding: expected a list of ABI type names, got a str"),
        ([32], r"leafEncoding\[0\]: expected an ABI type name, got a int"),
    ],
)
def test_bad_encoding(encoding: Any, message: str) -> None:
    with pytest.raises(MerkleInputError, match=message):
        StandardMerkleTree.of([GOOD], encoding)


def test_empty_tree() -> None:
    with pytest.raises(MerkleInputError, match="cannot build a Merkle tree of no values"):
        StandardMerkleTree.of([], ANCHOR)


@pytest.fixture
def tree5() -> StandardMerkleTree:
    return StandardMerkleTree.of([(digest(i), i) for i in range(5)], ANCHOR)


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (5, r"index: value index 5 is out of range for a tree of 5 values"),
        (-1, r"index: value index -1 is out of range for a tree of 5 values"),
        (True, r"index: expected an integer value index, got a bool"),
        ("1", r"index: expected an integer value index, got a str"),
    ],
)
def test_bad_proof_index(tree5: StandardMerkleTree, index: Any, message: str) -> None:
    with pytest.raises(MerkleInputError, match=message):
        tree5.get_proof(index)
    with pytest.raises(MerkleInputError, match=message):
        tree5.at(index)


@pytest.mark.parametrize(
    ("indices", "message"),
    [
        ([], r"indices: a multiproof needs at least one value index"),
        ([1, 3, 1], r"indices\[2\]: value index 1 is listed twice"),
        ([0, 5], r"indices\[1\]: value index 5 is out of range for a tree of 5 values"),
        ([0, -2], r"indices\[1\]: value index -2 is out of range"),
        ([0, False], r"indices\[1\]: expected an integer value index, got a bool"),
        (3, r"indices: expected a list of value indices, got a int"),
    ],
)
def test_bad_multiproof_indices(tree5: StandardMerkleTree, indices: Any, message: str) -> None:
    with pytest.raises(MerkleInputError, match=message):
        tree5.get_multiproof(indices)


def test_lookup_of_absent_value(tree5: StandardMerkleTree) -> None:
    with pytest.raises(MerkleInputError, match="value is not in the tree"):
        tree5.leaf_lookup((digest(9), 9))


def test_verify_rejects_malformed_input(tree5: StandardMerkleTree) -> None:
    proof = tree5.get_proof(1)
    value = tree5.at(1)
    with pytest.raises(MerkleInputError, match=r"root: expected 0x followed by 64 hex digits, got '0x12'"):
        StandardMerkleTree.verify("0x12", ANCHOR, value, proof)
    with pytest.raises(MerkleInputError, match=r"root: expected a 32-byte node, got 31 bytes"):
        StandardMerkleTree.verify(bytes(31), ANCHOR, value, proof)
    with pytest.raises(MerkleInputError, match=r"proof\[1\]: expected 0x followed by 64 hex digits"):
        StandardMerkleTree.verify(tree5.root, ANCHOR, value, [proof[0], proof[1][2:]])
    with pytest.raises(MerkleInputError, match=r"proof: expected a list of nodes, got a str"):
        StandardMerkleTree.verify(tree5.root, ANCHOR, value, proof[0])
    with pytest.raises(MerkleInputError, match=r"value\[1\] \(uint256\): -1 is out of range"):
        StandardMerkleTree.verify(tree5.root, ANCHOR, (value[0], -1), proof)
    # well-formed but wrong: False, not an error
    assert not StandardMerkleTree.verify(tree5.root, ANCHOR, tree5.at(2), proof)
    assert not StandardMerkleTree.verify(tree5.root, ANCHOR, value, proof[:-1])


def test_verify_multiproof_rejects_malformed_input(tree5: StandardMerkleTree) -> None:
    multi: dict[str, Any] = dict(tree5.get_multiproof([0, 2]))
    root = tree5.root
    assert StandardMerkleTree.verify_multiproof(root, ANCHOR, multi)
    with pytest.raises(MerkleInputError, match="multiproof: proves no leaves"):
        StandardMerkleTree.verify_multiproof(root, ANCHOR, {"leaves": [], "proof": [root], "proofFlags": []})
    with pytest.raises(MerkleInputError, match="expected lists 'leaves', 'proof' and 'proofFlags'"):
        StandardMerkleTree.verify_multiproof(root, ANCHOR, {"leaves": multi["leaves"], "proof": multi["proof"]})
    with pytest.raises(MerkleInputError, match="proofFlags must all be booleans"):
        StandardMerkleTree.verify_multiproof(root, ANCHOR, {**multi, "proofFlags": [1] * len(multi["proofFlags"])})
    with pytest.raises(MerkleInputError, match=r"malformed multiproof: .* must be .* proofFlags \+ 1"):
        StandardMerkleTree.verify_multiproof(root, ANCHOR, {**multi, "proof": multi["proof"] + [root]})
    with pytest.raises(MerkleInputError, match=r"malformed multiproof: \d+ proofFlags are false but the proof"):
        StandardMerkleTree.verify_multiproof(root, ANCHOR, {**multi, "proofFlags": [False] * len(multi["proofFlags"])})
    with pytest.raises(MerkleInputError, match=r"multiproof.leaves\[0\]: expected 2 elements"):
        StandardMerkleTree.verify_multiproof(root, ANCHOR, {**multi, "leaves": [[1], multi["leaves"][1]]})
    with pytest.raises(MerkleInputError, match=r"multiproof: expected an object, got a list"):
        StandardMerkleTree.verify_multiproof(root, ANCHOR, [])  # type: ignore[arg-type]


def test_malformed_multiproof_steps() -> None:
    leaf = digest(1)
    with pytest.raises(MerkleInputError, match=r"proofFlags\[0\] has no node left to hash"):
        core.process_multiproof([leaf], [leaf], [True])


@pytest.mark.parametrize("workers", [0, -1, "2", True, 1.5])
def test_bad_workers(workers: Any) -> None:
    with pytest.raises(MerkleInputError, match="workers must be a positive integer or None"):
        StandardMerkleTree.of([GOOD], ANCHOR, workers=workers)


# -- load(): the dump is checked ------------------------------------------------------------------


@pytest.fixture
def dump5(tree5: StandardMerkleTree) -> dict[str, Any]:
    return json.loads(json.dumps(tree5.dump()))  # type: ignore[no-any-return]


@pytest.mark.parametrize("fmt", ["standard-v2", "simple-v1", None, 1])
def test_load_unknown_format(dump5: dict[str, Any], fmt: object) -> None:
    dump5["format"] = fmt
    with pytest.raises(UnknownFormatError, match=f"unknown tree dump format {fmt!r}; expected 'standard-v1'"):
        StandardMerkleTree.load(dump5)
    del dump5["format"]
    with pytest.raises(UnknownFormatError):
        StandardMerkleTree.load(dump5)


def _tamper(dump: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    target: Any = dump
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is KeyError:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return dump


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("leafEncoding", KeyError, "tree dump has no leafEncoding"),
        ("leafEncoding", ["bytes32", "uint256[]"], r"leafEncoding\[1\]: unsupported ABI type"),
        ("tree", "0x00", "tree dump needs a list 'tree' and a list 'values'"),
        ("values", [], "tree dump has no values"),
        ("tree.3", "0x1234", r"tree\[3\]: expected 0x followed by 64 hex digits, got '0x1234'"),
        ("tree.3", 5, r"tree\[3\]: expected 0x followed by 64 hex digits, got a int"),
        ("values.2", [1, 2], r"values\[2\]: expected an object with 'value' and 'treeIndex'"),
        ("values.2.treeIndex", KeyError, r"values\[2\]: expected an object with 'value' and 'treeIndex'"),
        ("values.2.treeIndex", 3, r"values\[2\].treeIndex: expected a leaf index in \[4, 9\), got 3"),
        ("values.2.treeIndex", 9, r"values\[2\].treeIndex: expected a leaf index in \[4, 9\), got 9"),
        ("values.2.treeIndex", "5", r"values\[2\].treeIndex: expected a leaf index in \[4, 9\), got '5'"),
        ("values.2.treeIndex", True, r"values\[2\].treeIndex: expected a leaf index"),
        ("values.2.value.1", "-3", r"values\[2\].value\[1\] \(uint256\): -3 is out of range"),
        ("values.2.value.1", "99", r"tree dump is inconsistent: values\[2\] does not hash to its leaf tree\[\d\]"),
        ("tree.1", "0x" + "00" * 32, r"tree dump is inconsistent: tree\[0\] is not the hash of its children"),
        ("tree.8", "0x" + "00" * 32, r"tree dump is inconsistent: values\[\d\] does not hash to its leaf tree\[8\]"),
        ("tree.0", "0x" + "00" * 32, r"tree dump is inconsistent: tree\[0\] is not the hash of its children"),
    ],
)
def test_load_rejects_bad_dump(dump5: dict[str, Any], path: str, value: Any, message: str) -> None:
    with pytest.raises(MerkleInputError, match=message):
        StandardMerkleTree.load(_tamper(dump5, path, value))


def test_load_rejects_wrong_tree_size(dump5: dict[str, Any]) -> None:
    dump5["tree"].append(dump5["tree"][0])
    with pytest.raises(MerkleInputError, match="tree dump has 5 values, so its tree needs 9 nodes, not 10"):
        StandardMerkleTree.load(dump5)


def test_load_rejects_two_values_on_one_leaf(dump5: dict[str, Any]) -> None:
    dump5["values"][3]["treeIndex"] = dump5["values"][1]["treeIndex"]
    with pytest.raises(MerkleInputError, match=r"values\[3\].treeIndex: leaf \d already belongs to values\[1\]"):
        StandardMerkleTree.load(dump5)


def test_load_rejects_a_swapped_leaf(dump5: dict[str, Any]) -> None:
    a, b = dump5["values"][0], dump5["values"][1]
    a["treeIndex"], b["treeIndex"] = b["treeIndex"], a["treeIndex"]
    with pytest.raises(MerkleInputError, match=r"values\[0\] does not hash to its leaf"):
        StandardMerkleTree.load(dump5)


def test_load_rejects_non_object() -> None:
    with pytest.raises(MerkleInputError, match="a tree dump must be a JSON object, got a list"):
        StandardMerkleTree.load([])  # type: ignore[arg-type]


def test_load_accepts_unsorted_leaves() -> None:
    # OpenZeppelin can build without sorting (sortLeaves: false); such dumps load and prove.
    leaves = [digest(i) for i in range(3)]
    values = [(digest(100 + i), i) for i in range(3)]
    hashed = [standard_leaf_hash(ANCHOR, v) for v in values]
    order = sorted(range(3), key=hashed.__getitem__, reverse=True)  # deliberately not sorted ascending
    tree = core.make_tree([hashed[i] for i in order])
    del leaves
    dump = {
        "format": FORMAT,
        "leafEncoding": ANCHOR,
        "tree": core.hex_nodes(tree),
        "values": [
            {"value": ["0x" + v[0].hex(), str(v[1])], "treeIndex": 4 - order.index(i)} for i, v in enumerate(values)
        ],
    }
    loaded = StandardMerkleTree.load(dump)
    for i, value in enumerate(values):
        assert StandardMerkleTree.verify(loaded.root, ANCHOR, value, loaded.get_proof(i))
    assert dict(loaded.iter_proofs()) == {i: loaded.get_proof(i) for i in range(3)}


# -- internal bugs: InvariantError, never returned as a proof -------------------------------------


def test_corrupted_inner_node_is_an_invariant_error(tree5: StandardMerkleTree) -> None:
    tree5._tree[1] = bytes(32)
    # a value under node 2 has node 1 as the last sibling of its proof
    under_2 = next(i for i, t in enumerate(tree5.tree_indices) if t in (5, 6))
    with pytest.raises(InvariantError, match=rf"proof of values\[{under_2}\] does not lead to the root"):
        tree5.get_proof(under_2)
    with pytest.raises(InvariantError, match="does not lead to the root"):
        tree5.get_multiproof([under_2])
    assert tree5.get_multiproof([0, 1, 2, 3, 4])  # uses no inner node: still a valid proof
    # the first node that no longer matches its children is the root, above the corrupted node
    with pytest.raises(InvariantError, match=r"tree\[0\] is not the hash of its children"):
        tree5.validate()
    with pytest.raises(InvariantError, match=r"tree\[0\] is not the hash of its children"):
        next(tree5.iter_proofs())


def test_corrupted_value_is_an_invariant_error(tree5: StandardMerkleTree) -> None:
    tree5._values[2] = (digest(99), 2)
    with pytest.raises(InvariantError, match=r"leaf of values\[2\] is not tree\[\d\]"):
        tree5.get_proof(2)
    with pytest.raises(InvariantError, match=r"leaf of values\[2\] is not tree\[\d\]"):
        tree5.get_multiproof([2])
    with pytest.raises(InvariantError, match=r"values\[2\] does not hash to its leaf"):
        tree5.validate()


def test_bulk_proofs_are_sampled_from_their_values(tree5: StandardMerkleTree) -> None:
    # Inner nodes are fine, so only the full check of sampled proofs (the first and the last) can catch this.
    leaf_order = [index for index, _ in StandardMerkleTree.of(tree5._values, ANCHOR).iter_proofs()]
    tree5._values[leaf_order[-1]] = (digest(99), 0)
    with pytest.raises(InvariantError, match=rf"proof of values\[{leaf_order[-1]}\] does not lead to the root"):
        list(tree5.iter_proofs())
