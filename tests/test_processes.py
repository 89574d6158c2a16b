"""Counts shared with forked workers (``anchor.processes.SharedCounts``): a reader never sees a torn count.

The writers' progress of a large batch is read from such counts while the writers set them; a count read
half-written (``struct.pack_into`` zero-fills its word first) made the progress go backwards.
"""

from __future__ import annotations

import multiprocessing
import os

import pytest

from anchor.processes import SharedCounts

STEPS = 300_000


def read_while_a_child_counts(counts: SharedCounts) -> list[int]:
    """Fork a child that counts 1..STEPS in counter 1; read counter 1 here until it ends; the backward steps."""

    def count() -> None:
        for done in range(1, STEPS + 1):
            counts[1] = done
        os._exit(0)

    child = multiprocessing.get_context("fork").Process(target=count)
    child.start()
    backwards, last = [], 0
    while last < STEPS:
        now = counts[1]
        if now < last:
            backwards.append(now)
        last = max(last, now)
    child.join()
    assert child.exitcode == 0
    return backwards


def test_a_count_read_while_it_is_set_never_goes_backwards() -> None:
    counts = SharedCounts(3)
    try:
        assert read_while_a_child_counts(counts) == []
        assert counts[1] == STEPS
        assert (counts[0], counts[2]) == (0, 0)
    finally:
        counts.close()


def test_total_sums_the_counters_from_start() -> None:
    counts = SharedCounts(4)
    try:
        for which, value in enumerate((5, 7, 11, 13)):
            counts[which] = value
        assert (counts.total(), counts.total(1), counts.total(3), counts.total(4)) == (36, 31, 13, 0)
        counts[2] = 2**62
        assert counts[2] == 2**62
    finally:
        counts.close()
    with pytest.raises(ValueError, match="released"):
        counts[0] = 1  # released: no write after close
