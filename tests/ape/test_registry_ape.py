"""CredentialRegistry through ape: governance, anchoring and revocation, each refusal as its custom error.

Run with ``ape test tests/ape`` (``make ape-test``; ``make test`` runs it). The registry is the one ape compiles
from ``contracts/``; its proofs come from anchor's Merkle library, as an issuer's would.
"""

from __future__ import annotations

from typing import Any

import ape
import pytest

from anchor.chain.artifacts import load_artifact
from anchor.chain.registry_abi import REVOCATION_REASONS, CredentialStatus
from anchor.credentials.receipt import LEAF_ENCODING
from anchor.merkle import StandardMerkleTree

DIGESTS = [bytes([n]) * 32 for n in range(1, 9)]
TREE = StandardMerkleTree.of([(digest, index) for index, digest in enumerate(DIGESTS)], list(LEAF_ENCODING))
FRAUD = REVOCATION_REASONS["fraud"]


@pytest.fixture
def anchored(registry: Any, issuer: int, issuer_key: Any) -> int:
    """The eight credentials of TREE anchored by issuer 1 as batch 1."""
    registry.anchor(TREE.root, len(TREE), sender=issuer_key)
    return 1


def status(registry: Any, batch_id: int, index: int, digest: bytes | None = None) -> CredentialStatus:
    check = registry.credentialStatus(batch_id, index, digest or DIGESTS[index], TREE.get_proof(index))
    return CredentialStatus(check.status)


# ---------------------------------------------------------------------------------------------- the build


def _without_metadata(code: bytes) -> bytes:
    """Runtime code without its CBOR metadata (its last two bytes give the metadata's length)."""
    return code[: -(int.from_bytes(code[-2:], "big") + 2)]


def test_ape_compiles_the_code_anchor_build_commits(project: Any) -> None:
    """Same instructions as the committed artifact; only the metadata hash differs (it names ape's source paths)."""
    ape_code = bytes.fromhex(project.CredentialRegistry.contract_type.runtime_bytecode.bytecode.removeprefix("0x"))
    committed = bytes.fromhex(load_artifact("CredentialRegistry")["deployedBytecode"][2:])
    assert _without_metadata(ape_code) == _without_metadata(committed)
    ape_names = {getattr(item, "name", None) for item in project.CredentialRegistry.contract_type.abi} - {None}
    assert ape_names == {item["name"] for item in load_artifact("CredentialRegistry")["abi"] if "name" in item}


# ---------------------------------------------------------------------------------------------- governance


def test_the_admin_registers_issuers_with_their_keys(admin: Any, accounts: Any, registry: Any) -> None:
    fresh_key = accounts[5]
    receipt = registry.registerIssuer("Politecnico di Milano", b"IT", "did:web:polimi.it", [fresh_key], sender=admin)
    (event,) = registry.IssuerRegistered.from_receipt(receipt)
    assert (event.issuerId, event.name, event.uri) == (3, "Politecnico di Milano", "did:web:polimi.it")
    record = registry.getIssuer(3)
    assert (record.name, record.country, record.signerCount) == ("Politecnico di Milano", b"IT", 1)
    assert registry.issuerIdOf("did:web:polimi.it") == 3
    assert registry.getSigner(fresh_key).issuerId == 3
    assert registry.issuerCount() == 3


def test_only_the_admin_governs(outsider: Any, second_key: Any, registry: Any, issuer: int) -> None:
    with ape.reverts(registry.AccessControlUnauthorizedAccount, account=outsider.address):
        registry.registerIssuer("Fake University", b"DE", "did:web:fake.example", [outsider], sender=outsider)
    with ape.reverts(registry.AccessControlUnauthorizedAccount, account=outsider.address):
        registry.pause(sender=outsider)
    with ape.reverts(registry.AccessControlUnauthorizedAccount, account=outsider.address):
        registry.addSigner(issuer, second_key, sender=outsider)


def test_issuer_metadata_and_identifiers_are_checked(admin: Any, outsider: Any, registry: Any, issuer: int) -> None:
    with ape.reverts(registry.CredentialRegistryInvalidCountry):
        registry.registerIssuer("Université de Lyon", b"fr", "did:web:univ-lyon.fr", [], sender=admin)
    with ape.reverts(registry.CredentialRegistryDuplicateIssuerUri, uri="did:web:uni-heidelberg.de", issuerId=1):
        registry.registerIssuer("Heidelberg again", b"DE", "did:web:uni-heidelberg.de", [outsider], sender=admin)


def test_keys_are_added_and_removed_and_never_reused(
    admin: Any, issuer_key: Any, second_key: Any, registry: Any, issuer: int
) -> None:
    receipt = registry.addSigner(issuer, second_key, sender=admin)
    (added,) = registry.SignerAdded.from_receipt(receipt)
    assert (added.issuerId, added.signer) == (issuer, second_key.address)
    registry.removeSigner(second_key, sender=issuer_key)  # a signer of the same issuer may remove a key
    assert registry.getSigner(second_key).removedAt > 0
    with ape.reverts(registry.CredentialRegistrySignerExists, signer=second_key.address, issuerId=issuer):
        registry.addSigner(issuer, second_key, sender=admin)
    with ape.reverts(registry.CredentialRegistrySignerNotActive, signer=second_key.address):
        registry.removeSigner(second_key, sender=admin)


def test_the_admin_role_moves_only_after_the_delay(admin: Any, outsider: Any, chain: Any, registry: Any) -> None:
    started = registry.beginDefaultAdminTransfer(outsider, sender=admin)
    pending, schedule = registry.pendingDefaultAdmin()
    assert pending == outsider.address
    assert registry.defaultAdminDelay() > 0
    assert schedule == chain.blocks[started.block_number].timestamp + registry.defaultAdminDelay()
    with ape.reverts(registry.AccessControlEnforcedDefaultAdminDelay, schedule=schedule):
        registry.acceptDefaultAdminTransfer(sender=outsider)
    chain.mine(timestamp=schedule + 1)
    registry.acceptDefaultAdminTransfer(sender=outsider)
    assert registry.defaultAdmin() == outsider.address


def test_pausing_stops_anchoring_until_unpaused(admin: Any, issuer_key: Any, registry: Any, issuer: int) -> None:
    registry.pause(sender=admin)
    with ape.reverts(registry.EnforcedPause):
        registry.anchor(TREE.root, len(TREE), sender=issuer_key)
    registry.unpause(sender=admin)
    registry.anchor(TREE.root, len(TREE), sender=issuer_key)
    assert registry.batchCount() == 1


def test_a_deactivated_issuer_neither_anchors_nor_verifies(
    admin: Any, issuer_key: Any, registry: Any, issuer: int, anchored: int
) -> None:
    registry.deactivateIssuer(issuer, sender=admin)
    assert status(registry, anchored, 0) == CredentialStatus.ISSUER_INACTIVE
    with ape.reverts(registry.CredentialRegistryIssuerInactive, issuerId=issuer):
        registry.anchor(b"\x07" * 32, 3, sender=issuer_key)
    registry.reactivateIssuer(issuer, sender=admin)
    assert status(registry, anchored, 0) == CredentialStatus.VALID


# ---------------------------------------------------------------------------------------------- anchoring


def test_a_signer_anchors_a_batch_and_every_credential_verifies(
    issuer_key: Any, chain: Any, registry: Any, issuer: int
) -> None:
    receipt = registry.anchor(TREE.root, len(TREE), sender=issuer_key)
    (event,) = registry.BatchAnchored.from_receipt(receipt)
    assert (event.batchId, event.issuerId, event.root, event.size) == (1, issuer, bytes.fromhex(TREE.root[2:]), 8)
    batch = registry.getBatch(1)
    assert (batch.signer, batch.anchoredAtBlock) == (issuer_key.address, receipt.block_number)
    assert registry.batchIdOf(issuer, TREE.root) == 1
    assert all(status(registry, 1, index) == CredentialStatus.VALID for index in range(len(TREE)))
    assert status(registry, 1, 0, DIGESTS[1]) == CredentialStatus.BAD_PROOF  # another credential's digest
    assert status(registry, 2, 0) == CredentialStatus.UNKNOWN_BATCH


def test_anchoring_refusals(issuer_key: Any, other_issuer_key: Any, outsider: Any, registry: Any, issuer: int) -> None:
    with ape.reverts(registry.CredentialRegistryNotSigner, account=outsider.address):
        registry.anchor(TREE.root, len(TREE), sender=outsider)
    with ape.reverts(registry.CredentialRegistryZeroRoot):
        registry.anchor(b"\x00" * 32, 1, sender=issuer_key)
    with ape.reverts(registry.CredentialRegistryInvalidSize, size=0):
        registry.anchor(TREE.root, 0, sender=issuer_key)
    registry.anchor(TREE.root, len(TREE), sender=issuer_key)
    with ape.reverts(registry.CredentialRegistryDuplicateRoot, issuerId=issuer, batchId=1):
        registry.anchor(TREE.root, len(TREE), sender=issuer_key)
    registry.anchor(TREE.root, len(TREE), sender=other_issuer_key)  # another issuer's same root is its own batch
    assert registry.getBatch(2).issuerId == 2


# ---------------------------------------------------------------------------------------------- revocation


def test_the_issuer_revokes_credentials_for_good(issuer_key: Any, registry: Any, anchored: int) -> None:
    receipt = registry.revokeCredentials(anchored, [2, 5], FRAUD, sender=issuer_key)
    (event,) = registry.CredentialsRevoked.from_receipt(receipt)
    assert (event.batchId, list(event.indices), event.reason) == (anchored, [2, 5], FRAUD)
    assert [status(registry, anchored, i) for i in (1, 2, 5)] == [
        CredentialStatus.VALID,
        CredentialStatus.REVOKED,
        CredentialStatus.REVOKED,
    ]
    with ape.reverts(registry.CredentialRegistryAlreadyRevoked, batchId=anchored, index=5):
        registry.revokeCredentials(anchored, [5], FRAUD, sender=issuer_key)


def test_revocation_refusals(issuer_key: Any, other_issuer_key: Any, registry: Any, anchored: int) -> None:
    with ape.reverts(registry.CredentialRegistryWrongIssuer, account=other_issuer_key.address, issuerId=1):
        registry.revokeCredentials(anchored, [0], FRAUD, sender=other_issuer_key)
    with ape.reverts(registry.CredentialRegistryIndexOutOfRange, batchId=anchored, index=8, size=8):
        registry.revokeCredentials(anchored, [8], FRAUD, sender=issuer_key)
    with ape.reverts(registry.CredentialRegistryInvalidReason, reason=0):
        registry.revokeCredentials(anchored, [0], 0, sender=issuer_key)
    with ape.reverts(registry.CredentialRegistryNoIndices):
        registry.revokeCredentials(anchored, [], FRAUD, sender=issuer_key)
    with ape.reverts(registry.CredentialRegistryUnknownBatch, batchId=9):
        registry.revokeBatch(9, FRAUD, sender=issuer_key)


def test_the_issuer_revokes_a_whole_batch_once(issuer_key: Any, registry: Any, anchored: int) -> None:
    receipt = registry.revokeBatch(anchored, REVOCATION_REASONS["key-compromise"], sender=issuer_key)
    (event,) = registry.BatchRevoked.from_receipt(receipt)
    assert (event.batchId, event.reason) == (anchored, REVOCATION_REASONS["key-compromise"])
    assert {status(registry, anchored, i) for i in range(len(TREE))} == {CredentialStatus.BATCH_REVOKED}
    with ape.reverts(registry.CredentialRegistryBatchAlreadyRevoked, batchId=anchored):
        registry.revokeBatch(anchored, FRAUD, sender=issuer_key)
