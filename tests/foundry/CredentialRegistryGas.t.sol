// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICredentialRegistry} from "../../contracts/registry/ICredentialRegistry.sol";
import {Batch, Signer} from "../../contracts/registry/CredentialRegistryTypes.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {TestMerkle} from "./utils/TestMerkle.sol";
import {VM} from "./utils/Vm.sol";

/**
 * @notice What the cheaper `anchor` (issue 13, at most 100,000 gas) rests on: the pause flag and the counters in
 * one slot, the batch record packed into two slots plus the root's, and an issuer's deactivation written on each
 * of its active keys (so `anchor` reads the caller's key only), with the cap of 64 active keys that bounds it.
 * The gas itself is asserted on a real transaction by `tests/test_registry_gas.py`.
 */
contract CredentialRegistryGasTest is RegistryFixture {
    uint256 internal constant MAX_SIGNERS = 64;
    /// @dev Slot 3: AccessControlDefaultAdminRules fills slots 1 and 2, then Pausable's `_paused` opens slot 3.
    bytes32 internal constant COUNTERS_SLOT = bytes32(uint256(3));
    uint256 internal constant UINT64 = type(uint64).max;

    function _inactive(uint256 issuerId) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryIssuerInactive.selector, issuerId);
    }

    function _keys(uint256 first, uint256 count) internal pure returns (address[] memory list) {
        list = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            list[i] = key(first + i);
        }
    }

    // ------------------------------------------------------------------ storage layout

    function test_layout_pauseFlagAndCountersShareOneSlot() public {
        registerIssuer("did:web:a.example", one(key(1)));
        registerIssuer("did:web:b.example", one(key(2)));
        anchorTree(key(1), 1, 4);
        anchorTree(key(2), 2, 4);
        anchorTree(key(1), 3, 4);
        uint256 word = uint256(VM.load(address(registry), COUNTERS_SLOT));
        VM.assertEq(word & 0xff, 0, "_paused: byte 0");
        VM.assertEq((word >> 8) & UINT64, 2, "_issuerCount: bytes 1-8");
        VM.assertEq((word >> 72) & UINT64, 3, "_batchCount: bytes 9-16");
        VM.prank(ADMIN);
        registry.pause();
        word = uint256(VM.load(address(registry), COUNTERS_SLOT));
        VM.assertEq(word & 0xff, 1, "paused");
        VM.assertEq(word >> 8, 2 | (3 << 64), "the counters are untouched by the pause");
    }

    function testFuzz_anchor_packedRecordReadsBackExactly(
        bytes32 root,
        uint64 size,
        uint40 time,
        uint40 height,
        uint256 keySeed
    ) public {
        VM.assume(root != bytes32(0) && size != 0 && time != 0);
        address signer = VM.addr(bound(keySeed));
        uint256 issuerId = registerIssuer("did:web:a.example", one(signer));
        VM.warp(time);
        VM.roll(height);
        VM.prank(signer);
        uint256 batchId = registry.anchor(root, size);
        Batch memory batch = registry.getBatch(batchId);
        VM.assertEq(batch.root, root, "root");
        VM.assertEq(batch.issuerId, issuerId, "issuerId");
        VM.assertEq(batch.size, size, "size");
        VM.assertEq(batch.anchoredAt, time, "anchoredAt");
        VM.assertEq(batch.anchoredAtBlock, height, "anchoredAtBlock");
        VM.assertEq(batch.signer, signer, "signer");
        VM.assertEq(batch.revokedAt, 0, "revokedAt");
        VM.assertEq(batch.revocationReason, 0, "revocationReason");
        VM.assertEq(registry.batchIdOf(issuerId, root), batchId, "batchIdOf");
        VM.assertEq(registry.batchCount(), batchId, "batchCount");
    }

    function bound(uint256 seed) internal pure returns (uint256) {
        return 1 + (seed % (type(uint128).max - 1));
    }

    // ------------------------------------------------------------------ deactivation carried by the keys

    /// Keys removed from every place of the issuer's list (last, first, middle), then deactivation and
    /// reactivation: each remaining key is stopped and let go again, removed keys stay out.
    function testFuzz_deactivateIssuer_reachesEveryActiveKeyAfterRemovals(uint8 count, uint64 removals) public {
        uint256 n = 1 + (uint256(count) % 12);
        address[] memory keys = _keys(100, n);
        uint256 issuerId = registerIssuer("did:web:a.example", keys);
        bool[] memory removed = new bool[](n);
        uint256 active = n;
        for (uint256 i = 0; i < n; ++i) {
            if ((removals >> i) & 1 == 1) {
                VM.prank(ADMIN);
                registry.removeSigner(keys[i]);
                removed[i] = true;
                --active;
            }
        }
        VM.assertEq(registry.getIssuer(issuerId).signerCount, active, "signerCount after removals");

        VM.prank(ADMIN);
        registry.deactivateIssuer(issuerId);
        for (uint256 i = 0; i < n; ++i) {
            VM.prank(keys[i]);
            if (removed[i]) {
                VM.expectRevert(
                    abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotSigner.selector, keys[i])
                );
            } else {
                VM.expectRevert(_inactive(issuerId));
            }
            registry.anchor(TestMerkle.root(i, 2), 2);
        }

        VM.prank(ADMIN);
        registry.reactivateIssuer(issuerId);
        for (uint256 i = 0; i < n; ++i) {
            if (removed[i]) continue;
            uint256 batchId = anchorTree(keys[i], i, 2);
            VM.assertEq(registry.getBatch(batchId).signer, keys[i], "a reactivated key anchors");
        }
    }

    function test_addSigner_keyAddedWhileDeactivatedCannotAnchorUntilReactivation() public {
        uint256 issuerId = registerIssuer("did:web:a.example", one(key(1)));
        VM.prank(ADMIN);
        registry.deactivateIssuer(issuerId);
        VM.prank(ADMIN);
        registry.addSigner(issuerId, key(2));
        VM.prank(key(2));
        VM.expectRevert(_inactive(issuerId));
        registry.anchor(TestMerkle.root(1, 2), 2);

        VM.prank(ADMIN);
        registry.reactivateIssuer(issuerId);
        anchorTree(key(2), 1, 2);
        anchorTree(key(1), 2, 2);
    }

    function test_deactivateIssuer_leavesOtherIssuersKeys() public {
        uint256 first = registerIssuer("did:web:a.example", two(key(1), key(2)));
        registerIssuer("did:web:b.example", two(key(3), key(4)));
        VM.prank(ADMIN);
        registry.deactivateIssuer(first);
        anchorTree(key(3), 1, 2);
        anchorTree(key(4), 2, 2);
    }

    function test_deactivatedIssuer_keysStillRevokeAndRemoveEachOther() public {
        uint256 issuerId = registerIssuer("did:web:a.example", two(key(1), key(2)));
        uint256 batchId = anchorTree(key(1), 1, 4);
        VM.prank(ADMIN);
        registry.deactivateIssuer(issuerId);
        VM.prank(key(2));
        registry.revokeCredentials(batchId, indices(1), 2);
        VM.prank(key(2));
        registry.removeSigner(key(1));
        Signer memory record = registry.getSigner(key(1));
        VM.assertTrue(record.removedAt != 0, "removed while the issuer is deactivated");
        VM.prank(key(2));
        registry.revokeBatch(batchId, 3);
    }

    // ------------------------------------------------------------------ the cap on active keys

    function test_addSigner_refusesMoreThan64ActiveKeys() public {
        uint256 issuerId = registerIssuer("did:web:a.example", _keys(100, MAX_SIGNERS));
        VM.assertEq(registry.getIssuer(issuerId).signerCount, MAX_SIGNERS, "64 keys");
        VM.prank(ADMIN);
        VM.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryTooManySigners.selector, issuerId, MAX_SIGNERS)
        );
        registry.addSigner(issuerId, key(500));

        // A removed key frees its place; deactivation then reaches all 64 active keys.
        VM.prank(ADMIN);
        registry.removeSigner(key(100));
        VM.prank(ADMIN);
        registry.addSigner(issuerId, key(500));
        VM.prank(ADMIN);
        registry.deactivateIssuer(issuerId);
        VM.prank(key(500));
        VM.expectRevert(_inactive(issuerId));
        registry.anchor(TestMerkle.root(1, 2), 2);
        VM.prank(key(163));
        VM.expectRevert(_inactive(issuerId));
        registry.anchor(TestMerkle.root(1, 2), 2);
    }

    function test_registerIssuer_refuses65Keys() public {
        VM.prank(ADMIN);
        VM.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryTooManySigners.selector, 1, MAX_SIGNERS)
        );
        registry.registerIssuer("Test University", "DE", "did:web:a.example", _keys(100, MAX_SIGNERS + 1));
    }
}
