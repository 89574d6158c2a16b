"""The demo behind ``make demo`` / ``anchor demo``: the whole path on the local chain, with real pieces.

Starts the local anvil chain if needed, deploys the registry (once), registers a demo issuer (once),
issues generated EU micro-credentials into the issuer database (validated, salted, signed by the demo issuer's
did:key, hashed, queued), runs the
nightly batch (tree, one anchoring transaction, finality, one receipt per credential), verifies receipts
as a verifier would, shows a tampered receipt failing, revokes one credential and shows its receipt failing.
It records which development account signs for its issuer (:mod:`anchor.demo.issuer_key`), so that the
issuer commands sign as that issuer afterwards.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account.signers.local import LocalAccount

from anchor.chain import node
from anchor.chain.connection import Chain, block_number, connect, wait_for_block
from anchor.chain.deployments import artifact_hash
from anchor.chain.keys import development_accounts
from anchor.chain.registry import Registry
from anchor.chain.registry_abi import REVOCATION_REASONS
from anchor.chain.transactions import TxPolicy
from anchor.config import Settings
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.multikey import did_key, did_key_verification_method
from anchor.credentials.receipt import split_receipt
from anchor.demo.issuer_key import record_demo_issuer
from anchor.issuing.intake import prepare_credential
from anchor.issuing.service import IssuerService
from anchor.issuing.signing import IntakeSigner
from anchor.issuing.store import Store
from anchor.verifier import verify
from anchor.verifier.archive import stored_receipts

DEMO_COUNTRY = "DE"
#: Development accounts: 0 deploys and administers the registry, 1 signs for the demo issuer.
OPERATOR_ACCOUNT = 0
ISSUER_ACCOUNT = 1
#: The demo issuer's Ed25519 signing key: derived from a published phrase, so as public as the development
#: accounts. Its DID is the did:key of that key (resolvable offline); it is for the local demo only.
DEMO_SIGNING_SEED = hashlib.sha256(b"anchor demo issuer signing key: public, for the local demo only").digest()


def demo_signer() -> IntakeSigner:
    """The demo issuer's signer: its did:key DID, verification method and (public) key, dated now."""
    public = Ed25519PrivateKey.from_private_bytes(DEMO_SIGNING_SEED).public_key().public_bytes_raw()
    return IntakeSigner.now(did_key(public), did_key_verification_method(public), DEMO_SIGNING_SEED)


@dataclass(frozen=True)
class DemoResult:
    """What the demo did, for the caller to show."""

    registry: str
    issuer_id: int
    batch_id: int
    root: str
    size: int
    tx_hash: str
    gas_used: int
    checked: dict[str, str]
    tampered: str
    revoked_id: str
    revoked: str
    receipts: Path
    seconds: float


def run_demo(settings: Settings, count: int, say: Callable[[str], None] = print) -> DemoResult:
    """Run the demo on the local chain of ``settings`` with ``count`` generated credentials."""
    started = time.monotonic()
    if settings.rpc_url is None:
        state = node.start(settings)
        say(f"local chain {state.rpc_url} (chain id {state.chain_id}, block {state.block_number})")
    chain = connect(settings)
    operator, signer = development_accounts()[OPERATOR_ACCOUNT], development_accounts()[ISSUER_ACCOUNT]
    signing = demo_signer()
    registry = _registry(settings, chain, operator, say)
    if not _signs_as(registry, signer, signing.did):
        say("the recorded registry's demo issuer predates signed credentials: deploying a new registry")
        registry = _registry(settings, chain, operator, say, fresh=True)
    issuer_id = _demo_issuer(registry, operator, signer, signing.did, say)
    # so that `anchor batch run` and `anchor revoke` sign as this issuer without --dev-account
    record_demo_issuer(settings.resolved_home, chain.chain_id, registry.address, issuer_id, ISSUER_ACCOUNT)

    say(f"issuing {count} generated credentials (validate, salt, sign as {signing.did[:24]}…, hash, queue) ...")
    issuer = issuer_for_country(DEMO_COUNTRY)
    store = Store.open(settings)
    seed = time.time_ns() % 2**32
    credentials = generate_credentials(count, seed=seed, issuer=issuer, salted=False, issuer_did=signing.did)
    outcomes = store.queue(prepare_credential(credential, signer=signing) for credential in credentials)
    say(f"{sum(o.status == 'queued' for o in outcomes)} credentials queued in {settings.effective_database_url}")

    policy = TxPolicy(finality=settings.finality_policy, stuck_after=settings.stuck_after)
    service = IssuerService(store, registry, signer, policy, settings.receipts_dir)
    service.hook = lambda transition, batch: say(f"batch {batch.id}: {transition}")
    summaries = service.run(max_size=max(count, 1))
    summary = summaries[-1]
    say(f"anchored as on-chain batch {summary.onchain_batch_id}, tx {summary.tx_hash} (gas {summary.gas_used:,})")

    files = [(receipt.name, receipt.read) for receipt in stored_receipts(summary.receipts)]
    rpc = [settings.effective_rpc_url]
    trusted = [registry.address]

    def verdict(receipt: dict[str, Any]) -> str:
        return verify(receipt, rpc_urls=rpc, trusted_registries=trusted).status

    sample = [files[0], files[len(files) // 2], files[-1]] if len(files) > 2 else files
    checked = {name: verdict(json.loads(read())) for name, read in sample}
    for name, status in checked.items():
        say(f"verify {name}: {status}")
    (first, read_first), (last, read_last) = sample[0], sample[-1]
    forged = json.loads(read_last())
    forged["credentialSubject"]["achievement"]["creditsAvailable"] = 60
    tampered = verdict(forged)
    say(f"verify {last} with its ECTS changed to 60: {tampered}")

    revoked_receipt = json.loads(read_first())
    _, proof = split_receipt(revoked_receipt)
    service.hook = None
    service.revoke(proof.batch_id, [proof.index], REVOCATION_REASONS["issued-in-error"])
    wait_for_block(chain, block_number(chain), "finalized")
    revoked = verdict(revoked_receipt)
    say(f"revoked {first} (issued in error); verify again: {revoked}")
    say(f"receipts: {summary.receipts}")
    return DemoResult(
        registry=registry.address,
        issuer_id=issuer_id,
        batch_id=summary.onchain_batch_id,
        root=summary.root,
        size=summary.size,
        tx_hash=summary.tx_hash,
        gas_used=summary.gas_used,
        checked=checked,
        tampered=tampered,
        revoked_id=str(revoked_receipt["id"]),
        revoked=revoked,
        receipts=summary.receipts,
        seconds=time.monotonic() - started,
    )


def _registry(
    settings: Settings, chain: Chain, operator: LocalAccount, say: Callable[[str], None], *, fresh: bool = False
) -> Registry:
    recorded = None if fresh else Registry.recorded(chain, settings.deployments_dir)
    if recorded is not None:
        registry, deployment = recorded
        if deployment.artifact_hash == artifact_hash():
            say(f"registry {registry.address} (deployed in block {deployment.block})")
            return registry
        # A home from an older anchor: its registry runs other code (gas, refusals) than this one would deploy.
        say(f"the recorded registry {registry.address} runs an older build of the contract: deploying a new one")
    registry, _, _ = Registry.deploy_and_record(
        chain, operator, operator.address, 0, settings.deployments_dir, force=True
    )
    say(f"registry deployed at {registry.address}")
    return registry


def _signs_as(registry: Registry, signer: LocalAccount, did: str) -> bool:
    """Whether ``signer`` is unregistered, or signs for the issuer the registry records under ``did``."""
    known = registry.signer(signer.address)
    return not known.active or registry.issuer(known.issuer_id).uri == did


def _demo_issuer(
    registry: Registry, operator: LocalAccount, signer: LocalAccount, did: str, say: Callable[[str], None]
) -> int:
    issuer = issuer_for_country(DEMO_COUNTRY)
    known = registry.signer(signer.address)
    if known.active:
        info = registry.issuer(known.issuer_id)
        say(f"issuer {info.issuer_id}: {info.name} ({info.uri}), signer {signer.address}")
        return info.issuer_id
    issuer_id, _ = registry.register_issuer(operator, issuer.name, issuer.country_code, did, [signer.address])
    say(f"issuer {issuer_id} registered: {issuer.name} ({did}), signer {signer.address}")
    return issuer_id
