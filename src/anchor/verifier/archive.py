"""Receipts in a tar archive, verified without extracting it: a streaming reader of POSIX tar headers.

A batch of more than 100,000 credentials gets its receipts as one POSIX tar archive (``batch-<id>.tar``,
members ``batch-<id>/<name>.json``); ``anchor verify`` reads such an archive, or any tar of receipts made by
GNU tar or Python's :mod:`tarfile`, and verifies every member that is a regular file whose name ends in
``.json`` exactly as the file it would extract to, its result's source named ``<archive>:<member>``.

:func:`archive_members` scans the headers (POSIX.1-1988 ustar, POSIX.1-2001 PAX ``x`` headers with ``path``
and ``size``, GNU ``L`` long names, the GNU base-256 size) and seeks over the data: it keeps one
:class:`ArchiveMember` (name, data offset and size) per receipt, never a member's data, so a million members
cost their list and no more; worker processes then read each receipt with :func:`os.pread` at its offset.
:mod:`tarfile` is not used: it keeps every member's ``TarInfo`` (hundreds of MB for a million members), reads
a sparse or unknown member as a file, and takes more malformed input than a verifier should.

What comes from the archive is untrusted and read strictly: every header's checksum is verified (a bad one
names its offset); numbers are octal digits (or base-256, sizes only) in their field; an extended header
(PAX, GNU long name) larger than :data:`MAX_EXTENDED_HEADER` is refused unread; a member whose data runs past
the end is a truncated archive; an archive must end with its two zero blocks. Such a fault ends the reading
of that archive: it is one ERROR result (the members before it are verified), because nothing after a broken
header can be located. A receipt member larger than a receipt
(:data:`~anchor.credentials.MAX_CREDENTIAL_BYTES`, or a baked badge image's
:data:`~anchor.sharing.baking.MAX_BADGE_BYTES`) is that member's ERROR and its bytes are skipped unread.
A member named ``*.json`` that is not a regular file (a symbolic or hard link, a device, a FIFO, a sparse or
unknown member) is an ERROR result too, "not verified": everything in the archive that looks like a receipt
is either verified or reported, never passed over in silence. Directories, members of other names and PAX
global headers are skipped, as a directory's other files are. Names are only ever shown, never used as
paths: nothing is extracted. A name given twice is verified each time (extraction keeps the last; both are
checked, so no copy can hide behind another).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple

from anchor.credentials.model import MAX_CREDENTIAL_BYTES
from anchor.errors import InvalidInputError
from anchor.sharing.baking import MAX_BADGE_BYTES, badge_kind

if TYPE_CHECKING:
    from anchor.verifier.model import Verification
    from anchor.verifier.session import Verifier

__all__ = [
    "ARCHIVE_SUFFIX",
    "MAX_EXTENDED_HEADER",
    "RECEIPT_SUFFIX",
    "ArchiveError",
    "ArchiveMember",
    "StoredReceipt",
    "archive_members",
    "is_archive_name",
    "read_member",
    "read_members",
    "stored_receipts",
    "verify_member",
]

BLOCK: Final = 512
"""A tar block: a header is one, a member's data is padded to whole ones."""
MAX_EXTENDED_HEADER: Final = 64 << 10
"""The largest PAX extended header or GNU long name read (a name is at most a few KB; this bounds memory)."""
ARCHIVE_SUFFIX: Final = ".tar"
"""The file names ``anchor verify`` reads as archives (below a directory too)."""
RECEIPT_SUFFIX: Final = ".json"
"""The names of the files, and members, that ``anchor verify`` reads as receipts."""

#: Non-blocking: opening a FIFO named ``x.tar`` must not wait for a writer (it is then refused: not a regular
#: file); reads of a regular file are unaffected.
_OPEN_FLAGS: Final = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
_ZERO_BLOCK: Final = bytes(BLOCK)
_POSIX_MAGIC: Final = b"ustar\x0000"  # magic "ustar\0" and version "00" (POSIX ustar, PAX)
_GNU_MAGIC: Final = b"ustar  \x00"  # magic "ustar " and version " \0" (GNU tar's own format)
_OCTAL: Final = b"01234567"
_REGULAR: Final = frozenset(b"0\x007")  # a regular file; "7" (contiguous) is read as one (POSIX)
_NO_DATA: Final = {
    ord("1"): "a hard link",
    ord("2"): "a symbolic link",
    ord("3"): "a character device",
    ord("4"): "a block device",
    ord("5"): "a directory",
    ord("6"): "a FIFO",
}
"""Member types that carry no data: a size other than 0 is refused (readers disagree on skipping it)."""
_DIRECTORY: Final = frozenset(b"5D")  # "D": a GNU dump directory (its data, a listing, is skipped)
_SKIPPED_WITH_DATA: Final = {ord("V"): "a volume label", ord("M"): "a multi-volume continuation"}
#: PAX keywords this reader applies; any other (times, owners, charset...) does not change what is verified.
_PATH, _SIZE = b"path", b"size"
_SPARSE_PREFIX: Final = b"GNU.sparse."


class ArchiveError(InvalidInputError):
    """An archive that cannot be read on: a bad checksum, a truncated member, a malformed header."""


class ArchiveMember(NamedTuple):
    """A receipt in an archive: where its data is, or why it is not read (``problem``: an ERROR result)."""

    archive: str
    """The archive's path, as given."""
    name: str
    """The member's name in the archive (shown, never used as a path), or what is wrong where."""
    offset: int
    """Where its data starts in the archive."""
    size: int
    """Its data's size in bytes."""
    problem: str | None = None
    """Why it is not read (too large, not a regular file, a broken archive): its result is ERROR."""
    code: str = ""
    """The failed receipt check's code, with ``problem``."""

    @property
    def source(self) -> str:
        """How results name it: ``<archive>:<member>`` (the archive alone for a fault before any member)."""
        return f"{self.archive}:{self.name}" if self.name else self.archive


def is_archive_name(path: str) -> bool:
    """Whether ``path`` names an archive of receipts (``*.tar``)."""
    return path.endswith(ARCHIVE_SUFFIX)


def archive_members(path: str) -> list[ArchiveMember]:
    """Every receipt member of the archive ``path`` in archive order, without their data (see the module doc).

    Never raises for what the archive holds: an archive that cannot be opened or read on is its last member,
    with the problem (its result is ERROR).
    """
    members: list[ArchiveMember] = []
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        return [ArchiveMember(path, "", 0, 0, f"cannot read {path}: {error.strerror or error}", "unreadable")]
    scanner = _Scanner(descriptor, path)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise ArchiveError(f"{path} is not a regular file")
        scanner.end = status.st_size
        members.extend(scanner.members())
    except ArchiveError as error:
        members.append(ArchiveMember(path, scanner.current or "", scanner.offset, 0, str(error), "bad-archive"))
    except OSError as error:
        members.append(
            ArchiveMember(path, scanner.current or "", scanner.offset, 0, f"cannot read {path}: {error}", "unreadable")
        )
    finally:
        os.close(descriptor)
    return members


class _Scanner:
    """Reads the headers of the archive open at ``descriptor``, seeking over data."""

    def __init__(self, descriptor: int, path: str) -> None:
        self.descriptor = descriptor
        self.path = path
        self.end = 0
        self.offset = 0
        """The offset of the header being read."""
        self.current: str | None = None
        """The name of the member being read (for errors), once known."""
        self.previous: str | None = None
        """The name of the last member read (for errors about what follows it)."""

    def _after(self) -> str:
        return f" (after member {self.previous!r})" if self.previous is not None else " (its first header)"

    def _read(self, size: int, offset: int, what: str) -> bytes:
        data = os.pread(self.descriptor, size, offset) if size else b""
        if len(data) < size:
            raise ArchiveError(
                f"truncated archive: it ends at byte {self.end}, inside {what} at byte {offset} ({size} bytes declared)"
            )
        return data

    def members(self) -> Iterator[ArchiveMember]:
        long_name: str | None = None  # from a GNU "L" header or a PAX "path", for the next member
        pax_size: int | None = None
        sparse = False
        extended: set[int] = set()  # the kinds of extended header seen since the last member
        pread, descriptor = os.pread, self.descriptor
        while True:
            self.current = None
            offset = self.offset
            if offset >= self.end:
                raise ArchiveError(
                    f"truncated archive: it ends at byte {self.end} without the two zero blocks that end a tar "
                    f"archive{self._after()}"
                )
            block = pread(descriptor, BLOCK, offset)
            if len(block) < BLOCK:
                self._read(BLOCK, offset, "a header")  # raises: truncated
            if block == _ZERO_BLOCK:
                self._read_end(offset)
                if extended:
                    raise ArchiveError(f"the extended header before byte {offset} is followed by the archive's end")
                return
            try:
                _check_header(block, offset)
            except ArchiveError as error:  # where it is: after which member
                raise ArchiveError(f"{error}{self._after()}") from None
            kind = block[156]
            size = _number(block[124:136], "size", offset)
            data = offset + BLOCK
            if kind in (ord("x"), ord("g"), ord("L"), ord("K")):
                if size > MAX_EXTENDED_HEADER:
                    raise ArchiveError(
                        f"the extended header at byte {offset} is {size} bytes, more than the limit of "
                        f"{MAX_EXTENDED_HEADER}"
                    )
                if kind in extended:
                    raise ArchiveError(f"two extended headers of type {chr(kind)!r} in a row at byte {offset}")
                payload = self._read(size, data, "an extended header")
                if kind != ord("g"):
                    extended.add(kind)
                if kind == ord("L"):
                    if long_name is not None:
                        raise ArchiveError(f"a second long name for one member at byte {offset}")
                    long_name = _name(payload.split(b"\0", 1)[0], offset)
                elif kind in (ord("x"), ord("g")):
                    records = _pax_records(payload, offset)
                    if kind == ord("g"):
                        if _PATH in records or _SIZE in records or any(k.startswith(_SPARSE_PREFIX) for k in records):
                            raise ArchiveError(f"the global header at byte {offset} sets a path, size or sparse map")
                    else:
                        if _PATH in records:
                            if long_name is not None:
                                raise ArchiveError(f"a second long name for one member at byte {offset}")
                            long_name = _name(records[_PATH], offset)
                        if _SIZE in records:
                            pax_size = _decimal(records[_SIZE], offset)
                        sparse = any(key.startswith(_SPARSE_PREFIX) for key in records)
                self.offset = data + _padded(size)
                continue
            if kind == ord("S"):  # old GNU sparse: extension blocks may follow the header
                raise ArchiveError(f"the member at byte {offset} is a GNU sparse file (type 'S'), which is not read")
            name = long_name if long_name is not None else _header_name(block, offset)
            if pax_size is not None:
                size = pax_size
            long_name, pax_size, extended = None, None, set()
            was_sparse, sparse = sparse, False
            self.current = name
            if kind in _NO_DATA and size != 0:
                raise ArchiveError(f"{_NO_DATA[kind]} at byte {offset} declares {size} bytes of data")
            if data + size > self.end:
                raise ArchiveError(
                    f"truncated archive: member {name!r} at byte {offset} declares {size} bytes, but the archive "
                    f"ends at byte {self.end}"
                )
            self.offset = data + _padded(size)
            self.previous, self.current = name, None
            if kind in _DIRECTORY or (kind == 0 and name.endswith("/")) or not name.endswith(RECEIPT_SUFFIX):
                continue  # a directory (V7 marks one by its trailing slash), or not named as a receipt
            if kind in _REGULAR and not was_sparse:
                yield self._receipt(name, data, size)
                continue
            what = (
                "a sparse file"
                if was_sparse
                else _NO_DATA.get(kind) or _SKIPPED_WITH_DATA.get(kind) or f"a member of unknown type {chr(kind)!r}"
            )
            target = _field(block[157:257])
            if kind in (ord("1"), ord("2")) and target:
                what += f" to {_name(target, offset)!r}"
            yield ArchiveMember(
                self.path, name, data, size, f"not verified: {what}, not a regular file", "not-a-regular-file"
            )

    def _receipt(self, name: str, data: int, size: int) -> ArchiveMember:
        """A regular ``*.json`` member: to read, or too large to (unread, as a file of its size would be)."""
        # a receipt file's limit; a baked badge image's when it is one (its first bytes say)
        if size > MAX_CREDENTIAL_BYTES and (
            size > MAX_BADGE_BYTES or badge_kind(os.pread(self.descriptor, 64, data)) is None
        ):
            return ArchiveMember(
                self.path,
                name,
                data,
                size,
                f"not a readable JSON receipt: the member is {size} bytes, more than the limit of "
                f"{MAX_CREDENTIAL_BYTES} (not read)",
                "unreadable",
            )
        return ArchiveMember(self.path, name, data, size)

    def _read_end(self, offset: int) -> None:
        """The end of the archive at ``offset``: two zero blocks (what follows, a record's padding, is not read)."""
        second = os.pread(self.descriptor, BLOCK, offset + BLOCK)
        if second != _ZERO_BLOCK:
            if len(second) < BLOCK:
                raise ArchiveError(
                    f"truncated archive: one zero block at byte {offset}, the archive ends before the second"
                )
            raise ArchiveError(f"a lone zero block at byte {offset}, followed by more data{self._after()}")


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _check_header(block: bytes, offset: int) -> None:
    """Refuse a header whose magic is not ustar's or GNU's, or whose checksum does not match."""
    magic = block[257:265]
    if magic != _POSIX_MAGIC and magic != _GNU_MAGIC:
        raise ArchiveError(f"the block at byte {offset} is not a ustar or GNU tar header (no 'ustar' magic)")
    field = block[148:156]
    stored = _number(field, "checksum", offset)
    unsigned = sum(block) - sum(field) + 8 * 0x20  # the checksum field counted as spaces
    if stored == unsigned:
        return
    # some old writers summed signed bytes (GNU tar and tarfile accept both)
    signed = unsigned - 256 * sum(1 for byte in block[:148] + block[156:] if byte >= 0x80)
    if stored != signed:
        raise ArchiveError(
            f"bad header checksum at byte {offset}: stored {stored:o}, computed {unsigned:o} (octal); the archive "
            "is damaged"
        )


def _number(field: bytes, what: str, offset: int) -> int:
    """A header's number: octal digits (leading spaces, then NUL or space to the end), or GNU base-256 (0x80
    then a big-endian number: sizes of 8 GiB or more); anything else (a sign, base-256 negative) refused."""
    if field[:1] == b"\x80":
        if what != "size":
            raise ArchiveError(f"the {what} field of the header at byte {offset} is not octal")
        return int.from_bytes(field[1:], "big")
    digits = field.rstrip(b"\0 ").lstrip(b" ")
    if not digits.isdigit() or digits.translate(None, _OCTAL):  # not only octal digits (or none)
        raise ArchiveError(f"the {what} field of the header at byte {offset} is not an octal number: {field!r}")
    return int(digits, 8)


def _decimal(value: bytes, offset: int) -> int:
    """A PAX ``size``: decimal digits only, at most 20."""
    if not value.isdigit() or len(value) > 20:
        raise ArchiveError(f"the PAX size at byte {offset} is not a decimal number: {value[:40]!r}")
    return int(value)


def _field(raw: bytes) -> bytes:
    """A header's text field: up to its first NUL."""
    return raw.partition(b"\0")[0]


def _name(raw: bytes, offset: int) -> str:
    """A member name as text: UTF-8, an undecodable byte shown as ``\\xNN`` (it is only ever displayed)."""
    if b"\0" in raw:
        raise ArchiveError(f"the name at byte {offset} holds a NUL byte")
    if not raw:
        raise ArchiveError(f"the member at byte {offset} has an empty name")
    return raw.decode("utf-8", "backslashreplace")


def _header_name(block: bytes, offset: int) -> str:
    """The name in a header: ``prefix/name`` for POSIX ustar (GNU's format keeps other fields there)."""
    name = block[:100].partition(b"\0")[0]
    if block[345] and block[257:265] == _POSIX_MAGIC:
        name = _field(block[345:500]) + b"/" + name
    if not name:
        raise ArchiveError(f"the member at byte {offset} has an empty name")
    return name.decode("utf-8", "backslashreplace")


def _pax_records(payload: bytes, offset: int) -> dict[bytes, bytes]:
    """The ``<length> <key>=<value>\\n`` records of a PAX header, strictly (each length exact, no key twice)."""
    records: dict[bytes, bytes] = {}
    at = 0
    while at < len(payload):
        space = payload.find(b" ", at, at + 21)
        digits = payload[at:space] if space > at else b""
        if not digits.isdigit():
            raise ArchiveError(f"a malformed record in the PAX header at byte {offset}: no length at {at}")
        length = int(digits)
        record_end = at + length
        if record_end > len(payload) or record_end <= space + 1 or payload[record_end - 1] != 0x0A:
            raise ArchiveError(f"a malformed record in the PAX header at byte {offset}: bad length at {at}")
        key, equals, value = payload[space + 1 : record_end - 1].partition(b"=")
        if not equals or not key:
            raise ArchiveError(f"a malformed record in the PAX header at byte {offset}: no key=value at {at}")
        if key in records:
            raise ArchiveError(f"the PAX header at byte {offset} gives {key.decode('ascii', 'replace')!r} twice")
        records[key] = value
        at = record_end
    return records


def read_member(member: ArchiveMember, descriptor: int | None = None) -> bytes:
    """The data of ``member`` (from the archive open at ``descriptor``, else opened here). OSError if it
    cannot be read whole (the archive shrank since it was listed, say)."""
    if descriptor is None:
        descriptor = os.open(member.archive, _OPEN_FLAGS)
        try:
            return read_member(member, descriptor)
        finally:
            os.close(descriptor)
    data = os.pread(descriptor, member.size, member.offset) if member.size else b""
    if len(data) != member.size:
        raise OSError(errno.EIO, "the archive ends inside the member (it is shorter than when it was listed)")
    return data


class StoredReceipt(NamedTuple):
    """A receipt as a batch keeps it: a file of the batch's folder, or a member of its archive."""

    name: str
    """Its file name (a member's: the file it would extract to)."""
    source: str
    """Where it is, as shown: the file's path, or ``<archive>:<member>``."""
    read: Callable[[], bytes]
    """Its bytes (of a file, at most one more than a receipt may hold); an error names it."""


def stored_receipts(location: Path) -> list[StoredReceipt]:
    """The receipts at ``location``, for those that take an archive's receipts as they would a folder's files
    (sharing them, the demo): an archive's receipt members in archive order, a folder's ``*.json`` files by
    name, or the receipt file ``location`` itself. Nothing is read until asked.

    A member the archive cannot give (its ``problem``: too large, not a regular file, a broken archive)
    raises :class:`ArchiveError` naming it, here; one that cannot be read when asked (the archive changed
    since), there.
    """
    if location.is_dir():
        files = sorted(location.glob(f"*{RECEIPT_SUFFIX}"))
        return [StoredReceipt(path.name, str(path), partial(_read_file, path)) for path in files]
    if not (is_archive_name(str(location)) and location.is_file()):
        return [StoredReceipt(location.name, str(location), partial(_read_file, location))]
    receipts = []
    for member in archive_members(str(location)):
        if member.problem is not None:
            raise ArchiveError(f"{member.source}: {member.problem}")
        receipts.append(StoredReceipt(member.name.rpartition("/")[2], member.source, partial(_read_stored, member)))
    return receipts


def _read_file(path: Path) -> bytes:
    with path.open("rb") as stream:
        return stream.read(MAX_CREDENTIAL_BYTES + 1)


def _read_stored(member: ArchiveMember) -> bytes:
    try:
        return read_member(member)
    except OSError as error:
        raise ArchiveError(f"{member.source}: {error.strerror or error}") from error


def read_members(members: Iterable[ArchiveMember]) -> list[bytes | None]:
    """The data of each of ``members`` (each archive opened once); None for one not read (its problem, or an
    error reading it: :func:`verify_member` says why)."""
    descriptors: dict[str, int] = {}
    texts: list[bytes | None] = []
    try:
        for member in members:
            if member.problem is not None:
                texts.append(None)
                continue
            try:
                descriptor = descriptors.get(member.archive)
                if descriptor is None:
                    descriptor = descriptors[member.archive] = os.open(member.archive, _OPEN_FLAGS)
                texts.append(read_member(member, descriptor))
            except OSError:
                texts.append(None)
    finally:
        for descriptor in descriptors.values():
            os.close(descriptor)
    return texts


def verify_member(
    verifier: Verifier, member: ArchiveMember, *, now: datetime | None = None, require: Iterable[str] | None = None
) -> Verification:
    """Verify the receipt ``member`` as the file it would extract to; its problem, or an unreadable archive, is
    an ERROR result naming ``<archive>:<member>``."""
    from anchor.verifier.checks import Run

    source = member.source
    if member.problem is not None:
        return Run(verifier, now or datetime.now(UTC), source).unusable(member.problem, member.code)
    try:
        data = read_member(member)
    except OSError as error:
        reason = f"cannot read {source}: {error.strerror or error}"
        return Run(verifier, now or datetime.now(UTC), source).unusable(reason, "unreadable")
    return verifier.verify(data, now=now, source=source, require=require)
