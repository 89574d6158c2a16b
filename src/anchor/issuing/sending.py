"""Sending as an issuer: one worker per key at a time, and each transaction resumed rather than sent twice."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount

from anchor.chain.connection import Chain
from anchor.chain.registry import Registry, RegistryCall
from anchor.chain.transactions import Confirmed, NonceTakenError, Sender, SentTx, TxPolicy
from anchor.errors import AnchorError, InvalidInputError
from anchor.issuing.budget import SpendingBudget
from anchor.issuing.journal import StoreJournal
from anchor.issuing.store import AttemptRecord, Store

#: How long a worker's hold on a key outlives the worker if it dies without releasing it.
LEASE_SECONDS = 900


class IssuerBusyError(AnchorError):
    """Another worker is sending transactions with the same key right now."""


@dataclass
class IssuerKey:
    """One issuer signing key at one registry, with the issuer database that journals what it sends."""

    store: Store
    registry: Registry
    account: LocalAccount
    policy: TxPolicy
    owner: str = field(default_factory=lambda: f"{os.getpid()}-{uuid.uuid4().hex[:8]}")
    budget: SpendingBudget | None = None
    """Spending budgets checked before each signature (:mod:`anchor.issuing.budget`); None: no budget."""

    @property
    def chain(self) -> Chain:
        """The registry's chain."""
        return self.registry.chain

    def issuer_id(self) -> int:
        """The registry's id of the issuer this key signs for; refused when the key is not an active signer."""
        signer = self.registry.signer(self.account.address)
        if not signer.active:
            raise InvalidInputError(
                f"{self.account.address} is not an active signer of any issuer in registry {self.registry.address}: "
                "ask the registry admin to add it (`anchor issuer add-signer`)"
            )
        return signer.issuer_id

    def lease(self) -> KeyLease:
        """Hold this key for one worker for the duration of a ``with`` block."""
        return KeyLease(self.store, f"signer:{self.chain.chain_id}:{self.account.address}", self.owner)

    def send_durably(
        self,
        journal: StoreJournal,
        journaled: Iterable[AttemptRecord],
        fresh_call: Callable[[], RegistryCall | None],
        on_mined: Callable[[], None] | None = None,
    ) -> Confirmed | None:
        """Confirm what an earlier run journaled; only when none of it can be mined, send ``fresh_call()``.

        ``fresh_call`` returns None when nothing needs sending after all (the work is on chain already);
        then this returns None too. Refusals by the registry become readable errors. What each transaction
        paid is recorded in the journal; with a budget, :class:`~anchor.issuing.budget.BudgetExceededError`
        stops a transaction before it is signed.
        """
        sender = Sender(self.chain, self.account, self.policy, journal)
        if on_mined is not None:
            sender.on_receipt = lambda receipt: on_mined()
        budget = self.budget
        if budget is not None:
            sender.spend_guard = budget.check

        def paid(tx: SentTx, gas_used: int, fee_wei: int) -> None:
            journal.paid(tx, gas_used, fee_wei)
            if budget is not None:
                budget.paid(fee_wei)

        sender.on_paid = paid
        attempts = journal.adopt(journaled)
        with self.registry.explained():
            if attempts:
                try:
                    return sender.resume(attempts)
                except NonceTakenError:
                    pass  # the journaled transaction can no longer be mined: decide afresh
            call = fresh_call()
            return None if call is None else sender.send(call)


class KeyLease:
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
