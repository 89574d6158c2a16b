"""The transaction journal: each signed transaction (anchoring a batch or sending a revocation), recorded
before it is broadcast so that a resumed run can send the same bytes again, and what became of it."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Row, func, insert, select, update

from anchor.errors import InvalidInputError, StoreError
from anchor.issuing.store.engine import StoreBase
from anchor.issuing.store.records import AttemptRecord, AttemptState, NewAttempt, Purpose
from anchor.issuing.store.schema import _attempts, _batches, _revocations
from anchor.issuing.store.values import _HEX, _address, _check_choice, _tx_hash


class AttemptStore(StoreBase):
    """Journaling transaction attempts and reading them back."""

    def record_attempt(self, attempt: NewAttempt) -> AttemptRecord:
        """Journal a signed transaction and move its batch or revocation to ``signed``, in one transaction.

        Recording the same transaction (hash) again returns the first record and changes nothing.
        """
        _check_choice(attempt.purpose, Purpose, "purpose")
        target_id = attempt.batch_id if attempt.purpose == "anchor" else attempt.revocation_id
        other_id = attempt.revocation_id if attempt.purpose == "anchor" else attempt.batch_id
        if target_id is None or other_id is not None:
            raise InvalidInputError(
                f"an attempt to {attempt.purpose} names exactly its "
                f"{'batch' if attempt.purpose == 'anchor' else 'revocation'}"
            )
        tx_hash = _tx_hash(attempt.tx_hash)
        if not _HEX.fullmatch(attempt.raw_tx):
            raise InvalidInputError(f"raw transaction of {tx_hash} is not 0x-hex")
        with self._transaction(write=True) as connection:
            existing = connection.execute(select(_attempts).where(_attempts.c.tx_hash == tx_hash)).one_or_none()
            if existing is not None:
                record = _attempt_record(existing)
                if (record.purpose, record.batch_id, record.revocation_id, record.raw_tx) != (
                    attempt.purpose,
                    attempt.batch_id,
                    attempt.revocation_id,
                    attempt.raw_tx,
                ):
                    raise StoreError(f"transaction {tx_hash} is already journaled for something else")
                return record
            target = _batches if attempt.purpose == "anchor" else _revocations
            final = "anchored" if attempt.purpose == "anchor" else "done"
            state = connection.execute(
                select(target.c.state).where(target.c.id == target_id).with_for_update()
            ).scalar()
            what = f"{'batch' if attempt.purpose == 'anchor' else 'revocation'} {target_id}"
            if state is None:
                raise InvalidInputError(f"no {what} in the issuer database")
            if state == final:
                raise StoreError(f"{what} is {final} already; refusing to journal another transaction for it")
            now = time.time()
            attempt_id = connection.execute(
                insert(_attempts)
                .values(
                    purpose=attempt.purpose,
                    batch_id=attempt.batch_id,
                    revocation_id=attempt.revocation_id,
                    signer=_address(attempt.signer, "signer"),
                    nonce=attempt.nonce,
                    tx_hash=tx_hash,
                    raw_tx=attempt.raw_tx,
                    max_fee_per_gas=attempt.max_fee_per_gas,
                    max_priority_fee_per_gas=attempt.max_priority_fee_per_gas,
                    state="signed",
                    created_at=now,
                    updated_at=now,
                )
                .returning(_attempts.c.id)
            ).scalar_one()
            connection.execute(update(target).where(target.c.id == target_id).values(state="signed", updated_at=now))
            return _attempt_record(connection.execute(select(_attempts).where(_attempts.c.id == attempt_id)).one())

    def attempts_for_batch(self, batch_id: int) -> list[AttemptRecord]:
        """The batch's transaction attempts, oldest first."""
        return self._attempts(_attempts.c.batch_id == batch_id)

    def attempts_for_revocation(self, revocation_id: int) -> list[AttemptRecord]:
        """The revocation's transaction attempts, oldest first."""
        return self._attempts(_attempts.c.revocation_id == revocation_id)

    def _attempts(self, condition: Any) -> list[AttemptRecord]:
        with self._transaction() as connection:
            rows = connection.execute(select(_attempts).where(condition).order_by(_attempts.c.id)).all()
        return [_attempt_record(row) for row in rows]

    def set_attempt_state(self, attempt_id: int, state: AttemptState) -> None:
        """Record what became of a transaction attempt."""
        _check_choice(state, AttemptState, "attempt state")
        with self._transaction(write=True) as connection:
            changed = connection.execute(
                update(_attempts).where(_attempts.c.id == attempt_id).values(state=state, updated_at=time.time())
            ).rowcount
        if changed != 1:
            raise InvalidInputError(f"no transaction attempt {attempt_id} in the issuer database")

    def record_fee(self, attempt_id: int, gas_used: int, fee_wei: int, mined_at: float | None = None) -> None:
        """Record what a mined transaction attempt paid (``gasUsed`` x ``effectiveGasPrice``), and when.

        Recording again (a resumed run confirming the same transaction) overwrites: one fee per attempt.
        """
        if gas_used < 0 or fee_wei < 0:
            raise InvalidInputError(f"gas used {gas_used} and fee {fee_wei} wei must be >= 0")
        with self._transaction(write=True) as connection:
            changed = connection.execute(
                update(_attempts)
                .where(_attempts.c.id == attempt_id)
                .values(gas_used=gas_used, fee_wei=fee_wei, mined_at=time.time() if mined_at is None else mined_at)
            ).rowcount
        if changed != 1:
            raise InvalidInputError(f"no transaction attempt {attempt_id} in the issuer database")

    def spent_since(self, chain_id: int, since: float) -> int:
        """Fees in wei of this database's transactions on ``chain_id`` recorded at or after ``since`` (unix seconds).

        Every signer's, anchoring and revoking: what the issuer spent on that chain.
        """
        sources = _attempts.outerjoin(_batches, _attempts.c.batch_id == _batches.c.id).outerjoin(
            _revocations, _attempts.c.revocation_id == _revocations.c.id
        )
        query = (
            select(_attempts.c.fee_wei)
            .select_from(sources)
            .where(
                _attempts.c.mined_at >= since,
                _attempts.c.fee_wei.is_not(None),
                func.coalesce(_batches.c.chain_id, _revocations.c.chain_id) == chain_id,
            )
        )
        with self._transaction() as connection:
            return sum(fee for fee in connection.execute(query).scalars() if fee is not None)


def _attempt_record(row: Row[Any]) -> AttemptRecord:
    return AttemptRecord(**row._asdict())
