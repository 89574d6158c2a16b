"""Printing text that comes from outside (receipts, RPC endpoints, file names) safely on a terminal.

A hostile receipt or endpoint could otherwise carry escape sequences that hide or rewrite what a person
reads (conceal the verdict, move the cursor, print a green VALID over a red line), or bidirectional
controls that reorder it. Such characters are shown as ``\\u001b``-style escapes instead.
"""

from __future__ import annotations

import os
import re
from typing import Final

import click

#: C0 and C1 controls, DEL, and the Unicode bidirectional controls (marks, embeddings, overrides, isolates).
_UNSAFE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: The same, but keeping line feeds and tabs (for multi-line messages).
_UNSAFE_KEEP_LINES: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object, *, keep_lines: bool = False) -> str:
    """``text`` with every control and bidirectional-control character written as a visible escape."""
    pattern = _UNSAFE_KEEP_LINES if keep_lines else _UNSAFE
    return pattern.sub(lambda match: f"\\u{ord(match.group()):04x}", str(text))


def echo(text: str, *, err: bool = False) -> None:
    """Print a line (styled with click); without colours when ``NO_COLOR`` is set (https://no-color.org)."""
    click.echo(text, err=err, color=False if os.environ.get("NO_COLOR") else None)
