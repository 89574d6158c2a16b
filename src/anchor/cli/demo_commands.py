"""``anchor demo``: the whole path on the local chain, in one command."""

from __future__ import annotations

import click

from anchor.cli.context import app_context
from anchor.cli.output import console


@click.command()
@click.option(
    "--count", type=click.IntRange(1, 1_000_000), default=1000, show_default=True, help="Credentials to issue."
)
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Port of the local chain (default 8545, or ANCHOR_NODE_PORT)."
)
def demo(count: int, port: int | None) -> None:
    """Issue, anchor, verify and revoke generated credentials on the local chain.

    Starts the local chain if needed, deploys the registry and registers a demo issuer (once),
    generates COUNT realistic EU micro-credentials, anchors their Merkle root in one transaction,
    checks some through the registry's status view, shows a tampered one and a revoked one failing,
    and writes the receipts under ANCHOR_HOME/receipts/. Uses the well-known development accounts:
    local chain only. The issuer's account (development account 1) is recorded in ANCHOR_HOME/demo/,
    so that `anchor batch run` and `anchor revoke` sign as the demo issuer afterwards.
    """
    from anchor.demo import run_demo

    app = app_context()
    app.overrides["node_port"] = port
    if app.settings.network != "local":
        raise click.UsageError("the demo runs on the local chain only")
    result = run_demo(app.settings, count, say=lambda text: console.print(f"  {text}"))
    console.print(
        f"[green]✓[/] demo done in {result.seconds:.1f} s: batch {result.batch_id} of {result.size} credentials, "
        f"root {result.root}; receipts in {result.receipts}"
    )
