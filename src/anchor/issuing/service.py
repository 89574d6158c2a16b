"""The issuer service: what the CLI, the demo and scripts call to anchor, export receipts and revoke."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from anchor.chain.registry import Registry
from anchor.chain.transactions import TxPolicy
from anchor.config import Settings
from anchor.errors import InvalidInputError
from anchor.issuing import receipts, revocation
from anchor.issuing.batch import BatchSummary, Hook, anchor_queued
from anchor.issuing.budget import BudgetExceededError, SpendingBudget
from anchor.issuing.receipts import Progress
from anchor.issuing.revocation import DEFAULT_REVOKE_GAS_BUDGET
from anchor.issuing.sending import IssuerKey
from anchor.issuing.store import BatchRecord, Store


@dataclass(frozen=True)
class Revoked:
    """Credentials of one batch revoked together."""

    onchain_batch_id: int
    count: int
    tx_hashes: list[str]


class IssuerService:
    """Anchors queued credentials for one issuer key, writes their receipts, and revokes its credentials."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        account: LocalAccount,
        policy: TxPolicy,
        receipts_dir: Path,
        hook: Hook | None = None,
        budget: SpendingBudget | None = None,
    ) -> None:
        self.key = IssuerKey(store, registry, account, policy, budget=budget)
        self.store = store
        self.registry = registry
        self.chain = registry.chain
        self.receipts_dir = receipts_dir
        self.hook = hook
        self.on_receipt_progress: Progress | None = None

    @classmethod
    def open(
        cls,
        settings: Settings,
        registry: Registry,
        account: LocalAccount,
        *,
        receipts_dir: Path | None = None,
        max_fee_ceiling_wei: int | None = None,
        hook: Hook | None = None,
    ) -> IssuerService:
        """The service over the configured issuer database, with the configured transaction policy and budgets."""
        policy = TxPolicy(
            finality=settings.finality_policy,
            stuck_after=settings.stuck_after,
            max_fee_ceiling_wei=max_fee_ceiling_wei,
        )
        store = Store.open(settings)
        chain = registry.chain
        budget = SpendingBudget.from_settings(settings, store, chain.chain_id, chain.network.currency)
        return cls(store, registry, account, policy, receipts_dir or settings.receipts_dir, hook, budget)

    def run(self, max_size: int) -> list[BatchSummary]:
        """Resume unfinished batches, then anchor every queued credential in batches of at most ``max_size``."""
        if max_size < 1:
            raise InvalidInputError(f"--max-size must be at least 1, not {max_size}")
        return anchor_queued(self.key, max_size, self.receipts_dir, self.hook, self.on_receipt_progress)

    def write_receipts(self, batch: BatchRecord, issuer_id: int) -> Path:
        """Write one receipt per credential of an anchored batch; returns the folder."""
        return receipts.write_receipts(self.store, batch, issuer_id, self.receipts_dir, self.on_receipt_progress)

    def export_receipt(self, credential_id: str) -> dict[str, Any]:
        """The receipt of one anchored credential, rebuilt from the database."""
        return receipts.export_receipt(self.store, credential_id, self.key.issuer_id())

    def revoke(
        self, onchain_batch_id: int, indices: Sequence[int], reason: int, budget: int = DEFAULT_REVOKE_GAS_BUDGET
    ) -> list[str]:
        """Revoke credentials of one batch, split into transactions under ``budget`` gas; returns the tx hashes."""
        with self._revocations_left_on_budget():
            return revocation.revoke_credentials(self.key, onchain_batch_id, indices, reason, budget)

    def revoke_receipts(self, paths: Sequence[Path], reason: int) -> list[Revoked]:
        """Revoke the credentials of receipt files, batch by batch (every file is read and checked first)."""
        plan = revocation.indices_by_batch(paths, self.chain.chain_id, self.registry.address)
        return [
            Revoked(batch, len(indices), self.revoke(batch, indices, reason)) for batch, indices in sorted(plan.items())
        ]

    def revoke_batch(self, onchain_batch_id: int, reason: int) -> str:
        """Revoke a whole batch; returns the tx hash."""
        with self._revocations_left_on_budget():
            return revocation.revoke_batch(self.key, onchain_batch_id, reason)

    def resume_revocations(self) -> list[str]:
        """Finish revocations an earlier run recorded but did not confirm."""
        with self._revocations_left_on_budget():
            return revocation.resume_revocations(self.key)

    @contextmanager
    def _revocations_left_on_budget(self) -> Iterator[None]:
        """A budget's stop says which revocations are recorded but not sent (the next `anchor revoke` sends them)."""
        try:
            yield
        except BudgetExceededError as error:
            left = [
                record
                for record in self.store.unfinished_revocations()
                if record.chain_id == self.chain.chain_id and record.registry.lower() == self.registry.address.lower()
            ]
            shown = ", ".join(
                f"batch {r.onchain_batch_id} ({f'{len(r.indices)} credential(s)' if r.indices else 'whole'}, {r.state})"
                for r in left
            )
            raise error.leaving(
                f"{len(left)} revocation(s) recorded, not final: {shown or 'none'} (`anchor revoke` finishes them)"
            ) from error
