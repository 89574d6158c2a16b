"""Worker processes: how many CPUs this process may use, and how to start workers."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the system has one), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    """Whether worker processes can be forked here (no re-import of ``__main__``, no start-up cost)."""
    import multiprocessing  # here, not at import: a one-receipt `anchor verify` does not start workers

    return "fork" in multiprocessing.get_all_start_methods()


def start_method() -> str:
    """``fork`` where there is fork, else ``spawn``."""
    return "fork" if can_fork() else "spawn"
