"""The issuer's nightly job: crash-safe batches from queued credentials to anchored roots and written receipts.

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

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from anchor.chain.connection import Chain, block_number, gas_and_fee, wait_for_block
from anchor.chain.registry import RegistryCall
from anchor.credentials.receipt import LEAF_ENCODING
from anchor.errors import ChainError
from anchor.issuing.budget import BudgetExceededError
from anchor.issuing.journal import StoreJournal
from anchor.issuing.receipts import Progress, write_receipts
from anchor.issuing.sending import IssuerKey
from anchor.issuing.store import BatchRecord
from anchor.merkle import StandardMerkleTree

#: Callback after each state transition of a batch: (transition, batch). Progress, logs and fault injection.
Hook = Callable[[str, BatchRecord], None]


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


def anchor_queued(
    key: IssuerKey, max_size: int, receipts_dir: Path, hook: Hook | None, progress: Progress | None
) -> list[BatchSummary]:
    """Resume unfinished batches, then anchor every queued credential in batches of at most ``max_size``.

    A spending budget stops the run before a transaction is signed
    (:class:`~anchor.issuing.budget.BudgetExceededError`, saying what was anchored and what is left queued);
    the next run resumes from there.
    """
    run = _BatchRun(key, receipts_dir, hook, progress)
    issuer_id = key.issuer_id()
    summaries: list[BatchSummary] = []
    with key.lease():
        try:
            for unfinished in key.store.unfinished_batches(key.chain.chain_id, key.registry.address):
                summaries.append(run.anchor(unfinished, issuer_id))
            while True:
                batch = key.store.build_batch(
                    max_size, key.chain.chain_id, key.registry.address, key.account.address, build_tree
                )
                if batch is None:
                    break
                run.notify("built", batch)
                summaries.append(run.anchor(batch, issuer_id))
        except BudgetExceededError as error:
            raise error.leaving(_left_queued(key, summaries)) from error
    return summaries


def _left_queued(key: IssuerKey, done: list[BatchSummary]) -> str:
    """What a run stopped by a budget leaves for the next one, and what it did before stopping."""
    waiting = [
        f"batch {batch.id} ({batch.state}, {batch.size} credentials)"
        for batch in key.store.unfinished_batches(key.chain.chain_id, key.registry.address)
    ]
    queued = key.store.queued_count()
    if queued:
        waiting.append(f"{queued} credential(s) not yet in a batch")
    anchored = (
        f"; this run anchored {len(done)} batch(es) of {sum(s.size for s in done)} credentials first, their "
        f"receipts written"
        if done
        else ""
    )
    return f"{', '.join(waiting) or 'nothing'} (`anchor batch run` resumes){anchored}"


def confirmations(chain: Chain, batch: BatchRecord) -> tuple[int, bool] | None:
    """How many blocks confirm an anchored batch's transaction, and whether its block is finalized."""
    if batch.block_number is None:
        return None
    depth = block_number(chain) - batch.block_number + 1
    return depth, block_number(chain, "finalized") >= batch.block_number


def build_tree(digests: list[bytes]) -> tuple[str, Iterator[str]]:
    """The root and ``standard-v1`` dump of the tree of a batch's ``(digest, index)`` leaves.

    The dump comes as its pieces in order (:meth:`StandardMerkleTree.dump_json_pieces`), made lazily: their
    concatenation is ``dump_json()``. Memory (a million leaves make a dump of about 250 MB): the iterator
    keeps the tree until its last piece is taken, and ``Store.build_batch`` stores each piece before taking
    the next, so the peak holds the tree and a few MB of text, never the whole dump.
    """
    tree = StandardMerkleTree.of([(digest, index) for index, digest in enumerate(digests)], list(LEAF_ENCODING))
    return tree.root, tree.dump_json_pieces()


class _BatchRun:
    """Takes batches of one key from whatever state they are in to anchored."""

    def __init__(self, key: IssuerKey, receipts_dir: Path, hook: Hook | None, progress: Progress | None) -> None:
        self.key, self.store, self.registry = key, key.store, key.registry
        self.receipts_dir, self.hook, self.progress = receipts_dir, hook, progress

    def anchor(self, batch: BatchRecord, issuer_id: int) -> BatchSummary:
        """Take one batch to anchored: send (or resume, or adopt), wait for finality, write its receipts."""
        journal = StoreJournal(self.store, self.key.account.address, batch_id=batch.id)
        journal.on_signed = lambda tx: self.notify("signed", self.store.get_batch(batch.id))
        journal.on_broadcast = lambda tx: self.notify("sent", self.store.get_batch(batch.id))

        adopted: list[int] = []

        def anchor_unless_on_chain() -> RegistryCall | None:
            """The anchoring call, or None when an earlier run that lost its record anchored the root already."""
            onchain = self.registry.batch_id_of(issuer_id, batch.root)
            if not onchain:
                return self.registry.anchor_call(batch.root, batch.size)
            self._check_is_this_batch(onchain, batch, issuer_id)
            adopted.append(onchain)
            return None

        confirmed = self.key.send_durably(
            journal,
            self.store.attempts_for_batch(batch.id),
            anchor_unless_on_chain,
            on_mined=lambda: self.notify("mined", self.store.get_batch(batch.id)),
        )
        if confirmed is not None:
            onchain_id = self.registry.anchored_batch_id(confirmed.receipt, batch.root, issuer_id)
            receipt = confirmed.receipt
        else:  # our root is on chain under our issuer already (sent by an earlier run that lost its record)
            onchain_id = adopted[-1]
            receipt = self.registry.anchoring_transaction(onchain_id, self.registry.batch(onchain_id).anchored_at_block)
            if self.registry.anchored_batch_id(receipt, batch.root, issuer_id) != onchain_id:
                raise ChainError(f"the transaction found for batch {onchain_id} anchored another batch: not adopted")
            self._wait_final(int(receipt["blockNumber"]))
        tx_hash, block = receipt["transactionHash"].to_0x_hex(), int(receipt["blockNumber"])
        gas_used, fee = gas_and_fee(receipt)
        self.store.update_batch(
            batch.id,
            onchain_batch_id=onchain_id,
            tx_hash=tx_hash,
            block_number=block,
            anchored_at=self.registry.batch(onchain_id).anchored_at,
            gas_used=gas_used,
            fee_wei=fee,
        )
        self.notify("confirmed", self.store.get_batch(batch.id))
        folder = write_receipts(self.store, self.store.get_batch(batch.id), issuer_id, self.receipts_dir, self.progress)
        self.store.update_batch(batch.id, state="anchored")
        self.notify("anchored", self.store.get_batch(batch.id))
        return BatchSummary(
            batch.id, onchain_id, batch.size, batch.root, tx_hash, block, gas_used, fee, folder, confirmed is None
        )

    def _check_is_this_batch(self, onchain_id: int, batch: BatchRecord, issuer_id: int) -> None:
        """Refuse to adopt on-chain batch ``onchain_id`` unless it holds this batch's root, size and issuer.

        An endpoint on a stale fork, or one that lies, must not make receipts name another issuer's batch.
        """
        found = self.registry.batch(onchain_id)
        if found.root.lower() != batch.root.lower() or found.issuer_id != issuer_id or found.size != batch.size:
            raise ChainError(
                f"the RPC endpoint says root {batch.root} is anchored as batch {onchain_id}, but that batch holds "
                f"root {found.root} of issuer {found.issuer_id} ({found.size} credentials): not adopted; batch "
                f"{batch.id} stays {batch.state} for the next run (check the endpoint)"
            )

    def notify(self, transition: str, batch: BatchRecord) -> None:
        """Tell the hook about a state transition."""
        if self.hook is not None:
            self.hook(transition, batch)

    def _wait_final(self, block: int) -> None:
        policy = self.key.policy
        if isinstance(policy.finality, int):
            wait_for_block(self.key.chain, block + policy.finality - 1, "latest", timeout=policy.finality_timeout)
        else:
            wait_for_block(self.key.chain, block, policy.finality, timeout=policy.finality_timeout)
