"""``anchor deliver --batch ID [--to-dir DIR]``: send each learner of an anchored batch their credential."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from anchor.cli.context import app_context, chain_options
from anchor.cli.output import console, err_console, safe
from anchor.errors import InvalidInputError
from anchor.issuing import delivery
from anchor.issuing.store import DeliveryItem, Store
from anchor.sharing.share import delivery_files


@click.command()
@chain_options
@click.option("--batch", "batch_id", type=click.IntRange(min=1), required=True, help="The batch (`anchor batch list`).")
@click.option(
    "--to-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a folder of files for every learner here instead of sending e-mail.",
)
@click.option(
    "--base-url",
    default="http://127.0.0.1:8000/",
    show_default=True,
    metavar="URL",
    help="The verification page the link sent with each credential points to (where `anchor serve` runs).",
)
def deliver(batch_id: int, to_dir: Path | None, base_url: str) -> None:
    """Send each learner of an anchored batch their credential.

    \b
    Learners whose roster row gave an e-mail address get a short message in the
    credential's language with the receipt attached, through the configured SMTP server
    (smtp_host, smtp_port, smtp_security, smtp_user, smtp_from, smtp_rate_per_minute;
    password from ANCHOR_SMTP_PASSWORD, ANCHOR_SMTP_PASSWORD_FILE or the prompt). The others
    get a folder of their files under ANCHOR_HOME/deliveries. Each learner also gets the
    baked badge (badge.png, the receipt inside) and the verification link (--base-url). Every delivery is recorded: run
    it again to send only what was not sent. A refused recipient is reported and the others
    go on; exit code 1 if any was refused.
    """
    app = app_context()
    settings = app.settings
    store = Store.open(settings)
    batch = store.get_batch(batch_id)
    if batch.state != "anchored":
        raise InvalidInputError(f"batch {batch_id} is {batch.state}, not anchored: run `anchor batch run` first")
    from anchor.chain.registry import Registry

    issuer_id = delivery.batch_issuer_id(Registry.at(app.chain, batch.registry), batch)
    folder = to_dir or settings.resolved_home / "deliveries" / str(batch.chain_id) / f"batch-{batch.onchain_batch_id}"
    config = None if to_dir else delivery.SmtpConfig.from_settings(settings, _password)
    mailer = delivery.Mailer(config) if config is not None else None

    def delivered(item: DeliveryItem, where: str, error: str | None) -> None:
        if error is not None:
            err_console.print(f"[bold red]not delivered:[/] {safe(item.credential_id)} to {safe(where)}: {safe(error)}")

    try:
        summary = delivery.deliver(
            store,
            batch,
            issuer_id,
            folder,
            mailer=mailer,
            everyone_to_folder=to_dir is not None,
            on_delivered=delivered,
            extras=lambda receipt: delivery_files(receipt, base_url),
        )
    finally:
        if mailer is not None:
            mailer.close()
    mark = "[red]✗[/]" if summary.failures else "[green]✓[/]"
    console.print(
        f"{mark} batch {batch_id}: e-mailed {summary.emailed}, folders {summary.folders} (in {safe(folder)}), "
        f"delivered before {summary.already}, refused {len(summary.failures)}",
        highlight=False,
    )
    if summary.failures:
        raise delivery.DeliveryError(
            f"{len(summary.failures)} learner(s) not reached (each recorded with the server's reply): "
            "fix the addresses and re-import the roster, or run `anchor deliver` again to retry"
        )


def _password() -> str:
    """The SMTP password: environment, file, or (at a terminal) the prompt."""
    from anchor.chain.keys import read_password

    settings = app_context().settings
    secret = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    if secret is None and settings.smtp_password_file is None and not sys.stdin.isatty():
        raise InvalidInputError(
            f"no password for SMTP user {settings.smtp_user!r}: set ANCHOR_SMTP_PASSWORD or ANCHOR_SMTP_PASSWORD_FILE"
        )
    return read_password(
        secret,
        settings.smtp_password_file,
        lambda: str(click.prompt(f"SMTP password for {settings.smtp_user} at {settings.smtp_host}", hide_input=True)),
    )
