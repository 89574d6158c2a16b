"""Intake: validate credential files and queue them in the issuer database (``anchor issue``).

Inputs are files, directories and ``-`` (standard input):

- a file is one credential (any name), refused by its size before it is read if it is over
  :data:`~anchor.credentials.MAX_CREDENTIAL_BYTES`;
- a directory contributes every ``*.json`` file under it, recursively, in name order (hidden names and
  symbolic links to directories are skipped); it is walked lazily, one directory listing at a time;
- ``-`` reads either one credential (a JSON object, pretty-printed or not) or JSON Lines: one credential
  per line. The first line decides: if it is a whole JSON object by itself, the input is JSON Lines.

Every credential is parsed strictly, validated (every problem of every input is reported, naming the input
and the field), salted with 32 random bytes (a credential that carries a valid ``anchorSalt`` keeps it) and
hashed. Then, in one database transaction, all of them are queued, but only if every input was valid, or
with ``partial`` the valid ones. Issuing is idempotent: a credential already in the database with the same
content (whatever its salt) is a *duplicate* and changes nothing, whether it is queued, batched or anchored;
a different credential under an id already used is a *conflict*, refused like invalid input. Unless status
entries are reserved along the way (they are committed as they are handed out) or the caller must be asked
first, the transaction is open while the inputs are prepared and takes each chunk as it is ready; a verdict
that queues nothing rolls it back (a killed intake leaves nothing either). It holds the database's write lock
(SQLite) or the queue's lock (PostgreSQL) for the whole intake.

Memory stays bounded however many inputs there are: prepared credentials are spooled to a temporary file
until the verdict, problems are reported as they are found, and large inputs are validated in worker
processes (JSON Schema validation dominates the cost).
"""

from __future__ import annotations

import json
import marshal
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import IO, Any, BinaryIO, Final, TypeVar

import msgspec.json
import sha3

from anchor.credentials import (
    FORMAT_KEY,
    FORMAT_V1,
    MAX_CREDENTIAL_BYTES,
    SALT_KEY,
    credential_digest,
    credential_id,
    format_version,
    hashed_view,
    issuer_id,
    jcs,
    parse_credential,
    salt_bytes,
    valid_until,
    with_salt,
)
from anchor.credentials.jcs import msgspec_float
from anchor.credentials.status_list import entry_slot
from anchor.credentials.strict_json import parse_credential_floats
from anchor.credentials.validation import read_credential_file, validate_parsed
from anchor.errors import (
    CredentialConflictError,
    CredentialValidationError,
    FieldProblem,
    InvalidInputError,
    InvariantError,
)
from anchor.issuing.signing import IntakeSigner, sign_for_issue
from anchor.issuing.store import NewCredential, QueueOutcome, RosterEntry, Store
from anchor.processes import start_method, usable_cpus

__all__ = [
    "STDIN",
    "IntakeSummary",
    "Rejected",
    "count_inputs",
    "default_workers",
    "issue",
    "issue_credentials",
    "iter_inputs",
    "prepare_bytes",
    "prepare_credential",
    "prepare_file",
]

STDIN: Final = "-"
_T = TypeVar("_T")
Job = tuple[str, Any, Mapping[str, Any] | None]
"""One input: its source name, its bytes (None: read the file named by the source; with a :data:`Build`, the
payload it makes the credential of), its status entry."""
StatusEntries = Callable[[int], Sequence[Mapping[str, Any]]]
"""Hands out the next ``n`` ``credentialStatus`` entries."""
Build = Callable[[Any], Mapping[str, Any] | bytes]
"""Makes an item's credential (a JSON object, or its JSON text as UTF-8 bytes) from the item's payload, where the
item is prepared: in a worker process for large inputs (so it is a module-level function or class instance
that pickles, as its payloads do)."""
PARALLEL_FROM: Final = 2000
"""Inputs from which validation runs in worker processes (when more than one CPU is available)."""
MAX_DEFAULT_WORKERS: Final = 8
"""Cap on the default number of validating processes (each holds its own validator, ~50 MB)."""
_TASK_SIZE: Final = 64
"""Status entries reserved at a time."""
_WORKER_TASK_SIZE: Final = 256
"""Most inputs a worker process prepares at a time (see :func:`_task_size`). The pool keeps only a few tasks
queued for its workers, and this process (which also reads, checks and queues) hands them over between its own
work: a larger task keeps the workers busy meanwhile (measured, 50,000-row roster, 2 alternations: 256 inputs a
task 10-15% faster than 64, this process waiting for results half as long)."""
_STDIN_SOURCE: Final = "<stdin>"
_SALT_KEY_UTF16: Final = SALT_KEY.encode("utf-16-be")


@dataclass(frozen=True, slots=True)
class Rejected:
    """An input that cannot be queued: which one, what is wrong, and (for schema errors) each field."""

    source: str
    message: str
    problems: tuple[FieldProblem, ...] = ()

    def __str__(self) -> str:
        lines = [f"{self.source}: {self.message}"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


@dataclass
class IntakeSummary:
    """What one ``issue`` did."""

    inputs: int = 0
    """Credentials read (valid or not)."""
    queued: int = 0
    duplicates: Counter[str] = field(default_factory=Counter)
    """Duplicates by the state of the credential already in the database (queued, batched, anchored)."""
    invalid: int = 0
    conflicts: int = 0
    committed: bool = False
    """Whether the database was changed (false when anything was refused without ``partial``)."""

    @property
    def refused(self) -> int:
        """Inputs refused: invalid or conflicting."""
        return self.invalid + self.conflicts


Prepared = tuple[int, bytes, list[Rejected]]
"""A chunk of inputs prepared: how many, their rows to queue (a ``marshal`` blob of a list of
:func:`_to_row` tuples; empty when none), the refused ones."""


# --------------------------------------------------------------------------------------------------------
# One credential


def prepare_credential(
    credential: Mapping[str, Any],
    *,
    source: str | None = None,
    signer: IntakeSigner | None = None,
    status_entry: Mapping[str, Any] | None = None,
) -> NewCredential:
    """Validate, salt (unless it carries a salt), sign and hash one credential; the record to queue.

    With a ``signer`` the credential becomes a signed ``anchor-credential-v3`` credential (see
    :mod:`anchor.issuing.signing`; ``status_entry`` is its ``credentialStatus``). Without one only a legacy
    ``anchor-credential-v1`` credential is accepted, unsigned. Raises :class:`CredentialValidationError`
    (every problem, naming ``source``) or another :class:`InvalidInputError`. The stored document is the
    credential re-read strictly (NFC text). Its content hash (what makes re-issuing idempotent) is of the
    credential as given, without salt, status entry or signature.
    """
    where = f"{source}: " if source else ""
    try:
        text = json.dumps(credential, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"{where}not a JSON credential: {error}") from None
    return _prepare_parsed(
        parse_credential(text, source=source), source=source, signer=signer, status_entry=status_entry
    )


def _prepare_parsed(
    clean: dict[str, Any],
    *,
    source: str | None,
    signer: IntakeSigner | None,
    status_entry: Mapping[str, Any] | None,
    text: bytes | None = None,
    floats: list[float] | None = None,
) -> NewCredential:
    """:func:`prepare_credential` for what :func:`parse_credential` returned (plain JSON, NFC text).

    ``text``: the bytes it was parsed from, when known (the control-character check reads them).
    ``floats``: every float of ``clean``, when known (:func:`parse_credential_floats`)."""
    where = f"{source}: " if source else ""
    validate_parsed(clean, source=source, text=text)
    _refuse_ended(clean, source)
    unsalted = {key: value for key, value in clean.items() if key != SALT_KEY}
    # canonical_bytes(unsalted), whose checks of strict I-JSON and NFC text strict parsing already made
    unsalted_canonical = jcs.dumps_issuer(hashed_view(unsalted), floats)
    content_hash = bytes(sha3.keccak_256(unsalted_canonical).digest())
    if signer is not None:
        try:
            document = sign_for_issue(clean, signer, status_entry)
        except CredentialValidationError as error:
            raise CredentialValidationError(error.problems, source=source) from None
    elif format_version(clean) != FORMAT_V1:
        raise InvalidInputError(
            f"{where}an {format_version(clean)} credential is signed by its issuer at issue time: create the "
            "issuer's signing key first (`anchor did key create`)"
        )
    else:
        document = clean if SALT_KEY in clean else with_salt(clean)
    slot = entry_slot(status_entry) if signer is not None and status_entry is not None else (None, None)
    return NewCredential(
        credential_id=credential_id(document),
        content_hash=content_hash,
        digest=_digest(document, unsalted_canonical, floats) if signer is None else credential_digest(document),
        document=_document_text(document, floats if signer is None else None),
        issuer=issuer_id(document),
        status_list=slot[0],
        status_index=slot[1],
    )


def _document_text(document: Mapping[str, Any], floats: list[float] | None) -> str:
    """``json.dumps(document, ensure_ascii=False, separators=(",", ":"))``, by msgspec's C encoder when that
    gives the same text: it escapes strings as ``json`` does (``"``, ``\\`` and the C0 controls, the same
    way), and so it writes the same text for every value but floats, which it must write as ``repr`` does.
    ``floats``: every float of ``document`` (None: not known, then ``json`` writes it)."""
    if floats is not None and all(msgspec_float(value) == repr(value) for value in floats):
        try:
            return msgspec.json.encode(document).decode()
        except (TypeError, ValueError, RecursionError):
            pass  # json.dumps decides, and says why
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _digest(document: Mapping[str, Any], unsalted_canonical: bytes, floats: list[float] | None = None) -> bytes:
    """:func:`credential_digest` of an ``anchor-credential-v1`` document, given the canonical bytes of the
    document without its salt (intake computes them for the content hash): the salt's member is spliced in.

    JCS writes an object's members in the order of their keys' UTF-16 code units, each member by itself, so
    the members before ``anchorSalt`` are the canonical text of the object of just those keys (checked to
    be the start of ``unsalted_canonical``). Any other format goes to :func:`credential_digest` itself; a salt
    that is not well formed is refused as it refuses it (:func:`salt_bytes`). ``floats``: as for
    :func:`~anchor.credentials.jcs.dumps_issuer` (every float of the parsed credential, when known).
    """
    if document.get(FORMAT_KEY) != FORMAT_V1:
        return credential_digest(document)
    salt = "0x" + salt_bytes(document).hex()
    view = hashed_view(document)
    before = {key: value for key, value in view.items() if key.encode("utf-16-be") < _SALT_KEY_UTF16}
    prefix = jcs.dumps_issuer(before, floats)[:-1]  # "{" and the members before the salt's
    if not unsalted_canonical.startswith(prefix):
        return credential_digest(document)
    rest = unsalted_canonical[len(prefix) :]  # "," or "}" after a member; the first member or "}" after "{"
    member = f'"{SALT_KEY}":"{salt}"'.encode()
    if prefix == b"{":
        salted = prefix + member + (b"" if rest == b"}" else b",") + rest
    else:
        salted = prefix + b"," + member + rest
    return bytes(sha3.keccak_256(salted).digest())


def _refuse_ended(credential: Mapping[str, Any], source: str | None) -> None:
    """Refuse a credential whose validity period (``validUntil``) already ended: it could only be expired."""
    until, now = valid_until(credential), datetime.now(UTC)
    if until is not None and until <= now:
        problem = (
            f"{until.isoformat()} is in the past (now {now.isoformat(timespec='seconds')}): the validity period"
            " already ended, so the credential would be expired before it is anchored"
        )
        raise CredentialValidationError([FieldProblem("/validUntil", problem)], source=source)


def prepare_bytes(
    data: bytes,
    source: str,
    *,
    signer: IntakeSigner | None = None,
    status_entry: Mapping[str, Any] | None = None,
) -> NewCredential:
    """Parse credential text strictly (once), then as :func:`prepare_credential`."""
    credential, floats = parse_credential_floats(data, source=source)
    return _prepare_parsed(
        credential, source=source, signer=signer, status_entry=status_entry, text=data, floats=floats
    )


def prepare_file(
    path: str | os.PathLike[str],
    *,
    signer: IntakeSigner | None = None,
    status_entry: Mapping[str, Any] | None = None,
) -> NewCredential:
    """Read one credential file (refused by size before reading if too large), then as :func:`prepare_credential`."""
    return prepare_bytes(read_credential_file(path), str(path), signer=signer, status_entry=status_entry)


#: The signer and the credential builder of this worker process (set once by the pool's initializer: the
#: key and, say, a course template cross the pipe once).
_worker_signer: IntakeSigner | None = None
_worker_build: Build | None = None


def _set_worker_state(signer: IntakeSigner | None, build: Build | None = None) -> None:
    global _worker_signer, _worker_build  # one value per worker process, set by the pool initializer
    _worker_signer, _worker_build = signer, build


def _prepare(job: Job, signer: IntakeSigner | None = None, build: Build | None = None) -> NewCredential | Rejected:
    """Prepare one input (a file when its data is None; with ``build``, the payload it makes the credential
    of), turning bad input into a :class:`Rejected`."""
    source, data, entry = job
    if build is not None:  # outside the try: what the builder refuses stops the intake, as in the caller
        credential = build(data)
        data = credential if isinstance(credential, bytes) else _credential_bytes(source, credential)
    try:
        if data is None:
            data = read_credential_file(source)
        return prepare_bytes(data, source, signer=signer, status_entry=entry)
    except CredentialValidationError as error:
        count = len(error.problems)
        return Rejected(
            source, f"invalid credential ({count} problem{'s' if count != 1 else ''})", tuple(error.problems)
        )
    except InvalidInputError as error:
        message = str(error)
        return Rejected(source, message.removeprefix(f"{source}: "))


def _prepare_many(jobs: list[Job], signer: IntakeSigner | None = None, build: Build | None = None) -> Prepared:
    """Prepare a chunk of inputs (the worker processes' entry point; their signer and builder are the pool's).

    What crosses back to the intake process is one ``marshal`` blob of ready-to-queue rows (see
    :func:`_to_row`), which it copies into its spool as it is, and the inputs refused, in input order."""
    rows: list[tuple[Any, ...]] = []
    rejected: list[Rejected] = []
    for job in jobs:
        result = _prepare(
            job, signer if signer is not None else _worker_signer, build if build is not None else _worker_build
        )
        if isinstance(result, Rejected):
            rejected.append(result)
        else:
            rows.append(_to_row(job[0], result))
    return len(jobs), marshal.dumps(rows) if rows else b"", rejected


# --------------------------------------------------------------------------------------------------------
# Inputs


def iter_inputs(inputs: Sequence[str], stdin: BinaryIO | None = None) -> Iterator[tuple[str, bytes | None]]:
    """``(source, data)`` for every credential the inputs name: ``data`` is None for a file to read.

    A path that is neither a directory nor a readable file is still yielded: reading it reports why.
    """
    for item in inputs:
        if item == STDIN:
            if stdin is None:
                raise InvalidInputError("'-' reads standard input, which is not available here")
            yield from _stdin_jobs(stdin)
            continue
        if os.path.isdir(item):
            yield from ((file, None) for file in _walk(str(Path(item))))
        else:
            yield str(Path(item)), None


def count_inputs(inputs: Sequence[str]) -> int | None:
    """How many credentials the file and directory inputs hold; None when standard input is one of them."""
    if STDIN in inputs:
        return None
    return sum(sum(1 for _ in _walk(str(Path(item)))) if os.path.isdir(item) else 1 for item in inputs)


def _walk(folder: str) -> Iterator[str]:
    """Every ``*.json`` file under ``folder``, recursively, in name order; hidden names skipped.

    Paths are joined as strings (``pathlib`` costs more than reading a small file's listing entry)."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(
                (entry.name, entry.is_dir(follow_symlinks=False)) for entry in listing if entry.name[0] != "."
            )
    except OSError as error:
        raise InvalidInputError(f"{folder}: cannot list the directory: {error.strerror or error}") from error
    prefix = "" if folder == "." else folder if folder.endswith(os.sep) else folder + os.sep  # as pathlib joins
    for name, is_dir in entries:
        if is_dir:
            yield from _walk(prefix + name)
        elif name.endswith(".json"):
            yield prefix + name


def _stdin_jobs(stream: BinaryIO) -> Iterator[tuple[str, bytes | None]]:
    first = stream.readline(MAX_CREDENTIAL_BYTES + 1)
    if _is_whole_object(first):
        number = 1
        line = first
        while line:
            if line.strip():
                yield f"{_STDIN_SOURCE}:{number}", _bounded(line, stream)
            number += 1
            line = stream.readline(MAX_CREDENTIAL_BYTES + 1)
        return
    data = first + stream.read(MAX_CREDENTIAL_BYTES + 1 - len(first))
    yield _STDIN_SOURCE, data


def _bounded(line: bytes, stream: BinaryIO) -> bytes:
    """A JSON line, or (when over the size limit) its first bytes plus one, which parsing refuses by size."""
    if len(line) > MAX_CREDENTIAL_BYTES and not line.endswith(b"\n"):
        while chunk := stream.readline(1 << 20):  # skip the rest of the overlong line
            if chunk.endswith(b"\n"):
                break
    return line.rstrip(b"\r\n")


def _is_whole_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


# --------------------------------------------------------------------------------------------------------
# Issue


def issue(
    store: Store,
    inputs: Sequence[str],
    *,
    partial: bool = False,
    stdin: BinaryIO | None = None,
    workers: int | None = None,
    on_rejected: Callable[[Rejected], None] | None = None,
    on_duplicate: Callable[[str, QueueOutcome], None] | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
    signer: IntakeSigner | None = None,
    status_entries: StatusEntries | None = None,
) -> IntakeSummary:
    """Validate every credential the inputs hold, then queue them in one transaction (see the module doc).

    Nothing is queued if any input is refused, unless ``partial``. ``on_rejected`` hears of every refused
    input as it is found, ``on_duplicate`` of every duplicate (with its source), ``on_progress`` of the
    inputs done so far and their total (None when reading standard input). ``workers``: validating
    processes for large inputs (default: one per CPU). ``signer`` signs every credential (v3);
    ``status_entries(n)`` hands out the next ``n`` ``credentialStatus`` entries (reserved for good: an
    entry of a refused input is never reused).
    """
    total = count_inputs(inputs)
    prepared = _prepared(iter_inputs(inputs, stdin), workers, total, signer, status_entries)
    return _intake(
        store,
        prepared,
        total,
        partial=partial,
        on_rejected=on_rejected,
        on_duplicate=on_duplicate,
        on_progress=on_progress,
        overlap=status_entries is None,
    )


def issue_credentials(
    store: Store,
    items: Iterable[tuple[str, Any]],
    *,
    total: int | None = None,
    partial: bool = False,
    workers: int | None = None,
    on_rejected: Callable[[Rejected], None] | None = None,
    on_duplicate: Callable[[str, QueueOutcome], None] | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
    before_queue: Callable[[], bool] | None = None,
    signer: IntakeSigner | None = None,
    status_entries: StatusEntries | None = None,
    roster_entries: Callable[[Sequence[str]], Iterable[RosterEntry]] | None = None,
    build: Build | None = None,
    refused: Callable[[], int] | None = None,
) -> IntakeSummary:
    """:func:`issue` for credentials in memory: ``(source, credential)`` pairs (the rows of a roster, say).

    A credential is a JSON object, or its JSON text as UTF-8 bytes (parsed as a file's would be: a caller that
    made the text once hands it over as it is). With ``build`` the pairs are ``(source, payload)`` instead, and
    each credential is ``build(payload)``, made where it is prepared (see :data:`Build`): for large inputs
    in the worker processes, in parallel, and only the small payload crosses the pipe.

    Each credential is prepared exactly as a file would be (the same validation, salt, signature and
    status entry) and queued the same way. ``total`` (how many there are, when known) lets large inputs
    be validated in worker processes. ``before_queue`` is called once every input is prepared, when the
    verdict allows queueing, just before the queue's transaction: it returns False to queue nothing (a
    caller that refused inputs of its own) and may record what must exist before the credentials do.
    ``roster_entries(ids)`` gives the entries of the credentials with these ids, recorded in the queue's own
    transaction as they go in (:meth:`Store.queue_rows`): a roster's learners with their credentials (and not
    those of the inputs refused, which never reach the queue).
    ``refused()`` says how many inputs the caller refused itself so far (the rows of a roster it checks while
    intake takes the ones before): as an input intake refuses, one stops the queueing unless ``partial``.
    """
    jobs = (
        (
            source,
            credential if build is not None or isinstance(credential, bytes) else _credential_bytes(source, credential),
        )
        for source, credential in items
    )
    prepared = _prepared(jobs, workers, total, signer, status_entries, build)
    return _intake(
        store,
        prepared,
        total,
        partial=partial,
        on_rejected=on_rejected,
        on_duplicate=on_duplicate,
        on_progress=on_progress,
        before_queue=before_queue,
        roster_entries=roster_entries,
        refused=refused,
        # Queueing overlaps preparing only when nothing else writes until the verdict: a status entry is
        # reserved in its own committed transaction, and ``before_queue`` may write (SQLite: one writer).
        overlap=status_entries is None and before_queue is None,
    )


def _credential_bytes(source: str, credential: Mapping[str, Any]) -> bytes:
    """A credential in memory as JSON text: UTF-8, or ASCII when it holds a lone surrogate (an escape that
    parsing refuses, naming it)."""
    try:
        text = json.dumps(credential, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"{source}: not a JSON credential: {error}") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(credential, allow_nan=False).encode("ascii")


class _NothingToQueueError(Exception):
    """Raised through the queue's transaction to roll it back: the verdict is to queue nothing."""


def _intake(
    store: Store,
    prepared: Iterator[Prepared],
    total: int | None,
    *,
    partial: bool,
    on_rejected: Callable[[Rejected], None] | None,
    on_duplicate: Callable[[str, QueueOutcome], None] | None,
    on_progress: Callable[[int, int | None], None] | None,
    before_queue: Callable[[], bool] | None = None,
    roster_entries: Callable[[Sequence[str]], Iterable[RosterEntry]] | None = None,
    refused: Callable[[], int] | None = None,
    overlap: bool = False,
) -> IntakeSummary:
    """Spool every prepared input and queue them all in one transaction (or none): see :func:`issue`.

    With ``overlap`` the queue's transaction is open from the start and takes each chunk of rows as the
    workers hand it over, while they prepare the next ones; once an input is refused (without ``partial``)
    it takes no more, and at the end a verdict that queues nothing rolls it back. Without, every input is
    prepared first and the transaction only then begins."""
    summary = IntakeSummary()

    def reject(rejected: Rejected) -> None:
        if on_rejected is not None:
            on_rejected(rejected)

    def any_refused() -> bool:
        """Whether an input was refused so far, here or by the caller (``refused``)."""
        return bool(summary.invalid or (refused is not None and refused()))

    def take(spool: IO[bytes]) -> Iterator[tuple[Any, ...]]:
        """Every prepared chunk spooled; with ``overlap``, its rows for the queue while they may be queued."""
        for count, rows, rejected in prepared:
            summary.inputs += count
            summary.invalid += len(rejected)
            for refused in rejected:
                reject(refused)
            spool.write(rows)  # a marshal blob as the worker made it: one record, a list of rows
            if on_progress is not None:
                on_progress(summary.inputs, total)
            if overlap and rows and (partial or not any_refused()):
                yield from marshal.loads(rows)  # noqa: S302 - made by this process's own workers (see _to_row)

    def verdict() -> None:
        """Raise :class:`_NothingToQueueError` unless every input is prepared and may be queued."""
        if any_refused() and not partial:
            raise _NothingToQueueError
        if before_queue is not None and not before_queue():
            raise _NothingToQueueError

    def rows(spool: IO[bytes]) -> Iterator[tuple[Any, ...]]:
        if overlap:
            yield from (row[1:] for row in take(spool))
            verdict()
        else:
            spool.seek(0)
            yield from (row[1:] for row in _spooled(spool))

    with tempfile.TemporaryFile("w+b") as spool:
        try:
            if not overlap:
                for _ in take(spool):
                    pass
                verdict()
            outcomes = store.queue_rows(rows(spool), skip_conflicts=partial, roster_entries=roster_entries)
        except _NothingToQueueError:
            return summary
        except CredentialConflictError as error:
            spool.seek(0)
            for source, credential, *_ in _spooled(spool):
                held = error.conflicts.get(credential)
                if held is not None:
                    summary.conflicts += 1
                    reject(_conflict(source, credential, held))
            return summary
        summary.committed = True
        if all(outcome.status == "queued" for outcome in outcomes):  # the usual case: no second pass
            summary.queued = len(outcomes)
            return summary
        spool.seek(0)
        for (source, credential, *_), outcome in zip(_spooled(spool), outcomes, strict=True):
            if outcome.status == "queued":
                summary.queued += 1
            elif outcome.status == "duplicate":
                summary.duplicates[outcome.state] += 1
                if on_duplicate is not None:
                    on_duplicate(source, outcome)
            else:
                summary.conflicts += 1
                held = "queued" if outcome.batch_id is None else f"batch {outcome.batch_id} ({outcome.state})"
                reject(_conflict(source, credential, held))
    return summary


def _conflict(source: str, credential: str, held: str) -> Rejected:
    return Rejected(
        source,
        "id already issued with other content",
        (
            FieldProblem(
                "/id",
                f"{credential} is already in the issuer database ({held}) with other content; "
                "a changed credential needs a new id",
            ),
        ),
    )


def _prepared(
    sources: Iterator[tuple[str, bytes | None]],
    workers: int | None,
    total: int | None,
    signer: IntakeSigner | None,
    status_entries: StatusEntries | None,
    build: Build | None = None,
) -> Iterator[Prepared]:
    """The inputs prepared, in input order: here one by one, or in worker processes a chunk at a time."""
    jobs = _with_status(sources, status_entries)
    processes = workers if workers is not None else default_workers()
    if processes <= 1 or total is None or total < PARALLEL_FROM:
        for job in jobs:
            yield _prepare_many([job], signer, build)
        return
    yield from _in_workers(jobs, processes, signer, build, _task_size(total, processes))


def _task_size(total: int, processes: int) -> int:
    """Inputs a task: :data:`_WORKER_TASK_SIZE`, but at least 8 tasks a process (each process's results come
    back, and are queued, while it prepares its next ones), and at least :data:`_TASK_SIZE`."""
    return max(_TASK_SIZE, min(_WORKER_TASK_SIZE, total // (processes * 8)))


def _with_status(inputs: Iterator[tuple[str, bytes | None]], status_entries: StatusEntries | None) -> Iterator[Job]:
    """Each input with its ``credentialStatus`` entry (reserved :data:`_TASK_SIZE` at a time), or None."""
    if status_entries is None:
        for source, data in inputs:
            yield source, data, None
        return
    for chunk in _chunks(inputs, _TASK_SIZE):
        entries = status_entries(len(chunk))
        if len(entries) != len(chunk):
            raise InvariantError(f"asked for {len(chunk)} status entries, got {len(entries)}")
        for (source, data), entry in zip(chunk, entries, strict=True):
            yield source, data, entry


def default_workers() -> int:
    """Validating processes by default: the CPUs this process may run on, at most :data:`MAX_DEFAULT_WORKERS`."""
    return min(usable_cpus(), MAX_DEFAULT_WORKERS)


def _in_workers(
    jobs: Iterator[Job],
    processes: int,
    signer: IntakeSigner | None,
    build: Build | None = None,
    task_size: int = _TASK_SIZE,
) -> Iterator[Prepared]:
    """Prepare chunks of jobs in ``processes`` worker processes, a bounded number in flight, results in order."""
    window = processes * 4
    pending: list[Future[Prepared]] = []
    # Fork where there is fork: no re-import of the caller's __main__ (which spawn does, and which re-runs
    # `python -m anchor` or an unguarded script), no start-up cost. All workers are forked at the first
    # submit, before this process starts any thread of its own (the progress bar's); they never touch the
    # database connections they inherit and leave through os._exit.
    context = get_context(start_method())
    with ProcessPoolExecutor(processes, context, initializer=_set_worker_state, initargs=(signer, build)) as pool:
        chunks = _chunks(jobs, task_size)
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < window:
                chunk = next(chunks, None)
                if chunk is None:
                    exhausted = True
                    break
                pending.append(pool.submit(_prepare_many, chunk))
            if pending:
                yield pending.pop(0).result()


def _chunks(jobs: Iterable[_T], size: int) -> Iterator[list[_T]]:
    chunk: list[_T] = []
    for job in jobs:
        chunk.append(job)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _to_row(source: str, item: NewCredential) -> tuple[Any, ...]:
    """One spooled record: the source, then the :data:`~anchor.issuing.store.QueueRow` (plain strings,
    integers and None, for ``marshal``: our own unlinked temporary file, written and read by this process
    and its workers only, at a fraction of the cost of JSON or pickle)."""
    return (
        source,
        item.credential_id,
        "0x" + item.content_hash.hex(),
        "0x" + item.digest.hex(),
        item.issuer,
        item.document,
        item.status_list,
        item.status_index,
    )


def _spooled(spool: IO[bytes]) -> Iterator[tuple[Any, ...]]:
    """Every spooled record (see :func:`_to_row`), in order: the spool holds lists of them."""
    while True:
        try:
            rows = marshal.load(spool)  # noqa: S302 - our own unlinked temporary file (see _to_row)
        except EOFError:
            return
        yield from rows
