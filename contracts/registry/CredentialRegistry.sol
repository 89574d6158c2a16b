// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {ICredentialRegistry} from "./ICredentialRegistry.sol";
import {Batch, CredentialCheck, CredentialStatus, Issuer, Signer} from "./CredentialRegistryTypes.sol";

/**
 * @title CredentialRegistry
 * @notice Anchors Merkle roots of micro-credential batches for registered issuers and records revocations.
 * @dev Not upgradeable: a new version is a new deployment, and receipts name the registry they were anchored in.
 * Trees are OpenZeppelin StandardMerkleTrees verified with OpenZeppelin {MerkleProof}, so the Python issuer, the
 * JavaScript reference library and this contract agree on every root and proof.
 */
contract CredentialRegistry is ICredentialRegistry, AccessControlDefaultAdminRules, Pausable {
    /**
     * @dev An issuer as stored: {Issuer} without `signerCount`, which is the length of `signers`, the issuer's
     * active keys (kept so that `deactivateIssuer` can mark each of them, see {SignerRecord}).
     */
    struct IssuerRecord {
        string name;
        string uri;
        bytes2 country;
        uint64 registeredAt;
        uint64 deactivatedAt;
        address[] signers;
    }

    /**
     * @dev A signer key as stored, in one slot, so that `anchor` learns all it needs of its caller with one read.
     * `issuerInactive` mirrors the issuer's deactivation (set and cleared for every active key by
     * `deactivateIssuer` and `reactivateIssuer`, set by `addSigner` for a deactivated issuer): anchoring does
     * not read the issuer record. `position` is the key's place in its issuer's `signers` while it is active.
     * Times are uint40 (seconds and blocks up to 2**40, tens of thousands of years); {Signer} is what views return.
     */
    struct SignerRecord {
        uint64 issuerId;
        uint40 addedAt;
        uint40 removedAt;
        uint40 removedAtBlock;
        bool issuerInactive;
        uint8 position;
    }

    /**
     * @dev A batch as stored by id: the root in one slot, the rest in a second one. `issuerId` is never 0 for an
     * anchored batch (issuer ids start at 1), so `revokeCredentials` and `revokeBatch` read the second slot only.
     * The signer is kept with the batch id in {RootRecord}, the slot the duplicate refusal needs anyway: an
     * anchor writes three fresh slots (the minimum for a 32-byte root, its batch id per issuer and the rest).
     */
    struct BatchRecord {
        bytes32 root;
        uint64 issuerId;
        uint64 size;
        uint40 anchoredAt;
        uint40 anchoredAtBlock;
        uint40 revokedAt;
        uint8 revocationReason;
    }

    /// @dev What an issuer's root maps to: its batch id (0: never anchored by that issuer) and the anchoring key.
    struct RootRecord {
        uint64 batchId;
        address signer;
    }

    /// @dev Active signer keys an issuer may have at once: `deactivateIssuer` marks each of them.
    uint256 private constant _MAX_SIGNERS_PER_ISSUER = 64;

    /// @dev The counters are the first variables declared here, so they share one slot with Pausable's `_paused`
    /// (C3 order puts Pausable last before this contract): `anchor` checks the pause and takes a batch id with one
    /// storage read, and the slot is not zero once an issuer exists, so the first batch costs no more than others.
    /// `tests/test_registry_gas.py` pins this (a moved variable shows as gas).
    uint64 private _issuerCount;
    uint64 private _batchCount;

    mapping(uint256 issuerId => IssuerRecord) private _issuers;
    mapping(bytes32 uriHash => uint256 issuerId) private _issuerOfUri;
    mapping(address signer => SignerRecord) private _signers;
    mapping(uint256 batchId => BatchRecord) private _batches;
    // Written by `anchor` with one SSTORE in assembly (see there), which slither does not see as a write.
    // slither-disable-next-line uninitialized-state
    mapping(uint256 issuerId => mapping(bytes32 root => RootRecord)) private _batchOfRoot;
    /// @dev Bit `index % 256` of word `index / 256` is set when the credential at `index` is revoked. Only the bit:
    /// the revocation time and reason are in the {CredentialsRevoked} event, not in storage (a gas trade-off).
    mapping(uint256 batchId => mapping(uint256 word => uint256 bits)) private _revokedBits;

    /**
     * @notice Deploys the registry with its first admin and the admin transfer delay.
     * @param adminTransferDelay Seconds a new default admin must wait before accepting the role.
     * @param initialAdmin The first default admin (a multisig on public networks).
     */
    constructor(
        uint48 adminTransferDelay,
        address initialAdmin
    ) AccessControlDefaultAdminRules(adminTransferDelay, initialAdmin) {}

    // ------------------------------------------------------------------ governance (admin)

    /// @inheritdoc ICredentialRegistry
    function registerIssuer(
        string calldata name,
        bytes2 country,
        string calldata uri,
        address[] calldata signers
    ) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 issuerId) {
        if (bytes(name).length == 0 || bytes(uri).length == 0) revert CredentialRegistryInvalidIssuerMetadata();
        if (!_isCountryCode(country)) revert CredentialRegistryInvalidCountry(country);
        bytes32 uriHash = keccak256(bytes(uri));
        uint256 holder = _issuerOfUri[uriHash];
        if (holder != 0) revert CredentialRegistryDuplicateIssuerUri(uri, holder);

        issuerId = ++_issuerCount;
        _issuerOfUri[uriHash] = issuerId;
        IssuerRecord storage issuer = _issuers[issuerId];
        issuer.name = name;
        issuer.country = country;
        issuer.uri = uri;
        issuer.registeredAt = uint64(block.timestamp);
        emit IssuerRegistered(issuerId, name, country, uri);

        for (uint256 i = 0; i < signers.length; ++i) {
            _addSigner(issuerId, signers[i]);
        }
    }

    /// @inheritdoc ICredentialRegistry
    function addSigner(uint256 issuerId, address signer) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireIssuer(issuerId);
        _addSigner(issuerId, signer);
    }

    /// @inheritdoc ICredentialRegistry
    function removeSigner(address signer) external {
        SignerRecord storage record = _signers[signer];
        uint256 issuerId = record.issuerId;
        if (issuerId == 0 || record.removedAt != 0) revert CredentialRegistrySignerNotActive(signer);
        if (!hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            uint256 callerIssuerId = _activeIssuerOf(msg.sender);
            if (callerIssuerId != issuerId) {
                revert CredentialRegistryWrongIssuer(msg.sender, callerIssuerId, issuerId);
            }
        }
        record.removedAt = uint40(block.timestamp);
        record.removedAtBlock = uint40(block.number);
        // Swap-and-pop from the issuer's active keys; the key moved into the hole learns its new place.
        address[] storage keys = _issuers[issuerId].signers;
        uint256 position = record.position;
        address last = keys[keys.length - 1];
        keys[position] = last;
        _signers[last].position = uint8(position);
        keys.pop();
        emit SignerRemoved(issuerId, signer, msg.sender);
    }

    /// @inheritdoc ICredentialRegistry
    function deactivateIssuer(uint256 issuerId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        IssuerRecord storage issuer = _requireIssuer(issuerId);
        if (issuer.deactivatedAt != 0) revert CredentialRegistryIssuerInactive(issuerId);
        issuer.deactivatedAt = uint64(block.timestamp);
        _markSigners(issuer.signers, true);
        emit IssuerDeactivated(issuerId);
    }

    /// @inheritdoc ICredentialRegistry
    function reactivateIssuer(uint256 issuerId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        IssuerRecord storage issuer = _requireIssuer(issuerId);
        if (issuer.deactivatedAt == 0) revert CredentialRegistryIssuerActive(issuerId);
        issuer.deactivatedAt = 0;
        _markSigners(issuer.signers, false);
        emit IssuerReactivated(issuerId);
    }

    /// @inheritdoc ICredentialRegistry
    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
    }

    /// @inheritdoc ICredentialRegistry
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ------------------------------------------------------------------ issuers (signer keys)

    /// @inheritdoc ICredentialRegistry
    function anchor(bytes32 root, uint256 size) external whenNotPaused returns (uint256 batchId) {
        SignerRecord storage signer = _signers[msg.sender];
        uint256 issuerId = signer.issuerId;
        if (issuerId == 0 || signer.removedAt != 0) revert CredentialRegistryNotSigner(msg.sender);
        if (signer.issuerInactive) revert CredentialRegistryIssuerInactive(issuerId);
        if (root == bytes32(0)) revert CredentialRegistryZeroRoot();
        if (size == 0 || size > type(uint64).max) revert CredentialRegistryInvalidSize(size);
        RootRecord storage entry = _batchOfRoot[issuerId][root];
        uint256 existing = entry.batchId;
        if (existing != 0) revert CredentialRegistryDuplicateRoot(issuerId, root, existing);

        batchId = ++_batchCount;
        BatchRecord storage batch = _batches[batchId];
        batch.root = root;
        // The packed slots are written whole, one SSTORE each: assigned field by field (or as a struct), the
        // compiler reads and writes the slot again for every field. Fields sit from the low-order end, in the
        // order the structs declare them; the revocation fields of the batch start at 0.
        uint256 rootRecord = uint256(uint64(batchId)) | (uint256(uint160(msg.sender)) << 64);
        uint256 batchRecord = uint256(uint64(issuerId)) |
            (uint256(uint64(size)) << 64) |
            (uint256(uint40(block.timestamp)) << 128) |
            (uint256(uint40(block.number)) << 168);
        // Two SSTOREs where field-by-field writes take more than 800 gas extra (the 100,000-gas anchor target).
        // slither-disable-next-line assembly
        assembly ("memory-safe") { // solhint-disable-line no-inline-assembly
            sstore(entry.slot, rootRecord)
            sstore(add(batch.slot, 1), batchRecord)
        }
        emit BatchAnchored(batchId, issuerId, root, size, msg.sender);
    }

    /// @inheritdoc ICredentialRegistry
    function revokeCredentials(uint256 batchId, uint256[] calldata indices, uint8 reason) external {
        BatchRecord storage batch = _requireOwnBatch(batchId);
        if (reason == 0) revert CredentialRegistryInvalidReason(reason);
        if (indices.length == 0) revert CredentialRegistryNoIndices();
        if (batch.revokedAt != 0) revert CredentialRegistryBatchAlreadyRevoked(batchId);

        uint256 size = batch.size;
        mapping(uint256 word => uint256 bits) storage revoked = _revokedBits[batchId];
        // Indices sharing a word are collected in `bits` and written with one SSTORE when the word changes.
        uint256 word = indices[0] >> 8;
        uint256 bits = revoked[word];
        for (uint256 i = 0; i < indices.length; ++i) {
            uint256 index = indices[i];
            if (index >= size) revert CredentialRegistryIndexOutOfRange(batchId, index, size);
            if (index >> 8 != word) {
                revoked[word] = bits;
                word = index >> 8;
                bits = revoked[word];
            }
            uint256 mask = 1 << (index & 0xff);
            if (bits & mask != 0) revert CredentialRegistryAlreadyRevoked(batchId, index);
            bits |= mask;
        }
        revoked[word] = bits;
        emit CredentialsRevoked(batchId, batch.issuerId, indices, reason);
    }

    /// @inheritdoc ICredentialRegistry
    function revokeBatch(uint256 batchId, uint8 reason) external {
        BatchRecord storage batch = _requireOwnBatch(batchId);
        if (reason == 0) revert CredentialRegistryInvalidReason(reason);
        if (batch.revokedAt != 0) revert CredentialRegistryBatchAlreadyRevoked(batchId);
        batch.revokedAt = uint40(block.timestamp);
        batch.revocationReason = reason;
        emit BatchRevoked(batchId, batch.issuerId, reason);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ICredentialRegistry
    function credentialStatus(
        uint256 batchId,
        uint256 index,
        bytes32 digest,
        bytes32[] calldata proof
    ) external view returns (CredentialCheck memory check) {
        BatchRecord storage batch = _batches[batchId];
        if (batch.issuerId == 0) {
            check.status = CredentialStatus.UnknownBatch;
            return check;
        }
        check.issuerId = batch.issuerId;
        check.anchoredAt = batch.anchoredAt;
        check.anchoredAtBlock = batch.anchoredAtBlock;
        check.batchRevokedAt = batch.revokedAt;
        check.batchRevocationReason = batch.revocationReason;

        if (index >= batch.size || !MerkleProof.verifyCalldata(proof, batch.root, _leaf(digest, index))) {
            check.status = CredentialStatus.BadProof;
        } else if (_issuers[batch.issuerId].deactivatedAt != 0) {
            check.status = CredentialStatus.IssuerInactive;
        } else if (batch.revokedAt != 0) {
            check.status = CredentialStatus.BatchRevoked;
        } else if (_isRevoked(batchId, index)) {
            check.status = CredentialStatus.Revoked;
        } else {
            check.status = CredentialStatus.Valid;
        }
    }

    /// @inheritdoc ICredentialRegistry
    function leafOf(bytes32 digest, uint256 index) external pure returns (bytes32 leaf) {
        return _leaf(digest, index);
    }

    /// @inheritdoc ICredentialRegistry
    function isRevoked(uint256 batchId, uint256 index) external view returns (bool revoked) {
        return _isRevoked(batchId, index);
    }

    /// @inheritdoc ICredentialRegistry
    function getBatch(uint256 batchId) external view returns (Batch memory batch) {
        BatchRecord storage record = _batches[batchId];
        uint256 issuerId = record.issuerId;
        if (issuerId == 0) revert CredentialRegistryUnknownBatch(batchId);
        bytes32 root = record.root;
        batch = Batch({
            root: root,
            issuerId: uint64(issuerId),
            size: record.size,
            anchoredAt: record.anchoredAt,
            anchoredAtBlock: record.anchoredAtBlock,
            signer: _batchOfRoot[issuerId][root].signer,
            revokedAt: record.revokedAt,
            revocationReason: record.revocationReason
        });
    }

    /// @inheritdoc ICredentialRegistry
    function batchIdOf(uint256 issuerId, bytes32 root) external view returns (uint256 batchId) {
        return _batchOfRoot[issuerId][root].batchId;
    }

    /// @inheritdoc ICredentialRegistry
    function issuerIdOf(string calldata uri) external view returns (uint256 issuerId) {
        return _issuerOfUri[keccak256(bytes(uri))];
    }

    /// @inheritdoc ICredentialRegistry
    function getIssuer(uint256 issuerId) external view returns (Issuer memory issuer) {
        IssuerRecord storage record = _requireIssuer(issuerId);
        issuer = Issuer({
            name: record.name,
            country: record.country,
            uri: record.uri,
            registeredAt: record.registeredAt,
            deactivatedAt: record.deactivatedAt,
            signerCount: uint32(record.signers.length)
        });
    }

    /// @inheritdoc ICredentialRegistry
    function getSigner(address signer) external view returns (Signer memory record) {
        SignerRecord storage stored = _signers[signer];
        record = Signer({
            issuerId: stored.issuerId,
            addedAt: stored.addedAt,
            removedAt: stored.removedAt,
            removedAtBlock: stored.removedAtBlock
        });
    }

    /// @inheritdoc ICredentialRegistry
    function batchCount() external view returns (uint256 count) {
        return _batchCount;
    }

    /// @inheritdoc ICredentialRegistry
    function issuerCount() external view returns (uint256 count) {
        return _issuerCount;
    }

    // ------------------------------------------------------------------ internals

    function _addSigner(uint256 issuerId, address signer) private {
        if (signer == address(0)) revert CredentialRegistryInvalidSigner(signer);
        SignerRecord storage record = _signers[signer];
        if (record.issuerId != 0) revert CredentialRegistrySignerExists(signer, record.issuerId);
        IssuerRecord storage issuer = _issuers[issuerId];
        uint256 count = issuer.signers.length;
        if (count == _MAX_SIGNERS_PER_ISSUER) {
            revert CredentialRegistryTooManySigners(issuerId, _MAX_SIGNERS_PER_ISSUER);
        }
        _signers[signer] = SignerRecord({
            issuerId: uint64(issuerId),
            addedAt: uint40(block.timestamp),
            removedAt: 0,
            removedAtBlock: 0,
            issuerInactive: issuer.deactivatedAt != 0,
            position: uint8(count)
        });
        issuer.signers.push(signer);
        emit SignerAdded(issuerId, signer);
    }

    /// @dev Records on each of `keys` (an issuer's active keys) whether their issuer is deactivated.
    function _markSigners(address[] storage keys, bool inactive) private {
        uint256 count = keys.length;
        for (uint256 i = 0; i < count; ++i) {
            _signers[keys[i]].issuerInactive = inactive;
        }
    }

    /// @dev The issuer `account` is an active signer of; reverts if it is none.
    function _activeIssuerOf(address account) private view returns (uint256) {
        SignerRecord storage record = _signers[account];
        if (record.issuerId == 0 || record.removedAt != 0) revert CredentialRegistryNotSigner(account);
        return record.issuerId;
    }

    /// @dev The batch `batchId`, provided the caller is an active signer of its issuer.
    function _requireOwnBatch(uint256 batchId) private view returns (BatchRecord storage batch) {
        batch = _batches[batchId];
        uint256 issuerId = batch.issuerId;
        if (issuerId == 0) revert CredentialRegistryUnknownBatch(batchId);
        uint256 callerIssuerId = _activeIssuerOf(msg.sender);
        if (callerIssuerId != issuerId) {
            revert CredentialRegistryWrongIssuer(msg.sender, callerIssuerId, issuerId);
        }
    }

    function _requireIssuer(uint256 issuerId) private view returns (IssuerRecord storage issuer) {
        if (issuerId == 0 || issuerId > _issuerCount) revert CredentialRegistryUnknownIssuer(issuerId);
        issuer = _issuers[issuerId];
    }

    function _isRevoked(uint256 batchId, uint256 index) private view returns (bool) {
        return (_revokedBits[batchId][index >> 8] >> (index & 0xff)) & 1 == 1;
    }

    /// @dev The OpenZeppelin StandardMerkleTree leaf of the value (bytes32 digest, uint256 index).
    function _leaf(bytes32 digest, uint256 index) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(digest, index))));
    }

    function _isCountryCode(bytes2 country) private pure returns (bool) {
        return _isUpperLetter(country[0]) && _isUpperLetter(country[1]);
    }

    function _isUpperLetter(bytes1 char) private pure returns (bool) {
        return char >= 0x41 && char <= 0x5a;
    }
}
