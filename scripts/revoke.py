"""Revoke credentials or a whole batch with an ape account (a signer key of the batch's issuer). Permanent.

    ape run revoke --network ethereum:local:node --account TEST::1 --reason fraud RECEIPT.json ...
    ape run revoke ... --reason issued-in-error --batch 4 --index 17 --index 18
    ape run revoke ... --reason key-compromise --batch 4                 # no --index: the whole batch

Many credentials of one batch are split into transactions under the gas budget, as `anchor revoke` does.
Reasons: unspecified, issued-in-error, fraud, superseded, key-compromise, withdrawn.
"""

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand, account_option

from anchor.chain.registry_abi import REVOCATION_REASONS
from anchor.errors import InvalidInputError
from anchor.frameworks.ape_support import connect, reported_errors, send


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("receipts", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch", "batch_id", type=click.IntRange(min=1), help="On-chain batch id (instead of receipts).")
@click.option("--index", "indices", type=click.IntRange(min=0), multiple=True, help="Index in --batch (repeatable).")
@click.option("--reason", type=click.Choice(sorted(REVOCATION_REASONS)), required=True, help="Why.")
def cli(account, receipts, batch_id, indices, reason):
    """Revoke credentials by their RECEIPTS, or --batch ID with --index I... (no --index: the whole batch)."""
    with reported_errors():
        if receipts and (batch_id is not None or indices):
            raise InvalidInputError("give receipts, or --batch with --index, not both")
        if not receipts and batch_id is None:
            raise InvalidInputError("nothing to revoke: give receipt files, or --batch ID")
        operator = connect(account)
        plan = operator.receipts_to_revoke(receipts) if receipts else {batch_id: list(indices)}
        for batch, chosen in sorted(plan.items()):
            for transaction in operator.revocations(batch, chosen, reason):
                send(operator, account, transaction)
            what = f"{len(chosen)} credential(s) of batch {batch}" if chosen else f"batch {batch}"
            click.echo(f"revoked {what} ({reason})")
