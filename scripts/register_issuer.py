"""Register an issuer (admin only).

    ape run register_issuer --network ethereum:local:node --account TEST::0 \
        --name "Universität Heidelberg" --country DE --uri did:web:uni-heidelberg.de --signer 0x7099...
"""

import click
from ape.cli import ConnectedProviderCommand, account_option

from anchor.chain.ape_support import reported_errors, transact


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--name", required=True, help="Name of the awarding body.")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 code, e.g. DE.")
@click.option("--uri", required=True, help="The issuer identifier (DID or https URL) its credentials carry.")
@click.option("--signer", "signers", multiple=True, help="Signer key address (repeatable).")
def cli(account, name, country, uri, signers):
    """Register an issuer with its signer keys; prints the new issuer id."""
    with reported_errors():
        receipt = transact(account, "registerIssuer", name, country.upper().encode(), uri, list(signers))
    (event,) = [log for log in receipt.events if log.event_name == "IssuerRegistered"]
    click.echo(f"issuer {event.issuerId} registered in tx {receipt.txn_hash}")
