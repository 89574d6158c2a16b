"""Split bulk hashing over forked worker processes.

Keccak bindings hold the GIL for short inputs, so threads do not help; forked
children do. A child inherits the parent's memory (the values, the tree) at fork
time, computes its share and sends back raw bytes through a pipe; nothing is
pickled. Work only goes to children when asked for (``workers > 1``), when the
platform can fork and when there is enough of it to pay for a fork.

A child that fails or dies is not an error: its share is computed again in the
parent, which then raises whatever the child hit, if anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from anchor.errors import MerkleInputError
from anchor.processes import can_fork, run_split, usable_cpus

MIN_ITEMS_PER_WORKER = 1 << 14
"""Below this many items per worker a fork costs more than it saves."""


def effective_workers(workers: int | None, items: int) -> int:
    """How many processes to use for ``items`` units of work (1 means: stay in this process).

    ``workers=None`` means one per CPU.
    """
    if workers is None:
        workers = usable_cpus()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise MerkleInputError(f"workers must be a positive integer or None, got {workers!r}")
    if workers == 1 or not can_fork():
        return 1
    return max(1, min(workers, items // MIN_ITEMS_PER_WORKER))


def chunk_bounds(count: int, parts: int) -> list[tuple[int, int]]:
    """Split ``range(count)`` into ``parts`` contiguous, nearly equal ``(start, stop)`` chunks."""
    return [(count * i // parts, count * (i + 1) // parts) for i in range(parts)]


def run_chunks(task: Callable[[int, int], bytes], bounds: Sequence[tuple[int, int]]) -> list[bytes]:
    """``task(start, stop)`` for each chunk: the first here, the others in forked children.

    A chunk whose child failed is computed again here.
    """
    remote = [partial(task, start, stop) for start, stop in bounds[1:]]
    mine, theirs = run_split(partial(task, *bounds[0]), remote)
    return [mine] + [task(*b) if blob is None else blob for b, blob in zip(bounds[1:], theirs, strict=True)]


def map_chunks(compute: Callable[[int, int], list[bytes]], count: int, workers: int, width: int = 32) -> list[bytes]:
    """``compute(0, count)``, split over ``workers`` processes.

    ``compute(start, stop)`` returns one item per index; a child's share is sent
    back as one blob and cut into items of ``width`` bytes. A share whose blob does
    not have exactly that size (an item that is not ``width`` bytes long, a failed
    child) is computed again here.
    """
    if workers <= 1:
        return compute(0, count)
    bounds = chunk_bounds(count, workers)
    remote = [_joined(compute, start, stop) for start, stop in bounds[1:]]
    first, blobs = run_split(lambda: compute(*bounds[0]), remote)
    items = first
    for (start, stop), blob in zip(bounds[1:], blobs, strict=True):
        if blob is not None and len(blob) == width * (stop - start):
            items.extend([blob[i : i + width] for i in range(0, len(blob), width)])
        else:
            items.extend(compute(start, stop))
    return items


def _joined(compute: Callable[[int, int], list[bytes]], start: int, stop: int) -> Callable[[], bytes]:
    return lambda: b"".join(compute(start, stop))
