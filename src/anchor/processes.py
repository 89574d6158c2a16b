"""Worker processes: how many CPUs this process may use, how to start workers, counts shared with them."""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # multiprocessing is imported when work is forked, not by a verifier's start-up
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

T = TypeVar("T")


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


def run_split(local: Callable[[], T], remote: Sequence[Callable[[], bytes]]) -> tuple[T, list[bytes | None]]:
    """Run each of ``remote`` in a forked child and ``local`` here, at the same time.

    Returns ``local()``'s result and the children's results in order; ``None``
    for a child that could not start (e.g. from a daemonic process), failed or
    died: the caller recomputes its share.
    """
    if not remote:
        return local(), []
    import multiprocessing

    context = multiprocessing.get_context("fork")
    children: list[tuple[BaseProcess, Connection] | None] = []
    try:
        for task in remote:
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_child_main, args=(task, sender), daemon=True)
            try:
                process.start()
            except (AssertionError, OSError):  # daemonic parent, no more processes, ...
                receiver.close()
                children.append(None)
            else:
                children.append((process, receiver))
            finally:
                sender.close()
        mine = local()
        return mine, [_collect(child) for child in children]
    finally:
        for child in children:
            if child is not None:
                child[1].close()
                if child[0].is_alive():
                    child[0].kill()
                    child[0].join()


def _collect(child: tuple[BaseProcess, Connection] | None) -> bytes | None:
    if child is None:
        return None
    process, receiver = child
    try:
        message = receiver.recv_bytes()
    except (EOFError, OSError):
        message = b""
    process.join()
    return message[1:] if message[:1] == b"+" and process.exitcode == 0 else None


def _child_main(task: Callable[[], bytes], sender: Connection) -> None:
    try:
        result = task()
    except BaseException:  # the parent recomputes this share and reports the error itself
        sender.send_bytes(b"-")
    else:
        sender.send_bytes(b"+" + result)
    finally:
        sender.close()


class SharedCounts:
    """Counters in memory shared with the processes forked after it is made (e.g. each writer's work so far).

    Each counter is one aligned 8-byte word, stored and read whole through a ``q`` memoryview: a reader never
    sees a half-written count (``struct.pack_into`` zero-fills its target before it writes, so a reader could
    catch a count of 0 mid-way).
    """

    def __init__(self, size: int) -> None:
        self._memory = mmap.mmap(-1, 8 * size)  # anonymous and shared: forked children write the same pages
        self._words = memoryview(self._memory).cast("q")

    def __setitem__(self, which: int, value: int) -> None:
        self._words[which] = value

    def __getitem__(self, which: int) -> int:
        return int(self._words[which])

    def total(self, start: int = 0) -> int:
        """The sum of the counters from ``start`` on."""
        return sum(self._words[start:])

    def close(self) -> None:
        """Release the shared memory (no counter is read or set after)."""
        self._words.release()
        self._memory.close()
