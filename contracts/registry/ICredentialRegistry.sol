// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Batch, CredentialCheck, Issuer, Signer} from "./CredentialRegistryTypes.sol";

/**
 * @title Credential registry
 * @notice Holds the Merkle roots of credential batches anchored by registered issuers, and their revocations.
 * @dev Roles:
 * - The default admin (OpenZeppelin `AccessControlDefaultAdminRules`, transfer with a delay) registers
 *   issuers, adds and removes their signer keys, deactivates and reactivates issuers, pauses anchoring.
 * - An issuer's signer keys anchor batches and revoke the issuer's own credentials and batches. A signer may
 *   also remove a signer key of its own issuer (itself included), so a compromised key can be cut off at
 *   once without waiting for the admin; only the admin adds keys, so a stolen key cannot add others.
 *
 * An issuer's identifier (the `uri` its credentials name as their issuer, usually a DID) belongs to one
 * issuer for the registry's whole life, so no second issuer can anchor credentials that look like its own.
 *
 * Leaves are OpenZeppelin StandardMerkleTree leaves of the value `(bytes32 digest, uint256 index)`:
 * `keccak256(bytes.concat(keccak256(abi.encode(digest, index))))`. Binding the index into the leaf makes a
 * proof valid for one index only, so a revoked credential cannot be presented under another index.
 *
 * No personal data is ever stored: only roots of trees of salted credential hashes.
 */
interface ICredentialRegistry {
    // ------------------------------------------------------------------ errors

    /// @notice The caller is not an active signer key of any issuer.
    /// @param account The caller.
    error CredentialRegistryNotSigner(address account);

    /// @notice The caller is a signer of `callerIssuerId` but the batch or key belongs to `issuerId`.
    /// @param account The caller.
    /// @param callerIssuerId The issuer the caller signs for.
    /// @param issuerId The issuer the batch or key belongs to.
    error CredentialRegistryWrongIssuer(address account, uint256 callerIssuerId, uint256 issuerId);

    /// @notice No issuer has this id.
    /// @param issuerId The id asked for.
    error CredentialRegistryUnknownIssuer(uint256 issuerId);

    /// @notice The issuer is deactivated and may not anchor (or is deactivated already).
    /// @param issuerId The deactivated issuer.
    error CredentialRegistryIssuerInactive(uint256 issuerId);

    /// @notice The issuer is already active (reactivation of an active issuer).
    /// @param issuerId The active issuer.
    error CredentialRegistryIssuerActive(uint256 issuerId);

    /// @notice An issuer needs a non-empty name and a non-empty URI.
    error CredentialRegistryInvalidIssuerMetadata();

    /// @notice The country code is not two upper-case ASCII letters (ISO 3166-1 alpha-2).
    /// @param country The code given.
    error CredentialRegistryInvalidCountry(bytes2 country);

    /// @notice Another issuer holds this identifier already; an identifier belongs to one issuer for good.
    /// @param uri The identifier given (compared byte for byte).
    /// @param issuerId The issuer registered with it, deactivated or not.
    error CredentialRegistryDuplicateIssuerUri(string uri, uint256 issuerId);

    /// @notice The signer address is the zero address.
    /// @param signer The address given.
    error CredentialRegistryInvalidSigner(address signer);

    /// @notice The key is, or was, registered already; a removed key is never registered again.
    /// @param signer The key given.
    /// @param issuerId The issuer the key is or was registered for.
    error CredentialRegistrySignerExists(address signer, uint256 issuerId);

    /// @notice The issuer has as many active signer keys as it may have; remove one before adding another.
    /// @param issuerId The issuer.
    /// @param limit Active keys an issuer may have at once.
    error CredentialRegistryTooManySigners(uint256 issuerId, uint256 limit);

    /// @notice The key is not an active signer (never registered, or removed before).
    /// @param signer The key given.
    error CredentialRegistrySignerNotActive(address signer);

    /// @notice A batch root may not be zero.
    error CredentialRegistryZeroRoot();

    /// @notice A batch must hold at least one credential and at most 2**64 - 1.
    /// @param size The size given.
    error CredentialRegistryInvalidSize(uint256 size);

    /// @notice The issuer anchored this root already, as batch `batchId`.
    /// @param issuerId The caller's issuer.
    /// @param root The root given.
    /// @param batchId The batch anchored with that root before.
    error CredentialRegistryDuplicateRoot(uint256 issuerId, bytes32 root, uint256 batchId);

    /// @notice No batch has this id.
    /// @param batchId The id given.
    error CredentialRegistryUnknownBatch(uint256 batchId);

    /// @notice The index is not below the batch size.
    /// @param batchId The batch.
    /// @param index The index given.
    /// @param size The number of credentials in the batch.
    error CredentialRegistryIndexOutOfRange(uint256 batchId, uint256 index, uint256 size);

    /// @notice A revocation needs at least one index.
    error CredentialRegistryNoIndices();

    /// @notice Revocation reason codes are 1..255 (0 means "not revoked").
    /// @param reason The code given.
    error CredentialRegistryInvalidReason(uint8 reason);

    /// @notice The credential is revoked already (also raised for an index repeated in one call).
    /// @param batchId The batch.
    /// @param index The index revoked before.
    error CredentialRegistryAlreadyRevoked(uint256 batchId, uint256 index);

    /// @notice The whole batch is revoked already.
    /// @param batchId The batch.
    error CredentialRegistryBatchAlreadyRevoked(uint256 batchId);

    // ------------------------------------------------------------------ events

    /// @notice The admin registered issuer `issuerId`.
    /// @param issuerId The new issuer's id.
    /// @param name Name of the awarding body.
    /// @param country ISO 3166-1 alpha-2 country code.
    /// @param uri The issuer identifier its credentials carry (a DID or an https URL).
    event IssuerRegistered(uint256 indexed issuerId, string name, bytes2 country, string uri);

    /// @notice The admin deactivated issuer `issuerId`: it cannot anchor and its credentials do not verify.
    /// @param issuerId The issuer.
    event IssuerDeactivated(uint256 indexed issuerId);

    /// @notice The admin reactivated issuer `issuerId`.
    /// @param issuerId The issuer.
    event IssuerReactivated(uint256 indexed issuerId);

    /// @notice Key `signer` may now act for issuer `issuerId`.
    /// @param issuerId The issuer.
    /// @param signer The key added.
    event SignerAdded(uint256 indexed issuerId, address indexed signer);

    /// @notice Key `signer` may no longer act for issuer `issuerId`; `by` is the admin or a signer of the issuer.
    /// @param issuerId The issuer the key acted for.
    /// @param signer The key removed.
    /// @param by The account that removed it: the admin, or a signer of the same issuer (possibly `signer`).
    event SignerRemoved(uint256 indexed issuerId, address indexed signer, address indexed by);

    /// @notice Issuer `issuerId` anchored batch `batchId` with Merkle root `root` holding `size` credentials.
    /// @param batchId The new batch's id.
    /// @param issuerId The issuer of the signing key.
    /// @param root Root of the batch's StandardMerkleTree.
    /// @param size Number of credentials in the batch.
    /// @param signer The key that sent the transaction.
    event BatchAnchored(
        uint256 indexed batchId,
        uint256 indexed issuerId,
        bytes32 indexed root,
        uint256 size,
        address signer
    );

    /**
     * @notice The issuer of batch `batchId` revoked the credentials at `indices`, for reason code `reason`.
     * @dev This event is the only record of when and why each credential was revoked (its block time is the
     * revocation time): storage keeps one bit per credential. See `revokeCredentials`.
     * @param batchId The batch.
     * @param issuerId The batch's issuer.
     * @param indices The revoked credentials' indices in the batch, as given.
     * @param reason The reason code (1..255).
     */
    event CredentialsRevoked(uint256 indexed batchId, uint256 indexed issuerId, uint256[] indices, uint8 reason);

    /// @notice The issuer of batch `batchId` revoked the whole batch, for reason code `reason`.
    /// @param batchId The batch.
    /// @param issuerId The batch's issuer.
    /// @param reason The reason code (1..255).
    event BatchRevoked(uint256 indexed batchId, uint256 indexed issuerId, uint8 reason);

    // ------------------------------------------------------------------ governance (admin)

    /**
     * @notice Registers an issuer with its metadata and initial signer keys.
     * @dev Only the default admin. Emits {IssuerRegistered} and one {SignerAdded} per key.
     * An identifier already registered (to an active or deactivated issuer) is refused with
     * {CredentialRegistryDuplicateIssuerUri}; identifiers are compared byte for byte, so write them in their
     * canonical form (a did:web in lower case).
     * @param name Name of the awarding body (not empty).
     * @param country ISO 3166-1 alpha-2 country code, two upper-case letters.
     * @param uri The identifier the issuer's credentials carry as their issuer: a DID or an https URL (not empty,
     * not registered before).
     * @param signers Initial signer keys (at most 64); may be empty and added later with `addSigner`.
     * @return issuerId The new issuer's id, sequential from 1.
     */
    function registerIssuer(
        string calldata name,
        bytes2 country,
        string calldata uri,
        address[] calldata signers
    ) external returns (uint256 issuerId);

    /**
     * @notice Allows key `signer` to anchor and revoke for issuer `issuerId`.
     * @dev Only the default admin. A key belongs to one issuer for its whole life: a key that is or was
     * registered (even removed) is refused with {CredentialRegistrySignerExists}. An issuer has at most 64 active
     * keys ({CredentialRegistryTooManySigners}): `deactivateIssuer` marks each of them. Emits {SignerAdded}.
     * @param issuerId The issuer the key will act for.
     * @param signer The key (not the zero address, never registered before).
     */
    function addSigner(uint256 issuerId, address signer) external;

    /**
     * @notice Removes key `signer`: from now on it can neither anchor nor revoke.
     * @dev By the default admin, or by any active signer of the same issuer (to cut off a compromised key at
     * once). Batches the key anchored before stay valid; the removal time is recorded. Emits {SignerRemoved}.
     * NOTE: a removed key is never registered again; rotate to a new key. Batches a stolen key anchored before
     * it was removed stay valid too: the issuer revokes them with `revokeBatch`.
     * @param signer The active key to remove.
     */
    function removeSigner(address signer) external;

    /**
     * @notice Deactivates issuer `issuerId`: it can no longer anchor, and `credentialStatus` answers
     * `IssuerInactive` for all of its batches until it is reactivated.
     * @dev Only the default admin. Use it when an issuer loses its accreditation or is found fraudulent.
     * To let an issuer stop issuing while its credentials stay valid, remove its signer keys instead.
     * Revocation by the issuer's signers keeps working. Emits {IssuerDeactivated}.
     * NOTE: the deactivation is also written on each active key of the issuer (at most 64), so that `anchor`
     * reads its caller's key record and not the issuer record: the admin pays here, once, for every anchor.
     * @param issuerId The active issuer to deactivate.
     */
    function deactivateIssuer(uint256 issuerId) external;

    /**
     * @notice Reverses `deactivateIssuer`.
     * @dev Only the default admin. Emits {IssuerReactivated}.
     * @param issuerId The deactivated issuer to reactivate.
     */
    function reactivateIssuer(uint256 issuerId) external;

    /// @notice Stops all anchoring (never revocation or reads). Only the default admin. Emits {Paused}.
    function pause() external;

    /// @notice Resumes anchoring. Only the default admin. Emits {Unpaused}.
    function unpause() external;

    // ------------------------------------------------------------------ issuers (signer keys)

    /**
     * @notice Anchors a batch: the Merkle root of `size` credentials of the caller's issuer.
     * @dev Only an active signer of an active issuer, and not while paused. A root is unique per issuer, so
     * another issuer sending the same root first neither blocks nor captures it. Emits {BatchAnchored}.
     * Gas: at most 100,000 a transaction, the first batch included (three fresh storage slots: the root, the
     * rest of the batch record, and the issuer's root-to-batch entry with the anchoring key; one read of the
     * caller's key record, one of the pause flag and counters).
     * @param root Root of the OpenZeppelin StandardMerkleTree of (bytes32 digest, uint256 index) leaves.
     * @param size Number of credentials in the batch (>= 1).
     * @return batchId The new batch's id, sequential from 1.
     */
    function anchor(bytes32 root, uint256 size) external returns (uint256 batchId);

    /**
     * @notice Revokes the credentials at `indices` of batch `batchId`, permanently, for reason code `reason`.
     * @dev Only an active signer of the batch's issuer; works while paused and while the issuer is deactivated.
     * The whole call fails if any index is out of range or already revoked (a repeated index included).
     * Cheapest with indices sorted ascending: indices sharing a 256-bit word are written once.
     * NOTE: the revocation time and reason of a single credential are not stored, only one bit: they live in
     * the {CredentialsRevoked} event (its block time is the revocation time), a deliberate gas trade-off (a
     * stored time would cost a storage slot per credential, about 30 times the gas of a packed revocation).
     * Read them from the logs; `credentialStatus` answers `Revoked` without them.
     * @param batchId The batch, anchored by the caller's issuer and not revoked as a whole.
     * @param indices The credentials' indices in the batch (at least one, each below the batch size).
     * @param reason A reason code 1..255; anchor's codes: 1 unspecified, 2 issued in error, 3 fraud or
     * misconduct, 4 superseded, 5 key compromise, 6 withdrawn at the learner's request.
     */
    function revokeCredentials(uint256 batchId, uint256[] calldata indices, uint8 reason) external;

    /**
     * @notice Revokes the whole batch `batchId`, permanently, for reason code `reason` (1..255).
     * @dev Only an active signer of the batch's issuer; works while paused. Unlike a single credential's, the
     * batch revocation time and reason are stored (one batch, one slot) and `credentialStatus` returns them.
     * Emits {BatchRevoked}.
     * @param batchId The batch, anchored by the caller's issuer.
     * @param reason A reason code 1..255 (the codes of `revokeCredentials`).
     */
    function revokeBatch(uint256 batchId, uint8 reason) external;

    // ------------------------------------------------------------------ views

    /**
     * @notice Everything a verifier needs to know about one credential, in one call.
     * @dev Checks in this order: the batch exists, `index < size` and `proof` leads from the leaf of
     * (digest, index) to the batch root (OpenZeppelin `MerkleProof`), the issuer is active, the batch is not
     * revoked, the credential is not revoked. The key that anchored the batch is not checked: only active keys
     * anchor, and a key removed later leaves its batches valid. A revoked credential's time and reason are not
     * in the answer (see `revokeCredentials`): read them from its {CredentialsRevoked} event.
     * @param batchId The batch the receipt names.
     * @param index The credential's position in its batch (bound into the leaf).
     * @param digest keccak256 of the credential's canonical form.
     * @param proof The Merkle proof from the leaf to the root.
     * @return check The first failing check (or `Valid`) with the batch's issuer and anchoring time.
     */
    function credentialStatus(
        uint256 batchId,
        uint256 index,
        bytes32 digest,
        bytes32[] calldata proof
    ) external view returns (CredentialCheck memory check);

    /**
     * @notice The StandardMerkleTree leaf of (digest, index), as the registry computes it.
     * @dev Double hashing keeps a 64-byte inner node from ever being accepted as a leaf.
     * @param digest keccak256 of the credential's canonical form.
     * @param index The credential's position in its batch.
     * @return leaf `keccak256(bytes.concat(keccak256(abi.encode(digest, index))))`.
     */
    function leafOf(bytes32 digest, uint256 index) external pure returns (bytes32 leaf);

    /**
     * @notice Whether the credential at `index` of batch `batchId` is revoked on its own.
     * @param batchId The batch.
     * @param index The credential's position in the batch.
     * @return revoked True if the credential was revoked with `revokeCredentials` (batch revocation not counted).
     */
    function isRevoked(uint256 batchId, uint256 index) external view returns (bool revoked);

    /**
     * @notice The batch record `batchId`; reverts with {CredentialRegistryUnknownBatch} if there is none.
     * @param batchId The batch.
     * @return batch The batch's root, issuer, size, anchoring time and block, signer and batch revocation.
     */
    function getBatch(uint256 batchId) external view returns (Batch memory batch);

    /**
     * @notice The batch id under which issuer `issuerId` anchored `root`, or 0 if it did not.
     * @param issuerId The issuer.
     * @param root The Merkle root.
     * @return batchId The batch, 0 if the issuer never anchored `root`.
     */
    function batchIdOf(uint256 issuerId, bytes32 root) external view returns (uint256 batchId);

    /**
     * @notice The issuer registered with identifier `uri`, or 0 if there is none.
     * @param uri The identifier (a DID or an https URL), compared byte for byte.
     * @return issuerId The issuer holding `uri`, deactivated or not; 0 if no issuer does.
     */
    function issuerIdOf(string calldata uri) external view returns (uint256 issuerId);

    /**
     * @notice The issuer record `issuerId`; reverts with {CredentialRegistryUnknownIssuer} if there is none.
     * @param issuerId The issuer.
     * @return issuer The issuer's name, country, identifier, registration and deactivation times, key count.
     */
    function getIssuer(uint256 issuerId) external view returns (Issuer memory issuer);

    /**
     * @notice The record of key `signer`.
     * @param signer The key.
     * @return record Its issuer (0 if it was never registered), and when it was added and removed.
     */
    function getSigner(address signer) external view returns (Signer memory record);

    /**
     * @notice Number of batches anchored so far.
     * @return count The number of batches, which is also the id of the latest one.
     */
    function batchCount() external view returns (uint256 count);

    /**
     * @notice Number of issuers registered so far.
     * @return count The number of issuers, which is also the id of the latest one.
     */
    function issuerCount() external view returns (uint256 count);
}
