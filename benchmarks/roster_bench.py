"""Roster benchmark: a CSV roster of learners -> one credential per row, through the ordinary intake.

    python benchmarks/roster_bench.py                     # 100,000 rows, unsigned (anchor-credential-v1)
    python benchmarks/roster_bench.py 20000 --signed      # signed at intake (issue 11's v2 credentials)
    python benchmarks/roster_bench.py 5000 --profile      # where the time goes, function by function

The roster is made first (not timed): a UTF-8, semicolon-separated export with name, e-mail address, student
number, grade and completion date, one German course (``anchor course new``). Then, into a fresh SQLite
issuer database, timed by phase:

- read: the file read, decoded and split into rows, every cell checked, duplicate learners looked for;
- build: the credential of each row made from the course template;
- import: the whole ``import_roster`` (read, build, then intake: strict re-parse, schema and rules, salt,
  canonical form and digest, in worker processes when there are many, spooled; then one queue transaction
  and the roster entries), with the queue's own share measured inside it.

The target (the scale issue's) is intake at 5,000 credentials/s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the test support's course templates

GIVEN = ("Jürgen", "Bärbel", "Zoë", "Łukasz", "Anaïs", "Päivi", "Γιώργος", "Åsa", "Øystein", "Mária")
FAMILY = ("Müller-Weiß", "Schön", "Ångström", "Żółć", "Lefèvre", "Jääskeläinen", "Παπαδόπουλος", "Nuñez")


def write_roster(path: Path, rows: int, grades: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(["Name", "E-Mail", "Student ID", "Grade", "End date"])
        for n in range(rows):
            name = f"{GIVEN[n % len(GIVEN)]} {FAMILY[(n // len(GIVEN)) % len(FAMILY)]} {n}"
            writer.writerow([name, f"learner{n}@uni.example", f"2025-{n:07d}", grades[n % len(grades)], "2025-06-27"])


def timed(what: str, results: dict[str, float], action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    value = action()
    results[what] = time.perf_counter() - started
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", nargs="?", type=int, default=100_000)
    parser.add_argument("--signed", action="store_true", help="sign each credential at intake (v2)")
    parser.add_argument("--workers", type=int, default=None, help="intake's validating processes (default: per CPU)")
    parser.add_argument("--profile", action="store_true", help="profile the import in this process (1 worker)")
    options = parser.parse_args()

    from anchor.issuing import courses, intake, rosters
    from anchor.issuing.store import Store

    from support.rosters import allowed_grades, course_template

    template = course_template("DE")
    signer = None
    if options.signed:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from anchor.credentials.multikey import did_key, did_key_verification_method
        from anchor.issuing.signing import IntakeSigner

        key = Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes_raw()
        signer = IntakeSigner.now(did_key(public), did_key_verification_method(public), key.private_bytes_raw())
        template["issuer"]["id"] = signer.did

    with tempfile.TemporaryDirectory() as folder:
        roster = Path(folder) / "roster.csv"
        write_roster(roster, options.rows, allowed_grades(template))
        store = Store(f"sqlite:///{Path(folder) / 'issuer.db'}")
        course = courses.save_course(store, "datenkompetenz", template)[0]
        phases: dict[str, float] = {}

        def read() -> list[Any]:
            summary = rosters.RosterSummary(str(roster))
            with rosters.open_roster(roster) as table:
                columns = rosters.map_columns(str(roster), table.headers, {})
                return rosters._checked_rows(table, columns, summary, lambda rejected: None)

        rows = timed("read", phases, read)
        now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")

        def build(rows: list[Any]) -> list[dict[str, Any]]:
            return [
                course.credential(row.learner, credential_id=f"urn:uuid:{n:032x}", valid_from=now)
                for n, row in enumerate(rows)
            ]

        timed("build", phases, lambda: build(rows))
        rows = []

        queue = store.queue
        queue_seconds = [0.0]

        def timed_queue(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return queue(*args, **kwargs)
            finally:
                queue_seconds[0] += time.perf_counter() - started

        store.queue = timed_queue  # type: ignore[method-assign]
        workers = 1 if options.profile else options.workers
        profiler = cProfile.Profile() if options.profile else None

        def run() -> rosters.RosterSummary:
            if profiler is not None:
                profiler.enable()
            try:
                return rosters.import_roster(store, course, roster, workers=workers, signer=signer)
            finally:
                if profiler is not None:
                    profiler.disable()

        summary = timed("import", phases, run)
        assert summary.refused == 0, summary.intake
        assert summary.intake.queued == options.rows, summary.intake
        processes = workers or intake.default_workers()
        print(
            f"roster of {options.rows:,} rows ({roster.stat().st_size / 1e6:.1f} MB), "
            f"{'signed (v2)' if signer else 'unsigned (v1)'}, intake workers: {processes}"
        )
        for phase in ("read", "build"):
            print(f"  {phase:<8} {phases[phase]:7.2f} s  {options.rows / phases[phase]:9,.0f} rows/s  (alone)")
        total = phases["import"]
        print(f"  import   {total:7.2f} s  {options.rows / total:9,.0f} rows/s  (end to end: rows -> queued)")
        print(
            f"    of it, the queue transaction {queue_seconds[0]:.2f} s; intake's share (validate, salt, hash"
            f"{', sign' if signer else ''}) about {total - queue_seconds[0] - phases['read'] - phases['build']:.2f} s"
        )
        print(f"  target: 5,000 credentials/s through intake -> {options.rows / 5000:.0f} s for {options.rows:,}")
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
