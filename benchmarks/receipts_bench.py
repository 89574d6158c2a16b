"""Receipts of one anchored batch of N credentials: ``write_receipts`` of this tree against another, same run.

    .venv/bin/python benchmarks/receipts_bench.py 100000 --before /tmp/r-before --rounds 3
    .venv/bin/python benchmarks/receipts_bench.py 1000000 --before /tmp/r-before --rounds 1 --workdir /work/rbench

Fills a fresh SQLite issuer store for each tree (untimed, in a child process of that tree, so each has the
schema its code expects) with the same N realistic credentials of about 3 KB
(``e2e_bench.credential_texts``: generated credentials with their own ids and salts, stored as compact JSON
text as intake stores them) and builds and "anchors" one batch of all of them. Then, alternately for each
round, a fresh process of each source tree (``--before DIR``: DIR/src, e.g. ``git worktree add DIR HEAD``)
runs ``write_receipts`` on that batch into a new folder on the same file system: the seconds (tree, reading
the documents, writing the files, all of it), receipts/s and the process's peak RSS. Before each timed run
the folder of the run before is removed and ``sync`` waits for its write-back, so each run starts from the
same state. A batch of more than 100,000 gets one archive (``receipts.ARCHIVE_ABOVE``) from two processes: their
CPU is counted together, and their proportional set size (PSS, sampled every 0.25 s) is printed beside this
process's peak RSS. Last, the floor: files of the receipts' mean size created by one process (open, write,
close) in 10,000-file folders (at most :data:`FLOOR_FILES`, the rate scaled to N), and the receipts of both
trees compared byte for byte on a sample (by file name: a folder's files, an archive's members).

Other work may share the machine: the 1-minute load average is printed next to each figure.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

ADDRESS = "0x" + "11" * 20
FLOOR_FILES = 200_000
"""At most this many files for the floor (a rate, scaled to N: a million would take minutes to remove)."""
DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
_ID = re.compile(r'"id":"([^"]+)"')


def fill(database: str, count: int) -> None:
    """Queue ``count`` credentials (realistic documents, random digests) and anchor them as one batch."""
    from e2e_bench import credential_texts

    from anchor.issuing.batch import build_tree
    from anchor.issuing.store import Store

    with Store(database) as store:
        raw = store.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("BEGIN")
            texts = credential_texts(count, DID, compact=True)
            now, step = time.time(), 20_000
            for start in range(0, count, step):
                chunk = [next(texts) for _ in range(min(step, count - start))]
                blob = random.Random(start).randbytes(32 * len(chunk))  # the same batch for every tree
                cursor.executemany(
                    "INSERT INTO credentials (id, credential_id, content_hash, digest, issuer, queued_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (
                            start + k + 1,
                            _ID.search(text).group(1),  # type: ignore[union-attr]  # every text has an id
                            "0x" + hashlib.sha256(text.encode()).hexdigest(),
                            "0x" + blob[32 * k : 32 * k + 32].hex(),
                            DID,
                            now,
                        )
                        for k, text in enumerate(chunk)
                    ],
                )
                cursor.executemany(
                    "INSERT INTO credential_documents (credential, document) VALUES (?, ?)",
                    [(start + k + 1, text) for k, text in enumerate(chunk)],
                )
            cursor.execute("COMMIT")
        finally:
            raw.close()
        batch = store.build_batch(count, 31337, ADDRESS, ADDRESS, build_tree)
        assert batch is not None
        store.update_batch(
            batch.id, onchain_batch_id=1, tx_hash="0x" + "ab" * 32, block_number=9, anchored_at=1_764_000_000
        )


def measure(database: str, target: str) -> None:
    """Write the receipts of batch 1 into ``target`` (in the source tree on PYTHONPATH); print seconds, RSS."""
    import resource

    from anchor.issuing.receipts import write_receipts
    from anchor.issuing.store import Store

    peak = [0]
    done = threading.Event()

    def sample() -> None:  # the proportional set size of this process and its children, every 0.25 s
        while not done.wait(0.25):
            peak[0] = max(peak[0], pss_kib(os.getpid()))

    threading.Thread(target=sample, daemon=True).start()
    with Store(database) as store:
        batch = store.get_batch(1)
        started = time.perf_counter()
        writers = int(os.environ.get("RECEIPTS_BENCH_WRITERS", "0")) or None  # None: anchor's default
        written = write_receipts(store, batch, 5, Path(target), workers=writers)
        seconds = time.perf_counter() - started
    done.set()
    usage, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"{seconds} {usage.ru_maxrss / 1024} {usage.ru_utime + children.ru_utime} "
        f"{usage.ru_stime + children.ru_stime} {peak[0] / 1024} {written}"
    )


def pss_kib(pid: int) -> int:
    """The proportional set size of ``pid`` and its children (KiB; Linux), 0 where it cannot be read."""
    total = 0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for process in [str(pid), *children]:
        try:
            lines = Path(f"/proc/{process}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in lines if line.startswith("Pss:"))
    return total


def sample_of(location: Path, count: int) -> tuple[list[int], dict[str, bytes]]:
    """The sizes of up to 1,000 receipts and about 2,000 receipts by file name, of a folder or an archive."""
    every, sizes, sample = max(1, count // 2000), list[int](), dict[str, bytes]()
    if location.is_file():  # a very large batch's archive, read by tarfile
        from e2e_bench import tar_receipts

        for number, (tar, member) in enumerate(tar_receipts(location)):
            if len(sizes) < 1000:
                sizes.append(member.size)
            if number % every == 0:
                sample[Path(member.name).name] = tar.extractfile(member).read()  # type: ignore[union-attr]
        return sizes, sample
    paths = files_of(location)
    return [path.stat().st_size for path in paths[:1000]], {path.name: path.read_bytes() for path in paths[::every]}


def named(location: Path, names: set[str]) -> dict[str, bytes]:
    """The receipts of these file names in a folder or an archive."""
    if not location.is_file():
        return {name: (location / name).read_bytes() for name in names if (location / name).is_file()}
    from e2e_bench import tar_receipts

    found = {}
    for tar, member in tar_receipts(location):
        if Path(member.name).name in names:
            found[Path(member.name).name] = tar.extractfile(member).read()  # type: ignore[union-attr]
    return found


def files_of(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*.json") if path.is_file()]


def floor(root: Path, count: int, size: int) -> float:
    """Seconds to create ``count`` files of ``size`` bytes, 10,000 per folder, from one process."""
    base = root / "floor"
    base.mkdir()
    data = b"x" * size
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    os.sync()
    started = time.perf_counter()
    directory = -1
    for number in range(count):
        if number % 10_000 == 0:
            if directory >= 0:
                os.close(directory)
            sub = base / f"{number // 10_000:04d}"
            sub.mkdir()
            directory = os.open(sub, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        descriptor = os.open(f"{number:07d}.json", flags, 0o600, dir_fd=directory)
        os.write(descriptor, data)
        os.close(descriptor)
    os.close(directory)
    seconds = time.perf_counter() - started
    shutil.rmtree(base)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, nargs="?", default=100_000)
    parser.add_argument("--before", type=Path, help="another source tree (DIR/src) measured in the same run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="where the store and receipts go (default: TMPDIR)")
    parser.add_argument(
        "--writers", type=int, default=0, help="writer processes for both trees (default: anchor's own choice)"
    )
    parser.add_argument("--fill", metavar="DATABASE", help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=2, metavar=("DATABASE", "TARGET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill:
        fill(args.fill, args.count)
        return
    if args.measure:
        measure(*args.measure)
        return
    trees = {"now": HERE.parent / "src"}
    if args.before is not None:
        if not (args.before / "src" / "anchor").is_dir():
            parser.error(f"--before {args.before}: no src/anchor there")
        trees["before"] = args.before / "src"
    with tempfile.TemporaryDirectory(prefix="anchor-receipts-", dir=args.workdir) as folder:
        root = Path(folder)
        databases = {name: f"sqlite:///{root / f'issuer-{name}.db'}" for name in trees}
        for name, source in trees.items():  # each tree's own store: its schema may differ from the other's
            started = time.perf_counter()
            env = {**os.environ, "PYTHONPATH": str(source)}
            subprocess.run([sys.executable, __file__, str(args.count), "--fill", databases[name]], check=True, env=env)
            print(
                f"receipts_bench: {args.count:,} credentials stored and anchored by {name} in "
                f"{time.perf_counter() - started:.0f} s (the same credentials and digests for each)"
            )
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in trees}
        kept: dict[str, Path] = {}
        cpu: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
        for round_number in range(args.rounds):
            for name, source in trees.items():
                target = root / f"receipts-{name}"
                shutil.rmtree(target, ignore_errors=True)
                os.sync()
                env = {**os.environ, "PYTHONPATH": str(source), "RECEIPTS_BENCH_WRITERS": str(args.writers)}
                loadavg = os.getloadavg()[0]
                out = subprocess.run(
                    [sys.executable, __file__, "--measure", databases[name], str(target)],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout.split()
                seconds, peak, user, system, pss = (float(x) for x in out[:5])
                results[name].append((seconds, peak, loadavg))
                cpu[name].append((user, system))
                kept[name] = Path(out[5])
                print(
                    f"  round {round_number + 1} {name:<6}: {seconds:6.1f} s, {args.count / seconds:8,.0f} receipts/s, "
                    f"CPU user {user:5.1f} s + system {system:5.1f} s (its writer processes too), peak RSS "
                    f"{peak:5.0f} MB, with its writers {pss:5.0f} MB (PSS), load {loadavg:.1f}, {kept[name].name}",
                    flush=True,
                )
        sizes, sample = sample_of(kept["now"], args.count)
        if len(kept) == 2:
            before = named(kept["before"], set(sample))
            same = len(before) == len(sample) and all(data == before[name] for name, data in sample.items())
            print(f"  receipts of both trees byte for byte the same on a sample of {len(sample)}: {same}")
        for path in kept.values():
            shutil.rmtree(path.parent.parent)  # receipts-<name>, the folder given to write_receipts
        mean = sum(sizes) // len(sizes)
        files = min(args.count, FLOOR_FILES)
        floor_seconds = floor(root, files, mean) * args.count / files
        floor_load = os.getloadavg()[0]
    best = {name: min(rows) for name, rows in results.items()}
    cpu_note = {name: min(rows) for name, rows in cpu.items()}
    for name, (user, system) in cpu_note.items():
        print(f"{name:<6} least CPU: user {user:.1f} s, system {system:.1f} s")
    for name, (seconds, _peak, _load) in best.items():
        print(
            f"{name:<6} best of {args.rounds}: {seconds:.1f} s, {args.count / seconds:,.0f} receipts/s, "
            f"peak RSS {max(row[1] for row in results[name]):.0f} MB"
        )
    if "before" in best:
        least = {name: min(row[0] for row in rows) for name, rows in cpu.items()}
        print(
            f"before/now: wall {best['before'][0] / best['now'][0]:.2f}x, "
            f"user CPU {least['before'] / least['now']:.2f}x "
            "(the process's own Python work: steadier than wall time on a shared machine)"
        )
    print(
        f"floor: {files:,} files of {mean:,} bytes in 10,000-file folders, one process, as for {args.count:,}: "
        f"{floor_seconds:.1f} s, "
        f"{args.count / floor_seconds:,.0f} files/s, load {floor_load:.1f}; now is "
        f"{floor_seconds / best['now'][0]:.2f} of the floor's rate"
    )


if __name__ == "__main__":
    main()
