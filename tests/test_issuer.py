"""The issuer's nightly batch on a real anvil node: end to end, crashes at every step, reorgs, drops, faults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from anchor.chain.connection import Chain, connect
from anchor.chain.keys import development_accounts
from anchor.chain.registry import Registry
from anchor.chain.registry_abi import CredentialStatus
from anchor.chain.transactions import TxPolicy
from anchor.config import Settings
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.receipt import split_receipt
from anchor.errors import ContractRevertError
from anchor.issuing.intake import prepare_credential
from anchor.issuing.revocation import plan_revocations
from anchor.issuing.sending import IssuerBusyError
from anchor.issuing.service import IssuerService
from anchor.issuing.store import BatchRecord, Store

pytestmark = pytest.mark.slow
DEV = development_accounts()
ISSUER = issuer_for_country("FI")


class CrashError(Exception):
    """Stands in for the process dying at a given transition."""


@pytest.fixture(scope="module")
def registry(anvil: Settings) -> Registry:
    chain = connect(anvil)
    registry, _ = Registry.deploy(chain, DEV[0], DEV[0].address, 0)
    registry.register_issuer(DEV[0], ISSUER.name, ISSUER.country_code, ISSUER.id, [DEV[1].address, DEV[2].address])
    return registry


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'issuer.db'}")


def policy(**overrides: Any) -> TxPolicy:
    return TxPolicy(**({"finality": "finalized", "stuck_after": 3.0, "poll": 0.1} | overrides))


def service(store: Store, registry: Registry, out: Path, signer: int = 1, **kwargs: Any) -> IssuerService:
    return IssuerService(store, registry, DEV[signer], kwargs.pop("tx_policy", policy()), out, **kwargs)


_SEED = iter(range(10_000, 1_000_000))


def queue(store: Store, count: int) -> list[dict[str, Any]]:
    credentials = list(generate_credentials(count, seed=next(_SEED), issuer=ISSUER, salted=False))
    outcomes = store.queue([prepare_credential(c) for c in credentials])
    assert all(o.status == "queued" for o in outcomes)
    return credentials


def receipts_in(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def check_receipt(registry: Registry, receipt: dict[str, Any]) -> CredentialStatus:
    _, proof = split_receipt(receipt)
    check = registry.credential_status(proof.batch_id, proof.index, proof.digest, proof.merkle_proof, "finalized")
    return check.status


def onchain_batches_of(registry: Registry, root: str) -> int:
    issuer_id = registry.signer(DEV[1].address).issuer_id
    return 1 if registry.batch_id_of(issuer_id, root) else 0


def test_issue_batch_receipts_verify(store: Store, registry: Registry, tmp_path: Path) -> None:
    credentials = queue(store, 25)
    summaries = service(store, registry, tmp_path / "receipts").run(max_size=10)
    assert [s.size for s in summaries] == [10, 10, 5]
    ids = set()
    for summary in summaries:
        batch = store.get_batch(summary.batch_id)
        assert batch.state == "anchored"
        assert batch.tx_hash == summary.tx_hash
        assert summary.gas_used > 0
        documents = receipts_in(summary.receipts)
        assert len(documents) == summary.size
        for document in documents:
            assert check_receipt(registry, document) == CredentialStatus.VALID
            ids.add(document["id"])
    assert ids == {c["id"] for c in credentials}
    again = service(store, registry, tmp_path / "receipts").run(max_size=10)
    assert again == []  # nothing queued: nothing sent


@pytest.mark.parametrize("transition", ["built", "signed", "sent", "mined", "confirmed", "anchored"])
def test_a_crash_at_any_step_resumes_without_loss_or_duplicate(
    store: Store, registry: Registry, tmp_path: Path, transition: str
) -> None:
    queue(store, 7)
    seen: dict[str, BatchRecord] = {}

    def crash(at: str, batch: BatchRecord) -> None:
        seen[at] = batch
        if at == transition:
            raise CrashError(at)

    before = registry.batch_count()
    with pytest.raises(CrashError):
        service(store, registry, tmp_path / "r", hook=crash).run(max_size=100)
    resumed = service(store, registry, tmp_path / "r").run(max_size=100)
    assert registry.batch_count() == before + 1  # anchored exactly once
    batch = store.get_batch(seen["built"].id)
    assert batch.state == "anchored"
    documents = receipts_in(tmp_path / "r" / str(registry.chain.chain_id) / f"batch-{batch.onchain_batch_id}")
    assert len(documents) == 7
    assert all(check_receipt(registry, d) == CredentialStatus.VALID for d in documents)
    if transition == "anchored":
        assert resumed == []
    if transition in {"signed", "sent"}:
        attempts = store.attempts_for_batch(batch.id)
        assert batch.tx_hash == attempts[0].tx_hash  # the journaled bytes were rebroadcast, not re-signed


def test_a_root_found_on_chain_is_adopted_not_sent_again(store: Store, registry: Registry, tmp_path: Path) -> None:
    """A built batch whose root this issuer already anchored (say, the record of the send was lost)."""
    queue(store, 3)

    def anchor_behind_its_back(at: str, batch: BatchRecord) -> None:
        if at == "built":
            registry.anchor(DEV[2], batch.root, batch.size)  # another key of the same issuer
            raise CrashError(at)

    with pytest.raises(CrashError):
        service(store, registry, tmp_path / "r", hook=anchor_behind_its_back).run(max_size=10)
    before = registry.batch_count()
    (summary,) = service(store, registry, tmp_path / "r").run(max_size=10)
    assert summary.adopted
    assert registry.batch_count() == before
    assert all(check_receipt(registry, d) == CredentialStatus.VALID for d in receipts_in(summary.receipts))


def test_another_issuers_copy_of_the_root_is_not_taken_for_ours(
    store: Store, registry: Registry, tmp_path: Path
) -> None:
    other = registry.register_issuer(DEV[0], "Look-alike", "EE", "did:web:lookalike.example", [DEV[7].address])[0]
    queue(store, 3)

    def front_run(at: str, batch: BatchRecord) -> None:
        if at == "built":
            registry.anchor(DEV[7], batch.root, batch.size)
            raise CrashError(at)

    with pytest.raises(CrashError):
        service(store, registry, tmp_path / "r", hook=front_run).run(max_size=10)
    (summary,) = service(store, registry, tmp_path / "r").run(max_size=10)
    assert not summary.adopted
    assert registry.batch(summary.onchain_batch_id).issuer_id != other


def test_reorg_after_inclusion_is_re_anchored_and_not_reported_early(
    store: Store, registry: Registry, tmp_path: Path
) -> None:
    queue(store, 4)
    w3: Web3 = registry.chain.w3
    reorged: list[int] = []

    def reorg_once(at: str, batch: BatchRecord) -> None:
        if at == "mined" and not reorged:
            attempt = store.attempts_for_batch(batch.id)[-1]
            receipt = w3.eth.get_transaction_receipt(attempt.tx_hash)
            depth = w3.eth.block_number - receipt["blockNumber"] + 1
            w3.provider.make_request("anvil_reorg", [depth, []])  # type: ignore[arg-type]
            reorged.append(int(receipt["blockNumber"]))
            assert store.get_batch(batch.id).state != "anchored"

    (summary,) = service(store, registry, tmp_path / "r", hook=reorg_once).run(max_size=10)
    assert reorged
    assert store.get_batch(summary.batch_id).state == "anchored"
    final = w3.eth.get_transaction_receipt(summary.tx_hash)
    assert w3.eth.get_block(final["blockNumber"])["hash"] == final["blockHash"]
    assert all(check_receipt(registry, d) == CredentialStatus.VALID for d in receipts_in(summary.receipts))


def test_a_dropped_transaction_is_sent_again(store: Store, registry: Registry, tmp_path: Path) -> None:
    queue(store, 4)
    w3: Web3 = registry.chain.w3
    dropped: list[str] = []

    def drop(at: str, batch: BatchRecord) -> None:
        if at == "sent" and not dropped:
            tx_hash = store.attempts_for_batch(batch.id)[-1].tx_hash
            w3.provider.make_request("anvil_dropTransaction", [tx_hash])  # type: ignore[arg-type]
            dropped.append(tx_hash)

    (summary,) = service(store, registry, tmp_path / "r", hook=drop).run(max_size=10)
    assert dropped
    assert all(check_receipt(registry, d) == CredentialStatus.VALID for d in receipts_in(summary.receipts))


class FaultyProvider(Web3.HTTPProvider):
    """An HTTP provider that answers the first eth_sendRawTransaction calls with injected errors."""

    def __init__(self, url: str, faults: list[str]) -> None:
        super().__init__(url)
        self.faults = faults

    def make_request(self, method: Any, params: Any) -> Any:
        if method == "eth_sendRawTransaction" and self.faults:
            return {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": self.faults.pop(0)}}
        return super().make_request(method, params)


@pytest.mark.parametrize("fault", ["replacement transaction underpriced", "nonce too low"])
def test_injected_broadcast_errors_are_handled(
    store: Store, registry: Registry, tmp_path: Path, anvil: Settings, fault: str
) -> None:
    faults = [fault]
    faulty = Web3(FaultyProvider(anvil.effective_rpc_url, faults))
    chain = Chain(w3=faulty, network=registry.chain.network, chain_id=registry.chain.chain_id, rpc_url="faulty")
    faulty_registry = Registry(chain, registry.address)
    queue(store, 3)
    (summary,) = service(store, faulty_registry, tmp_path / "r", tx_policy=policy(stuck_after=1.0)).run(max_size=10)
    assert faults == []  # the fault was served
    assert all(check_receipt(registry, d) == CredentialStatus.VALID for d in receipts_in(summary.receipts))


def test_one_key_one_worker(store: Store, registry: Registry, tmp_path: Path) -> None:
    queue(store, 2)
    first = service(store, registry, tmp_path / "r")
    second = service(store, registry, tmp_path / "r")

    def try_second(at: str, batch: BatchRecord) -> None:
        if at == "built":
            with pytest.raises(IssuerBusyError, match="another worker"):
                second.run(max_size=10)

    first.hook = try_second
    (summary,) = first.run(max_size=10)
    assert summary.size == 2


def test_revoke_by_receipt_and_refusals(store: Store, registry: Registry, tmp_path: Path) -> None:
    queue(store, 6)
    (summary,) = service(store, registry, tmp_path / "r").run(max_size=10)
    documents = receipts_in(summary.receipts)
    issuer = service(store, registry, tmp_path / "r")
    _, proof = split_receipt(documents[2])
    (tx_hash,) = issuer.revoke(proof.batch_id, [proof.index], 2)
    assert tx_hash.startswith("0x")
    assert check_receipt(registry, documents[2]) == CredentialStatus.REVOKED
    assert check_receipt(registry, documents[3]) == CredentialStatus.VALID
    with pytest.raises(ContractRevertError, match="is revoked already"):
        issuer.revoke(proof.batch_id, [proof.index], 2)
    assert store.unfinished_revocations() == []  # a refused revocation leaves nothing pending
    with pytest.raises(ContractRevertError, match="but this belongs to issuer"):
        IssuerService(store, registry, DEV[7], policy(), tmp_path / "x").revoke(proof.batch_id, [0], 2)
    exported = issuer.export_receipt(documents[4]["id"])
    assert exported == documents[4]


def test_large_sparse_revocation_is_split_under_the_gas_budget(
    store: Store, registry: Registry, tmp_path: Path
) -> None:
    queue(store, 2000)
    (summary,) = service(store, registry, tmp_path / "r").run(max_size=2000)
    indices = [*range(0, 2000, 256), 1, 2, 3]  # 8 words
    issuer = service(store, registry, tmp_path / "r")
    hashes = issuer.revoke(summary.onchain_batch_id, indices, 4, budget=100_000)
    assert len(hashes) == len(plan_revocations(indices, 100_000)) > 1
    for index in range(0, 2000, 97):
        revoked = registry.contract.functions.isRevoked(summary.onchain_batch_id, index).call()
        assert revoked == (index in indices)


def test_plan_revocations_respects_the_budget() -> None:
    packed = plan_revocations(list(range(1000)))
    assert len(packed) == 1
    sparse = plan_revocations([i * 256 for i in range(1000)])
    assert len(sparse) == 2  # 1,000 words x 22.3k gas exceed 12M gas
    assert sorted(i for chunk in sparse for i in chunk) == [i * 256 for i in range(1000)]
    with pytest.raises(ValueError, match="twice"):
        plan_revocations([1, 1])
