"""``anchor did key create | document | rotate | retire | show``: the issuer's DID and its signing keys."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click
from rich.table import Table

from anchor.cli.context import app_context
from anchor.cli.output import console, safe
from anchor.cli.terminal import echo, printable
from anchor.config import Settings
from anchor.did_syntax import check_issuer_did, is_did_web
from anchor.errors import InvalidInputError
from anchor.files import write_json_atomically
from anchor.issuing import dids
from anchor.issuing.signing_keys import FIRST_KEY_NAME, Keyring, configured_keyring, issuer_keys

_WHERE = """\
\b
  did:web:example.edu             https://example.edu/.well-known/did.json
  did:web:example.edu:issuers:x   https://example.edu/issuers/x/did.json
  did:web:example.edu%3A8443      https://example.edu:8443/.well-known/did.json"""


@click.group(
    help=f"""The issuer's DID and the Ed25519 keys that sign its credentials.

A DID (decentralized identifier) names the issuer: in every credential it signs (issuer.id, and the
verification method of the proof) and in the registry, which records it as the issuer's identifier
(`anchor issuer register --uri DID`), so that the signature and the anchoring name the same issuer.

did:web, for real issuers: the DID is made from the issuer's web domain, and verifiers read the issuer's
public keys from its DID document, a file named did.json that the issuer publishes over HTTPS:

{_WHERE}

`anchor did document` prints that file; publish it again after each rotate or retire.

did:key, for demos and local use: the DID is the public key itself (did:key:z6Mk...); verifiers resolve it
offline, there is nothing to publish, and it cannot be rotated (a new key is a new DID).

\b
First:   anchor did key create --did did:web:example.edu
         anchor did document --out did.json      (publish it where it says)
Later:   anchor did rotate; anchor did retire KEY; anchor did show

Keys live encrypted in ANCHOR_HOME/keys/did; their password comes from ANCHOR_KEY_PASSWORD,
ANCHOR_KEY_PASSWORD_FILE or a prompt, never from the config file. Set issuer_did (ANCHOR_ISSUER_DID) to have
anchor check that it signs as the DID you expect, and signing_key (ANCHOR_SIGNING_KEY) to sign with a listed
key other than the current one.
"""
)
def did() -> None:
    """The issuer's DID and signing keys (help above)."""


@did.group("key")
def key() -> None:
    """Create the issuer's first signing key (later ones: `anchor did rotate`)."""


@key.command(
    "create",
    help=f"""Create the issuer's first Ed25519 signing key and bind it to its DID.

With --did did:web:DOMAIN[:PATH...], for an issuer with a web domain; its DID document must then be
published where the DID says:

{_WHERE}

With --did-key, the DID is derived from the new key (did:key:z6Mk...): for demos and local use.
Without either, the issuer_did setting (ANCHOR_ISSUER_DID) is the DID. Prints the DID and the key's
verification method, never the key.
""",
)
@click.option("--did", "did_", metavar="did:web:DOMAIN", help="The issuer's did:web DID, e.g. did:web:example.edu.")
@click.option("--did-key", is_flag=True, help="Use a did:key DID derived from the new key (demos, local use).")
@click.option(
    "--name",
    default=FIRST_KEY_NAME,
    show_default=True,
    help="The key's name: the fragment of its verification method (DID#NAME) and its file name.",
)
def create(did_: str | None, did_key: bool, name: str) -> None:
    settings = app_context().settings
    chosen = _chosen_did(settings, did_, did_key)
    keys = issuer_keys(settings)
    keyring = keys.create(chosen, _new_password(settings, name), name=name)
    current = keyring.key(keyring.current)
    console.print(f"created issuer key [bold]{safe(current.name)}[/] for [bold]{safe(keyring.did)}[/]")
    console.print(f"  verification method {safe(current.verification_method(keyring.did))}")
    console.print(f"  {safe(keys.key_path(current.name))}")
    _next_steps(keyring)


@did.command(
    "document",
    help=f"""Print the issuer's DID document (did.json) and where to publish it.

The document lists every key not retired as a Multikey verification method under assertionMethod.
For did:web, publish it at the URL printed (on standard error), served over HTTPS (as application/json
or application/did+json), and again after each `anchor did rotate` or `anchor did retire`:

{_WHERE}

For did:key there is nothing to publish: verifiers derive the same document from the DID.
""",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the document to FILE (then copy it to the URL printed) instead of standard output.",
)
def document(out: Path | None) -> None:
    keyring = configured_keyring(app_context().settings)
    content = keyring.document()
    if out is None:
        click.echo(json.dumps(content, indent=2, ensure_ascii=False))
    else:
        write_json_atomically(out, content)
        echo(f"wrote the DID document of {printable(keyring.did)} to {printable(out)}", err=True)
    url = dids.document_url(keyring.did)
    if url is None:
        echo(
            f"{printable(keyring.did)} is a did:key DID: verifiers derive this document from the DID itself; "
            "there is nothing to publish",
            err=True,
        )
    else:
        echo(f"publish it at {url}", err=True)


@did.command("rotate")
@click.option("--name", help="Name of the new key (default: key-N, N one more than the keys so far).")
def rotate(name: str | None) -> None:
    """Make a new key current; the previous keys stay listed in the DID document.

    Credentials signed before keep verifying, as their keys stay listed. Publish the new DID document
    (`anchor did document`) before issuing with the new key: until a verifier can read it there, what
    the new key signs does not verify. Only did:web DIDs rotate.
    """
    settings = app_context().settings
    keys = issuer_keys(settings)
    keyring = configured_keyring(settings)
    rotated = keys.rotate(_new_password(settings, name or "the new key"), name=name)
    current = rotated.key(rotated.current)
    console.print(
        f"[bold]{safe(current.name)}[/] is now the current signing key of {safe(rotated.did)} "
        f"({safe(current.verification_method(rotated.did))}); {safe(keyring.current)} stays listed"
    )
    if settings.signing_key is not None:
        console.print(
            f"[yellow]note:[/] signing_key = {safe(settings.signing_key)} in your configuration still selects "
            "that key; unset it to sign with the current one"
        )
    _next_steps(rotated)


@did.command(
    "retire",
    help="""Take KEY out of the DID document: credentials signed by KEY stop verifying.

Once the new document is published, every credential whose proof names KEY fails verification,
whenever it was issued. Retire a key that was compromised, or that must no longer vouch for anything; to
merely stop signing with a key, `anchor did rotate` is enough (its credentials stay valid). The current key
cannot be retired: rotate first. The key's record and encrypted file are kept, and its name is never reused.
""",
)
@click.argument("key_name", metavar="KEY")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def retire(key_name: str, yes: bool) -> None:
    settings = app_context().settings
    keys = issuer_keys(settings)
    keyring = configured_keyring(settings)
    keyring.key(key_name)  # an unknown name is an error before any question
    if not yes:
        click.confirm(
            f"Retire {printable(key_name)}? Every credential it signed stops verifying once the new DID document "
            "is published",
            abort=True,
        )
    retired = keys.retire(key_name)
    console.print(f"retired [bold]{safe(key_name)}[/]: it is no longer in the DID document of {safe(retired.did)}")
    _next_steps(retired)


@did.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def show(as_json: bool) -> None:
    """Show the issuer's DID, where its document goes, and its keys (current, listed, retired)."""
    settings = app_context().settings
    keyring = configured_keyring(settings)
    signing = settings.signing_key or keyring.current
    rows = [
        {
            "name": key.name,
            "state": keyring.state(key),
            "signs": key.name == signing,
            "created": _time(key.created),
            "replaced": _time(key.replaced),
            "retired": _time(key.retired),
            "verificationMethod": key.verification_method(keyring.did),
            "publicKeyMultibase": key.public_key_multibase,
        }
        for key in keyring.keys
    ]
    url = dids.document_url(keyring.did)
    if as_json:
        summary = {"did": keyring.did, "documentUrl": url, "signingKey": signing, "keys": rows}
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    console.print(f"DID [bold]{safe(keyring.did)}[/]")
    console.print(f"  document: {safe(url) if url else 'derived from the DID (did:key): nothing to publish'}")
    console.print(f"  keys: {safe(issuer_keys(settings).folder)}")
    table = Table("name", "state", "created", "left service", "verification method")
    for row in rows:
        state = f"{row['state']}{' (signs)' if row['signs'] else ''}"
        left = (
            f"retired {row['retired']}"
            if row["retired"]
            else (f"replaced {row['replaced']}" if row["replaced"] else "")
        )
        table.add_row(safe(row["name"]), state, str(row["created"]), left, safe(row["verificationMethod"]))
    console.print(table)


def _chosen_did(settings: Settings, given: str | None, did_key: bool) -> str | None:
    """The DID ``key create`` binds the key to: --did, else issuer_did; None for a did:key (--did-key)."""
    if given is not None and did_key:
        raise click.UsageError("give --did or --did-key, not both")
    configured = settings.issuer_did
    if did_key:
        if configured is not None:
            raise InvalidInputError(
                f"issuer_did is set to {configured!r}, but --did-key makes a new DID; unset issuer_did, or drop "
                "--did-key"
            )
        return None
    chosen = given or configured
    if chosen is None:
        raise click.UsageError(
            "give the issuer's DID: --did did:web:YOUR.DOMAIN (an issuer with a web domain) or --did-key "
            "(demos, local use); see `anchor did --help`"
        )
    if given is not None:
        check_issuer_did(given, what="--did")
    if configured is not None and given is not None and given != configured:
        raise InvalidInputError(f"issuer_did is set to {configured!r}, not {given!r}: use one DID")
    if not is_did_web(chosen):
        raise InvalidInputError(
            f"{chosen!r} is a did:key DID, which is derived from its key: a new key makes a new did:key; "
            "unset issuer_did and use --did-key"
        )
    return chosen


def _new_password(settings: Settings, name: str) -> str:
    from anchor.chain.keys import read_password  # eth-account: only when a password is needed

    secret = settings.key_password.get_secret_value() if settings.key_password else None
    return read_password(
        secret,
        settings.key_password_file,
        lambda: str(click.prompt(f"New password for issuer key {name}", hide_input=True, confirmation_prompt=True)),
    )


def _next_steps(keyring: Keyring) -> None:
    url = dids.document_url(keyring.did)
    if url is None:
        console.print(
            f"  did:key: nothing to publish. Register [bold]{safe(keyring.did)}[/] as the issuer's identifier: "
            "`anchor issuer register --uri DID ...` (the default when this home has the DID)"
        )
        return
    console.print(
        f"  next: `anchor did document --out did.json` and publish it at [bold]{safe(url)}[/]; "
        "verifiers read the keys there"
    )


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
