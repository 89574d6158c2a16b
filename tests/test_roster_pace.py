"""A roster's pace: rows checked while intake takes the ones before, learners recorded through the driver.

The checks themselves are test_rosters.py's; here, that the faster path keeps them: a bad or duplicate row
late in a roster still queues nothing (the queue's transaction, already taking rows, is rolled back), and
the learners go in with the credentials or not at all, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from anchor.credentials.examples import generate_credentials
from anchor.errors import InvalidInputError
from anchor.issuing import courses, intake, rosters
from anchor.issuing.courses import Course, Learner
from anchor.issuing.email_addresses import _ascii_domain, parse_email
from anchor.issuing.store import RosterEntry, Store
from anchor.issuing.store.engine import SQLITE_LARGE_WRITE_CACHE_KIB

from support.db import BACKENDS, fresh_database
from support.rosters import allowed_grades, course_template, write_csv

NOW = datetime(2025, 7, 1, 9, 30, tzinfo=UTC)
HEADER = ["Name", "E-Mail", "Student ID", "Grade", "End date"]
ROWS = 1200
"""More than one look-up chunk and two queue chunks (500 each)."""


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with fresh_database(request.param, tmp_path) as url, Store(url) as opened:
        yield opened


@pytest.fixture
def template() -> dict[str, Any]:
    return course_template("DE")


@pytest.fixture
def course(store: Store, template: dict[str, Any]) -> Course:
    return courses.save_course(store, "datenkompetenz", template)[0]


def rows(template: dict[str, Any], count: int = ROWS) -> list[list[str]]:
    grades = allowed_grades(template)
    return [
        [f"Zoë Ångström {n}", f"learner{n}@uni.example", f"S{n:06}", grades[n % len(grades)], "2025-06-27"]
        for n in range(count)
    ]


def counts(store: Store) -> tuple[int, int]:
    """(credentials, roster entries) in the database."""
    with store._transaction() as connection:
        queued = connection.execute(text("SELECT count(*) FROM credentials")).scalar_one()
        learners = connection.execute(text("SELECT count(*) FROM roster_entries")).scalar_one()
    return int(queued), int(learners)


def test_rows_are_checked_while_the_queue_takes_the_ones_before(
    store: Store, course: Course, template: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The serial part of the main process overlaps the queue: rows are still being checked once the queue's
    transaction has begun (before, every row was checked first, then intake began)."""
    roster = write_csv(tmp_path / "roster.csv", [HEADER, *rows(template)])
    events: list[str] = []
    parse_row, queue_rows = rosters._parse_row, store.queue_rows

    def parse(*args: Any) -> Any:
        events.append("row")
        return parse_row(*args)

    def queue(*args: Any, **kwargs: Any) -> Any:
        events.append("queue")
        return queue_rows(*args, **kwargs)

    monkeypatch.setattr(rosters, "_parse_row", parse)
    monkeypatch.setattr(store, "queue_rows", queue)
    summary = rosters.import_roster(store, course, roster, workers=1, now=NOW)
    assert summary.intake.queued == ROWS
    assert summary.new_learners == ROWS
    assert summary.with_email == ROWS
    assert events.count("row") == ROWS
    assert events.index("queue") < ROWS // 2, "the queue began only after most rows were checked"
    assert counts(store) == (ROWS, ROWS)


@pytest.mark.parametrize("late", ["bad", "duplicate"])
def test_a_late_refused_row_queues_nothing(
    store: Store, course: Course, template: dict[str, Any], tmp_path: Path, late: str
) -> None:
    """A refused row after the queue took hundreds of rows: every error reported (row, column, value), then
    nothing queued and no learner recorded; with ``partial`` the others are."""
    table = rows(template)
    table[ROWS - 3][4] = "31.02.2025"  # row ROWS - 1 (the header is row 1): not a real date
    if late == "duplicate":
        table[ROWS - 1][2] = table[10][2]  # the last row: the student of row 12
        table[ROWS - 1][0], table[ROWS - 1][1] = table[10][0], table[10][1]
    roster = write_csv(tmp_path / "roster.csv", [HEADER, *table])
    refused: list[intake.Rejected] = []
    summary = rosters.import_roster(store, course, roster, workers=1, now=NOW, on_rejected=refused.append)
    expected = {ROWS - 1: "column 'End date'"} | ({ROWS + 1: "column 'Student ID'"} if late == "duplicate" else {})
    assert {int(item.source.rsplit(" ", 1)[1]): str(item.problems[0]) for item in refused}.keys() == expected.keys()
    for item in refused:
        assert str(item.problems[0]).startswith(expected[int(item.source.rsplit(" ", 1)[1])])
    assert '"31.02.2025": not a real date' in str(refused[0])
    if late == "duplicate":
        assert "the same learner as row 12" in str(refused[-1])
    assert summary.refused_rows == len(expected)
    assert not summary.committed
    assert summary.intake.queued == 0
    assert counts(store) == (0, 0)

    again = rosters.import_roster(store, course, roster, workers=1, now=NOW, partial=True)
    assert again.committed
    assert again.intake.queued == ROWS - len(expected)
    assert counts(store) == (ROWS - len(expected), ROWS - len(expected))
    third = rosters.import_roster(store, course, roster, workers=1, now=NOW, partial=True)
    assert third.intake.queued == 0
    assert sum(third.intake.duplicates.values()) == ROWS - len(expected)
    assert counts(store) == (ROWS - len(expected), ROWS - len(expected))


def test_learners_are_recorded_through_the_driver(store: Store, course: Course) -> None:
    """Roster entries are inserted and looked up with positional DB-API statements, not statements SQLAlchemy
    compiles with a dict per row; what they record is the same, a known learner keeps their credential and
    gets their new address."""
    compiled: list[str] = []

    def watch(connection: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "roster_entries" in statement and context is not None and context.compiled is not None:
            compiled.append(statement)

    entries = [
        RosterEntry(
            f"urn:uuid:00000000-0000-4000-8000-{n:012}",
            course.course_id,
            course.version,
            f"0x{n:064x}",
            None,
            "2025-07-01T00:00:00Z",
        )
        for n in range(ROWS)
    ]
    event.listen(store.engine, "before_cursor_execute", watch)
    try:
        assert store.save_roster_entries(entries) == (ROWS, 0)
        moved = [replace(entry, email="new@uni.example") for entry in entries[:3]]
        assert store.save_roster_entries(moved + entries[3:]) == (0, 3)
        found = store.roster_entries(course.course_id, [entry.learner_key for entry in entries] + ["0x" + "f" * 64])
    finally:
        event.remove(store.engine, "before_cursor_execute", watch)
    assert compiled == []
    assert found == {entry.learner_key: entry for entry in moved + entries[3:]}
    assert store.roster_entries("another-course", [entries[0].learner_key]) == {}


def test_the_queue_takes_a_large_page_cache_and_gives_it_back(
    template: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: the queue's transaction runs with a large page cache (its index pages are not spilled to the log
    and read back), and the connection returns to the pool with SQLite's default (no other transaction keeps
    that memory)."""
    with Store(f"sqlite:///{tmp_path / 'issuer.db'}") as store:
        course = courses.save_course(store, "datenkompetenz", template)[0]
        roster = write_csv(tmp_path / "roster.csv", [HEADER, *rows(template, 3)])
        seen: list[int] = []

        def watch(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.startswith("INSERT INTO credentials "):
                seen.append(cursor.connection.execute("PRAGMA cache_size").fetchone()[0])

        event.listen(store.engine, "before_cursor_execute", watch)
        summary = rosters.import_roster(store, course, roster, workers=1, now=NOW)
        assert summary.intake.queued == 3
        assert seen == [-SQLITE_LARGE_WRITE_CACHE_KIB]
        assert SQLITE_LARGE_WRITE_CACHE_KIB >= 32 << 10
        for _ in range(3):  # whichever pooled connection is handed out
            with store._transaction() as connection:
                assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == -2000
        # Credentials alone (a directory of files) keep the default: the large cache cost them time.
        items = [
            (f"item {n}", credential) for n, credential in enumerate(generate_credentials(3, seed=5, salted=False))
        ]
        assert intake.issue_credentials(store, items).queued == 3
        assert seen == [-SQLITE_LARGE_WRITE_CACHE_KIB, -2000]


def test_an_in_memory_database_checks_every_row_first(template: dict[str, Any], tmp_path: Path) -> None:
    """SQLite in memory has one connection: the learners' look-ups cannot run beside the queue's transaction
    ("cannot start a transaction within a transaction" if they did), so its rows are all checked first."""
    with Store("sqlite://") as store:
        course = courses.save_course(store, "datenkompetenz", template)[0]
        roster = write_csv(tmp_path / "roster.csv", [HEADER, *rows(template, 5)])
        first = rosters.import_roster(store, course, roster, workers=1, now=NOW)
        assert first.intake.queued == 5
        again = rosters.import_roster(store, course, roster, workers=1, now=NOW)
        assert again.intake.queued == 0
        assert dict(again.intake.duplicates) == {"queued": 5}
        assert counts(store) == (5, 5)


def test_learners_are_recorded_as_their_credentials_go_in(
    store: Store, course: Course, template: dict[str, Any], tmp_path: Path
) -> None:
    """The learners of each chunk of rows are recorded with it, in the queue's transaction (before, all of them
    after the last chunk: a serial tail while the workers had nothing left to do); still all or nothing."""
    roster = write_csv(tmp_path / "roster.csv", [HEADER, *rows(template)])
    inserts: list[str] = []

    def watch(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        for table in ("credentials", "roster_entries"):
            if statement.startswith(f"INSERT INTO {table} "):
                inserts.append(table)

    event.listen(store.engine, "before_cursor_execute", watch)
    try:
        summary = rosters.import_roster(store, course, roster, workers=1, now=NOW)
    finally:
        event.remove(store.engine, "before_cursor_execute", watch)
    assert summary.intake.queued == ROWS
    assert inserts.index("roster_entries") < len(inserts) - 1 - inserts[::-1].index("credentials")
    assert counts(store) == (ROWS, ROWS)


def test_a_rows_payload_crosses_the_pipe_without_python_code(template: dict[str, Any]) -> None:
    """What crosses the pipe to intake's workers for a row (its learner, credential id, date) pickles and
    unpickles in C but for a call or two a row (a named tuple's ``__getnewargs__``; a frozen dataclass ran its
    ``__getstate__`` and ``__setstate__`` in Python, field by field, 29 calls a row: measured, three times the
    CPU), and the worker makes the same credential of it."""
    grade = allowed_grades(template)[0]
    jobs = [
        (
            f"roster.csv: row {n + 2}",
            (
                Learner(f"Zoë Ångström {n}", (("sisSourcedId", f"S{n:06}"),), grade=grade),
                f"urn:uuid:00000000-0000-4000-8000-{n:012}",
                "2025-07-01T00:00:00Z",
            ),
            None,
        )
        for n in range(64)
    ]  # a task of intake's: 64 rows
    calls: list[str] = []

    def count(frame: Any, what: str, arg: Any) -> None:
        if what == "call":
            calls.append(frame.f_code.co_name)

    sys.setprofile(count)
    try:
        again = pickle.loads(pickle.dumps(jobs, protocol=pickle.HIGHEST_PROTOCOL))
    finally:
        sys.setprofile(None)
    assert again == jobs
    assert len(calls) <= 2 * len(jobs) + 2, sorted(set(calls))  # a dataclass: 29 a row
    payload = jobs[0][1]
    course = Course("datenkompetenz", 1, template)
    assert rosters._CourseCredential(course)(pickle.loads(pickle.dumps(payload))) == rosters._CourseCredential(course)(
        payload
    )


def test_a_rosters_domains_are_checked_once() -> None:
    """The domain of an address is checked (and put in IDNA form) once per domain, not once per row."""
    _ascii_domain.cache_clear()
    addresses = [parse_email(f"learner{n}@Uni-Würzburg.example") for n in range(50)]
    assert {address.ascii_domain for address in addresses} == {"xn--uni-wrzburg-xhb.example"}
    assert _ascii_domain.cache_info().misses == 1
    with pytest.raises(InvalidInputError, match="no dot"):
        parse_email("learner@localhost")
    with pytest.raises(InvalidInputError, match="no dot"):  # refused each time, never remembered as good
        parse_email("learner@localhost")


def test_workers_take_tasks_large_enough_to_stay_busy(
    template: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Intake's worker processes take up to 256 inputs at a time, 8 tasks a process at least (64 before: between
    two of this process's turns, which also reads, checks and queues, the few tasks the pool keeps queued ran
    out)."""
    sizes: list[int] = []
    submit = ProcessPoolExecutor.submit

    def watched(self: ProcessPoolExecutor, function: Any, *args: Any, **kwargs: Any) -> Any:
        sizes.append(len(args[0]))
        return submit(self, function, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", watched)
    count = intake.PARALLEL_FROM + 100
    with Store(f"sqlite:///{tmp_path / 'issuer.db'}") as store:
        course = courses.save_course(store, "datenkompetenz", template)[0]
        roster = write_csv(tmp_path / "roster.csv", [HEADER, *rows(template, count)])
        summary = rosters.import_roster(store, course, roster, workers=2, now=NOW)
        assert summary.intake.queued == count
        assert counts(store) == (count, count)
    assert sum(sizes) == count
    assert sizes[:-1] == [count // 16] * (len(sizes) - 1)
    assert count // 16 > 64
    assert intake._task_size(100_000, 2) == 256
    assert intake._task_size(200, 2) == 64
