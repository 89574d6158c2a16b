"""The demo behind ``make demo`` / ``anchor demo``: the whole path on the local chain, with real pieces.

Starts the local anvil chain if needed, deploys the registry (once), registers a demo issuer (once),
generates realistic EU micro-credentials, salts and hashes them, builds the Merkle tree, anchors its root,
waits for the ``finalized`` block, checks credentials through the registry's status view, shows a tampered
credential failing, revokes one credential and shows it failing, and writes the batch (tree dump and
credentials) under ``ANCHOR_HOME/demo/``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from anchor import node
from anchor.chain import Chain, connect, wait_for_block
from anchor.config import Settings
from anchor.credential import credential_digest
from anchor.credential_examples import generate_credentials, issuer_for_country
from anchor.deployments import Deployment, artifact_hash, load_deployment, record_deployment
from anchor.keys import development_accounts
from anchor.merkle import StandardMerkleTree
from anchor.registry import REVOCATION_REASONS, CredentialStatus, Registry

LEAF_ENCODING = ("bytes32", "uint256")
DEMO_COUNTRY = "DE"


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
    checked: dict[int, CredentialStatus]
    tampered: CredentialStatus
    revoked_index: int
    revoked: CredentialStatus
    output: Path
    seconds: float


def run_demo(settings: Settings, count: int, say: Callable[[str], None] = print) -> DemoResult:
    """Run the demo on the local chain of ``settings`` with ``count`` generated credentials."""
    started = time.monotonic()
    if settings.rpc_url is None:
        state = node.start(settings)
        say(f"local chain {state.rpc_url} (chain id {state.chain_id}, block {state.block_number})")
    chain = connect(settings)
    operator, signer = development_accounts()[0], development_accounts()[1]
    registry = _registry(settings, chain, operator, say)
    issuer_id = _demo_issuer(registry, operator, signer, say)

    say(f"generating {count} credentials ...")
    issuer = issuer_for_country(DEMO_COUNTRY)
    credentials = list(generate_credentials(count, seed=time.time_ns() % 2**32, issuer=issuer))
    values = [(credential_digest(credential), index) for index, credential in enumerate(credentials)]
    tree = StandardMerkleTree.of(values, list(LEAF_ENCODING))
    say(f"Merkle root {tree.root} over {count} salted credential digests")

    batch_id, receipt = registry.anchor(signer, tree.root, count)
    say(f"anchored as batch {batch_id} in tx {receipt['transactionHash'].to_0x_hex()} (gas {receipt['gasUsed']})")
    finalized = wait_for_block(chain, int(receipt["blockNumber"]), "finalized")
    say(f"finalized block {finalized} has reached the anchoring block {receipt['blockNumber']}")

    def status_of(index: int, digest: bytes | None = None) -> CredentialStatus:
        leaf_digest, leaf_index = values[index]
        check = registry.credential_status(
            batch_id, leaf_index, digest or leaf_digest, tree.get_proof(index), block="finalized"
        )
        return check.status

    sample = sorted({0, count // 2, count - 1})
    checked = {index: status_of(index) for index in sample}
    for index, verdict in checked.items():
        say(f"credential {index}: {verdict.name}")
    forged = dict(credentials[sample[-1]])
    forged["name"] = str(forged.get("name", "")) + " (with distinction)"
    tampered = status_of(sample[-1], credential_digest(forged))
    say(f"credential {sample[-1]} with its title altered: {tampered.name}")

    revoked_index = sample[len(sample) // 2]
    revoke = registry.contract.functions.revokeCredentials(
        batch_id, [revoked_index], REVOCATION_REASONS["issued-in-error"]
    )
    revocation = registry.transact(signer, revoke)
    wait_for_block(chain, int(revocation["blockNumber"]), "finalized")
    revoked = status_of(revoked_index)
    say(f"credential {revoked_index} revoked (issued in error): {revoked.name}")

    output = _write_batch(settings, batch_id, tree, credentials)
    say(f"batch written to {output}")
    return DemoResult(
        registry=registry.address,
        issuer_id=issuer_id,
        batch_id=batch_id,
        root=tree.root,
        size=count,
        tx_hash=receipt["transactionHash"].to_0x_hex(),
        gas_used=int(receipt["gasUsed"]),
        checked=checked,
        tampered=tampered,
        revoked_index=revoked_index,
        revoked=revoked,
        output=output,
        seconds=time.monotonic() - started,
    )


def _registry(settings: Settings, chain: Chain, operator: LocalAccount, say: Callable[[str], None]) -> Registry:
    deployment = load_deployment(settings.deployments_dir, chain.chain_id)
    if deployment is not None and chain.w3.eth.get_code(to_checksum_address(deployment.address)):
        say(f"registry {deployment.address} (deployed in block {deployment.block})")
        return Registry.at(chain, deployment.address)
    registry, receipt = Registry.deploy(chain, operator, operator.address, 0)
    record_deployment(
        settings.deployments_dir,
        Deployment(
            chain_id=chain.chain_id,
            address=registry.address,
            block=int(receipt["blockNumber"]),
            tx_hash=receipt["transactionHash"].to_0x_hex(),
            deployer=operator.address,
            admin=operator.address,
            admin_delay=0,
            artifact_hash=artifact_hash(),
            network=chain.network.name,
        ),
    )
    say(f"registry deployed at {registry.address}")
    return registry


def _demo_issuer(registry: Registry, operator: LocalAccount, signer: LocalAccount, say: Callable[[str], None]) -> int:
    issuer = issuer_for_country(DEMO_COUNTRY)
    known = registry.signer(signer.address)
    if known.active:
        info = registry.issuer(known.issuer_id)
        say(f"issuer {info.issuer_id}: {info.name} ({info.uri}), signer {signer.address}")
        return info.issuer_id
    issuer_id, _ = registry.register_issuer(operator, issuer.name, issuer.country_code, issuer.id, [signer.address])
    say(f"issuer {issuer_id} registered: {issuer.name} ({issuer.id}), signer {signer.address}")
    return issuer_id


def _write_batch(
    settings: Settings, batch_id: int, tree: StandardMerkleTree, credentials: list[dict[str, Any]]
) -> Path:
    folder = settings.resolved_home / "demo" / f"batch-{batch_id}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tree.json").write_text(json.dumps(tree.dump()) + "\n", encoding="utf-8")
    with (folder / "credentials.jsonl").open("w", encoding="utf-8") as handle:
        for credential in credentials:
            handle.write(json.dumps(credential, ensure_ascii=False) + "\n")
    return folder
