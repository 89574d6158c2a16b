"""``anchor verify``: check receipts against the chain, one or thousands; exit 0 valid, 1 invalid, 2 unusable."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from anchor.cli.context import app_context, did_options, did_setup, note_ignored_home, verifier_endpoint_options
from anchor.cli.stack_commands import show_stack, stack_source
from anchor.cli.terminal import echo, printable
from anchor.credentials import MAX_CREDENTIAL_BYTES, parse_credential
from anchor.credentials.receipt import split_receipt
from anchor.errors import InvalidInputError
from anchor.files import read_source
from anchor.sharing.baking import read_receipt_or_badge
from anchor.verifier import (
    Evidence,
    Verdict,
    Verification,
    Verifier,
    receipt_link,
)
from anchor.verifier.archive import ArchiveMember, archive_members, is_archive_name, read_member, verify_member
from anchor.verifier.bulk import ReceiptSource, receipt_files, verify_paths

if TYPE_CHECKING:
    from rich.progress import Progress

    from anchor.verifier.status import StatusListSetup

#: Exit codes of ``anchor verify`` (the same as every anchor command: 1 refused, 2 unusable input).
EXIT_VALID, EXIT_INVALID, EXIT_UNUSABLE = 0, 1, 2
#: From this many receipts on, one line per receipt that is not VALID instead of every check of each.
COMPACT_FROM = 10
#: From this many receipts on, a progress bar (on a terminal).
PROGRESS_FROM = 200
#: Plain click styling, not rich: a one-receipt `anchor verify` starts faster without it.
_MARKS = {
    "passed": click.style("✓", fg="green"),
    "failed": click.style("✗", fg="red", bold=True),
    "not-checked": click.style("–", dim=True),
}
_VERDICT_COLOUR = {"VALID": "green", "INVALID": "red", "ERROR": "yellow"}


@click.command()
@click.argument("receipts", nargs=-1, required=True, metavar="RECEIPT... | DIR | ARCHIVE.tar | -")
@verifier_endpoint_options
@click.option("--json", "as_json", is_flag=True, help="Print the machine-readable result instead.")
@click.option("--verbose", "-v", is_flag=True, help="Print every check of every receipt, also for many receipts.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Receipts verified at once per process (threads), when there are several.",
)
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    help="Worker processes for many receipts (default: one per CPU; the checks are CPU-bound).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 300),
    default=10.0,
    show_default=True,
    help="Seconds per RPC request (and per did:web document).",
)
@did_options
@click.option(
    "--status-list",
    "status_lists",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A status list credential (W3C Bitstring Status List) to compare with the chain, for the credentials "
    "naming its URL (repeatable). The chain decides; a list that disagrees is reported.",
)
@click.option(
    "--fetch-status-lists",
    is_flag=True,
    help="Fetch the status list each credential names (HTTPS, once its issuer and integrity are confirmed; "
    "cached 5 minutes) and compare it with the chain.",
)
@click.option(
    "--require",
    "require",
    multiple=True,
    metavar="PATH",
    help="For a presentation: a field that must be disclosed (repeatable; dotted or a JSON Pointer). Default: "
    "the Annex I mandatory elements other than the learner's identifiers. anchorFormat, the issuer's id, name "
    "and country and the validity dates are always required.",
)
@click.option(
    "--link",
    is_flag=True,
    help="Print a shareable link to the verification page carrying each receipt, and do not verify.",
)
@click.option(
    "--base-url",
    default="http://127.0.0.1:8000/",
    show_default=True,
    metavar="URL",
    help="The verification page the --link links point to (where `anchor serve` runs).",
)
def verify(
    receipts: tuple[str, ...],
    network: str | None,
    rpc_urls: tuple[str, ...],
    registries: tuple[str, ...],
    as_json: bool,
    verbose: bool,
    workers: int,
    processes: int | None,
    timeout: float,
    did_documents: tuple[Path, ...],
    did_ca_bundle: Path | None,
    status_lists: tuple[Path, ...],
    fetch_status_lists: bool,
    link: bool,
    base_url: str,
    require: tuple[str, ...] = (),
) -> None:
    """Verify credential receipts: integrity, signature, anchoring, issuer, revocation, validity.

    RECEIPT is a receipt file, a directory (every *.json below it, and every *.tar archive), a tar
    archive of receipts (every *.json member, read in place: nothing is extracted; results name
    ARCHIVE.tar:MEMBER) or - for standard input.
    A baked badge image (badge.png or badge.svg of `anchor share`) is verified as the receipt it carries.
    A stack bundle file (`anchor stack`) is verified whole: the stacked credential, every part,
    the parts' learner and total workload.
    Each receipt is checked offline (format, EU elements, digest, Merkle proof), then with one
    call to the registry's status view at the finalized block. The issuer's signature (v2
    credentials) is checked with its DID's document: did:key offline, did:web fetched over HTTPS
    once the registry confirms that DID is the batch's issuer (kept for an hour in HOME/did-cache),
    or the --did-document given for it. The registry must be a trusted
    one: recorded in HOME/deployments/<chain-id>.json, ANCHOR_REGISTRY or --registry, where
    HOME is --home, ANCHOR_HOME or your per-user ~/.config/anchor ($XDG_CONFIG_HOME/anchor),
    never the .anchor of the current directory. The result says where the trust came from.

    Exit status: 0 when every receipt is VALID, 1 when any is INVALID (tampered, unsigned or
    signed by another, untrusted, not anchored or not final, revoked, expired, endpoints
    disagree), 2 when any could not be verified at all (unreadable, not JSON, not a receipt, RPC
    endpoint or the issuer's DID document unreachable).
    """
    app = app_context()
    app.overrides["network"] = network
    app.per_user = True  # trust only the user's own configuration, never ./.anchor
    sources = list(_expand(receipts))
    if not sources:
        raise InvalidInputError("no receipts found: the directories and archives hold no *.json files")
    if link:
        _print_links(sources, base_url)
        return
    settings = app.settings
    urls = list(rpc_urls) or [settings.effective_rpc_url]
    trusted = app.trusted_registries(registries)
    dids = did_setup(app, did_documents, did_ca_bundle, timeout)
    lists = _status_list_setup(status_lists, fetch_status_lists, timeout, did_ca_bundle)
    note_ignored_home(app)

    compact = len(sources) >= COMPACT_FROM and not verbose
    counts: Counter[Verdict] = Counter()
    results = []
    with Verifier(urls, trusted, timeout=timeout, dids=dids, status_lists=lists) as verifier:
        kept: dict[str, bytes] = {}
        if "-" in sources or require:
            one = _verify_source(verifier, require or None, kept)
            stream = verifier.verify_many(sources, one, workers=min(workers, len(sources)))
        else:
            stream = verify_paths(verifier, sources, processes=processes, threads=min(workers, len(sources)))
        with _Progress(len(sources), enabled=len(sources) >= PROGRESS_FROM) as advance:
            for found in stream:
                # a stack bundle's result, when the input is one
                result = stack_source(verifier, found, kept.get(found.source or ""))
                counts[result.verdict] += 1
                advance()
                if as_json:
                    results.append(result.to_json())
                elif not isinstance(result, Verification):
                    if not compact or not result.valid or result.warnings:
                        show_stack(result, compact=compact)
                elif compact:
                    if not result.valid or result.warnings:
                        _show_line(result)
                else:
                    _show_detail(result)
    if as_json:
        document = results[0] if len(sources) == 1 else {"summary": _summary_json(counts), "results": results}
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    elif len(sources) > 1:
        parts = [f"{counts[v]} {v.value.lower()}" for v in (Verdict.VALID, Verdict.INVALID, Verdict.ERROR)]
        echo(f"{len(sources)} receipts: " + ", ".join(parts))
    if counts[Verdict.ERROR]:
        sys.exit(EXIT_UNUSABLE)
    if counts[Verdict.INVALID]:
        sys.exit(EXIT_INVALID)


def _expand(arguments: tuple[str, ...]) -> Iterator[ReceiptSource]:
    """Files as given, directories as every *.json below them (sorted), archives (*.tar, given or below a
    directory) as every *.json member in archive order, - as standard input.

    Hidden folders below a directory are skipped: a batch's receipts being written sit in ``.batch-N.partial``
    until they are complete. Archives below a directory are read too: the receipts of a very large batch are
    one ``batch-N.tar``, and verifying an issuer's receipts folder must not pass over them.
    """
    for argument in arguments:
        path = Path(argument)
        if argument != "-" and path.is_dir():
            for found in receipt_files(path, archives=True):
                if is_archive_name(found):
                    yield from archive_members(found)
                else:
                    yield found
        elif argument != "-" and is_archive_name(argument):
            yield from archive_members(argument)
        else:
            yield argument


#: How a result names standard input as its source.
STANDARD_INPUT = "(standard input)"


def _verify_source(
    verifier: Verifier, require: tuple[str, ...] | None = None, kept: dict[str, bytes] | None = None
) -> Callable[[ReceiptSource], Verification]:
    """Verify one command-line source: a file, or - for standard input (``require``: for presentations).

    What standard input held is kept in ``kept`` under :data:`STANDARD_INPUT` (it may be a stack bundle).
    """

    def one(source: ReceiptSource) -> Verification:
        if isinstance(source, ArchiveMember):
            return verify_member(verifier, source, require=require)
        if source == "-":
            data = read_receipt_or_badge(sys.stdin.buffer)  # a baked badge too
            if kept is not None:
                kept[STANDARD_INPUT] = data
            return verifier.verify(data, source=STANDARD_INPUT, require=require)
        return verifier.verify_file(source, require=require)

    return one


def _print_links(sources: list[ReceiptSource], base_url: str) -> None:
    """Print the shareable link of each receipt (checked to be one, not verified)."""
    for source in sources:
        if isinstance(source, ArchiveMember):
            if source.problem is not None:
                raise InvalidInputError(f"{source.source}: {source.problem}")
            try:
                data = read_member(source)
            except OSError as error:
                raise InvalidInputError(f"cannot read {source.source}: {error.strerror or error}") from error
            document = parse_credential(data, source=source.source)
        else:
            document = parse_credential(read_source(source, MAX_CREDENTIAL_BYTES), source=source)
        split_receipt(document)
        click.echo(receipt_link(document, base_url))


class _Progress:
    """A rich progress bar on standard error, when it is a terminal and there are many receipts."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.bar: Progress | None = None
        if enabled and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            from anchor.cli.output import err_console

            self.bar = Progress(
                TextColumn("verifying"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err_console,
                transient=True,
            )

    def __enter__(self) -> Callable[[], None]:
        if self.bar is None:
            return lambda: None
        self.bar.start()
        task = self.bar.add_task("verify", total=self.total)
        bar = self.bar
        return lambda: bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _summary_json(counts: Counter[Verdict]) -> dict[str, int]:
    return {verdict.value.lower(): counts[verdict] for verdict in Verdict}


def _verdict_text(result: Verification, text: str) -> str:
    return click.style(text, fg=_VERDICT_COLOUR[result.verdict.value], bold=True)


def _show_evidence(evidence: Evidence) -> None:
    """Where the trust in the registry came from, and the anchoring transaction: confirmed, or a mere claim."""
    if evidence.trust_source:
        echo(click.style(f"  registry trusted from {printable(evidence.trust_source)}", dim=True))
    if evidence.transaction_hash_onchain:
        link = f" {evidence.explorer_tx}" if evidence.explorer_tx else ""
        echo(click.style(f"  anchoring transaction {evidence.transaction_hash_onchain} (on chain){link}", dim=True))
    else:
        echo(click.style(f"  transaction {evidence.transaction_hash} claimed by the receipt, not confirmed", dim=True))


def _show_line(result: Verification) -> None:
    """One line: status, source, the reason it is not valid (outside text made printable); then its warnings."""
    echo(f"{_verdict_text(result, result.status)} {printable(result.source or '')}: {printable(result.summary)}")
    _show_warnings(result)


def _show_warnings(result: Verification) -> None:
    """Each warning on a line of its own (a status list that disagrees with the chain...)."""
    for warning in result.warnings:
        echo(f"  {click.style('warning:', fg='yellow', bold=True)} {printable(warning)}")


def _status_list_setup(
    files: tuple[Path, ...], fetch: bool, timeout: float, ca_bundle: Path | None
) -> StatusListSetup | None:
    """The status lists to compare with the chain: the files given (read now), and whether to fetch others."""
    if not files and not fetch:
        return None
    from anchor.verifier.status import StatusListSetup, given_lists

    return StatusListSetup(given=given_lists(files), fetch=fetch, timeout=timeout, ca_bundle=ca_bundle)


def _show_detail(result: Verification) -> None:
    """The credential in one line, every check with its mark and reason, and the verdict.

    Everything that comes from the receipt, the endpoints or the file system goes through :func:`printable`.
    """
    if result.source:
        echo(click.style(printable(result.source), bold=True))
    summary = result.credential
    evidence = result.evidence
    if summary is not None:
        body: str | None = None
        if evidence is not None and evidence.issuer_name is not None:  # the registry's, not the credential's
            body = f"{evidence.issuer_name} ({evidence.issuer_country}, as registered)"
        elif summary.awarding_body:
            body = f"{summary.awarding_body} (claimed)"
        facts = [
            summary.learner,
            summary.title,
            f"workload: {summary.workload}" if summary.workload is not None else None,
            f"EQF {summary.eqf_level}" if summary.eqf_level is not None else None,
            body,
        ]
        echo("  " + printable(" · ".join(fact for fact in facts if fact)))
        if summary.withheld:  # a presentation: the fields its learner chose not to show
            echo("  " + printable("withheld: " + ", ".join(summary.withheld)))
    width = max(len(check.title) for check in result.checks)
    for check in result.checks:
        echo(f"  {_MARKS[check.state.value]} {check.title.ljust(width)}  {printable(check.reason)}")
    if evidence is not None:
        _show_evidence(evidence)
    verdict = result.verdict.value
    label = result.status if result.status == verdict else f"{result.status} ({verdict})"
    echo(f"  {_verdict_text(result, label)}" + ("" if result.valid else f": {printable(result.summary)}"))
    _show_warnings(result)
