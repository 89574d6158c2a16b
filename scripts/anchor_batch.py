"""Anchor a batch built by `anchor` with an ape account (a signer key of the batch's issuer).

    ape run anchor_batch --network polygon:amoy:node --account issuer-ledger --batch 3     # issuer database
    ape run anchor_batch --network ethereum:local:node --account TEST::1 --dump tree.json  # a tree dump

--batch takes a batch the issuer database (ANCHOR_HOME, ANCHOR_DATABASE_URL) holds as `built` for this chain
and registry (say, one a spending budget stopped before it was signed); `anchor batch run` then finds its
root on chain, adopts it and writes the receipts. --dump takes a standard-v1 tree dump of anchor's credential
leaves (bytes32 digest, uint256 index), each credential at its own index. Both are checked in full first.
"""

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand, account_option

from anchor.errors import InvalidInputError
from anchor.frameworks.ape_support import connect, reported_errors, send
from anchor.frameworks.operations import batch_from_dump, batch_from_store


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--batch", "batch_id", type=click.IntRange(min=1), help="A built batch of the issuer database.")
@click.option("--dump", type=click.Path(dir_okay=False, path_type=Path), help="A standard-v1 tree dump (JSON).")
def cli(account, batch_id, dump):
    """Anchor the root of one batch; prints the on-chain batch id."""
    with reported_errors():
        if (batch_id is None) == (dump is None):
            raise InvalidInputError("give --batch ID (the issuer database) or --dump FILE (a tree dump), one of them")
        operator = connect(account)
        if dump is not None:
            batch = batch_from_dump(dump)
        else:
            batch = batch_from_store(operator.settings, batch_id, operator.chain.chain_id, operator.registry.address)
        click.echo(f"{batch.source}: {batch.size} credential(s), root {batch.root}")
        receipt = send(operator, account, operator.anchoring(batch, account.address))
        onchain = operator.anchored_batch(receipt, batch, account.address)
    click.echo(f"anchored as on-chain batch {onchain}")
    if batch_id is not None:
        click.echo("`anchor batch run` finds it on chain, adopts it and writes its receipts")
