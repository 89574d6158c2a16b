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

The target (the scale issue's) is intake at 5,000 credentials/s on the 2-core machine: less than 400 µs of CPU
per row summed over this process and intake's workers (printed, with the peak memory).

    python benchmarks/roster_bench.py 20000 --peer-src /tmp/before/src --rounds 2

runs the benchmark in fresh processes for this code and another checkout's (``git worktree add /tmp/before
HEAD``), alternating, and prints the ratios: on a shared machine only those compare.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import json
import os
import pstats
import resource
import subprocess
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
    parser.add_argument("--peer-src", default=None, help="another checkout's src directory, measured alongside")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each with --peer-src (the best compared)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one run's figures, for --peer-src
    options = parser.parse_args()
    if options.peer_src is not None:
        compare(options)
        return

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
                if not hasattr(rosters, "_listed_rows"):  # a peer from before: rows listed and checked at once
                    before: Any = rosters
                    return list(before._checked_rows(table, columns, summary, lambda rejected: None))
                listed = rosters._listed_rows(table, summary)
            return list(rosters._checked_rows(str(roster), listed, columns, summary, lambda rejected: None))

        rows = timed("read", phases, read)
        now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")

        def build(rows: list[Any]) -> list[dict[str, Any]]:
            return [
                course.credential(row.learner, credential_id=f"urn:uuid:{n:032x}", valid_from=now)
                for n, row in enumerate(rows)
            ]

        timed("build", phases, lambda: build(rows))
        rows = []

        queue: Any = store.queue
        queue_seconds = [0.0]
        # When the queue's transaction began, took its first and its last row, and ended (seconds from the
        # import's start): how much of the import overlaps the workers, and the serial head and tail.
        marks: dict[str, float] = {}
        import_started = [0.0]

        def mark(what: str) -> None:
            marks.setdefault(what, time.perf_counter() - import_started[0])

        def watched(rows: Any) -> Any:
            for row in rows:
                mark("first row")
                yield row
                marks["last row"] = time.perf_counter() - import_started[0]

        def timed_queue(rows: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            mark("queue began")
            try:
                return queue(watched(rows), *args, **kwargs)
            finally:
                queue_seconds[0] += time.perf_counter() - started
                mark("queue ended")

        if hasattr(store, "queue_rows"):  # intake queues rows (a peer from before queues NewCredential items)
            queue = store.queue_rows
            store.queue_rows = timed_queue  # type: ignore[method-assign]
        else:
            store.queue = timed_queue  # type: ignore[method-assign, assignment]
        workers = 1 if options.profile else options.workers
        profiler = cProfile.Profile() if options.profile else None

        def run() -> rosters.RosterSummary:
            import_started[0] = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            try:
                return rosters.import_roster(store, course, roster, workers=workers, signer=signer)
            finally:
                if profiler is not None:
                    profiler.disable()

        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        summary = timed("import", phases, run)
        own_after, children_after = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        parent_cpu = own_after.ru_utime + own_after.ru_stime - own.ru_utime - own.ru_stime
        worker_cpu = children_after.ru_utime + children_after.ru_stime - children.ru_utime - children.ru_stime
        peak_mb = max(own_after.ru_maxrss, children_after.ru_maxrss) / 1024
        assert summary.refused == 0, summary.intake
        assert summary.intake.queued == options.rows, summary.intake
        if options.json:
            figures = {"phases": phases, "queue": queue_seconds[0], "parent_cpu": parent_cpu, "worker_cpu": worker_cpu}
            figures["marks"] = marks
            print(json.dumps(figures | {"peak_mb": peak_mb, "load": os.getloadavg()[0]}))
            return
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
            f"    of it, the queue transaction {queue_seconds[0]:.2f} s (it takes rows while the workers build,"
            f" validate, salt, hash{', sign' if signer else ''} the next ones; a signed run with status lists"
            " queues after them)"
        )
        print(f"    timeline: {timeline(marks, total)}")
        cpu = parent_cpu + worker_cpu
        print(
            f"  import CPU {cpu / options.rows * 1e6:.0f} µs/row (this process {parent_cpu / options.rows * 1e6:.0f}"
            f" + workers {worker_cpu / options.rows * 1e6:.0f}), peak memory {peak_mb:.0f} MB,"
            f" load average {os.getloadavg()[0]:.2f}"
        )
        print(f"  target: 5,000 credentials/s through intake -> {options.rows / 5000:.0f} s for {options.rows:,}")
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def timeline(marks: dict[str, float], total: float) -> str:
    """When the queue's transaction began, took its first and last row, ended; the import's end (seconds)."""
    shown = ", ".join(f"{what} {seconds:.2f}" for what, seconds in sorted(marks.items(), key=lambda item: item[1]))
    return f"{shown}, import done {total:.2f} s"


def compare(options: argparse.Namespace) -> None:
    """The benchmark in fresh processes, this code and the peer's alternating; the best of each compared."""
    best: dict[str, dict[str, Any]] = {}
    rows = options.rows
    extra = ["--signed"] if options.signed else []
    extra += ["--workers", str(options.workers)] if options.workers is not None else []
    print(f"roster of {rows:,} rows, {'signed' if options.signed else 'unsigned'}: this code and the peer's")
    for _ in range(options.rounds):
        for name, src in (("this", None), ("peer", options.peer_src)):
            env = dict(os.environ)
            if src is not None:
                env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
            done = subprocess.run(
                [sys.executable, __file__, str(rows), "--json", *extra], env=env, capture_output=True, text=True
            )
            if done.returncode != 0:
                raise SystemExit(f"{name} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            cpu = figures["parent_cpu"] + figures["worker_cpu"]
            seconds = figures["phases"]["import"]
            print(
                f"  {name:<5} import {seconds:6.2f} s {rows / seconds:7,.0f} rows/s  CPU {cpu / rows * 1e6:4.0f} µs/row"
                f" (this process {figures['parent_cpu'] / rows * 1e6:4.0f} + workers"
                f" {figures['worker_cpu'] / rows * 1e6:4.0f}; read {figures['phases']['read']:.2f} s, build"
                f" {figures['phases']['build']:.2f} s alone)  peak {figures['peak_mb']:.0f} MB"
                f"  load {figures['load']:.2f}"
            )
            print(f"        timeline: {timeline(figures.get('marks', {}), seconds)}")
            if name not in best or cpu < best[name]["cpu"]:
                best[name] = figures | {"cpu": cpu, "seconds": seconds}
    this, peer = best["this"], best["peer"]
    print(
        f"  this/peer (best of {options.rounds}): time {this['seconds'] / peer['seconds']:.2f}, CPU"
        f" {this['cpu'] / peer['cpu']:.2f} (this process {this['parent_cpu'] / peer['parent_cpu']:.2f}, workers"
        f" {this['worker_cpu'] / peer['worker_cpu']:.2f}), peak memory {this['peak_mb'] / peer['peak_mb']:.2f}"
    )


if __name__ == "__main__":
    main()
