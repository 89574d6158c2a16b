"""Leases: named, expiring claims that keep two workers from doing the same job at once.

A lease is taken with one portable upsert (:meth:`Store.acquire_lease`). Its times are the workers' clocks
(unix seconds), which must agree to within much less than a lease's length.
"""

from __future__ import annotations

import time

from sqlalchemy import select, text, update

from anchor.errors import InvalidInputError
from anchor.issuing.store.engine import StoreBase
from anchor.issuing.store.schema import _leases


class LeaseStore(StoreBase):
    """Taking, renewing, releasing and looking up leases."""

    def acquire_lease(self, name: str, owner: str, seconds: float, *, now: float | None = None) -> bool:
        """Take the lease ``name`` for ``seconds``: True if it was free, expired, or ``owner``'s already.

        One atomic statement (``INSERT ... ON CONFLICT DO UPDATE ... WHERE``, the same on SQLite and
        PostgreSQL): of concurrent callers, exactly one wins a free or expired lease.
        """
        if seconds <= 0:
            raise InvalidInputError(f"a lease lasts a positive number of seconds, not {seconds}")
        moment = time.time() if now is None else now
        with self._transaction(write=True) as connection:
            taken = connection.execute(
                text(
                    "INSERT INTO leases (name, owner, expires_at) VALUES (:name, :owner, :expires)"
                    " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at"
                    " WHERE leases.owner = excluded.owner OR leases.expires_at <= :now"
                ),
                {"name": name, "owner": owner, "expires": moment + seconds, "now": moment},
            ).rowcount
        return bool(taken == 1)

    def renew_lease(self, name: str, owner: str, seconds: float, *, now: float | None = None) -> bool:
        """Extend ``owner``'s lease to ``seconds`` from now; False if it is not (or no longer) theirs."""
        moment = time.time() if now is None else now
        with self._transaction(write=True) as connection:
            changed = connection.execute(
                update(_leases)
                .where(_leases.c.name == name, _leases.c.owner == owner)
                .values(expires_at=moment + seconds)
            ).rowcount
        return bool(changed == 1)

    def release_lease(self, name: str, owner: str) -> bool:
        """Give the lease up; False if it was not ``owner``'s (taken over after expiring, or never held)."""
        with self._transaction(write=True) as connection:
            changed = connection.execute(
                _leases.delete().where(_leases.c.name == name, _leases.c.owner == owner)
            ).rowcount
        return bool(changed == 1)

    def lease_owner(self, name: str, *, now: float | None = None) -> str | None:
        """Who holds the lease ``name`` now (None: nobody, or it expired)."""
        moment = time.time() if now is None else now
        with self._transaction() as connection:
            owner = connection.execute(
                select(_leases.c.owner).where(_leases.c.name == name, _leases.c.expires_at > moment)
            ).scalar()
        return None if owner is None else str(owner)
