"""The issuer's nightly job and revocation: crash-safe batches, receipts, resumable revocations.

A batch moves through states recorded in the issuer database, each change committed before the next step:

``built``     credentials claimed, indices given, the Merkle tree stored: nothing sent yet
``signed``    the anchoring transaction signed and journaled (raw bytes and hash), then broadcast
``anchored``  the transaction's block reached the finality policy and every receipt was written

Re-running after a crash at any point resumes: a built batch is sent (unless its root is already anchored on
chain under this issuer's own id, which is then adopted), a signed one is rebroadcast with the same bytes
and confirmed. Receipts are written after finality and before the batch is marked anchored, so a crash
in between rewrites them (they are idempotent) rather than losing them.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3.logs import DISCARD

from anchor.chain.connection import wait_for_block
from anchor.chain.registry import Registry
from anchor.chain.transactions import Confirmed, NonceTakenError, Sender, SentTx, TxPolicy
from anchor.credentials.receipt import AnchorProof, make_receipt
from anchor.errors import AnchorError, ChainError, InvalidInputError, InvariantError
from anchor.issuing.store import AttemptState, BatchRecord, NewAttempt, Store
from anchor.merkle import StandardMerkleTree

LEAF_ENCODING = ("bytes32", "uint256")
#: Gas of one revocation transaction: a fixed part, a fresh storage word, calldata and loop per index
#: (measured: 1,000 indices packed in 4 words 753k gas, 1,000 in 1,000 words 22.9M gas).
REVOKE_BASE_GAS = 40_000
REVOKE_GAS_PER_WORD = 22_300
REVOKE_GAS_PER_INDEX = 800
#: Newer EVM forks cap one transaction at 2**24 gas; stay well below it after the 1.2 estimate margin.
DEFAULT_REVOKE_GAS_BUDGET = 12_000_000
LEASE_SECONDS = 900

#: Callback after each state transition of a batch: (transition, batch). Progress, logs and fault injection.
Hook = Callable[[str, BatchRecord], None]


class IssuerBusyError(AnchorError):
    """Another worker is sending transactions with the same key right now."""


@dataclass(frozen=True)
class BatchSummary:
    """The outcome of one anchored batch."""

    batch_id: int
    onchain_batch_id: int
    size: int
    root: str
    tx_hash: str
    block_number: int
    gas_used: int
    fee_wei: int
    receipts: Path
    adopted: bool


class StoreJournal:
    """Journals a sender's transactions as attempts of a batch or a revocation in the issuer database."""

    def __init__(self, store: Store, signer: str, *, batch_id: int | None = None, revocation_id: int | None = None):
        self.store = store
        self.signer = signer
        self.batch_id = batch_id
        self.revocation_id = revocation_id
        self._ids: dict[str, int] = {}
        self.on_signed: Callable[[SentTx], None] | None = None
        self.on_broadcast: Callable[[SentTx], None] | None = None

    def signed(self, tx: SentTx) -> None:
        """Store the signed transaction (and move its batch or revocation to 'signed') before broadcasting."""
        record = self.store.record_attempt(
            NewAttempt(
                purpose="anchor" if self.batch_id is not None else "revoke",
                batch_id=self.batch_id,
                revocation_id=self.revocation_id,
                signer=self.signer,
                nonce=tx.nonce,
                tx_hash=tx.tx_hash,
                raw_tx=tx.raw_tx,
                max_fee_per_gas=tx.max_fee_per_gas,
                max_priority_fee_per_gas=tx.max_priority_fee_per_gas,
            )
        )
        self._ids[tx.tx_hash] = record.id
        if self.on_signed is not None:
            self.on_signed(tx)

    def state(self, tx: SentTx, state: str) -> None:
        """Record what became of an attempt."""
        attempt_id = self._ids.get(tx.tx_hash)
        if attempt_id is not None:
            self.store.set_attempt_state(attempt_id, cast(AttemptState, state))
        if state == "broadcast":
            if self.batch_id is not None and self.store.get_batch(self.batch_id).state == "signed":
                self.store.update_batch(self.batch_id, state="sent")
            if self.on_broadcast is not None:
                self.on_broadcast(tx)

    def adopt(self, attempts: Iterable[tuple[int, SentTx]]) -> None:
        """Know attempts journaled by an earlier run, to record their later states."""
        for attempt_id, tx in attempts:
            self._ids[tx.tx_hash] = attempt_id


class IssuerService:
    """Anchors queued credentials for one issuer key, and revokes its credentials."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        account: LocalAccount,
        policy: TxPolicy,
        receipts_dir: Path,
        hook: Hook | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.chain = registry.chain
        self.account = account
        self.policy = policy
        self.receipts_dir = receipts_dir
        self.hook = hook
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.on_receipt_progress: Callable[[int, int], None] | None = None

    # ------------------------------------------------------------------ the nightly batch

    def run(self, max_size: int) -> list[BatchSummary]:
        """Resume unfinished batches, then anchor every queued credential in batches of at most ``max_size``."""
        if max_size < 1:
            raise InvalidInputError(f"--max-size must be at least 1, not {max_size}")
        issuer_id = self._issuer_id()
        summaries: list[BatchSummary] = []
        with self._lease():
            for unfinished in self.store.unfinished_batches(self.chain.chain_id, self.registry.address):
                summaries.append(self._anchor(unfinished, issuer_id))
            while True:
                batch = self.store.build_batch(
                    max_size, self.chain.chain_id, self.registry.address, self.account.address, _build_tree
                )
                if batch is None:
                    break
                self._notify("built", batch)
                summaries.append(self._anchor(batch, issuer_id))
        return summaries

    def _anchor(self, batch: BatchRecord, issuer_id: int) -> BatchSummary:
        """Take one batch from whatever state it is in to anchored."""
        journal = StoreJournal(self.store, self.account.address, batch_id=batch.id)
        journal.on_signed = lambda tx: self._notify("signed", self.store.get_batch(batch.id))
        journal.on_broadcast = lambda tx: self._notify("sent", self.store.get_batch(batch.id))
        sender = Sender(self.chain, self.account, self.policy, journal)
        sender.on_receipt = lambda receipt: self._notify("mined", self.store.get_batch(batch.id))
        attempts = [(a.id, _sent(a)) for a in self.store.attempts_for_batch(batch.id) if a.state != "dropped"]
        confirmed: Confirmed | None = None
        adopted = False
        with self.registry.explained():
            if attempts:
                journal.adopt(attempts)
                try:
                    confirmed = sender.resume([tx for _, tx in attempts])
                except NonceTakenError:
                    confirmed = None  # the signed transaction can no longer be mined; see below
            if confirmed is None:
                onchain = self.registry.batch_id_of(issuer_id, batch.root)
                if onchain:
                    adopted = True
                else:
                    confirmed = sender.send(self.registry.contract.functions.anchor(batch.root, batch.size))
        if confirmed is not None:
            onchain_id = self._anchored_batch_id(confirmed, batch, issuer_id)
            tx_hash, block = confirmed.tx.tx_hash, int(confirmed.receipt["blockNumber"])
            gas_used = int(confirmed.receipt["gasUsed"])
            fee = gas_used * int(confirmed.receipt.get("effectiveGasPrice", 0))
        else:  # our root is on chain under our issuer already (sent by an earlier run that lost its record)
            onchain_id = self.registry.batch_id_of(issuer_id, batch.root)
            info = self.registry.batch(onchain_id)
            tx_hash, block, gas_used, fee = self._find_anchoring_tx(onchain_id, info.anchored_at_block)
            self._wait_final(block)
        info = self.registry.batch(onchain_id)
        self.store.update_batch(
            batch.id,
            onchain_batch_id=onchain_id,
            tx_hash=tx_hash,
            block_number=block,
            anchored_at=info.anchored_at,
            gas_used=gas_used,
            fee_wei=fee,
        )
        self._notify("confirmed", self.store.get_batch(batch.id))
        folder = self.write_receipts(self.store.get_batch(batch.id), issuer_id)
        self.store.update_batch(batch.id, state="anchored")
        self._notify("anchored", self.store.get_batch(batch.id))
        return BatchSummary(
            batch.id, onchain_id, batch.size, batch.root, tx_hash, block, gas_used, fee, folder, adopted
        )

    def _anchored_batch_id(self, confirmed: Confirmed, batch: BatchRecord, issuer_id: int) -> int:
        events = self.registry.contract.events.BatchAnchored().process_receipt(confirmed.receipt, errors=DISCARD)
        for event in events:
            args = event["args"]
            if "0x" + bytes(args["root"]).hex() == batch.root.lower() and int(args["issuerId"]) == issuer_id:
                return int(args["batchId"])
        raise ChainError(f"transaction {confirmed.tx.tx_hash} holds no BatchAnchored event for root {batch.root}")

    def _wait_final(self, block: int) -> None:
        finality = self.policy.finality
        if isinstance(finality, int):
            wait_for_block(self.chain, block + finality - 1, "latest", timeout=self.policy.finality_timeout)
        else:
            wait_for_block(self.chain, block, finality, timeout=self.policy.finality_timeout)

    def _find_anchoring_tx(self, onchain_id: int, block: int) -> tuple[str, int, int, int]:
        logs = self.registry.contract.events.BatchAnchored().get_logs(
            from_block=block, to_block=block, argument_filters={"batchId": onchain_id}
        )
        if not logs:
            raise ChainError(
                f"batch {onchain_id} is on chain but its BatchAnchored event was not found in block {block}"
            )
        tx_hash = logs[0]["transactionHash"].to_0x_hex()
        receipt = self.chain.w3.eth.get_transaction_receipt(logs[0]["transactionHash"])
        gas_used = int(receipt["gasUsed"])
        return tx_hash, block, gas_used, gas_used * int(receipt.get("effectiveGasPrice", 0))

    # ------------------------------------------------------------------ receipts

    def write_receipts(self, batch: BatchRecord, issuer_id: int) -> Path:
        """Write one receipt per credential of an anchored batch; returns the folder."""
        if batch.onchain_batch_id is None or batch.tx_hash is None or batch.block_number is None:
            raise ChainError(f"batch {batch.id} is not anchored yet")
        folder = self.receipts_dir / str(self.chain.chain_id) / f"batch-{batch.onchain_batch_id}"
        folder.mkdir(parents=True, exist_ok=True)
        tree = StandardMerkleTree.load(json.loads(self.store.tree_dump(batch.id)))
        # Credentials stream in index order and each proof is made (and checked) when its receipt is written,
        # so a batch of a million never holds all its documents or proofs in memory.
        for done, (index, credential_id, document) in enumerate(self.store.batch_credentials(batch.id), start=1):
            _, leaf_index = tree.at(index)
            if leaf_index != index:
                raise InvariantError(f"batch {batch.id}: tree value {index} holds index {leaf_index!r}")
            proof = _anchor_proof(batch, tree, index, issuer_id)
            _write_json(folder / receipt_file_name(credential_id), make_receipt(json.loads(document), proof))
            if self.on_receipt_progress is not None:
                self.on_receipt_progress(done, batch.size)
        return folder

    def export_receipt(self, credential_id: str) -> dict[str, Any]:
        """The receipt of one anchored credential, rebuilt from the database."""
        record = self.store.find_credential(credential_id)
        if record is None:
            raise InvalidInputError(f"no credential {credential_id!r} in the issuer database")
        if record.batch_id is None or record.batch_index is None:
            raise InvalidInputError(f"credential {credential_id!r} is queued, not anchored yet: run `anchor batch run`")
        batch = self.store.get_batch(record.batch_id)
        if batch.state != "anchored" or batch.onchain_batch_id is None:
            raise InvalidInputError(f"credential {credential_id!r} is in batch {batch.id}, which is {batch.state}")
        tree = StandardMerkleTree.load(json.loads(self.store.tree_dump(batch.id)))
        proof = _anchor_proof(batch, tree, record.batch_index, self._issuer_id())
        return make_receipt(json.loads(record.document), proof)

    # ------------------------------------------------------------------ revocation

    def revoke(
        self, onchain_batch_id: int, indices: Sequence[int], reason: int, budget: int = DEFAULT_REVOKE_GAS_BUDGET
    ) -> list[str]:
        """Revoke credentials of one batch, split into transactions under ``budget`` gas; returns the tx hashes."""
        if not indices:
            raise InvalidInputError("no credential indices to revoke")
        hashes = []
        functions = self.registry.contract.functions
        with self._lease():
            for chunk in plan_revocations(indices, budget):
                self._preflight(functions.revokeCredentials(onchain_batch_id, chunk, reason))
                record = self.store.create_revocation(
                    self.chain.chain_id, self.registry.address, onchain_batch_id, chunk, reason
                )
                hashes.append(self._send_revocation(record.id, onchain_batch_id, chunk, reason))
        return hashes

    def revoke_batch(self, onchain_batch_id: int, reason: int) -> str:
        """Revoke a whole batch; returns the tx hash."""
        with self._lease():
            record = self.store.create_revocation(
                self.chain.chain_id, self.registry.address, onchain_batch_id, [], reason
            )
            return self._send_revocation(record.id, onchain_batch_id, [], reason)

    def resume_revocations(self) -> list[str]:
        """Finish revocations an earlier run recorded but did not confirm."""
        hashes = []
        with self._lease():
            for record in self.store.unfinished_revocations():
                if record.chain_id != self.chain.chain_id or record.registry.lower() != self.registry.address.lower():
                    continue
                hashes.append(self._send_revocation(record.id, record.onchain_batch_id, record.indices, record.reason))
        return hashes

    def _send_revocation(self, revocation_id: int, batch_id: int, indices: Sequence[int], reason: int) -> str:
        journal = StoreJournal(self.store, self.account.address, revocation_id=revocation_id)
        sender = Sender(self.chain, self.account, self.policy, journal)
        functions = self.registry.contract.functions
        call = (
            functions.revokeCredentials(batch_id, list(indices), reason)
            if indices
            else functions.revokeBatch(batch_id, reason)
        )
        attempts = [(a.id, _sent(a)) for a in self.store.attempts_for_revocation(revocation_id) if a.state != "dropped"]
        with self.registry.explained():
            confirmed: Confirmed | None = None
            if attempts:
                journal.adopt(attempts)
                try:
                    confirmed = sender.resume([tx for _, tx in attempts])
                except NonceTakenError:
                    confirmed = None
            if confirmed is None:
                confirmed = sender.send(call)
        self.store.update_revocation(
            revocation_id,
            state="done",
            tx_hash=confirmed.tx.tx_hash,
            block_number=int(confirmed.receipt["blockNumber"]),
        )
        return confirmed.tx.tx_hash

    # ------------------------------------------------------------------ helpers

    def _preflight(self, call: Any) -> None:
        """Simulate ``call``: a refusal (not our batch, already revoked) is reported before anything is recorded."""
        with self.registry.explained():
            call.estimate_gas({"from": self.account.address})

    def _issuer_id(self) -> int:
        signer = self.registry.signer(self.account.address)
        if not signer.active:
            raise InvalidInputError(
                f"{self.account.address} is not an active signer of any issuer in registry {self.registry.address}: "
                "ask the registry admin to add it (`anchor issuer add-signer`)"
            )
        return signer.issuer_id

    def _lease(self) -> _Lease:
        return _Lease(self.store, f"signer:{self.chain.chain_id}:{self.account.address}", self.owner)

    def _notify(self, transition: str, batch: BatchRecord) -> None:
        if self.hook is not None:
            self.hook(transition, batch)


class _Lease:
    """Holds the per-key lease for the duration of a ``with`` block."""

    def __init__(self, store: Store, name: str, owner: str) -> None:
        self.store, self.name, self.owner = store, name, owner

    def __enter__(self) -> None:
        if not self.store.acquire_lease(self.name, self.owner, LEASE_SECONDS):
            raise IssuerBusyError(
                f"another worker is sending with this key ({self.name}); it holds the lease for up to "
                f"{LEASE_SECONDS} s after it stops"
            )

    def __exit__(self, *exc: object) -> None:
        self.store.release_lease(self.name, self.owner)


def plan_revocations(indices: Sequence[int], budget: int = DEFAULT_REVOKE_GAS_BUDGET) -> list[list[int]]:
    """Split sorted, distinct ``indices`` into chunks whose estimated gas stays under ``budget``."""
    ordered = sorted(set(indices))
    if len(ordered) != len(indices):
        raise InvalidInputError("an index is listed twice")
    chunks: list[list[int]] = []
    current: list[int] = []
    gas = REVOKE_BASE_GAS
    last_word = -1
    for index in ordered:
        cost = REVOKE_GAS_PER_INDEX + (REVOKE_GAS_PER_WORD if index >> 8 != last_word else 0)
        if current and gas + cost > budget:
            chunks.append(current)
            current, gas, last_word = [], REVOKE_BASE_GAS, -1
            cost = REVOKE_GAS_PER_INDEX + REVOKE_GAS_PER_WORD
        current.append(index)
        gas += cost
        last_word = index >> 8
    if current:
        chunks.append(current)
    return chunks


def receipt_file_name(credential_id: str) -> str:
    """A safe file name for a credential id (``urn:uuid:…`` -> ``urn_uuid_….json``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", credential_id)[:200] + ".json"


def _anchor_proof(batch: BatchRecord, tree: StandardMerkleTree, index: int, issuer_id: int) -> AnchorProof:
    """The anchor proof of credential ``index`` of an anchored batch (its Merkle proof made and checked here)."""
    digest, _ = tree.at(index)
    return AnchorProof(
        chain_id=batch.chain_id,
        registry=to_checksum_address(batch.registry),
        batch_id=batch.onchain_batch_id or 0,
        issuer_id=issuer_id,
        index=index,
        digest="0x" + bytes(digest).hex() if isinstance(digest, bytes) else str(digest),
        merkle_proof=tuple(tree.get_proof(index)),
        root=tree.root,
        transaction_hash=batch.tx_hash or "",
        block_number=batch.block_number or 0,
        anchored_at=datetime.fromtimestamp(batch.anchored_at or 0, UTC),
    )


def _build_tree(digests: list[bytes]) -> tuple[str, str]:
    tree = StandardMerkleTree.of([(digest, index) for index, digest in enumerate(digests)], list(LEAF_ENCODING))
    return tree.root, json.dumps(tree.dump())


def _sent(attempt: Any) -> SentTx:
    return SentTx(
        nonce=attempt.nonce,
        tx_hash=attempt.tx_hash,
        raw_tx=attempt.raw_tx,
        max_fee_per_gas=attempt.max_fee_per_gas,
        max_priority_fee_per_gas=attempt.max_priority_fee_per_gas,
    )


def _write_json(path: Path, document: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
