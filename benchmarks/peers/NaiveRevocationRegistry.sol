// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Peer for the gas benchmark: one storage slot per revoked credential, keyed by its leaf hash.
/// @notice The common design in credential registries; anchor's registry uses a bitmap keyed by (batch, index).
contract NaiveRevocationRegistry {
    event Revoked(bytes32 indexed leaf, uint256 time);

    mapping(bytes32 leaf => uint256 time) public revokedAt;

    /// @notice Record the revocation time of each leaf.
    function revoke(bytes32[] calldata leaves) external {
        for (uint256 i = 0; i < leaves.length; ++i) {
            revokedAt[leaves[i]] = block.timestamp;
            emit Revoked(leaves[i], block.timestamp);
        }
    }
}
