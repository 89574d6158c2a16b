"""Intake, second round: the queue's inserts overlap the preparing, and a roster's learners are recorded in the
queue's own transaction.

- Unsigned intake opens the queue's transaction first and inserts each chunk as it is prepared (before, every
  input was prepared and spooled first, then queued): the order of events shows it, with worker processes
  and without.
- Whatever the verdict, the transaction is all or nothing: an input refused after rows were inserted, a
  conflict, a caller that says no: nothing stays, and the same store then queues the good ones once.
- A roster re-import that a conflict refuses records nothing (before, its new learners and changed
  addresses were committed although nothing was queued).
- The queue's look-ups (DB-API SQL) find duplicates and conflicts across chunks, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from anchor.credentials.examples import generate_credentials
from anchor.issuing import courses, intake, rosters
from anchor.issuing.store import Store
from anchor.issuing.store.queue import _QUEUE_CHUNK

from support.db import BACKENDS, fresh_database
from support.rosters import allowed_grades, course_template, write_csv


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with fresh_database(request.param, tmp_path) as url, Store(url) as opened:
        yield opened


def credentials(count: int, seed: int = 11) -> list[dict[str, Any]]:
    return list(generate_credentials(count, seed=seed, salted=False))


def write_files(folder: Path, items: Iterable[dict[str, Any]]) -> Path:
    folder.mkdir()
    for n, credential in enumerate(items):
        (folder / f"{n:05d}.json").write_text(json.dumps(credential, ensure_ascii=False, indent=2), encoding="utf-8")
    return folder


def spy_on_queue(store: Store, events: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Record when the queue's transaction starts and when it takes each row."""
    original = store.queue_rows

    def queue_rows(rows: Iterable[Any], **options: Any) -> Any:
        events.append("queue")

        def pulled() -> Iterator[Any]:
            for row in rows:
                events.append("row")
                yield row

        return original(pulled(), **options)

    monkeypatch.setattr(store, "queue_rows", queue_rows)


@pytest.mark.parametrize("workers", [1, 2])
def test_rows_are_queued_while_the_next_inputs_are_prepared(
    store: Store, tmp_path: Path, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "PARALLEL_FROM", 1)  # worker processes for a small input too
    folder = write_files(tmp_path / "in", credentials(200))
    events: list[str] = []
    spy_on_queue(store, events, monkeypatch)
    summary = intake.issue(
        store, [str(folder)], workers=workers, on_progress=lambda done, total: events.append("progress")
    )
    assert (summary.queued, summary.committed, store.queued_count()) == (200, True, 200)
    assert events[0] == "queue"  # the transaction is open before anything is prepared
    last_progress = len(events) - 1 - events[::-1].index("progress")
    assert "row" in events[:last_progress]  # rows went in before the last inputs were prepared
    assert events.count("row") == 200


def test_an_input_refused_after_rows_went_in_leaves_nothing_and_the_store_is_free(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "PARALLEL_FROM", 1)
    good = credentials(_QUEUE_CHUNK + 150)
    bad = {**good[-1], "id": "urn:uuid:00000000-0000-4000-8000-0000000000bb", "validFrom": "yesterday"}
    items = [(f"item {n}", credential) for n, credential in enumerate(good)]
    events: list[str] = []
    spy_on_queue(store, events, monkeypatch)
    rejected: list[intake.Rejected] = []
    summary = intake.issue_credentials(
        store, [*items, ("late", bad)], total=len(items) + 1, workers=2, on_rejected=rejected.append
    )
    assert events.count("row") > _QUEUE_CHUNK  # rows went in before the refused input was seen
    assert (summary.inputs, summary.invalid, summary.queued, summary.committed) == (len(items) + 1, 1, 0, False)
    assert [item.source for item in rejected] == ["late"]
    assert store.queued_count() == 0  # rolled back
    # The store is not left locked, and the good ones then go in once; with partial, the bad one stays out.
    summary = intake.issue_credentials(
        store, [*items[:10], ("late", bad)], total=11, partial=True, on_rejected=rejected.append
    )
    assert (summary.queued, summary.invalid, summary.committed) == (10, 1, True)
    again = intake.issue_credentials(store, items, total=len(items), workers=2)
    assert (again.queued, sum(again.duplicates.values()), store.queued_count()) == (len(items) - 10, 10, len(items))


def test_a_conflict_in_a_later_chunk_rolls_back_the_earlier_ones(store: Store) -> None:
    items = [(f"item {n}", credential) for n, credential in enumerate(credentials(_QUEUE_CHUNK + 20, seed=5))]
    held = items[-1][1]
    assert intake.issue_credentials(store, [("first", held)]).queued == 1
    changed = {**held, "name": held["name"] + " (changed)"}
    rejected: list[intake.Rejected] = []
    summary = intake.issue_credentials(
        store, [*items[:-1], ("changed", changed)], total=len(items), workers=2, on_rejected=rejected.append
    )
    assert (summary.conflicts, summary.queued, summary.committed) == (1, 0, False)
    assert [item.source for item in rejected] == ["changed"]
    assert "already in the issuer database (queued) with other content" in str(rejected[0])
    assert store.queued_count() == 1


def test_a_caller_that_says_no_after_the_inputs_leaves_nothing(store: Store) -> None:
    items = [(f"item {n}", credential) for n, credential in enumerate(credentials(30, seed=8))]
    summary = intake.issue_credentials(store, items, before_queue=lambda: False)
    assert (summary.inputs, summary.committed, store.queued_count()) == (30, False, 0)


def test_a_roster_reimport_refused_by_a_conflict_records_no_learner(store: Store, tmp_path: Path) -> None:
    template = course_template("DE")
    course = courses.save_course(store, "datenkompetenz", template)[0]
    grades = allowed_grades(template)
    header = ["Name", "E-Mail", "Student ID", "Grade", "End date"]
    rows = [[f"Learner {n}", f"learner{n}@uni.example", f"S{n:05}", grades[0], "2025-06-27"] for n in range(3)]
    first = rosters.import_roster(store, course, write_csv(tmp_path / "a.csv", [header, *rows]))
    assert first.intake.queued == 3
    keys_before = _learner_keys(store)
    # Learner 0's grade changed (the same credential id, other content: a conflict), learner 1's address
    # changed, and a new learner joined.
    rows[0][3] = grades[1]
    rows[1][1] = "moved@uni.example"
    rows.append(["Learner 3", "learner3@uni.example", "S00003", grades[0], "2025-06-27"])
    rejected: list[intake.Rejected] = []
    second = rosters.import_roster(
        store, course, write_csv(tmp_path / "b.csv", [header, *rows]), on_rejected=rejected.append
    )
    assert (second.intake.conflicts, second.intake.queued, second.committed) == (1, 0, False)
    assert [item.source.rsplit(" ", 1)[1] for item in rejected] == ["2"]
    assert _learner_keys(store) == keys_before  # the new learner is not recorded
    entries = store.roster_entries(course.course_id, keys_before)
    assert sorted(str(entry.email) for entry in entries.values()) == [f"learner{n}@uni.example" for n in range(3)]
    assert store.queued_count() == 3
    # With --partial the others go in, and their learners are recorded with them.
    third = rosters.import_roster(store, course, write_csv(tmp_path / "c.csv", [header, *rows]), partial=True)
    assert (third.intake.queued, third.intake.conflicts, third.committed) == (1, 1, True)
    assert len(_learner_keys(store)) == 4
    emails = {entry.email for entry in store.roster_entries(course.course_id, _learner_keys(store)).values()}
    assert "moved@uni.example" in emails


def _learner_keys(store: Store) -> list[str]:
    from sqlalchemy import select

    from anchor.issuing.store.schema import _roster_entries

    with store._transaction() as connection:
        return sorted(connection.execute(select(_roster_entries.c.learner_key)).scalars())


_KILLED_INTAKE = """
import sys
from anchor.issuing import intake
from anchor.issuing.store import Store

def progress(done, total):
    print(done, flush=True)

with Store(sys.argv[1]) as store:
    intake.issue(store, [sys.argv[2]], workers=2, on_progress=progress)
    print("committed", flush=True)
"""


def test_an_intake_killed_after_rows_went_in_leaves_nothing_and_a_rerun_queues_each_once(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    count = intake.PARALLEL_FROM + 500
    folder = write_files(tmp_path / "in", credentials(count, seed=21))
    url = f"sqlite:///{tmp_path / 'issuer.db'}"
    Store(url).close()
    src = str(Path(intake.__file__).parents[2])
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_INTAKE, url, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": src},
        start_new_session=True,  # the child and its workers: one process group, killed together
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.strip() == "committed" or int(line) >= count // 2:
                break  # half prepared: rows are in the open transaction
        os.killpg(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert line.strip() != "committed"
    with Store(url) as store:
        assert store.queued_count() == 0
        with store._transaction() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        summary = intake.issue(store, [str(folder)], workers=2)
        assert (summary.queued, summary.committed, store.queued_count()) == (count, True, count)
        again = intake.issue(store, [str(folder)], workers=2)
        assert (again.queued, sum(again.duplicates.values()), store.queued_count()) == (0, count, count)
