"""The root ``anchor`` group: global options, error reporting and exit codes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from anchor import __version__
from anchor.cli.context import AppContext
from anchor.cli.terminal import echo, printable
from anchor.errors import AnchorError, InvalidInputError

#: Exit codes: 0 success, 1 a refusal or failure (chain, contract, verification), 2 unusable input.
EXIT_FAILURE = 1
EXIT_INVALID_INPUT = 2


class AnchorGroup(click.Group):
    """A click group that turns :class:`AnchorError` into a one-line message and an exit code.

    Commands are registered by import path (:meth:`add_lazy`) and imported when invoked or listed, so
    ``anchor verify`` does not load the operator commands' dependencies.
    """

    lazy: dict[str, str]

    def add_lazy(self, name: str, target: str) -> None:
        """Register command ``name`` as ``module:attribute``, imported on first use."""
        self.lazy = {**getattr(self, "lazy", {}), name: target}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *getattr(self, "lazy", {})})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = getattr(self, "lazy", {}).get(cmd_name)
        if target is not None and cmd_name not in self.commands:
            import importlib

            module, attribute = target.split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except AnchorError as error:
            echo(f"{click.style('error:', fg='red', bold=True)} {printable(error, keep_lines=True)}", err=True)
            sys.exit(EXIT_INVALID_INPUT if isinstance(error, InvalidInputError) else EXIT_FAILURE)


@click.group(cls=AnchorGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="anchor")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ANCHOR_HOME",
    help="Data directory (node state, deployments, keys, database, receipts). Default: .anchor; for verify "
    "and serve: $XDG_CONFIG_HOME/anchor or ~/.config/anchor, never the current directory's .anchor.",
)
@click.pass_context
def main(ctx: click.Context, home: Path | None) -> None:
    """anchor: tamper-proof EU micro-credentials, anchored in Merkle batches on Polygon.

    \b
    Operators:  anchor node start; anchor deploy; anchor issuer register ...
    Issuers:    anchor issue FILES; anchor batch run; anchor revoke ...
    Verifiers:  anchor verify RECEIPT --rpc URL

    Every command that talks to a chain takes --network (local, amoy, polygon) and --rpc URL,
    and checks that the endpoint's chain id is the network's. Configuration comes from
    ANCHOR_HOME/config.toml and ANCHOR_* variables; see `anchor config show`.
    """
    ctx.obj = AppContext(home=home)
