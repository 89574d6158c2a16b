"""Run ``python -m anchor ...`` in a fresh process and measure it: wall time, CPU summed over it and its worker
processes, and peak memory (the intake and roster benchmarks use it).

The command runs under a small wrapper that, as the process exits, writes its own resource use and that of
its children (the validating workers, which it has waited for) to a file. ``src``: another checkout's
``src`` directory to run instead of this one (the peer: ``git worktree add /tmp/before HEAD``, then
``--peer-src /tmp/before/src``), put first on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_WRAPPER = """
import atexit, json, os, resource, runpy, sys
def _report():
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.environ["ANCHOR_BENCH_USAGE"], "w") as out:
        json.dump({"parent": own.ru_utime + own.ru_stime, "workers": workers.ru_utime + workers.ru_stime,
                   "parent_rss": own.ru_maxrss, "worker_rss": workers.ru_maxrss}, out)
atexit.register(_report)
sys.argv = ["anchor", *sys.argv[1:]]
runpy.run_module("anchor", run_name="__main__")
"""


@dataclass(frozen=True)
class Run:
    """One measured command."""

    seconds: float
    parent_cpu: float
    """CPU seconds (user + system) of the ``anchor`` process itself."""
    worker_cpu: float
    """CPU seconds of its worker processes."""
    peak_mb: float
    """The larger of the process's and its largest worker's peak resident memory, in MB."""
    load: float
    """The 1-minute load average just before the run."""
    output: str

    @property
    def cpu(self) -> float:
        return self.parent_cpu + self.worker_cpu

    def per_item(self, count: int) -> str:
        """Items/s, CPU µs per item (parent + workers), peak memory."""
        return (
            f"{count / self.seconds:7,.0f}/s  CPU {self.cpu / count * 1e6:5.0f} µs/item "
            f"(parent {self.parent_cpu / count * 1e6:4.0f} + workers {self.worker_cpu / count * 1e6:4.0f})  "
            f"peak {self.peak_mb:4.0f} MB  load {self.load:4.2f}"
        )


def run_anchor(env: dict[str, str], *args: str, src: str | None = None) -> Run:
    """Run ``python -m anchor ARGS`` with ``env`` (and ``src`` first on the path); SystemExit if it fails."""
    with tempfile.TemporaryDirectory() as folder:
        usage = Path(folder) / "usage.json"
        environment = env | {"ANCHOR_BENCH_USAGE": str(usage)}
        if src is not None:
            environment["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
        load = os.getloadavg()[0]
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", _WRAPPER, *args], env=environment, capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(
                f"anchor {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        measured = json.loads(usage.read_text())
    return Run(
        seconds=seconds,
        parent_cpu=measured["parent"],
        worker_cpu=measured["workers"],
        peak_mb=max(measured["parent_rss"], measured["worker_rss"]) / 1024,
        load=load,
        output=result.stdout + result.stderr,
    )
