"""A POSIX tar archive written a buffer at a time: the receipts of a very large batch as one file.

Creating a million files of 5 KB in one folder took 79 s on the 2-core machine's ext4 from a bare loop
(and removing them 236 s), so the receipts of a batch of more than
:data:`~anchor.issuing.receipts.ARCHIVE_ABOVE` credentials go into one archive instead: ``tar -xf`` gives
exactly the folder a smaller batch gets (the same names and bytes, files 0600).

The format is the one Python's :mod:`tarfile` writes with ``format=PAX_FORMAT`` (POSIX.1-2001): a 512-byte
ustar header per member, its data padded to 512 bytes, two zero blocks at the end. A member whose path does
not fit the header's 100-byte ``name`` field gets a PAX ``x`` header before it (made by :mod:`tarfile`).
Headers of short names are made here from a template, byte for byte what :mod:`tarfile` makes (a test
compares the two), at a tenth of the cost. Members are regular files, mode 0600, owner 0, the batch's
anchoring time as their modification time.

Page cache. What is written is sent to the disk at once and, once there, dropped from the page cache
(:class:`WrittenPages`): an archive of 6 GB would otherwise take 6 GB of fresh pages, which cost the writer
3-5 times the system time of pages used again (measured on the 2-core machine's VM: 3 GB written at about
175 MB/s took 10-12 s of system time into the page cache and 2 s when each range was dropped 190 MB behind),
and would push the issuer database out of the cache. Nobody reads the archive back while it is written.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import queue
import tarfile
import threading
from collections.abc import Sequence
from typing import Final

BLOCK: Final = 512
"""The tar block: headers are one block, data is padded to whole blocks."""
FLUSH_AT: Final = 8 << 20
"""Bytes buffered before they are handed to the writing thread."""
QUEUED: Final = 2
"""Buffers handed to the writing thread and not yet written, at most (the caller waits beyond)."""
MEMBER_MODE: Final = 0o600
_NAME_FIELD: Final = 100
_SIZE_DIGITS: Final = 11
_END: Final = bytes(2 * BLOCK)
_PADDING: Final = tuple(bytes(size) for size in range(BLOCK))
"""Zero bytes to pad data to a whole block, by how many are missing."""
_IOV_MAX: Final = 1024
"""Pieces per ``writev`` (Linux's ``IOV_MAX``)."""
CACHED_BEHIND: Final = 128 << 20
"""Bytes a writer keeps in the page cache behind what it writes: older ranges, by then on the disk, are dropped."""


def member_header(path: str, size: int, mtime: int) -> bytes:
    """The header block(s) of a regular file ``path`` of ``size`` bytes, as :mod:`tarfile` writes them (PAX)."""
    if _fits_template(path, size, mtime):
        return _template(mtime).header(path.encode("ascii"), size)
    info = tarfile.TarInfo(path)
    info.size, info.mode, info.mtime = size, MEMBER_MODE, mtime
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def member_size(path: str, size: int, mtime: int) -> int:
    """The bytes member ``path`` of ``size`` bytes takes in the archive: its header(s) and padded data."""
    header = BLOCK if _fits_template(path, size, mtime) else len(member_header(path, size, mtime))
    return header + size + -size % BLOCK


def member_pieces(path: str, data: bytes, mtime: int) -> list[bytes]:
    """Member ``path`` holding ``data`` as the archive holds it: its header(s), its data, the padding."""
    pieces = [member_header(path, len(data), mtime)]
    if data:
        pieces.append(data)
    if padding := -len(data) % BLOCK:
        pieces.append(_PADDING[padding])
    return pieces


def write_members(descriptor: int, offset: int, folder: str, mtime: int, members: list[tuple[str, bytes]]) -> int:
    """Write ``(name, data)`` members ``<folder>/<name>`` at ``offset`` of the archive open at ``descriptor``
    (a place :meth:`ArchiveWriter.reserve` kept for them, another process writing the rest); the bytes written."""
    pieces = [piece for name, data in members for piece in member_pieces(f"{folder}/{name}", data, mtime)]
    return _write_all(descriptor, pieces, offset)


def _fits_template(path: str, size: int, mtime: int) -> bool:
    """Whether the header of ``path`` is one ustar block made from the template (no PAX header)."""
    return (
        path.isascii() and 0 < len(path) <= _NAME_FIELD and 0 <= size < 8**_SIZE_DIGITS and 0 <= mtime < 8**_SIZE_DIGITS
    )


class _Template:
    """The ustar header of a member with an empty name and size 0, its checksum field blank, for one mtime."""

    def __init__(self, mtime: int) -> None:
        info = tarfile.TarInfo("")
        info.size, info.mode, info.mtime = 0, MEMBER_MODE, mtime
        block = bytearray(info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict"))
        block[148:156] = b" " * 8  # the checksum is the sum of the header with this field as spaces
        self.block = bytes(block)
        self.blank_sum = sum(block) - sum(block[124 : 124 + _SIZE_DIGITS])

    def header(self, path: bytes, size: int) -> bytes:
        """The header of member ``path`` (at most 100 bytes) of ``size`` bytes."""
        block = bytearray(self.block)
        block[: len(path)] = path
        digits = b"%011o" % size
        block[124 : 124 + _SIZE_DIGITS] = digits
        block[148:156] = b"%06o\0 " % (self.blank_sum + sum(path) + sum(digits))
        return bytes(block)


@functools.lru_cache(maxsize=8)
def _template(mtime: int) -> _Template:
    """The template for ``mtime`` (one per batch: made once)."""
    return _Template(mtime)


class ArchiveWriter:
    """Writes regular-file members to a tar archive open for writing at ``descriptor``, a buffer at a time.

    Members go to ``<folder>/<name>``, one after the other; :meth:`reserve` keeps a place between them for
    members another process writes (:func:`write_members`). What is buffered is written by a thread of its
    own (``pwritev`` at its place, which lets the caller go on making the next members meanwhile: writing 6 GB
    through the page cache costs about 17 s of system time on the 2-core machine), at most :data:`QUEUED`
    buffers behind. A write that fails is raised by the next :meth:`add`, :meth:`flush`, :meth:`reserve` or
    :meth:`finish`. :meth:`finish` writes the end of the archive and waits for everything to be written;
    :meth:`stop` abandons the rest (after an error).
    """

    def __init__(self, descriptor: int, folder: str, mtime: int) -> None:
        self.descriptor, self.folder, self.mtime = descriptor, folder, mtime
        self._pending: list[bytes | memoryview] = []
        self._offset = 0  # where what is buffered goes
        self._size = 0
        self._queue: queue.Queue[tuple[int, list[bytes | memoryview]] | None] = queue.Queue(QUEUED)
        self._thread: threading.Thread | None = None
        self._error: Exception | None = None

    def add(self, name: str, data: bytes) -> None:
        """Add member ``<folder>/<name>`` holding ``data``."""
        pieces = member_pieces(f"{self.folder}/{name}", data, self.mtime)
        self._pending += pieces
        self._size += sum(map(len, pieces))
        if self._size >= FLUSH_AT:
            self.flush()

    def reserve(self, size: int) -> int:
        """Keep the next ``size`` bytes for members written by another; where they start."""
        self.flush()
        offset = self._offset
        self._offset += size
        return offset

    def flush(self) -> None:
        """Hand what is buffered to the writing thread (started on the first call)."""
        self._raise_error()
        pending, offset = self._pending, self._offset
        self._pending, self._offset, self._size = [], offset + self._size, 0
        if not pending:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._write, name="archive-writer", daemon=True)
            self._thread.start()
        self._queue.put((offset, pending))

    def finish(self) -> None:
        """Write the end of the archive (two zero blocks) and wait until everything is written."""
        self._pending.append(_END)
        self.flush()
        self.stop()
        self._raise_error()

    def stop(self) -> None:
        """Wait for the writing thread to write what it was handed (nothing more after an error) and end."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _write(self) -> None:
        pages = WrittenPages(self.descriptor)
        while (item := self._queue.get()) is not None:
            offset, pending = item
            if self._error is None:
                try:
                    pages.written(offset, _write_all(self.descriptor, pending, offset))
                except Exception as error:  # raised in the caller's thread, never lost
                    self._error = error


class WrittenPages:
    """Sends what a writer wrote to the disk at once, and drops it from the page cache once
    :data:`CACHED_BEHIND` bytes more were written (by then it is on the disk; a range that is not yet is
    left to the kernel). Advice only: without ``posix_fadvise`` (not Linux) nothing is done."""

    def __init__(self, descriptor: int, behind: int | None = None) -> None:
        self.descriptor = descriptor
        self.behind = CACHED_BEHIND if behind is None else behind
        self._kept: collections.deque[tuple[int, int]] = collections.deque()
        self._kept_bytes = 0

    def written(self, offset: int, length: int) -> None:
        """``length`` bytes were written at ``offset``."""
        if length <= 0 or not _CAN_ADVISE:
            return
        _not_needed(self.descriptor, offset, length)  # dirty pages: this starts their writing to the disk
        self._kept.append((offset, length))
        self._kept_bytes += length
        while self._kept_bytes > self.behind:
            old_offset, old_length = self._kept.popleft()
            self._kept_bytes -= old_length
            _not_needed(self.descriptor, old_offset, old_length)  # written since: dropped from the cache


_CAN_ADVISE: Final = hasattr(os, "posix_fadvise")


def _not_needed(descriptor: int, offset: int, length: int) -> None:
    """``POSIX_FADV_DONTNEED`` for a range (Linux: dirty pages are sent to the disk, clean ones dropped)."""
    with contextlib.suppress(OSError):  # advice: a file system that refuses it writes as before
        os.posix_fadvise(descriptor, offset, length, os.POSIX_FADV_DONTNEED)


def _write_all(descriptor: int, pieces: Sequence[bytes | memoryview], offset: int) -> int:
    """Write ``pieces`` at ``offset`` with ``pwritev``, :data:`_IOV_MAX` at a time (a short write: the rest
    again); the bytes written."""
    start = offset
    pending, first = list(pieces), 0
    while first < len(pending):
        written = os.pwritev(descriptor, pending[first : first + _IOV_MAX], offset)
        if written <= 0:
            raise OSError(f"writing the archive: {written} bytes written")
        offset += written
        while first < len(pending) and written >= len(pending[first]):
            written -= len(pending[first])
            first += 1
        if written:
            pending[first] = memoryview(pending[first])[written:]
    return offset - start
