"""Verifying a directory of receipts: chunks whose chain questions go in JSON-RPC batches, in worker processes.

Receipts are cut into chunks of :data:`CHUNK`. For each chunk, :meth:`~anchor.verifier.session.Verifier.prefetched`
parses the receipts and asks each endpoint everything their verifications will ask (the status of each, the
issuer of each issuer, the ``BatchAnchored`` event of each batch) in a few JSON-RPC batch requests, instead
of one request per receipt; then each receipt runs every check on those answers. What is left is CPU in
Python (strict parsing, JSON Schema validation, JCS canonical form, keccak), and threads stay on one core
(the GIL), so chunks are verified by ``processes`` worker processes, each with its own
:class:`~anchor.verifier.session.Verifier` (its own connections and caches) and ``threads`` threads for what
was not asked ahead (revoked credentials, batches not final, DID documents). Results come back in input
order. Worker processes are forked where the platform can (start-up in milliseconds).

A receipt is a file's path, or a member of a tar archive (:class:`~anchor.verifier.archive.ArchiveMember`: the
archive's path, the member's data offset and size), which the worker that verifies it reads with
:func:`os.pread` (the caller scanned the archive's headers once: :func:`~anchor.verifier.archive.archive_members`).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator, Sequence
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from anchor.processes import start_method, usable_cpus
from anchor.verifier.archive import ARCHIVE_SUFFIX, RECEIPT_SUFFIX, ArchiveMember, read_members, verify_member
from anchor.verifier.dids import ResolverSetup
from anchor.verifier.model import Verification
from anchor.verifier.session import Verifier, read_receipt_file
from anchor.verifier.status import StatusListSetup
from anchor.verifier.trust import TrustedRegistry

if TYPE_CHECKING:
    from multiprocessing.pool import Pool

#: Receipts whose chain questions are asked together (one JSON-RPC batch request per endpoint, or two).
CHUNK = 64
#: Chunks handed to a worker process at a time (it asks for the next while it verifies one).
JOB = 4
#: The last chunks, this many per worker process, go one to a job (see :func:`verify_paths`).
TAIL_JOBS = 2

ReceiptSource = str | ArchiveMember
"""A receipt to verify: a file's path, or a member of a tar archive."""


class _Setup(NamedTuple):
    """What a worker process needs to build its own Verifier (a NamedTuple: cheaper to define than a dataclass,
    and a one-receipt run imports this module too)."""

    rpc_urls: tuple[str, ...]
    trusted: tuple[TrustedRegistry, ...]
    timeout: float
    block: str
    dids: ResolverSetup
    """How the issuers' DIDs are resolved: given documents, disk cache, CA bundle (each process its own memory)."""
    status_lists: StatusListSetup
    """The status lists compared with the chain: given ones, and whether to fetch (each process its own cache)."""
    read_many: bool = True
    """Whether statuses are asked many to an ``eth_call`` (:attr:`Verifier.read_many`)."""


_worker: Verifier | None = None


#: The worker processes' first-generation garbage collection threshold (Python's default: 700 allocations).
#: Verifying allocates many short-lived objects and makes almost no reference cycles, so the collector's
#: default pace costs about a tenth of a worker's CPU for next to nothing found; memory stays bounded (a
#: chunk's objects, collected at this pace).
WORKER_GC_THRESHOLD = 50_000


def _start_worker(setup: _Setup) -> None:
    global _worker
    import gc

    gc.set_threshold(WORKER_GC_THRESHOLD, 20, 20)
    _worker = Verifier(
        setup.rpc_urls,
        setup.trusted,
        timeout=setup.timeout,
        block=setup.block,
        dids=setup.dids,
        status_lists=setup.status_lists,
        read_many=setup.read_many,
    )


def _verify_job(job: tuple[list[list[ReceiptSource]], datetime | None, int]) -> list[Verification]:
    chunks, now, threads = job
    assert _worker is not None, "worker process started without a verifier"
    return [result for results in verify_chunks(_worker, chunks, now=now, threads=threads) for result in results]


def verify_chunk(
    verifier: Verifier, paths: Sequence[ReceiptSource], *, now: datetime | None = None, threads: int = 1
) -> list[Verification]:
    """Verify the receipt files (or archive members) ``paths`` with their chain questions asked ahead in
    JSON-RPC batches.

    The same results as :meth:`~anchor.verifier.session.Verifier.verify_file` of each path (and
    :func:`~anchor.verifier.archive.verify_member` of each member); one that cannot be read is left to it (it
    reports why).
    """
    asked = _Asked(verifier, paths)
    try:
        return asked.verify(now, threads)
    finally:
        asked.close()


def verify_chunks(
    verifier: Verifier, chunks: Sequence[Sequence[ReceiptSource]], *, now: datetime | None = None, threads: int = 1
) -> Iterator[list[Verification]]:
    """:func:`verify_chunk` of each of ``chunks`` in turn, the next one's files read and its questions asked (in
    a thread) while this one is verified: the endpoints' round trips overlap the CPU work."""
    if len(chunks) <= 1:
        yield from (verify_chunk(verifier, chunk, now=now, threads=threads) for chunk in chunks)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, "ask-ahead") as ahead:
        upcoming = ahead.submit(_Asked, verifier, chunks[0])
        pending = True
        try:
            for number in range(len(chunks)):
                asked = upcoming.result()
                pending = False
                if number + 1 < len(chunks):
                    upcoming = ahead.submit(_Asked, verifier, chunks[number + 1])
                    pending = True
                try:
                    yield asked.verify(now, threads)
                finally:
                    asked.close()
        finally:  # stopped early (or failed): what was asked ahead is forgotten too
            if pending:
                with contextlib.suppress(Exception):
                    upcoming.result().close()


class _Asked:
    """A chunk of receipt files (or archive members) read, parsed and its chain questions asked
    (:meth:`Verifier.prefetched`)."""

    def __init__(self, verifier: Verifier, paths: Sequence[ReceiptSource]) -> None:
        self.verifier = verifier
        self.paths = paths
        self.texts = _read_all(paths)
        self._context = verifier.prefetched(text for text in self.texts if text is not None)
        self.asking = self._context.__enter__()

    def verify(self, now: datetime | None, threads: int) -> list[Verification]:
        """Every check of each receipt, on the answers asked; in input order."""
        verifier, paths, texts = self.verifier, self.paths, self.texts

        def one(number: int) -> Verification:
            text, path = texts[number], paths[number]
            if isinstance(path, ArchiveMember):
                if text is None:
                    return verify_member(verifier, path, now=now)
                return verifier.verify(text, now=now, source=path.source)
            if text is None:
                return verifier.verify_file(path, now=now)
            return verifier.verify(text, now=now, source=path)

        waiting = [number for number, text in enumerate(texts) if text in self.asking]
        if threads <= 1 or not waiting:
            results = [one(number) for number in range(len(paths))]
        else:  # those that still ask an endpoint in threads, the others (CPU only, the GIL) here meanwhile
            from concurrent.futures import ThreadPoolExecutor, wait

            with ThreadPoolExecutor(min(threads, len(waiting)), "verify") as pool:
                futures = {number: pool.submit(contextvars.copy_context().run, one, number) for number in waiting}
                done = {number: one(number) for number in range(len(paths)) if number not in futures}
                wait(futures.values())
            results = [futures[number].result() if number in futures else done[number] for number in range(len(paths))]
        return results

    def close(self) -> None:
        """Forget what was asked (:meth:`Verifier.prefetched` keeps nothing after)."""
        self._context.__exit__(None, None, None)


def receipt_files(folder: str | os.PathLike[str], *, archives: bool = False) -> list[str]:
    """Every ``*.json`` file below ``folder`` (symbolic links to files too; with ``archives``, every ``*.tar``
    file too), sorted as paths, as ``str`` of
    :class:`~pathlib.Path`: what ``sorted(Path(folder).rglob("*.json"))`` keeps of files, without the folders
    below that are hidden (their name starts with a dot: a batch's receipts being written sit in
    ``.batch-N.partial`` until they are complete).

    Symbolic links to folders are not followed (as ``rglob``); a folder that may not be read is left out. One
    ``scandir`` per folder and no ``stat`` per file but for links, instead of a :class:`~pathlib.Path` per
    file: a directory of thousands of receipts is listed at a sixth of the cost.
    """
    found: list[tuple[tuple[str, ...], str]] = []
    pending: list[tuple[str, tuple[str, ...]]] = [(str(Path(folder)), ())]
    while pending:
        where, parts = pending.pop()
        try:
            with os.scandir(where) as listing:
                entries = list(listing)
        except PermissionError:
            continue
        for entry in entries:
            name = entry.name
            try:
                is_folder = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_folder = False
            if is_folder:
                if not name.startswith("."):
                    pending.append((entry.path, (*parts, name)))
            elif (name.endswith(RECEIPT_SUFFIX) or (archives and name.endswith(ARCHIVE_SUFFIX))) and entry.is_file():
                found.append(((*parts, name), entry.path))
    found.sort(key=itemgetter(0))
    return [path for _, path in found]


def _read(path: str) -> bytes | None:
    """What :meth:`~anchor.verifier.session.Verifier.verify_file` reads of ``path``; None if it cannot be read."""
    try:
        return read_receipt_file(path)
    except OSError:
        return None


def _read_all(paths: Sequence[ReceiptSource]) -> list[bytes | None]:
    """What is read of each file (:func:`_read`) and archive member (each archive opened once per chunk)."""
    members = [path for path in paths if isinstance(path, ArchiveMember)]
    if not members:
        return [_read(path) for path in paths if isinstance(path, str)]
    read = iter(read_members(members))
    return [next(read) if isinstance(path, ArchiveMember) else _read(path) for path in paths]


def verify_paths(
    verifier: Verifier,
    paths: Sequence[ReceiptSource],
    *,
    processes: int | None = None,
    threads: int = 4,
    now: datetime | None = None,
) -> Iterator[Verification]:
    """Verify the receipt files (or archive members) ``paths``; results in input order.

    Chunks of :data:`CHUNK` are verified by :func:`verify_chunk` (their chain questions asked in JSON-RPC batch
    requests, then ``threads`` threads for the receipts that still ask something); with ``processes`` > 1
    (default: one per CPU) and enough receipts, in worker processes, otherwise here by ``verifier``.
    The worker processes start before this returns (so before the caller starts threads of its own, such
    as a progress bar's); they stop when the results are consumed or the iterator is closed.
    """
    count = usable_cpus() if processes is None else processes
    chunks = [list(paths[start : start + CHUNK]) for start in range(0, len(paths), CHUNK)]
    if count <= 1 or len(paths) < 2 * CHUNK:
        return (result for results in verify_chunks(verifier, chunks, now=now, threads=threads) for result in results)
    urls = tuple(endpoint.url for endpoint in verifier.endpoints)
    setup = _Setup(
        urls,
        tuple(verifier.trusted),
        verifier.timeout,
        verifier.block,
        verifier.dids.setup,
        verifier.status_lists.setup,
        verifier.read_many,
    )
    # JOB chunks a job (the next chunk's questions asked while one is verified), but the last chunks one a job,
    # so that no process idles at the end while the other verifies a whole job
    head = len(chunks) - min(len(chunks), TAIL_JOBS * count)
    jobs = [(chunks[start : min(start + JOB, head)], now, threads) for start in range(0, head, JOB)]
    jobs += [([chunk], now, threads) for chunk in chunks[head:]]
    import multiprocessing  # only here: a one-receipt run starts faster

    pool = multiprocessing.get_context(start_method()).Pool(count, initializer=_start_worker, initargs=(setup,))
    return _collect(pool, jobs)


def _collect(pool: Pool, jobs: list[tuple[list[list[ReceiptSource]], datetime | None, int]]) -> Iterator[Verification]:
    """The workers' results in order. Meanwhile this process collects garbage at the workers' pace
    (:data:`WORKER_GC_THRESHOLD`): unpickling results makes many objects and no cycles, and at Python's default
    pace the collector costs this process a third of its unpickling time; the threshold is restored after."""
    import gc

    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], WORKER_GC_THRESHOLD), *threshold[1:])
    try:
        with pool:
            for results in pool.imap(_verify_job, jobs):
                yield from results
    finally:
        gc.set_threshold(*threshold)
