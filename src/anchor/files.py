"""Writing files so that a crash never leaves a half-written one behind, and private files and folders.

Personal data (the issuer database, receipts) and ``ANCHOR_HOME`` are private to their owner: files 0600,
folders 0700, whatever the umask. A mode given to ``open`` or ``mkdir`` is only an upper bound (the umask
takes bits away), so each is created with the private mode, which no umask can widen, then set to exactly
that mode, which a umask such as 0o177 cannot narrow into an unusable folder either.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import threading
import unicodedata
from pathlib import Path
from typing import Any, Final

PRIVATE_FILE_MODE: Final = 0o600
PRIVATE_DIR_MODE: Final = 0o700


def package_data(package: str, resource: str) -> bytes | None:
    """The bytes of ``resource`` (a ``/``-separated path) beside the modules of ``package`` (imported if it is
    not yet), read by the package's loader: what :func:`pkgutil.get_data` returns (None where it does,
    :class:`OSError` where it raises), without importing :mod:`pkgutil` (nor :mod:`importlib.resources`, with
    tempfile, shutil and zipfile): a one-receipt ``anchor verify`` reads its schema, contexts and ABI this way
    and starts faster."""
    module = sys.modules.get(package)
    if module is None:
        import importlib

        module = importlib.import_module(package)
    spec, file = getattr(module, "__spec__", None), getattr(module, "__file__", None)
    loader = getattr(spec, "loader", None)
    if file is None or loader is None or not hasattr(loader, "get_data"):
        return None
    data: bytes = loader.get_data(os.path.join(os.path.dirname(file), *resource.split("/")))
    return data


def write_json_atomically(path: Path, document: Any, *, ensure_ascii: bool = False, private: bool = False) -> None:
    """Write ``document`` as indented JSON to ``path`` through a temporary file and an atomic rename.

    ``private``: the file is created 0600 (see :func:`write_private_text`), else with the umask's mode.
    """
    text = json.dumps(document, ensure_ascii=ensure_ascii, indent=2) + "\n"
    if private:
        write_private_text(path, text)
        return
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def read_source(source: str, limit: int) -> bytes:
    """The first ``limit`` + 1 bytes of file ``source``, or of standard input for ``-`` (never more: a caller
    that gets more than ``limit`` bytes knows the input is too large without reading it all).

    :class:`~anchor.errors.InvalidInputError` names a file that cannot be read.
    """
    import sys

    from anchor.errors import InvalidInputError

    try:
        if source == "-":
            return sys.stdin.buffer.read(limit + 1)
        with open(source, "rb") as stream:
            return stream.read(limit + 1)
    except OSError as error:
        raise InvalidInputError(f"cannot read {source}: {error.strerror or error}") from error


def write_private_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` as a 0600 file, through a temporary file and an atomic rename.

    The temporary file is created afresh (``O_EXCL``, not following a link planted in its place), so the
    content is never readable by others, not even for a moment.
    """
    write_private_bytes(path, text.encode("utf-8"))


def write_private_bytes(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` as a 0600 file, as :func:`write_private_text` does."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.unlink(missing_ok=True)  # left by a crashed writer that had the same pid
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(temporary, flags, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), PRIVATE_FILE_MODE)
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def learner_folder_name(name: str, credential_id: str, *, longest: int = 60) -> str:
    """A folder name for a learner's files, safe on any file system: the letters and digits (any script) of
    their ``name`` (at most ``longest``; ``learner`` if none), then the tail of the credential's id.

    No path separator, dot, space or control character can be in it, so no name is reserved or hidden.
    """
    letters = "".join(
        character if character.isalnum() else "_"
        for character in unicodedata.normalize("NFC", name)
        if not unicodedata.category(character).startswith("C")
    )
    readable = "_".join(part for part in letters.split("_") if part)[:longest] or "learner"
    tail = re.sub(r"[^A-Za-z0-9._-]", "_", credential_id)[:200][-12:].rstrip(".") or "id"
    return f"{readable}-{tail}"


def private_directory(path: Path, *, tighten: bool = False) -> Path:
    """Create folder ``path`` and its missing parents 0700; returns ``path``.

    A folder that exists already keeps its mode, unless ``tighten`` is set and it is the caller's own:
    then ``path`` itself (not its parents) is made 0700 (folders of anchor's own, created by an older release).
    """
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # created by another process a moment ago: not ours to change
        os.chmod(folder, PRIVATE_DIR_MODE)
    if tighten and not missing:
        _make_private(path, PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty as a 0600 file if it does not exist; an existing file of the caller's is made 0600.

    A link is followed (a database file may live elsewhere): what it points to is made private if it is ours.
    """
    flags = os.O_RDONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(path, flags, PRIVATE_FILE_MODE)
    try:
        info = os.fstat(descriptor)
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) != PRIVATE_FILE_MODE:
            os.fchmod(descriptor, PRIVATE_FILE_MODE)
    finally:
        os.close(descriptor)
    return path


def make_private_if_present(path: Path) -> None:
    """Make an existing file of the caller's 0600 (a database's ``-wal`` and ``-shm``); nothing if absent."""
    _make_private(path, PRIVATE_FILE_MODE)


def _make_private(path: Path, mode: int) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
        return  # not following a link, not changing what belongs to someone else
    if stat.S_IMODE(info.st_mode) != mode:
        os.chmod(path, mode)
