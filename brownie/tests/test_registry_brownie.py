"""The registry through brownie: its build is anchor's artifact, and the main paths (govern, anchor, revoke)."""

import brownie
from brownie import web3
from conftest import DIGESTS, TREE

from anchor.chain.artifacts import load_artifact
from anchor.chain.registry_abi import REVOCATION_REASONS, CredentialStatus

ARTIFACT = load_artifact("CredentialRegistry")
FRAUD = REVOCATION_REASONS["fraud"]


def status(registry, batch_id, index):
    check = registry.credentialStatus(batch_id, index, DIGESTS[index], TREE.get_proof(index))
    return CredentialStatus(check[0])


def test_brownie_builds_exactly_the_committed_artifact(CredentialRegistry):  # noqa: N803 (brownie's fixture)
    """Same bytes as `anchor build`, metadata hash included: same sources, settings and remapping."""
    build = CredentialRegistry._build
    assert "0x" + build["deployedBytecode"] == ARTIFACT["deployedBytecode"]
    assert "0x" + build["bytecode"] == ARTIFACT["bytecode"]
    assert build["compiler"]["version"] == ARTIFACT["compiler"]["version"]
    assert build["sourcePath"] == ARTIFACT["sourceName"]


def test_the_deployed_code_is_the_artifacts(registry):
    assert web3.eth.get_code(registry.address).hex().removeprefix("0x") == ARTIFACT["deployedBytecode"][2:]


def test_an_issuer_key_anchors_and_every_credential_verifies(registry, accounts):
    tx = registry.anchor(TREE.root, len(TREE), {"from": accounts[1]})
    assert tx.events["BatchAnchored"]["batchId"] == 1
    assert tx.events["BatchAnchored"]["issuerId"] == 1
    assert registry.batchIdOf(1, TREE.root) == 1
    assert {status(registry, 1, index) for index in range(len(TREE))} == {CredentialStatus.VALID}


def test_revocation_of_credentials_and_of_the_batch(registry, accounts):
    registry.anchor(TREE.root, len(TREE), {"from": accounts[1]})
    tx = registry.revokeCredentials(1, [3], FRAUD, {"from": accounts[1]})
    assert list(tx.events["CredentialsRevoked"]["indices"]) == [3]
    assert [status(registry, 1, i) for i in (2, 3)] == [CredentialStatus.VALID, CredentialStatus.REVOKED]
    registry.revokeBatch(1, FRAUD, {"from": accounts[1]})
    assert status(registry, 1, 2) == CredentialStatus.BATCH_REVOKED
    with brownie.reverts(revert_pattern=r"CredentialRegistryBatchAlreadyRevoked: 1"):
        registry.revokeBatch(1, FRAUD, {"from": accounts[1]})


def test_governance_signers_and_pausing(registry, accounts):
    registry.addSigner(1, accounts[2], {"from": accounts[0]})
    registry.anchor(TREE.root, len(TREE), {"from": accounts[2]})
    registry.removeSigner(accounts[2], {"from": accounts[1]})
    with brownie.reverts(revert_pattern=r"CredentialRegistryNotSigner: " + accounts[2].address.lower()):
        registry.anchor(b"\x07" * 32, 1, {"from": accounts[2]})
    registry.pause({"from": accounts[0]})
    with brownie.reverts(revert_pattern=r"EnforcedPause: "):
        registry.anchor(b"\x07" * 32, 1, {"from": accounts[1]})


def test_refusals_carry_the_custom_error(registry, accounts):
    with brownie.reverts(revert_pattern=r"AccessControlUnauthorizedAccount: " + accounts[3].address.lower() + ".*"):
        registry.registerIssuer("Fake", b"DE", "did:web:fake.example", [accounts[3]], {"from": accounts[3]})
    registry.anchor(TREE.root, len(TREE), {"from": accounts[1]})
    with brownie.reverts(revert_pattern=r"CredentialRegistryDuplicateRoot: 1, .*, 1"):
        registry.anchor(TREE.root, len(TREE), {"from": accounts[1]})
    with brownie.reverts(revert_pattern=r"CredentialRegistryIndexOutOfRange: 1, 8, 8"):
        registry.revokeCredentials(1, [8], FRAUD, {"from": accounts[1]})
