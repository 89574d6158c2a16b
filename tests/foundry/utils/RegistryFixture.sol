// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IRegistry} from "./IRegistry.sol";
import {TestMerkle} from "./TestMerkle.sol";
import {VM} from "./Vm.sol";

/**
 * @notice A freshly deployed registry, its admin, and keys, at a block time and height that are not zero.
 * @dev The registry is deployed from its compiled artifact, not with `new`, so that these tests do not import the
 * implementation: the mutation run (tools/mutate_registry.py) compiles the tests once and hands each mutant's
 * creation code in the variable ANCHOR_REGISTRY_CREATION_CODE. Unset, the tests run the real contract.
 */
function deployRegistry(uint48 adminDelay, address admin) returns (IRegistry deployed) {
    bytes memory code = bytes.concat(
        VM.envOr("ANCHOR_REGISTRY_CREATION_CODE", VM.getCode("CredentialRegistry.sol:CredentialRegistry")),
        abi.encode(adminDelay, admin)
    );
    address created;
    assembly ("memory-safe") {
        created := create(0, add(code, 0x20), mload(code))
    }
    require(created != address(0), "RegistryFixture: the registry's constructor reverted");
    deployed = IRegistry(created);
}

abstract contract RegistryFixture {
    uint48 internal constant ADMIN_DELAY = 3 days;
    uint256 internal constant START_TIME = 1_700_000_000;
    uint256 internal constant START_BLOCK = 1_000;
    address internal constant ADMIN = address(0xAD);

    IRegistry internal registry;

    function setUp() public virtual {
        VM.warp(START_TIME);
        VM.roll(START_BLOCK);
        registry = deployRegistry(ADMIN_DELAY, ADMIN);
        VM.label(address(registry), "registry");
        VM.label(ADMIN, "admin");
    }

    /// @dev Signer key number `n` (1, 2, ...): distinct, non-zero, never the admin.
    function key(uint256 n) internal pure returns (address) {
        return VM.addr(n + 0xC0FFEE);
    }

    function one(address a) internal pure returns (address[] memory list) {
        list = new address[](1);
        list[0] = a;
    }

    function two(address a, address b) internal pure returns (address[] memory list) {
        list = new address[](2);
        list[0] = a;
        list[1] = b;
    }

    function indices(uint256 a) internal pure returns (uint256[] memory list) {
        list = new uint256[](1);
        list[0] = a;
    }

    function indices(uint256 a, uint256 b) internal pure returns (uint256[] memory list) {
        list = new uint256[](2);
        list[0] = a;
        list[1] = b;
    }

    function indices(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory list) {
        list = new uint256[](3);
        list[0] = a;
        list[1] = b;
        list[2] = c;
    }

    /// @dev Registers an issuer with the given signer keys, as the admin.
    function registerIssuer(string memory uri, address[] memory signers) internal returns (uint256 issuerId) {
        VM.prank(ADMIN);
        issuerId = registry.registerIssuer("Test University", "DE", uri, signers);
    }

    /// @dev Anchors the tree of `count` test credentials of batch `seed`, as `signer`.
    function anchorTree(address signer, uint256 seed, uint256 count) internal returns (uint256 batchId) {
        VM.prank(signer);
        batchId = registry.anchor(TestMerkle.root(seed, count), count);
    }
}
