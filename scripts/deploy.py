"""Deploy the credential registry with an ape account and record it for anchor.

    ape run deploy --network ethereum:local:node --account TEST::0        # the local anvil node
    ape run deploy --network polygon:amoy:node --account my-key --admin 0xSAFE... --admin-delay 172800

The deployment is recorded in ANCHOR_HOME/deployments/<chain-id>.json, where the `anchor` CLI finds it.
"""

import click
from ape.cli import ConnectedProviderCommand, account_option

from anchor.chain.ape_support import deploy_registry, reported_errors


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--admin", help="Initial admin address (default: the deploying account).")
@click.option("--admin-delay", type=int, default=0, show_default=True, help="Admin transfer delay in seconds.")
@click.option("--force", is_flag=True, help="Deploy even if a registry is recorded for this chain.")
def cli(account, admin, admin_delay, force):
    """Deploy CredentialRegistry from anchor's committed artifact."""
    with reported_errors():
        instance = deploy_registry(account, admin or account.address, admin_delay, force=force)
    click.echo(f"CredentialRegistry deployed at {instance.address}")
