"""Deploy the credential registry with an ape account and record it for anchor.

    ape run deploy --network ethereum:local:node --account TEST::0        # the local anvil node
    ape run deploy --network polygon:amoy:node --account my-key --admin 0xSAFE... --admin-delay 172800

Deploys the committed artifact (what `anchor build --check` proves the sources compile to) and records it in
ANCHOR_HOME/deployments/<chain-id>.json, where the `anchor` CLI and the other scripts find it.
"""

import click
from ape.cli import ConnectedProviderCommand, account_option

from anchor.frameworks.ape_support import connect, reported_errors, send


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--admin", help="Initial admin address (default: the deploying account).")
@click.option("--admin-delay", type=int, default=0, show_default=True, help="Admin transfer delay in seconds.")
@click.option("--force", is_flag=True, help="Deploy even if a registry is recorded for this chain.")
def cli(account, admin, admin_delay, force):
    """Deploy CredentialRegistry from anchor's committed artifact."""
    with reported_errors():
        operator = connect(account)
        admin = admin or account.address
        receipt = send(operator, account, operator.deployment(admin, admin_delay, force=force))
        record = operator.record_deployment(receipt, account.address, admin, admin_delay)
    click.echo(f"CredentialRegistry deployed at {receipt['contractAddress']}, recorded in {record}")
