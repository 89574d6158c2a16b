"""``anchor build`` and ``anchor provision-solc``: the offline compiler pipeline."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from anchor.cli.output import console, err_console


@click.command()
@click.option("--check", is_flag=True, help="Compile and compare with the committed artifacts; write nothing.")
def build(check: bool) -> None:
    """Compile contracts/ into src/anchor/artifacts/ without any download.

    Uses a native solc of the pinned version when py-solc-x has one installed, otherwise the
    npm solcjs pinned in package.json (run `npm ci` first). The artifacts are committed:
    issuers and verifiers load them and never need a compiler.
    """
    from anchor.chain import compiler as builder

    root = builder.project_root()
    compiler = builder.find_compiler(root)
    console.print(f"compiling {root / 'contracts'} with {compiler.description} ...")
    artifacts = builder.compile_contracts(root, compiler)
    if check:
        stale = builder.stale_artifacts(artifacts)
        if stale:
            err_console.print(f"[bold red]stale artifacts:[/] {', '.join(stale)}: run `anchor build` and commit them")
            sys.exit(1)
        console.print(f"[green]artifacts match the sources[/] ({', '.join(sorted(artifacts))})")
        return
    for path in builder.write_artifacts(artifacts):
        console.print(f"wrote {path}")


@click.command("provision-solc")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".solcx")
def provision_solc(folder: Path) -> None:
    """Make the pinned solc available to py-solc-x and ape, offline.

    Writes FOLDER/solc-v<version> (default FOLDER: .solcx), a native-solc look-alike backed by the
    npm solcjs. Point SOLCX_BINARY_PATH at FOLDER (the Makefile does) and `ape compile` finds it.
    """
    from anchor.chain import compiler as builder

    entry = builder.provision_solcx(folder.resolve(), builder.project_root())
    console.print(f"provisioned {entry}")
