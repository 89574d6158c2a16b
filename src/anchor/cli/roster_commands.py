"""``anchor issue --course ID --roster FILE``: one credential per roster row, queued through intake."""

from __future__ import annotations

import json
import time
from pathlib import Path

from anchor.cli.issue_commands import DUPLICATES_SHOWN, DuplicateLines, _ProgressBar, print_refused
from anchor.cli.output import console, safe
from anchor.cli.terminal import printable
from anchor.errors import InvalidInputError
from anchor.issuing import courses, intake, rosters
from anchor.issuing.signing import IntakeSigner
from anchor.issuing.store import RosterEntry, Store


def issue_roster(
    store: Store,
    course_ref: str | None,
    roster: Path | None,
    maps: tuple[str, ...],
    *,
    partial: bool,
    dry_run: bool,
    encoding: str | None,
    workers: int | None,
    signer: IntakeSigner | None = None,
    status_entries: intake.StatusEntries | None = None,
) -> None:
    """Issue a roster against a course (the options of ``anchor issue``); see :mod:`anchor.issuing.rosters`."""
    if course_ref is None or roster is None:
        raise InvalidInputError("--course and --roster go together: anchor issue --course ID --roster FILE")
    mapping = rosters.parse_mapping(maps)
    course_id, version = courses.parse_course_ref(course_ref)
    course = courses.get_course(store, course_id, version)
    started = time.monotonic()
    lines = DuplicateLines()

    def earlier(source: str, entry: RosterEntry) -> None:
        lines.line(
            f"  = {printable(source)}: issued from version {entry.course_version} ({printable(entry.credential_id)})"
        )

    console.print(
        f"course {safe(course.course_id)} version {course.version}: {safe(course.title)}; roster {safe(roster)}",
        highlight=False,
    )
    with _ProgressBar() as progress:
        summary = rosters.import_roster(
            store,
            course,
            roster,
            mapping=mapping,
            partial=partial,
            dry_run=dry_run,
            encoding=encoding,
            workers=workers,
            on_rejected=print_refused,
            on_duplicate=lines.duplicate,
            on_issued_earlier=earlier,
            on_progress=progress.advance,
            signer=signer,
            status_entries=status_entries,
        )
    _report(summary, time.monotonic() - started, lines.shown)


def _report(summary: rosters.RosterSummary, seconds: float, shown: int) -> None:
    result = summary.intake
    duplicates = sum(result.duplicates.values())
    if shown > DUPLICATES_SHOWN:
        console.print(f"  = ... and {shown - DUPLICATES_SHOWN} more", highlight=False)
    console.print(f"read as {summary.kind}: {safe(summary.detail)}", highlight=False)
    if summary.unused_columns:
        names = ", ".join(repr(name) for name in summary.unused_columns)
        console.print(f"[yellow]columns left out:[/] {safe(names)} (map them with --map COLUMN=FIELD)", highlight=False)
    if summary.dry_run:
        for sample in summary.samples:
            subject = sample["credentialSubject"]
            name = subject["identifier"][0]["identityHash"]
            grade = subject.get("result", [{}])[0].get("value", "")
            console.print(
                f"  {printable(sample['id'])}  {printable(name)}  {printable(grade)}  validFrom {sample['validFrom']}",
                markup=False,
                highlight=False,
            )
        if summary.samples:
            first = json.loads(json.dumps(summary.samples[0]))
            first["credentialSubject"]["achievement"] = "(the course's achievement: `anchor course show`)"
            text = json.dumps(first, ensure_ascii=False, indent=2)
            console.print(f"the first credential (before its salt):\n{printable(text, keep_lines=True)}", markup=False)
    mark = "[red]✗[/]" if summary.refused else "[green]✓[/]"
    if summary.dry_run:
        head = f"{result.inputs - result.invalid} valid credential(s), nothing queued (dry run)"
    else:
        head = f"queued {result.queued}, duplicates {duplicates}"
    console.print(
        f"{mark} {summary.rows} row(s): {head}; issued from an earlier version {summary.issued_earlier}; "
        f"refused {summary.refused} (rows {summary.refused_rows}, credentials {result.invalid}, conflicts "
        f"{result.conflicts}); {summary.with_email} with an e-mail address; {seconds:.1f} s "
        f"({summary.rows / max(seconds, 1e-9):,.0f} rows/s)",
        highlight=False,
    )
    if summary.refused:
        if summary.committed:
            raise InvalidInputError(
                f"{summary.refused} row(s) refused; the {result.queued} valid new credential(s) were queued (--partial)"
            )
        raise InvalidInputError(
            f"{summary.refused} of {summary.rows} row(s) refused: nothing queued "
            "(fix them, or pass --partial to queue the valid ones)"
        )
