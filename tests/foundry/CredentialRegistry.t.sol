// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {ICredentialRegistry} from "../../contracts/registry/ICredentialRegistry.sol";
import {
    Batch,
    CredentialCheck,
    CredentialStatus,
    Issuer,
    Signer
} from "../../contracts/registry/CredentialRegistryTypes.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {TestMerkle} from "./utils/TestMerkle.sol";
import {VM} from "./utils/Vm.sol";

/**
 * @notice Every path of CredentialRegistry, each refusal with its exact custom error and arguments, and every
 * state change with its event. `make contract-coverage` requires these alone to reach 100% of the branches.
 */
contract CredentialRegistryTest is RegistryFixture {
    string internal constant URI = "did:web:uni-heidelberg.de";
    string internal constant OTHER_URI = "did:web:sorbonne.fr";
    bytes32 internal constant ADMIN_ROLE = 0x00;

    address internal signer1;
    address internal signer2;
    address internal otherSigner;
    address internal stranger;
    uint256 internal issuer;
    uint256 internal otherIssuer;

    function setUp() public override {
        super.setUp();
        signer1 = key(1);
        signer2 = key(2);
        otherSigner = key(3);
        stranger = key(4);
        issuer = registerIssuer(URI, two(signer1, signer2));
        otherIssuer = registerIssuer(OTHER_URI, one(otherSigner));
    }

    // ------------------------------------------------------------------ registerIssuer

    function test_registerIssuer_recordsMetadataKeysAndEvents() public {
        VM.warp(START_TIME + 77);
        address a = key(10);
        address b = key(11);
        VM.expectEmit(address(registry));
        emit ICredentialRegistry.IssuerRegistered(3, "Universidade de Lisboa", "PT", "did:web:ulisboa.pt");
        VM.expectEmit(address(registry));
        emit ICredentialRegistry.SignerAdded(3, a);
        VM.expectEmit(address(registry));
        emit ICredentialRegistry.SignerAdded(3, b);
        VM.prank(ADMIN);
        uint256 id = registry.registerIssuer("Universidade de Lisboa", "PT", "did:web:ulisboa.pt", two(a, b));

        VM.assertEq(id, 3, "issuer ids are sequential from 1");
        VM.assertEq(registry.issuerCount(), 3, "issuerCount");
        Issuer memory record = registry.getIssuer(3);
        VM.assertEq(record.name, "Universidade de Lisboa", "name");
        VM.assertEq(bytes32(record.country), bytes32(bytes2("PT")), "country");
        VM.assertEq(record.uri, "did:web:ulisboa.pt", "uri");
        VM.assertEq(record.registeredAt, START_TIME + 77, "registeredAt");
        VM.assertEq(record.deactivatedAt, 0, "deactivatedAt");
        VM.assertEq(record.signerCount, 2, "signerCount");
        VM.assertEq(registry.issuerIdOf("did:web:ulisboa.pt"), 3, "issuerIdOf");
        Signer memory s = registry.getSigner(b);
        VM.assertEq(s.issuerId, 3, "signer issuerId");
        VM.assertEq(s.addedAt, START_TIME + 77, "signer addedAt");
        VM.assertEq(s.removedAt, 0, "signer removedAt");
        VM.assertEq(s.removedAtBlock, 0, "signer removedAtBlock");
    }

    function test_registerIssuer_withoutSigners() public {
        VM.prank(ADMIN);
        uint256 id = registry.registerIssuer("No Keys Yet", "FI", "did:web:nokeys.fi", new address[](0));
        VM.assertEq(registry.getIssuer(id).signerCount, 0, "signerCount");
        VM.assertEq(registry.issuerIdOf(URI), issuer, "the first issuer keeps its identifier");
        VM.assertEq(registry.issuerIdOf(OTHER_URI), otherIssuer, "the second issuer keeps its identifier");
    }

    function test_registerIssuer_refusesEmptyNameOrUri() public {
        VM.prank(ADMIN);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidIssuerMetadata.selector));
        registry.registerIssuer("", "DE", "did:web:a.de", new address[](0));
        VM.prank(ADMIN);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidIssuerMetadata.selector));
        registry.registerIssuer("A", "DE", "", new address[](0));
        VM.prank(ADMIN);
        registry.registerIssuer("A", "DE", "d", new address[](0)); // one character each is enough
    }

    function test_registerIssuer_refusesCountryThatIsNotTwoCapitalLetters() public {
        bytes2[10] memory bad = [
            bytes2("de"),
            bytes2("De"),
            bytes2("dE"),
            bytes2("D1"),
            bytes2("1D"),
            bytes2(0x4041), // "@A": the byte below A
            bytes2(0x415B), // "A[": the byte above Z
            bytes2(0x5B41),
            bytes2(0x4140),
            bytes2(0x0000)
        ];
        for (uint256 i = 0; i < bad.length; ++i) {
            VM.prank(ADMIN);
            VM.expectRevert(
                abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidCountry.selector, bad[i])
            );
            registry.registerIssuer("A", bad[i], "did:web:a.de", new address[](0));
        }
        VM.prank(ADMIN);
        registry.registerIssuer("A", "AZ", "did:web:az", new address[](0));
        VM.prank(ADMIN);
        registry.registerIssuer("A", "ZA", "did:web:za", new address[](0));
    }

    function testFuzz_registerIssuer_countryAcceptedIffTwoCapitalLetters(bytes2 country) public {
        bool valid = uint8(country[0]) >= 0x41 && uint8(country[0]) <= 0x5a && uint8(country[1]) >= 0x41
            && uint8(country[1]) <= 0x5a;
        if (!valid) {
            VM.expectRevert(
                abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidCountry.selector, country)
            );
        }
        VM.prank(ADMIN);
        registry.registerIssuer("A", country, "did:web:fuzz", new address[](0));
    }

    function test_registerIssuer_refusesAnIdentifierAlreadyRegistered() public {
        VM.prank(ADMIN);
        VM.expectRevert(
            abi.encodeWithSelector(
                ICredentialRegistry.CredentialRegistryDuplicateIssuerUri.selector, OTHER_URI, otherIssuer
            )
        );
        registry.registerIssuer("Sorbonne (impostor)", "FR", OTHER_URI, new address[](0));
        VM.assertEq(registry.issuerCount(), 2, "nothing registered");
    }

    function test_registerIssuer_refusesZeroOrKnownSigner() public {
        VM.prank(ADMIN);
        VM.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidSigner.selector, address(0))
        );
        registry.registerIssuer("A", "DE", "did:web:a.de", one(address(0)));
        VM.prank(ADMIN);
        VM.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistrySignerExists.selector, signer2, issuer)
        );
        registry.registerIssuer("A", "DE", "did:web:a.de", one(signer2));
        address fresh = key(20);
        VM.prank(ADMIN);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistrySignerExists.selector, fresh, 3));
        registry.registerIssuer("A", "DE", "did:web:a.de", two(fresh, fresh));
    }

    function test_registerIssuer_onlyAdmin() public {
        VM.prank(signer1);
        VM.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, signer1, ADMIN_ROLE)
        );
        registry.registerIssuer("A", "DE", "did:web:a.de", new address[](0));
    }

    // ------------------------------------------------------------------ addSigner / removeSigner

    function test_addSigner_addsAKeyToAnIssuer() public {
        address fresh = key(21);
        VM.warp(START_TIME + 500);
        VM.expectEmit(address(registry));
        emit ICredentialRegistry.SignerAdded(otherIssuer, fresh);
        VM.prank(ADMIN);
        registry.addSigner(otherIssuer, fresh);
        VM.assertEq(registry.getIssuer(otherIssuer).signerCount, 2, "signerCount");
        Signer memory s = registry.getSigner(fresh);
        VM.assertEq(s.issuerId, otherIssuer, "issuerId");
        VM.assertEq(s.addedAt, START_TIME + 500, "addedAt");
        anchorTree(fresh, 1, 1); // the new key anchors at once
    }

    function test_addSigner_refusesUnknownIssuer() public {
        VM.prank(ADMIN);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownIssuer.selector, 0));
        registry.addSigner(0, key(22));
        VM.prank(ADMIN);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownIssuer.selector, 3));
        registry.addSigner(3, key(22));
    }

    function test_addSigner_refusesZeroKnownOrRemovedKey() public {
        VM.prank(ADMIN);
        VM.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidSigner.selector, address(0))
        );
        registry.addSigner(issuer, address(0));
        VM.prank(ADMIN);
        VM.expectRevert(
            abi.encodeWithSelector(
                ICredentialRegistry.CredentialRegistrySignerExists.selector, otherSigner, otherIssuer
            )
        );
        registry.addSigner(issuer, otherSigner);
        VM.prank(ADMIN);
        registry.removeSigner(signer2);
        VM.prank(ADMIN);
        VM.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistrySignerExists.selector, signer2, issuer)
        );
        registry.addSigner(issuer, signer2);
    }

    function test_addSigner_onlyAdmin() public {
        VM.prank(signer1);
        VM.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, signer1, ADMIN_ROLE)
        );
        registry.addSigner(issuer, key(23));
    }

    function test_removeSigner_byAdminRecordsTimeAndBlock() public {
        VM.warp(START_TIME + 1234);
        VM.roll(START_BLOCK + 56);
        VM.expectEmit(address(registry));
        emit ICredentialRegistry.SignerRemoved(issuer, signer2, ADMIN);
        VM.prank(ADMIN);
        registry.removeSigner(signer2);
        Signer memory s = registry.getSigner(signer2);
        VM.assertEq(s.issuerId, issuer, "a removed key still names its issuer");
        VM.assertEq(s.addedAt, START_TIME, "addedAt unchanged");
        VM.assertEq(s.removedAt, START_TIME + 1234, "removedAt");
        VM.assertEq(s.removedAtBlock, START_BLOCK + 56, "removedAtBlock");
        VM.assertEq(registry.getIssuer(issuer).signerCount, 1, "signerCount");

        VM.prank(signer2);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotSigner.selector, signer2));
        registry.anchor(bytes32(uint256(1)), 1);
    }

    function test_removeSigner_byAnotherKeyOfTheSameIssuer() public {
        VM.expectEmit(address(registry));
        emit ICredentialRegistry.SignerRemoved(issuer, signer2, signer1);
        VM.prank(signer1);
        registry.removeSigner(signer2);
        VM.assertEq(registry.getIssuer(issuer).signerCount, 1, "signerCount");
    }

    function test_removeSigner_aKeyRemovesItself() public {
        VM.prank(otherSigner);
        registry.removeSigner(otherSigner);
        VM.assertEq(registry.getIssuer(otherIssuer).signerCount, 0, "signerCount");
        VM.assertEq(registry.getSigner(otherSigner).removedAt, START_TIME, "removedAt");
    }

    function test_removeSigner_refusesUnknownOrRemovedKey() public {
        VM.prank(ADMIN);
        VM.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistrySignerNotActive.selector, stranger)
        );
        registry.removeSigner(stranger);
        VM.prank(ADMIN);
        registry.removeSigner(signer2);
        VM.prank(ADMIN);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistrySignerNotActive.selector, signer2));
        registry.removeSigner(signer2);
        VM.assertEq(registry.getIssuer(issuer).signerCount, 1, "counted once");
    }

    function test_removeSigner_refusesAnotherIssuersKey() public {
        VM.prank(otherSigner);
        VM.expectRevert(
            abi.encodeWithSelector(
                ICredentialRegistry.CredentialRegistryWrongIssuer.selector, otherSigner, otherIssuer, issuer
            )
        );
        registry.removeSigner(signer1);
    }

    function test_removeSigner_refusesStrangerAndRemovedKey() public {
        VM.prank(stranger);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotSigner.selector, stranger));
        registry.removeSigner(signer1);
        VM.prank(signer2);
        registry.removeSigner(signer2);
        VM.prank(signer2);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotSigner.selector, signer2));
        registry.removeSigner(signer1);
    }

    function test_removeSigner_leavesWhatTheKeyAnchoredValid() public {
        uint256 batchId = anchorTree(signer2, 7, 4);
        VM.prank(signer1);
        registry.removeSigner(signer2);
        bytes32[] memory nodes = TestMerkle.build(7, 4);
        CredentialCheck memory check =
            registry.credentialStatus(batchId, 3, TestMerkle.digest(7, 3), TestMerkle.proof(nodes, 3));
        VM.assertTrue(check.status == CredentialStatus.Valid, "still valid after the key is removed");
        VM.assertEq(registry.getBatch(batchId).signer, signer2, "the batch names the key that anchored it");
    }

    // ------------------------------------------------------------------ deactivate / reactivate

    function test_deactivateIssuer_stopsAnchoringAndVerification() public {
        uint256 batchId = anchorTree(signer1, 1, 2);
        VM.warp(START_TIME + 99);
        VM.expectEmit(address(registry));
        emit ICredentialRegistry.IssuerDeactivated(issuer);
        VM.prank(ADMIN);
        registry.deactivateIssuer(issuer);
        VM.assertEq(registry.getIssuer(issuer).deactivatedAt, START_TIME + 99, "deactivatedAt");

        VM.prank(signer1);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryIssuerInactive.selector, issuer));
        registry.anchor(TestMerkle.root(2, 1), 1);
        CredentialCheck memory check = _status(batchId, 1, 1, 2);
        VM.assertTrue(check.status == CredentialStatus.IssuerInactive, "IssuerInactive");

        VM.prank(signer1); // revocation keeps working
        registry.revokeCredentials(batchId, indices(0), 2);
        VM.prank(signer1);
        registry.revokeBatch(batchId, 3);
        VM.assertTrue(_status(batchId, 1, 1, 2).status == CredentialStatus.IssuerInactive, "inactive before revoked");
        anchorTree(otherSigner, 1, 2); // other issuers are not affected
    }

    function test_deactivateIssuer_refusesInactiveOrUnknownIssuer() public {
        VM.prank(ADMIN);
        registry.deactivateIssuer(issuer);
        VM.prank(ADMIN);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryIssuerInactive.selector, issuer));
        registry.deactivateIssuer(issuer);
        VM.prank(ADMIN);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownIssuer.selector, 9));
        registry.deactivateIssuer(9);
    }

    function test_reactivateIssuer_restoresAnchoringAndVerification() public {
        uint256 batchId = anchorTree(signer1, 1, 2);
        VM.prank(ADMIN);
        registry.deactivateIssuer(issuer);
        VM.expectEmit(address(registry));
        emit ICredentialRegistry.IssuerReactivated(issuer);
        VM.prank(ADMIN);
        registry.reactivateIssuer(issuer);
        VM.assertEq(registry.getIssuer(issuer).deactivatedAt, 0, "deactivatedAt cleared");
        VM.assertTrue(_status(batchId, 1, 0, 2).status == CredentialStatus.Valid, "valid again");
        anchorTree(signer1, 2, 1);
    }

    function test_reactivateIssuer_refusesActiveOrUnknownIssuer() public {
        VM.prank(ADMIN);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryIssuerActive.selector, issuer));
        registry.reactivateIssuer(issuer);
        VM.prank(ADMIN);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownIssuer.selector, 0));
        registry.reactivateIssuer(0);
    }

    function test_deactivateAndReactivate_onlyAdmin() public {
        VM.prank(signer1);
        VM.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, signer1, ADMIN_ROLE)
        );
        registry.deactivateIssuer(otherIssuer);
        VM.prank(ADMIN);
        registry.deactivateIssuer(otherIssuer);
        VM.prank(otherSigner);
        VM.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, otherSigner, ADMIN_ROLE)
        );
        registry.reactivateIssuer(otherIssuer);
    }

    // ------------------------------------------------------------------ pause

    function test_pause_stopsAnchoringOnly() public {
        uint256 batchId = anchorTree(signer1, 1, 4);
        VM.prank(ADMIN);
        registry.pause();
        VM.assertTrue(registry.paused(), "paused");
        VM.prank(signer1);
        VM.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        registry.anchor(TestMerkle.root(2, 1), 1);
        VM.prank(stranger); // the pause is checked before the caller
        VM.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        registry.anchor(TestMerkle.root(2, 1), 1);

        VM.prank(signer1); // revocation is never paused
        registry.revokeCredentials(batchId, indices(1), 2);
        VM.prank(signer1);
        registry.revokeBatch(batchId, 5);
        VM.prank(ADMIN);
        registry.removeSigner(signer2);

        VM.prank(ADMIN);
        registry.unpause();
        VM.assertFalse(registry.paused(), "unpaused");
        anchorTree(signer1, 2, 1);
    }

    function test_pause_refusesTwiceAndUnpauseRefusesWhenRunning() public {
        VM.prank(ADMIN);
        VM.expectRevert(abi.encodeWithSelector(Pausable.ExpectedPause.selector));
        registry.unpause();
        VM.prank(ADMIN);
        registry.pause();
        VM.prank(ADMIN);
        VM.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        registry.pause();
    }

    function test_pauseAndUnpause_onlyAdmin() public {
        VM.prank(signer1);
        VM.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, signer1, ADMIN_ROLE)
        );
        registry.pause();
        VM.prank(ADMIN);
        registry.pause();
        VM.prank(signer1);
        VM.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, signer1, ADMIN_ROLE)
        );
        registry.unpause();
    }

    // ------------------------------------------------------------------ anchor

    function test_anchor_recordsTheBatch() public {
        VM.warp(START_TIME + 3600);
        VM.roll(START_BLOCK + 300);
        bytes32 root = TestMerkle.root(5, 3);
        VM.expectEmit(address(registry));
        emit ICredentialRegistry.BatchAnchored(1, issuer, root, 3, signer2);
        VM.prank(signer2);
        uint256 batchId = registry.anchor(root, 3);

        VM.assertEq(batchId, 1, "batch ids are sequential from 1");
        VM.assertEq(registry.batchCount(), 1, "batchCount");
        VM.assertEq(registry.batchIdOf(issuer, root), 1, "batchIdOf");
        Batch memory batch = registry.getBatch(1);
        VM.assertEq(batch.root, root, "root");
        VM.assertEq(batch.issuerId, issuer, "issuerId");
        VM.assertEq(batch.size, 3, "size");
        VM.assertEq(batch.anchoredAt, START_TIME + 3600, "anchoredAt");
        VM.assertEq(batch.anchoredAtBlock, START_BLOCK + 300, "anchoredAtBlock");
        VM.assertEq(batch.signer, signer2, "signer");
        VM.assertEq(batch.revokedAt, 0, "revokedAt");
        VM.assertEq(batch.revocationReason, 0, "revocationReason");

        VM.assertEq(anchorTree(otherSigner, 6, 1), 2, "the next batch");
        VM.assertEq(registry.batchCount(), 2, "batchCount");
    }

    function test_anchor_refusesStrangerAndRemovedKey() public {
        VM.prank(stranger);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotSigner.selector, stranger));
        registry.anchor(bytes32(uint256(1)), 1);
        VM.prank(ADMIN);
        registry.removeSigner(signer1);
        VM.prank(signer1);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotSigner.selector, signer1));
        registry.anchor(bytes32(uint256(1)), 1);
    }

    function test_anchor_refusesZeroRoot() public {
        VM.prank(signer1);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryZeroRoot.selector));
        registry.anchor(bytes32(0), 1);
    }

    function test_anchor_refusesSizeZeroOrAbove64Bits() public {
        VM.prank(signer1);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidSize.selector, 0));
        registry.anchor(bytes32(uint256(1)), 0);
        uint256 tooBig = uint256(type(uint64).max) + 1;
        VM.prank(signer1);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidSize.selector, tooBig));
        registry.anchor(bytes32(uint256(1)), tooBig);
        VM.prank(signer1);
        uint256 batchId = registry.anchor(bytes32(uint256(1)), type(uint64).max);
        VM.assertEq(registry.getBatch(batchId).size, type(uint64).max, "the largest size is kept whole");
    }

    function testFuzz_anchor_sizeAcceptedIffIn64Bits(uint256 size) public {
        if (size == 0 || size > type(uint64).max) {
            VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidSize.selector, size));
        }
        VM.prank(signer1);
        registry.anchor(bytes32(uint256(1)), size);
    }

    function test_anchor_refusesARootTwicePerIssuerOnly() public {
        bytes32 root = TestMerkle.root(8, 2);
        VM.prank(signer1);
        registry.anchor(root, 2);
        VM.prank(signer2);
        VM.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryDuplicateRoot.selector, issuer, root, 1)
        );
        registry.anchor(root, 5);
        VM.prank(otherSigner); // another issuer sending the same root neither is blocked nor captures it
        VM.assertEq(registry.anchor(root, 2), 2, "other issuer's batch");
        VM.assertEq(registry.batchIdOf(issuer, root), 1, "first issuer's batch");
        VM.assertEq(registry.batchIdOf(otherIssuer, root), 2, "second issuer's batch");
        VM.assertEq(registry.batchIdOf(otherIssuer, TestMerkle.root(9, 2)), 0, "unknown root");
    }

    // ------------------------------------------------------------------ revokeCredentials

    function test_revokeCredentials_setsExactlyTheGivenBitsAcrossWords() public {
        VM.prank(signer1);
        uint256 batchId = registry.anchor(bytes32(uint256(0xbeef)), 600);
        uint256[] memory list = new uint256[](7);
        (list[0], list[1], list[2], list[3], list[4], list[5], list[6]) = (300, 5, 301, 0, 599, 255, 256);
        VM.expectEmit(address(registry));
        emit ICredentialRegistry.CredentialsRevoked(batchId, issuer, list, 6);
        VM.prank(signer2);
        registry.revokeCredentials(batchId, list, 6);

        for (uint256 i = 0; i < list.length; ++i) {
            VM.assertTrue(registry.isRevoked(batchId, list[i]), "revoked index");
        }
        uint256[10] memory untouched = [uint256(1), 4, 6, 254, 257, 298, 299, 302, 511, 598];
        for (uint256 i = 0; i < untouched.length; ++i) {
            VM.assertFalse(registry.isRevoked(batchId, untouched[i]), "untouched index");
        }
        VM.assertEq(registry.getBatch(batchId).revokedAt, 0, "the batch itself is not revoked");
    }

    function test_revokeCredentials_laterCallsKeepEarlierRevocations() public {
        VM.prank(signer1);
        uint256 batchId = registry.anchor(bytes32(uint256(0xbeef)), 600);
        VM.prank(signer1);
        registry.revokeCredentials(batchId, indices(3, 260), 2);
        VM.prank(signer1);
        registry.revokeCredentials(batchId, indices(4, 261), 2);
        VM.prank(signer1);
        registry.revokeCredentials(batchId, indices(262, 5), 2);
        uint256[6] memory all = [uint256(3), 4, 5, 260, 261, 262];
        for (uint256 i = 0; i < all.length; ++i) {
            VM.assertTrue(registry.isRevoked(batchId, all[i]), "kept");
        }
        VM.assertFalse(registry.isRevoked(batchId, 6), "index 6");
        VM.assertFalse(registry.isRevoked(batchId + 1, 3), "another batch");
    }

    function test_revokeCredentials_statusRevokedForThoseOnly() public {
        uint256 batchId = anchorTree(signer1, 4, 5);
        VM.prank(signer1);
        registry.revokeCredentials(batchId, indices(1, 3), 3);
        for (uint256 i = 0; i < 5; ++i) {
            CredentialStatus expected = (i == 1 || i == 3) ? CredentialStatus.Revoked : CredentialStatus.Valid;
            VM.assertTrue(_status(batchId, 4, i, 5).status == expected, "status by index");
        }
    }

    function test_revokeCredentials_refusesUnknownBatch() public {
        VM.prank(signer1);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownBatch.selector, 0));
        registry.revokeCredentials(0, indices(0), 1);
        VM.prank(signer1);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownBatch.selector, 1));
        registry.revokeCredentials(1, indices(0), 1);
    }

    function test_revokeCredentials_onlyTheBatchsOwnIssuer() public {
        uint256 batchId = anchorTree(signer1, 1, 4);
        VM.prank(otherSigner);
        VM.expectRevert(
            abi.encodeWithSelector(
                ICredentialRegistry.CredentialRegistryWrongIssuer.selector, otherSigner, otherIssuer, issuer
            )
        );
        registry.revokeCredentials(batchId, indices(0), 1);
        VM.prank(stranger);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotSigner.selector, stranger));
        registry.revokeCredentials(batchId, indices(0), 1);
        VM.prank(ADMIN); // not even the admin
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotSigner.selector, ADMIN));
        registry.revokeCredentials(batchId, indices(0), 1);
        VM.prank(signer1);
        registry.removeSigner(signer1);
        VM.prank(signer1); // nor the key that anchored it, once removed
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotSigner.selector, signer1));
        registry.revokeCredentials(batchId, indices(0), 1);
        VM.prank(signer2);
        registry.revokeCredentials(batchId, indices(0), 1);
    }

    function test_revokeCredentials_refusesReasonZeroAndNoIndices() public {
        uint256 batchId = anchorTree(signer1, 1, 4);
        VM.prank(signer1);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidReason.selector, 0));
        registry.revokeCredentials(batchId, indices(0), 0);
        VM.prank(signer1);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNoIndices.selector));
        registry.revokeCredentials(batchId, new uint256[](0), 1);
        VM.prank(signer1);
        registry.revokeCredentials(batchId, indices(3), 255);
        VM.assertTrue(registry.isRevoked(batchId, 3), "reason 255 is valid");
    }

    function test_revokeCredentials_refusesIndexOutOfRange() public {
        uint256 batchId = anchorTree(signer1, 1, 4);
        VM.prank(signer1);
        VM.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryIndexOutOfRange.selector, batchId, 4, 4)
        );
        registry.revokeCredentials(batchId, indices(3, 4), 1);
        VM.prank(signer1);
        VM.expectRevert(
            abi.encodeWithSelector(
                ICredentialRegistry.CredentialRegistryIndexOutOfRange.selector, batchId, type(uint256).max, 4
            )
        );
        registry.revokeCredentials(batchId, indices(type(uint256).max), 1);
        VM.assertFalse(registry.isRevoked(batchId, 3), "a refused call revokes nothing");
    }

    function test_revokeCredentials_refusesRevokedOrRepeatedIndex() public {
        uint256 batchId = anchorTree(signer1, 1, 4);
        VM.prank(signer1);
        VM.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryAlreadyRevoked.selector, batchId, 2)
        );
        registry.revokeCredentials(batchId, indices(2, 1, 2), 1);
        VM.assertFalse(registry.isRevoked(batchId, 1), "a refused call revokes nothing");
        VM.prank(signer1);
        registry.revokeCredentials(batchId, indices(2), 1);
        VM.prank(signer2);
        VM.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryAlreadyRevoked.selector, batchId, 2)
        );
        registry.revokeCredentials(batchId, indices(0, 2), 4);
        VM.assertFalse(registry.isRevoked(batchId, 0), "index 0 stays valid");
    }

    function test_revokeCredentials_refusesARevokedBatch() public {
        uint256 batchId = anchorTree(signer1, 1, 4);
        VM.prank(signer1);
        registry.revokeBatch(batchId, 1);
        VM.prank(signer1);
        VM.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryBatchAlreadyRevoked.selector, batchId)
        );
        registry.revokeCredentials(batchId, indices(0), 1);
    }

    function test_revokeCredentials_anyOrderAcrossWords() public {
        uint256[4][4] memory orders = [
            [uint256(5), 300, 520, 521], // ascending across words
            [uint256(300), 200, 5, 520], // descending
            [uint256(0), 300, 1, 301], // alternating
            [uint256(511), 256, 255, 0] // the edges of words
        ];
        for (uint256 n = 0; n < orders.length; ++n) {
            VM.prank(signer1);
            uint256 batchId = registry.anchor(bytes32(uint256(0xa000 + n)), 600);
            uint256[] memory list = new uint256[](4);
            for (uint256 i = 0; i < 4; ++i) {
                list[i] = orders[n][i];
            }
            VM.prank(signer1);
            registry.revokeCredentials(batchId, list, 1);
            uint256 revokedCount = 0;
            for (uint256 index = 0; index < 600; ++index) {
                if (registry.isRevoked(batchId, index)) ++revokedCount;
            }
            VM.assertEq(revokedCount, 4, "exactly the four indices, nothing else");
            for (uint256 i = 0; i < 4; ++i) {
                VM.assertTrue(registry.isRevoked(batchId, list[i]), "each given index");
            }
        }
    }

    /// @dev Gas is part of the contract here: a revocation costs one bit, and indices sharing a word are written
    /// once (see `revokeCredentials`). Differences of storage access costs, which the compiler settings do not
    /// change, are compared; never absolute figures.
    function test_revokeCredentials_costOfOneIndexDoesNotDependOnTheIndex() public {
        uint256[3] memory chosen = [uint256(0), 1, 300];
        uint256[3] memory used;
        registry.batchCount(); // the registry's account is warm from here on
        for (uint256 n = 0; n < 3; ++n) {
            VM.prank(signer1);
            uint256 batchId = registry.anchor(bytes32(uint256(0xb000 + n)), 600);
            uint256[] memory list = indices(chosen[n]);
            VM.prank(signer1);
            uint256 before = gasleft();
            registry.revokeCredentials(batchId, list, 1);
            used[n] = before - gasleft();
        }
        for (uint256 n = 1; n < 3; ++n) {
            uint256 difference = used[n] > used[0] ? used[n] - used[0] : used[0] - used[n];
            VM.assertTrue(difference < 1000, "one revocation reads and writes one storage word, whichever it is");
        }
    }

    function test_revokeCredentials_writesEachWordOnceWhenSorted() public {
        uint256[] memory sorted = new uint256[](16);
        uint256[] memory alternating = new uint256[](16);
        for (uint256 i = 0; i < 8; ++i) {
            (sorted[i], sorted[8 + i]) = (i, 256 + i);
            (alternating[2 * i], alternating[2 * i + 1]) = (i, 256 + i);
        }
        registry.batchCount();
        VM.prank(signer1);
        uint256 first = registry.anchor(bytes32(uint256(0xc001)), 600);
        VM.prank(signer1);
        uint256 second = registry.anchor(bytes32(uint256(0xc002)), 600);
        VM.prank(signer1);
        uint256 before = gasleft();
        registry.revokeCredentials(first, sorted, 1);
        uint256 sortedGas = before - gasleft();
        VM.prank(signer1);
        before = gasleft();
        registry.revokeCredentials(second, alternating, 1);
        uint256 alternatingGas = before - gasleft();
        // Alternating switches words 15 times, sorted once: each switch is one more write and read of a warm slot.
        VM.assertTrue(alternatingGas > sortedGas + 1500, "sorted indices of one word are written together");
    }

    function testFuzz_revokeCredentials_revokesExactlyOneIndex(uint256 size, uint256 index) public {
        size = 1 + (size % 5000);
        index = index % size;
        VM.prank(signer1);
        uint256 batchId = registry.anchor(bytes32(uint256(0xfeed)), size);
        VM.prank(signer1);
        registry.revokeCredentials(batchId, indices(index), 1);
        VM.assertTrue(registry.isRevoked(batchId, index), "revoked");
        if (index > 0) VM.assertFalse(registry.isRevoked(batchId, index - 1), "below");
        VM.assertFalse(registry.isRevoked(batchId, index + 1), "above");
        VM.assertFalse(registry.isRevoked(batchId, index ^ 0x100), "same bit, other word");
    }

    // ------------------------------------------------------------------ revokeBatch

    function test_revokeBatch_recordsTimeAndReason() public {
        uint256 batchId = anchorTree(signer1, 3, 3);
        VM.warp(START_TIME + 86_400);
        VM.expectEmit(address(registry));
        emit ICredentialRegistry.BatchRevoked(batchId, issuer, 4);
        VM.prank(signer2);
        registry.revokeBatch(batchId, 4);
        Batch memory batch = registry.getBatch(batchId);
        VM.assertEq(batch.revokedAt, START_TIME + 86_400, "revokedAt");
        VM.assertEq(batch.revocationReason, 4, "revocationReason");
        VM.assertEq(batch.root, TestMerkle.root(3, 3), "root unchanged");
        VM.assertEq(batch.anchoredAt, START_TIME, "anchoredAt unchanged");
        CredentialCheck memory check = _status(batchId, 3, 2, 3);
        VM.assertTrue(check.status == CredentialStatus.BatchRevoked, "BatchRevoked");
        VM.assertEq(check.batchRevokedAt, START_TIME + 86_400, "check.batchRevokedAt");
        VM.assertEq(check.batchRevocationReason, 4, "check.batchRevocationReason");
    }

    function test_revokeBatch_refusals() public {
        uint256 batchId = anchorTree(signer1, 3, 3);
        VM.prank(signer1);
        VM.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownBatch.selector, batchId + 1)
        );
        registry.revokeBatch(batchId + 1, 1);
        VM.prank(otherSigner);
        VM.expectRevert(
            abi.encodeWithSelector(
                ICredentialRegistry.CredentialRegistryWrongIssuer.selector, otherSigner, otherIssuer, issuer
            )
        );
        registry.revokeBatch(batchId, 1);
        VM.prank(stranger);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotSigner.selector, stranger));
        registry.revokeBatch(batchId, 1);
        VM.prank(signer1);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidReason.selector, 0));
        registry.revokeBatch(batchId, 0);
        VM.prank(signer1);
        registry.revokeBatch(batchId, 1);
        VM.prank(signer2);
        VM.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryBatchAlreadyRevoked.selector, batchId)
        );
        registry.revokeBatch(batchId, 2);
        VM.assertEq(registry.getBatch(batchId).revocationReason, 1, "the first reason stays");
    }

    // ------------------------------------------------------------------ credentialStatus and views

    function test_credentialStatus_validForEveryLeafWithItsFacts() public {
        VM.warp(START_TIME + 10);
        VM.roll(START_BLOCK + 3);
        uint256 batchId = anchorTree(signer1, 11, 7);
        for (uint256 i = 0; i < 7; ++i) {
            CredentialCheck memory check = _status(batchId, 11, i, 7);
            VM.assertTrue(check.status == CredentialStatus.Valid, "Valid");
            VM.assertEq(check.issuerId, issuer, "issuerId");
            VM.assertEq(check.anchoredAt, START_TIME + 10, "anchoredAt");
            VM.assertEq(check.anchoredAtBlock, START_BLOCK + 3, "anchoredAtBlock");
            VM.assertEq(check.batchRevokedAt, 0, "batchRevokedAt");
            VM.assertEq(check.batchRevocationReason, 0, "batchRevocationReason");
        }
    }

    function test_credentialStatus_unknownBatch() public {
        anchorTree(signer1, 1, 1);
        CredentialCheck memory check = registry.credentialStatus(2, 0, TestMerkle.digest(1, 0), new bytes32[](0));
        VM.assertTrue(check.status == CredentialStatus.UnknownBatch, "UnknownBatch");
        VM.assertEq(check.issuerId, 0, "issuerId");
        VM.assertEq(check.anchoredAt, 0, "anchoredAt");
        VM.assertEq(check.anchoredAtBlock, 0, "anchoredAtBlock");
        check = registry.credentialStatus(0, 0, TestMerkle.digest(1, 0), new bytes32[](0));
        VM.assertTrue(check.status == CredentialStatus.UnknownBatch, "batch 0 is never anchored");
    }

    function test_credentialStatus_badProof() public {
        uint256 batchId = anchorTree(signer1, 12, 4);
        bytes32[] memory nodes = TestMerkle.build(12, 4);
        bytes32[] memory proof1 = TestMerkle.proof(nodes, 1);
        CredentialCheck memory check = registry.credentialStatus(batchId, 1, TestMerkle.digest(12, 2), proof1);
        VM.assertTrue(check.status == CredentialStatus.BadProof, "another credential's digest");
        VM.assertEq(check.issuerId, issuer, "the batch's facts are still given");
        check = registry.credentialStatus(batchId, 2, TestMerkle.digest(12, 1), proof1);
        VM.assertTrue(check.status == CredentialStatus.BadProof, "the right digest at another index");
        check = registry.credentialStatus(batchId, 1, TestMerkle.digest(12, 1), TestMerkle.proof(nodes, 2));
        VM.assertTrue(check.status == CredentialStatus.BadProof, "another leaf's proof");
        check = registry.credentialStatus(batchId, 1, TestMerkle.digest(12, 1), new bytes32[](0));
        VM.assertTrue(check.status == CredentialStatus.BadProof, "no proof");
        VM.assertTrue(_status(batchId, 12, 1, 4).status == CredentialStatus.Valid, "the right one");
    }

    function test_credentialStatus_indexMustBeBelowTheSize() public {
        // The tree holds 5 leaves but the issuer anchored it with size 3: leaves 3 and 4 are outside the batch.
        VM.prank(signer1);
        uint256 batchId = registry.anchor(TestMerkle.root(13, 5), 3);
        VM.assertTrue(_status(batchId, 13, 2, 5).status == CredentialStatus.Valid, "index 2 (size - 1)");
        VM.assertTrue(_status(batchId, 13, 3, 5).status == CredentialStatus.BadProof, "index 3 (size)");
        VM.assertTrue(_status(batchId, 13, 4, 5).status == CredentialStatus.BadProof, "index 4");
    }

    function test_credentialStatus_checksInOrder() public {
        uint256 batchId = anchorTree(signer1, 14, 4);
        VM.prank(signer1);
        registry.revokeCredentials(batchId, indices(0), 1);
        VM.assertTrue(_status(batchId, 14, 0, 4).status == CredentialStatus.Revoked, "Revoked");
        VM.prank(signer1);
        registry.revokeBatch(batchId, 2);
        VM.assertTrue(_status(batchId, 14, 0, 4).status == CredentialStatus.BatchRevoked, "BatchRevoked before Revoked");
        VM.assertTrue(_status(batchId, 14, 1, 4).status == CredentialStatus.BatchRevoked, "BatchRevoked");
        VM.prank(ADMIN);
        registry.deactivateIssuer(issuer);
        VM.assertTrue(_status(batchId, 14, 0, 4).status == CredentialStatus.IssuerInactive, "IssuerInactive first");
        CredentialCheck memory check = registry.credentialStatus(batchId, 0, TestMerkle.digest(14, 1), new bytes32[](0));
        VM.assertTrue(check.status == CredentialStatus.BadProof, "BadProof before IssuerInactive");
    }

    function test_credentialStatus_acceptsTheTreesOfTheIssuerLibrary() public {
        // anchor.merkle.StandardMerkleTree.of([[0x0101..01, 0], [0x0202..02, 1], [0x0303..03, 2]], ["bytes32",
        // "uint256"]): its root and the proof of index 1, as the Python issuer writes them into a receipt.
        bytes32 root = 0x6b0f27eb8ef43f7ef6022b8a2afadaa9667a771c8f3a83d593d103e5a81b634a;
        VM.prank(signer1);
        uint256 batchId = registry.anchor(root, 3);
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = 0x4ab30e3c13ea670952c7128dec2acdc2c4e22f9018dbf676d9be319326559652;
        bytes32 digest = 0x0202020202020202020202020202020202020202020202020202020202020202;
        VM.assertTrue(registry.credentialStatus(batchId, 1, digest, proof).status == CredentialStatus.Valid, "valid");
    }

    function test_leafOf_isTheStandardMerkleTreeLeaf() public view {
        // anchor.merkle.standard_leaf_hash(["bytes32", "uint256"], ["0x5eed" * 16, 7])
        VM.assertEq(
            registry.leafOf(0x5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed, 7),
            0xf2de7414fd92f46e9da2c9d4900f7d4afb821702ad8ea2a65921fcbdeab85841,
            "the Python issuer's leaf"
        );
    }

    function testFuzz_leafOf(bytes32 digest, uint256 index) public view {
        VM.assertEq(registry.leafOf(digest, index), TestMerkle.leaf(digest, index), "leaf");
    }

    function test_getBatch_refusesUnknownBatch() public {
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownBatch.selector, 0));
        registry.getBatch(0);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownBatch.selector, 1));
        registry.getBatch(1);
    }

    function test_getIssuer_refusesUnknownIssuer() public {
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownIssuer.selector, 0));
        registry.getIssuer(0);
        VM.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownIssuer.selector, 3));
        registry.getIssuer(3);
        VM.assertEq(registry.getIssuer(2).uri, OTHER_URI, "the last issuer");
    }

    function test_views_ofUnknownThingsAreZero() public view {
        Signer memory s = registry.getSigner(stranger);
        VM.assertEq(s.issuerId, 0, "issuerId");
        VM.assertEq(s.addedAt, 0, "addedAt");
        VM.assertEq(registry.issuerIdOf("did:web:unknown.example"), 0, "issuerIdOf");
        VM.assertEq(registry.batchIdOf(issuer, bytes32(uint256(1))), 0, "batchIdOf");
        VM.assertFalse(registry.isRevoked(1, 0), "isRevoked of an unknown batch");
        VM.assertEq(registry.batchCount(), 0, "batchCount");
        VM.assertEq(registry.issuerCount(), 2, "issuerCount");
    }

    /// @dev credentialStatus of test credential `index` of the batch `seed` with `count` leaves, with its proof.
    function _status(uint256 batchId, uint256 seed, uint256 index, uint256 count)
        internal
        view
        returns (CredentialCheck memory)
    {
        bytes32[] memory nodes = TestMerkle.build(seed, count);
        return registry.credentialStatus(batchId, index, TestMerkle.digest(seed, index), TestMerkle.proof(nodes, index));
    }
}
