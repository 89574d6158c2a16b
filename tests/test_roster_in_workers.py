"""Roster pace, second round: a row's credential is made in intake's worker processes, not in the importing one.

Before, the importing process made every row's credential from the course and wrote its JSON text, and the
text (about 4 KB a row) crossed the pipe to a worker: a serial share of the roster's time. Now only the row's
payload (learner, credential id, date of issuing) crosses, and the worker makes the credential; the importing
process makes only the few samples it shows. The credentials are the same either way.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from anchor.issuing import courses, intake, rosters
from anchor.issuing.courses import Course
from anchor.issuing.store import Store

from support.rosters import allowed_grades, course_template, write_csv

HEADER = ["Name", "E-Mail", "Student ID", "Grade", "End date"]


def roster(tmp_path: Path, template: dict[str, Any], count: int) -> Path:
    grades = allowed_grades(template)
    rows = [
        [f"Lernende {n}", f"l{n}@uni.example", f"S{n:05}", grades[n % len(grades)], "2025-06-27"] for n in range(count)
    ]
    return write_csv(tmp_path / "roster.csv", [HEADER, *rows])


@pytest.mark.parametrize("workers", [1, 2])
def test_the_importing_process_makes_only_the_samples(
    tmp_path: Path, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "PARALLEL_FROM", 1)  # worker processes for a small roster too
    template = course_template("DE")
    made: list[str] = []
    original = Course.credential

    def counted(self: Course, *args: Any, **kwargs: Any) -> dict[str, Any]:
        made.append(kwargs["credential_id"])  # in this process only: a worker's list is its own
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Course, "credential", counted)
    with Store(f"sqlite:///{tmp_path / 'issuer.db'}") as store:
        course = courses.save_course(store, "datenkompetenz", template)[0]
        made.clear()  # saving the course made one to validate the template
        summary = rosters.import_roster(store, course, roster(tmp_path, template, 150), workers=workers)
        assert (summary.intake.queued, summary.refused) == (150, 0)
        if workers == 2:
            assert len(made) == rosters.SAMPLE_CREDENTIALS  # the other 147 were made in the workers
        else:
            assert len(made) == 150 + rosters.SAMPLE_CREDENTIALS  # here: each once, the samples twice
        # What was queued is what the samples show (the worker's credential is the importing process's).
        for sample in summary.samples:
            record = store.find_credential(sample["id"])
            assert record is not None
            stored = json.loads(record.document)
            assert stored.pop("anchorSalt").startswith("0x")
            assert stored == sample
        entries = store.roster_entries(course.course_id, _keys(store))
        assert len(entries) == 150
        assert {entry.course_version for entry in entries.values()} == {1}


def test_the_builder_and_its_payloads_pickle_small(tmp_path: Path) -> None:
    """What crosses to a worker: the builder once (the course), then per row a payload far smaller than the
    credential's text."""
    template = course_template("DE")
    with Store(f"sqlite:///{tmp_path / 'issuer.db'}") as store:
        course = courses.save_course(store, "datenkompetenz", template)[0]
    build = rosters._CourseCredential(course)
    learner = courses.Learner(name="Zoë Ångström", identifiers=(("sisSourcedId", "S00001"),))
    payload = (learner, "urn:uuid:00000000-0000-4000-8000-000000000001", "2025-07-01T09:30:00Z")
    again = pickle.loads(pickle.dumps(build))
    assert again(pickle.loads(pickle.dumps(payload))) == build(payload)
    text = build(payload)
    assert isinstance(text, bytes)
    assert len(pickle.dumps(payload)) * 4 < len(text)


def _keys(store: Store) -> list[str]:
    from sqlalchemy import select

    from anchor.issuing.store.schema import _roster_entries

    with store._transaction() as connection:
        return list(connection.execute(select(_roster_entries.c.learner_key)).scalars())
