"""Deliveries: each credential of an anchored batch sent to its learner (by e-mail, or written to a folder).

One row per credential, written after each attempt: a delivery is ``sent`` once the SMTP server accepted
the message (or the folder was written), ``failed`` with the error otherwise. Work lists are read a page
at a time (by batch index), so a long, rate-limited run holds no transaction open between pages.
"""

from __future__ import annotations

import time
from typing import Any, Final

from sqlalchemy import func, insert, select, update

from anchor.issuing.store.engine import StoreBase
from anchor.issuing.store.records import DeliveryItem, DeliveryMethod, DeliveryState
from anchor.issuing.store.schema import _credentials, _deliveries, _documents, _roster_entries
from anchor.issuing.store.values import _check_choice

DELIVERY_PAGE: Final = 200
"""Credentials read per round trip by :meth:`DeliveryStore.delivery_items`."""
#: Longest error text kept per delivery (an SMTP reply is short; anything longer is cut).
_MAX_ERROR: Final = 2000


class DeliveryStore(StoreBase):
    """What was delivered to whom, and what is left."""

    def delivery_items(self, batch_id: int, after_index: int = -1, limit: int = DELIVERY_PAGE) -> list[DeliveryItem]:
        """Up to ``limit`` credentials of a batch with an index above ``after_index``, in index order."""
        query = (
            select(
                _credentials.c.batch_index,
                _credentials.c.credential_id,
                _documents.c.document,
                _roster_entries.c.email,
                _deliveries.c.method,
                _deliveries.c.state,
                _deliveries.c.attempts,
                _deliveries.c.error,
            )
            .select_from(
                _credentials.join(_documents, _documents.c.credential == _credentials.c.id)
                .outerjoin(_roster_entries, _roster_entries.c.credential_id == _credentials.c.credential_id)
                .outerjoin(_deliveries, _deliveries.c.credential_id == _credentials.c.credential_id)
            )
            .where(_credentials.c.batch_id == batch_id, _credentials.c.batch_index > after_index)
            .order_by(_credentials.c.batch_index)
            .limit(limit)
        )
        with self._transaction() as connection:
            rows = connection.execute(query).all()
        return [
            DeliveryItem(
                index=int(row.batch_index),
                credential_id=row.credential_id,
                document=row.document,
                email=row.email,
                method=row.method,
                state=row.state,
                attempts=int(row.attempts or 0),
                error=row.error,
            )
            for row in rows
        ]

    def record_delivery(
        self,
        credential_id: str,
        method: DeliveryMethod,
        state: DeliveryState,
        address: str,
        error: str | None = None,
    ) -> None:
        """Record one attempt to deliver a credential: how, whether it went, where to, and the error if not."""
        _check_choice(method, DeliveryMethod, "delivery method")
        _check_choice(state, DeliveryState, "delivery state")
        now = time.time()
        values: dict[str, Any] = {
            "method": method,
            "state": state,
            "address": address,
            "error": None if error is None else error[:_MAX_ERROR],
            "delivered_at": now if state == "sent" else None,
            "updated_at": now,
        }
        with self._transaction(write=True) as connection:
            attempts = connection.execute(
                select(_deliveries.c.attempts).where(_deliveries.c.credential_id == credential_id).with_for_update()
            ).scalar()
            if attempts is None:
                connection.execute(insert(_deliveries).values(credential_id=credential_id, attempts=1, **values))
            else:
                connection.execute(
                    update(_deliveries)
                    .where(_deliveries.c.credential_id == credential_id)
                    .values(attempts=attempts + 1, **values)
                )

    def delivery_counts(self, batch_id: int) -> dict[str, int]:
        """A batch's credentials by delivery: ``email``/``folder`` (sent that way), ``failed``, ``pending``."""
        with self._transaction() as connection:
            rows = connection.execute(
                select(_deliveries.c.method, _deliveries.c.state, func.count())
                .select_from(
                    _credentials.outerjoin(_deliveries, _deliveries.c.credential_id == _credentials.c.credential_id)
                )
                .where(_credentials.c.batch_id == batch_id)
                .group_by(_deliveries.c.method, _deliveries.c.state)
            ).all()
        counts = {"email": 0, "folder": 0, "failed": 0, "pending": 0}
        for method, state, count in rows:
            key = "pending" if state is None else "failed" if state == "failed" else str(method)
            counts[key] += int(count)
        return counts
