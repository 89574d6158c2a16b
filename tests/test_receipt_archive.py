"""Receipts of a very large batch as one tar archive (issue 13): the folder's files, written fast, crash-safe.

A batch of more than ``receipts.ARCHIVE_ABOVE`` credentials gets ``batch-N.tar`` instead of ``batch-N/``:
GNU tar and Python's tarfile (two independent readers) must find in it exactly the folder's files (names,
bytes, mode 0600), whichever number of processes wrote it, and it must appear complete or not at all.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import re
import signal
import stat
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_receipts_two_writers import anchor, files, queue

from anchor.issuing import receipt_archive, receipts
from anchor.issuing.store import BatchRecord, Store
from anchor.merkle import core

ISSUER_ID = 5
SIZES = (1, 2, 7, 301)


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core, "LEAF_PIECE", 16)  # a few hundred credentials reach both writers


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, list[BatchRecord]]]:
    path = tmp_path_factory.mktemp("archive") / "issuer.db"
    with Store(f"sqlite:///{path}") as store:
        queue(store, [f"urn:uuid:00000000-0000-4000-8000-{n:012d}" for n in range(sum(SIZES))])
        yield store, [anchor(store, size, 40 + n) for n, size in enumerate(SIZES)]


def members(archive: Path) -> dict[str, bytes]:
    """The archive's members as Python's tarfile reads them (each a regular file, 0600)."""
    found = {}
    with tarfile.open(archive, "r:") as tar:
        for member in tar:
            assert member.isfile(), member.name
            assert member.mode == 0o600, member.name
            extracted = tar.extractfile(member)
            assert extracted is not None
            found[member.name] = extracted.read()
    return found


def gnu_extracted(archive: Path, into: Path) -> dict[str, bytes]:
    """The files GNU tar extracts from the archive (their mode checked: 0600)."""
    into.mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(into)], check=True)
    (folder,) = into.iterdir()
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    return {f"{folder.name}/{name}": data for name, data in files(folder).items()}


@settings(max_examples=300, deadline=None)
@given(
    name=st.text("abcXYZ019._-", min_size=1, max_size=230),
    size=st.integers(0, 2**40),
    mtime=st.integers(0, 2**34),
)
def test_member_headers_are_those_tarfile_writes(name: str, size: int, mtime: int) -> None:
    info = tarfile.TarInfo(f"batch-7/{name}")
    info.size, info.mode, info.mtime = size, 0o600, mtime
    assert receipt_archive.member_header(info.name, size, mtime) == info.tobuf(tarfile.PAX_FORMAT)


@pytest.mark.parametrize("workers", [1, 2])
def test_an_archive_holds_the_files_of_the_folder(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path, workers: int
) -> None:
    store, records = batches
    for batch in records:
        folder = receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "folder", workers=1, archive=False)
        expected = {f"{folder.name}/{name}": data for name, data in files(folder).items()}
        archive = receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "tar", workers=workers, archive=True)
        assert archive == receipts.receipts_archive(tmp_path / "tar", batch)
        assert archive.name == f"{folder.name}.tar"
        assert stat.S_IMODE(archive.stat().st_mode) == 0o600
        assert members(archive) == expected
        assert gnu_extracted(archive, tmp_path / f"gnu-{batch.id}") == expected
        data = archive.read_bytes()
        assert len(data) % 512 == 0
        assert data[-1024:] == bytes(1024)
        assert not [p.name for p in archive.parent.iterdir() if p.name.startswith(".")]  # no part left


@pytest.mark.parametrize(
    ("backlog", "writer_makes"),
    [(0, "none"), (receipts.WRITER_BACKLOG, "some"), (10**6, "all")],
    ids=["this-process-makes-all", "shared-as-each-keeps-up", "the-writer-makes-all"],
)
def test_two_processes_write_the_archive_of_one_byte_for_byte(
    batches: tuple[Store, list[BatchRecord]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    backlog: int,
    writer_makes: str,
) -> None:
    """The writer is another process; whichever process makes a chunk's receipts writes them (this one where the
    writer placed them); the archive is the one process writes, however the chunks were shared."""
    store, records = batches
    monkeypatch.setattr(receipts, "RECEIPT_CHUNK", 16)  # a few hundred receipts make many chunks
    monkeypatch.setattr(receipts, "WRITER_BACKLOG", backlog)
    batch = records[-1]
    one = receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "one", workers=1, archive=True)
    log = tmp_path / "pids"
    original_finished, original_add = receipts._finished, receipt_archive.ArchiveWriter.add
    original_write_members = receipts.write_members

    def finished(*args: object) -> object:  # who makes receipts from documents: one line per chunk
        with log.open("a") as stream:
            stream.write(f"made {os.getpid()}\n")
        return original_finished(*args)  # type: ignore[arg-type]

    def add(self: receipt_archive.ArchiveWriter, name: str, data: bytes) -> None:
        with log.open("a") as stream:
            stream.write(f"wrote {os.getpid()}\n")
        original_add(self, name, data)

    def write_members(descriptor: int, offset: int, folder: str, mtime: int, members: list[tuple[str, bytes]]) -> int:
        with log.open("a") as stream:
            stream.write(f"placed {os.getpid()} {len(members)}\n")
        return original_write_members(descriptor, offset, folder, mtime, members)

    monkeypatch.setattr(receipts, "_finished", finished)
    monkeypatch.setattr(receipt_archive.ArchiveWriter, "add", add)
    monkeypatch.setattr(receipts, "write_members", write_members)
    two = receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "two", workers=2, archive=True)
    assert two.read_bytes() == one.read_bytes()
    lines = log.read_text().split("\n")
    here = str(os.getpid())
    made = [line.split()[1] for line in lines if line.startswith("made")]
    wrote = [line.split()[1] for line in lines if line.startswith("wrote")]
    placed = [line.split()[1:] for line in lines if line.startswith("placed")]
    assert len(made) == -(-batch.size // 16)  # each chunk made once
    assert here not in wrote  # the writer's members are written by the writer, another process
    assert {pid for pid, _ in placed} <= {here}  # the others here, where the writer placed them
    assert len(wrote) + sum(int(count) for _, count in placed) == batch.size
    assert made.count(here) == len(placed)
    by_writer = len(made) - made.count(here)
    assert {"none": by_writer == 0, "some": by_writer > 0, "all": by_writer == len(made)}[writer_makes]


def test_short_writes_are_written_on(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pwritev`` may write less than it was given (a signal, a nearly full disk): the rest follows, in order."""
    store, records = batches
    batch = records[-1]
    expected = members(receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "one", workers=1, archive=True))
    real_pwritev, calls = os.pwritev, [0]

    def short(descriptor: int, pieces: list[bytes], offset: int) -> int:
        calls[0] += 1
        piece = pieces[0]
        return real_pwritev(descriptor, [memoryview(piece)[: max(1, len(piece) // 3)]], offset)  # a third of one

    monkeypatch.setattr(os, "pwritev", short)
    monkeypatch.setattr(receipt_archive, "FLUSH_AT", 20_000)
    archive = receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "two", workers=1, archive=True)
    assert calls[0] > 3 * 301
    assert members(archive) == expected


def test_an_archive_that_cannot_be_flushed_is_an_error_naming_it(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, records = batches

    def full(descriptor: int, pieces: list[bytes], offset: int) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "pwritev", full)
    target = tmp_path / "receipts"
    with pytest.raises(receipts.ReceiptWriteError, match=r"batch-4\d\.tar\.partial.*No space left on device"):
        receipts.write_receipts(store, records[1], ISSUER_ID, target, workers=1, archive=True)
    assert not receipts.receipts_archive(target, records[1]).exists()


def test_any_failure_of_the_writing_thread_reaches_the_caller(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only an OSError: whatever stops the writing thread is raised by the run, which neither hangs nor
    publishes an archive (the queue of buffers is small: a dead thread would otherwise block it)."""
    store, records = batches

    def broken(descriptor: int, pieces: list[bytes], offset: int) -> int:
        raise ValueError("not a file the archive can go to")

    monkeypatch.setattr(os, "pwritev", broken)
    monkeypatch.setattr(receipt_archive, "FLUSH_AT", 4096)  # many buffers: the queue fills
    target = tmp_path / "receipts"
    with pytest.raises(ValueError, match="not a file the archive can go to"):
        receipts.write_receipts(store, records[-1], ISSUER_ID, target, workers=1, archive=True)
    assert not receipts.receipts_archive(target, records[-1]).exists()


def test_a_failed_write_of_the_receipts_made_here_is_an_error_naming_them(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two processes, this one writes the receipts it made where the writer placed them: a failure there
    names the credentials and the archive, ends the writer too and publishes nothing."""
    store, records = batches
    batch = records[-1]

    def full(descriptor: int, offset: int, folder: str, mtime: int, members: list[tuple[str, bytes]]) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(receipts, "write_members", full)
    monkeypatch.setattr(receipts, "WRITER_BACKLOG", 0)  # this process makes (and writes) every chunk
    target = tmp_path / "receipts"
    with pytest.raises(receipts.ReceiptWriteError) as raised:
        receipts.write_receipts(store, batch, ISSUER_ID, target, workers=2, archive=True)
    message = str(raised.value)
    assert re.search(r"credentials 'urn:uuid:.*' to 'urn:uuid:.*' could not be written to .*\.tar\.partial", message)
    assert "No space left on device" in message
    assert not receipts.receipts_archive(target, batch).exists()
    assert multiprocessing.active_children() == []


def test_batches_above_the_limit_get_an_archive_and_the_others_a_folder(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, records = batches
    monkeypatch.setattr(receipts, "ARCHIVE_ABOVE", 7)
    written = {batch.size: receipts.write_receipts(store, batch, ISSUER_ID, tmp_path) for batch in records}
    assert {size: path.is_dir() for size, path in written.items()} == {1: True, 2: True, 7: True, 301: False}
    assert written[301] == receipts.receipts_archive(tmp_path, records[-1])
    assert len(members(written[301])) == 301


@pytest.mark.parametrize(
    ("workers", "chunk", "backlog"), [(1, 2000, 2), (2, 2000, 2), (2, 3, 0), (2, 3, 2), (2, 3, 10**6)]
)
def test_colliding_names_in_an_archive_are_those_of_the_folder(
    tmp_path: Path, workers: int, chunk: int, backlog: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two ids with one file name, and ids that spell the fallback names: every receipt, as the folder names it
    (small chunks: the receipts of one name are made in either process or both, the writer names them all)."""
    monkeypatch.setattr(receipts, "RECEIPT_CHUNK", chunk)
    monkeypatch.setattr(receipts, "WRITER_BACKLOG", backlog)
    ids = ["urn:x:a", "urn:x_a", "urn:x_a-0", "urn:x_a-1"] + [f"urn:uuid:{n:036d}" for n in range(60)]
    with Store(f"sqlite:///{tmp_path / 'issuer.db'}") as store:
        queue(store, ids, seed=3)
        batch = anchor(store, len(ids), 3)
        folder = receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "one", workers=1, archive=False)
        archive = receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "two", workers=workers, archive=True)
    assert members(archive) == {f"{folder.name}/{name}": data for name, data in files(folder).items()}
    assert len(members(archive)) == len(ids)


def test_a_member_that_cannot_be_written_is_reported_by_name(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, records = batches
    batch = records[-1]
    _, victim, _ = list(store.batch_credentials(batch.id))[100]
    wanted = receipts.receipt_file_name(victim)
    original = receipt_archive.ArchiveWriter.add

    def full_disk(self: receipt_archive.ArchiveWriter, name: str, data: bytes) -> None:
        if name == wanted:
            raise OSError(28, "No space left on device")
        original(self, name, data)

    monkeypatch.setattr(receipt_archive.ArchiveWriter, "add", full_disk)
    target = tmp_path / "receipts"
    with pytest.raises(receipts.ReceiptWriteError) as raised:
        receipts.write_receipts(store, batch, ISSUER_ID, target, workers=1, archive=True)
    message = str(raised.value)
    assert f"credential {victim!r}" in message
    assert wanted in message
    assert "No space left on device" in message
    assert str(receipts.receipts_folder(target, batch).name) + ".tar.partial" in message
    assert not receipts.receipts_archive(target, batch).exists()


def _killed_midway(url: str, batch: BatchRecord, target: Path, workers: int, kill_run: bool) -> None:
    """In a forked process: write the archive with small chunks; SIGKILL this process (the run) once it made
    its fourth chunk of receipts, or its forked writer after 60 members."""
    original_add, original_finished = receipt_archive.ArchiveWriter.add, receipts._finished
    me, added, made = os.getpid(), [0], [0]

    def dying_writer(self: receipt_archive.ArchiveWriter, name: str, data: bytes) -> None:
        if os.getpid() != me:
            added[0] += 1
            if added[0] > 60:
                os.kill(os.getpid(), signal.SIGKILL)
        original_add(self, name, data)

    def dying_run(*args: object) -> object:
        if os.getpid() == me:
            made[0] += 1
            if made[0] > 3:
                os.kill(me, signal.SIGKILL)
        return original_finished(*args)  # type: ignore[arg-type]

    receipts.RECEIPT_CHUNK = 16  # type: ignore[misc]  # this process only (forked)
    if kill_run:
        receipts._finished = dying_run
    else:
        receipt_archive.ArchiveWriter.add = dying_writer  # type: ignore[method-assign]
    with Store(url) as store:
        receipts.write_receipts(store, batch, ISSUER_ID, target, workers=workers, archive=True)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_killed_run_leaves_no_archive_and_a_rerun_completes_it(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path, workers: int
) -> None:
    store, records = batches
    batch = records[-1]
    expected = members(receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "one", workers=1, archive=True))
    target = tmp_path / "receipts"
    args = (store.url, batch, target, workers, True)
    process = multiprocessing.get_context("fork").Process(target=_killed_midway, args=args)
    process.start()
    process.join(120)
    assert process.exitcode == -signal.SIGKILL
    archive = receipts.receipts_archive(target, batch)
    left = sorted(p.name for p in archive.parent.iterdir())
    assert left
    assert all(name.startswith(f".{archive.name}.partial") for name in left)
    assert members(receipts.write_receipts(store, batch, ISSUER_ID, target, workers=workers, archive=True)) == expected
    assert sorted(p.name for p in archive.parent.iterdir()) == [archive.name]


def test_a_killed_second_writer_leaves_the_archive_to_one(
    batches: tuple[Store, list[BatchRecord]], tmp_path: Path
) -> None:
    store, records = batches
    batch = records[-1]
    expected = members(receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "one", workers=1, archive=True))
    target = tmp_path / "receipts"
    process = multiprocessing.get_context("fork").Process(
        target=_killed_midway, args=(store.url, batch, target, 2, False)
    )
    process.start()
    process.join(120)
    assert process.exitcode == 0  # the parent wrote the whole archive itself
    archive = receipts.receipts_archive(target, batch)
    assert members(archive) == expected
    assert sorted(p.name for p in archive.parent.iterdir()) == [archive.name]


# --------------------------------------------------------------------------------------------------------
# The page cache: what is written goes to the disk at once and is dropped once far enough behind


@pytest.fixture
def advised(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The ranges ``(offset, length)`` the page cache is advised about, in order (no advice given)."""
    ranges: list[tuple[int, int]] = []
    monkeypatch.setattr(
        receipt_archive, "_not_needed", lambda _descriptor, offset, length: ranges.append((offset, length))
    )
    return ranges


def test_written_ranges_are_sent_at_once_and_dropped_once_far_enough_behind(advised: list[tuple[int, int]]) -> None:
    pages = receipt_archive.WrittenPages(3, behind=100)
    pages.written(0, 40)
    pages.written(40, 40)
    pages.written(80, 0)  # nothing written: no advice
    assert advised == [(0, 40), (40, 40)]
    pages.written(500, 40)  # another process's place: ranges are kept by the order they were written in
    assert advised == [(0, 40), (40, 40), (500, 40), (0, 40)]  # 120 kept > 100: the oldest dropped
    pages.written(80, 70)
    assert advised[4:] == [(80, 70), (40, 40), (500, 40)]  # 150 kept: dropped down to 70


def test_every_byte_of_an_archive_is_sent_to_the_disk_and_the_old_ones_dropped(
    advised: list[tuple[int, int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receipt_archive, "FLUSH_AT", 64 << 10)
    monkeypatch.setattr(receipt_archive, "CACHED_BEHIND", 256 << 10)
    path = tmp_path / "a.tar"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    writer = receipt_archive.ArchiveWriter(descriptor, "batch-1", 1764475200)
    for n in range(300):
        writer.add(f"r{n}.json", os.urandom(3000))
    writer.finish()
    os.close(descriptor)
    size = path.stat().st_size
    seen: set[tuple[int, int]] = set()
    sent: list[tuple[int, int]] = []  # the first advice of each range (written, sent to the disk)
    dropped: list[tuple[int, int]] = []  # its second (dropped)
    for advice in advised:
        (dropped if advice in seen else sent).append(advice)
        seen.add(advice)
    assert sent[0][0] == 0
    assert all(offset + length == following for (offset, length), (following, _) in itertools.pairwise(sent))
    assert sum(length for _, length in sent) == size  # every byte sent once, in the order written
    assert dropped == sent[: len(dropped)]  # the oldest dropped, in order
    kept = sum(length for _, length in sent[len(dropped) :])
    assert kept <= 256 << 10 < kept + dropped[-1][1]  # no more kept than CACHED_BEHIND, and no less
    assert len(members(path)) == 300


def resident(path: Path) -> list[bool]:
    """Which pages of ``path`` are in the page cache (``mincore`` of a shared read-only mapping)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    size, page = path.stat().st_size, os.sysconf("SC_PAGE_SIZE")
    descriptor = os.open(path, os.O_RDONLY)
    try:
        address = libc.mmap(None, size, 1, 1, descriptor, 0)  # PROT_READ, MAP_SHARED
        assert address not in (None, ctypes.c_void_p(-1).value), ctypes.get_errno()
        vector = ctypes.create_string_buffer((size + page - 1) // page)
        try:
            assert libc.mincore(address, size, vector) == 0, ctypes.get_errno()
        finally:
            libc.munmap(address, size)
    finally:
        os.close(descriptor)
    return [byte & 1 == 1 for byte in vector.raw]


def file_system_type(path: Path) -> str:
    """The type of the file system ``path`` is on (from ``/proc/self/mounts``: the longest mount point)."""
    best, kind = "", ""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _device, point, fs_type, *_ = line.split()
        if str(path).startswith(point.rstrip("/") + "/") and len(point) > len(best):
            best, kind = point, fs_type
    return kind


def test_ranges_on_the_disk_leave_the_page_cache_and_recent_ones_stay(tmp_path: Path) -> None:
    """The real kernel: a range written, on the disk (fsync) and then far enough behind is dropped from the
    page cache; the range written last stays. On a file system in memory (tmpfs) nothing is dropped."""
    megabyte = 1 << 20
    path = tmp_path / "a.tar"
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        pages = receipt_archive.WrittenPages(descriptor, behind=4 * megabyte)
        os.pwrite(descriptor, os.urandom(4 * megabyte), 0)
        pages.written(0, 4 * megabyte)
        os.fsync(descriptor)  # on the disk: clean pages, which the advice drops
        os.pwrite(descriptor, os.urandom(4 * megabyte), 4 * megabyte)
        pages.written(4 * megabyte, 4 * megabyte)  # 8 MB kept > 4 MB: the first range is dropped
        cached = resident(path)
    finally:
        os.close(descriptor)
    half = len(cached) // 2
    assert all(cached[half:])  # written last: still in the cache
    if file_system_type(tmp_path) in {"tmpfs", "ramfs"}:
        assert all(cached[:half])
    else:
        assert not any(cached[:half]), f"{sum(cached[:half])} of {half} pages still cached"
