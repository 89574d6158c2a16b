"""``StandardMerkleTree``: values, leaves and proofs, and the ``standard-v1`` dump format."""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import TypedDict

from anchor.errors import InvariantError, MerkleInputError, UnknownFormatError
from anchor.merkle import core
from anchor.merkle._parallel import chunk_bounds, effective_workers, map_chunks, run_chunks
from anchor.merkle.encoding import JsonScalar, LeafEncoding, LeafValue
from anchor.merkle.encoding import leaf_encoding as parse_encoding

FORMAT = "standard-v1"
"""The dump format this module writes and reads (the one OpenZeppelin's ``dump()`` writes)."""

DUMP_PIECE_ENTRIES = 1 << 14
"""Nodes or values per piece of :meth:`StandardMerkleTree.dump_json_pieces` (1.1 MB of nodes, about 2 MB of values)."""

PROOF_SAMPLE_EVERY = 256
""":meth:`StandardMerkleTree.iter_proofs` fully re-verifies one proof in this many (and the last)."""

_NODE_HEX = re.compile(r"0x[0-9a-fA-F]{64}")


class DumpedValue(TypedDict):
    """One value of a dump: its JSON form and the tree index of its leaf."""

    value: list[JsonScalar]
    treeIndex: int  # OpenZeppelin's key


class StandardMerkleTreeData(TypedDict):
    """What :meth:`StandardMerkleTree.dump` returns: OpenZeppelin's ``standard-v1`` dump."""

    format: str
    leafEncoding: list[str]  # OpenZeppelin's key
    tree: list[str]
    values: list[DumpedValue]


class MultiProof(TypedDict):
    """A multiproof as OpenZeppelin returns it; ``leaves`` are the proven values in their JSON form."""

    leaves: list[list[JsonScalar]]
    proof: list[str]
    proofFlags: list[bool]  # OpenZeppelin's key


def standard_leaf_hash(leaf_encoding: Sequence[str], value: Sequence[object]) -> bytes:
    """The leaf of ``value``: ``keccak256(keccak256(abi.encode(value)))`` (OpenZeppelin ``standardLeafHash``)."""
    encoding = parse_encoding(leaf_encoding)
    return encoding.leaf_hash(encoding.normalise(value, "value"))


class StandardMerkleTree:
    """A Merkle tree of ABI-encoded values, identical to OpenZeppelin's ``StandardMerkleTree``.

    Build one with :meth:`of` or :meth:`load`; a tree never changes once built.
    Values are addressed by their position in the list given to :meth:`of`.
    """

    __slots__ = ("_encoding", "_lookup", "_nodes_checked", "_order", "_root", "_tree", "_tree_index", "_values")

    def __init__(self, tree: list[bytes], values: list[LeafValue], order: list[int], encoding: LeafEncoding) -> None:
        """Internal: use :meth:`of` or :meth:`load`. ``order[r]`` is the value whose leaf is ``tree[-1 - r]``."""
        self._tree = tree
        self._values = values
        self._order = order
        self._encoding = encoding
        self._root = "0x" + tree[0].hex()
        self._tree_index: array[int] | None = None
        self._lookup: dict[bytes, int] | None = None
        self._nodes_checked = False

    # -- building -------------------------------------------------------------------------------

    @classmethod
    def of(
        cls, values: Iterable[Sequence[object]], leaf_encoding: Sequence[str], *, workers: int | None = 1
    ) -> StandardMerkleTree:
        """Build the tree of ``values`` encoded as ``leaf_encoding`` (OpenZeppelin ``StandardMerkleTree.of``).

        Leaves are sorted before the tree is built. ``workers`` > 1 (``None``: one per
        CPU) hashes large batches in that many forked processes; the result is the same.
        Raises :class:`MerkleInputError` for no values or a value that does not fit
        the encoding (the message names the value and the element).
        """
        encoding = parse_encoding(leaf_encoding)
        items: list[LeafValue] = list(values)  # type: ignore[arg-type]  # normalised below
        if not items:
            raise MerkleInputError("cannot build a Merkle tree of no values")
        if not encoding.fast:
            items = [encoding.normalise(v, f"values[{i}]") for i, v in enumerate(items)]
        count = len(items)
        parts = effective_workers(workers, count)
        hashes = map_chunks(lambda start, stop: encoding.leaf_hashes(items, start, stop), count, parts)
        if encoding.fast and b"" in hashes:  # values not in normal form: normalise (or reject) them
            for i, leaf in enumerate(hashes):
                if not leaf:
                    items[i] = encoding.normalise(items[i], f"values[{i}]")
                    hashes[i] = encoding.leaf_hash(items[i])
        order = sorted(range(count), key=hashes.__getitem__)  # stable: equal leaves keep value order
        tree = core.make_tree(list(itemgetter(*order)(hashes)) if count > 1 else hashes, parts)
        return cls(tree, items, order, encoding)

    @classmethod
    def load(cls, data: Mapping[str, object], *, workers: int | None = 1) -> StandardMerkleTree:
        """Load a dump written by :meth:`dump` or by OpenZeppelin's ``dump()``, and check all of it.

        Raises :class:`UnknownFormatError` if ``format`` is not ``standard-v1`` and
        :class:`MerkleInputError` if anything else is wrong: the encoding, a value, a
        tree index, a node, or a node or leaf that is not the hash it should be.
        ``workers`` as in :meth:`of`. Values come back in normal form, so ``dump()``
        of a loaded OpenZeppelin dump may differ in spelling (e.g. a number ``5``
        becomes ``"5"``), never in meaning.
        """
        if not isinstance(data, Mapping):
            raise MerkleInputError(f"a tree dump must be a JSON object, got a {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise UnknownFormatError(f"unknown tree dump format {data.get('format')!r}; expected {FORMAT!r}")
        if "leafEncoding" not in data:
            raise MerkleInputError("tree dump has no leafEncoding")
        encoding = parse_encoding(data["leafEncoding"])  # type: ignore[arg-type]  # checked by LeafEncoding
        raw_tree, raw_values = data.get("tree"), data.get("values")
        if not isinstance(raw_tree, list) or not isinstance(raw_values, list):
            raise MerkleInputError("tree dump needs a list 'tree' and a list 'values'")
        if not raw_values:
            raise MerkleInputError("tree dump has no values")
        count = len(raw_values)
        if len(raw_tree) != 2 * count - 1:
            raise MerkleInputError(
                f"tree dump has {count} values, so its tree needs {2 * count - 1} nodes, not {len(raw_tree)}"
            )
        tree = _nodes(raw_tree)
        values: list[LeafValue] = []
        order = [-1] * count
        for i, entry in enumerate(raw_values):
            if (
                not (type(entry) is dict or isinstance(entry, Mapping))
                or "value" not in entry
                or "treeIndex" not in entry
            ):
                raise MerkleInputError(f"values[{i}]: expected an object with 'value' and 'treeIndex'")
            values.append(encoding.normalise(entry["value"], f"values[{i}].value"))
            index = entry["treeIndex"]
            if type(index) is not int or not count - 1 <= index < 2 * count - 1:
                raise MerkleInputError(
                    f"values[{i}].treeIndex: expected a leaf index in [{count - 1}, {2 * count - 1}), got {index!r}"
                )
            rank = 2 * count - 2 - index
            if order[rank] != -1:
                raise MerkleInputError(f"values[{i}].treeIndex: leaf {index} already belongs to values[{order[rank]}]")
            order[rank] = i
        loaded = cls(tree, values, order, encoding)
        try:
            loaded.validate(workers=workers)
        except InvariantError as exc:
            raise MerkleInputError(f"tree dump is inconsistent: {exc}") from None
        return loaded

    # -- verifying (no tree needed) -------------------------------------------------------------

    @staticmethod
    def verify(
        root: str | bytes, leaf_encoding: Sequence[str], value: Sequence[object], proof: Sequence[str | bytes]
    ) -> bool:
        """Whether ``proof`` proves ``value`` under ``root`` (OpenZeppelin ``StandardMerkleTree.verify``).

        Returns False for a proof that leads elsewhere; raises :class:`MerkleInputError`
        for input that is not a root, a value of the encoding, or a list of nodes.
        """
        root_node = _node(root, "root")
        if isinstance(proof, str | bytes) or not isinstance(proof, Sequence):
            raise MerkleInputError(f"proof: expected a list of nodes, got a {type(proof).__name__}")
        nodes = [_node(x, "proof", i) for i, x in enumerate(proof)]
        return core.process_proof(standard_leaf_hash(leaf_encoding, value), nodes) == root_node

    @staticmethod
    def verify_multiproof(root: str | bytes, leaf_encoding: Sequence[str], multiproof: Mapping[str, object]) -> bool:
        """Whether ``multiproof`` proves all its ``leaves`` under ``root`` (OpenZeppelin ``verifyMultiProof``).

        ``leaves`` may be values in normal or JSON form. Raises :class:`MerkleInputError`
        for a malformed multiproof, including one that proves no leaves at all.
        """
        root_node = _node(root, "root")
        if not isinstance(multiproof, Mapping):
            raise MerkleInputError(f"multiproof: expected an object, got a {type(multiproof).__name__}")
        leaves, proof, flags = (multiproof.get(key) for key in ("leaves", "proof", "proofFlags"))
        if not isinstance(leaves, list) or not isinstance(proof, list) or not isinstance(flags, list):
            raise MerkleInputError("multiproof: expected lists 'leaves', 'proof' and 'proofFlags'")
        if not leaves:
            raise MerkleInputError("multiproof: proves no leaves")
        if not all(type(flag) is bool for flag in flags):
            raise MerkleInputError("multiproof: proofFlags must all be booleans")
        encoding = parse_encoding(leaf_encoding)
        hashed = [encoding.leaf_hash(encoding.normalise(v, f"multiproof.leaves[{i}]")) for i, v in enumerate(leaves)]
        nodes = [_node(x, "multiproof.proof", i) for i, x in enumerate(proof)]
        return core.process_multiproof(hashed, nodes, flags) == root_node

    # -- reading --------------------------------------------------------------------------------

    @property
    def root(self) -> str:
        """The root, ``0x`` + 64 lower-case hex digits."""
        return self._root

    @property
    def leaf_encoding(self) -> tuple[str, ...]:
        """The ABI types of a value, as given."""
        return self._encoding.names

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[tuple[int, LeafValue]]:
        return self.entries()

    def __repr__(self) -> str:
        encoding = list(self.leaf_encoding)
        return f"StandardMerkleTree(root={self._root}, values={len(self._values)}, leaf_encoding={encoding})"

    def entries(self) -> Iterator[tuple[int, LeafValue]]:
        """``(index, value)`` for every value, in the order given to :meth:`of` (OpenZeppelin ``entries``)."""
        return enumerate(self._values)

    def at(self, index: int) -> LeafValue:
        """The value at ``index`` in normal form."""
        return self._values[self._check_index(index, "index")]

    def leaf_hash(self, value: Sequence[object]) -> str:
        """The leaf of ``value`` under this tree's encoding, as hex."""
        return "0x" + self._encoding.leaf_hash(self._encoding.normalise(value, "value")).hex()

    def leaf_lookup(self, value: Sequence[object]) -> int:
        """The index of ``value`` (the last one if it occurs twice, as OpenZeppelin); MerkleInputError if absent."""
        leaf = self._encoding.leaf_hash(self._encoding.normalise(value, "value"))
        if self._lookup is None:
            self._lookup = {self._tree[t]: i for i, t in enumerate(self.tree_indices)}
        if leaf not in self._lookup:
            raise MerkleInputError("value is not in the tree")
        return self._lookup[leaf]

    @property
    def tree_indices(self) -> array[int]:
        """``tree_indices[i]`` is the tree index of the leaf of value ``i``."""
        if self._tree_index is None:
            last = len(self._tree) - 1
            index = array("q", bytes(8 * len(self._values)))
            for rank, value in enumerate(self._order):
                index[value] = last - rank
            self._tree_index = index
        return self._tree_index

    # -- proving --------------------------------------------------------------------------------

    def get_proof(self, index: int) -> list[str]:
        """The proof of the value at ``index`` (OpenZeppelin ``getProof``), checked before it is returned."""
        self._check_index(index, "index")
        value = self._values[index]
        tree_index = self.tree_indices[index]
        if self._encoding.leaf_hash(value) != self._tree[tree_index]:
            raise InvariantError(f"leaf of values[{index}] is not tree[{tree_index}]")
        proof = core.hex_nodes(core.proof_nodes(self._tree, tree_index))
        if not self.verify(self._root, self._encoding.names, value, proof):
            raise InvariantError(f"proof of values[{index}] does not lead to the root")
        return proof

    def get_multiproof(self, indices: Sequence[int]) -> MultiProof:
        """One proof for the values at ``indices`` (OpenZeppelin ``getMultiProof``), checked before it is returned.

        Unlike OpenZeppelin, an empty list of indices is refused (it would prove nothing).
        """
        if isinstance(indices, str | bytes) or not isinstance(indices, Sequence):
            raise MerkleInputError(f"indices: expected a list of value indices, got a {type(indices).__name__}")
        if not indices:
            raise MerkleInputError("indices: a multiproof needs at least one value index")
        seen: set[int] = set()
        for i, index in enumerate(indices):
            self._check_index(index, f"indices[{i}]")
            if index in seen:
                raise MerkleInputError(f"indices[{i}]: value index {index} is listed twice")
            seen.add(index)
        tree_index = self.tree_indices
        for index in indices:
            if self._encoding.leaf_hash(self._values[index]) != self._tree[tree_index[index]]:
                raise InvariantError(f"leaf of values[{index}] is not tree[{tree_index[index]}]")
        ordered, proof, flags = core.multiproof_nodes(self._tree, [tree_index[i] for i in indices])
        last = len(self._tree) - 1
        result: MultiProof = {
            "leaves": [self._encoding.to_json(self._values[self._order[last - t]]) for t in ordered],
            "proof": core.hex_nodes(proof),
            "proofFlags": flags,
        }
        if not self.verify_multiproof(self._root, self._encoding.names, result):
            raise InvariantError(f"multiproof of values {sorted(indices)} does not lead to the root")
        return result

    def iter_proofs(
        self, *, workers: int | None = 1, share: tuple[int, int] = (0, 1)
    ) -> Iterator[tuple[int, list[str]]]:
        """Yield ``(index, proof)`` for every value, in leaf order (not value order); for batch jobs.

        ``share=(part, parts)``: only that part of the values, for ``parts`` processes that share a batch
        job (the leaves go to the parts in pieces, taken in turn); together the parts yield every value
        once, each proof and each check as without a share.

        Each proof equals :meth:`get_proof`'s, at a fraction of the cost: proofs are
        built top-down, sharing each level's work. Checked before anything is yielded:
        every inner node is recomputed from its children once per tree (``workers``
        processes), which makes every sibling path lead to the root; then one proof
        in :data:`PROOF_SAMPLE_EVERY`, and the last, is verified in full from its value
        (leaf hash and root recomputed) as :meth:`get_proof` does with every proof.

        NOTE: checking every proof in full would recompute the root once per value
        (about 13 times the cost of generating the proofs: 59 s instead of 4.5 s for
        a million values); the inner-node check gives the same guarantee for n - 1
        hashes. Leaves are hashed from the values by :meth:`of` and re-checked by
        :meth:`load` and :meth:`validate`.
        """
        part, parts = share
        if type(parts) is not int or type(part) is not int or not 0 <= part < parts:
            raise MerkleInputError(f"share must be (part, parts) with 0 <= part < parts, got {share!r}")
        self._check_nodes(workers)
        return self._iter_checked_proofs(part, parts)

    def get_all_proofs(self, *, workers: int | None = 1) -> list[list[str]]:
        """Every proof, in value order (``result[i]`` proves value ``i``); checked as :meth:`iter_proofs`.

        Holds all proofs in memory; prefer :meth:`iter_proofs` for very large trees.
        """
        proofs: list[list[str]] = [[]] * len(self._values)  # every slot is replaced below
        for index, proof in self.iter_proofs(workers=workers):
            proofs[index] = proof
        return proofs

    def validate(self, *, workers: int | None = 1) -> None:
        """Check every leaf against its value and every inner node against its children.

        Raises :class:`InvariantError` naming the first mismatch. ``workers`` as in :meth:`of`.
        """
        tree_index = self.tree_indices
        tree, values, leaf_hashes = self._tree, self._values, self._encoding.leaf_hashes

        def check(start: int, stop: int) -> bytes:
            computed = leaf_hashes(values, start, stop)
            for i, leaf in enumerate(computed, start):
                if leaf != tree[tree_index[i]]:
                    return i.to_bytes(8, "big")
            return b""

        count = len(values)
        found = run_chunks(check, chunk_bounds(count, effective_workers(workers, count)))
        bad = [int.from_bytes(x, "big") for x in found if x]
        if bad:
            first = min(bad)
            raise InvariantError(f"values[{first}] does not hash to its leaf tree[{tree_index[first]}]")
        self._check_nodes(workers)

    # -- output ---------------------------------------------------------------------------------

    def dump(self) -> StandardMerkleTreeData:
        """The tree in OpenZeppelin's ``standard-v1`` format (JSON-ready; values in their JSON form)."""
        to_json = self._encoding.to_json
        return {
            "format": FORMAT,
            "leafEncoding": list(self._encoding.names),
            "tree": core.hex_nodes(self._tree),
            "values": [
                {"value": to_json(v), "treeIndex": t} for v, t in zip(self._values, self.tree_indices, strict=True)
            ],
        }

    def dump_json(self) -> str:
        """The text of ``json.dumps(self.dump())``, made a chunk of nodes and values at a time.

        For large trees: the dump's objects (a string per node, a dict per value) are never all in memory, and
        the text is joined once (its pieces and the whole: twice its size at the peak, not three times).
        """
        return "".join(self.dump_json_pieces())

    def dump_json_pieces(self) -> Iterator[str]:
        """The pieces whose join is :meth:`dump_json`, made lazily, in order, as they are taken.

        Each piece is a few MB at most (:data:`DUMP_PIECE_ENTRIES` nodes or values), so a caller that writes
        each piece out and drops it (``Store.build_batch`` storing the dump in parts) holds the tree and one
        piece, never the whole text. The tree must not change while the pieces are taken (it never does).
        """
        step = DUMP_PIECE_ENTRIES
        nodes, values, indices, to_json = self._tree, self._values, self.tree_indices, self._encoding.to_json

        def entries(start: int, stop: int) -> str:
            return json.dumps([{"value": to_json(values[k]), "treeIndex": indices[k]} for k in range(start, stop)])

        yield json.dumps({"format": FORMAT, "leafEncoding": list(self._encoding.names)})[:-1] + ', "tree": ['
        for i in range(0, len(nodes), step):
            yield (", " if i else "") + json.dumps(core.hex_nodes(nodes[i : i + step]))[1:-1]
        yield '], "values": ['
        for i in range(0, len(values), step):
            yield (", " if i else "") + entries(i, min(i + step, len(values)))[1:-1]
        yield "]}"

    def render(self) -> str:
        """The tree drawn as text, one node per line (OpenZeppelin ``render``)."""
        return core.render_tree(self._tree)

    # -- internals ------------------------------------------------------------------------------

    def _check_index(self, index: object, where: str) -> int:
        if type(index) is not int:
            raise MerkleInputError(f"{where}: expected an integer value index, got a {type(index).__name__}")
        if not 0 <= index < len(self._values):
            raise MerkleInputError(
                f"{where}: value index {index} is out of range for a tree of {len(self._values)} values"
            )
        return index

    def _check_nodes(self, workers: int | None) -> None:
        if self._nodes_checked:
            return
        bad = core.first_invalid_node(self._tree, workers)
        if bad is not None:
            raise InvariantError(f"tree[{bad}] is not the hash of its children")
        self._nodes_checked = True

    def _iter_checked_proofs(self, part: int, parts: int) -> Iterator[tuple[int, list[str]]]:
        order, values, root, names = self._order, self._values, self._root, self._encoding.names
        last = len(self._tree) - 1
        first_leaf = len(self._tree) // 2
        for first, proofs in core.iter_leaf_proofs(self._tree, part, parts):
            done = first - first_leaf  # leaves before this piece, in tree order (whichever part has them)
            # leaves first .. first + len - 1 hold the values of ranks last - first down to ...
            indices = order[last - first - len(proofs) + 1 : last - first + 1][::-1]
            sample = [*range(-done % PROOF_SAMPLE_EVERY, len(proofs), PROOF_SAMPLE_EVERY)]
            if done + len(proofs) == len(values):
                sample.append(len(proofs) - 1)
            for k in sample:
                if not self.verify(root, names, values[indices[k]], proofs[k]):
                    raise InvariantError(f"proof of values[{indices[k]}] does not lead to the root")
            yield from zip(indices, proofs, strict=True)


def _nodes(raw: list[object]) -> list[bytes]:
    """The tree's nodes from a dump's ``tree`` list: all at once when each is ``0x`` + 64 hex digits.

    Joined, the text must be ``count`` times 66 characters with ``0x`` at every 66th, and decode to exactly
    ``32 * count`` bytes (a node with fewer than 64 hex digits makes the whole shorter: a node cannot hold
    more); otherwise each node is read on its own, and the first bad one named.
    """
    count = len(raw)
    try:
        joined = "".join(raw)  # type: ignore[arg-type]  # a non-string raises TypeError: read one by one
        if len(joined) == 66 * count and joined[0::66] == "0" * count and joined[1::66] == "x" * count:
            data = bytes.fromhex(joined.replace("0x", ""))
            if len(data) == 32 * count:
                return [data[i : i + 32] for i in range(0, len(data), 32)]
    except (TypeError, ValueError):
        pass
    return [_node(x, "tree", i) for i, x in enumerate(raw)]


def _node(x: object, where: str, index: int | None = None) -> bytes:
    """A 32-byte node from bytes or ``0x`` + 64 hex digits; ``where[index]`` names it in errors."""
    if type(x) is str and len(x) == 66 and x[:2] == "0x":  # the common case, checked without a regex
        try:
            node = bytes.fromhex(x[2:])
        except ValueError:
            node = b""
        if len(node) == 32:
            return node
    if index is not None:
        where = f"{where}[{index}]"
    if isinstance(x, bytes | bytearray | memoryview):
        if len(x) != 32:
            raise MerkleInputError(f"{where}: expected a 32-byte node, got {len(x)} bytes")
        return bytes(x)
    if isinstance(x, str) and _NODE_HEX.fullmatch(x):
        return bytes.fromhex(x[2:])
    shown = repr(x) if isinstance(x, str) and len(x) < 80 else f"a {type(x).__name__}"
    raise MerkleInputError(f"{where}: expected 0x followed by 64 hex digits, got {shown}")


__all__ = [
    "FORMAT",
    "DumpedValue",
    "MultiProof",
    "StandardMerkleTree",
    "StandardMerkleTreeData",
    "standard_leaf_hash",
]
