"""Revocations: the indices of an on-chain batch to revoke (none: all of it), from pending to done."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, insert, select, update

from anchor.errors import InvalidInputError
from anchor.issuing.store.engine import StoreBase
from anchor.issuing.store.records import UNFINISHED_REVOCATION_STATES, RevocationRecord, RevocationState
from anchor.issuing.store.schema import _revocations
from anchor.issuing.store.values import _address, _check_choice, _tx_hash


class RevocationStore(StoreBase):
    """Recording revocations to send and following them to done."""

    def create_revocation(
        self, chain_id: int, registry: str, onchain_batch_id: int, indices: Sequence[int], reason: int
    ) -> RevocationRecord:
        """Record a revocation to send (``pending``): ``indices`` of an on-chain batch, or none for all of it."""
        if any(isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in indices):
            raise InvalidInputError(f"credential indices are non-negative integers: {list(indices)[:10]}")
        now = time.time()
        with self._transaction(write=True) as connection:
            revocation_id = connection.execute(
                insert(_revocations)
                .values(
                    chain_id=chain_id,
                    registry=_address(registry, "registry"),
                    onchain_batch_id=onchain_batch_id,
                    indices=json.dumps(list(indices)),
                    reason=reason,
                    state="pending",
                    created_at=now,
                    updated_at=now,
                )
                .returning(_revocations.c.id)
            ).scalar_one()
            row = connection.execute(select(_revocations).where(_revocations.c.id == revocation_id)).one()
        return _revocation_record(row)

    def get_revocation(self, revocation_id: int) -> RevocationRecord:
        """The revocation with this id; :class:`InvalidInputError` if there is none."""
        with self._transaction() as connection:
            row = connection.execute(select(_revocations).where(_revocations.c.id == revocation_id)).one_or_none()
        if row is None:
            raise InvalidInputError(f"no revocation {revocation_id} in the issuer database")
        return _revocation_record(row)

    def unfinished_revocations(self) -> list[RevocationRecord]:
        """Revocations not done yet (pending, signed), oldest first."""
        with self._transaction() as connection:
            rows = connection.execute(
                select(_revocations)
                .where(_revocations.c.state.in_(UNFINISHED_REVOCATION_STATES))
                .order_by(_revocations.c.id)
            ).all()
        return [_revocation_record(row) for row in rows]

    def update_revocation(
        self,
        revocation_id: int,
        *,
        state: RevocationState | None = None,
        tx_hash: str | None = None,
        block_number: int | None = None,
    ) -> RevocationRecord:
        """Set the given fields (None: unchanged); returns the updated revocation."""
        if state is not None:
            _check_choice(state, RevocationState, "revocation state")
        values: dict[str, Any] = {"updated_at": time.time()}
        if state is not None:
            values["state"] = state
        if tx_hash is not None:
            values["tx_hash"] = _tx_hash(tx_hash)
        if block_number is not None:
            values["block_number"] = block_number
        with self._transaction(write=True) as connection:
            changed = connection.execute(
                update(_revocations).where(_revocations.c.id == revocation_id).values(**values)
            ).rowcount
            if changed != 1:
                raise InvalidInputError(f"no revocation {revocation_id} in the issuer database")
            row = connection.execute(select(_revocations).where(_revocations.c.id == revocation_id)).one()
        return _revocation_record(row)


def _revocation_record(row: Row[Any]) -> RevocationRecord:
    values = row._asdict()
    values["indices"] = tuple(json.loads(values["indices"]))
    return RevocationRecord(**values)
