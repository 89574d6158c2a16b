"""``anchor course new | show | list``: course templates, versioned in the issuer database."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table

from anchor.cli.context import app_context
from anchor.cli.output import console, safe, show_fields
from anchor.cli.terminal import printable
from anchor.issuing import courses
from anchor.issuing.store import Store


@click.group()
def course() -> None:
    """Course templates: what every credential of a course says, whoever the learner.

    \b
    A template is a JSON file: {"issuer": {...}, "achievement": {...}, and optionally "name",
    "description", "validForYears"}; the issuer Profile and the Achievement exactly as in a
    credential, with every EU element that is the same for all learners. Saving a changed template
    makes a new version; credentials name theirs in achievement.version. Then:
    anchor issue --course ID --roster learners.csv
    """


@course.command("new")
@click.argument("course_id", metavar="ID")
@click.argument("template", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def new(course_id: str, template: Path) -> None:
    """Check a template and save it as course ID (a new version if it changed)."""
    checked = courses.load_template(template)
    saved, created = courses.save_course(Store.open(app_context().settings), course_id, checked)
    if created:
        console.print(f"[green]✓[/] course {safe(saved.course_id)} version {saved.version}: {safe(saved.title)}")
    else:
        console.print(f"= course {safe(saved.course_id)} unchanged (version {saved.version})")


@course.command("show")
@click.argument("reference", metavar="ID[@VERSION]")
@click.option("--json", "as_json", is_flag=True, help="Print the template only, as JSON.")
def show(reference: str, as_json: bool) -> None:
    """Show a course (its latest version, or ID@VERSION)."""
    course_id, version = courses.parse_course_ref(reference)
    found = courses.get_course(Store.open(app_context().settings), course_id, version)
    text = json.dumps(found.template, ensure_ascii=False, indent=2)
    if as_json:
        sys.stdout.write(text + "\n")
        return
    achievement = found.template["achievement"]
    show_fields(
        f"course {found.course_id}",
        {
            "version": found.version,
            "title": found.title,
            "issuer": found.template["issuer"].get("name"),
            "language": found.language,
            "ECTS": achievement.get("creditsAvailable"),
            "EQF level": achievement.get("euMicroCredential", {}).get("eqfLevel"),
            "valid for years": found.template.get("validForYears"),
            "saved": _when(found.created_at),
        },
    )
    console.print(printable(text, keep_lines=True), markup=False, highlight=False)


@course.command("list")
def list_courses() -> None:
    """List the courses (latest versions)."""
    found = courses.list_courses(Store.open(app_context().settings))
    if not found:
        console.print("no courses yet: `anchor course new ID TEMPLATE.json`")
        return
    table = Table("course", "version", "title", "language", "ECTS", "saved")
    for item in found:
        table.add_row(
            safe(item.course_id),
            str(item.version),
            safe(item.title),
            safe(item.language or ""),
            safe(item.template["achievement"].get("creditsAvailable", "")),
            _when(item.created_at),
        )
    console.print(table)


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
