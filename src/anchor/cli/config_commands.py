"""``anchor config show``: the effective configuration, secrets masked."""

from __future__ import annotations

import inspect
import json

import click

from anchor.cli.context import app_context, chain_options
from anchor.cli.output import console, show_fields
from anchor.config import ENV_VARIABLES


@click.group()
def config() -> None:
    """Show the configuration (ANCHOR_HOME/config.toml, ANCHOR_* variables, options)."""


@config.command("show")
@chain_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def show(as_json: bool) -> None:
    """Print the effective configuration; passwords and URL credentials are masked.

    \b
    Sources, highest first: options, environment variables, ANCHOR_HOME/config.toml, defaults.
    """
    shown = app_context().settings.shown()
    if as_json:
        console.print_json(json.dumps(shown))
    else:
        show_fields("anchor configuration", shown)


# Derived from the settings table (anchor.config.Settings): one variable per setting.
show.help = inspect.cleandoc(show.help or "") + "\n\nVariables: " + ", ".join(ENV_VARIABLES)
