"""OpenZeppelin-compatible Merkle trees: the Python twin of ``@openzeppelin/merkle-tree``.

A batch of credentials is anchored on chain as the root of a ``StandardMerkleTree``
whose values are ``(bytes32 digest, uint256 index)``. The tree is node for node the
one OpenZeppelin's JavaScript library builds from the same values (same root, same
proofs and multiproofs, same ``dump()`` JSON), so a proof made here verifies with
the JS library and on chain with OpenZeppelin's ``MerkleProof``.

Two choices come from OpenZeppelin and matter for security:

- **Leaves are hashed twice**: ``leaf = keccak256(keccak256(abi.encode(value)))``.
  An inner node is ``keccak256`` of 64 bytes, and so is the single hash of a
  64-byte value such as ``(bytes32, uint256)``. Without the second hash, the two
  children of an inner node, read as a value, would be a "leaf" that proves under
  the root (a second-preimage attack); with it, no inner node can be passed off
  as a leaf.
- **Pairs are hashed sorted**: ``node = keccak256(min(a, b) ++ max(a, b))``. A proof
  is then just the list of siblings, with no left/right bits, which is what
  ``MerkleProof.verify`` and ``multiProofVerify`` expect on chain.

Usage::

    from anchor.merkle import StandardMerkleTree

    values = [(digest_0, 0), (digest_1, 1)]          # bytes32 as bytes or 0x-hex, uint256 as int
    tree = StandardMerkleTree.of(values, ["bytes32", "uint256"])
    tree.root                                        # "0x..."
    proof = tree.get_proof(1)                        # ["0x...", ...], checked before it is returned
    StandardMerkleTree.verify(tree.root, ["bytes32", "uint256"], values[1], proof)  # True
    multi = tree.get_multiproof([0, 1])              # {"leaves", "proof", "proofFlags"}
    StandardMerkleTree.verify_multiproof(tree.root, ["bytes32", "uint256"], multi)
    data = tree.dump()                               # OpenZeppelin "standard-v1" JSON
    same = StandardMerkleTree.load(data)             # checks everything; also loads OZ dumps

    # nightly batch of millions: build with both CPUs, stream every proof
    tree = StandardMerkleTree.of(values, ["bytes32", "uint256"], workers=2)
    for index, proof in tree.iter_proofs(workers=2):
        ...

Errors: bad input raises :class:`~anchor.errors.MerkleInputError` (or
:class:`~anchor.errors.UnknownFormatError` for a dump of another format); a result
that fails its own check raises :class:`~anchor.errors.InvariantError`.
"""

from anchor.merkle.encoding import JsonScalar, LeafValue, Scalar
from anchor.merkle.standard import (
    FORMAT,
    PROOF_SAMPLE_EVERY,
    DumpedValue,
    MultiProof,
    StandardMerkleTree,
    StandardMerkleTreeData,
    standard_leaf_hash,
)

__all__ = [
    "FORMAT",
    "PROOF_SAMPLE_EVERY",
    "DumpedValue",
    "JsonScalar",
    "LeafValue",
    "MultiProof",
    "Scalar",
    "StandardMerkleTree",
    "StandardMerkleTreeData",
    "standard_leaf_hash",
]
