"""``anchor key new | import | list``: encrypted signing keys under ANCHOR_HOME/keys."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from anchor.chain.keys import Keystore, read_password
from anchor.cli.context import app_context
from anchor.cli.output import console
from anchor.config import Settings
from anchor.errors import InvalidInputError


@click.group()
def key() -> None:
    """Create, import and list encrypted signing keys (never shown, never logged).

    A key's password comes from ANCHOR_KEY_PASSWORD, ANCHOR_KEY_PASSWORD_FILE, or a prompt.
    Select a key for a command with --key NAME or ANCHOR_KEY=NAME.
    """


def _new_password(settings: Settings) -> str:
    secret = settings.key_password.get_secret_value() if settings.key_password else None
    return read_password(
        secret,
        settings.key_password_file,
        lambda: str(click.prompt("New key password", hide_input=True, confirmation_prompt=True)),
    )


@key.command("new")
@click.argument("name")
def new(name: str) -> None:
    """Generate a new key NAME and store it encrypted; prints its address only."""
    settings = app_context().settings
    stored = Keystore(settings.keys_dir).create(name, _new_password(settings))
    console.print(f"created key [bold]{stored.name}[/] {stored.address}")
    console.print(f"  {stored.path}")


@key.command("import")
@click.argument("name")
@click.option(
    "--private-key-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Read the 0x-hex private key from this file instead of a hidden prompt.",
)
def import_(name: str, private_key_file: Path | None) -> None:
    """Encrypt an existing private key as NAME (typed at a hidden prompt, or read from a file)."""
    settings = app_context().settings
    if private_key_file is not None:
        lines = private_key_file.read_text(encoding="utf-8").split()
        if not lines:
            raise InvalidInputError(f"{private_key_file} is empty")
        private_key = lines[0]
    else:
        private_key = str(click.prompt("Private key (0x-hex)", hide_input=True))
    stored = Keystore(settings.keys_dir).import_key(name, private_key, _new_password(settings))
    console.print(f"imported key [bold]{stored.name}[/] {stored.address}")


@key.command("list")
def list_() -> None:
    """List stored keys: name, address, file."""
    settings = app_context().settings
    keys = Keystore(settings.keys_dir).list()
    if not keys:
        console.print(f"no keys in {settings.keys_dir}: create one with `anchor key new NAME`")
        return
    table = Table("name", "address", "file")
    for stored in keys:
        table.add_row(stored.name, stored.address, str(stored.path))
    console.print(table)
