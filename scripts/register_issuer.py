"""Register an issuer with its signer keys (admin only).

    ape run register_issuer --network ethereum:local:node --account TEST::0 \
        --name "Universität Heidelberg" --country DE --uri did:web:uni-heidelberg.de --signer 0x7099...
"""

import click
from ape.cli import ConnectedProviderCommand, account_option

from anchor.frameworks.ape_support import connect, reported_errors, send


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--name", required=True, help="Name of the awarding body.")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 code, e.g. DE.")
@click.option("--uri", required=True, help="The issuer identifier (DID or https URL) its credentials carry.")
@click.option("--signer", "signers", multiple=True, help="Signer key address (repeatable).")
def cli(account, name, country, uri, signers):
    """Register an issuer with its signer keys; prints the new issuer id."""
    with reported_errors():
        operator = connect(account)
        receipt = send(operator, account, operator.registration(name, country, uri, signers))
        issuer_id = operator.registered_issuer(receipt)
    click.echo(f"issuer {issuer_id} registered in tx {receipt['transactionHash'].to_0x_hex()}")
