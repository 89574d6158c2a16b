"""Verifying one receipt's proof: :meth:`StandardMerkleTree.verify <anchor.merkle.StandardMerkleTree.verify>`,
at a third of its cost for the anchor leaf.

A receipt proves ``(bytes32 digest, uint256 index)`` with a list of 0x-hex siblings. :func:`verify_anchor_leaf`
reads such a proof in one ``bytes.fromhex`` of all its siblings, hashes the leaf as OpenZeppelin does
(``keccak256(keccak256(digest ++ index as 32 bytes))``) and folds the siblings sorted by pairs
(:func:`~anchor.merkle.core.node_hash`), with one keccak binding. Anything else (another encoding, bytes, an
index out of range, a node that is not 0x and 64 hex digits) goes to ``StandardMerkleTree.verify``, which
decides and names what is wrong: the result, or the error, is always that of ``StandardMerkleTree.verify``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from anchor.merkle.encoding import keccak_256
from anchor.merkle.standard import StandardMerkleTree

__all__ = ["verify_anchor_leaf"]

#: The anchor leaf's encoding, in each form a caller spells it.
_ANCHOR_ENCODINGS: Final = (("bytes32", "uint256"), ["bytes32", "uint256"])
_UINT256_BOUND: Final = 1 << 256


def verify_anchor_leaf(root: str, leaf_encoding: Sequence[str], value: Sequence[object], proof: Sequence[str]) -> bool:
    """``StandardMerkleTree.verify(root, leaf_encoding, value, proof)``: the same result or the same error."""
    fast = _fast(root, leaf_encoding, value, proof)
    if fast is not None:
        return fast
    return StandardMerkleTree.verify(root, leaf_encoding, value, proof)


def _fast(root: object, leaf_encoding: object, value: object, proof: object) -> bool | None:
    """The answer for the usual anchor-leaf input in plain hex, or None when ``StandardMerkleTree.verify`` must
    decide."""
    if type(leaf_encoding) not in (tuple, list) or leaf_encoding not in _ANCHOR_ENCODINGS:
        return None
    if not isinstance(value, tuple | list) or type(value) not in (tuple, list) or len(value) != 2:
        return None
    digest, index = value
    if type(index) is not int or not 0 <= index < _UINT256_BOUND:
        return None
    if not isinstance(proof, tuple | list) or type(proof) not in (tuple, list):
        return None
    parts: list[object] = [root, digest, *proof]
    hexes = [part[2:] for part in parts if type(part) is str and len(part) == 66 and part[:2] == "0x"]
    if len(hexes) != len(parts):
        return None
    try:
        raw = bytes.fromhex("".join(hexes))
    except ValueError:
        return None
    if len(raw) != 32 * len(parts):  # bytes.fromhex skips spaces between bytes: not 64 hex digits each
        return None
    keccak = keccak_256
    node = keccak(keccak(raw[32:64] + index.to_bytes(32, "big")).digest()).digest()
    for start in range(64, len(raw), 32):
        sibling = raw[start : start + 32]
        node = keccak(node + sibling).digest() if node <= sibling else keccak(sibling + node).digest()
    return node == raw[:32]
