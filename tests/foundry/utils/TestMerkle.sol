// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title TestMerkle
 * @notice Trees of (bytes32 digest, uint256 index) leaves laid out as OpenZeppelin merkle-tree's `makeMerkleTree`
 * does (root at 0, leaves at the end in reverse order, sorted-pair hashing), written independently of the
 * registry so that the tests do not borrow the code they check.
 */
library TestMerkle {
    /// @dev The StandardMerkleTree leaf: keccak256(keccak256(abi.encode(digest, index))).
    function leaf(bytes32 value, uint256 index) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(value, index))));
    }

    /// @dev The digest of credential `index` of the test batch `seed`.
    function digest(uint256 seed, uint256 index) internal pure returns (bytes32) {
        return keccak256(abi.encode("anchor test credential", seed, index));
    }

    /// @dev All nodes of the tree of credentials 0 .. `count` - 1 of batch `seed`; `nodes[0]` is the root.
    function build(uint256 seed, uint256 count) internal pure returns (bytes32[] memory nodes) {
        require(count > 0, "TestMerkle: empty tree");
        nodes = new bytes32[](2 * count - 1);
        for (uint256 i = 0; i < count; ++i) {
            nodes[nodes.length - 1 - i] = leaf(digest(seed, i), i);
        }
        for (uint256 i = nodes.length - count; i > 0; --i) {
            nodes[i - 1] = _hashPair(nodes[2 * i - 1], nodes[2 * i]);
        }
    }

    /// @dev The root of the tree of credentials 0 .. `count` - 1 of batch `seed`.
    function root(uint256 seed, uint256 count) internal pure returns (bytes32) {
        return build(seed, count)[0];
    }

    /// @dev The proof of leaf `index` (an index in the batch, below `count`) in the tree `nodes` of `count` leaves.
    function proof(bytes32[] memory nodes, uint256 index) internal pure returns (bytes32[] memory path) {
        uint256 position = nodes.length - 1 - index;
        uint256 length = 0;
        for (uint256 i = position; i > 0; i = (i - 1) / 2) {
            ++length;
        }
        path = new bytes32[](length);
        uint256 k = 0;
        for (uint256 i = position; i > 0; i = (i - 1) / 2) {
            path[k++] = nodes[i % 2 == 1 ? i + 1 : i - 1];
        }
    }

    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }
}
