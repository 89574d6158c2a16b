"""``anchor issue FILE... | DIR | -``: validate credentials and queue them for the nightly batch."""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from anchor.cli.context import app_context
from anchor.cli.output import console, err_console, safe
from anchor.cli.terminal import printable
from anchor.errors import InvalidInputError
from anchor.issuing import intake
from anchor.issuing.signing import IntakeSigner
from anchor.issuing.status_lists import status_entry_source
from anchor.issuing.store import QueueOutcome, Store

PROGRESS_FROM = 200
"""Inputs from which a progress bar is shown."""
DUPLICATES_SHOWN = 20
"""Duplicates listed one by one; beyond this only their number is given."""


@click.command()
@click.argument("inputs", nargs=-1, metavar="FILE|DIR|-...")
@click.option("--course", "course_ref", metavar="ID[@VERSION]", help="Issue from this course template (with --roster).")
@click.option(
    "--roster",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV or Excel (.xlsx) roster: one credential per row (with --course).",
)
@click.option("--map", "maps", multiple=True, metavar="COLUMN=FIELD", help="Roster: fill FIELD from COLUMN.")
@click.option("--encoding", help="Roster: the CSV file's encoding when it is not UTF-8 (cp1252, cp1250, cp1253...).")
@click.option("--dry-run", is_flag=True, help="Roster: check every row, show the first credentials; queue nothing.")
@click.option(
    "--unsigned",
    is_flag=True,
    help="Queue legacy anchor-credential-v1 credentials without the issuer's signature (migration and tests only: "
    "standard wallets and verifiers reject unsigned credentials).",
)
@click.option(
    "--partial",
    is_flag=True,
    help="Queue the valid credentials even if others are refused (the exit code is still 2).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    help=f"Processes validating inputs of {intake.PARALLEL_FROM} files or more (default: one per CPU, at most "
    f"{intake.MAX_DEFAULT_WORKERS}).",
)
def issue(
    inputs: tuple[str, ...],
    course_ref: str | None,
    roster: Path | None,
    maps: tuple[str, ...],
    encoding: str | None,
    dry_run: bool,
    unsigned: bool,
    partial: bool,
    workers: int | None,
) -> None:
    """Validate credentials and queue them for the next batch (`anchor batch run`).

    \b
    FILE  one credential (JSON), refused by size above 1 MiB before it is read
    DIR   every *.json file under it, recursively, in name order
    -     standard input: one credential, or JSON Lines (one credential per line)

    Every problem of every input is reported, naming the input and the field. Nothing is queued
    unless all inputs are valid (or with --partial, the valid ones). Each credential gets a random
    32-byte salt (one it already carries is kept). Issuing is idempotent: a credential already queued,
    batched or anchored is reported as a duplicate and left as it is; a different credential under an
    id already issued is refused. Exit code 2 when any input is refused.

    Each credential is signed by the issuer's DID key (`anchor did key create`; its password from
    ANCHOR_KEY_PASSWORD, ANCHOR_KEY_PASSWORD_FILE or a prompt) and becomes an Open Badges 3.0
    credential in the anchor-credential-v3 format: issuer.id must be the issuer's DID, and a
    credential carries no proof of its own. With status_base_url set, each also gets a status
    list entry (`anchor status publish`).

    \b
    --course ID --roster FILE: one credential per row of a CSV or Excel roster, from a course
    template (`anchor course`). Columns are taken by name (name or given/family name, email,
    student id, learner id, grade, status, credits, start date, end date, issued, valid until,
    narrative, term); --map COLUMN=FIELD for others (FIELD may be identifier:TYPE or ignore).
    Every bad row is reported with its row, column and value; the e-mail address is kept for
    `anchor deliver`, not put in the credential. Importing the same roster again queues nothing twice.
    """
    if course_ref is not None or roster is not None:
        if inputs:
            raise InvalidInputError("give credential files, or --course with --roster, not both")
        from anchor.cli.roster_commands import issue_roster

        signer = intake_signer(unsigned)
        store = Store.open(app_context().settings)
        issue_roster(
            store,
            course_ref,
            roster,
            maps,
            partial=partial,
            dry_run=dry_run,
            encoding=encoding,
            workers=workers,
            signer=signer,
            status_entries=intake_status_entries(store, signer),
        )
        return
    if not inputs:
        raise click.UsageError("give credential files (FILE|DIR|-), or --course ID --roster FILE")
    if maps or encoding or dry_run:
        raise InvalidInputError("--map, --encoding and --dry-run go with --course and --roster")
    signer = intake_signer(unsigned)
    settings = app_context().settings
    store = Store.open(settings)
    status_entries = intake_status_entries(store, signer)
    started = time.monotonic()
    duplicate_lines = DuplicateLines()

    with _ProgressBar() as progress:
        summary = intake.issue(
            store,
            inputs,
            partial=partial,
            stdin=click.get_binary_stream("stdin"),
            workers=workers,
            on_rejected=print_refused,
            on_duplicate=duplicate_lines.duplicate,
            on_progress=progress.advance,
            signer=signer,
            status_entries=status_entries,
        )
    seconds = time.monotonic() - started
    duplicates = sum(summary.duplicates.values())
    if duplicates > DUPLICATES_SHOWN:
        console.print(f"  = ... and {duplicates - DUPLICATES_SHOWN} more duplicates", highlight=False)
    if summary.inputs == 0:
        err_console.print("[yellow]nothing to issue:[/] the inputs hold no credentials (*.json)", highlight=False)
        return
    states = ", ".join(f"{count} {state}" for state, count in sorted(summary.duplicates.items()))
    mark = "[red]✗[/]" if summary.refused else "[green]✓[/]"
    console.print(
        f"{mark} queued {summary.queued}, duplicates {duplicates}{f' ({states})' if states else ''}, "
        f"invalid {summary.invalid}, conflicts {summary.conflicts}: {summary.inputs} input(s) in {seconds:.1f} s"
        f" ({summary.inputs / max(seconds, 1e-9):,.0f}/s)",
        highlight=False,
    )
    if summary.refused:
        if summary.committed:
            raise InvalidInputError(
                f"{summary.refused} input(s) refused; the {summary.queued} valid new credential(s) "
                "were queued (--partial)"
            )
        raise InvalidInputError(
            f"{summary.refused} of {summary.inputs} input(s) refused: nothing queued "
            "(fix them, or pass --partial to queue the valid ones)"
        )


def print_refused(item: intake.Rejected) -> None:
    """A refused input and each of its problems, on standard error (outside text printed literally)."""
    err_console.print(f"[bold red]refused:[/] {safe(item.source)}: {safe(item.message)}", highlight=False)
    for problem in item.problems:
        err_console.print(f"  - {printable(problem)}", markup=False, highlight=False)


class DuplicateLines:
    """Prints the first :data:`DUPLICATES_SHOWN` inputs left alone (duplicates), one a line; counts them all."""

    def __init__(self) -> None:
        self.shown = 0

    def line(self, text: str) -> None:
        """Count one, and print ``text`` (literally) if fewer than the limit were printed."""
        self.shown += 1
        if self.shown <= DUPLICATES_SHOWN:
            console.print(text, markup=False, highlight=False)

    def duplicate(self, source: str, outcome: QueueOutcome) -> None:
        """An input already in the database."""
        where = "" if outcome.batch_id is None else f" in batch {outcome.batch_id}"
        self.line(f"  = {printable(source)}: already {outcome.state}{where}")


def intake_signer(unsigned: bool) -> IntakeSigner | None:
    """The issuer's key as intake signs with it (unlocked once), or None for legacy unsigned v1 credentials."""
    if unsigned:
        err_console.print(
            "[yellow]--unsigned:[/] legacy anchor-credential-v1 credentials, without the issuer's signature",
            highlight=False,
        )
        return None
    key = app_context().issuer_signer()
    return IntakeSigner.now(key.did, key.verification_method, key.private_key.private_bytes_raw())


def intake_status_entries(store: Store, signer: IntakeSigner | None) -> intake.StatusEntries | None:
    """What hands out status list entries when the issuer publishes status lists (``status_base_url``)."""
    settings = app_context().settings
    if signer is None or settings.status_base_url is None:
        return None
    return status_entry_source(store, signer.did, settings.status_base_url, settings.status_list_size)


class _ProgressBar:
    """A progress bar on stderr for large inputs; appears once the total is known to be large."""

    def __init__(self) -> None:
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> _ProgressBar:
        return self

    def advance(self, done: int, total: int | None) -> None:
        """Show ``done`` inputs of ``total``."""
        if self.bar is None:
            if total is None or total < PROGRESS_FROM:
                return
            self.bar = Progress(
                TextColumn("validating"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err_console,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("validating", total=total)
        assert self.task is not None
        self.bar.update(self.task, completed=done)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.bar is not None:
            self.bar.stop()
