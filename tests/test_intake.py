"""``anchor issue`` and :mod:`anchor.issuing.intake`: validation, all-or-nothing queueing, idempotence, bad input.

The command runs through click's CliRunner with a temporary ANCHOR_HOME, against SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from anchor.cli import issue_commands, main
from anchor.credentials import SALT_KEY, credential_digest, parse_credential
from anchor.credentials.examples import generate_credentials
from anchor.errors import CredentialValidationError, InvalidInputError
from anchor.issuing import intake
from anchor.issuing.store import CredentialRecord, Store

from support.db import BACKENDS, fresh_database

EXAMPLES = Path(__file__).parent.parent / "examples" / "credentials"


class Issuer:
    """Runs ``anchor issue`` against one fresh database and looks into it."""

    def __init__(self, home: Path, database: str) -> None:
        self.env = {"ANCHOR_HOME": str(home), "ANCHOR_DATABASE_URL": database}
        self.store = Store(database)

    def __call__(self, *args: str | Path, stdin: bytes | None = None) -> Result:
        return CliRunner().invoke(main, ["issue", "--unsigned", *map(str, args)], env=self.env, input=stdin)

    def record(self, credential_id: str) -> CredentialRecord | None:
        return self.store.find_credential(credential_id)

    def snapshot(self) -> list[tuple[Any, ...]]:
        """Every credential row and batch, to show that a refused issue changed nothing."""
        with self.store.engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT * FROM credentials JOIN credential_documents ON credential = id ORDER BY id"
            ).all()
            batches = connection.exec_driver_sql("SELECT id, state, root FROM batches ORDER BY id").all()
        return [tuple(row) for row in rows] + [tuple(row) for row in batches]


@pytest.fixture(params=BACKENDS)
def issuer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Issuer]:
    with fresh_database(request.param, tmp_path) as url:
        issuing = Issuer(tmp_path / "home", url)
        yield issuing
        issuing.store.close()


def write(folder: Path, name: str, credential: dict[str, Any] | str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(credential, dict):
        credential = json.dumps(credential, ensure_ascii=False, indent=2)
    path.write_bytes(credential if isinstance(credential, bytes) else credential.encode())
    return path


def generated(count: int, seed: int = 1) -> list[dict[str, Any]]:
    return list(generate_credentials(count, seed=seed, salted=False))


def anchor_everything(store: Store) -> int:
    registry, signer = "0x5FbDB2315678afecb367f032d93F642f64180aa3", "0x" + "11" * 20
    batch = store.build_batch(10_000, 31337, registry, signer, lambda digests: ("0x" + "22" * 32, "[]"))
    assert batch is not None
    store.update_batch(batch.id, state="anchored")
    return batch.id


# ------------------------------------------------------------------------------------------------ good input


def test_issues_files_with_a_fresh_salt_each(issuer: Issuer) -> None:
    files = sorted(EXAMPLES.glob("*.json"))
    result = issuer(*files)
    assert result.exit_code == 0, result.output
    assert f"queued {len(files)}, duplicates 0, invalid 0, conflicts 0" in result.output
    salts = set()
    for path in files:
        original = json.loads(path.read_text(encoding="utf-8"))
        record = issuer.record(original["id"])
        assert record is not None
        stored = json.loads(record.document)
        salts.add(stored.pop(SALT_KEY))
        assert stored == original
        assert record.digest == credential_digest(json.loads(record.document))
        assert record.state == "queued"
    assert len(salts) == len(files)


def test_issuing_again_is_idempotent_in_every_state(issuer: Issuer) -> None:
    files = sorted(EXAMPLES.glob("*.json"))
    assert issuer(*files).exit_code == 0
    before = issuer.snapshot()
    again = issuer(EXAMPLES)
    assert again.exit_code == 0, again.output
    assert f"queued 0, duplicates {len(files)} ({len(files)} queued)" in again.output
    assert f"{files[0]}: already queued" in again.output
    assert issuer.snapshot() == before

    batch_id = anchor_everything(issuer.store)
    before = issuer.snapshot()
    anchored = issuer(files[0])
    assert anchored.exit_code == 0, anchored.output
    assert f"{files[0]}: already anchored in batch {batch_id}" in anchored.output
    assert "duplicates 1 (1 anchored)" in anchored.output
    assert issuer.snapshot() == before


def test_a_credential_that_carries_a_salt_keeps_it(issuer: Issuer, tmp_path: Path) -> None:
    credential = next(generate_credentials(1, seed=5, salted=True))
    path = write(tmp_path / "in", "salted.json", credential)
    assert issuer(path).exit_code == 0
    record = issuer.record(credential["id"])
    assert record is not None
    assert json.loads(record.document)[SALT_KEY] == credential[SALT_KEY]
    assert record.digest == credential_digest(credential)
    # The same credential with another salt is still the same credential.
    resalted = credential | {SALT_KEY: "0x" + "ab" * 32}
    duplicate = issuer(write(tmp_path / "in", "resalted.json", resalted))
    assert duplicate.exit_code == 0
    assert "duplicates 1 (1 queued)" in duplicate.output


def test_a_directory_is_walked_recursively_in_name_order(issuer: Issuer, tmp_path: Path) -> None:
    credentials = generated(6)
    folder = tmp_path / "inbox"
    for number, credential in enumerate(credentials):
        write(folder / ("b" if number % 2 else "a"), f"{number:02}.json", credential)
    write(folder, "README.txt", "not a credential")
    write(folder, ".hidden.json", "{")
    result = issuer(folder)
    assert result.exit_code == 0, result.output
    assert "queued 6" in result.output
    order = [credentials[n]["id"] for n in (0, 2, 4, 1, 3, 5)]  # a/00 a/02 a/04 b/01 b/03 b/05
    rows = [issuer.record(credential_id) for credential_id in order]
    assert [row.id for row in rows if row] == sorted(row.id for row in rows if row)


def test_stdin_takes_one_pretty_credential_or_json_lines(issuer: Issuer) -> None:
    one, *lines = generated(4)
    result = issuer("-", stdin=json.dumps(one, indent=2).encode())
    assert result.exit_code == 0, result.output
    assert "queued 1" in result.output
    bad = dict(lines[1])
    del bad["validFrom"]
    text = "\n".join(json.dumps(c, ensure_ascii=False) for c in (lines[0], bad, lines[2])) + "\n\n"
    refused = issuer("-", stdin=text.encode())
    assert refused.exit_code == 2
    assert "<stdin>:2: invalid credential (1 problem)" in refused.output
    assert "/validFrom: is missing" in refused.output
    assert issuer.record(lines[0]["id"]) is None
    partial = issuer("--partial", "-", stdin=text.encode())
    assert partial.exit_code == 2
    assert "queued 2" in partial.output
    assert issuer.record(lines[2]["id"]) is not None


# ------------------------------------------------------------------------------------------------ bad input


def test_every_problem_of_every_file_is_reported_and_nothing_is_queued(issuer: Issuer, tmp_path: Path) -> None:
    good, missing, wrong = generated(3)
    folder = tmp_path / "in"
    write(folder, "good.json", good)
    write(folder, "malformed.json", '{"id": "urn:x", "name": "unterminated}')
    del missing["credentialSubject"]["achievement"]["euMicroCredential"]["participation"]
    del missing["issuer"]["address"]["addressCountryCode"]
    write(folder, "missing.json", missing)
    wrong["credentialSubject"]["achievement"]["creditsAvailable"] = "five"
    write(folder, "wrong.json", wrong)
    issuer(EXAMPLES)  # already queued: must survive the failed issue untouched
    before = issuer.snapshot()

    result = issuer(folder)
    assert result.exit_code == 2, result.output
    output = result.output
    assert f"{folder / 'malformed.json'}: not valid JSON" in output
    assert f"{folder / 'missing.json'}: invalid credential (2 problems)" in output
    assert "/credentialSubject/achievement/euMicroCredential/participation: is missing" in output
    assert "/issuer/address/addressCountryCode: is missing" in output
    assert f"{folder / 'wrong.json'}: invalid credential" in output
    assert "/credentialSubject/achievement/creditsAvailable: expected number" in output
    assert "queued 0, duplicates 0, invalid 3" in output
    assert "3 of 4 input(s) refused: nothing queued" in output
    assert issuer.snapshot() == before
    assert issuer.record(good["id"]) is None


def test_partial_queues_the_valid_ones_and_still_fails(issuer: Issuer, tmp_path: Path) -> None:
    good, bad = generated(2)
    bad["type"] = "OpenBadgeCredential"
    folder = tmp_path / "in"
    write(folder, "good.json", good)
    write(folder, "bad.json", bad)
    result = issuer("--partial", folder)
    assert result.exit_code == 2
    assert f"{folder / 'bad.json'}: invalid credential" in result.output
    assert "/type: expected array" in result.output
    assert "the 1 valid new credential(s) were queued (--partial)" in result.output
    assert issuer.record(good["id"]) is not None
    assert issuer.record(bad["id"]) is None


def test_a_huge_file_is_refused_by_its_size_without_reading_it(issuer: Issuer, tmp_path: Path) -> None:
    huge = tmp_path / "in" / "huge.json"
    huge.parent.mkdir()
    with huge.open("wb") as stream:  # 50 MB, sparse: reading it would be slow, stat-ing it is not
        stream.truncate(50 * 1024 * 1024)
    write(tmp_path / "in", "good.json", generated(1)[0])
    started = time.monotonic()
    result = issuer(tmp_path / "in")
    assert time.monotonic() - started < 10
    assert result.exit_code == 2
    assert f"{huge}: file is 52428800 bytes, more than the 1048576-byte limit" in result.output
    assert "nothing queued" in result.output


def test_a_changed_credential_under_an_issued_id_is_refused(issuer: Issuer, tmp_path: Path) -> None:
    original, other = generated(2)
    assert issuer(write(tmp_path / "a", "original.json", original)).exit_code == 0
    batch_id = anchor_everything(issuer.store)
    before = issuer.snapshot()
    changed = original | {"name": original["name"] + " (corrected)"}
    path = write(tmp_path / "b", "changed.json", changed)
    result = issuer(path, write(tmp_path / "b", "other.json", other))
    assert result.exit_code == 2, result.output
    assert f"{path}: id already issued with other content" in result.output
    assert f"/id: {original['id']} is already in the issuer database (batch {batch_id} (anchored))" in result.output
    assert issuer.snapshot() == before
    partial = issuer("--partial", path, tmp_path / "b" / "other.json")
    assert partial.exit_code == 2
    assert "queued 1, duplicates 0, invalid 0, conflicts 1" in partial.output
    record = issuer.record(original["id"])
    assert record is not None
    assert json.loads(record.document)["name"] == original["name"]


def test_missing_inputs_and_an_empty_directory(issuer: Issuer, tmp_path: Path) -> None:
    result = issuer(tmp_path / "nope.json")
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope.json'}: cannot read credential file: No such file or directory" in result.output
    (tmp_path / "empty").mkdir()
    empty = issuer(tmp_path / "empty")
    assert empty.exit_code == 0
    assert "nothing to issue" in empty.output
    assert issuer("--help").exit_code == 0


def test_stdin_over_the_size_limit_is_refused(issuer: Issuer) -> None:
    big = b'{"id": "' + b"x" * (2 << 20) + b'"}'
    result = issuer("-", stdin=big)
    assert result.exit_code == 2
    assert "<stdin>: credential is 1048577 bytes, more than the limit" in result.output
    lines = b'{"id": 1}\n' + big + b"\n" + b'{"id": 2}\n'
    result = issuer("-", stdin=lines)
    assert result.exit_code == 2
    assert "<stdin>:2: credential is 1048577 bytes" in result.output
    assert "<stdin>:3: invalid credential" in result.output  # the line after the overlong one is read whole


# ------------------------------------------------------------------------------------------------ many inputs


def test_many_files_in_worker_processes_with_progress(issuer: Issuer, tmp_path: Path, monkeypatch: Any) -> None:
    count = intake.PARALLEL_FROM + 100
    folder = tmp_path / "inbox"
    credentials = generated(count, seed=9)
    for number, credential in enumerate(credentials):
        write(folder / f"{number // 1000:03}", f"{number:06}.json", credential)
    broken = credentials[1234]
    write(folder / "001", "001234.json", "{" + json.dumps(broken)[1:-1])  # no closing brace
    shown: list[tuple[int, int]] = []

    class RecordingProgress:
        def __init__(self, *columns: Any, **options: Any) -> None:
            pass

        def start(self) -> None:
            pass

        def stop(self) -> None:
            pass

        def add_task(self, description: str, total: int) -> int:
            shown.append((0, total))
            return 1

        def update(self, task: int, completed: int) -> None:
            shown.append((completed, shown[0][1]))

    monkeypatch.setattr(issue_commands, "Progress", RecordingProgress)
    refused = issuer("--workers", "2", folder)
    assert refused.exit_code == 2, refused.output
    assert f"{folder / '001' / '001234.json'}: not valid JSON" in refused.output
    assert shown[0] == (0, count)
    assert shown[-1] == (count, count)
    assert issuer.store.queued_count() == 0

    write(folder / "001", "001234.json", broken)
    result = issuer("--workers", "2", folder)
    assert result.exit_code == 0, result.output
    assert f"queued {count}" in result.output
    ids = [c["id"] for c in credentials]
    rows = [issuer.record(credential_id) for credential_id in ids]
    assert [row.id for row in rows if row] == sorted(row.id for row in rows if row)  # in file name order


# ------------------------------------------------------------------------------------------------ the API


def test_prepare_credential_salts_hashes_and_validates() -> None:
    credential = generated(1)[0]
    first = intake.prepare_credential(credential)
    second = intake.prepare_credential(credential)
    assert SALT_KEY not in credential  # the input is not changed
    assert first.content_hash == second.content_hash
    assert first.digest != second.digest
    assert first.digest == credential_digest(parse_credential(first.document))
    assert (first.credential_id, first.issuer) == (credential["id"], credential["issuer"]["id"])
    composed = intake.prepare_credential(credential | {"name": "Pr\u00fcfung"})
    decomposed = intake.prepare_credential(credential | {"name": "Pru\u0308fung"})
    assert composed.content_hash == decomposed.content_hash != first.content_hash  # NFC
    assert json.loads(decomposed.document)["name"] == "Pr\u00fcfung"
    with pytest.raises(CredentialValidationError, match=r"x\.json") as caught:
        intake.prepare_credential(credential | {"validFrom": "yesterday"}, source="x.json")
    assert [p.path for p in caught.value.problems] == ["/validFrom"]
    with pytest.raises(InvalidInputError, match="not a JSON credential"):
        intake.prepare_credential(credential | {"when": object()})


def test_issue_reports_progress_and_rejections_through_callbacks(tmp_path: Path) -> None:
    credentials = generated(3)
    paths = [write(tmp_path, f"{n}.json", c) for n, c in enumerate(credentials)]
    paths[1].write_text("[]")
    progress: list[tuple[int, int | None]] = []
    rejected: list[intake.Rejected] = []
    with Store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        summary = intake.issue(
            store,
            [str(p) for p in paths],
            partial=True,
            on_rejected=rejected.append,
            on_progress=lambda done, total: progress.append((done, total)),
        )
        assert store.queued_count() == 2
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert [(r.source, r.message) for r in rejected] == [
        (str(paths[1]), "the top level must be a JSON object, not array")
    ]
    assert (summary.inputs, summary.queued, summary.invalid, summary.committed) == (3, 2, 1, True)
