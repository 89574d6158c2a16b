"""Registry governance with an ape account: signer keys, issuer state, pausing, admin transfer.

ape run govern --network ethereum:local:node --account TEST::0 add-signer 1 0x3C44...
ape run govern ... remove-signer 0x3C44...        (admin, or a signer of the same issuer)
ape run govern ... deactivate 1 | reactivate 1
ape run govern ... pause | unpause
ape run govern ... transfer-admin 0xNEW... | accept-admin
"""

import click
from ape.cli import ConnectedProviderCommand, account_option

from anchor.chain.ape_support import reported_errors, transact

#: action -> (registry function, converters of its arguments)
ACTIONS = {
    "add-signer": ("addSigner", (int, str)),
    "remove-signer": ("removeSigner", (str,)),
    "deactivate": ("deactivateIssuer", (int,)),
    "reactivate": ("reactivateIssuer", (int,)),
    "pause": ("pause", ()),
    "unpause": ("unpause", ()),
    "transfer-admin": ("beginDefaultAdminTransfer", (str,)),
    "accept-admin": ("acceptDefaultAdminTransfer", ()),
}


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("action", type=click.Choice(sorted(ACTIONS)))
@click.argument("args", nargs=-1)
def cli(account, action, args):
    """Run one governance ACTION on the recorded registry."""
    function, converters = ACTIONS[action]
    if len(args) != len(converters):
        raise click.UsageError(f"{action} takes {len(converters)} argument(s), got {len(args)}")
    with reported_errors():
        receipt = transact(account, function, *(convert(a) for convert, a in zip(converters, args, strict=True)))
    click.echo(f"{action} done in tx {receipt.txn_hash}")
