"""Learner rosters (CSV and Excel) -> one credential per row, through intake; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchor.credentials.multikey import did_key, did_key_verification_method
from anchor.errors import InvalidInputError
from anchor.issuing import courses, intake, rosters
from anchor.issuing.courses import Course
from anchor.issuing.email_addresses import parse_email
from anchor.issuing.signing import IntakeSigner
from anchor.issuing.status_lists import status_entry_source
from anchor.issuing.store import Store

from support.db import BACKENDS, fresh_database
from support.rosters import allowed_grades, course_template, patch_sheet, write_csv, write_xlsx

NOW = datetime(2025, 7, 1, 9, 30, tzinfo=UTC)
HEADER = ["Name", "E-Mail", "Student ID", "Grade", "End date"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with fresh_database(request.param, tmp_path) as url, Store(url) as opened:
        yield opened


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'issuer.db'}") as opened:
        yield opened


@pytest.fixture
def template() -> dict[str, Any]:
    return course_template("DE")


@pytest.fixture
def course(store: Store, template: dict[str, Any]) -> Course:
    return courses.save_course(store, "datenkompetenz", template)[0]


def good_rows(template: dict[str, Any], count: int = 3) -> list[list[str]]:
    grades = allowed_grades(template)
    names = ["Jürgen Müller-Weiß", "Zoë Ångström", "Łukasz Żółć", "Γιώργος Παπαδόπουλος", "Anaïs Lefèvre"]
    return [
        [
            names[n % len(names)] + ("" if n < len(names) else f" {n}"),
            f"learner{n}@uni.example",
            f"S{n:05}",
            grades[n % len(grades)],
            "2025-06-27",
        ]
        for n in range(count)
    ]


class Collected:
    """What import_roster reported: refused rows and duplicates."""

    def __init__(self) -> None:
        self.rejected: list[intake.Rejected] = []
        self.duplicates: list[str] = []

    def rows(self) -> dict[int, list[str]]:
        return {
            int(item.source.rsplit(" ", 1)[1]): [str(problem) for problem in item.problems] for item in self.rejected
        }


def run(
    store: Store, course: Course, path: Path, collected: Collected | None = None, **options: Any
) -> rosters.RosterSummary:
    seen = collected or Collected()
    return rosters.import_roster(
        store,
        course,
        path,
        now=NOW,
        on_rejected=seen.rejected.append,
        on_duplicate=lambda source, outcome: seen.duplicates.append(source),
        **options,
    )


# ---------------------------------------------------------------------------------------------- the good path


def test_a_roster_becomes_one_valid_credential_per_row_and_reimporting_queues_nothing_twice(
    store: Store, course: Course, template: dict[str, Any], tmp_path: Path
) -> None:
    roster = write_csv(tmp_path / "results.csv", [HEADER, *good_rows(template, 5)])
    first = run(store, course, roster)
    assert (first.rows, first.intake.queued, first.refused, first.with_email) == (5, 5, 0, 5)
    assert store.queued_count() == 5
    entries = store.roster_entries(course.course_id, _all_keys(store, course))
    assert sorted(entry.email for entry in entries.values()) == [f"learner{n}@uni.example" for n in range(5)]
    assert {entry.course_version for entry in entries.values()} == {1}
    credential = first.samples[0]
    record = store.find_credential(credential["id"])
    assert record is not None
    stored = json.loads(record.document)
    subject = stored["credentialSubject"]
    assert subject["identifier"][0] == {
        "type": "IdentityObject",
        "hashed": False,
        "identityHash": "Jürgen Müller-Weiß",
        "identityType": "name",
    }
    assert subject["identifier"][1]["identityType"] == "sisSourcedId"
    assert subject["achievement"]["version"] == "1"  # the credential names the course version
    assert subject["activityEndDate"] == "2025-06-27T00:00:00Z"
    assert subject["result"][0]["value"] == allowed_grades(template)[0]
    assert stored["validFrom"] == "2025-07-01T09:30:00Z"
    assert "learner0@uni.example" not in record.document  # the address is for delivery, not in the credential

    collected = Collected()
    again = run(store, course, roster, collected)  # the same roster, a day later
    assert (again.intake.queued, sum(again.intake.duplicates.values()), again.refused) == (0, 5, 0)
    assert len(collected.duplicates) == 5
    assert store.queued_count() == 5


def test_the_same_roster_in_other_delimiters_and_encodings_gives_the_same_credentials(
    sqlite_store: Store, template: dict[str, Any], tmp_path: Path
) -> None:
    course = courses.save_course(sqlite_store, "c", template)[0]
    rows = [HEADER, *good_rows(template, 4)]
    variants = {
        "comma.csv": {"delimiter": ","},
        "semicolon.csv": {"delimiter": ";"},
        "tab.tsv": {"delimiter": "\t"},
        "bom.csv": {"bom": True},
        "utf16.csv": {"encoding": "utf-16-le", "bom": True},
    }
    seen = set()
    for name, options in variants.items():
        summary = run(sqlite_store, course, write_csv(tmp_path / name, rows, **options))
        assert summary.refused == 0, name
        names = tuple(sample["credentialSubject"]["identifier"][0]["identityHash"] for sample in summary.samples)
        seen.add(names)
    assert seen == {("Jürgen Müller-Weiß", "Zoë Ångström", "Łukasz Żółć")}
    assert sqlite_store.queued_count() == 4  # the later files were the same learners: duplicates


def test_a_legacy_encoding_is_read_when_named_and_refused_when_not(
    sqlite_store: Store, template: dict[str, Any], tmp_path: Path
) -> None:
    course = courses.save_course(sqlite_store, "c", template)[0]
    grade = allowed_grades(template)[0]
    roster = write_csv(
        tmp_path / "excel-export.csv",
        [["Name", "Grade"], ["Anaïs Lefèvre-Çelik", grade], ["Jérôme Dupré", grade]],
        delimiter=";",
        encoding="cp1252",
    )
    with pytest.raises(InvalidInputError) as refused:
        run(sqlite_store, course, roster)
    message = str(refused.value)
    assert "line 2" in message
    assert "byte 0xef" in message
    assert "--encoding" in message
    assert "as cp1252: 'Anaïs Lefèvre-Çelik" in message  # shown the way the right encoding reads it
    assert sqlite_store.queued_count() == 0
    summary = run(sqlite_store, course, roster, encoding="cp1252")
    assert summary.intake.queued == 2
    assert summary.detail.startswith("cp1252")
    assert summary.samples[0]["credentialSubject"]["identifier"][0]["identityHash"] == "Anaïs Lefèvre-Çelik"
    with pytest.raises(InvalidInputError, match="unknown encoding"):
        run(sqlite_store, course, roster, encoding="klingon")


def test_columns_are_found_by_name_and_by_map(sqlite_store: Store, template: dict[str, Any], tmp_path: Path) -> None:
    course = courses.save_course(sqlite_store, "c", template)[0]
    grade = allowed_grades(template)[1]
    roster = write_csv(
        tmp_path / "sis.csv",
        [
            ["Vorname", "Nachname", "Matrikelnummer", "Note", "e-mail address", "Personalausweis", "Kommentar"],
            ["Bärbel", "Schön", "2024-004711", grade, "b.schoen@uni.example", "T220001293", "internal remark"],
        ],
    )
    summary = run(
        sqlite_store,
        course,
        roster,
        mapping=rosters.parse_mapping(
            [
                "Vorname=given_name",
                "Nachname=family_name",
                "Matrikelnummer=student_id",
                "Note=grade",
                "Personalausweis=identifier:nationalIdentityNumber",
            ]
        ),
    )
    assert summary.refused == 0
    assert summary.unused_columns == ("Kommentar",)  # never put in a credential unless mapped
    subject = summary.samples[0]["credentialSubject"]
    assert [(item["identityType"], item["identityHash"]) for item in subject["identifier"]] == [
        ("name", "Bärbel Schön"),
        ("sisSourcedId", "2024-004711"),
        ("nationalIdentityNumber", "T220001293"),
    ]
    assert "internal remark" not in json.dumps(summary.samples)
    with pytest.raises(InvalidInputError, match="not a roster field"):
        rosters.parse_mapping(["Note=note"])
    with pytest.raises(InvalidInputError, match="not an Open Badges identity type"):
        rosters.parse_mapping(["X=identifier:shoeSize"])


# ---------------------------------------------------------------------------------------------- bad input


def test_every_bad_row_is_reported_with_row_column_and_value_and_nothing_is_queued(
    store: Store, course: Course, template: dict[str, Any], tmp_path: Path
) -> None:
    good = good_rows(template, 3)
    bad = [
        HEADER,
        good[0],
        ["", "nobody@uni.example", "S9", good[0][3], "2025-06-27"],  # row 3: no name
        ["Foo Bar", "foo@bar", "S10", good[0][3], "2025-06-27"],  # row 4: not an address
        ["Ann Example", "ann@uni.example", "S11", "7,5", "2025-06-27"],  # row 5: not an allowed grade (schema)
        ["Bob Example", "bob@uni.example", "S12", good[0][3], "2025-02-30"],  # row 6: no such day
        [good[0][0], "other@uni.example", good[0][2], good[0][3], "2025-06-27"],  # row 7: the learner of row 2
        good[1],
        ["Eve Example", "eve@uni.example", "S13", good[0][3], "27/06/2025"],  # row 9: ambiguous date
        ["Mal Example", "mal..x@uni.example", "S14", good[0][3], "2025-06-27", "extra"],  # row 10: two problems
    ]
    collected = Collected()
    summary = run(store, course, write_csv(tmp_path / "bad.csv", bad), collected)
    assert summary.refused == 7
    assert not summary.committed
    assert store.queued_count() == 0
    assert store.roster_entries(course.course_id, ["0x" + "0" * 64]) == {}
    problems = collected.rows()
    assert sorted(problems) == [3, 4, 5, 6, 7, 9, 10]
    assert problems[3] == ["column 'Name': empty: every learner needs a name"]
    assert problems[4][0].startswith("column 'E-Mail': \"foo@bar\": the domain 'bar' has no dot")
    assert problems[5][0].startswith(
        "column 'Grade' (/credentialSubject/result/0/value): \"7,5\" is not an allowedValue"
    )
    assert problems[6] == ["column 'End date': \"2025-02-30\": not a real date"]
    assert problems[7] == ["column 'Student ID': the same learner as row 2"]
    assert "not a date (YYYY-MM-DD or DD.MM.YYYY)" in problems[9][0]
    assert any("the row has 6 cells, the header 5" in text for text in problems[10])
    assert any("column 'E-Mail': \"mal..x@uni.example\"" in text for text in problems[10])

    partial = run(store, course, write_csv(tmp_path / "bad.csv", bad), partial=True)
    assert partial.intake.queued == 2  # rows 2 and 8
    assert store.queued_count() == 2


def test_a_roster_without_a_name_column_or_with_clashing_columns_is_refused(
    sqlite_store: Store, template: dict[str, Any], tmp_path: Path
) -> None:
    course = courses.save_course(sqlite_store, "c", template)[0]
    with pytest.raises(InvalidInputError, match="no column for the learner's name") as refused:
        run(sqlite_store, course, write_csv(tmp_path / "a.csv", [["Mail", "Grade"], ["a@uni.example", "1,0"]]))
    assert "columns: 'Mail', 'Grade'" in str(refused.value)
    with pytest.raises(InvalidInputError, match="'Name' and 'Full name' are both the field 'name'"):
        run(sqlite_store, course, write_csv(tmp_path / "b.csv", [["Name", "Full name"], ["A", "A"]]))
    with pytest.raises(InvalidInputError, match="column 2 has no name"):
        run(sqlite_store, course, write_csv(tmp_path / "c.csv", [["Name", "", "Grade"], ["A", "x", "1,0"]]))
    with pytest.raises(InvalidInputError, match="the roster has no column 'Note'"):
        run(sqlite_store, course, write_csv(tmp_path / "d.csv", [["Name"], ["A"]]), mapping={"Note": "grade"})
    with pytest.raises(InvalidInputError, match="the roster is empty"):
        run(sqlite_store, course, write_csv(tmp_path / "e.csv", []))
    assert sqlite_store.queued_count() == 0


def test_a_grade_column_needs_a_course_that_says_what_grades_mean(
    sqlite_store: Store, template: dict[str, Any], tmp_path: Path
) -> None:
    del template["achievement"]["resultDescription"]
    course = courses.save_course(sqlite_store, "ungraded", template)[0]
    with pytest.raises(InvalidInputError, match=r"has no achievement\.resultDescription"):
        run(sqlite_store, course, write_csv(tmp_path / "r.csv", [["Name", "Grade"], ["A", "1,0"]]))
    summary = run(sqlite_store, course, write_csv(tmp_path / "s.csv", [["Name", "Status"], ["A", "completed"]]))
    assert summary.samples[0]["credentialSubject"]["result"] == [{"type": ["Result"], "status": "Completed"}]


def test_a_200_mb_roster_is_refused_by_its_size_before_it_is_read(
    sqlite_store: Store, template: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = courses.save_course(sqlite_store, "c", template)[0]
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as stream:  # sparse: 200 MB on paper, nothing on disk
        stream.write(b"Name\n")
        stream.truncate(200 * 1024 * 1024)
    opened: list[str] = []
    real_open = Path.open

    def spying_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spying_open)
    started = time.monotonic()
    with pytest.raises(InvalidInputError, match=r"209,715,200 bytes, more than the limit of 67,108,864"):
        run(sqlite_store, course, huge)
    assert time.monotonic() - started < 1
    assert str(huge) not in opened


def test_rows_beyond_the_cap_are_refused(
    sqlite_store: Store, template: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = courses.save_course(sqlite_store, "c", template)[0]
    monkeypatch.setattr(rosters, "MAX_ROSTER_ROWS", 3)
    roster = write_csv(tmp_path / "r.csv", [HEADER, *good_rows(template, 4)])
    with pytest.raises(InvalidInputError, match="more than 3 learner rows"):
        run(sqlite_store, course, roster)
    assert sqlite_store.queued_count() == 0


def test_binary_and_broken_csv_files_are_refused(sqlite_store: Store, template: dict[str, Any], tmp_path: Path) -> None:
    course = courses.save_course(sqlite_store, "c", template)[0]
    utf16 = tmp_path / "utf16-no-bom.csv"
    utf16.write_bytes("Name\nAnn\n".encode("utf-16-le"))
    with pytest.raises(InvalidInputError, match="NUL characters"):
        run(sqlite_store, course, utf16)
    quotes = tmp_path / "quotes.csv"
    quotes.write_text('Name,Grade\n"Ann" Example,1,0\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match="row 2: not readable as CSV"):
        run(sqlite_store, course, quotes)
    old_excel = tmp_path / "old.xls"
    old_excel.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(InvalidInputError, match=r"old binary Excel file \(.xls\)"):
        run(sqlite_store, course, old_excel)


def test_control_characters_in_cells_are_refused(sqlite_store: Store, template: dict[str, Any], tmp_path: Path) -> None:
    course = courses.save_course(sqlite_store, "c", template)[0]
    collected = Collected()
    roster = write_csv(tmp_path / "r.csv", [["Name", "Student ID"], ["Ann\x1b[31mExample", "1"], ["Bob\nExample", "2"]])
    summary = run(sqlite_store, course, roster, collected)
    assert summary.refused == 2
    assert all("control character" in texts[0] for texts in collected.rows().values())


def test_the_delimiter_is_sniffed_in_bounded_time(
    sqlite_store: Store, template: dict[str, Any], tmp_path: Path
) -> None:
    """csv.Sniffer's patterns take time quadratic in the sample: 3 s for 16 KiB of quotes. Only a few lines go in."""
    course = courses.save_course(sqlite_store, "c", template)[0]
    hostile = tmp_path / "quotes.csv"
    hostile.write_text("Name\n" + ',"a' * 300_000 + "\n", encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(InvalidInputError, match="row 2: not readable as CSV"):
        run(sqlite_store, course, hostile)
    assert time.monotonic() - started < 2


# ---------------------------------------------------------------------------------------------- Excel


def test_excel_values_are_read_never_formulas_and_text_starting_with_equals_stays_text(
    sqlite_store: Store, template: dict[str, Any], tmp_path: Path
) -> None:
    course = courses.save_course(sqlite_store, "c", template)[0]
    grades = allowed_grades(template)
    path = write_xlsx(
        tmp_path / "results.xlsx",
        [
            ["Name", "Student ID", "Grade", "Credits", "End date"],
            ['=HYPERLINK("http://evil.example","Ann")', 20240001, grades[0], "=1+2", datetime(2025, 6, 27, 14, 0)],
            ["Bob Example", 20240002, grades[1], 2, datetime(2025, 6, 28)],
        ],
    )
    # What Excel saves: the formula with its computed value; and a text cell that merely starts with '='.
    formula = '<f>HYPERLINK("http://evil.example","Ann")</f>'
    patch_sheet(
        path,
        {
            f'<c r="A2">{formula}<v></v></c>': f'<c r="A2" t="str">{formula}<v>Ann Example</v></c>',
            '<c r="D2"><f>1+2</f><v></v></c>': '<c r="D2"><f>1+2</f><v>3</v></c>',
            '<c r="A3" t="inlineStr"><is><t>Bob Example</t></is></c>': (
                '<c r="A3" t="inlineStr"><is><t>=SUM(A1:A2)</t></is></c>'
            ),
        },
    )
    collected = Collected()
    summary = run(sqlite_store, course, path, collected)
    assert summary.refused == 0, collected.rows()
    assert summary.kind == "Excel"
    first, second = summary.samples
    assert first["credentialSubject"]["identifier"][0]["identityHash"] == "Ann Example"  # the value, not the formula
    assert first["credentialSubject"]["identifier"][1]["identityHash"] == "20240001"  # a number as written
    assert first["credentialSubject"]["creditsEarned"] == 3
    assert first["credentialSubject"]["activityEndDate"] == "2025-06-27T14:00:00Z"
    assert second["credentialSubject"]["identifier"][0]["identityHash"] == "=SUM(A1:A2)"  # text stays text
    assert "evil.example" not in json.dumps(summary.samples)


def test_excel_error_cells_are_reported(sqlite_store: Store, template: dict[str, Any], tmp_path: Path) -> None:
    course = courses.save_course(sqlite_store, "c", template)[0]
    path = write_xlsx(tmp_path / "errors.xlsx", [["Name", "Credits"], ["Ann Example", "=1/0"]])
    patch_sheet(path, {'<c r="B2"><f>1/0</f><v></v></c>': '<c r="B2" t="e"><f>1/0</f><v>#DIV/0!</v></c>'})
    collected = Collected()
    summary = run(sqlite_store, course, path, collected)
    assert summary.refused == 1
    assert collected.rows() == {
        2: ["column 'Credits': \"#DIV/0!\": the cell holds the error #DIV/0! (a formula that failed in Excel)"]
    }


def test_an_excel_file_that_unpacks_too_far_is_refused_before_openpyxl_reads_it(
    sqlite_store: Store, template: dict[str, Any], tmp_path: Path
) -> None:
    course = courses.save_course(sqlite_store, "c", template)[0]
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"<sst>" + b" " * (80 << 20) + b"</sst>")
    assert bomb.stat().st_size < 200_000
    with pytest.raises(InvalidInputError, match="unpacks to 83,886,091 bytes"):
        run(sqlite_store, course, bomb)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    with pytest.raises(InvalidInputError, match="not a readable Excel file"):
        run(sqlite_store, course, broken)


def test_an_entity_expansion_bomb_in_a_worksheet_is_refused_cleanly(
    sqlite_store: Store, template: dict[str, Any], tmp_path: Path
) -> None:
    course = courses.save_course(sqlite_store, "c", template)[0]
    path = write_xlsx(tmp_path / "laughs.xlsx", [["Name"], ["Ann Example"]])
    entities = '<!ENTITY lol0 "lollollollollollollollollollol">' + "".join(
        f'<!ENTITY lol{level} "{("&lol" + str(level - 1) + ";") * 10}">' for level in range(1, 10)
    )
    patch_sheet(
        path,
        {
            "<worksheet ": f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]><worksheet ',
            "<t>Ann Example</t>": "<t>&lol9;</t>",
        },
    )
    started = time.monotonic()
    with pytest.raises(InvalidInputError, match=r"not a readable Excel (worksheet|workbook)"):
        run(sqlite_store, course, path)
    assert time.monotonic() - started < 5
    assert sqlite_store.queued_count() == 0


# ---------------------------------------------------------------------------------------------- versions, dry run


def test_a_new_course_version_leaves_learners_issued_from_an_earlier_one_alone(
    store: Store, course: Course, template: dict[str, Any], tmp_path: Path
) -> None:
    roster = write_csv(tmp_path / "r.csv", [HEADER, *good_rows(template, 2)])
    assert run(store, course, roster).intake.queued == 2
    changed = {**template, "description": "A changed description: a new version."}
    version_2, created = courses.save_course(store, course.course_id, changed)
    assert (version_2.version, created) == (2, True)
    late = write_csv(tmp_path / "late.csv", [HEADER, *good_rows(template, 3)])  # the same two and one more
    earlier: list[str] = []
    summary = rosters.import_roster(
        store, version_2, late, now=NOW, on_issued_earlier=lambda source, entry: earlier.append(source)
    )
    assert (summary.issued_earlier, summary.intake.queued) == (2, 1)
    assert earlier == [f"{late}: row 2", f"{late}: row 3"]
    assert summary.samples[0]["credentialSubject"]["achievement"]["version"] == "2"


def test_progress_counts_every_row_and_ends_at_the_total_when_rows_are_refused_or_issued_earlier(
    sqlite_store: Store, template: dict[str, Any], tmp_path: Path
) -> None:
    course = courses.save_course(sqlite_store, "course-p", template)[0]
    good = good_rows(template, 6)
    assert run(sqlite_store, course, write_csv(tmp_path / "first.csv", [HEADER, *good[:2]])).intake.queued == 2
    version_2 = courses.save_course(sqlite_store, course.course_id, {**template, "description": "Version 2."})[0]
    rows = [HEADER, *good[:2], ["", "x@uni.example", "S900", good[0][3], "2025-06-27"], *good[2:]]  # 2 earlier, 1 bad
    reported: list[tuple[int, int | None]] = []
    summary = run(
        sqlite_store,
        version_2,
        write_csv(tmp_path / "second.csv", rows),
        partial=True,
        on_progress=lambda done, total: reported.append((done, total)),
    )
    assert (summary.issued_earlier, summary.refused_rows, summary.intake.queued) == (2, 1, 4)
    assert reported[-1] == (7, 7)  # all seven rows, not the four that reached intake
    assert [done for done, _ in reported] == sorted(done for done, _ in reported)


def test_a_dry_run_checks_everything_and_queues_nothing(
    store: Store, course: Course, template: dict[str, Any], tmp_path: Path
) -> None:
    rows = [HEADER, *good_rows(template, 4), ["Ann Example", "ann@uni.example", "S77", "9,9", ""]]
    collected = Collected()
    summary = run(store, course, write_csv(tmp_path / "r.csv", rows), collected, dry_run=True)
    assert summary.dry_run
    assert not summary.committed
    assert len(summary.samples) == rosters.SAMPLE_CREDENTIALS
    assert summary.intake.invalid == 1
    assert list(collected.rows()) == [6]
    assert store.queued_count() == 0
    clean = run(store, course, write_csv(tmp_path / "s.csv", rows[:-1]), dry_run=True)
    assert clean.refused == 0
    assert not clean.committed
    assert store.queued_count() == 0
    assert store.roster_entries(course.course_id, []) == {}


def test_a_changed_address_is_recorded_on_reimport(
    store: Store, course: Course, template: dict[str, Any], tmp_path: Path
) -> None:
    rows = [HEADER, *good_rows(template, 2)]
    first = run(store, course, write_csv(tmp_path / "r.csv", rows))
    keys = list(store.roster_entries(course.course_id, _all_keys(store, course)).keys())
    rows[1][1] = "new.address@uni.example"
    rows[2][1] = ""
    second = run(store, course, write_csv(tmp_path / "r.csv", rows))
    assert second.intake.queued == 0
    assert sum(second.intake.duplicates.values()) == 2
    entries = store.roster_entries(course.course_id, keys)
    by_credential = {entry.credential_id: entry for entry in entries.values()}
    assert by_credential[first.samples[0]["id"]].email == "new.address@uni.example"
    assert by_credential[first.samples[1]["id"]].email is None


def _all_keys(store: Store, course: Course) -> list[str]:
    from sqlalchemy import select

    from anchor.issuing.store.schema import _roster_entries

    with store._transaction() as connection:
        return list(connection.execute(select(_roster_entries.c.learner_key)).scalars())


# ---------------------------------------------------------------------------------------------- signing at intake


def did_key_signer() -> IntakeSigner:
    """An intake signer with a fresh did:key."""
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    return IntakeSigner.now(did_key(public), did_key_verification_method(public), key.private_bytes_raw())


def test_roster_credentials_are_signed_at_intake_like_any_other(
    store: Store, template: dict[str, Any], tmp_path: Path
) -> None:
    signer = did_key_signer()
    roster = write_csv(tmp_path / "r.csv", [HEADER, *good_rows(template, 2)])
    foreign = courses.save_course(store, "foreign", template)[0]
    with pytest.raises(InvalidInputError, match="is not the DID this issuer signs with"):
        run(store, foreign, roster, signer=signer)
    ours = courses.save_course(store, "ours", {**template, "issuer": {**template["issuer"], "id": signer.did}})[0]
    summary = run(store, ours, roster, signer=signer)
    assert summary.intake.queued == 2
    record = store.find_credential(summary.samples[0]["id"])
    assert record is not None
    stored = json.loads(record.document)
    assert stored["anchorFormat"] == "anchor-credential-v3"
    (proof,) = stored["proof"]
    assert (proof["type"], proof["verificationMethod"]) == ("DataIntegrityProof", signer.verification_method)
    again = run(
        store, ours, roster, signer=IntakeSigner.now(signer.did, signer.verification_method, signer.private_key)
    )
    assert (again.intake.queued, sum(again.intake.duplicates.values())) == (0, 2)  # signed again: still the same


def test_status_entries_are_reserved_only_by_a_run_that_can_queue(
    store: Store, template: dict[str, Any], tmp_path: Path
) -> None:
    signer = did_key_signer()
    course = courses.save_course(store, "c", {**template, "issuer": {**template["issuer"], "id": signer.did}})[0]
    source = status_entry_source(store, signer.did, "https://uni.example/status", 131_072)
    asked: list[int] = []

    def entries(count: int) -> list[dict[str, str]]:
        asked.append(count)
        return source(count)

    good = [HEADER, *good_rows(template, 2)]
    bad = [*good, ["", "x@uni.example", "S99", good[1][3], ""]]
    run(store, course, write_csv(tmp_path / "bad.csv", bad), signer=signer, status_entries=entries)
    run(store, course, write_csv(tmp_path / "good.csv", good), signer=signer, status_entries=entries, dry_run=True)
    assert asked == []  # nothing could be queued: no entry used up
    summary = run(store, course, write_csv(tmp_path / "good.csv", good), signer=signer, status_entries=entries)
    assert summary.intake.queued == 2
    assert sum(asked) == 2
    record = store.find_credential(summary.samples[0]["id"])
    assert record is not None
    assert json.loads(record.document)["credentialStatus"]["type"] == "BitstringStatusListEntry"


# ---------------------------------------------------------------------------------------------- intake's entry point


def test_issue_credentials_queues_nothing_when_the_caller_says_no(sqlite_store: Store) -> None:
    from anchor.credentials.examples import generate_credentials

    items = [(f"item {n}", credential) for n, credential in enumerate(generate_credentials(3, seed=3, salted=False))]
    asked: list[int] = []

    def refuse() -> bool:
        asked.append(1)
        return False

    summary = intake.issue_credentials(sqlite_store, items, before_queue=refuse)
    assert (summary.inputs, summary.committed, asked) == (3, False, [1])
    assert sqlite_store.queued_count() == 0
    summary = intake.issue_credentials(sqlite_store, items, before_queue=lambda: True)
    assert summary.queued == 3
    broken = [("lone", {**items[0][1], "name": "\ud800"})]
    rejected: list[intake.Rejected] = []
    assert intake.issue_credentials(sqlite_store, broken, on_rejected=rejected.append).invalid == 1
    assert "surrogate" in rejected[0].message


# ---------------------------------------------------------------------------------------------- e-mail addresses


@pytest.mark.parametrize(
    "address",
    ["ann@uni.example", "Ann.O'Neil+mc@sub.uni.example", "x@xn--bcher-kva.example", "j@bücher.example", "a@b.co"],
)
def test_good_addresses(address: str) -> None:
    parsed = parse_email(f"  {address} ")
    assert parsed.ascii.isascii()
    assert parsed.text == address.split("@")[0] + "@" + address.split("@")[1].lower()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("", "empty"),
        ("ann", "exactly one '@'"),
        ("ann@@uni.example", "exactly one '@'"),
        ("@uni.example", "nothing before"),
        ("ann@", "nothing after"),
        ("ann@localhost", "no dot"),
        (".ann@uni.example", "starts nor ends with a dot"),
        ("an..n@uni.example", "two in a row"),
        ("ann@uni..example", "empty label"),
        ("ann@-uni.example", "starts or ends with '-'"),
        ("ann@uni.123", "ends in a number"),
        ("an n@uni.example", "no blanks"),
        ("ann@uni.example\r\nBcc: all@uni.example", "no blanks or control"),
        ("jörg@uni.example", "non-ASCII letter"),
        ("ann@[192.0.2.1]", "address literals"),
        ("ann@uni_x.example", "only letters, digits and '-'"),
        ("a" * 65 + "@uni.example", "at most 64"),
        ("a@" + "b" * 250 + ".example", "at most 254"),
    ],
)
def test_bad_addresses_say_what_is_wrong(address: str, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason.replace("(", r"\(").replace("[", r"\[")):
        parse_email(address)


def test_address_checks_take_linear_time() -> None:
    for hostile in ("a" * 250 + "@", "." * 250, "a@" + "a." * 120, "@" * 254, "a@" + "-" * 250):
        started = time.monotonic()
        with pytest.raises(InvalidInputError):
            parse_email(hostile)
        assert time.monotonic() - started < 0.05
