// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Shared types of the credential registry
/// @notice Structs and the status enum used by {ICredentialRegistry} and its implementation.

/**
 * @notice What the registry says about one credential, answered by `credentialStatus`.
 * @dev The checks run in the order the values are listed after `Valid`; the first failing one is reported.
 * - `Valid`: the proof leads to the batch root, nothing below applies.
 * - `UnknownBatch`: no batch has this id.
 * - `BadProof`: the leaf of (digest, index) is not in the batch's tree, or the index is not below the batch size.
 * - `IssuerInactive`: the admin has deactivated the batch's issuer; none of its credentials verify while it is.
 * - `BatchRevoked`: the issuer revoked the whole batch.
 * - `Revoked`: the issuer revoked this credential (its index in the batch).
 * There is deliberately no status for the anchoring key: `anchor` accepts only active keys, and removing a key
 * later (rotation, compromise) leaves what it anchored valid. Batches a stolen key anchored before it was cut
 * off are revoked by the issuer's other keys, with `revokeBatch`.
 * NOTE: the values are the ABI encoding (uint8); the Python `CredentialStatus` mirrors them in this order (tested).
 */
enum CredentialStatus {
    Valid,
    UnknownBatch,
    BadProof,
    IssuerInactive,
    BatchRevoked,
    Revoked
}

/**
 * @notice A registered issuer: an institution that anchors batches through its signer keys.
 * @param name Human-readable name of the awarding body.
 * @param country ISO 3166-1 alpha-2 code of the issuer's country, e.g. "DE".
 * @param uri The issuer identifier credentials name as their issuer (a DID or an https URL); unique in the registry.
 * @param registeredAt Block time of registration.
 * @param deactivatedAt Block time of deactivation, 0 while the issuer is active.
 * @param signerCount Number of signer keys currently allowed to act for the issuer.
 */
struct Issuer {
    string name;
    bytes2 country;
    string uri;
    uint64 registeredAt;
    uint64 deactivatedAt;
    uint32 signerCount;
}

/**
 * @notice The record of one signer key.
 * @param issuerId The issuer the key acts for; 0 for a key that was never registered.
 * @param addedAt Block time the key was added.
 * @param removedAt Block time the key was removed, 0 while it is active.
 * @param removedAtBlock Block number the key was removed, 0 while it is active.
 */
struct Signer {
    uint64 issuerId;
    uint64 addedAt;
    uint64 removedAt;
    uint64 removedAtBlock;
}

/**
 * @notice One anchored batch: the Merkle root of a set of credentials.
 * @param root Root of the OpenZeppelin StandardMerkleTree of (bytes32 digest, uint256 index) leaves.
 * @param issuerId The issuer whose signer anchored the batch.
 * @param size Number of credentials (leaves) in the batch; valid indices are 0 .. size - 1.
 * @param anchoredAt Block time of anchoring.
 * @param anchoredAtBlock Block number of anchoring.
 * @param signer The key that sent the anchoring transaction.
 * @param revokedAt Block time the whole batch was revoked, 0 if it is not.
 * @param revocationReason Reason code of the batch revocation (see `revokeBatch`), 0 if not revoked.
 */
struct Batch {
    bytes32 root;
    uint64 issuerId;
    uint64 size;
    uint64 anchoredAt;
    uint64 anchoredAtBlock;
    address signer;
    uint64 revokedAt;
    uint8 revocationReason;
}

/**
 * @notice The answer of `credentialStatus`: the verdict plus the facts a verifier shows next to it.
 * @param status The first check that failed, or `Valid`.
 * @param issuerId The batch's issuer, 0 for an unknown batch (a `uint64`, as in {Batch} and {Signer}).
 * @param anchoredAt Block time the batch was anchored, 0 for an unknown batch.
 * @param anchoredAtBlock Block number the batch was anchored, 0 for an unknown batch.
 * @param batchRevokedAt Block time of the batch revocation, 0 if the batch is not revoked.
 * @param batchRevocationReason Reason code of the batch revocation, 0 if the batch is not revoked.
 * @dev A single credential's revocation time is not here: it is kept only in the `CredentialsRevoked` event
 * (see `revokeCredentials`), so that a revocation costs one bit of storage rather than a stored time.
 */
struct CredentialCheck {
    CredentialStatus status;
    uint64 issuerId;
    uint64 anchoredAt;
    uint64 anchoredAtBlock;
    uint64 batchRevokedAt;
    uint8 batchRevocationReason;
}
