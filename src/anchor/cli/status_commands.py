"""``anchor status publish``: the issuer-signed status lists (W3C Bitstring Status List) that mirror the chain."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from anchor.cli.context import AppContext, app_context
from anchor.cli.output import console, err_console, safe
from anchor.errors import AnchorError, InvalidInputError
from anchor.networks import NETWORKS

if TYPE_CHECKING:
    from anchor.issuing.signing_keys import IssuerSigner
    from anchor.issuing.status_lists import PublishedList


@click.group()
def status() -> None:
    """Status lists: how standard wallets and verifiers learn that a credential was revoked.

    \b
    Credentials issued while status_base_url is set carry a credentialStatus entry of a
    W3C Bitstring Status List at <status_base_url>/<n>.json. The chain stays the authority:
    `anchor status publish DIR` writes the lists as the registry says, signed by the
    issuer's DID key, for the issuer to upload to that URL after each revocation.
    """


@status.command("publish")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path), metavar="[DIR]")
@click.option(
    "--network",
    type=click.Choice(sorted(NETWORKS)),
    help="local (anvil, 31337), amoy (Polygon testnet, 80002) or polygon (Polygon PoS, 137). Default: local.",
)
@click.option("--rpc", "rpc_url", metavar="URL", help="JSON-RPC endpoint (default: the network's).")
@click.option(
    "--force",
    is_flag=True,
    help="Re-sign and write every list, also those that did not change, and those whose published entries this "
    "chain does not revoke (refused otherwise: revocation is permanent).",
)
def publish(folder: Path | None, network: str | None, rpc_url: str | None, force: bool) -> None:
    """Write the issuer's status lists into DIR (default: status_publish_dir) as the chain says.

    One file per list, named as the last segment of its URL (<n>.json); upload DIR's files to
    status_base_url. Each credential with a status entry that is anchored has its bit set when
    the registry says it, or its batch, is revoked (read at the issuer's finality). A list is
    re-signed and rewritten only when a bit changed. The signing key's password comes from
    ANCHOR_KEY_PASSWORD, ANCHOR_KEY_PASSWORD_FILE or a prompt.
    """
    app = app_context()
    app.overrides.update(network=network, rpc_url=rpc_url)
    target = folder or app.settings.status_publish_dir
    if target is None:
        raise InvalidInputError(
            "no folder to publish to: give DIR, or set status_publish_dir (ANCHOR_STATUS_PUBLISH_DIR)"
        )
    publish_lists(app, target, force=force)


def publish_lists(app: AppContext, folder: Path, *, force: bool = False) -> list[PublishedList]:
    """Publish the status lists into ``folder`` and print what changed (also called after ``anchor revoke``)."""
    from anchor.issuing.status_lists import configured_base_url, publish_configured

    configured_base_url(app.settings)  # before asking for the key's password
    published, chain = publish_configured(app.settings, _issuer_signer(app), folder, force=force)
    if not published:
        console.print(
            "no status lists in the issuer database: credentials get a status entry when status_base_url is set "
            "as they are issued"
        )
        return published
    if chain.pinned is not None:
        console.print(f"registry read at block {chain.pinned} ({safe(app.settings.finality)})")
    for item in published:
        _show(item)
    return published


def _show(item: PublishedList) -> None:
    where = f"list {item.number} ({safe(item.url)})"
    if item.written:
        news = ""
        if item.newly_revoked:
            shown = ", ".join(safe(name) for name in item.newly_revoked[:5])
            more = f" and {len(item.newly_revoked) - 5} more" if len(item.newly_revoked) > 5 else ""
            news = f"{len(item.newly_revoked)} newly revoked ({shown}{more}); "
        console.print(f"[green]✓[/] {where}: {news}{item.revoked} revoked in all; wrote {safe(item.path)}")
    else:
        console.print(f"= {where}: unchanged, {item.revoked} revoked; {safe(item.path)} left as it was")
    if item.cleared:
        shown = ", ".join(str(index) for index in item.cleared[:10])
        err_console.print(
            f"[yellow]warning:[/] {where}: the file had entries {shown} set that the chain does not revoke; "
            "rewritten as the chain says (was it another issuer's, or another chain's?)"
        )
    if item.not_final:
        err_console.print(
            f"note: {where}: {item.not_final} credential(s) in batches not final yet at that block (not revoked)"
        )


def _issuer_signer(app: AppContext) -> IssuerSigner:
    """The issuer's DID key, unlocked with the password from the environment, a file or a prompt."""
    from anchor.chain.keys import read_password
    from anchor.issuing.signing_keys import load_issuer_signer

    settings = app.settings
    password = read_password(
        settings.key_password.get_secret_value() if settings.key_password else None,
        settings.key_password_file,
        lambda: str(click.prompt("Password of the issuer's signing key", hide_input=True)),
    )
    return load_issuer_signer(settings, password)


def after_revocation(app: AppContext) -> None:
    """After ``anchor revoke``: publish the status lists to ``status_publish_dir``, or say how to."""
    settings = app.settings
    if settings.status_base_url is None:
        return
    if settings.status_publish_dir is None:
        console.print(
            f"standard wallets learn of revocations from the status lists at {safe(settings.status_base_url)}: "
            "run `anchor status publish DIR` and upload DIR there (or set status_publish_dir to publish "
            "after each revocation)"
        )
        return
    try:
        publish_lists(app, settings.status_publish_dir)
    except AnchorError as error:
        raise AnchorError(
            f"the revocation is final on the chain, but the status lists were not published: {error}; standard "
            "wallets learn of it once `anchor status publish` succeeds"
        ) from error
