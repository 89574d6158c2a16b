"""``anchor share RECEIPT --out DIR``: a baked badge, QR code, links and a how-to-verify page for a credential."""

from __future__ import annotations

from pathlib import Path

import click

from anchor.cli.terminal import echo, printable
from anchor.credentials import MAX_CREDENTIAL_BYTES
from anchor.errors import InvalidInputError
from anchor.sharing.share import DEFAULT_BASE_URL, read_receipt
from anchor.sharing.share import share as share_receipt


@click.command()
@click.argument("receipt", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the files to (created, private to you: they hold your personal data).",
)
@click.option(
    "--base-url",
    default=DEFAULT_BASE_URL,
    show_default=True,
    metavar="URL",
    help="The verification page the link, the QR code and LinkedIn point to (where `anchor serve` runs).",
)
def share(receipt: Path, out: Path, base_url: str) -> None:
    """Write what you need to show a credential: badge.png and badge.svg with the receipt baked in
    (Open Badges 3.0), a QR code of the verification link, LinkedIn's "add to profile" link, a short
    page explaining how to verify, and the receipt.

    Anyone can verify the badge image itself: `anchor verify badge.png`, or drop it on the verification page.
    """
    try:
        with receipt.open("rb") as stream:
            data = stream.read(MAX_CREDENTIAL_BYTES + 1)
    except OSError as error:
        raise InvalidInputError(f"cannot read {receipt}: {error.strerror or error}") from None
    done = share_receipt(read_receipt(data, str(receipt)), out, base_url)
    echo(f"wrote {len(done.files)} files to {printable(str(out))}: {', '.join(done.files)}")
    for note in done.notes:
        echo(f"  {click.style('note:', fg='yellow', bold=True)} {printable(note)}")
