"""Console output shared by the commands: tables, transaction summaries."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from anchor.cli.terminal import printable

#: Output to a pipe or file is not cut at 80 columns: addresses and hashes stay whole for scripts.
_WIDTH = None if sys.stdout.isatty() else 200
#: No emoji codes: rich would print ``did:key:z6Mk...`` as ``did🔑z6Mk...`` (``:key:``); ``safe`` cannot escape them.
console = Console(highlight=False, soft_wrap=True, width=_WIDTH, emoji=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, width=_WIDTH, emoji=False)


def safe(text: object) -> str:
    """Outside text for a rich markup string: controls shown as escapes, ``[`` not taken for markup."""
    return escape(printable(text))


def show_fields(title: str, fields: dict[str, Any]) -> None:
    """Print ``fields`` as a two-column table."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in fields.items():
        table.add_row(key, "" if value is None else safe(value))
    console.print(table)


def show_transaction(what: str, summary: dict[str, Any]) -> None:
    """Print a mined transaction: what it did, hash, block, gas, fee and explorer link."""
    console.print(f"[green]✓[/] {what}")
    console.print(f"  tx {summary['tx']}  block {summary['block']}  gas {summary['gas_used']}  fee {summary['fee']}")
    if summary.get("explorer"):
        console.print(f"  {summary['explorer']}")
