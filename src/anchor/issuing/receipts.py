"""Receipts of anchored batches: one self-contained file per credential (in one archive for a very large
batch), written a chunk at a time.

:func:`write_receipts` rebuilds the batch's Merkle tree from its stored digests (:func:`rebuilt_tree`: refused
unless its root is the batch's root; the stored ``standard-v1`` dump, 250 MB for a million leaves, is kept for
export and never parsed here), walks it in its proof order (:meth:`StandardMerkleTree.iter_proofs`:
every inner node checked once against its children, proofs built top-down), fetches the stored documents of
each chunk of :data:`RECEIPT_CHUNK` indices in one query, and builds each receipt's text from the stored
document's text (:func:`receipt_text`: its top-level members spliced, never re-parsed into objects or
re-validated) and the batch's constant proof fields. The bytes are those of
``json.dumps(make_receipt(...), indent=2, ensure_ascii=False)``.

Crash safety. The receipts go to a hidden staging folder next to the batch's (``.batch-7.partial``), each
file written once with three system calls (no temporary file and rename per receipt); the staging folder
is renamed into place when every receipt is there, so the batch's folder appears complete or not at all.
The batch is marked anchored only after that (see :mod:`anchor.issuing.batch`): a crash before leaves the
batch unfinished and the next run writes the receipts again, from an empty staging folder.

Archives. A batch of more than :data:`ARCHIVE_ABOVE` credentials gets its receipts as one POSIX tar archive,
``batch-7.tar`` beside where its folder would be (:mod:`anchor.issuing.receipt_archive`): ``tar -xf`` gives
the folder, the same names and bytes. Creating a million files in one folder is slower than the target of a
million receipts a minute even from a bare loop (79 s on the 2-core machine's ext4, and 236 s to remove them),
and a million files are hard to move or remove; one archive is written at the disk's pace, through a staging
file (``.batch-7.tar.partial``) renamed into place when complete. With :data:`ARCHIVE_WRITERS` (two), a writer
process is forked before the tree is rebuilt (so it holds little memory) and lays out the whole archive in
the proof order, as one process would, byte for byte; this process rebuilds and checks the tree, makes the
proofs and sends them over a pipe. The writer makes the receipts of the chunks it keeps up with; this process
makes the others' and writes them where the writer placed them, so the work is shared as each keeps up and no
receipt crosses the pipe. A writer that fails or dies leaves the archive to one process, from an empty staging
file.

Two writers, off by default for folders. ``write_receipts(workers=2)`` writes a large batch (:data:`PARALLEL_MIN`
receipts or more) from two processes: each is forked after the tree is loaded and checked, takes its share of
the proof order (``iter_proofs(share=(part, parts))``: pieces of leaves in turn), reads its own rows from the
store and writes its own files into the same staging folder. The files are the bytes one process writes.
Whether two pay is not settled: on tmpfs they were about 1.3x faster, but on ext4 ``benchmarks/e2e_bench.py``
measured two processes creating files in one folder at 0.12x one (100,000 files) and at 10.7x (10,000 files)
in two runs, the write-back of the run before dominating, so :data:`RECEIPT_WRITERS` is 1. A receipt whose file
name is taken (two credential ids with one file name) makes the order of writing matter, so then, and when a
writer fails or dies, the batch is written again from an empty staging folder by one process, which names
such receipts ``<name>-<index>.json`` as in the proof order. A receipt that cannot be written is an error
(:class:`ReceiptWriteError`, naming the credential and the file): the batch stays unfinished.
"""

from __future__ import annotations

import collections
import errno
import glob
import hashlib
import json
import multiprocessing
import os
import queue
import re
import shutil
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import msgspec

from anchor.addresses import to_checksum_address
from anchor.credentials.model import FORMAT_KEY
from anchor.credentials.receipt import (
    LEAF_ENCODING,
    PROOF_TYPE,
    RECEIPT_FORMAT,
    RECEIPT_FORMATS,
    AnchorProof,
    make_receipt,
)
from anchor.errors import AnchorError, ChainError, InvalidInputError, InvariantError
from anchor.files import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, private_directory
from anchor.issuing.receipt_archive import ArchiveWriter, WrittenPages, member_size, write_members
from anchor.issuing.store import BatchRecord, Store
from anchor.merkle import StandardMerkleTree
from anchor.processes import SharedCounts, can_fork, run_split, usable_cpus

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

#: Called after each receipt written: (receipts done, batch size).
Progress = Callable[[int, int], None]
RECEIPT_CHUNK: Final = 2000
"""Receipts whose documents are fetched in one query."""
RECEIPT_WRITERS: Final = 1
"""Processes that write a large batch's receipts by default (at most; fewer on fewer CPUs): one, see above."""
PARALLEL_MIN: Final = 8192
"""Batches smaller than this are written by one process: a fork costs more than it saves."""
ARCHIVE_ABOVE: Final = 100_000
"""Batches of more credentials than this get their receipts as one tar archive instead of a folder."""
ARCHIVE_WRITERS: Final = 2
"""Processes that write an archive by default (at most; fewer on fewer CPUs): see the module doc."""
READ_AHEAD: Final = 4
"""Chunks the archive's writer takes from the pipe before it needs them (each about 11 MB)."""
WRITER_BACKLOG: Final = 2
"""With two processes, the next chunk goes to the archive's writer (it makes and writes its receipts) while
fewer than this many chunks' receipts wait there to be made; else the other process, which also makes every
proof, makes and writes it: the work is shared as each keeps up, and the writer always has some."""
_STAGING_SUFFIX: Final = ".partial"
_REPLACED_SUFFIX: Final = ".replaced"
_CREATE: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_TOP_LEVEL: Final = msgspec.json.Decoder(dict[str, msgspec.Raw])
_HEX_DIGEST: Final = re.compile(r"0x[0-9a-f]{64}")
_SAFE_NAME: Final = re.compile(r"[A-Za-z0-9._-]*")
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]")
#: The anchoring proof's ``format`` member, by receipt format (as ``json.dumps`` writes it).
_FORMAT_MEMBERS: Final = {name: f'"format":{json.dumps(name)}' for name in {RECEIPT_FORMAT, *RECEIPT_FORMATS.values()}}
_ENCODER: Final = msgspec.json.Encoder()
#: Messages between the process that makes an archive's proofs and the one that lays it out: proofs, the
#: receipts made by the first (index, file name, size), and where the second placed them.
_MESSAGES: Final = msgspec.msgpack.Encoder()
_PROOFS: Final = msgspec.msgpack.Decoder(list[tuple[int, str]])
_MADE: Final = msgspec.msgpack.Decoder(list[tuple[int, str, int]])
_PLACED: Final = msgspec.msgpack.Decoder(tuple[int, list[tuple[int, str]]])


class ReceiptWriteError(AnchorError, OSError):
    """A receipt file could not be written (the message names the batch, the credential and the file)."""


class _NameTakenError(Exception):
    """A receipt's file name is taken: the receipts are written again by one process, in the proof order."""


def receipt_file_name(credential_id: str) -> str:
    """A safe file name for a credential id (``urn:uuid:…`` -> ``urn_uuid_….json``)."""
    name = credential_id.replace(":", "_")
    if not _SAFE_NAME.fullmatch(name):  # anything but letters, digits, ``._-`` and colons
        name = _UNSAFE.sub("_", credential_id)
    return name[:200] + ".json"


def receipts_folder(receipts_dir: Path, batch: BatchRecord) -> Path:
    """Where the receipts of an anchored batch go: ``<receipts_dir>/<chain id>/batch-<on-chain id>``."""
    return receipts_dir / str(batch.chain_id) / f"batch-{batch.onchain_batch_id}"


def receipts_archive(receipts_dir: Path, batch: BatchRecord) -> Path:
    """Where the receipts of a very large anchored batch go: the folder's path with ``.tar`` added."""
    folder = receipts_folder(receipts_dir, batch)
    return folder.with_name(f"{folder.name}.tar")


def archived(batch: BatchRecord) -> bool:
    """Whether ``batch``'s receipts go into an archive (more than :data:`ARCHIVE_ABOVE` credentials)."""
    return batch.size > ARCHIVE_ABOVE


def write_receipts(
    store: Store,
    batch: BatchRecord,
    issuer_id: int,
    receipts_dir: Path,
    progress: Progress | None = None,
    *,
    workers: int | None = None,
    archive: bool | None = None,
) -> Path:
    """Write one receipt per credential of an anchored batch (see the module doc); returns the folder (or archive).

    ``workers``: processes (None: for a batch of :data:`PARALLEL_MIN` or more, :data:`RECEIPT_WRITERS` for a
    folder and :data:`ARCHIVE_WRITERS` for an archive, as the CPUs allow; 1: this process only). ``archive``:
    one tar archive instead of a folder (None: :func:`archived`). The receipts are the same bytes either way.
    """
    if batch.onchain_batch_id is None or batch.tx_hash is None or batch.block_number is None:
        raise ChainError(f"batch {batch.id} is not anchored yet")
    as_archive = archived(batch) if archive is None else archive
    folder = receipts_folder(receipts_dir, batch)
    target = receipts_archive(receipts_dir, batch) if as_archive else folder
    # Receipts hold personal data: folders 0700 (the chain's made so if an older release left it open),
    # files 0600, whatever the umask.
    private_directory(receipts_dir)
    private_directory(folder.parent, tighten=True)
    report = None if progress is None else lambda done: progress(done, batch.size)
    parts = _writers(workers, batch.size, as_archive)
    tree_workers = 1 if workers == 1 else None  # the tree is built by this process alone, or on every CPU
    if as_archive:
        staging = _empty_staging(target, archive=True)
        done = _write_archive_in_two(store, batch, issuer_id, staging, report) if parts > 1 else 0
        if done == 0:  # one process (and the fallback of the two)
            staging = _empty_staging(target, archive=True)
            tree = rebuilt_tree(store, batch, workers=tree_workers)
            items = _proof_items(batch, tree, _ProofText(batch, issuer_id, tree.root))
            done = _write(
                _ArchiveSink(staging, batch), batch, (_finished(store, batch, chunk) for chunk in items), report
            )
    else:
        tree = rebuilt_tree(store, batch, workers=tree_workers)
        staging = _empty_staging(target)
        job = _Writer(store, batch, tree, _ProofText(batch, issuer_id, tree.root), staging)
        done = _write_in_parallel(job, parts, progress) if parts > 1 else 0
        if done and progress is not None:
            progress(done, batch.size)
        if done == 0:  # one process: the reference order (and the fallback of the parallel path)
            if parts > 1:
                job.staging = staging = _empty_staging(target)
            done = job.write(0, 1, report)
    if done != batch.size:
        raise InvariantError(f"batch {batch.id}: {done} receipts for {batch.size} credentials")
    _publish(staging, target)
    return target


def _writers(workers: int | None, size: int, archive: bool = False) -> int:
    """How many processes write a batch of ``size`` receipts (into an archive or not)."""
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InvalidInputError(f"workers must be a positive integer or None, got {workers!r}")
        wanted = workers
    else:
        default = ARCHIVE_WRITERS if archive else RECEIPT_WRITERS
        wanted = min(default, usable_cpus()) if size >= PARALLEL_MIN else 1
    return max(1, min(wanted, size)) if can_fork() else 1


def _write_in_parallel(job: _Writer, parts: int, progress: Progress | None) -> int:
    """Write the receipts from ``parts`` processes (this one and forked writers); 0 if one process must."""
    counts = SharedCounts(parts)  # each forked writer's receipts so far
    size, parent = job.batch.size, os.getpid()
    reported = [0]

    def mine(done: int) -> None:
        if progress is not None:
            reported[0] = max(reported[0], min(done + counts.total(1), size))  # never backwards
            progress(reported[0], size)

    def theirs(part: int) -> bytes:
        _die_with_parent(parent)
        job.store.engine.dispose(close=False)  # the parent's pooled connections stay the parent's

        def count(done: int) -> None:
            counts[part] = done

        return str(job.write(part, parts, count)).encode()

    try:
        written, results = run_split(
            lambda: job.write(0, parts, mine), [partial(theirs, part) for part in range(1, parts)]
        )
    except _NameTakenError:
        return 0
    finally:
        counts.close()
    if any(blob is None or not blob.isdigit() for blob in results):  # a writer failed or died
        return 0
    return written + sum(int(blob or b"0") for blob in results)


def _write_archive_in_two(
    store: Store, batch: BatchRecord, issuer_id: int, staging: Path, progress: Callable[[int], None] | None
) -> int:
    """Write the archive from two processes; the receipts written, or 0 if one process must write it instead.

    A writer process is forked first, before the tree is rebuilt (so it holds little memory): it lays out the
    archive in the proof order, as one process would, byte for byte. This process rebuilds and checks the
    tree, makes the anchoring proofs and sends them a chunk at a time. While fewer than :data:`WRITER_BACKLOG`
    chunks wait in the writer to be made, the next one goes to it: it makes the receipts and writes them. Of
    the others this process makes the receipts and sends only their file names and sizes: the writer claims
    the names (a taken name gets another, as one process would name it), keeps their place in the archive and
    answers where it is; this process writes them there itself
    (:func:`~anchor.issuing.receipt_archive.write_members`), so no receipt crosses the pipe and both share the
    cost of writing. Who makes a chunk changes no byte of the archive. The writer reads up to
    :data:`READ_AHEAD` chunks ahead (a thread) and writes with a thread of its own (:class:`ArchiveWriter`).
    Both processes keep what they wrote out of the page cache (:class:`WrittenPages`). A writer that fails or
    dies leaves the archive to one process (which reports what failed); an error here (a tree that is not the
    batch's, a write that fails) ends both.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)  # proofs, names and sizes to the writer
    answers, answer = context.Pipe(duplex=False)  # where the writer placed this process's receipts
    # The writer's receipts so far: [0] all of them (written, or placed for this process), [1] those it made.
    written = SharedCounts(2)
    parent = os.getpid()

    def writer() -> bytes:
        _die_with_parent(parent)
        sender.close()
        answers.close()
        store.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
        inbox: queue.Queue[bytes | EOFError | OSError] = queue.Queue(READ_AHEAD)

        def read_ahead() -> None:  # a thread: the producer's next chunks are taken while these are written
            try:
                while message := receiver.recv_bytes():
                    inbox.put(message)
                inbox.put(b"")
            except (EOFError, OSError) as error:  # the producer stopped without its last message
                inbox.put(error)

        threading.Thread(target=read_ahead, name="receipts-inbox", daemon=True).start()
        sink, done, made = _ArchiveSink(staging, batch), 0, 0
        try:
            while message := inbox.get():
                if isinstance(message, EOFError | OSError):
                    raise message
                if message[:1] == b"P":
                    for index, credential_id, data in _finished(store, batch, _PROOFS.decode(message[1:])):
                        name = receipt_file_name(credential_id)
                        sink.add(name, data, _indexed(name, index))
                        done += 1
                        made += 1
                    written[1] = made
                else:
                    theirs = _MADE.decode(message[1:])
                    answer.send_bytes(_MESSAGES.encode(sink.place(theirs)))
                    done += len(theirs)
                written[0] = done
            sink.close()
        except BaseException:
            sink.abandon()
            raise
        return str(done).encode()

    def producer() -> bool:
        receiver.close()
        answer.close()
        tree = rebuilt_tree(store, batch, workers=None)  # the writer waits for it: both CPUs build it
        proofs = _ProofText(batch, issuer_id, tree.root)
        placed = _PlacedReceipts(staging, batch, answers)
        try:
            given = 0  # receipts the writer was given to make
            for items in _proof_items(batch, tree, proofs, workers=None):  # the writer waits: both CPUs check
                if given - written[1] < WRITER_BACKLOG * RECEIPT_CHUNK:  # the writer keeps up: it makes these
                    sender.send_bytes(b"P" + _MESSAGES.encode(items))
                    given += len(items)
                else:
                    made = _finished(store, batch, items)
                    names = [receipt_file_name(credential_id) for _, credential_id, _ in made]
                    sizes = [(index, name, len(data)) for (index, _, data), name in zip(made, names, strict=True)]
                    sender.send_bytes(b"M" + _MESSAGES.encode(sizes))
                    placed.waiting.append((made, names))
                placed.write(wait=len(placed.waiting) > READ_AHEAD)
                if progress is not None:
                    progress(written[0])
            sender.send_bytes(b"")
            while placed.waiting:
                placed.write(wait=True)
        except (BrokenPipeError, ConnectionResetError, EOFError):  # the writer died: one process writes it
            return False
        finally:
            sender.close()
            placed.close()
        return True

    try:
        sent, reported = run_split(producer, [writer])
    finally:
        written.close()
        answers.close()
        answer.close()
    if not sent or reported[0] is None or not reported[0].isdigit():
        return 0
    if progress is not None:
        progress(int(reported[0]))
    return int(reported[0])


class _PlacedReceipts:
    """Receipts made here for the archive the writer process lays out, waiting for their place; written there."""

    def __init__(self, staging: Path, batch: BatchRecord, answers: Connection) -> None:
        self.staging, self.batch, self.answers = staging, batch, answers
        #: Chunks made here, ``(index, credential id, bytes)`` each, with their file names, in order.
        self.waiting: collections.deque[tuple[list[tuple[int, str, bytes]], list[str]]] = collections.deque()
        self.descriptor = -1
        self.pages: WrittenPages | None = None

    def write(self, *, wait: bool) -> None:
        """Write each waiting chunk whose place the writer gave; with ``wait``, wait for the first one's."""
        while self.waiting and (wait or self.answers.poll()):
            wait = False
            offset, renamed = _PLACED.decode(self.answers.recv_bytes())
            made, names = self.waiting.popleft()
            for position, name in renamed:
                names[position] = name
            try:
                if self.descriptor < 0:
                    self.descriptor = os.open(self.staging, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
                    self.pages = WrittenPages(self.descriptor)
                members = [(name, data) for name, (_, _, data) in zip(names, made, strict=True)]
                written = write_members(
                    self.descriptor, offset, _archive_folder(self.batch), self.batch.anchored_at or 0, members
                )
                if self.pages is not None:
                    self.pages.written(offset, written)
            except OSError as error:
                raise ReceiptWriteError(
                    f"batch {self.batch.id}: the receipts of credentials {made[0][1]!r} to {made[-1][1]!r} could "
                    f"not be written to {self.staging}: {error}"
                ) from error

    def close(self) -> None:
        """Close the archive (this process's side)."""
        if self.descriptor >= 0:
            os.close(self.descriptor)
            self.descriptor = -1


def _die_with_parent(parent: int) -> None:
    """Have this forked writer killed when its parent dies (Linux): no orphan writes on after a crash."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the writer ends with its share
        return
    if os.getppid() != parent:  # the parent died before the call
        os._exit(1)


def _proof_items(
    batch: BatchRecord,
    tree: StandardMerkleTree,
    proofs: _ProofText,
    share: tuple[int, int] = (0, 1),
    *,
    workers: int | None = 1,
) -> Iterator[list[tuple[int, str]]]:
    """``(index, anchoring proof text)`` of the batch's receipts (or of a share of them) in the proof order,
    a chunk of :data:`RECEIPT_CHUNK` at a time; ``workers`` check the tree's inner nodes first (see
    :meth:`StandardMerkleTree.iter_proofs`)."""
    for chunk in _chunks(tree.iter_proofs(share=share, workers=workers), RECEIPT_CHUNK):
        items = []
        for index, merkle_proof in chunk:
            digest, leaf_index = tree.at(index)
            if leaf_index != index:
                raise InvariantError(f"batch {batch.id}: tree value {index} holds index {leaf_index!r}")
            items.append((index, proofs.text(index, _hex(digest), merkle_proof)))
        yield items


def _finished(store: Store, batch: BatchRecord, items: list[tuple[int, str]]) -> list[tuple[int, str, bytes]]:
    """``(index, credential id, receipt bytes)`` for ``(index, anchoring proof text)``: documents in one query."""
    documents = store.batch_documents(batch.id, [index for index, _ in items])
    finished = []
    for index, proof in items:
        found = documents.get(index)
        if found is None:
            raise InvariantError(f"batch {batch.id}: no stored credential at index {index}")
        credential_id, document = found
        finished.append((index, credential_id, receipt_text(document, proof)))
    return finished


def _write(
    sink: _FolderSink | _ArchiveSink,
    batch: BatchRecord,
    chunks: Iterable[list[tuple[int, str, bytes]]],
    progress: Callable[[int], None] | None,
    *,
    shared: bool = False,
) -> int:
    """Write the receipts of ``chunks`` (index, credential id, bytes) to ``sink``; how many were written.

    ``shared``: other processes write other receipts of the batch into the same folder, so a taken file name
    raises :class:`_NameTakenError` (one process then writes the whole batch, naming such receipts by index).
    """
    done = 0
    try:
        for chunk in chunks:
            for index, credential_id, data in chunk:
                name = receipt_file_name(credential_id)
                try:
                    sink.add(name, data, None if shared else _indexed(name, index))
                except FileExistsError as taken:
                    raise _NameTakenError(name) from taken
                except OSError as error:
                    raise ReceiptWriteError(
                        f"batch {batch.id}: the receipt of credential {credential_id!r} (index {index}) "
                        f"could not be written to {sink.where(name)}: {error}"
                    ) from error
                done += 1
                if progress is not None:
                    progress(done)
        try:
            sink.close()
        except OSError as error:
            raise ReceiptWriteError(
                f"batch {batch.id}: the receipts could not be written to {sink}: {error}"
            ) from error
    except BaseException:
        sink.abandon()
        raise
    return done


class _Writer:
    """Writes receipts of one batch into its staging folder: all of them, or one share of the proof order."""

    def __init__(
        self, store: Store, batch: BatchRecord, tree: StandardMerkleTree, proofs: _ProofText, staging: Path
    ) -> None:
        self.store, self.batch, self.tree, self.proofs, self.staging = store, batch, tree, proofs, staging

    def write(self, part: int, parts: int, progress: Callable[[int], None] | None) -> int:
        """Write share ``part`` of ``parts`` (with ``parts`` > 1 a taken file name raises :class:`_NameTakenError`)."""
        items = _proof_items(self.batch, self.tree, self.proofs, share=(part, parts))
        chunks = (_finished(self.store, self.batch, chunk) for chunk in items)
        return _write(_FolderSink(self.staging), self.batch, chunks, progress, shared=parts > 1)


class _FolderSink:
    """Receipt files in a staging folder."""

    def __init__(self, staging: Path) -> None:
        self.directory = os.open(staging, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))

    def add(self, name: str, data: bytes, instead: str | None) -> None:
        """Write receipt file ``name`` (see :func:`write_receipt_file`)."""
        write_receipt_file(self.directory, name, data, instead)

    def where(self, name: str) -> str:
        """How errors name the place of receipt ``name``."""
        return name

    def __str__(self) -> str:
        return "the staging folder"

    def close(self) -> None:
        """Done."""
        self.abandon()

    def abandon(self) -> None:
        """Close the folder."""
        if self.directory >= 0:
            os.close(self.directory)
            self.directory = -1


class _ArchiveSink:
    """Receipts as members of the staging archive, each name once (:func:`write_receipt_file`'s rule: a taken
    name gets ``instead``, then ``instead`` with ``-2``, ``-3``, ... added)."""

    def __init__(self, path: Path, batch: BatchRecord) -> None:
        self.path = path
        descriptor = os.open(path, _CREATE, PRIVATE_FILE_MODE)
        self.writer = ArchiveWriter(descriptor, _archive_folder(batch), batch.anchored_at or 0)
        os.fchmod(self.writer.descriptor, PRIVATE_FILE_MODE)
        self.names: set[bytes] = set()

    def add(self, name: str, data: bytes, instead: str | None) -> None:
        """Add member ``name``, or ``instead`` when ``name`` is taken (without ``instead``: FileExistsError)."""
        self.writer.add(self._claim(name, instead), data)

    def place(self, made: list[tuple[int, str, int]]) -> tuple[int, list[tuple[int, str]]]:
        """Keep the place of receipts another process writes, ``(index, file name, size)`` in order, named as
        :meth:`add` names them: where they start, and ``(position, name)`` of each given another name."""
        size, renamed = 0, []
        for position, (index, name, length) in enumerate(made):
            given = self._claim(name, _indexed(name, index))
            if given != name:
                renamed.append((position, given))
            size += member_size(f"{self.writer.folder}/{given}", length, self.writer.mtime)
        return self.writer.reserve(size), renamed

    def _claim(self, name: str, instead: str | None) -> str:
        """``name``, or when it is taken ``instead`` (or ``instead`` numbered), now taken."""
        key = _name_key(name)
        if key in self.names:
            if instead is None:
                raise FileExistsError(errno.EEXIST, "a receipt already has this member name", name)
            name, stem, number = instead, instead.removesuffix(".json"), 1
            while (key := _name_key(name)) in self.names:
                number += 1
                name = f"{stem}-{number}.json"
        self.names.add(key)
        return name

    def where(self, name: str) -> str:
        """How errors name the place of receipt ``name``."""
        return f"{name} in {self.path}"

    def __str__(self) -> str:
        return str(self.path)

    def close(self) -> None:
        """Write what is buffered and the end of the archive."""
        self.writer.finish()
        self.abandon()

    def abandon(self) -> None:
        """Close the archive (after an error, what is buffered is dropped: the archive is written again)."""
        self.writer.stop()
        if self.writer.descriptor >= 0:
            os.close(self.writer.descriptor)
            self.writer.descriptor = -1


def _archive_folder(batch: BatchRecord) -> str:
    """The folder an archive's members are in: the one a batch of receipt files would get."""
    return f"batch-{batch.onchain_batch_id}"


def _name_key(name: str) -> bytes:
    """A member name's key: 16 bytes of BLAKE2b (a million names in about 90 MB instead of 130 MB)."""
    return hashlib.blake2b(name.encode(), digest_size=16).digest()


def _indexed(name: str, index: int) -> str:
    """The file name of the receipt at ``index`` when ``name`` is taken: ``<name>-<index>.json``."""
    return f"{name.removesuffix('.json')}-{index}.json"


def write_receipt_file(directory: int, name: str, data: bytes, instead: str | None = None) -> str:
    """Create receipt ``name`` (0600) in the open folder ``directory``, write ``data`` to it; returns its name.

    The folder is a fresh staging folder, so the name is new, unless two credential ids share a file name
    (:func:`receipt_file_name`: ``urn:x`` and ``urn_x``, or ids alike in their first 200 characters): then
    the receipt goes to ``instead`` (the batch index added), or when that is taken too, to ``instead`` with
    ``-2``, ``-3``, ... added: a receipt never replaces another. Without ``instead`` a taken name raises
    :class:`FileExistsError`.
    """
    descriptor = _create(directory, name)
    if descriptor is None:
        if instead is None:
            raise FileExistsError(errno.EEXIST, "a receipt already has this file name", name)
        name, stem, number = instead, instead.removesuffix(".json"), 1
        while (descriptor := _create(directory, name)) is None:
            number += 1
            name = f"{stem}-{number}.json"
    try:
        if os.fstat(descriptor).st_mode & 0o777 != PRIVATE_FILE_MODE:  # a umask that strips the owner's bits
            os.fchmod(descriptor, PRIVATE_FILE_MODE)
        written = os.write(descriptor, data)
        if written != len(data):  # a short write (a signal, a full disk): the rest, or the error
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(descriptor, view) :]
    finally:
        os.close(descriptor)
    return name


def _create(directory: int, name: str) -> int | None:
    """A new file ``name`` (0600) in the open folder ``directory``, opened for writing; None if it exists."""
    try:
        return os.open(name, _CREATE, PRIVATE_FILE_MODE, dir_fd=directory)
    except FileExistsError:
        return None


def receipt_text(document: str, anchoring: str) -> bytes:
    """The receipt file of a stored document (compact JSON text) and its anchoring proof (JSON text).

    The bytes of ``json.dumps(make_receipt(json.loads(document), proof), indent=2, ensure_ascii=False) + "\\n"``
    where ``anchoring`` is the compact ``json.dumps`` of ``proof.to_json()`` with ``"format": None``: the format
    is set here as :func:`~anchor.credentials.receipt.make_receipt` sets it. Only the top-level members are
    decoded (into their raw text), and of those only ``anchorFormat`` and ``proof`` are parsed.
    """
    members = _TOP_LEVEL.decode(document)
    version_text = members.get(FORMAT_KEY)
    version = msgspec.json.decode(version_text) if version_text is not None else None
    receipt_format = RECEIPT_FORMATS.get(version, RECEIPT_FORMAT) if isinstance(version, str) else RECEIPT_FORMAT
    member = _FORMAT_MEMBERS.get(receipt_format) or f'"format":{json.dumps(receipt_format)}'
    proof = anchoring.replace('"format":null', member, 1)
    existing_text = members.get("proof")
    existing = msgspec.json.decode(existing_text) if existing_text is not None else None
    if existing is None and receipt_format == RECEIPT_FORMAT:
        members["proof"] = msgspec.Raw(proof.encode())
    else:
        present = existing if isinstance(existing, list) else [] if existing is None else [existing]
        kept = [item for item in present if not (isinstance(item, dict) and item.get("type") == PROOF_TYPE)]
        others = json.dumps(kept, ensure_ascii=False, separators=(",", ":"))
        members["proof"] = msgspec.Raw(f"{others[:-1]}{',' if kept else ''}{proof}]".encode())
    return msgspec.json.format(_ENCODER.encode(members), indent=2) + b"\n"


class _ProofText:
    """The anchoring proof of a batch's credentials as compact JSON text, its constant parts made once."""

    def __init__(self, batch: BatchRecord, issuer_id: int, root: str) -> None:
        fields = _proof_of(batch, issuer_id, 0, "", (), root).to_json()
        fields["format"] = None  # set per receipt by receipt_text
        head = {key: fields[key] for key in ("type", "format", "chainId", "registry", "batchId", "issuerId")}
        tail = {key: fields[key] for key in ("root", "transactionHash", "blockNumber", "anchoredAt")}
        self._head = json.dumps(head, separators=(",", ":"))[:-1]
        self._tail = json.dumps(tail, separators=(",", ":"))[1:]

    def text(self, index: int, digest: str, merkle_proof: list[str]) -> str:
        siblings = '","'.join(merkle_proof)
        nodes = f'["{siblings}"]' if merkle_proof else "[]"
        digest_text = f'"{digest}"' if _HEX_DIGEST.fullmatch(digest) else json.dumps(digest)
        return f'{self._head},"index":{index},"digest":{digest_text},"merkleProof":{nodes},{self._tail}'


def receipt_for(
    batch: BatchRecord, tree: StandardMerkleTree, index: int, issuer_id: int, document: str
) -> dict[str, Any]:
    """The receipt of credential ``index`` of an anchored batch, from its stored document and the batch's tree."""
    _, leaf_index = tree.at(index)
    if leaf_index != index:
        raise InvariantError(f"batch {batch.id}: tree value {index} holds index {leaf_index!r}")
    return make_receipt(json.loads(document), anchor_proof(batch, tree, index, issuer_id))


def export_receipt(store: Store, credential_id: str, issuer_id: int) -> dict[str, Any]:
    """The receipt of one anchored credential, rebuilt from the database."""
    record = store.find_credential(credential_id)
    if record is None:
        raise InvalidInputError(f"no credential {credential_id!r} in the issuer database")
    if record.batch_id is None or record.batch_index is None:
        raise InvalidInputError(f"credential {credential_id!r} is queued, not anchored yet: run `anchor batch run`")
    batch = store.get_batch(record.batch_id)
    if batch.state != "anchored" or batch.onchain_batch_id is None:
        raise InvalidInputError(f"credential {credential_id!r} is in batch {batch.id}, which is {batch.state}")
    proof = anchor_proof(batch, rebuilt_tree(store, batch), record.batch_index, issuer_id)
    return make_receipt(json.loads(record.document), proof)


def anchor_proof(batch: BatchRecord, tree: StandardMerkleTree, index: int, issuer_id: int) -> AnchorProof:
    """The anchor proof of credential ``index`` of an anchored batch (its Merkle proof made and checked here)."""
    digest, _ = tree.at(index)
    return _proof_of(batch, issuer_id, index, _hex(digest), tuple(tree.get_proof(index)), tree.root)


def _proof_of(
    batch: BatchRecord, issuer_id: int, index: int, digest: str, merkle_proof: tuple[str, ...], root: str
) -> AnchorProof:
    return AnchorProof(
        chain_id=batch.chain_id,
        registry=to_checksum_address(batch.registry),
        batch_id=batch.onchain_batch_id or 0,
        issuer_id=issuer_id,
        index=index,
        digest=digest,
        merkle_proof=merkle_proof,
        root=root,
        transaction_hash=batch.tx_hash or "",
        block_number=batch.block_number or 0,
        anchored_at=datetime.fromtimestamp(batch.anchored_at or 0, UTC),
    )


def rebuilt_tree(store: Store, batch: BatchRecord, *, workers: int | None = 1) -> StandardMerkleTree:
    """The batch's Merkle tree rebuilt from its stored digests, refused unless its root is the batch's root.

    The leaves are ``(digest, index)`` of the batch's credentials as :func:`anchor.issuing.batch.build_tree`
    made them; the stored dump is not read (a million leaves: parsing their 250 MB dump takes about 820 MB,
    the rebuild from 32 MB of digests about 435 MB). The root the rebuilt tree must have is the one stored
    with the batch and anchored, so a digest changed since (or a credential moved) is refused, by
    :class:`~anchor.errors.InvariantError` naming the batch and both roots. ``workers`` as in
    :meth:`StandardMerkleTree.of`.
    """
    digests = store.batch_digests(batch.id)
    count = len(digests) // 32
    if count != batch.size:
        raise InvariantError(f"batch {batch.id}: {count} stored credentials for a batch of {batch.size}")
    tree = StandardMerkleTree.of(
        [(bytes(digests[k : k + 32]), index) for index, k in enumerate(range(0, 32 * count, 32))],
        LEAF_ENCODING,
        workers=workers,
    )
    del digests
    if tree.root != batch.root.lower():
        raise InvariantError(
            f"batch {batch.id}: the tree rebuilt from its {count} stored digests has root {tree.root}, not the "
            f"batch's root {batch.root}: a stored digest or index changed since the batch was built; no "
            "receipts written"
        )
    return tree


def batch_tree(store: Store, batch: BatchRecord, *, workers: int | None = 1) -> StandardMerkleTree:
    """The batch's Merkle tree, as stored when the batch was built (checked: ``workers`` as in ``load``).

    The stored dump read back (what receipts used before :func:`rebuilt_tree`, which needs about half the
    memory): for the dump itself, e.g. to compare it with the tree rebuilt from the digests.

    Memory (the dump of a million leaves is about 250 MB of text, and parsed at once about 1 GB): the text is
    split at the top level, its ``values`` copied out and the text dropped, the ``tree`` parsed and turned
    into 32-byte nodes a chunk at a time (``load`` takes nodes as bytes, and checks them as it checks hex),
    and only then are the values parsed. Each part is parsed by ``json.loads`` as the whole was.
    """
    text = store.tree_dump(batch.id)
    try:
        parts = _TOP_LEVEL.decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError):
        parts = {}
    if "tree" not in parts or "values" not in parts:  # not a dump: load says what is wrong with it
        return StandardMerkleTree.load(json.loads(text), workers=workers)
    values = bytes(parts.pop("values"))
    nodes = bytes(parts.pop("tree"))
    data: dict[str, object] = {key: json.loads(bytes(raw)) for key, raw in parts.items()}
    del text, parts
    data["tree"] = tree = json.loads(nodes)
    del nodes
    if isinstance(tree, list):
        _nodes_to_bytes(tree)
    data["values"] = json.loads(values, object_pairs_hook=_entry)
    del values
    return StandardMerkleTree.load(data, workers=workers)


class _Entry(Mapping[str, object]):
    """A dump's ``{"value": ..., "treeIndex": ...}`` as a read-only mapping of two slots (a dict costs 3 times
    as much, a million of them 180 MB)."""

    __slots__ = ("_index", "_value")

    def __init__(self, value: object, index: object) -> None:
        self._value, self._index = value, index

    def __getitem__(self, key: str) -> object:
        if key == "value":
            return self._value
        if key == "treeIndex":
            return self._index
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(("value", "treeIndex"))

    def __len__(self) -> int:
        return 2


def _entry(pairs: list[tuple[str, Any]]) -> Mapping[str, object]:
    """``json.loads``'s object for these pairs: an :class:`_Entry` for exactly ``value`` then ``treeIndex``."""
    if len(pairs) == 2 and pairs[0][0] == "value" and pairs[1][0] == "treeIndex":
        return _Entry(pairs[0][1], pairs[1][1])
    return dict(pairs)


def _nodes_to_bytes(tree: list[object]) -> None:
    """Replace, in place and a chunk at a time, each run of ``0x`` + 64 hex digit nodes by their 32 bytes.

    A chunk holding anything else is left as it is, for ``load`` to name the bad node.
    """
    step = 1 << 15
    for start in range(0, len(tree), step):
        chunk = tree[start : start + step]
        try:
            joined = "".join(chunk)  # type: ignore[arg-type]  # a non-string raises TypeError: left as is
        except TypeError:
            continue
        count = len(chunk)
        if len(joined) != 66 * count or joined[0::66] != "0" * count or joined[1::66] != "x" * count:
            continue
        try:
            data = bytes.fromhex(joined.replace("0x", ""))
        except ValueError:
            continue
        if len(data) == 32 * count:
            tree[start : start + count] = [data[i : i + 32] for i in range(0, len(data), 32)]


def _hex(digest: object) -> str:
    return "0x" + bytes(digest).hex() if isinstance(digest, bytes) else str(digest)


def _empty_staging(target: Path, archive: bool = False) -> Path:
    """The batch's staging folder, created empty (0700), or the path of its staging archive (none there yet);
    whatever an interrupted run left there (an archive's parts too) is removed."""
    staging = target.with_name(f".{target.name}{_STAGING_SUFFIX}")
    _remove(staging)
    if archive:
        for leftover in target.parent.glob(f"{glob.escape(staging.name)}-*"):
            _remove(leftover)
        return staging
    os.mkdir(staging, PRIVATE_DIR_MODE)
    os.chmod(staging, PRIVATE_DIR_MODE)
    return staging


def _publish(staging: Path, folder: Path) -> None:
    """Rename the complete staging folder (or archive) into place (replacing that of an earlier, interrupted run)."""
    replaced = folder.with_name(f".{folder.name}{_REPLACED_SUFFIX}")
    _remove(replaced)
    if os.path.lexists(folder):
        os.rename(folder, replaced)
    os.rename(staging, folder)
    parent = os.open(folder.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(parent)  # the rename itself is durable before the batch is marked anchored
    finally:
        os.close(parent)
    _remove(replaced)


def _remove(path: Path) -> None:
    """Remove a folder of ours and everything in it (a link is removed, never followed)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def _chunks(items: Iterator[tuple[int, list[str]]], size: int) -> Iterator[list[tuple[int, list[str]]]]:
    while chunk := list(islice(items, size)):
        yield chunk
