"""Registry governance with an ape account: signer keys, issuer state, pausing, admin transfer.

ape run govern --network ethereum:local:node --account TEST::0 add-signer 1 0x3C44...
ape run govern ... remove-signer 0x3C44...        (admin, or a signer of the same issuer)
ape run govern ... deactivate 1 | reactivate 1
ape run govern ... pause | unpause
ape run govern ... transfer-admin 0xNEW...       (the new admin accepts after the admin delay)
ape run govern --account NEW ... accept-admin
"""

import click
from ape.cli import ConnectedProviderCommand, account_option

from anchor.addresses import checked_address
from anchor.frameworks.ape_support import connect, reported_errors, send


def issuer_id(text):
    """An issuer id: a positive integer."""
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise click.BadParameter(f"{text!r} is not an issuer id (1, 2, ...)")
    return int(text)


#: action -> (registry function, converters of its arguments)
ACTIONS = {
    "add-signer": ("addSigner", (issuer_id, checked_address)),
    "remove-signer": ("removeSigner", (checked_address,)),
    "deactivate": ("deactivateIssuer", (issuer_id,)),
    "reactivate": ("reactivateIssuer", (issuer_id,)),
    "pause": ("pause", ()),
    "unpause": ("unpause", ()),
    "transfer-admin": ("beginDefaultAdminTransfer", (checked_address,)),
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
        values = [convert(text) for convert, text in zip(converters, args, strict=True)]
        operator = connect(account)
        receipt = send(operator, account, operator.governance(function, *values))
    click.echo(f"{action} done in tx {receipt['transactionHash'].to_0x_hex()}")
