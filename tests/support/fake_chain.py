"""A registry served as JSON-RPC on 127.0.0.1 from Python state: fast, slow on demand, or hostile on demand.

:class:`FakeChain` answers what a verifier asks (``eth_chainId``, ``eth_call`` of ``credentialStatus`` and
``getIssuer``, ``eth_getLogs`` of ``BatchAnchored``, ``eth_getBlockByNumber``) as the registry contract
would, with the answers encoded by anchor's own ABI codec; :meth:`FakeChain.anchor` builds real receipts
(generated credentials, StandardMerkleTree, ``make_receipt``) for a batch it records. Each
:class:`FakeEndpoint` is one HTTP server in front of the chain (several endpoints, one truth), and can be
made slow (``delay`` seconds before every ``eth_call``) or made to lie (``tamper``). No node is started, so
tests using it take milliseconds.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from anchor.chain.abi_codec import canonical_type, decode, encode, signature_hash
from anchor.chain.artifacts import load_artifact
from anchor.chain.status_reader import status_reader
from anchor.credentials import credential_digest
from anchor.credentials.receipt import LEAF_ENCODING, AnchorProof, make_receipt
from anchor.merkle import StandardMerkleTree

CHAIN_ID = 31337
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
#: credentialStatus codes (CredentialRegistryTypes.sol)
VALID, UNKNOWN_BATCH, BAD_PROOF, ISSUER_INACTIVE, BATCH_REVOKED, REVOKED = range(6)


@dataclass
class FakeIssuer:
    name: str
    country: str
    uri: str
    registered_at: int
    deactivated_at: int = 0
    signer_count: int = 1


@dataclass
class FakeBatch:
    root: str
    issuer_id: int
    size: int
    anchored_at: int
    block: int
    transaction: str
    revoked_at: int = 0
    reason: int = 0


def _word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


class _Function:
    def __init__(self, entry: dict[str, Any]) -> None:
        self.selector = "0x" + signature_hash(entry)[:4].hex()
        self.inputs = [canonical_type(item) for item in entry["inputs"]]
        self.outputs = [canonical_type(item) for item in entry["outputs"]]

    def arguments(self, data: str) -> tuple[Any, ...]:
        return decode(self.inputs, bytes.fromhex(data[10:]))

    def answer(self, value: Any) -> str:
        return "0x" + encode(self.outputs, [value]).hex()


@dataclass
class FakeChain:
    """The registry's state; every :class:`FakeEndpoint` answers from it."""

    chain_id: int = CHAIN_ID
    registry: str = REGISTRY
    issuers: dict[int, FakeIssuer] = field(default_factory=dict)
    batches: dict[int, FakeBatch] = field(default_factory=dict)
    head: int = 100
    deployless: bool = False
    """Whether a call without ``to`` runs the status reader (:mod:`anchor.chain.status_reader`) as a node
    would; if not, it reverts, as on an endpoint that refuses such calls (the verifier then asks each status
    with its own call)."""

    def __post_init__(self) -> None:
        abi = load_artifact("CredentialRegistry")["abi"]
        functions = {entry["name"]: entry for entry in abi if entry.get("type") == "function"}
        events = {entry["name"]: entry for entry in abi if entry.get("type") == "event"}
        self.status_function = _Function(functions["credentialStatus"])
        self.issuer_function = _Function(functions["getIssuer"])
        self.anchored_topic = "0x" + signature_hash(events["BatchAnchored"]).hex()
        self.lock = threading.Lock()

    def register(self, issuer_id: int, name: str, country: str, uri: str) -> None:
        self.issuers[issuer_id] = FakeIssuer(name, country, uri, registered_at=1_700_000_000)

    def anchor(self, issuer_id: int, credentials: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Record a batch of ``credentials`` anchored by ``issuer_id`` (final at once); their receipts."""
        digests = [credential_digest(credential) for credential in credentials]
        tree = StandardMerkleTree.of([(digest, index) for index, digest in enumerate(digests)], list(LEAF_ENCODING))
        batch_id = len(self.batches) + 1
        self.head += 1
        anchored_at = 1_750_000_000 + self.head * 2
        transaction = "0x" + f"{batch_id:064x}"
        self.batches[batch_id] = FakeBatch(tree.root, issuer_id, len(credentials), anchored_at, self.head, transaction)
        self.head += 2
        return [
            make_receipt(
                credential,
                AnchorProof(
                    chain_id=self.chain_id,
                    registry=self.registry,
                    batch_id=batch_id,
                    issuer_id=issuer_id,
                    index=index,
                    digest="0x" + digests[index].hex(),
                    merkle_proof=tuple(tree.get_proof(index)),
                    root=tree.root,
                    transaction_hash=transaction,
                    block_number=self.head - 2,
                    anchored_at=datetime.fromtimestamp(anchored_at, UTC),
                ),
            )
            for index, credential in enumerate(credentials)
        ]

    # ------------------------------------------------------------------ answers

    def answer(self, call: dict[str, Any]) -> dict[str, Any]:
        """The JSON-RPC response to one request."""
        method, params = call.get("method"), call.get("params") or []
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": call.get("id")}
        with self.lock:
            if method == "eth_chainId":
                reply["result"] = hex(self.chain_id)
            elif method == "eth_blockNumber":
                reply["result"] = hex(self.head)
            elif method == "eth_getBlockByNumber":
                reply["result"] = {"number": hex(self.head), "timestamp": hex(1_750_000_000 + self.head * 2)}
            elif method == "eth_call" and "to" not in params[0]:
                reply.update(self._deployless(params[0]["data"]))
            elif method == "eth_call":
                reply.update(self._call(params[0]["data"]))
            elif method == "eth_getLogs":
                reply["result"] = self._logs(params[0])
            else:
                reply["error"] = {"code": -32601, "message": f"method {method} not found"}
        return reply

    def _status(self, batch_id: int, index: int) -> tuple[int, ...]:
        batch = self.batches.get(batch_id)
        if batch is None:
            return (UNKNOWN_BATCH, 0, 0, 0, 0, 0)
        if index >= batch.size:
            code = BAD_PROOF
        elif self.issuers[batch.issuer_id].deactivated_at:
            code = ISSUER_INACTIVE
        elif batch.revoked_at:
            code = BATCH_REVOKED
        else:
            code = VALID
        return (code, batch.issuer_id, batch.anchored_at, batch.block, batch.revoked_at, batch.reason)

    def _deployless(self, data: str) -> dict[str, Any]:
        """The status reader's answer, or the revert of a node that runs no code without ``to``."""
        code = status_reader().creation_code
        if not self.deployless or not data.lower().startswith(code):
            return {"error": {"code": 3, "message": "execution reverted", "data": "0x"}}
        registry, queries = decode(
            ["address", "(uint256,uint256,bytes32,bytes32[])[]"], bytes.fromhex(data[len(code) :])
        )
        if registry.lower() != self.registry.lower():
            return {"error": {"code": 3, "message": "execution reverted", "data": "0x"}}  # no code there
        answers = [self._status(batch_id, index) for batch_id, index, _, _ in queries]
        return {"result": "0x" + encode([self.status_function.outputs[0] + "[]"], [answers]).hex()}

    def _call(self, data: str) -> dict[str, Any]:
        if data.startswith(self.status_function.selector):
            batch_id, index, _, _ = self.status_function.arguments(data)
            return {"result": self.status_function.answer(self._status(batch_id, index))}
        if data.startswith(self.issuer_function.selector):
            (issuer_id,) = self.issuer_function.arguments(data)
            issuer = self.issuers.get(issuer_id)
            if issuer is None:
                return {"error": {"code": 3, "message": "execution reverted", "data": "0x" + "00" * 36}}
            value = (
                issuer.name,
                issuer.country.encode("ascii"),
                issuer.uri,
                issuer.registered_at,
                issuer.deactivated_at,
                issuer.signer_count,
            )
            return {"result": self.issuer_function.answer(value)}
        return {"error": {"code": 3, "message": "execution reverted", "data": "0x"}}

    def _logs(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        topics = query.get("topics") or []
        if not topics or topics[0] != self.anchored_topic:
            return []
        logs = []
        for batch_id, batch in self.batches.items():
            wanted = [self.anchored_topic, _word(batch_id), _word(batch.issuer_id), batch.root.lower()]
            if [str(topic).lower() for topic in topics] == wanted and hex(batch.block) == query.get("fromBlock"):
                logs.append(
                    {
                        "address": self.registry,
                        "topics": wanted,
                        "data": "0x",
                        "blockNumber": hex(batch.block),
                        "transactionHash": batch.transaction,
                        "logIndex": "0x0",
                        "removed": False,
                    }
                )
        return logs


Tamper = Callable[[list[dict[str, Any]], Any], "bytes | Any | None"]
"""``tamper(requests, response)``: None sends the honest response, bytes are sent as the body, else JSON."""


class FakeEndpoint:
    """One JSON-RPC endpoint on 127.0.0.1 answering from ``chain``; ``delay`` and ``tamper`` make it misbehave."""

    def __init__(self, chain: FakeChain) -> None:
        self.chain = chain
        self.delay = 0.0
        self.tamper: Tamper = lambda requests, response: None
        self.methods: list[str] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                calls = request if isinstance(request, list) else [request]
                endpoint.methods.extend(str(call.get("method")) for call in calls)
                if endpoint.delay and any(call.get("method") == "eth_call" for call in calls):
                    time.sleep(endpoint.delay)
                answers = [endpoint.chain.answer(call) for call in calls]
                response: Any = answers if isinstance(request, list) else answers[0]
                changed = endpoint.tamper(calls, response)
                if changed is not None:
                    response = changed
                body = response if isinstance(response, bytes) else json.dumps(response).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client may have given up (timed out) first
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
