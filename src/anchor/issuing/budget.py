"""Spending budgets: the most an issuer spends on fees per run and per day, in the chain's native token.

The fee ceiling (``ANCHOR_MAX_FEE_GWEI``) bounds the price of one unit of gas; these bound the total. Before
each transaction is signed (a first send or a replacement), its worst case, its gas limit at its max fee per
gas, is added to what was spent, and the transaction is not signed if that could pass a budget:

- per run (``ANCHOR_BUDGET_PER_RUN``): the fees this run's transactions paid (one ``anchor batch run`` or
  ``anchor revoke``);
- per day (``ANCHOR_BUDGET_PER_DAY``): the fees the issuer database recorded for the chain in the last 24
  hours (a sliding window: spending at 23:59 still counts at 00:01), every signer's, anchoring and revoking.

What a transaction paid is its receipt's ``gasUsed`` x ``effectiveGasPrice``, recorded in the database with
the transaction (:meth:`~anchor.issuing.store.Store.record_fee`) when it is final, or mined and reverted.
A stop leaves everything resumable: a batch not signed stays ``built``, a revocation stays ``pending``, a
transaction waiting for a replacement stays journaled; the next run picks them up.

Workers signing with different keys at the same moment each check before the other's fee is recorded, so
together they can pass the daily budget by at most one transaction each; one key sends from one worker
at a time (its lease).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from anchor.config import Settings
from anchor.errors import AnchorError, InvalidInputError
from anchor.issuing.store import Store

DAY_SECONDS: Final = 86_400
#: The native tokens of the chains anchor knows (POL, ETH) have 18 decimals.
TOKEN_DECIMALS: Final = 18


class BudgetExceededError(AnchorError):
    """The next transaction could pass a spending budget; it was not signed.

    ``budget`` is ``"per run"`` or ``"per day"``; ``spent``, ``limit`` and ``worst_case`` are in wei.
    """

    def __init__(self, message: str, *, budget: str, spent: int, limit: int, worst_case: int) -> None:
        super().__init__(message)
        self.budget = budget
        self.spent = spent
        self.limit = limit
        self.worst_case = worst_case

    def leaving(self, what: str) -> BudgetExceededError:
        """The same error, its message saying what is left to do (``what``)."""
        return BudgetExceededError(
            f"{self}; left: {what}",
            budget=self.budget,
            spent=self.spent,
            limit=self.limit,
            worst_case=self.worst_case,
        )


def to_wei(amount: float) -> int:
    """An amount of the native token in wei, exactly as written (``0.1`` is 10**17 wei, not a float's approximation)."""
    if amount < 0:
        raise InvalidInputError(f"an amount of the native token must be >= 0, not {amount}")
    return int(Decimal(repr(amount)).scaleb(TOKEN_DECIMALS))


def shown_amount(wei: int, currency: str) -> str:
    """``wei`` in the native token, every significant digit and no more: ``0.000143251 POL``."""
    text = format(Decimal(wei).scaleb(-TOKEN_DECIMALS), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {currency}"


@dataclass
class SpendingBudget:
    """The budgets of one run on one chain; :meth:`check` is the sender's spend guard."""

    store: Store
    chain_id: int
    currency: str
    per_run_wei: int | None = None
    per_day_wei: int | None = None
    spent_in_run: int = 0
    """Fees this run's transactions paid, in wei (see :meth:`paid`)."""
    clock: Callable[[], float] = field(default=time.time, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, chain_id: int, currency: str) -> SpendingBudget:
        """The budgets configured (``budget_per_run``, ``budget_per_day``), either or both possibly unset."""
        return cls(
            store,
            chain_id,
            currency,
            per_run_wei=None if settings.budget_per_run is None else to_wei(settings.budget_per_run),
            per_day_wei=None if settings.budget_per_day is None else to_wei(settings.budget_per_day),
        )

    def check(self, worst_case: int) -> None:
        """Raise :class:`BudgetExceededError` if a transaction costing up to ``worst_case`` wei could pass a budget."""
        if self.per_run_wei is not None and self.spent_in_run + worst_case > self.per_run_wei:
            raise self._exceeded("per run", "this run", self.spent_in_run, self.per_run_wei, worst_case)
        if self.per_day_wei is not None:
            spent_today = self.store.spent_since(self.chain_id, self.clock() - DAY_SECONDS)
            if spent_today + worst_case > self.per_day_wei:
                raise self._exceeded("per day", "the last 24 hours", spent_today, self.per_day_wei, worst_case)

    def paid(self, fee_wei: int) -> None:
        """Count a fee this run's transaction paid."""
        self.spent_in_run += fee_wei

    def _exceeded(self, budget: str, period: str, spent: int, limit: int, worst_case: int) -> BudgetExceededError:
        variable = "ANCHOR_BUDGET_PER_RUN" if budget == "per run" else "ANCHOR_BUDGET_PER_DAY"
        amount = self._amount
        return BudgetExceededError(
            f"spending budget {budget} reached, stopped before signing: the next transaction on chain "
            f"{self.chain_id} may cost up to {amount(worst_case)} (its gas limit at its max fee per gas), and "
            f"{period} spent {amount(spent)} of the budget of {amount(limit)} ({variable}): "
            f"{amount(max(limit - spent, 0))} left. Raise {variable} (or wait) and run again to resume",
            budget=budget,
            spent=spent,
            limit=limit,
            worst_case=worst_case,
        )

    def _amount(self, wei: int) -> str:
        return shown_amount(wei, self.currency)
