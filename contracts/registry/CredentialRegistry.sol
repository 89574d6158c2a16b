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
    uint256 private _issuerCount;
    uint256 private _batchCount;

    mapping(uint256 issuerId => Issuer) private _issuers;
    mapping(bytes32 uriHash => uint256 issuerId) private _issuerOfUri;
    mapping(address signer => Signer) private _signers;
    mapping(uint256 batchId => Batch) private _batches;
    mapping(uint256 issuerId => mapping(bytes32 root => uint256 batchId)) private _batchOfRoot;
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
        Issuer storage issuer = _issuers[issuerId];
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
        Signer storage record = _signers[signer];
        if (record.issuerId == 0 || record.removedAt != 0) revert CredentialRegistrySignerNotActive(signer);
        if (!hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            uint256 callerIssuerId = _activeIssuerOf(msg.sender);
            if (callerIssuerId != record.issuerId) {
                revert CredentialRegistryWrongIssuer(msg.sender, callerIssuerId, record.issuerId);
            }
        }
        record.removedAt = uint64(block.timestamp);
        record.removedAtBlock = uint64(block.number);
        --_issuers[record.issuerId].signerCount;
        emit SignerRemoved(record.issuerId, signer, msg.sender);
    }

    /// @inheritdoc ICredentialRegistry
    function deactivateIssuer(uint256 issuerId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Issuer storage issuer = _requireIssuer(issuerId);
        if (issuer.deactivatedAt != 0) revert CredentialRegistryIssuerInactive(issuerId);
        issuer.deactivatedAt = uint64(block.timestamp);
        emit IssuerDeactivated(issuerId);
    }

    /// @inheritdoc ICredentialRegistry
    function reactivateIssuer(uint256 issuerId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Issuer storage issuer = _requireIssuer(issuerId);
        if (issuer.deactivatedAt == 0) revert CredentialRegistryIssuerActive(issuerId);
        issuer.deactivatedAt = 0;
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
        uint256 issuerId = _activeIssuerOf(msg.sender);
        if (_issuers[issuerId].deactivatedAt != 0) revert CredentialRegistryIssuerInactive(issuerId);
        if (root == bytes32(0)) revert CredentialRegistryZeroRoot();
        if (size == 0 || size > type(uint64).max) revert CredentialRegistryInvalidSize(size);
        uint256 existing = _batchOfRoot[issuerId][root];
        if (existing != 0) revert CredentialRegistryDuplicateRoot(issuerId, root, existing);

        batchId = ++_batchCount;
        _batchOfRoot[issuerId][root] = batchId;
        _batches[batchId] = Batch({
            root: root,
            issuerId: uint64(issuerId),
            size: uint64(size),
            anchoredAt: uint64(block.timestamp),
            anchoredAtBlock: uint64(block.number),
            signer: msg.sender,
            revokedAt: 0,
            revocationReason: 0
        });
        emit BatchAnchored(batchId, issuerId, root, size, msg.sender);
    }

    /// @inheritdoc ICredentialRegistry
    function revokeCredentials(uint256 batchId, uint256[] calldata indices, uint8 reason) external {
        Batch storage batch = _requireOwnBatch(batchId);
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
        Batch storage batch = _requireOwnBatch(batchId);
        if (reason == 0) revert CredentialRegistryInvalidReason(reason);
        if (batch.revokedAt != 0) revert CredentialRegistryBatchAlreadyRevoked(batchId);
        batch.revokedAt = uint64(block.timestamp);
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
        Batch storage batch = _batches[batchId];
        if (batch.root == bytes32(0)) {
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
        batch = _batches[batchId];
        // `root` is a Merkle root, not a time: slither flags this equality only because the copied struct also
        // holds block times. A zero root is exactly "never anchored" (`anchor` refuses a zero root).
        // slither-disable-next-line incorrect-equality,timestamp
        if (batch.root == bytes32(0)) revert CredentialRegistryUnknownBatch(batchId);
    }

    /// @inheritdoc ICredentialRegistry
    function batchIdOf(uint256 issuerId, bytes32 root) external view returns (uint256 batchId) {
        return _batchOfRoot[issuerId][root];
    }

    /// @inheritdoc ICredentialRegistry
    function issuerIdOf(string calldata uri) external view returns (uint256 issuerId) {
        return _issuerOfUri[keccak256(bytes(uri))];
    }

    /// @inheritdoc ICredentialRegistry
    function getIssuer(uint256 issuerId) external view returns (Issuer memory issuer) {
        return _requireIssuer(issuerId);
    }

    /// @inheritdoc ICredentialRegistry
    function getSigner(address signer) external view returns (Signer memory record) {
        return _signers[signer];
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
        Signer storage record = _signers[signer];
        if (record.issuerId != 0) revert CredentialRegistrySignerExists(signer, record.issuerId);
        record.issuerId = uint64(issuerId);
        record.addedAt = uint64(block.timestamp);
        ++_issuers[issuerId].signerCount;
        emit SignerAdded(issuerId, signer);
    }

    /// @dev The issuer `account` is an active signer of; reverts if it is none.
    function _activeIssuerOf(address account) private view returns (uint256) {
        Signer storage record = _signers[account];
        if (record.issuerId == 0 || record.removedAt != 0) revert CredentialRegistryNotSigner(account);
        return record.issuerId;
    }

    /// @dev The batch `batchId`, provided the caller is an active signer of its issuer.
    function _requireOwnBatch(uint256 batchId) private view returns (Batch storage batch) {
        batch = _batches[batchId];
        if (batch.root == bytes32(0)) revert CredentialRegistryUnknownBatch(batchId);
        uint256 callerIssuerId = _activeIssuerOf(msg.sender);
        if (callerIssuerId != batch.issuerId) {
            revert CredentialRegistryWrongIssuer(msg.sender, callerIssuerId, batch.issuerId);
        }
    }

    function _requireIssuer(uint256 issuerId) private view returns (Issuer storage issuer) {
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
