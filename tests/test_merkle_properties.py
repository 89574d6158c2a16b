"""Properties of anchor.merkle trees, checked with Hypothesis on generated values."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from anchor.addresses import to_checksum_address
from anchor.errors import MerkleInputError
from anchor.merkle import StandardMerkleTree, core

ANCHOR = ["bytes32", "uint256"]
GENERIC = ["address", "bool", "int256", "bytes8", "string"]

settings.register_profile("merkle", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("merkle")

anchor_value = st.tuples(st.binary(min_size=32, max_size=32), st.integers(0, 2**256 - 1))
anchor_values = st.lists(anchor_value, min_size=1, max_size=70)
generic_value = st.tuples(
    st.binary(min_size=20, max_size=20).map(lambda b: to_checksum_address("0x" + b.hex())),
    st.booleans(),
    st.integers(-(2**255), 2**255 - 1),
    st.binary(min_size=8, max_size=8),
    st.text(max_size=20),
)


def flip(data: bytes, bit: int) -> bytes:
    """``data`` with one bit inverted (``bit`` counted over the whole string)."""
    bit %= 8 * len(data)
    changed = bytearray(data)
    changed[bit // 8] ^= 1 << (bit % 8)
    return bytes(changed)


def flip_hex(node: str, bit: int) -> str:
    return "0x" + flip(bytes.fromhex(node[2:]), bit).hex()


@given(anchor_values)
def test_every_leaf_is_provable(values: list[tuple[bytes, int]]) -> None:
    tree = StandardMerkleTree.of(values, ANCHOR)
    proofs = [tree.get_proof(i) for i in range(len(values))]
    for value, proof in zip(values, proofs, strict=True):
        assert StandardMerkleTree.verify(tree.root, ANCHOR, value, proof)
    assert tree.get_all_proofs() == proofs
    assert sorted(i for i, _ in tree.iter_proofs()) == list(range(len(values)))


@given(st.lists(generic_value, min_size=1, max_size=30))
def test_every_leaf_is_provable_generic(values: list[tuple[Any, ...]]) -> None:
    tree = StandardMerkleTree.of(values, GENERIC)
    for i, value in enumerate(values):
        assert StandardMerkleTree.verify(tree.root, GENERIC, value, tree.get_proof(i))
    assert tree.get_all_proofs() == [tree.get_proof(i) for i in range(len(values))]
    dumped = json.loads(json.dumps(tree.dump()))
    assert StandardMerkleTree.load(dumped).dump() == dumped


@given(anchor_values, anchor_values, st.data())
def test_a_proof_from_another_tree_fails(a: list[tuple[bytes, int]], b: list[tuple[bytes, int]], data: Any) -> None:
    tree_a, tree_b = StandardMerkleTree.of(a, ANCHOR), StandardMerkleTree.of(b, ANCHOR)
    assume(tree_a.root != tree_b.root)
    i = data.draw(st.integers(0, len(a) - 1))
    assert not StandardMerkleTree.verify(tree_b.root, ANCHOR, a[i], tree_a.get_proof(i))
    # nor does the value of the other tree with this tree's proof
    j = data.draw(st.integers(0, len(b) - 1))
    assume(b[j] not in a)
    assert not StandardMerkleTree.verify(tree_a.root, ANCHOR, b[j], tree_a.get_proof(i))


@given(anchor_values, st.data())
def test_flipping_any_bit_fails(values: list[tuple[bytes, int]], data: Any) -> None:
    tree = StandardMerkleTree.of(values, ANCHOR)
    i = data.draw(st.integers(0, len(values) - 1), label="index")
    digest, number = values[i]
    proof = tree.get_proof(i)
    bit = data.draw(st.integers(0, 255), label="bit")
    assume((flip(digest, bit), number) not in values and (digest, number ^ (1 << bit)) not in values)

    assert not StandardMerkleTree.verify(tree.root, ANCHOR, (flip(digest, bit), number), proof)
    assert not StandardMerkleTree.verify(tree.root, ANCHOR, (digest, number ^ (1 << bit)), proof)
    assert not StandardMerkleTree.verify(flip_hex(tree.root, bit), ANCHOR, values[i], proof)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1), label="proof node")
        changed = [*proof[:k], flip_hex(proof[k], bit), *proof[k + 1 :]]
        assert not StandardMerkleTree.verify(tree.root, ANCHOR, values[i], changed)


@given(anchor_values, st.data())
def test_multiproofs_of_random_subsets_verify(values: list[tuple[bytes, int]], data: Any) -> None:
    tree = StandardMerkleTree.of(values, ANCHOR)
    indices = data.draw(st.lists(st.integers(0, len(values) - 1), min_size=1, unique=True), label="indices")
    multi = tree.get_multiproof(indices)
    assert StandardMerkleTree.verify_multiproof(tree.root, ANCHOR, multi)
    assert len(multi["leaves"]) == len(indices)
    assert len(multi["leaves"]) + len(multi["proof"]) == len(multi["proofFlags"]) + 1
    # the same set in another order gives the same multiproof
    assert tree.get_multiproof(sorted(indices)) == multi


@given(anchor_values, st.data())
def test_flipping_a_bit_of_a_multiproof_fails(values: list[tuple[bytes, int]], data: Any) -> None:
    tree = StandardMerkleTree.of(values, ANCHOR)
    indices = data.draw(st.lists(st.integers(0, len(values) - 1), min_size=1, unique=True), label="indices")
    multi: dict[str, Any] = dict(tree.get_multiproof(indices))
    bit = data.draw(st.integers(0, 255), label="bit")
    where = data.draw(st.sampled_from(["leaf", "proof", "flag", "root"]), label="where")
    root = tree.root
    if where == "leaf":
        k = data.draw(st.integers(0, len(multi["leaves"]) - 1))
        digest, number = multi["leaves"][k]
        changed = [flip_hex(digest, bit), number]
        assume(not _in_tree(tree, changed))
        multi["leaves"] = [*multi["leaves"][:k], changed, *multi["leaves"][k + 1 :]]
    elif where == "proof":
        assume(multi["proof"])
        k = data.draw(st.integers(0, len(multi["proof"]) - 1))
        multi["proof"] = [*multi["proof"][:k], flip_hex(multi["proof"][k], bit), *multi["proof"][k + 1 :]]
    elif where == "flag":
        assume(multi["proofFlags"])
        k = data.draw(st.integers(0, len(multi["proofFlags"]) - 1))
        flags = list(multi["proofFlags"])
        flags[k] = not flags[k]
        multi["proofFlags"] = flags
    else:
        root = flip_hex(root, bit)
    if where != "flag":
        assert not StandardMerkleTree.verify_multiproof(root, ANCHOR, multi)
        return
    try:  # a flipped flag may also leave a multiproof that cannot even be folded: refused as input
        verified = StandardMerkleTree.verify_multiproof(root, ANCHOR, multi)
    except MerkleInputError:
        verified = False
    assert not verified


def _in_tree(tree: StandardMerkleTree, value: list[str]) -> bool:
    try:
        tree.leaf_lookup(value)
    except MerkleInputError:
        return False
    return True


@given(anchor_values)
def test_dump_load_round_trip(values: list[tuple[bytes, int]]) -> None:
    tree = StandardMerkleTree.of(values, ANCHOR)
    dumped = json.loads(json.dumps(tree.dump()))
    loaded = StandardMerkleTree.load(dumped)
    assert loaded.root == tree.root
    assert loaded.dump() == dumped
    assert [loaded.get_proof(i) for i in range(len(values))] == [tree.get_proof(i) for i in range(len(values))]


@given(anchor_values)
def test_hex_and_native_values_build_the_same_tree(values: list[tuple[bytes, int]]) -> None:
    as_json = [["0x" + d.hex().upper().replace("0X", "0x"), str(n)] for d, n in values]
    assert StandardMerkleTree.of(as_json, ANCHOR).root == StandardMerkleTree.of(values, ANCHOR).root


@given(st.integers(1, 300), st.sampled_from([1, 2, 3, 8]))
def test_bulk_proofs_equal_single_proofs_across_chunk_sizes(n: int, chunk: int) -> None:
    # Small chunks exercise the chunk boundaries, and levels holding both inner nodes and leaves.
    tree = [bytes([i % 256, i // 256]) * 16 for i in range(2 * n - 1)]
    expected = [(t, core.hex_nodes(core.proof_nodes(tree, t))) for t in range(n - 1, 2 * n - 1)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(core, "_HEX_CHUNK", chunk)
        got = [(first + k, proof) for first, proofs in core.iter_leaf_proofs(tree) for k, proof in enumerate(proofs)]
    assert got == expected


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=100), st.data())
def test_core_multiproof_round_trip(leaves: list[bytes], data: Any) -> None:
    tree = core.make_tree(sorted(leaves))
    n = len(leaves)
    indices = data.draw(st.lists(st.integers(n - 1, 2 * n - 2), min_size=1, unique=True))
    ordered, proof, flags = core.multiproof_nodes(tree, indices)
    assert core.process_multiproof([tree[i] for i in ordered], proof, flags) == tree[0]
    assert core.first_invalid_node(tree) is None
