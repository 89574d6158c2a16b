"""Peak memory of building a batch and loading its tree for receipts, as ``anchor batch run`` does them.

Fills a fresh SQLite issuer store with N synthetic queued credentials (random 32-byte digests, direct
``executemany`` of valid rows, in a child process so the fill does not count), then, in one process as the
batch run: ``Store.build_batch`` with :func:`anchor.issuing.batch.build_tree`, then
:func:`anchor.issuing.receipts.rebuilt_tree` (the tree of ``write_receipts``, rebuilt from the stored digests)
and every proof of it. Prints the peak RSS (the whole process so far) after each step, the step's own peak
(Linux: the kernel's high-water mark reset before each step through ``/proc/self/clear_refs``), and with
``--tracemalloc`` the Python allocation peak of each step (slower). The build stores the tree's dump a part at
a time (``batch_tree_parts``), so its peak is the tree's. Then, in a fresh process, for
comparison: :func:`anchor.issuing.receipts.batch_tree` (the stored dump parsed: what receipts read before).

    .venv/bin/python benchmarks/batch_memory_bench.py 200000 1000000
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import suppress
from pathlib import Path

ADDRESS = "0x" + "11" * 20


def fill(database: str, count: int) -> None:
    """Queue ``count`` credentials with random digests into a fresh store (rows as ``queue_rows`` stores them)."""
    from anchor.issuing.store import Store

    with Store(database) as store:
        raw = store.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("BEGIN")  # the store's connections are in autocommit mode: one transaction
            now = time.time()
            step = 50_000
            for start in range(0, count, step):
                stop = min(start + step, count)
                blob = os.urandom(64 * (stop - start))
                cursor.executemany(
                    "INSERT INTO credentials (id, credential_id, content_hash, digest, issuer, queued_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (
                            i + 1,
                            f"urn:uuid:bench-{i}",
                            "0x" + blob[64 * (i - start) : 64 * (i - start) + 32].hex(),
                            "0x" + blob[64 * (i - start) + 32 : 64 * (i - start + 1)].hex(),
                            "did:example:issuer",
                            now,
                        )
                        for i in range(start, stop)
                    ],
                )
                cursor.executemany(
                    "INSERT INTO credential_documents (credential, document) VALUES (?, ?)",
                    [(i + 1, "{}") for i in range(start, stop)],
                )
            cursor.execute("COMMIT")
        finally:
            raw.close()


_whole_peak = 0.0


def _peak_mb() -> float:
    """The process's peak RSS so far (MB), across the steps' resets of the kernel's high-water mark."""
    global _whole_peak
    _whole_peak = max(_whole_peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return _whole_peak


def _step_start() -> None:
    """Reset the kernel's high-water mark of the resident set (Linux), so the next step's own peak shows."""
    _peak_mb()
    with suppress(OSError):  # not Linux, or not allowed: the step's peak is then the whole run's
        Path("/proc/self/clear_refs").write_text("5")


def _step_peak() -> str:
    """The peak RSS since :func:`_step_start` (MB), from /proc (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return f", step peak {int(line.split()[1]) / 1024:5.0f} MB"
    except (OSError, ValueError):
        pass
    return ""


def _now() -> str:
    """The resident set now (MB), from /proc (Linux), after the peak."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return ""
    return f", RSS now {pages * os.sysconf('SC_PAGE_SIZE') / 2**20:5.0f} MB"


def measure(database: str, traced: bool) -> None:
    """Build the batch and rebuild its tree as the batch run does (then every proof), printing the peaks."""
    from anchor.issuing.batch import build_tree
    from anchor.issuing.receipts import rebuilt_tree
    from anchor.issuing.store import Store

    print(f"  start         peak RSS {_peak_mb():7.0f} MB", flush=True)
    with Store(database) as store:
        if traced:
            tracemalloc.start()
        _step_start()
        started = time.perf_counter()
        batch = store.build_batch(10**9, 31337, ADDRESS, ADDRESS, build_tree)
        assert batch is not None
        traced_peak = f", traced peak {tracemalloc.get_traced_memory()[1] / 2**20:5.0f} MB" if traced else ""
        took = time.perf_counter() - started
        step = _step_peak()
        print(f"  build_batch   peak RSS {_peak_mb():7.0f} MB{step}{_now()}{traced_peak} ({took:.1f} s)", flush=True)
        if traced:
            tracemalloc.reset_peak()
        _step_start()
        started = time.perf_counter()
        tree = rebuilt_tree(store, batch, workers=None)
        traced_peak = f", traced peak {tracemalloc.get_traced_memory()[1] / 2**20:5.0f} MB" if traced else ""
        took = time.perf_counter() - started
        step = _step_peak()
        print(f"  rebuilt_tree  peak RSS {_peak_mb():7.0f} MB{step}{_now()}{traced_peak} ({took:.1f} s)", flush=True)
        assert tree.root == batch.root
        assert len(tree) == batch.size
        _step_start()
        started = time.perf_counter()
        proofs = sum(1 for _ in tree.iter_proofs(workers=None))
        took = time.perf_counter() - started
        step = _step_peak()
        print(
            f"  iter_proofs   peak RSS {_peak_mb():7.0f} MB{step}{_now()} ({took:.1f} s, {proofs} proofs)", flush=True
        )


def measure_dump_load(database: str) -> None:
    """Load the built batch's tree from its stored dump (``batch_tree``, the way before), printing the peak."""
    from anchor.issuing.receipts import batch_tree
    from anchor.issuing.store import Store

    print(f"  start         peak RSS {_peak_mb():7.0f} MB (a fresh process)", flush=True)
    with Store(database) as store:
        batch = store.get_batch(1)
        started = time.perf_counter()
        tree = batch_tree(store, batch, workers=None)
        took = time.perf_counter() - started
        print(
            f"  batch_tree    peak RSS {_peak_mb():7.0f} MB{_now()} ({took:.1f} s, the stored dump parsed)", flush=True
        )
        assert tree.root == batch.root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[200_000])
    parser.add_argument("--tracemalloc", action="store_true", help="also the Python allocation peak per step")
    parser.add_argument("--fill", metavar="DATABASE", help=argparse.SUPPRESS)
    parser.add_argument("--measure", metavar="DATABASE", help=argparse.SUPPRESS)
    parser.add_argument("--dump-load", metavar="DATABASE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill:
        fill(args.fill, args.sizes[0])
        return
    if args.measure:
        measure(args.measure, args.tracemalloc)
        return
    if args.dump_load:
        measure_dump_load(args.dump_load)
        return
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            database = f"sqlite:///{Path(folder) / 'issuer.db'}"
            started = time.perf_counter()
            subprocess.run([sys.executable, __file__, str(size), "--fill", database], check=True)
            print(f"N = {size}: filled in {time.perf_counter() - started:.1f} s", flush=True)
            extra = ["--tracemalloc"] if args.tracemalloc else []
            subprocess.run([sys.executable, __file__, "--measure", database, *extra], check=True)
            subprocess.run([sys.executable, __file__, "--dump-load", database], check=True)


if __name__ == "__main__":
    main()
