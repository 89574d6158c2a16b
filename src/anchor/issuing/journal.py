"""The transaction journal of a batch or a revocation, kept in the issuer database."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import cast

from anchor.chain.transactions import SentTx
from anchor.issuing.store import AttemptRecord, AttemptState, NewAttempt, Store


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

    def paid(self, tx: SentTx, gas_used: int, fee_wei: int) -> None:
        """Record what a final (or reverted) transaction paid: its receipt's ``gasUsed`` x ``effectiveGasPrice``.

        Recorded before the attempt is marked mined, so that a crash in between leaves it to be recorded
        again (once per attempt) by the run that resumes it, never lost.
        """
        attempt_id = self._ids.get(tx.tx_hash)
        if attempt_id is not None:
            self.store.record_fee(attempt_id, gas_used, fee_wei)

    def adopt(self, attempts: Iterable[AttemptRecord]) -> list[SentTx]:
        """Know attempts journaled by an earlier run (to record their later states); return them to resume."""
        resumable = []
        for attempt in attempts:
            if attempt.state == "dropped":
                continue
            tx = SentTx(
                nonce=attempt.nonce,
                tx_hash=attempt.tx_hash,
                raw_tx=attempt.raw_tx,
                max_fee_per_gas=attempt.max_fee_per_gas,
                max_priority_fee_per_gas=attempt.max_priority_fee_per_gas,
            )
            self._ids[tx.tx_hash] = attempt.id
            resumable.append(tx)
        return resumable
