"""anchor.merkle with worker processes: same trees, same proofs, same errors as in one process."""

from __future__ import annotations

import os
import random

import pytest

from anchor.errors import InvariantError, MerkleInputError
from anchor.merkle import StandardMerkleTree, _parallel, core

ANCHOR = ["bytes32", "uint256"]
N = 2 * _parallel.MIN_ITEMS_PER_WORKER + 5  # enough for two processes


@pytest.fixture(scope="module")
def values() -> list[tuple[bytes, int]]:
    rng = random.Random(99)
    return [(rng.randbytes(32), i) for i in range(N)]


@pytest.fixture(scope="module")
def sequential(values: list[tuple[bytes, int]]) -> StandardMerkleTree:
    return StandardMerkleTree.of(values, ANCHOR)


def test_workers_build_the_same_tree(values: list[tuple[bytes, int]], sequential: StandardMerkleTree) -> None:
    assert _parallel.effective_workers(2, N) == 2
    tree = StandardMerkleTree.of(values, ANCHOR, workers=2)
    assert tree._tree == sequential._tree
    assert tree.dump() == sequential.dump()
    tree.validate(workers=2)
    assert dict(tree.iter_proofs(workers=2)) == dict(sequential.iter_proofs())
    assert StandardMerkleTree.of(values, ANCHOR, workers=None).root == sequential.root


def test_values_to_normalise_in_a_workers_share(
    values: list[tuple[bytes, int]], sequential: StandardMerkleTree
) -> None:
    mixed: list[object] = list(values)
    mixed[N - 3] = ["0x" + values[N - 3][0].hex(), str(values[N - 3][1])]  # the second process's share
    tree = StandardMerkleTree.of(mixed, ANCHOR, workers=2)  # type: ignore[arg-type]
    assert tree.root == sequential.root
    assert tree.at(N - 3) == values[N - 3]


def test_bad_value_in_a_workers_share_is_reported_by_position(values: list[tuple[bytes, int]]) -> None:
    bad: list[object] = list(values)
    bad[N - 2] = (values[N - 2][0], -5)
    with pytest.raises(MerkleInputError, match=rf"values\[{N - 2}\]\[1\] \(uint256\): -5 is out of range"):
        StandardMerkleTree.of(bad, ANCHOR, workers=2)  # type: ignore[arg-type]


def test_load_with_workers_finds_tampering_in_any_share(sequential: StandardMerkleTree) -> None:
    dump = sequential.dump()
    assert StandardMerkleTree.load(dump, workers=2).root == sequential.root
    inner = (len(dump["tree"]) - 1) // 2
    tampered = {**dump, "tree": list(dump["tree"])}
    tampered["tree"][inner - 1] = "0x" + "00" * 32  # an inner node in the last chunk
    with pytest.raises(MerkleInputError, match=rf"tree\[{(inner - 2) // 2}\] is not the hash of its children"):
        StandardMerkleTree.load(tampered, workers=2)
    values = list(dump["values"])
    values[N - 1] = {**values[N - 1], "value": [values[N - 1]["value"][0], "123456789"]}
    with pytest.raises(MerkleInputError, match=rf"values\[{N - 1}\] does not hash to its leaf"):
        StandardMerkleTree.load({**dump, "values": values}, workers=2)


def test_corruption_found_by_a_worker(values: list[tuple[bytes, int]]) -> None:
    tree = StandardMerkleTree.of(values, ANCHOR)
    tree._tree[N - 3] = bytes(32)  # deep in the second half of the inner nodes
    with pytest.raises(InvariantError, match=r"is not the hash of its children"):
        tree.validate(workers=2)


def test_a_failing_child_is_recomputed_here() -> None:
    def boom() -> bytes:
        raise RuntimeError("child failure")

    def die() -> bytes:
        os._exit(3)

    mine, theirs = _parallel.run_split(lambda: "local", [boom, die, lambda: b"ok"])
    assert mine == "local"
    assert theirs == [None, None, b"ok"]

    calls: list[tuple[int, int]] = []

    def compute(start: int, stop: int) -> list[bytes]:
        calls.append((start, stop))
        if os.getpid() != parent and start > 0:
            os._exit(1)
        return [i.to_bytes(32, "big") for i in range(start, stop)]

    parent = os.getpid()
    assert _parallel.map_chunks(compute, 10, 2) == [i.to_bytes(32, "big") for i in range(10)]
    assert (5, 10) in calls  # recomputed in this process


def test_workers_from_a_daemonic_process_fall_back_to_one(values: list[tuple[bytes, int]]) -> None:
    # multiprocessing refuses to start children from a daemonic process: compute everything here instead.
    import multiprocessing

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(multiprocessing.process.current_process(), "_config", {"daemon": True})
        mine, theirs = _parallel.run_split(lambda: 1, [lambda: b"x"])
        assert (mine, theirs) == (1, [None])
        assert StandardMerkleTree.of(values, ANCHOR, workers=2).root == StandardMerkleTree.of(values, ANCHOR).root


def test_effective_workers() -> None:
    per = _parallel.MIN_ITEMS_PER_WORKER
    assert _parallel.effective_workers(1, 10**9) == 1
    assert _parallel.effective_workers(4, per - 1) == 1
    assert _parallel.effective_workers(4, 3 * per) == 3
    assert _parallel.effective_workers(None, 10**9) == (os.cpu_count() or 1)
    assert _parallel.chunk_bounds(10, 3) == [(0, 3), (3, 6), (6, 10)]


def test_make_tree_with_more_workers_than_two() -> None:
    rng = random.Random(3)
    leaves = sorted(rng.randbytes(32) for _ in range(5 * _parallel.MIN_ITEMS_PER_WORKER + 17))
    assert core.make_tree(leaves, 5) == core.make_tree(leaves, 1)
