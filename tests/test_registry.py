"""CredentialRegistry on a real EVM (eth-tester + py-evm): every function, every refusal with its exact error."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from eth_tester import EthereumTester
from eth_tester.exceptions import TransactionFailed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from anchor.chain.contract_errors import DecodedError
from anchor.chain.registry import explain
from anchor.chain.registry_abi import CredentialStatus as Status
from anchor.merkle import StandardMerkleTree

from support.evm import ADMIN_DELAY

LEAF_ENCODING = ["bytes32", "uint256"]
ADMIN_ROLE = b"\x00" * 32
TYPES_SOURCE = Path(__file__).resolve().parents[1] / "contracts/registry/CredentialRegistryTypes.sol"


def digest(n: int) -> bytes:
    return Web3.keccak(text=f"credential {n}")


def batch_tree(size: int, salt: int = 0) -> StandardMerkleTree:
    return StandardMerkleTree.of([(digest(salt * 1_000_000 + i), i) for i in range(size)], LEAF_ENCODING)


class Actors:
    """The accounts of a scenario: an admin, two issuers' signers, an outsider."""

    def __init__(self, accounts: list[str]) -> None:
        self.admin = accounts[0]
        self.signer_a = accounts[1]
        self.signer_a2 = accounts[2]
        self.signer_b = accounts[3]
        self.outsider = accounts[4]
        self.new_admin = accounts[5]


@pytest.fixture
def actors(accounts: list[str]) -> Actors:
    return Actors(accounts)


def send(fn: Any, sender: str) -> Any:
    """Transact ``fn`` from ``sender`` and return the mined receipt."""
    w3 = fn.w3
    return w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender}))


@pytest.fixture
def issuers(registry: Contract, actors: Actors) -> Contract:
    """Issuer 1 (signers a, a2) and issuer 2 (signer b) registered."""
    register = registry.functions.registerIssuer
    send(
        register("Universität Heidelberg", b"DE", "did:web:uni-heidelberg.de", [actors.signer_a, actors.signer_a2]),
        actors.admin,
    )
    send(register("Universidade de Lisboa", b"PT", "https://ulisboa.pt", [actors.signer_b]), actors.admin)
    return registry


def anchor(registry: Contract, tree: StandardMerkleTree, signer: str, size: int | None = None) -> int:
    receipt = send(registry.functions.anchor(tree.root, size if size is not None else len(tree)), signer)
    (event,) = registry.events.BatchAnchored().process_receipt(receipt, errors=DISCARD)
    return int(event["args"]["batchId"])


def status(
    registry: Contract, batch_id: int, tree: StandardMerkleTree, position: int, *, index: int | None = None
) -> Any:
    value_digest, value_index = tree.at(position)
    proof = tree.get_proof(position)
    return registry.functions.credentialStatus(
        batch_id, value_index if index is None else index, value_digest, proof
    ).call()


# ---------------------------------------------------------------- deployment and issuers


def test_deployment_sets_admin_and_transfer_delay(registry: Contract, actors: Actors) -> None:
    assert registry.functions.defaultAdmin().call() == actors.admin
    assert registry.functions.defaultAdminDelay().call() == ADMIN_DELAY
    assert registry.functions.issuerCount().call() == 0
    assert registry.functions.batchCount().call() == 0


def test_register_issuer_records_metadata_and_signers(registry: Contract, actors: Actors, w3: Web3) -> None:
    receipt = send(
        registry.functions.registerIssuer("Jyväskylän yliopisto", b"FI", "did:web:jyu.fi", [actors.signer_a]),
        actors.admin,
    )
    (registered,) = registry.events.IssuerRegistered().process_receipt(receipt, errors=DISCARD)
    assert registered["args"]["issuerId"] == 1
    assert registered["args"]["name"] == "Jyväskylän yliopisto"
    (added,) = registry.events.SignerAdded().process_receipt(receipt, errors=DISCARD)
    assert added["args"]["signer"] == actors.signer_a
    name, country, uri, registered_at, deactivated_at, signer_count = registry.functions.getIssuer(1).call()
    assert (name, country, uri, deactivated_at, signer_count) == ("Jyväskylän yliopisto", b"FI", "did:web:jyu.fi", 0, 1)
    assert registered_at == w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    issuer_id, _added_at, removed_at, removed_block = registry.functions.getSigner(actors.signer_a).call()
    assert (issuer_id, removed_at, removed_block) == (1, 0, 0)
    assert registry.functions.issuerCount().call() == 1
    assert registry.functions.issuerIdOf("did:web:jyu.fi").call() == 1
    assert len(receipt["logs"]) == 2  # IssuerRegistered and SignerAdded, nothing else


def test_register_issuer_refuses_an_identifier_held_by_another_issuer(
    issuers: Contract, actors: Actors, reverts: Any
) -> None:
    """A look-alike of issuer 1 (same DID, same name) is refused, even once issuer 1 is deactivated."""
    register = issuers.functions.registerIssuer
    heidelberg = "did:web:uni-heidelberg.de"
    assert issuers.functions.issuerIdOf(heidelberg).call() == 1
    assert issuers.functions.issuerIdOf("https://ulisboa.pt").call() == 2
    # `.call`, not `.transact`: web3's eth-tester provider takes any revert data whose first argument is a
    # string for a revert reason and drops the data (a real node keeps it: see tests/test_operator_cli.py)
    with reverts("CredentialRegistryDuplicateIssuerUri", uri=heidelberg, issuerId=1) as refused:
        register("Universität Heidelberg", b"DE", heidelberg, [actors.outsider]).call({"from": actors.admin})
    assert refused.error is not None
    assert refused.error.args["uri"] == heidelberg  # exactly, not just up to case
    assert explain(refused.error) == (
        f"issuer 1 is registered with the identifier {heidelberg} already; an identifier belongs to one issuer "
        "(CredentialRegistryDuplicateIssuerUri)"
    )
    with pytest.raises(TransactionFailed):
        register("Universität Heidelberg", b"DE", heidelberg, []).transact({"from": actors.admin})
    send(issuers.functions.deactivateIssuer(1), actors.admin)
    with reverts("CredentialRegistryDuplicateIssuerUri", uri=heidelberg, issuerId=1):
        register("Other name", b"FR", heidelberg, []).call({"from": actors.admin})
    with reverts("CredentialRegistryDuplicateIssuerUri", uri="https://ulisboa.pt", issuerId=2):
        register("X", b"PT", "https://ulisboa.pt", []).call({"from": actors.admin})
    # nothing changed: no third issuer, the refused key is free, the outsider still cannot anchor
    assert issuers.functions.issuerCount().call() == 2
    assert issuers.functions.getSigner(actors.outsider).call()[0] == 0
    # identifiers are compared byte for byte: another identifier (even another spelling) is another issuer
    assert issuers.functions.issuerIdOf("did:web:uni-heidelberg.de:x").call() == 0
    receipt = send(register("X", b"DE", "did:web:uni-heidelberg.de:x", []), actors.admin)
    assert len(receipt["logs"]) == 1  # IssuerRegistered only: no new event for the identifier
    assert issuers.functions.issuerIdOf("did:web:uni-heidelberg.de:x").call() == 3


def test_every_registry_error_has_a_sentence(registry: Contract) -> None:
    samples = {"address": "0x" + "11" * 20, "string": "did:web:x", "bytes2": b"DE", "bytes32": b"\x01" * 32}
    for item in registry.abi:
        if item["type"] != "error" or not item["name"].startswith("CredentialRegistry"):
            continue
        args = {arg["name"]: samples.get(arg["type"], 7) for arg in item["inputs"]}
        sentence = explain(DecodedError(item["name"], args))
        assert sentence.endswith(f"({item['name']})"), sentence
        assert "{" not in sentence, sentence


def test_only_admin_registers_issuers(registry: Contract, actors: Actors, reverts: Any) -> None:
    with reverts("AccessControlUnauthorizedAccount", account=actors.outsider, neededRole=ADMIN_ROLE):
        registry.functions.registerIssuer("X", b"DE", "did:web:x", []).transact({"from": actors.outsider})


@pytest.mark.parametrize(
    ("name", "country", "uri", "error"),
    [
        ("", b"DE", "did:web:x", "CredentialRegistryInvalidIssuerMetadata"),
        ("X", b"DE", "", "CredentialRegistryInvalidIssuerMetadata"),
        ("X", b"de", "did:web:x", "CredentialRegistryInvalidCountry"),
        ("X", b"D1", "did:web:x", "CredentialRegistryInvalidCountry"),
        ("X", b"\x00\x00", "did:web:x", "CredentialRegistryInvalidCountry"),
    ],
)
def test_register_issuer_rejects_bad_metadata(
    registry: Contract, actors: Actors, reverts: Any, name: str, country: bytes, uri: str, error: str
) -> None:
    with reverts(error):
        registry.functions.registerIssuer(name, country, uri, []).transact({"from": actors.admin})


def test_signer_zero_address_and_reuse_are_refused(issuers: Contract, actors: Actors, reverts: Any) -> None:
    zero = "0x" + "00" * 20
    with reverts("CredentialRegistryInvalidSigner", signer=zero):
        issuers.functions.addSigner(1, zero).transact({"from": actors.admin})
    with reverts("CredentialRegistrySignerExists", signer=actors.signer_b, issuerId=2):
        issuers.functions.addSigner(1, actors.signer_b).transact({"from": actors.admin})
    with reverts("CredentialRegistrySignerExists", signer=actors.signer_a, issuerId=1):
        issuers.functions.registerIssuer("Y", b"FR", "did:web:y", [actors.signer_a]).transact({"from": actors.admin})


def test_add_signer_needs_admin_and_known_issuer(issuers: Contract, actors: Actors, reverts: Any) -> None:
    with reverts("CredentialRegistryUnknownIssuer", issuerId=3):
        issuers.functions.addSigner(3, actors.outsider).transact({"from": actors.admin})
    with reverts("CredentialRegistryUnknownIssuer", issuerId=0):
        issuers.functions.addSigner(0, actors.outsider).transact({"from": actors.admin})
    with reverts("AccessControlUnauthorizedAccount", account=actors.signer_a):
        issuers.functions.addSigner(1, actors.outsider).transact({"from": actors.signer_a})
    receipt = send(issuers.functions.addSigner(1, actors.outsider), actors.admin)
    (added,) = issuers.events.SignerAdded().process_receipt(receipt, errors=DISCARD)
    assert (added["args"]["issuerId"], added["args"]["signer"]) == (1, actors.outsider)
    assert issuers.functions.getIssuer(1).call()[5] == 3


def test_get_issuer_of_unknown_id_reverts(registry: Contract, reverts: Any) -> None:
    with reverts("CredentialRegistryUnknownIssuer", issuerId=1):
        registry.functions.getIssuer(1).call()


# ---------------------------------------------------------------- anchoring


def test_anchor_stores_batch_with_sequential_ids(issuers: Contract, actors: Actors, w3: Web3) -> None:
    first, second = batch_tree(5, salt=1), batch_tree(3, salt=2)
    receipt = send(issuers.functions.anchor(first.root, 5), actors.signer_a)
    (event,) = issuers.events.BatchAnchored().process_receipt(receipt, errors=DISCARD)
    assert event["args"]["batchId"] == 1
    assert event["args"]["issuerId"] == 1
    assert event["args"]["root"] == bytes.fromhex(first.root[2:])
    assert event["args"]["size"] == 5
    assert event["args"]["signer"] == actors.signer_a
    # the three indexed topics are what verifiers filter by
    assert len(receipt["logs"][0]["topics"]) == 4
    assert anchor(issuers, second, actors.signer_b) == 2
    root, issuer_id, size, anchored_at, anchored_block, signer, revoked_at, reason = issuers.functions.getBatch(
        1
    ).call()
    block = w3.eth.get_block(receipt["blockNumber"])
    assert (root, issuer_id, size, anchored_block, signer, revoked_at, reason) == (
        bytes.fromhex(first.root[2:]),
        1,
        5,
        receipt["blockNumber"],
        actors.signer_a,
        0,
        0,
    )
    assert anchored_at == block["timestamp"]
    assert issuers.functions.batchIdOf(1, first.root).call() == 1
    assert issuers.functions.batchIdOf(2, first.root).call() == 0
    assert issuers.functions.batchCount().call() == 2


def test_anchor_refusals(issuers: Contract, actors: Actors, reverts: Any) -> None:
    tree = batch_tree(4)
    with reverts("CredentialRegistryNotSigner", account=actors.outsider):
        issuers.functions.anchor(tree.root, 4).transact({"from": actors.outsider})
    with reverts("CredentialRegistryNotSigner", account=actors.admin):
        issuers.functions.anchor(tree.root, 4).transact({"from": actors.admin})
    with reverts("CredentialRegistryZeroRoot"):
        issuers.functions.anchor(b"\x00" * 32, 4).transact({"from": actors.signer_a})
    with reverts("CredentialRegistryInvalidSize", size=0):
        issuers.functions.anchor(tree.root, 0).transact({"from": actors.signer_a})
    with reverts("CredentialRegistryInvalidSize", size=2**64):
        issuers.functions.anchor(tree.root, 2**64).transact({"from": actors.signer_a})
    anchor(issuers, tree, actors.signer_a)
    with reverts("CredentialRegistryDuplicateRoot", issuerId=1, batchId=1):
        issuers.functions.anchor(tree.root, 4).transact({"from": actors.signer_a2})


def test_another_issuer_cannot_block_or_capture_a_root(issuers: Contract, actors: Actors) -> None:
    """Issuer B front-runs issuer A's root: both batches exist, each under its own issuer."""
    tree = batch_tree(4)
    stolen = anchor(issuers, tree, actors.signer_b)
    own = anchor(issuers, tree, actors.signer_a)
    assert issuers.functions.batchIdOf(1, tree.root).call() == own
    assert issuers.functions.batchIdOf(2, tree.root).call() == stolen
    assert status(issuers, own, tree, 0)[1] == 1  # the verifier sees issuer A for A's batch ...
    assert status(issuers, stolen, tree, 0)[1] == 2  # ... and issuer B for the copy, never A


def test_get_batch_of_unknown_id_reverts(issuers: Contract, reverts: Any) -> None:
    with reverts("CredentialRegistryUnknownBatch", batchId=7):
        issuers.functions.getBatch(7).call()


# ---------------------------------------------------------------- the status view


def test_every_credential_of_a_batch_verifies(issuers: Contract, actors: Actors) -> None:
    tree = batch_tree(13)
    batch_id = anchor(issuers, tree, actors.signer_a)
    for position in range(13):
        check = status(issuers, batch_id, tree, position)
        assert check[0] == Status.VALID
        assert check[1] == 1


def test_status_codes_mirror_the_solidity_enum_in_order() -> None:
    body = re.search(r"enum CredentialStatus \{([^}]*)\}", TYPES_SOURCE.read_text())
    assert body is not None
    solidity = [name.strip() for name in body.group(1).split(",")]
    assert [re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper() for name in solidity] == [s.name for s in Status]
    assert [s.value for s in Status] == list(range(len(solidity)))


def test_status_issuer_id_is_typed_like_the_stored_issuer_id(registry: Contract) -> None:
    def component(function: str, field: str) -> str:
        (entry,) = (item for item in registry.abi if item.get("name") == function)
        (output,) = entry["outputs"]
        return next(str(c["type"]) for c in output["components"] if c["name"] == field)

    assert component("credentialStatus", "issuerId") == component("getBatch", "issuerId") == "uint64"
    assert component("getSigner", "issuerId") == "uint64"


def test_status_of_unknown_batch(issuers: Contract) -> None:
    tree = batch_tree(2)
    assert status(issuers, 1, tree, 0)[0] == Status.UNKNOWN_BATCH
    assert status(issuers, 0, tree, 0)[0] == Status.UNKNOWN_BATCH


def test_bad_proofs_are_reported(issuers: Contract, actors: Actors) -> None:
    tree = batch_tree(8)
    batch_id = anchor(issuers, tree, actors.signer_a)
    value_digest, index = tree.at(3)
    proof = tree.get_proof(3)
    call = issuers.functions.credentialStatus
    assert call(batch_id, index, digest(999), proof).call()[0] == Status.BAD_PROOF  # altered credential
    flipped = [proof[0][:-1] + ("0" if proof[0][-1] != "0" else "1"), *proof[1:]]
    assert call(batch_id, index, value_digest, flipped).call()[0] == Status.BAD_PROOF
    assert call(batch_id, index, value_digest, proof[:-1]).call()[0] == Status.BAD_PROOF
    other = anchor(issuers, batch_tree(8, salt=5), actors.signer_a)
    assert call(other, index, value_digest, proof).call()[0] == Status.BAD_PROOF  # batch id changed


def test_index_beyond_declared_size_is_a_bad_proof(issuers: Contract, actors: Actors) -> None:
    """An issuer declaring fewer credentials than its tree holds cannot have the extra ones verify."""
    tree = batch_tree(4)
    batch_id = anchor(issuers, tree, actors.signer_a, size=3)
    assert status(issuers, batch_id, tree, 2)[0] == Status.VALID
    assert status(issuers, batch_id, tree, 3)[0] == Status.BAD_PROOF


def test_a_proof_is_bound_to_its_index(issuers: Contract, actors: Actors) -> None:
    """Index swapping: a valid proof for index i never passes as index j, so revoking i cannot be dodged."""
    tree = batch_tree(8)
    batch_id = anchor(issuers, tree, actors.signer_a)
    send(issuers.functions.revokeCredentials(batch_id, [2], 1), actors.signer_a)
    assert status(issuers, batch_id, tree, 2)[0] == Status.REVOKED
    for other_index in range(8):
        if other_index != 2:
            assert status(issuers, batch_id, tree, 2, index=other_index)[0] == Status.BAD_PROOF


def test_leaf_matches_the_python_tree(issuers: Contract) -> None:
    tree = batch_tree(3)
    for position in range(3):
        value_digest, index = tree.at(position)
        assert "0x" + issuers.functions.leafOf(value_digest, index).call().hex() == tree.leaf_hash(
            (value_digest, index)
        )


@settings(
    max_examples=int(os.environ.get("HYPOTHESIS_CHAIN_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(size=st.integers(min_value=1, max_value=70), salt=st.integers(min_value=0, max_value=2**32))
def test_on_chain_merkle_proof_accepts_python_proofs(
    deployed_registry: Contract, tester: EthereumTester, accounts: list[str], size: int, salt: int
) -> None:
    """Cross-language vectors: every proof of the Python tree passes OpenZeppelin MerkleProof on chain."""
    snapshot = tester.take_snapshot()
    try:
        actors = Actors(accounts)
        send(deployed_registry.functions.registerIssuer("U", b"DE", "did:web:u", [actors.signer_a]), actors.admin)
        tree = batch_tree(size, salt=salt)
        batch_id = anchor(deployed_registry, tree, actors.signer_a)
        positions = {0, size - 1, salt % size}
        for position in positions:
            assert status(deployed_registry, batch_id, tree, position)[0] == Status.VALID
    finally:
        tester.revert_to_snapshot(snapshot)


# ---------------------------------------------------------------- revocation


def test_revoke_credentials_in_one_call(issuers: Contract, actors: Actors, w3: Web3) -> None:
    tree = batch_tree(1100)
    batch_id = anchor(issuers, tree, actors.signer_a)
    revoked = [1099, 0, 255, 256, 511, 512, 700]
    receipt = send(issuers.functions.revokeCredentials(batch_id, revoked, 3), actors.signer_a)
    (event,) = issuers.events.CredentialsRevoked().process_receipt(receipt, errors=DISCARD)
    assert event["args"]["batchId"] == batch_id
    assert event["args"]["issuerId"] == 1
    assert list(event["args"]["indices"]) == revoked
    assert event["args"]["reason"] == 3
    for index in [0, 1, 254, 255, 256, 257, 510, 511, 512, 513, 699, 700, 701, 1098, 1099]:
        assert issuers.functions.isRevoked(batch_id, index).call() == (index in revoked), index
    assert status(issuers, batch_id, tree, 700)[0] == Status.REVOKED
    assert status(issuers, batch_id, tree, 701)[0] == Status.VALID


def test_revocation_refusals(issuers: Contract, actors: Actors, reverts: Any) -> None:
    tree = batch_tree(10)
    batch_id = anchor(issuers, tree, actors.signer_a)
    revoke = issuers.functions.revokeCredentials
    with reverts("CredentialRegistryWrongIssuer", account=actors.signer_b, callerIssuerId=2, issuerId=1):
        revoke(batch_id, [1], 1).transact({"from": actors.signer_b})
    with reverts("CredentialRegistryNotSigner", account=actors.outsider):
        revoke(batch_id, [1], 1).transact({"from": actors.outsider})
    with reverts("CredentialRegistryNotSigner", account=actors.admin):
        revoke(batch_id, [1], 1).transact({"from": actors.admin})
    with reverts("CredentialRegistryUnknownBatch", batchId=9):
        revoke(9, [1], 1).transact({"from": actors.signer_a})
    with reverts("CredentialRegistryIndexOutOfRange", batchId=batch_id, index=10, size=10):
        revoke(batch_id, [3, 10], 1).transact({"from": actors.signer_a})
    with reverts("CredentialRegistryNoIndices"):
        revoke(batch_id, [], 1).transact({"from": actors.signer_a})
    with reverts("CredentialRegistryInvalidReason", reason=0):
        revoke(batch_id, [1], 0).transact({"from": actors.signer_a})
    with reverts("CredentialRegistryAlreadyRevoked", batchId=batch_id, index=4):
        revoke(batch_id, [4, 5, 4], 1).transact({"from": actors.signer_a})
    send(revoke(batch_id, [4], 1), actors.signer_a2)  # any signer of the issuer may revoke
    with reverts("CredentialRegistryAlreadyRevoked", batchId=batch_id, index=4):
        revoke(batch_id, [2, 4], 1).transact({"from": actors.signer_a})
    assert not issuers.functions.isRevoked(batch_id, 2).call()  # the failed call changed nothing


def test_revoke_batch(issuers: Contract, actors: Actors, reverts: Any, w3: Web3) -> None:
    tree = batch_tree(6)
    batch_id = anchor(issuers, tree, actors.signer_a)
    with reverts("CredentialRegistryWrongIssuer", account=actors.signer_b):
        issuers.functions.revokeBatch(batch_id, 2).transact({"from": actors.signer_b})
    with reverts("CredentialRegistryInvalidReason", reason=0):
        issuers.functions.revokeBatch(batch_id, 0).transact({"from": actors.signer_a})
    receipt = send(issuers.functions.revokeBatch(batch_id, 2), actors.signer_a)
    (event,) = issuers.events.BatchRevoked().process_receipt(receipt, errors=DISCARD)
    assert (event["args"]["batchId"], event["args"]["issuerId"], event["args"]["reason"]) == (batch_id, 1, 2)
    when = w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    check = status(issuers, batch_id, tree, 0)
    assert check[0] == Status.BATCH_REVOKED
    assert (check[4], check[5]) == (when, 2)
    with reverts("CredentialRegistryBatchAlreadyRevoked", batchId=batch_id):
        issuers.functions.revokeBatch(batch_id, 2).transact({"from": actors.signer_a})
    with reverts("CredentialRegistryBatchAlreadyRevoked", batchId=batch_id):
        issuers.functions.revokeCredentials(batch_id, [1], 2).transact({"from": actors.signer_a})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(indices=st.lists(st.integers(min_value=0, max_value=2047), min_size=1, max_size=40, unique=True))
def test_revocation_bitmap_matches_the_revoked_set(
    deployed_registry: Contract, tester: EthereumTester, accounts: list[str], indices: list[int]
) -> None:
    snapshot = tester.take_snapshot()
    try:
        actors = Actors(accounts)
        send(deployed_registry.functions.registerIssuer("U", b"DE", "did:web:u", [actors.signer_a]), actors.admin)
        batch_id = anchor(deployed_registry, batch_tree(2048), actors.signer_a)
        send(deployed_registry.functions.revokeCredentials(batch_id, indices, 1), actors.signer_a)
        probes = set(indices) | {i + 1 for i in indices if i < 2047} | {i - 1 for i in indices if i > 0}
        for index in probes:
            assert deployed_registry.functions.isRevoked(batch_id, index).call() == (index in indices)
    finally:
        tester.revert_to_snapshot(snapshot)


# ---------------------------------------------------------------- signers, issuers, pausing


def test_removed_signer_cannot_act_but_its_batches_stay_valid(
    issuers: Contract, actors: Actors, reverts: Any, w3: Web3
) -> None:
    tree = batch_tree(5)
    batch_id = anchor(issuers, tree, actors.signer_a)
    receipt = send(issuers.functions.removeSigner(actors.signer_a), actors.admin)
    (event,) = issuers.events.SignerRemoved().process_receipt(receipt, errors=DISCARD)
    assert (event["args"]["issuerId"], event["args"]["signer"], event["args"]["by"]) == (
        1,
        actors.signer_a,
        actors.admin,
    )
    _, _, removed_at, removed_block = issuers.functions.getSigner(actors.signer_a).call()
    assert removed_block == receipt["blockNumber"]
    assert removed_at == w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert status(issuers, batch_id, tree, 0)[0] == Status.VALID
    with reverts("CredentialRegistryNotSigner", account=actors.signer_a):
        issuers.functions.anchor(batch_tree(2, salt=9).root, 2).transact({"from": actors.signer_a})
    with reverts("CredentialRegistryNotSigner", account=actors.signer_a):
        issuers.functions.revokeCredentials(batch_id, [0], 1).transact({"from": actors.signer_a})
    with reverts("CredentialRegistrySignerNotActive", signer=actors.signer_a):
        issuers.functions.removeSigner(actors.signer_a).transact({"from": actors.admin})
    with reverts("CredentialRegistrySignerExists", signer=actors.signer_a, issuerId=1):
        issuers.functions.addSigner(1, actors.signer_a).transact({"from": actors.admin})
    assert issuers.functions.getIssuer(1).call()[5] == 1


def test_a_signer_can_remove_keys_of_its_own_issuer_only(issuers: Contract, actors: Actors, reverts: Any) -> None:
    with reverts("CredentialRegistryWrongIssuer", account=actors.signer_b, callerIssuerId=2, issuerId=1):
        issuers.functions.removeSigner(actors.signer_a).transact({"from": actors.signer_b})
    with reverts("CredentialRegistryNotSigner", account=actors.outsider):
        issuers.functions.removeSigner(actors.signer_a).transact({"from": actors.outsider})
    with reverts("CredentialRegistrySignerNotActive", signer=actors.outsider):
        issuers.functions.removeSigner(actors.outsider).transact({"from": actors.admin})
    receipt = send(issuers.functions.removeSigner(actors.signer_a), actors.signer_a2)  # compromised key cut off
    (event,) = issuers.events.SignerRemoved().process_receipt(receipt, errors=DISCARD)
    assert event["args"]["by"] == actors.signer_a2
    send(issuers.functions.removeSigner(actors.signer_a2), actors.signer_a2)  # a key may remove itself


def test_batches_of_a_compromised_key_are_revoked_by_another_key_not_by_removal(
    issuers: Contract, actors: Actors
) -> None:
    """Removal cuts a stolen key off; what it anchored stays valid until the issuer revokes it, by batch."""
    honest, forged = batch_tree(3, salt=1), batch_tree(3, salt=2)
    honest_id = anchor(issuers, honest, actors.signer_a)
    forged_id = anchor(issuers, forged, actors.signer_a)  # the thief, before anyone noticed
    send(issuers.functions.removeSigner(actors.signer_a), actors.signer_a2)
    assert status(issuers, forged_id, forged, 0)[0] == Status.VALID
    send(issuers.functions.revokeBatch(forged_id, 5), actors.signer_a2)  # 5: key compromise
    assert status(issuers, forged_id, forged, 0)[0] == Status.BATCH_REVOKED
    assert status(issuers, honest_id, honest, 0)[0] == Status.VALID


def test_deactivated_issuer_cannot_anchor_and_its_credentials_fail(
    issuers: Contract, actors: Actors, reverts: Any
) -> None:
    tree = batch_tree(4)
    batch_id = anchor(issuers, tree, actors.signer_a)
    with reverts("AccessControlUnauthorizedAccount", account=actors.signer_a):
        issuers.functions.deactivateIssuer(1).transact({"from": actors.signer_a})
    receipt = send(issuers.functions.deactivateIssuer(1), actors.admin)
    assert issuers.events.IssuerDeactivated().process_receipt(receipt, errors=DISCARD)[0]["args"]["issuerId"] == 1
    assert status(issuers, batch_id, tree, 1)[0] == Status.ISSUER_INACTIVE
    with reverts("CredentialRegistryIssuerInactive", issuerId=1):
        issuers.functions.anchor(batch_tree(3, salt=4).root, 3).transact({"from": actors.signer_a})
    with reverts("CredentialRegistryIssuerInactive", issuerId=1):
        issuers.functions.deactivateIssuer(1).transact({"from": actors.admin})
    send(issuers.functions.revokeCredentials(batch_id, [1], 1), actors.signer_a)  # revocation still works
    receipt = send(issuers.functions.reactivateIssuer(1), actors.admin)
    assert issuers.events.IssuerReactivated().process_receipt(receipt, errors=DISCARD)[0]["args"]["issuerId"] == 1
    assert status(issuers, batch_id, tree, 0)[0] == Status.VALID
    assert status(issuers, batch_id, tree, 1)[0] == Status.REVOKED
    with reverts("CredentialRegistryIssuerActive", issuerId=1):
        issuers.functions.reactivateIssuer(1).transact({"from": actors.admin})
    with reverts("CredentialRegistryUnknownIssuer", issuerId=5):
        issuers.functions.deactivateIssuer(5).transact({"from": actors.admin})


def test_pause_stops_anchoring_but_not_revocation_or_reads(issuers: Contract, actors: Actors, reverts: Any) -> None:
    tree = batch_tree(4)
    batch_id = anchor(issuers, tree, actors.signer_a)
    with reverts("AccessControlUnauthorizedAccount", account=actors.signer_a):
        issuers.functions.pause().transact({"from": actors.signer_a})
    receipt = send(issuers.functions.pause(), actors.admin)
    assert issuers.events.Paused().process_receipt(receipt, errors=DISCARD)[0]["args"]["account"] == actors.admin
    with reverts("EnforcedPause"):
        issuers.functions.anchor(batch_tree(2, salt=3).root, 2).transact({"from": actors.signer_a})
    send(issuers.functions.revokeCredentials(batch_id, [0], 5), actors.signer_a)
    send(issuers.functions.revokeBatch(batch_id, 5), actors.signer_a)
    assert status(issuers, batch_id, tree, 1)[0] == Status.BATCH_REVOKED
    with reverts("AccessControlUnauthorizedAccount", account=actors.outsider):
        issuers.functions.unpause().transact({"from": actors.outsider})
    send(issuers.functions.unpause(), actors.admin)
    with reverts("ExpectedPause"):
        issuers.functions.unpause().transact({"from": actors.admin})
    assert anchor(issuers, batch_tree(2, salt=3), actors.signer_a) == 2


def test_admin_transfer_waits_for_the_delay(
    registry: Contract, actors: Actors, reverts: Any, tester: EthereumTester, w3: Web3
) -> None:
    with reverts("AccessControlUnauthorizedAccount", account=actors.outsider):
        registry.functions.beginDefaultAdminTransfer(actors.new_admin).transact({"from": actors.outsider})
    receipt = send(registry.functions.beginDefaultAdminTransfer(actors.new_admin), actors.admin)
    started = w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    pending_admin, schedule = registry.functions.pendingDefaultAdmin().call()
    assert (pending_admin, schedule) == (actors.new_admin, started + ADMIN_DELAY)
    with reverts("AccessControlEnforcedDefaultAdminDelay", schedule=schedule):
        registry.functions.acceptDefaultAdminTransfer().transact({"from": actors.new_admin})
    with reverts("AccessControlInvalidDefaultAdmin", defaultAdmin=actors.outsider):
        registry.functions.acceptDefaultAdminTransfer().transact({"from": actors.outsider})
    tester.time_travel(schedule + 1)
    send(registry.functions.acceptDefaultAdminTransfer(), actors.new_admin)
    assert registry.functions.defaultAdmin().call() == actors.new_admin
    send(registry.functions.registerIssuer("N", b"NL", "did:web:n", []), actors.new_admin)
    with reverts("AccessControlUnauthorizedAccount", account=actors.admin):
        registry.functions.registerIssuer("O", b"NL", "did:web:o", []).transact({"from": actors.admin})


def test_admin_role_cannot_be_granted_directly(registry: Contract, actors: Actors, reverts: Any) -> None:
    with reverts("AccessControlEnforcedDefaultAdminRules"):
        registry.functions.grantRole(ADMIN_ROLE, actors.new_admin).transact({"from": actors.admin})
