"""The ``anchor`` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from anchor import __version__
from anchor.errors import AnchorError, InvalidInputError

err_console = Console(stderr=True)
console = Console()

EXIT_INVALID_INPUT = 2


class AnchorGroup(click.Group):
    """A click group that turns :class:`AnchorError` into a one-line message and an exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except AnchorError as error:
            err_console.print(f"[bold red]error:[/] {error}", highlight=False)
            sys.exit(EXIT_INVALID_INPUT if isinstance(error, InvalidInputError) else 1)


@click.group(cls=AnchorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="anchor")
def main() -> None:
    """anchor: tamper-proof EU micro-credentials, anchored in Merkle batches on Polygon.

    Issuers queue credentials and anchor a day's batch in one transaction; learners get a receipt;
    anyone verifies a receipt with nothing but a public RPC endpoint.
    """


@main.command()
@click.option("--check", is_flag=True, help="Compile and compare with the committed artifacts; write nothing.")
def build(check: bool) -> None:
    """Compile contracts/ into src/anchor/artifacts/ without any download.

    Uses a native solc of the pinned version when py-solc-x has one installed, otherwise the
    npm solcjs pinned in package.json (run `npm ci` first). The artifacts are committed:
    issuers and verifiers load them and never need a compiler.
    """
    from anchor import build as builder

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


@main.command("provision-solc")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".solcx")
def provision_solc(folder: Path) -> None:
    """Make the pinned solc available to py-solc-x and ape, offline.

    Writes FOLDER/solc-v<version> (default FOLDER: .solcx), a native-solc look-alike backed by the
    npm solcjs. Point SOLCX_BINARY_PATH at FOLDER (the Makefile does) and `ape compile` finds it.
    """
    from anchor import build as builder

    entry = builder.provision_solcx(folder.resolve(), builder.project_root())
    console.print(f"provisioned {entry}")


if __name__ == "__main__":
    main()
