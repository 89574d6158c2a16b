"""Spending budgets per run and per day (fault 11): fees recorded from receipts, checked against the worst case
of the next transaction before it is signed; a stop leaves everything resumable. On a real anvil node."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hexbytes import HexBytes

from anchor.chain.connection import connect
from anchor.chain.keys import development_accounts
from anchor.chain.registry import Registry
from anchor.chain.transactions import TxPolicy
from anchor.config import Settings, load_settings
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.errors import InvalidInputError
from anchor.issuing.budget import DAY_SECONDS, BudgetExceededError, SpendingBudget, shown_amount, to_wei
from anchor.issuing.intake import prepare_credential
from anchor.issuing.service import IssuerService
from anchor.issuing.store import Store

from support.db import BACKENDS, fresh_database

DEV = development_accounts()
ISSUER = issuer_for_country("ES")
_SEED = iter(range(50_000, 60_000))


@dataclass
class WatchedBudget(SpendingBudget):
    """A budget that remembers every worst case it was asked about; with ``fit_first``, its budget per run is
    set at the first check to exactly that transaction's worst case (so the first fits, a second cannot)."""

    asked: list[int] = field(default_factory=list)
    fit_first: bool = False

    def check(self, worst_case: int) -> None:
        if self.fit_first and not self.asked:
            self.per_run_wei = worst_case
        self.asked.append(worst_case)
        super().check(worst_case)


@pytest.fixture(scope="module")
def registry(anvil: Settings) -> Registry:
    chain = connect(anvil)
    registry, _ = Registry.deploy(chain, DEV[0], DEV[0].address, 0)
    registry.register_issuer(DEV[0], ISSUER.name, ISSUER.country_code, ISSUER.id, [DEV[1].address])
    return registry


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with fresh_database(request.param, tmp_path) as url, Store(url) as opened:
        yield opened


def queue(store: Store, count: int) -> None:
    credentials = generate_credentials(count, seed=next(_SEED), issuer=ISSUER, salted=False)
    assert all(o.status == "queued" for o in store.queue([prepare_credential(c) for c in credentials]))


def service(store: Store, registry: Registry, out: Path, budget: SpendingBudget | None = None) -> IssuerService:
    policy = TxPolicy(finality="finalized", stuck_after=5.0, poll=0.1)
    return IssuerService(store, registry, DEV[1], policy, out, budget=budget)


def watched(store: Store, registry: Registry, **limits: int | bool) -> WatchedBudget:
    return WatchedBudget(store, registry.chain.chain_id, "ETH", **limits)  # type: ignore[arg-type]


def fee_on_chain(registry: Registry, tx_hash: str) -> int:
    receipt = registry.chain.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
    return int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])


@pytest.mark.slow
def test_each_final_transaction_records_what_it_paid(store: Store, registry: Registry, tmp_path: Path) -> None:
    queue(store, 2)
    started = time.time()
    (summary,) = service(store, registry, tmp_path / "r").run(max_size=10)
    (attempt,) = [a for a in store.attempts_for_batch(summary.batch_id) if a.state == "mined"]
    assert attempt.fee_wei == fee_on_chain(registry, summary.tx_hash) == summary.fee_wei
    assert attempt.gas_used == summary.gas_used
    assert attempt.mined_at is not None
    assert started <= attempt.mined_at <= time.time()
    chain_id = registry.chain.chain_id
    assert store.spent_since(chain_id, started - 1) == attempt.fee_wei
    assert store.spent_since(chain_id + 1, 0) == 0  # another chain's spending is apart
    store.record_fee(attempt.id, summary.gas_used, summary.fee_wei, mined_at=started - DAY_SECONDS - 1)
    assert store.spent_since(chain_id, time.time() - DAY_SECONDS) == 0  # a day later it no longer counts


@pytest.mark.slow
def test_a_run_stops_before_signing_what_could_pass_its_budget_and_resumes(
    store: Store, registry: Registry, tmp_path: Path
) -> None:
    queue(store, 4)
    before = registry.batch_count()
    budget = watched(store, registry, fit_first=True)
    with pytest.raises(BudgetExceededError) as stopped:
        service(store, registry, tmp_path / "r", budget).run(max_size=2)
    assert registry.batch_count() == before + 1  # the first batch fit, the second was never signed
    first, second = sorted(store.list_batches(), key=lambda b: b.id)
    assert first.state == "anchored"
    assert first.fee_wei == fee_on_chain(registry, first.tx_hash or "")
    assert (second.state, second.size, store.attempts_for_batch(second.id)) == ("built", 2, [])
    assert budget.spent_in_run == first.fee_wei
    error = stopped.value
    assert (error.budget, error.spent, error.limit, error.worst_case) == (
        "per run",
        first.fee_wei,
        budget.asked[0],
        budget.asked[1],
    )
    message = " ".join(str(error).split())
    assert f"this run spent {shown_amount(first.fee_wei or 0, 'ETH')} of the budget of" in message
    assert f"may cost up to {shown_amount(budget.asked[1], 'ETH')}" in message
    assert f"left: batch {second.id} (built, 2 credentials) (`anchor batch run` resumes)" in message
    assert "this run anchored 1 batch(es) of 2 credentials first" in message

    resumed = service(store, registry, tmp_path / "r").run(max_size=2)
    assert [s.batch_id for s in resumed] == [second.id]
    assert registry.batch_count() == before + 2  # resumed, nothing anchored twice


@pytest.mark.slow
def test_the_daily_budget_counts_what_the_database_recorded(store: Store, registry: Registry, tmp_path: Path) -> None:
    queue(store, 1)
    (earlier,) = service(store, registry, tmp_path / "r").run(max_size=10)
    queue(store, 3)
    before = registry.batch_count()
    budget = watched(store, registry, per_day_wei=earlier.fee_wei + 1)
    with pytest.raises(BudgetExceededError) as stopped:
        service(store, registry, tmp_path / "r", budget).run(max_size=10)
    assert registry.batch_count() == before
    assert (stopped.value.budget, stopped.value.spent) == ("per day", earlier.fee_wei)
    message = " ".join(str(stopped.value).split())
    assert f"the last 24 hours spent {shown_amount(earlier.fee_wei, 'ETH')} of the budget of" in message
    assert "(ANCHOR_BUDGET_PER_DAY)" in message
    assert "(built, 3 credentials)" in message

    # the window: a day later the same spending no longer counts
    window = SpendingBudget(store, registry.chain.chain_id, "ETH", per_day_wei=earlier.fee_wei + 1)
    window.check(1)
    with pytest.raises(BudgetExceededError):
        window.check(2)
    window.clock = lambda: time.time() + DAY_SECONDS + 1
    window.check(earlier.fee_wei + 1)

    (resumed,) = service(store, registry, tmp_path / "r").run(max_size=10)
    assert resumed.size == 3
    assert registry.batch_count() == before + 1


@pytest.mark.slow
def test_revocations_count_too(store: Store, registry: Registry, tmp_path: Path) -> None:
    queue(store, 2)
    (summary,) = service(store, registry, tmp_path / "r").run(max_size=10)
    budget = watched(store, registry, per_run_wei=1)
    with pytest.raises(BudgetExceededError, match=r"left: 1 revocation\(s\) recorded, not final: batch \d+ \(1 "):
        service(store, registry, tmp_path / "r", budget).revoke(summary.onchain_batch_id, [0], 1)
    (pending,) = store.unfinished_revocations()
    assert pending.state == "pending"
    assert store.attempts_for_revocation(pending.id) == []
    (tx_hash,) = service(store, registry, tmp_path / "r").resume_revocations()
    revoked = [a for a in store.attempts_for_revocation(pending.id) if a.state == "mined"]
    assert [a.fee_wei for a in revoked] == [fee_on_chain(registry, tx_hash)]


def test_budgets_are_configured_in_the_native_token(tmp_path: Path) -> None:
    settings = load_settings(
        {"ANCHOR_HOME": str(tmp_path), "ANCHOR_BUDGET_PER_RUN": "0.1", "ANCHOR_BUDGET_PER_DAY": "2.5"}
    )
    assert (settings.budget_per_run, settings.budget_per_day) == (0.1, 2.5)
    budget = SpendingBudget.from_settings(settings, Store("sqlite://"), 80002, "POL")
    assert (budget.per_run_wei, budget.per_day_wei) == (10**17, 25 * 10**17)  # exact, not a float's approximation
    assert load_settings({"ANCHOR_HOME": str(tmp_path)}).budget_per_day is None
    assert to_wei(0) == 0
    assert shown_amount(143_251 * 10**9, "POL") == "0.000143251 POL"
    assert shown_amount(3 * 10**18, "POL") == "3 POL"
    for bad in ("-1", "nan", "inf", "ten"):
        with pytest.raises(InvalidInputError, match=f"budget_per_day: .*'{bad}'"):
            load_settings({"ANCHOR_HOME": str(tmp_path), "ANCHOR_BUDGET_PER_DAY": bad})
