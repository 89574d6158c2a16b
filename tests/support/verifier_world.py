"""Shared by the verifier and web tests: a local anvil chain with receipts for every case.

Receipts are built with the library alone (generated credentials, digest, tree, ``Registry.anchor``,
``make_receipt``), not with the issuer service. :func:`build_world` takes a running node (the ``anvil``
fixture) and leaves it with interval mining stopped and one batch anchored in the head block, so that batch
stays "not final" until a test mines.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from anchor.chain.connection import Chain, connect, wait_for_block
from anchor.chain.deployments import Deployment, artifact_hash, record_deployment
from anchor.chain.keys import development_accounts
from anchor.chain.registry import Registry
from anchor.chain.registry_abi import REVOCATION_REASONS
from anchor.config import Settings
from anchor.credentials import credential_digest
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.receipt import AnchorProof, make_receipt
from anchor.merkle import StandardMerkleTree

DEV = development_accounts()
ENCODING = ["bytes32", "uint256"]
#: The moment tests verify at: after every generated validFrom (2025) and before any generated validUntil.
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def anchor_batch(
    chain: Chain, registry: Registry, signer: LocalAccount, credentials: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Anchor ``credentials`` as one batch signed by ``signer``; their receipts, in order."""
    digests = [credential_digest(credential) for credential in credentials]
    tree = StandardMerkleTree.of([(digest, index) for index, digest in enumerate(digests)], ENCODING)
    batch_id, receipt = registry.anchor(signer, tree.root, len(credentials))
    block = chain.w3.eth.get_block(receipt["blockNumber"])
    issuer_id = registry.signer(signer.address).issuer_id
    receipts = []
    for index, credential in enumerate(credentials):
        proof = AnchorProof(
            chain_id=chain.chain_id,
            registry=registry.address,
            batch_id=batch_id,
            issuer_id=issuer_id,
            index=index,
            digest="0x" + digests[index].hex(),
            merkle_proof=tuple(tree.get_proof(index)),
            root=tree.root,
            transaction_hash=receipt["transactionHash"].to_0x_hex(),
            block_number=int(receipt["blockNumber"]),
            anchored_at=datetime.fromtimestamp(int(block["timestamp"]), UTC),
        )
        receipts.append(make_receipt(credential, proof))
    return receipts


@dataclass
class World:
    """A chain, a trusted registry, a look-alike, and named receipts."""

    settings: Settings
    chain: Chain
    registry: Registry
    lookalike: Registry
    home: Path
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def rpc_url(self) -> str:
        return self.chain.rpc_url

    def receipt(self, name: str) -> dict[str, Any]:
        """A fresh copy of receipt ``name`` (tests mutate what they get)."""
        return copy.deepcopy(self.receipts[name])

    def text(self, name: str) -> str:
        return json.dumps(self.receipts[name], ensure_ascii=False)

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self.chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def _issuer(registry: Registry, country: str, signers: Sequence[LocalAccount]) -> int:
    info = issuer_for_country(country)
    issuer_id, _ = registry.register_issuer(DEV[0], info.name, country, info.id, [s.address for s in signers])
    return issuer_id


def build_world(settings: Settings) -> World:
    """Anchor every case the tests need on the node of ``settings``, a fresh anvil chain (about 10 s)."""
    chain = connect(settings)
    registry, deployed = Registry.deploy(chain, DEV[0], DEV[0].address, 0)
    record_deployment(
        settings.deployments_dir,
        Deployment(
            chain_id=chain.chain_id,
            address=registry.address,
            block=int(deployed["blockNumber"]),
            tx_hash=deployed["transactionHash"].to_0x_hex(),
            deployer=DEV[0].address,
            admin=DEV[0].address,
            admin_delay=0,
            artifact_hash=artifact_hash(),
            network="local",
        ),
    )
    world = World(settings, chain, registry, registry, settings.home)
    de = issuer_for_country("DE")
    _issuer(registry, "DE", [DEV[1]])
    _issuer(registry, "PL", [DEV[3], DEV[4]])
    fi_id = _issuer(registry, "FI", [DEV[6]])

    # batch 1 (DE): valid ones, one to revoke, one expired, one not yet valid, one naming another issuer
    main = list(generate_credentials(6, seed=11, issuer=de))
    expired = main[4]
    start = datetime.fromisoformat(expired["validFrom"].replace("Z", "+00:00"))
    expired["validUntil"] = (start + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    main[5]["validFrom"] = "2030-01-01T09:00:00Z"
    foreign = next(generate_credentials(1, seed=12, issuer=issuer_for_country("FR")))
    batch = anchor_batch(chain, registry, DEV[1], [*main, foreign])
    names = ["valid", "valid2", "valid3", "revoked", "expired", "future", "foreign"]
    world.receipts.update(zip(names, batch, strict=True))
    revoke = registry.contract.functions.revokeCredentials(
        batch[3]["proof"]["batchId"], [3], REVOCATION_REASONS["fraud"]
    )
    registry.transact(DEV[1], revoke)

    # batch 2 (DE): revoked as a whole
    whole = anchor_batch(chain, registry, DEV[1], list(generate_credentials(3, seed=13, issuer=de)))
    world.receipts["batch-revoked"] = whole[1]
    registry.transact(
        DEV[1],
        registry.contract.functions.revokeBatch(whole[1]["proof"]["batchId"], REVOCATION_REASONS["superseded"]),
    )

    # batch 3 (PL): anchored by a key removed afterwards; stays valid
    pl = list(generate_credentials(2, seed=14, issuer=issuer_for_country("PL")))
    world.receipts["removed-key-later"] = anchor_batch(chain, registry, DEV[4], pl)[0]
    registry.transact(DEV[0], registry.contract.functions.removeSigner(DEV[4].address))

    # batch 4 (FI): issuer deactivated by the admin afterwards
    fi = list(generate_credentials(2, seed=15, issuer=issuer_for_country("FI")))
    world.receipts["issuer-deactivated"] = anchor_batch(chain, registry, DEV[6], fi)[0]
    registry.transact(DEV[0], registry.contract.functions.deactivateIssuer(fi_id))

    # a look-alike registry, deployed by someone else, holding batch 1's root for an issuer with the same DID
    lookalike, _ = Registry.deploy(chain, DEV[5], DEV[5].address, 0)
    lookalike.register_issuer(DEV[5], de.name, "DE", de.id, [DEV[7].address])
    world.lookalike = lookalike
    world.receipts["lookalike"] = anchor_batch(chain, lookalike, DEV[7], [*main, foreign])[0]

    head = int(chain.w3.eth.block_number)
    wait_for_block(chain, head, "finalized", timeout=30)

    # last: a batch in the head block with mining stopped, so it is not final until a test mines
    chain.w3.provider.make_request("evm_setIntervalMining", [0])  # type: ignore[arg-type]
    pending: list[list[dict[str, Any]]] = []
    credentials = list(generate_credentials(2, seed=16, issuer=de))
    worker = threading.Thread(target=lambda: pending.append(anchor_batch(chain, registry, DEV[1], credentials)))
    worker.start()
    while worker.is_alive():
        if chain.w3.eth.get_block("pending")["transactions"]:
            world.mine()
        worker.join(0.05)
    world.receipts["pending"] = pending[0][0]
    return world


def write_receipts(folder: Path, receipts: dict[str, Any]) -> list[str]:
    """Write each receipt (a JSON object, or text written as it is) to ``folder/<name>.json``; the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, receipt in receipts.items():
        path = folder / f"{name}.json"
        path.write_text(receipt if isinstance(receipt, str) else json.dumps(receipt, ensure_ascii=False))
        paths.append(str(path))
    return paths


class RpcProxy:
    """A JSON-RPC proxy on 127.0.0.1 in front of a real node: counts requests and can lie.

    ``lie(request, response)`` may return a changed response object for one JSON-RPC request.
    """

    def __init__(self, upstream: str) -> None:
        import urllib.request
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.upstream = upstream
        self.requests: list[str] = []  # one entry per HTTP request: the methods it carried, joined by ","
        self.lie: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any] | None] = lambda request, response: None
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = json.loads(body)
                calls = request if isinstance(request, list) else [request]
                proxy.requests.append(",".join(call["method"] for call in calls))
                forwarded = urllib.request.Request(
                    proxy.upstream, data=body, headers={"Content-Type": "application/json"}
                )
                with opener.open(forwarded, timeout=10) as upstream:
                    answer = json.loads(upstream.read())
                answers = answer if isinstance(answer, list) else [answer]
                by_id = {item["id"]: item for item in answers}
                changed = [proxy.lie(call, by_id[call["id"]]) or by_id[call["id"]] for call in calls]
                data = json.dumps(changed if isinstance(request, list) else changed[0]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
