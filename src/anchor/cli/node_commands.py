"""``anchor node start | stop | status``: the local anvil chain."""

from __future__ import annotations

import click

from anchor.cli.context import app_context
from anchor.cli.output import console, show_fields


@click.group()
def node() -> None:
    """Run the local chain: anvil from the npm package @foundry-rs/anvil, on 127.0.0.1 only.

    State persists under ANCHOR_HOME/node, so a restart keeps deployed contracts and batches.
    Blocks come every second with one slot per epoch, so the `finalized` block the issuer waits
    for trails the head by about two blocks.
    """


@node.command("start")
@click.option("--port", type=click.IntRange(1, 65535), help="Port on 127.0.0.1 (default 8545, or ANCHOR_NODE_PORT).")
@click.option(
    "--chain-id", type=click.IntRange(min=1), default=31337, show_default=True, help="Chain id the node reports."
)
def start(port: int | None, chain_id: int) -> None:
    """Start the local chain in the background (harmless if it already runs)."""
    from anchor.chain import node as local_node

    app = app_context()
    app.overrides["node_port"] = port
    state = local_node.start(app.settings, chain_id=chain_id)
    _show(state)


@node.command("stop")
@click.option("--port", type=click.IntRange(1, 65535), help="Port on 127.0.0.1 (default 8545, or ANCHOR_NODE_PORT).")
def stop(port: int | None) -> None:
    """Stop the local chain; its state is written to disk first."""
    from anchor.chain import node as local_node

    app = app_context()
    app.overrides["node_port"] = port
    if local_node.stop(app.settings):
        console.print("local chain stopped")
    else:
        console.print("no local chain was running")


@node.command("status")
@click.option("--port", type=click.IntRange(1, 65535), help="Port on 127.0.0.1 (default 8545, or ANCHOR_NODE_PORT).")
def status(port: int | None) -> None:
    """Say whether the local chain runs, with its RPC URL, chain id and block height."""
    from anchor.chain import node as local_node

    app = app_context()
    app.overrides["node_port"] = port
    _show(local_node.status(app.settings))


def _show(state: object) -> None:
    fields = {name: getattr(state, name) for name in getattr(state, "__dataclass_fields__", {})}
    show_fields("local chain", fields)
