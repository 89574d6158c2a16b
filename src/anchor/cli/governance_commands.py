"""Operator commands: ``anchor deploy``, ``anchor issuer ...``, ``anchor admin ...``."""

from __future__ import annotations

import datetime as dt

import click
from rich.table import Table

from anchor.addresses import checked_address
from anchor.chain.connection import receipt_summary
from anchor.chain.deployments import refuse_redeployment
from anchor.chain.registry import Registry
from anchor.cli.context import app_context, chain_options
from anchor.cli.output import console, safe, show_transaction
from anchor.config import Settings
from anchor.did_syntax import DID_KEY_PREFIX, DID_WEB_PREFIX, check_issuer_did
from anchor.errors import InvalidInputError
from anchor.issuing.signing_keys import configured_issuer_did
from anchor.networks import is_public_chain

#: Default wait before a new admin may accept the role on public chains (two days).
PUBLIC_ADMIN_DELAY = 2 * 24 * 3600


class AddressType(click.ParamType):
    """An Ethereum address, returned checksummed; a mixed-case one must carry a valid EIP-55 checksum."""

    name = "ADDRESS"

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return checked_address(value)
        except InvalidInputError as error:  # not an address, or a mistyped one: never re-checksum it
            self.fail(str(error), param, ctx)


ADDRESS = AddressType()


@click.command()
@chain_options
@click.option("--admin", type=ADDRESS, help="Initial admin (a multisig on public networks). Default: the deployer.")
@click.option(
    "--admin-delay",
    type=click.IntRange(0, 2**48 - 1),
    help="Seconds a new admin waits before accepting the role. "
    f"Default: 0 locally, {PUBLIC_ADMIN_DELAY} on public chains.",
)
@click.option("--force", is_flag=True, help="Deploy even though a registry is recorded for this chain (replaces it).")
def deploy(admin: str | None, admin_delay: int | None, force: bool) -> None:
    """Deploy the registry from the committed artifacts and record it.

    The record (chain id, address, block, deployer, artifact hash) goes to
    ANCHOR_HOME/deployments/<chain-id>.json; later commands find the registry there.
    """
    app = app_context()
    chain = app.chain
    refuse_redeployment(app.settings.deployments_dir, chain.chain_id, force)
    account = app.signer()
    delay = admin_delay if admin_delay is not None else (PUBLIC_ADMIN_DELAY if is_public_chain(chain.chain_id) else 0)
    admin_address = admin or account.address
    console.print(f"deploying CredentialRegistry on chain {chain.chain_id} ({chain.shown_url}) from {account.address}")
    registry, receipt, path = Registry.deploy_and_record(
        chain,
        account,
        admin_address,
        delay,
        app.settings.deployments_dir,
        force=force,
        max_fee_ceiling_wei=app.max_fee_ceiling_wei,
    )
    show_transaction(f"registry deployed at [bold]{registry.address}[/]", receipt_summary(chain, receipt))
    console.print(f"  admin {admin_address}, transfer delay {delay} s; recorded in {path}")


@click.group()
def issuer() -> None:
    """Register issuers and manage their signer keys (admin), list them (anyone)."""


@issuer.command("register")
@chain_options
@click.option("--name", required=True, help="Name of the awarding body, e.g. 'Universität Heidelberg'.")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 country code, e.g. DE.")
@click.option(
    "--uri",
    metavar="DID",
    help="The issuer's identifier: its DID (did:web:example.edu, or did:key:z6Mk... for local use), which its "
    "credentials carry as issuer.id and whose key signs them. Default: this home's DID (`anchor did show`).",
)
@click.option("--signer", "signers", type=ADDRESS, multiple=True, help="A signer key address (repeatable).")
def register(name: str, country: str, uri: str | None, signers: tuple[str, ...]) -> None:
    """Register an issuer (admin only); prints its id. An identifier (--uri) belongs to one issuer only.

    The identifier is the issuer's DID: the registry records it, and a verifier accepts a credential only when
    the DID that signed it is the one recorded for the batch. It cannot be changed later.
    """
    app = app_context()
    uri = _issuer_identifier(app.settings, uri)
    registry = app.registry()
    holder = registry.issuer_id_of(uri)
    if holder:
        held = registry.issuer(holder)
        state = "active" if held.active else f"deactivated {_when(held.deactivated_at)}"
        raise InvalidInputError(
            f"issuer {holder}, {held.name} ({held.country}, {state}), is registered with the identifier {uri!r} "
            "already; the registry refuses a second issuer with the same identifier (nothing was sent)"
        )
    issuer_id, receipt = registry.register_issuer(app.signer(), name, country.upper(), uri, signers)
    show_transaction(
        f"issuer [bold]{issuer_id}[/] registered: {safe(name)} ({safe(country.upper())}, {safe(uri)})",
        receipt_summary(app.chain, receipt),
    )


def _issuer_identifier(settings: Settings, uri: str | None) -> str:
    """``--uri``, a did:web or did:key one checked strictly; without it, the DID of this home's issuer keys."""
    if uri is None:
        configured = configured_issuer_did(settings)
        if configured is None:
            raise click.UsageError(
                "give the issuer's DID with --uri (this home has no issuer DID: `anchor did key create` makes one)"
            )
        return configured
    if uri.startswith((DID_WEB_PREFIX, DID_KEY_PREFIX)):
        return check_issuer_did(uri, what="--uri")
    return uri


@issuer.command("add-signer")
@chain_options
@click.argument("issuer_id", type=click.IntRange(min=1))
@click.argument("address", type=ADDRESS)
def add_signer(issuer_id: int, address: str) -> None:
    """Allow key ADDRESS to anchor and revoke for ISSUER_ID (admin only)."""
    _send("addSigner", [issuer_id, address], f"signer {address} added to issuer {issuer_id}")


@issuer.command("remove-signer")
@chain_options
@click.argument("address", type=ADDRESS)
def remove_signer(address: str) -> None:
    """Remove key ADDRESS (admin, or a signer of the same issuer). Its earlier batches stay valid."""
    _send("removeSigner", [address], f"signer {address} removed")


@issuer.command("deactivate")
@chain_options
@click.argument("issuer_id", type=click.IntRange(min=1))
def deactivate(issuer_id: int) -> None:
    """Deactivate ISSUER_ID (admin only): no anchoring, and its credentials stop verifying."""
    _send("deactivateIssuer", [issuer_id], f"issuer {issuer_id} deactivated")


@issuer.command("reactivate")
@chain_options
@click.argument("issuer_id", type=click.IntRange(min=1))
def reactivate(issuer_id: int) -> None:
    """Reactivate ISSUER_ID (admin only)."""
    _send("reactivateIssuer", [issuer_id], f"issuer {issuer_id} reactivated")


@issuer.command("list")
@chain_options
def list_issuers() -> None:
    """List registered issuers with their signer keys."""
    app = app_context()
    registry = app.registry()
    table = Table("id", "name", "country", "uri", "state", "signers")
    for info in registry.issuers():
        keys = [
            f"{s.address}{'' if s.active else ' (removed ' + _when(s.removed_at) + ')'}"
            for s in registry.signers_of(info.issuer_id)
        ]
        state = "active" if info.active else f"deactivated {_when(info.deactivated_at)}"
        table.add_row(
            str(info.issuer_id), safe(info.name), safe(info.country), safe(info.uri), state, "\n".join(keys) or "-"
        )
    console.print(table)


def _send(function: str, args: list[object], done: str) -> None:
    """Send registry ``function(*args)`` from the signing key and show the mined transaction."""
    app = app_context()
    registry = app.registry()
    receipt = registry.govern(app.signer(), function, *args, max_fee_ceiling_wei=app.max_fee_ceiling_wei)
    show_transaction(done, receipt_summary(app.chain, receipt))


def _when(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@click.group()
def admin() -> None:
    """Registry governance by the admin: pause, unpause, delayed admin transfer."""


@admin.command("pause")
@chain_options
def pause() -> None:
    """Stop all anchoring (revocation and reads keep working)."""
    _send("pause", [], "registry paused")


@admin.command("unpause")
@chain_options
def unpause() -> None:
    """Resume anchoring."""
    _send("unpause", [], "registry unpaused")


@admin.command("transfer")
@chain_options
@click.argument("new_admin", type=ADDRESS)
def transfer(new_admin: str) -> None:
    """Start handing the admin role to NEW_ADMIN; it accepts after the delay with `anchor admin accept`."""
    app = app_context()
    registry = app.registry()
    receipt = registry.govern(
        app.signer(), "beginDefaultAdminTransfer", new_admin, max_fee_ceiling_wei=app.max_fee_ceiling_wei
    )
    show_transaction(
        f"admin transfer to {new_admin} started; it can accept from {_when(registry.admin_status().pending_from)}",
        receipt_summary(app.chain, receipt),
    )


@admin.command("accept")
@chain_options
def accept() -> None:
    """Accept a pending admin transfer (signed by the new admin, after the delay)."""
    _send("acceptDefaultAdminTransfer", [], f"{app_context().signer().address} is now the registry admin")


@admin.command("status")
@chain_options
def status() -> None:
    """Show the admin, a pending transfer, the delay and whether anchoring is paused."""
    app = app_context()
    state = app.registry().admin_status()
    pending = f"{state.pending_admin} from {_when(state.pending_from)}" if state.pending_admin else "-"
    console.print(f"admin    {state.admin}")
    console.print(f"delay    {state.delay} s")
    console.print(f"pending  {pending}")
    console.print(f"paused   {state.paused}")
