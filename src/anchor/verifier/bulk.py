"""Verifying a directory of receipts: worker processes for the CPU, threads for the RPC round trips.

Most of a verification is CPU in Python (strict parsing, JSON Schema validation, JCS canonical form, keccak:
about 3 ms a receipt); the status call is a short wait. Threads alone stay on one core (the GIL), so
receipts are cut into chunks verified by ``processes`` worker processes, each with its own
:class:`~anchor.verifier.session.Verifier` (its own connections and caches) and ``threads`` threads. Results
come back in input order. Worker processes are forked where the platform can (start-up in milliseconds).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.pool import Pool

from anchor.processes import start_method, usable_cpus
from anchor.verifier.dids import ResolverSetup
from anchor.verifier.model import Verification
from anchor.verifier.session import Verifier
from anchor.verifier.status import StatusListSetup
from anchor.verifier.trust import TrustedRegistry

#: Receipts handed to a worker process at a time.
CHUNK = 64


@dataclass(frozen=True)
class _Setup:
    """What a worker process needs to build its own Verifier."""

    rpc_urls: tuple[str, ...]
    trusted: tuple[TrustedRegistry, ...]
    timeout: float
    block: str
    dids: ResolverSetup
    """How the issuers' DIDs are resolved: given documents, disk cache, CA bundle (each process its own memory)."""
    status_lists: StatusListSetup
    """The status lists compared with the chain: given ones, and whether to fetch (each process its own cache)."""


_worker: Verifier | None = None


def _start_worker(setup: _Setup) -> None:
    global _worker
    _worker = Verifier(
        setup.rpc_urls,
        setup.trusted,
        timeout=setup.timeout,
        block=setup.block,
        dids=setup.dids,
        status_lists=setup.status_lists,
    )


def _verify_chunk(job: tuple[list[str], datetime | None, int]) -> list[Verification]:
    paths, now, threads = job
    verifier = _worker
    assert verifier is not None, "worker process started without a verifier"
    return list(verifier.verify_many(paths, lambda path: verifier.verify_file(path, now=now), workers=threads))


def verify_paths(
    verifier: Verifier,
    paths: Sequence[str],
    *,
    processes: int | None = None,
    threads: int = 4,
    now: datetime | None = None,
) -> Iterator[Verification]:
    """Verify the receipt files ``paths``; results in input order.

    With ``processes`` > 1 (default: one per CPU) and enough receipts, worker processes verify chunks of
    :data:`CHUNK`, each with ``threads`` threads; otherwise ``verifier`` does it here with ``threads`` threads.
    The worker processes start before this returns (so before the caller starts threads of its own, such
    as a progress bar's); they stop when the results are consumed or the iterator is closed.
    """
    count = usable_cpus() if processes is None else processes
    if count <= 1 or len(paths) < 2 * CHUNK:
        return iter(verifier.verify_many(paths, lambda path: verifier.verify_file(path, now=now), workers=threads))
    urls = tuple(endpoint.url for endpoint in verifier.endpoints)
    setup = _Setup(
        urls,
        tuple(verifier.trusted),
        verifier.timeout,
        verifier.block,
        verifier.dids.setup,
        verifier.status_lists.setup,
    )
    jobs = [(list(paths[start : start + CHUNK]), now, threads) for start in range(0, len(paths), CHUNK)]
    pool = multiprocessing.get_context(start_method()).Pool(count, initializer=_start_worker, initargs=(setup,))
    return _collect(pool, jobs)


def _collect(pool: Pool, jobs: list[tuple[list[str], datetime | None, int]]) -> Iterator[Verification]:
    with pool:
        for results in pool.imap(_verify_chunk, jobs):
            yield from results
