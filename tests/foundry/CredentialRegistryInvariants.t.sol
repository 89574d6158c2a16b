// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICredentialRegistry} from "../../contracts/registry/ICredentialRegistry.sol";
import {
    Batch,
    CredentialCheck,
    CredentialStatus,
    Issuer,
    Signer
} from "../../contracts/registry/CredentialRegistryTypes.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {RegistryHandler} from "./utils/RegistryHandler.sol";
import {TestMerkle} from "./utils/TestMerkle.sol";
import {VM} from "./utils/Vm.sol";

/**
 * @notice Stateful fuzzing of the registry against a model (see {RegistryHandler}): issuers, keys, batches,
 * revocations and pauses in random sequences. forge checks every `invariant_` function after every call of every
 * sequence; foundry.toml sets the number of sequences (`[invariant] runs`) and their length (`depth`).
 */
contract CredentialRegistryInvariants is RegistryFixture {
    RegistryHandler internal handler;

    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    function setUp() public override {
        super.setUp();
        handler = new RegistryHandler(registry, ADMIN);
        handler.bootstrap();
    }

    /// @dev forge calls only the handler, never the registry directly (its state would leave the model).
    function targetContracts() public view returns (address[] memory) {
        return one(address(handler));
    }

    /// @dev The handler's actions (not `bootstrap`), each as likely as the others.
    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](9);
        selectors[0] = RegistryHandler.registerIssuer.selector;
        selectors[1] = RegistryHandler.addSigner.selector;
        selectors[2] = RegistryHandler.removeSigner.selector;
        selectors[3] = RegistryHandler.setIssuerActive.selector;
        selectors[4] = RegistryHandler.setPaused.selector;
        selectors[5] = RegistryHandler.anchor.selector;
        selectors[6] = RegistryHandler.revokeCredentials.selector;
        selectors[7] = RegistryHandler.revokeBatch.selector;
        selectors[8] = RegistryHandler.wait.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector(address(handler), selectors);
    }

    /// @notice Every call answered as the model predicted: success, or the exact custom error and arguments.
    function invariant_registryAnswersAsTheModelPredicts() public view {
        VM.assertEq(handler.violation(), "", "the registry disagreed with the model");
    }

    /// @notice No anchored batch ever changes: root, issuer, size, times and key stay as anchored; only the batch
    /// revocation is added, once. No batch appears that was not anchored.
    function invariant_batchesNeverChange() public view {
        uint256 count = handler.batchCount();
        VM.assertEq(registry.batchCount(), count, "batchCount");
        for (uint256 id = 1; id <= count; ++id) {
            RegistryHandler.ModelBatch memory model = handler.batchModel(id);
            Batch memory batch = registry.getBatch(id);
            Batch memory expected = Batch(
                model.root,
                model.issuerId,
                model.size,
                model.anchoredAt,
                model.anchoredAtBlock,
                model.signer,
                model.revokedAt,
                model.revocationReason
            );
            if (keccak256(abi.encode(batch)) == keccak256(abi.encode(expected))) {
                if (registry.batchIdOf(model.issuerId, model.root) == id) continue;
            }
            // Only on a difference: name the field.
            VM.assertEq(batch.root, model.root, "root");
            VM.assertEq(batch.issuerId, model.issuerId, "issuerId");
            VM.assertEq(batch.size, model.size, "size");
            VM.assertEq(batch.anchoredAt, model.anchoredAt, "anchoredAt");
            VM.assertEq(batch.anchoredAtBlock, model.anchoredAtBlock, "anchoredAtBlock");
            VM.assertEq(batch.signer, model.signer, "signer");
            VM.assertEq(batch.revokedAt, model.revokedAt, "revokedAt");
            VM.assertEq(batch.revocationReason, model.revocationReason, "revocationReason");
            VM.assertEq(registry.batchIdOf(model.issuerId, model.root), id, "batchIdOf");
        }
        try registry.getBatch(count + 1) {
            VM.assertTrue(false, "a batch beyond batchCount");
        } catch (bytes memory reason) {
            VM.assertEq(
                reason,
                abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownBatch.selector, count + 1),
                "getBatch of the next id"
            );
        }
    }

    /// @notice A revocation, once accepted, stays: every revoked credential and batch is still revoked, with
    /// the batch's time and reason; and no neighbouring bit was revoked with it.
    function invariant_revocationsNeverDisappear() public view {
        uint256 count = handler.revocationCount();
        for (uint256 i = 0; i < count; ++i) {
            RegistryHandler.Revocation memory r = handler.revocationAt(i);
            if (!registry.isRevoked(r.batchId, r.index)) {
                VM.assertTrue(false, "a revoked credential is no longer revoked");
            }
            _assertRevokedAsModel(r.batchId, r.index + 1);
            _assertRevokedAsModel(r.batchId, r.index ^ 0x100);
            if (r.index > 0) _assertRevokedAsModel(r.batchId, r.index - 1);
        }
        for (uint256 id = 1; id <= handler.batchCount(); ++id) {
            RegistryHandler.ModelBatch memory model = handler.batchModel(id);
            if (model.revokedAt == 0) continue;
            Batch memory batch = registry.getBatch(id);
            if (batch.revokedAt != model.revokedAt || batch.revocationReason != model.revocationReason) {
                VM.assertEq(batch.revokedAt, model.revokedAt, "a revoked batch lost its revocation time");
                VM.assertEq(batch.revocationReason, model.revocationReason, "a revoked batch lost its reason");
            }
        }
    }

    /// @notice Only an active key of a batch's own issuer (as the registry records keys) revoked anything in it.
    function invariant_onlyTheBatchsOwnIssuerRevokes() public view {
        VM.assertEq(handler.foreignRevocations(), 0, "a key of another issuer, or a removed key, revoked");
    }

    /// @notice `credentialStatus` answers what the model says for every credential of every batch, and for
    /// wrong digests, indices past the tree or the batch, and the next, unknown batch.
    function invariant_credentialStatusAgreesWithTheModel() public view {
        uint256 count = handler.batchCount();
        for (uint256 id = 1; id <= count; ++id) {
            RegistryHandler.ModelBatch memory model = handler.batchModel(id);
            bool issuerActive = handler.issuerModel(model.issuerId).deactivatedAt == 0;
            uint256 leaves = handler.leafCountOf(model.seed);
            bytes32[] memory nodes = TestMerkle.build(model.seed, leaves);
            for (uint256 i = 0; i < leaves; ++i) {
                bytes32[] memory proof = TestMerkle.proof(nodes, i);
                CredentialCheck memory check = registry.credentialStatus(id, i, TestMerkle.digest(model.seed, i), proof);
                _assertCheck(check, model, _expectedStatus(id, i, model, issuerActive), "credential");
            }
            // Another credential's digest with leaf 0's proof.
            CredentialCheck memory wrong =
                registry.credentialStatus(id, 0, TestMerkle.digest(model.seed, leaves), TestMerkle.proof(nodes, 0));
            _assertCheck(wrong, model, CredentialStatus.BadProof, "wrong digest");
            if (model.size > leaves) {
                // Past the test tree but inside the batch: no proof can lead there.
                CredentialCheck memory check = registry.credentialStatus(
                    id, model.size - 1, TestMerkle.digest(model.seed, 0), TestMerkle.proof(nodes, 0)
                );
                _assertCheck(check, model, CredentialStatus.BadProof, "index past the tree");
            }
        }
        CredentialCheck memory unknown =
            registry.credentialStatus(count + 1, 0, TestMerkle.digest(0, 0), new bytes32[](0));
        VM.assertTrue(unknown.status == CredentialStatus.UnknownBatch, "the next batch is unknown");
        VM.assertEq(unknown.issuerId, 0, "unknown batch: issuerId");
    }

    /// @notice Issuers, keys and the pause are what the model says.
    function invariant_issuersKeysAndPauseAgreeWithTheModel() public view {
        VM.assertEq(registry.paused(), handler.paused(), "paused");
        uint256 count = handler.issuerCount();
        VM.assertEq(registry.issuerCount(), count, "issuerCount");
        for (uint256 id = 1; id <= count; ++id) {
            RegistryHandler.ModelIssuer memory model = handler.issuerModel(id);
            Issuer memory issuer = registry.getIssuer(id);
            if (
                keccak256(bytes(issuer.uri)) == model.uriHash && issuer.registeredAt == model.registeredAt
                    && issuer.deactivatedAt == model.deactivatedAt && issuer.signerCount == model.signerCount
            ) continue;
            VM.assertEq(keccak256(bytes(issuer.uri)), model.uriHash, "uri");
            VM.assertEq(issuer.registeredAt, model.registeredAt, "registeredAt");
            VM.assertEq(issuer.deactivatedAt, model.deactivatedAt, "deactivatedAt");
            VM.assertEq(issuer.signerCount, model.signerCount, "signerCount");
        }
        for (uint256 n = 0; n < handler.URI_COUNT(); ++n) {
            if (registry.issuerIdOf(handler.uriOf(n)) != handler.issuerOfUri(n)) VM.assertTrue(false, "issuerIdOf");
        }
        for (uint256 k = 0; k <= handler.KEY_COUNT(); ++k) {
            address key_ = k == handler.KEY_COUNT() ? handler.STRANGER() : handler.key(k);
            RegistryHandler.ModelSigner memory model = handler.signerModel(key_);
            Signer memory record = registry.getSigner(key_);
            if (keccak256(abi.encode(record)) == keccak256(abi.encode(model))) continue;
            VM.assertEq(record.issuerId, model.issuerId, "signer issuerId");
            VM.assertEq(record.addedAt, model.addedAt, "signer addedAt");
            VM.assertEq(record.removedAt, model.removedAt, "signer removedAt");
            VM.assertEq(record.removedAtBlock, model.removedAtBlock, "signer removedAtBlock");
        }
    }

    function _expectedStatus(uint256 id, uint256 index, RegistryHandler.ModelBatch memory model, bool issuerActive)
        private
        view
        returns (CredentialStatus)
    {
        if (index >= model.size) return CredentialStatus.BadProof;
        if (!issuerActive) return CredentialStatus.IssuerInactive;
        if (model.revokedAt != 0) return CredentialStatus.BatchRevoked;
        if (handler.revoked(id, index)) return CredentialStatus.Revoked;
        return CredentialStatus.Valid;
    }

    function _assertCheck(
        CredentialCheck memory check,
        RegistryHandler.ModelBatch memory model,
        CredentialStatus expected,
        string memory what
    ) private pure {
        CredentialCheck memory predicted = CredentialCheck(
            expected, model.issuerId, model.anchoredAt, model.anchoredAtBlock, model.revokedAt, model.revocationReason
        );
        if (keccak256(abi.encode(check)) == keccak256(abi.encode(predicted))) return;
        // Only on a difference: name the field.
        VM.assertEq(uint256(check.status), uint256(expected), string.concat(what, ": status"));
        VM.assertEq(check.issuerId, model.issuerId, string.concat(what, ": issuerId"));
        VM.assertEq(check.anchoredAt, model.anchoredAt, string.concat(what, ": anchoredAt"));
        VM.assertEq(check.anchoredAtBlock, model.anchoredAtBlock, string.concat(what, ": anchoredAtBlock"));
        VM.assertEq(check.batchRevokedAt, model.revokedAt, string.concat(what, ": batchRevokedAt"));
        VM.assertEq(check.batchRevocationReason, model.revocationReason, string.concat(what, ": reason"));
    }

    function _assertRevokedAsModel(uint256 batchId, uint256 index) private view {
        if (registry.isRevoked(batchId, index) != handler.revoked(batchId, index)) {
            VM.assertTrue(false, "a neighbouring bit changed with a revocation");
        }
    }
}
