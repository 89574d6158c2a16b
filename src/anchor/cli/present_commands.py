"""``anchor present RECEIPT --hide PATH... | --disclose PATH...``: show a credential with some claims withheld."""

from __future__ import annotations

import json
from pathlib import Path

import click

from anchor.cli.terminal import echo, printable
from anchor.credentials import MAX_CREDENTIAL_BYTES, parse_credential
from anchor.credentials.presentations import make_presentation
from anchor.errors import InvalidInputError
from anchor.files import read_source, write_private_text


@click.command()
@click.argument("receipt", metavar="RECEIPT | -")
@click.option(
    "--hide",
    "hide",
    multiple=True,
    metavar="PATH",
    help="Withhold the claim at PATH and every claim under it (repeatable): credentialSubject.identifier, "
    "credentialSubject.result, or a JSON Pointer such as /credentialSubject/result/0/value.",
)
@click.option(
    "--disclose",
    "disclose",
    multiple=True,
    metavar="PATH",
    help="Disclose only the claims at or under these paths (repeatable), plus what every verifier needs: "
    "anchorFormat, issuer.id, issuer.name, issuer.address.addressCountryCode, validFrom, validUntil.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the presentation here (a private file) instead of to standard output.",
)
def present(receipt: str, hide: tuple[str, ...], disclose: tuple[str, ...], out: Path | None) -> None:
    """Make a presentation of a receipt that withholds some of its claims.

    RECEIPT is the receipt of an anchor-credential-v3 credential (a file, or - for standard
    input). The presentation shows every claim not withheld, with its salt, and lists the
    withheld claims by path with their salted commitments: a verifier (`anchor verify`)
    proves every shown value against the anchored digest, sees which fields are withheld,
    and learns nothing about their values. The master salt never leaves the receipt.

    Exit status: 0 when written, 2 for an unreadable receipt, an unknown path, or a receipt
    that is not v3.
    """
    if bool(hide) == bool(disclose):
        raise InvalidInputError("give either --hide PATH... or --disclose PATH... (one of them, at least one path)")
    document = parse_credential(read_source(receipt, MAX_CREDENTIAL_BYTES), source=receipt)
    presentation = make_presentation(document, hide=hide, disclose=disclose or None)
    text = json.dumps(presentation, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    write_private_text(out, text)
    shown, withheld = len(presentation["disclosedSalts"]), ", ".join(presentation["withheld"]) or "nothing"
    echo(f"wrote {printable(str(out))}: {shown} claims shown; withheld: {printable(withheld)}")
