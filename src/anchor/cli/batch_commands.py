"""Issuer commands: ``anchor batch run | list | show``, ``anchor receipt``, ``anchor revoke``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from anchor.chain.registry_abi import REVOCATION_REASONS
from anchor.cli.context import AppContext, app_context, chain_options
from anchor.cli.output import console, err_console, safe, show_fields
from anchor.errors import InvalidInputError
from anchor.files import write_private_text
from anchor.issuing.batch import BatchSummary, Hook, confirmations
from anchor.issuing.service import IssuerService, Revoked
from anchor.issuing.store import BatchRecord, Store
from anchor.networks import is_public_chain

#: Batches of at most this many credentials by default (a tree of 2**20 leaves: proofs of 20 hashes).
DEFAULT_MAX_SIZE = 1 << 20


def _service(app: AppContext, receipts: Path | None = None, hook: Hook | None = None) -> IssuerService:
    registry = app.registry()
    _sign_as_demo_issuer(app, registry.address)
    return IssuerService.open(
        app.settings,
        registry,
        app.signer(),
        receipts_dir=receipts,
        max_fee_ceiling_wei=app.max_fee_ceiling_wei,
        hook=hook,
    )


def _sign_as_demo_issuer(app: AppContext, registry: str) -> None:
    """After `anchor demo`, sign as its issuer (not as account 0, the admin) unless --key or --dev-account says."""
    if app.settings.key or app.dev_account is not None or is_public_chain(app.chain.chain_id):
        return
    from anchor.demo.issuer_key import record_path, recorded_demo_account

    index = recorded_demo_account(app.settings.resolved_home, app.chain.chain_id, registry)
    if index is not None:
        app.dev_account = index
        where = record_path(app.settings.resolved_home, app.chain.chain_id)
        err_console.print(f"signing with development account {index}, the demo issuer's ({safe(where)})")


@click.group()
def batch() -> None:
    """The nightly batch: anchor queued credentials, list and show batches."""


@batch.command("run")
@chain_options
@click.option(
    "--max-size",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_SIZE,
    show_default=True,
    help="Most credentials in one batch (one tree, one transaction).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for receipts (default ANCHOR_HOME/receipts); one file per credential.",
)
@click.option(
    "--share",
    "share_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each learner's badge, QR code, links and how-to-verify page here (as `anchor share`), "
    "one folder per learner.",
)
@click.option(
    "--base-url",
    default="http://127.0.0.1:8000/",
    show_default=True,
    metavar="URL",
    help="With --share: the verification page the links and QR codes point to.",
)
def run(max_size: int, out: Path | None, share_dir: Path | None, base_url: str) -> None:
    """Anchor every queued credential; resume whatever an interrupted run left.

    \b
    Each batch: build the Merkle tree and store it (built), sign the transaction and store
    it (signed), broadcast (sent), wait for the receipt and the finality policy (ANCHOR_FINALITY,
    default: the finalized block), write one receipt per credential, mark it anchored.
    Safe to run again after a crash at any point: nothing is lost or anchored twice.
    """
    app = app_context()
    started = time.monotonic()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as progress:
        phase = progress.add_task("waiting", total=None)

        def hook(transition: str, record: BatchRecord) -> None:
            messages = {
                "built": f"batch {record.id}: tree of {record.size} built, root {record.root}",
                "signed": f"batch {record.id}: transaction signed and stored",
                "sent": f"batch {record.id}: broadcast, waiting for its block",
                "mined": f"batch {record.id}: in a block, waiting for {app.settings.finality}",
                "confirmed": f"batch {record.id}: final in block {record.block_number}; writing receipts",
                "anchored": f"batch {record.id}: anchored as on-chain batch {record.onchain_batch_id}",
            }
            progress.console.print(f"  {messages.get(transition, transition)}")
            progress.update(phase, description=transition, total=None)

        service = _service(app, out, hook)

        def receipts(done: int, total: int) -> None:
            if done == 1 or done == total or done % 1000 == 0:
                progress.update(phase, description="receipts", completed=done, total=total)

        service.on_receipt_progress = receipts
        summaries = service.run(max_size)
    _summary(summaries, time.monotonic() - started, app)
    if share_dir is not None:
        from anchor.sharing.share import share_receipts

        # Each batch's folder of receipt files, or its archive (a very large batch); one call: no two learners
        # share a folder.
        shared = share_receipts([summary.receipts for summary in summaries], share_dir, base_url)
        console.print(f"[green]✓[/] {len(shared)} learner folder(s) to share in {safe(share_dir)}")


def _summary(summaries: list[BatchSummary], seconds: float, app: AppContext) -> None:
    if not summaries:
        console.print("nothing queued: issue credentials with `anchor issue FILES` first")
        return
    currency = app.chain.network.currency
    table = Table("batch", "on chain", "credentials", "tx", "block", "gas", f"fee ({currency})", "receipts")
    for s in summaries:
        table.add_row(
            str(s.batch_id),
            str(s.onchain_batch_id) + (" (found on chain)" if s.adopted else ""),
            str(s.size),
            s.tx_hash,
            str(s.block_number),
            f"{s.gas_used:,}",
            f"{s.fee_wei / 10**18:.6f}",
            str(s.receipts),
        )
    console.print(table)
    total = sum(s.size for s in summaries)
    console.print(f"[green]✓[/] {total} credentials anchored in {len(summaries)} batch(es) in {seconds:.1f} s")


@batch.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Most recent batches shown.")
def list_batches(limit: int) -> None:
    """List batches: state, size, root, transaction, block."""
    store = Store.open(app_context().settings)
    table = Table("id", "state", "size", "root", "on chain", "tx", "block")
    for record in store.list_batches(limit):
        table.add_row(
            str(record.id),
            record.state,
            str(record.size),
            record.root,
            str(record.onchain_batch_id or "-"),
            record.tx_hash or "-",
            str(record.block_number or "-"),
        )
    console.print(table)


@batch.command("show")
@chain_options
@click.argument("batch_id", type=click.IntRange(min=1))
def show(batch_id: int) -> None:
    """Show one batch, with its confirmations on the chain when it is anchored."""
    app = app_context()
    record = Store.open(app.settings).get_batch(batch_id)
    fields: dict[str, Any] = {
        "state": record.state,
        "size": record.size,
        "root": record.root,
        "chain": record.chain_id,
        "registry": record.registry,
        "signer": record.signer,
        "on-chain batch": record.onchain_batch_id,
        "tx": record.tx_hash,
        "block": record.block_number,
        "gas used": record.gas_used,
    }
    depth = confirmations(app.chain, record)
    if depth is not None:
        fields["confirmations"], fields["finalized"] = depth
    show_fields(f"batch {batch_id}", fields)


@click.command()
@chain_options
@click.argument("credential_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of stdout.")
def receipt(credential_id: str, out: Path | None) -> None:
    """Export the receipt of an anchored credential from the issuer database."""
    document = _service(app_context()).export_receipt(credential_id)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        write_private_text(out, text)  # personal data: 0600
        console.print(f"wrote {out}")


@click.command()
@chain_options
@click.argument("receipts", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch", "batch_id", type=click.IntRange(min=1), help="On-chain batch id (instead of receipts).")
@click.option("--index", "indices", type=click.IntRange(min=0), multiple=True, help="Index in --batch (repeatable).")
@click.option("--reason", type=click.Choice(sorted(REVOCATION_REASONS)), required=True, help="Why.")
def revoke(receipts: tuple[Path, ...], batch_id: int | None, indices: tuple[int, ...], reason: str) -> None:
    """Revoke credentials: by their RECEIPTS, or --batch ID with --index I... (no --index: the whole batch).

    Credentials of one batch are revoked together, split into transactions that stay under a gas
    budget when they are many and sparse. Permanent. An interrupted revocation is finished by the
    next `anchor revoke` run.
    """
    app = app_context()
    if receipts and (batch_id is not None or indices):
        raise InvalidInputError("give receipts, or --batch with --index, not both")
    if not receipts and batch_id is None:
        raise InvalidInputError("nothing to revoke: give receipt files, or --batch ID")
    service = _service(app)
    for tx_hash in service.resume_revocations():
        console.print(f"finished an interrupted revocation: tx {tx_hash}")
    code = REVOCATION_REASONS[reason]
    if receipts:
        revoked = service.revoke_receipts(receipts, code)
    elif indices:
        revoked = [Revoked(batch_id or 0, len(indices), service.revoke(batch_id or 0, indices, code))]
    else:
        tx_hash = service.revoke_batch(batch_id or 0, code)
        console.print(f"[green]✓[/] batch {batch_id} revoked ({reason}) in tx {tx_hash}")
        revoked = []
    for done in revoked:
        console.print(
            f"[green]✓[/] {done.count} credential(s) of batch {done.onchain_batch_id} revoked ({reason}) in "
            f"{len(done.tx_hashes)} transaction(s): {', '.join(done.tx_hashes)}"
        )
    from anchor.cli.status_commands import after_revocation  # the status lists that standard wallets read

    after_revocation(app)
