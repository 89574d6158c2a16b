"""Where the project's forge is: the native binary of the npm package ``@foundry-rs/forge`` for this platform."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def forge_binary(root: Path = ROOT) -> Path:
    """The native forge under ``node_modules/@foundry-rs/forge-<platform>/bin/``.

    Not ``node_modules/.bin/forge``: that node wrapper exits 0 whatever forge's own exit status was, so a failing
    test or build would pass unnoticed.
    """
    found = sorted((root / "node_modules" / "@foundry-rs").glob("forge-*/bin/forge"))
    if not found:
        raise SystemExit("no native forge under node_modules/@foundry-rs/forge-*/bin/: run `npm ci` (or `make setup`)")
    return found[0]
