"""Course templates: checked on their own with field-named errors, stored and versioned (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from anchor.cli import main
from anchor.errors import CredentialValidationError, InvalidInputError
from anchor.issuing import courses
from anchor.issuing.courses import Course, Learner
from anchor.issuing.store import Store

from support.db import BACKENDS, fresh_database
from support.rosters import course_template


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with fresh_database(request.param, tmp_path) as url, Store(url) as opened:
        yield opened


def problems(template: Any) -> list[str]:
    with pytest.raises(CredentialValidationError) as refused:
        courses.check_template(template, source="course.json")
    assert str(refused.value).startswith("course.json: invalid credential")
    return [str(problem) for problem in refused.value.problems]


def test_a_valid_template_passes_and_its_credentials_validate_like_any_other() -> None:
    template = course_template("FR", validForYears=3)
    assert courses.check_template(template) is template
    course = Course("cyber", 4, template)
    credential = course.credential(
        Learner("Anaïs Lefèvre", identifiers=(("sisSourcedId", "42"),), grade=None),
        credential_id="urn:uuid:11111111-2222-4333-8444-555555555555",
        valid_from="2024-02-29T10:00:00+01:00",
    )
    assert credential["credentialSubject"]["achievement"]["version"] == "4"
    assert credential["validUntil"] == "2027-02-28T23:59:59Z"  # 29 February plus three years
    assert "version" not in template["achievement"]  # the template itself is not changed
    from anchor.credentials import validate_credential

    validate_credential(credential)


def test_problems_are_named_at_the_templates_own_paths() -> None:
    template = course_template("DE")
    template["achievement"]["creditsAvailable"] = "five"
    template["achievement"]["euMicroCredential"]["eqfLevel"] = 11
    template["issuer"]["address"]["addressCountryCode"] = "EL"
    found = problems(template)
    assert any(text.startswith("/achievement/creditsAvailable:") for text in found), found
    assert any(text.startswith("/achievement/euMicroCredential/eqfLevel:") for text in found), found
    assert any(text.startswith("/issuer/address/addressCountryCode:") and "GR" in text for text in found), found
    assert not any(text.startswith("/credentialSubject") for text in found), found


def test_template_shape_problems_are_all_reported() -> None:
    template = course_template("DE", validForYears=0, colour="blue")
    template["achievement"]["version"] = "7"
    del template["issuer"]
    found = problems(template)
    assert found == [
        "/colour: is not a course template field (known: issuer, achievement, name, description, validForYears)",
        "/issuer: is missing",
        "/achievement/version: is set by anchor: each credential names the course version it was issued from; "
        "remove it",
        "/validForYears: expected a whole number of years 1-100, got 0",
    ]
    assert problems([1, 2]) == ["/: a course template is a JSON object"]


def test_a_template_without_a_name_is_reported_once_at_the_achievement() -> None:
    template = course_template("PL")
    del template["achievement"]["name"]
    found = problems(template)
    assert any(text.startswith("/achievement") and "name" in text for text in found), found
    assert not any(text.startswith("/name") for text in found), found


def test_courses_are_versioned_by_content(store: Store) -> None:
    template = course_template("DE")
    first, created = courses.save_course(store, "data-101", template)
    assert (first.version, created) == (1, True)
    same, created = courses.save_course(store, "data-101", json.loads(json.dumps(template)))
    assert (same.version, created) == (1, False)
    changed = {**template, "description": "Now with a description."}
    second, created = courses.save_course(store, "data-101", changed)
    assert (second.version, created) == (2, True)
    back, created = courses.save_course(store, "data-101", template)  # going back is a change too
    assert (back.version, created) == (3, True)
    courses.save_course(store, "another", course_template("FI"))
    assert courses.get_course(store, "data-101", 2).template == changed
    assert courses.get_course(store, "data-101").version == 3
    assert [(item.course_id, item.version) for item in courses.list_courses(store)] == [("another", 1), ("data-101", 3)]
    with pytest.raises(InvalidInputError, match="course 'data-101' has no version 9; its versions are 1 to 3"):
        courses.get_course(store, "data-101", 9)
    with pytest.raises(InvalidInputError, match="no course 'nope'"):
        courses.get_course(store, "nope")


@pytest.mark.parametrize("bad", ["", "-x", "a b", "../etc", "x" * 65, "kurs/1", "é"])
def test_course_ids_are_checked(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid course id"):
        courses.check_course_id(bad)


def test_course_references() -> None:
    assert courses.parse_course_ref("data-101") == ("data-101", None)
    assert courses.parse_course_ref("data-101@12") == ("data-101", 12)
    for bad in ("data-101@", "data-101@0", "data-101@x", "data-101@١"):
        with pytest.raises(InvalidInputError, match="the version after '@'"):
            courses.parse_course_ref(bad)


def test_course_commands(tmp_path: Path) -> None:
    env = {"ANCHOR_HOME": str(tmp_path / "home")}
    runner = CliRunner()
    template = course_template("IT")
    path = tmp_path / "course.json"
    path.write_text(json.dumps(template, ensure_ascii=False), encoding="utf-8")
    created = runner.invoke(main, ["course", "new", "dati", str(path)], env=env)
    assert created.exit_code == 0, created.output
    assert "course dati version 1" in created.output
    again = runner.invoke(main, ["course", "new", "dati", str(path)], env=env)
    assert "unchanged (version 1)" in again.output
    listed = runner.invoke(main, ["course", "list"], env=env)
    assert "dati" in listed.output
    assert template["achievement"]["name"][:20] in listed.output
    shown = runner.invoke(main, ["course", "show", "dati@1", "--json"], env=env)
    assert json.loads(shown.output) == template
    template["achievement"]["euMicroCredential"]["participation"] = "by carrier pigeon"
    path.write_text(json.dumps(template), encoding="utf-8")
    refused = runner.invoke(main, ["course", "new", "dati", str(path)], env=env)
    assert refused.exit_code == 2
    assert "/achievement/euMicroCredential/participation" in refused.output
