"""Merkle tree math on 32-byte nodes, node for node as ``@openzeppelin/merkle-tree``'s core.

A tree of ``n`` leaves is a flat list of ``2n - 1`` nodes in heap order: node ``i``
has children ``2i + 1`` and ``2i + 2``, node 0 is the root, and the leaves fill the
last ``n`` slots in reverse order (``tree[-1]`` is the first leaf). Inner nodes
hash their two children as a sorted pair.

Nothing here knows about values or formats; see ``encoding`` and ``standard``.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import pairwise

from anchor.errors import MerkleInputError
from anchor.merkle._parallel import chunk_bounds, effective_workers, run_chunks
from anchor.merkle.encoding import keccak_256
from anchor.processes import run_split

_HEX_CHUNK = 1 << 15
"""Nodes converted to hex at a time by :func:`iter_leaf_proofs` (bounds its memory)."""
LEAF_PIECE = 2048
"""Leaves per piece when :func:`iter_leaf_proofs` splits the leaves between parts (even: sibling pairs)."""


def node_hash(a: bytes, b: bytes) -> bytes:
    """``keccak256`` of the two nodes, the smaller first (OpenZeppelin ``standardNodeHash``)."""
    return keccak_256(a + b).digest() if a <= b else keccak_256(b + a).digest()


def sibling_index(i: int) -> int:
    """The other child of ``i``'s parent."""
    return i + 1 if i % 2 else i - 1


def parent_index(i: int) -> int:
    """The parent of node ``i`` (``i > 0``)."""
    return (i - 1) // 2


def hash_range(tree: Sequence[bytes], start: int, stop: int) -> list[bytes]:
    """The hashes of the children of nodes ``start .. stop - 1``, from the nodes below them."""
    k = keccak_256
    lefts = tree[2 * start + 1 : 2 * stop : 2]
    rights = tree[2 * start + 2 : 2 * stop + 1 : 2]
    return [k(a + b).digest() if a <= b else k(b + a).digest() for a, b in zip(lefts, rights, strict=True)]


def level_ranges(size: int, first: int, last: int) -> list[tuple[int, int]]:
    """Inner-node ranges ``[start, stop)`` under the run of nodes ``first..last`` of one level, deepest first.

    In heap order the descendants of a run of nodes of one level form one run per
    level below, so a group of subtrees can be hashed level by level with slices.
    """
    inner = (size - 1) // 2  # nodes 0 .. inner - 1 have children
    ranges = []
    width = 1
    while (start := (first + 1) * width - 1) < inner:
        ranges.append((start, min((last + 2) * width - 1, inner)))
        width *= 2
    return ranges[::-1]


def make_tree(leaves: Sequence[bytes], workers: int | None = 1) -> list[bytes]:
    """Build the flat tree over ``leaves`` (already in tree order, e.g. sorted); ``workers`` processes."""
    if not leaves:
        raise MerkleInputError("cannot build a Merkle tree with no leaves")
    n = len(leaves)
    tree = [b""] * (n - 1)
    tree.extend(reversed(leaves))
    size = len(tree)
    parts = effective_workers(workers, n)
    if parts == 1:
        _hash_ranges(tree, level_ranges(size, 0, 0))
        return tree
    # Hash the subtrees under the nodes of level `depth` in `parts` groups, one per process,
    # then the few levels above them here.
    depth = (parts - 1).bit_length()
    level_start = (1 << depth) - 1
    groups = [
        level_ranges(size, level_start + a, level_start + b - 1) for a, b in chunk_bounds(1 << depth, parts) if b > a
    ]
    remote = [_subtree_task(tree, ranges) for ranges in groups[1:]]
    _, blobs = run_split(lambda: _hash_ranges(tree, groups[0]), remote)
    for ranges, blob in zip(groups[1:], blobs, strict=True):
        expected = 32 * sum(stop - start for start, stop in ranges)
        if blob is None or len(blob) != expected:
            _hash_ranges(tree, ranges)
            continue
        offset = 0
        for start, stop in ranges:
            end = offset + 32 * (stop - start)
            tree[start:stop] = [blob[i : i + 32] for i in range(offset, end, 32)]
            offset = end
    _hash_ranges(tree, level_ranges(size, 0, 0)[-depth:])
    return tree


def _hash_ranges(tree: list[bytes], ranges: list[tuple[int, int]]) -> bytes:
    for start, stop in ranges:
        tree[start:stop] = hash_range(tree, start, stop)
    return b""


def _subtree_task(tree: list[bytes], ranges: list[tuple[int, int]]) -> Callable[[], bytes]:
    def task() -> bytes:
        _hash_ranges(tree, ranges)
        return b"".join(b"".join(tree[start:stop]) for start, stop in ranges)

    return task


def first_invalid_node(tree: Sequence[bytes], workers: int | None = 1) -> int | None:
    """The first inner node that is not the hash of its children, or ``None``.

    Independent of how :func:`make_tree` walks the levels: the inner nodes are
    split into plain index chunks and each node is recomputed from its children.
    """
    inner = (len(tree) - 1) // 2
    if inner == 0:
        return None

    def check(start: int, stop: int) -> bytes:
        computed = hash_range(tree, start, stop)
        if computed == tree[start:stop]:
            return b""
        bad = next(start + i for i, (x, y) in enumerate(zip(computed, tree[start:stop], strict=True)) if x != y)
        return bad.to_bytes(8, "big")

    found = run_chunks(check, chunk_bounds(inner, effective_workers(workers, inner)))
    bad = [int.from_bytes(x, "big") for x in found if x]
    return min(bad) if bad else None


def proof_nodes(tree: Sequence[bytes], index: int) -> list[bytes]:
    """The sibling path from node ``index`` up to the root (OpenZeppelin ``getProof``)."""
    proof = []
    while index > 0:
        proof.append(tree[sibling_index(index)])
        index = parent_index(index)
    return proof


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Fold a proof onto a leaf; the result is the root the proof leads to."""
    node = leaf
    for sibling in proof:
        node = node_hash(node, sibling)
    return node


def multiproof_nodes(tree: Sequence[bytes], indices: Sequence[int]) -> tuple[list[int], list[bytes], list[bool]]:
    """OpenZeppelin ``getMultiProof`` on tree indices: (leaf indices in proof order, proof, flags).

    Leaves are taken from the highest tree index down; each step pairs the node in
    front of the queue with its sibling, from the queue (flag true) or from the
    proof (flag false), and queues the parent, until the root is reached.
    """
    ordered = sorted(indices, reverse=True)
    for a, b in pairwise(ordered):
        if a == b:
            raise MerkleInputError(f"cannot prove the same leaf twice (tree index {a})")
    queue = deque(ordered)
    proof: list[bytes] = []
    flags: list[bool] = []
    while queue and queue[0] > 0:
        j = queue.popleft()
        sibling = sibling_index(j)
        if queue and queue[0] == sibling:
            flags.append(True)
            queue.popleft()
        else:
            flags.append(False)
            proof.append(tree[sibling])
        queue.append(parent_index(j))
    return ordered, proof, flags


def process_multiproof(leaves: Sequence[bytes], proof: Sequence[bytes], flags: Sequence[bool]) -> bytes:
    """Fold a multiproof onto its leaves; the result is the root it leads to.

    Raises :class:`MerkleInputError` when the parts cannot form a multiproof.
    """
    if len(proof) < flags.count(False):
        raise MerkleInputError(
            f"malformed multiproof: {flags.count(False)} proofFlags are false but the proof has only {len(proof)} nodes"
        )
    if len(leaves) + len(proof) != len(flags) + 1:
        raise MerkleInputError(
            f"malformed multiproof: {len(leaves)} leaves + {len(proof)} proof nodes must be {len(flags)} proofFlags + 1"
        )
    queue = deque(leaves)
    rest = iter(proof)
    for step, flag in enumerate(flags):
        if not queue or (flag and len(queue) < 2):
            raise MerkleInputError(f"malformed multiproof: proofFlags[{step}] has no node left to hash")
        a = queue.popleft()
        b = queue.popleft() if flag else next(rest)
        queue.append(node_hash(a, b))
    return queue.pop() if queue else next(rest)


def hex_nodes(nodes: Sequence[bytes]) -> list[str]:
    """Nodes as ``0x``-prefixed lower-case hex strings."""
    return ["0x" + node.hex() for node in nodes]


def iter_leaf_proofs(tree: Sequence[bytes], part: int = 0, parts: int = 1) -> Iterator[tuple[int, list[list[str]]]]:
    """Yield the hex proof of every leaf, in tree order, in pieces: ``(first tree index, proofs)``.

    ``proofs[k]`` is the proof of leaf ``first + k``, equal to :func:`proof_nodes`'s.
    A node's proof is its sibling followed by its parent's proof, so each level's
    proofs are built from the level above (kept as shared tuples) in one top-down
    pass, instead of walking up from every leaf. Memory: the proofs of one level of
    inner nodes, one piece of leaf proofs, and what the caller keeps.

    ``parts`` > 1 splits the leaves between that many callers (processes): the leaf
    proofs come in pieces of :data:`LEAF_PIECE` leaves, and piece ``p`` (counted in tree
    order) is built and yielded only for ``part == p % parts``; every part builds the
    inner levels (a small share of the work). The parts together yield every leaf once.
    """
    if not 0 <= part < parts:
        raise MerkleInputError(f"part must be in [0, {parts}), got {part!r}")
    size = len(tree)
    first_leaf = size // 2  # n - 1
    if size == 1:
        if part == 0:
            yield 0, [[]]
        return
    piece = 2 * _HEX_CHUNK if parts == 1 else LEAF_PIECE
    pieces = 0  # leaf pieces met so far, in tree order, whichever part they belong to
    parents: list[tuple[str, ...]] = [()]
    start = 1
    while start < size:  # one level, [start, stop): an even number of nodes, in sibling pairs
        stop = min(2 * start + 1, size)
        inner_stop = max(start, min(stop, first_leaf))
        paired = min(stop, inner_stop + (inner_stop - start) % 2)  # inner nodes, and the last one's sibling
        below: list[tuple[str, ...]] = []
        for chunk_start in range(start, paired, 2 * _HEX_CHUNK):
            chunk_stop = min(chunk_start + 2 * _HEX_CHUNK, paired)
            with _gc_paused():
                hexes = hex_nodes(tree[chunk_start:chunk_stop])
                above = parents[(chunk_start - start) // 2 : (chunk_stop - start) // 2]
                pairs = zip(above, hexes[0::2], hexes[1::2], strict=True)
                below.extend([(h, *p) for p, left, right in pairs for h in (right, left)])
        if paired > inner_stop:  # the last inner node's sibling is a leaf
            leaf = below.pop()
            if pieces % parts == part:
                yield inner_stop, [list(leaf)]
            pieces += 1
        for piece_start in range(paired, stop, piece):
            piece_stop = min(piece_start + piece, stop)
            if pieces % parts == part:
                with _gc_paused():
                    hexes = hex_nodes(tree[piece_start:piece_stop])
                    above = parents[(piece_start - start) // 2 : (piece_stop - start) // 2]
                    pairs = zip(above, hexes[0::2], hexes[1::2], strict=True)
                    leaves = [[h, *p] for p, left, right in pairs for h in (right, left)]
                yield piece_start, leaves
            pieces += 1
        parents = below
        start = stop


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (restored on exit; never held across a ``yield``).

    Building a million proof tuples and lists otherwise triggers collections that
    traverse every one of them again and again (the proofs hold no cycles).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def render_tree(tree: Sequence[bytes]) -> str:
    """The tree drawn as text, one ``index) hex`` line per node, depth first (OpenZeppelin ``render``)."""
    if not tree:
        raise MerkleInputError("cannot render a tree with no nodes")
    lines = []
    stack: list[tuple[int, tuple[bool, ...]]] = [(0, ())]  # (node, for each ancestor level: more siblings below?)
    while stack:
        i, path = stack.pop()
        prefix = "".join("\u2502  " if more else "   " for more in path[:-1])
        if path:
            prefix += "\u251c\u2500 " if path[-1] else "\u2514\u2500 "
        lines.append(f"{prefix}{i}) 0x{tree[i].hex()}")
        if 2 * i + 2 < len(tree):
            stack.append((2 * i + 2, (*path, False)))
            stack.append((2 * i + 1, (*path, True)))
    return "\n".join(lines)
