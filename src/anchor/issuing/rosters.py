"""Learner rosters: one credential per row of a CSV or Excel export, through the ordinary intake.

``anchor issue --course ID --roster FILE`` reads the export of results a student information system makes
and issues one credential per row from the course's template (:mod:`anchor.issuing.courses`).

Files. A roster is refused by its size before it is read (:data:`MAX_ROSTER_BYTES`) and by its number of rows
(:data:`MAX_ROSTER_ROWS`). CSV: UTF-8 (with or without a byte order mark), UTF-16 or UTF-32 with a byte order
mark, or the encoding named with ``encoding`` (``cp1252``...); a file that is not valid in its encoding is
refused, naming the row and showing how the row would read in the common legacy encodings, never guessed
(a guess at a legacy encoding gets names wrong, and an anchored name cannot be corrected). The delimiter
(comma, semicolon or tab) is found by :class:`csv.Sniffer` in the first lines. Excel: ``.xlsx`` files
through openpyxl, first worksheet, values only: a formula cell gives the value Excel computed and saved,
never the formula; a text cell stays text, even one starting with ``=``; a cell holding an error
(``#DIV/0!``...) is reported; a date-time cell (Excel stores no time zone) is taken as UTC. The archive is
refused when it would unpack to more than :data:`MAX_XLSX_UNPACKED` bytes, and XML the parser refuses (an
entity expansion bomb) is bad input. The first non-empty row holds the column names.

Columns. Each column is mapped to a field (:data:`ROSTER_FIELDS`) by its name, compared without case,
accents or punctuation (``E-Mail`` is ``email``); ``mapping`` (``--map COLUMN=FIELD``) adds or overrides, and
also takes ``identifier:TYPE`` (an Open Badges identity type, such as ``identifier:nationalIdentityNumber``)
and ``ignore``. Unmapped columns are reported and left out. A name column (or given and family name
columns) is required.

Rows. Every problem of every row is reported with its row number (the header is row 1, as in a
spreadsheet), its column and its value: a field that is not what it should be, a duplicate learner (the same
learner id, student identifiers, e-mail address or, failing all of those, name as an earlier row), and
whatever the credential schema refuses in the credential made from the row, mapped back to its column.
Nothing is queued unless every row is valid, or with ``partial`` the valid ones. The e-mail address is kept
in the issuer database for delivery, never put in the credential.

Re-importing. Each learner of a course is recorded with the credential they got (and its date of issuing),
so importing the same roster again builds the same credentials and queues nothing twice; a learner issued a
credential from an earlier version of the course is reported and left alone.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
import unicodedata
import uuid
import zipfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import msgspec.json
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from anchor.credentials.model import _show
from anchor.errors import FieldProblem, InvalidInputError
from anchor.issuing import intake
from anchor.issuing.courses import Course, Learner
from anchor.issuing.email_addresses import EmailAddress, parse_email
from anchor.issuing.signing import IntakeSigner
from anchor.issuing.store import QueueOutcome, RosterEntry, Store

__all__ = [
    "MAX_ROSTER_BYTES",
    "MAX_ROSTER_ROWS",
    "ROSTER_FIELDS",
    "RosterField",
    "RosterSummary",
    "Table",
    "import_roster",
    "map_columns",
    "open_roster",
    "parse_mapping",
]

MAX_ROSTER_BYTES: Final = 64 << 20
"""Largest roster file read (64 MiB: some 400,000 rows of a typical export)."""
MAX_ROSTER_ROWS: Final = 500_000
"""Most learner rows in one roster."""
MAX_COLUMNS: Final = 200
MAX_CELL_CHARS: Final = 4000
"""Longest cell: a narrative is a paragraph, not a thesis."""
MAX_XLSX_UNPACKED: Final = 256 << 20
"""Most bytes an Excel file may unpack to (its XML), and at most a quarter of it in its shared strings."""
_MAX_XLSX_MEMBERS: Final = 2000
_SNIFF_LINES: Final = 5
_SNIFF_CHARS: Final = 2048
"""csv.Sniffer's patterns take time quadratic in their sample (3 s for 16 KiB of quotes): a few lines only."""
_DELIMITERS: Final = ",;\t"
#: One character class each (one linear scan): C0 controls, DEL, C1 controls; the second spares tab, LF, CR.
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SAMPLE_CREDENTIALS: Final = 3
"""Credentials kept in the summary of a dry run."""
_LOOKUP_CHUNK: Final = 500
"""Rows whose learners are looked up in the issuer database at once."""
_EXCEL_ERRORS: Final = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"})
_LEGACY_HINTS: Final = ("cp1252", "cp1250", "cp1253")
_RESULT_STATUSES: Final = ("Completed", "Enrolled", "Failed", "InProgress", "OnHold", "Provisional", "Withdrew")
#: Open Badges identity types a column can be mapped to with ``identifier:TYPE`` (besides ``ext:...``).
IDENTITY_TYPES: Final = (
    "sourcedId",
    "systemId",
    "productId",
    "userName",
    "accountId",
    "emailAddress",
    "nationalIdentityNumber",
    "isbn",
    "issn",
    "lisSourcedId",
    "oneRosterSourcedId",
    "sisSourcedId",
    "ltiContextId",
    "ltiDeploymentId",
    "ltiToolId",
    "ltiPlatformId",
    "ltiUserId",
    "identifier",
)
_EXT_CHARACTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
IGNORE: Final = "ignore"
IDENTIFIER_PREFIX: Final = "identifier:"


@dataclass(frozen=True)
class RosterField:
    """A field a roster column can fill: its name (for ``--map``), what it becomes, the column names it takes."""

    name: str
    doc: str
    headers: tuple[str, ...]
    """Column names mapped to it by default, as compared (:func:`_header_key`)."""


ROSTER_FIELDS: Final = (
    RosterField(
        "name",
        "the learner's full name (IdentityObject of type name)",
        ("name", "full name", "learner", "learner name", "student name"),
    ),
    RosterField(
        "given_name",
        "given name: with family_name, the name when there is no name column",
        ("given name", "first name", "forename"),
    ),
    RosterField("family_name", "family name", ("family name", "last name", "surname")),
    RosterField(
        "email",
        "where the credential is delivered (kept in the issuer database, not in the credential)",
        ("email", "e mail", "email address", "e mail address", "mail"),
    ),
    RosterField(
        "student_id",
        "the student number (IdentityObject of type sisSourcedId)",
        ("student id", "student number", "matriculation number", "sis id"),
    ),
    RosterField(
        "learner_id",
        "credentialSubject.id, a URI (DID, urn:...); default: a UUID URN",
        ("learner id", "subject id", "did"),
    ),
    RosterField(
        "grade",
        "the grade: the value of the result, of the course's first resultDescription",
        ("grade", "mark", "result"),
    ),
    RosterField("status", "the result's status (Completed, Failed...; default Completed)", ("status", "result status")),
    RosterField(
        "credits",
        "ECTS credits earned (default: the course's creditsAvailable)",
        ("credits", "ects", "credits earned", "ects earned"),
    ),
    RosterField(
        "start_date", "activityStartDate (a date or an RFC 3339 date-time)", ("start date", "activity start", "start")
    ),
    RosterField("end_date", "activityEndDate", ("end date", "activity end", "completion date", "completed", "end")),
    RosterField(
        "issued",
        "validFrom, the date of issuing (default: now, or the first import's)",
        ("issued", "issue date", "date of issue", "issued on", "valid from"),
    ),
    RosterField(
        "valid_until",
        "validUntil (default: the course's validForYears)",
        ("valid until", "expires", "expiry date", "expiration date"),
    ),
    RosterField("narrative", "credentialSubject.narrative", ("narrative",)),
    RosterField("term", "credentialSubject.term (the semester, say)", ("term", "semester")),
)
_FIELDS: Final = {item.name: item for item in ROSTER_FIELDS}
_DEFAULT_HEADERS: Final = {header: item.name for item in ROSTER_FIELDS for header in item.headers}
#: Where each field lands in a credential: a problem at that path (or under it) is the field's column's.
_FIELD_PATHS: Final = (
    ("learner_id", "/credentialSubject/id"),
    ("grade", "/credentialSubject/result/0/value"),
    ("grade", "/credentialSubject/result/0/resultDescription"),
    ("status", "/credentialSubject/result/0/status"),
    ("credits", "/credentialSubject/creditsEarned"),
    ("start_date", "/credentialSubject/activityStartDate"),
    ("end_date", "/credentialSubject/activityEndDate"),
    ("issued", "/validFrom"),
    ("valid_until", "/validUntil"),
    ("narrative", "/credentialSubject/narrative"),
    ("term", "/credentialSubject/term"),
)


# --------------------------------------------------------------------------------------------------------
# Reading files


@dataclass
class Table:
    """A roster file opened: its column names and its rows (row number as a spreadsheet shows it, cells)."""

    source: str
    kind: str
    """``CSV`` or ``Excel``."""
    detail: str
    """How it was read: the encoding and delimiter, or the worksheet."""
    headers: list[str]
    header_row: int
    rows: Iterator[tuple[int, list[object]]]


@contextmanager
def open_roster(path: str | os.PathLike[str], *, encoding: str | None = None) -> Iterator[Table]:
    """Open a CSV or Excel roster (by its content: an Excel file is a zip archive), refused by size first."""
    file = Path(path)
    try:
        size = file.stat().st_size
    except OSError as error:
        raise InvalidInputError(f"{file}: cannot read the roster: {error.strerror or error}") from error
    if not file.is_file():
        raise InvalidInputError(f"{file}: not a file")
    if size > MAX_ROSTER_BYTES:
        raise InvalidInputError(
            f"{file}: the roster is {size:,} bytes, more than the limit of {MAX_ROSTER_BYTES:,}: split it"
        )
    with file.open("rb") as stream:
        head = stream.read(8)
    if head.startswith(b"PK\x03\x04"):
        if encoding is not None:
            raise InvalidInputError(f"{file}: an Excel file has no text encoding to choose (--encoding is for CSV)")
        with _open_excel(file) as table:
            yield table
        return
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InvalidInputError(f"{file}: an old binary Excel file (.xls): save it as .xlsx or as CSV (UTF-8)")
    with file.open("rb") as stream:
        data = stream.read(MAX_ROSTER_BYTES + 1)
    yield _read_csv(str(file), data, encoding)


def _read_csv(source: str, data: bytes, encoding: str | None) -> Table:
    text, used = _decode(source, data, encoding)
    if "\x00" in text:
        raise InvalidInputError(
            f"{source}: holds NUL characters: not a CSV file (a UTF-16 file needs its byte order mark, or --encoding)"
        )
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=True)
    numbered = _csv_rows(source, reader)
    header_row, headers = _header(source, numbered)
    shown = {"\t": "tab", ",": "comma", ";": "semicolon"}[delimiter]
    return Table(source, "CSV", f"{used}, {shown}-separated", headers, header_row, numbered)


def _csv_rows(source: str, reader: Iterator[list[str]]) -> Iterator[tuple[int, list[object]]]:
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise InvalidInputError(f"{source}: row {number + 1}: not readable as CSV: {error}") from None
        number += 1
        yield number, list(cells)


def _decode(source: str, data: bytes, encoding: str | None) -> tuple[str, str]:
    """The text and the name of the encoding it was read in (see the module doc)."""
    if encoding is not None:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise InvalidInputError(f"unknown encoding {encoding!r} (try utf-8, cp1252, cp1250, cp1253)") from None
        return _decode_as(source, data, name, named=True), name
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return _decode_as(source, data, name, named=False), name.removesuffix("-sig").upper()
    return _decode_as(source, data, "utf-8", named=False), "UTF-8"


def _decode_as(source: str, data: bytes, name: str, *, named: bool) -> str:
    try:
        return data.decode(name)
    except UnicodeDecodeError as error:
        row = data.count(b"\n", 0, error.start) + 1
        line_start = data.rfind(b"\n", 0, error.start) + 1
        line_end = data.find(b"\n", error.start)
        line = data[line_start : line_end if line_end >= 0 else len(data)][:200]
        readings = "; ".join(f"as {hint}: {line.decode(hint, 'replace').strip()!r}" for hint in _LEGACY_HINTS)
        how = f"in the encoding given ({name})" if named else "as UTF-8 (no other encoding was named)"
        raise InvalidInputError(
            f"{source}: line {row}: byte 0x{data[error.start]:02x} cannot be read {how}. Save the roster as UTF-8 "
            f"(Excel: CSV UTF-8), or name its encoding with --encoding. The line reads {readings}"
        ) from None


def _sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: what csv.Sniffer finds in the first lines, else what the header line holds most."""
    lines = text[: _SNIFF_CHARS * 2].splitlines()[:_SNIFF_LINES]
    sample = "\n".join(lines)[:_SNIFF_CHARS]
    header = lines[0] if lines else ""
    try:
        found = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        found = ""
    if found and found in header:
        return found
    counts = {delimiter: header.count(delimiter) for delimiter in _DELIMITERS}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


@contextmanager
def _open_excel(file: Path) -> Iterator[Table]:
    source = str(file)
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise InvalidInputError(f"{source}: not a readable Excel file: {error}") from None
    if len(members) > _MAX_XLSX_MEMBERS:
        raise InvalidInputError(f"{source}: an archive of {len(members)} files is not an Excel roster")
    unpacked = sum(member.file_size for member in members)
    strings = sum(member.file_size for member in members if member.filename.lower().endswith("sharedstrings.xml"))
    if unpacked > MAX_XLSX_UNPACKED or strings > MAX_XLSX_UNPACKED // 4:
        raise InvalidInputError(
            f"{source}: the Excel file unpacks to {unpacked:,} bytes, more than the limit of {MAX_XLSX_UNPACKED:,}"
        )
    import openpyxl  # only for Excel rosters
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(file, read_only=True, data_only=True, keep_links=False)
    except (InvalidFileException, zipfile.BadZipFile, SyntaxError, KeyError, ValueError, TypeError, OSError) as error:
        raise InvalidInputError(f"{source}: not a readable Excel workbook: {error}") from None
    try:
        if not workbook.worksheets:
            raise InvalidInputError(f"{source}: the workbook has no worksheet")
        sheet = workbook.worksheets[0]
        rows = _excel_rows(source, sheet.iter_rows())
        header_row, headers = _header(source, rows)
        yield Table(source, "Excel", f"worksheet {sheet.title!r}", headers, header_row, rows)
    finally:
        workbook.close()


def _excel_rows(source: str, rows: Iterator[Sequence[Any]]) -> Iterator[tuple[int, list[object]]]:
    """The rows of a worksheet, numbered; XML the parser refuses (an entity bomb, a broken file) is bad input.

    XML parse errors (the standard library's and lxml's) are subclasses of ``SyntaxError``.
    """
    number = 0
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except (SyntaxError, ValueError, KeyError, TypeError, zipfile.BadZipFile, OSError) as error:
            raise InvalidInputError(f"{source}: row {number + 1}: not a readable Excel worksheet: {error}") from None
        number += 1
        if len(row) > MAX_COLUMNS:
            if any(cell.value is not None for cell in row[MAX_COLUMNS:]):
                raise InvalidInputError(f"{source}: row {number} has values beyond column {MAX_COLUMNS}")
            row = row[:MAX_COLUMNS]
        yield number, [_ExcelError(str(cell.value)) if cell.data_type == "e" else cell.value for cell in row]


@dataclass(frozen=True, slots=True)
class _ExcelError:
    """A cell holding an error (``#DIV/0!``): a formula that failed."""

    code: str


def _header(source: str, rows: Iterator[tuple[int, list[object]]]) -> tuple[int, list[str]]:
    """The first non-empty row: the column names (trailing empty ones dropped); refused when unusable."""
    for number, cells in rows:
        try:
            texts = [_cell_text(cell) or "" for cell in cells]
        except _CellError as error:
            raise InvalidInputError(f"{source}: row {number} (the header): {error}") from None
        while texts and not texts[-1]:
            texts.pop()
        if not texts:
            continue
        if len(texts) > MAX_COLUMNS:
            raise InvalidInputError(
                f"{source}: row {number} (the header) has {len(texts)} columns, more than {MAX_COLUMNS}"
            )
        problems = []
        seen: dict[str, int] = {}
        for position, name in enumerate(texts, start=1):
            if not name:
                problems.append(f"column {position} has no name")
            elif _has_control(name, single_line=True):
                problems.append(f"column {position}: {_show(name)} holds a control character")
            elif name in seen:
                problems.append(f"column {position}: {_show(name)} is also column {seen[name]}")
            else:
                seen[name] = position
        if problems:
            raise InvalidInputError(f"{source}: row {number} (the header): " + "; ".join(problems))
        return number, texts
    raise InvalidInputError(f"{source}: the roster is empty (no header row)")


# --------------------------------------------------------------------------------------------------------
# Columns


@dataclass(frozen=True)
class ColumnMap:
    """Which column fills which field: ``fields`` by name, ``identifiers`` as (identity type, column) in order."""

    fields: dict[str, int]
    identifiers: tuple[tuple[str, int], ...]
    unused: tuple[str, ...]
    headers: tuple[str, ...]

    def header(self, name: str) -> str | None:
        """The column name of a field (None if no column fills it)."""
        position = self.fields.get(name)
        return None if position is None else self.headers[position]

    @cached_property
    def steps(self) -> tuple[tuple[_Step, ...], tuple[_Step, ...], tuple[_Step, ...]]:
        """How a row is read (:func:`_parse_row`), in the order its problems are reported: the name's fields,
        the e-mail address's, the others' (only the fields a column fills)."""

        def steps(names: Sequence[str]) -> tuple[_Step, ...]:
            return tuple((name, self.fields[name], _CONVERTERS[name]) for name in names if name in self.fields)

        names = ("name",) if "name" in self.fields else ("given_name", "family_name")
        rest = (
            "learner_id",
            "grade",
            "status",
            "credits",
            "start_date",
            "end_date",
            "valid_until",
            "narrative",
            "term",
        )
        return steps(names), steps(("email",)), steps((*rest, "issued"))


def parse_mapping(items: Sequence[str]) -> dict[str, str]:
    """``COLUMN=FIELD`` items (``--map``) as a dict; every bad item reported at once."""
    mapping: dict[str, str] = {}
    problems = []
    for item in items:
        column, equals, target = item.rpartition("=")
        column, target = column.strip(), target.strip()
        if not equals or not column:
            problems.append(f"{item!r} is not COLUMN=FIELD")
            continue
        reason = _target_problem(target)
        if reason:
            problems.append(f"{item!r}: {reason}")
        elif column in mapping:
            problems.append(f"{item!r}: column {column!r} is mapped twice")
        else:
            mapping[column] = target
    if problems:
        raise InvalidInputError("--map: " + "; ".join(problems))
    return mapping


def _target_problem(target: str) -> str | None:
    if target in _FIELDS or target == IGNORE:
        return None
    if target.startswith(IDENTIFIER_PREFIX):
        kind = target[len(IDENTIFIER_PREFIX) :]
        if kind in IDENTITY_TYPES:
            return None
        if kind.startswith("ext:") and len(kind) > 4 and set(kind[4:]) <= _EXT_CHARACTERS and len(kind) <= 256:
            return None
        return f"{kind!r} is not an Open Badges identity type ({', '.join(IDENTITY_TYPES)}, or ext:NAME)"
    return f"{target!r} is not a roster field ({', '.join(_FIELDS)}, identifier:TYPE or {IGNORE})"


def _header_key(name: str) -> str:
    """A column name as compared: no case, accents or punctuation; blanks collapsed (``E-Mail`` -> ``e mail``)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    letters = "".join(
        " " if not (character.isalnum() or unicodedata.combining(character)) else character
        for character in decomposed
        if not unicodedata.combining(character)
    )
    return " ".join(letters.split())


def map_columns(source: str, headers: Sequence[str], mapping: Mapping[str, str]) -> ColumnMap:
    """Map each column to a field (``mapping`` first, by exact or compared name; then the defaults)."""
    by_key: dict[str, int] = {}
    for position, header in enumerate(headers):
        by_key.setdefault(_header_key(header), position)
    targets: dict[int, str] = {}
    problems = []
    for column, target in mapping.items():
        found = headers.index(column) if column in headers else by_key.get(_header_key(column))
        if found is None:
            problems.append(f"--map {column}={target}: the roster has no column {column!r}")
        else:
            targets[found] = target
    for position, header in enumerate(headers):
        if position not in targets and _header_key(header) in _DEFAULT_HEADERS:
            targets[position] = _DEFAULT_HEADERS[_header_key(header)]
    fields: dict[str, int] = {}
    identifiers: list[tuple[str, int]] = []
    for position, target in sorted(targets.items()):
        name = "identifier:sisSourcedId" if target == "student_id" else target
        if name == IGNORE:
            continue
        if name.startswith(IDENTIFIER_PREFIX):
            kind = name[len(IDENTIFIER_PREFIX) :]
            clash = next((headers[other] for known, other in identifiers if known == kind), None)
            if clash is not None:
                problems.append(f"columns {clash!r} and {headers[position]!r} are both the identifier {kind!r}")
            identifiers.append((kind, position))
            continue
        if name in fields:
            problems.append(f"columns {headers[fields[name]]!r} and {headers[position]!r} are both the field {name!r}")
            continue
        fields[name] = position
    if "name" not in fields and not {"given_name", "family_name"} <= fields.keys():
        problems.append(
            "no column for the learner's name: name a column 'name' (or 'given name' and 'family name'), "
            "or map one with --map COLUMN=name"
        )
    if problems:
        listed = ", ".join(repr(header) for header in headers)
        raise InvalidInputError(f"{source}: " + "; ".join(problems) + f" (columns: {listed})")
    unused = tuple(header for position, header in enumerate(headers) if position not in targets)
    return ColumnMap(fields, tuple(identifiers), unused, tuple(headers))


# --------------------------------------------------------------------------------------------------------
# Rows


class _CellError(Exception):
    """A cell's value is not what its field takes (the message says why)."""


@dataclass(frozen=True, slots=True)
class _Row:
    """A checked roster row."""

    number: int
    learner: Learner
    email: EmailAddress | None
    issued: str | None
    key: str
    """SHA-256 (0x-hex) of what tells the learner apart."""
    key_columns: tuple[str, ...]


def _has_control(text: str, *, single_line: bool) -> bool:
    """Whether ``text`` holds a C0 or C1 control or DEL (line breaks and tabs allowed unless ``single_line``)."""
    return (_CONTROL if single_line else _CONTROL_BUT_LINES).search(text) is not None


def _cell_text(value: object) -> str | None:
    """A cell's value as text (None when empty): numbers as written, dates in ISO form."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    elif isinstance(value, datetime | date | time):
        text = value.isoformat()
    elif isinstance(value, _ExcelError):
        raise _CellError(f"the cell holds the error {value.code} (a formula that failed in Excel)")
    else:
        text = str(value).strip()
    return unicodedata.normalize("NFC", text) or None


def _text_value(value: object, name: str) -> str | None:
    text = _cell_text(value)
    if text is None:
        return None
    if len(text) > MAX_CELL_CHARS:
        raise _CellError(f"{len(text)} characters, more than {MAX_CELL_CHARS}")
    if _has_control(text, single_line=name != "narrative"):
        raise _CellError("holds a control character (a line break, tab or other invisible character)")
    return text


def _date_value(value: object) -> str:
    """A date or date-time cell as an RFC 3339 date-time (a date alone is midnight UTC)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return _rfc3339(moment)
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"
    text = _cell_text(value) or ""
    if len(text) == 10 and text[2] == "." and text[5] == ".":  # DD.MM.YYYY, the European way
        text = f"{text[6:]}-{text[3:5]}-{text[:2]}"
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return f"{date.fromisoformat(text).isoformat()}T00:00:00Z"
        except ValueError:
            raise _CellError("not a real date") from None
    if "T" in text or " " in text:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _CellError("not a date (YYYY-MM-DD or DD.MM.YYYY) or date-time (2025-06-27T16:00:00+02:00)") from None
        if moment.tzinfo is None:
            raise _CellError("a date-time needs its time zone (2025-06-27T16:00:00+02:00), or give the date alone")
        return _rfc3339(moment)
    raise _CellError("not a date (YYYY-MM-DD or DD.MM.YYYY) or date-time (2025-06-27T16:00:00+02:00)")


def _rfc3339(moment: datetime) -> str:
    text = moment.isoformat(timespec="seconds" if not moment.microsecond else "microseconds")
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def _credits_value(value: object) -> float | int:
    if isinstance(value, bool):
        raise _CellError("not a number of credits")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _cell_text(value) or ""
        if "," in text and "." not in text:  # a decimal comma: 7,5
            text = text.replace(",", ".")
        if not (text.isascii() and text.count(".") <= 1 and text.replace(".", "", 1).isdigit()):
            raise _CellError("not a number of ECTS credits (such as 5 or 7.5)")
        number = float(text)
    if not 0 < number <= 60:  # NaN fails too
        raise _CellError("not a number of ECTS credits above 0 and at most 60")
    return int(number) if number.is_integer() else number


def _status_value(value: object) -> str:
    text = _cell_text(value) or ""
    compared = text.casefold().replace(" ", "").replace("-", "").replace("_", "")
    for status in _RESULT_STATUSES:
        if status.casefold() == compared:
            return status
    raise _CellError(f"not a result status ({', '.join(_RESULT_STATUSES)})")


def _uri_value(value: object) -> str:
    text = _cell_text(value) or ""
    scheme, colon, rest = text.partition(":")
    ok = (
        colon
        and rest
        and scheme[:1].isascii()
        and scheme[:1].isalpha()
        and all(c.isascii() and (c.isalnum() or c in "+.-") for c in scheme)
        and not any(c.isspace() for c in rest)
        and len(text) <= 2048
    )
    if not ok:
        raise _CellError("not a URI (a DID such as did:key:z6Mk..., or urn:..., https://...)")
    return text


def _email_value(value: object) -> EmailAddress:
    return parse_email(_cell_text(value) or "")


_Step = tuple[str, int, Callable[[object], Any] | None]
"""A field a column fills: its name, the column's position, what makes its value of the cell (None: the text)."""
_CONVERTERS: Final[dict[str, Callable[[object], Any] | None]] = {
    "name": None,
    "given_name": None,
    "family_name": None,
    "email": _email_value,
    "learner_id": _uri_value,
    "grade": None,
    "status": _status_value,
    "credits": _credits_value,
    "start_date": _date_value,
    "end_date": _date_value,
    "valid_until": _date_value,
    "narrative": None,
    "term": None,
    "issued": _date_value,
}


def _read_fields(
    steps: tuple[_Step, ...],
    cells: Sequence[object],
    headers: tuple[str, ...],
    values: dict[str, Any],
    problems: list[FieldProblem],
) -> None:
    """Each step's field of the row into ``values`` (an empty cell leaves it out), or its problem (naming the
    column and the value)."""
    size = len(cells)
    for name, position, convert in steps:
        raw = cells[position] if position < size else None
        try:
            text = _text_value(raw, name)
            if text is not None:
                values[name] = text if convert is None else convert(raw)
        except (_CellError, InvalidInputError) as error:
            problems.append(FieldProblem(f"column {headers[position]!r}", f"{_show(_shown_cell(raw))}: {error}"))


def _parse_row(number: int, cells: Sequence[object], columns: ColumnMap) -> tuple[_Row | None, list[FieldProblem]]:
    """A row checked field by field: the row, or the problems of its cells (each naming column and value)."""
    problems: list[FieldProblem] = []
    headers = columns.headers
    if len(cells) > len(headers) and any(
        _cell_text(cell) if not isinstance(cell, _ExcelError) else True for cell in cells[len(headers) :]
    ):
        problems.append(
            FieldProblem(f"column {len(headers) + 1}", f"the row has {len(cells)} cells, the header {len(headers)}")
        )
    names, email_steps, rest = columns.steps
    values: dict[str, Any] = {}
    before = len(problems)
    _read_fields(names, cells, headers, values, problems)
    name = values.get("name")
    if "name" not in columns.fields:
        parts = [values.get("given_name"), values.get("family_name")]
        name = " ".join(part for part in parts if part) or None
    if name is None and len(problems) == before:
        where = columns.header("name") or f"{columns.header('given_name')}' and '{columns.header('family_name')}"
        problems.append(FieldProblem(f"column {where!r}", "empty: every learner needs a name"))
    _read_fields(email_steps, cells, headers, values, problems)
    identifiers = []
    for kind, position in columns.identifiers:
        raw = cells[position] if position < len(cells) else None
        try:
            text = _text_value(raw, "identifier")
        except _CellError as error:
            problems.append(FieldProblem(f"column {headers[position]!r}", f"{_show(_shown_cell(raw))}: {error}"))
            continue
        if text is not None:
            identifiers.append((kind, text))
    _read_fields(rest, cells, headers, values, problems)
    if problems or name is None:
        return None, problems
    get = values.get
    learner = Learner(
        name,
        tuple(identifiers),
        get("learner_id"),
        get("grade"),
        get("status"),
        get("credits"),
        get("start_date"),
        get("end_date"),
        get("valid_until"),
        get("narrative"),
        get("term"),
    )
    email = get("email")
    key, key_columns = _learner_key(learner, email, columns)
    return _Row(number, learner, email, get("issued"), key, key_columns), []


def _shown_cell(raw: object) -> object:
    if isinstance(raw, _ExcelError):
        return raw.code
    if isinstance(raw, datetime | date | time):
        return raw.isoformat()
    return raw


def _learner_key(learner: Learner, email: EmailAddress | None, columns: ColumnMap) -> tuple[str, tuple[str, ...]]:
    """What tells learners apart, first that a row has: learner id, identifiers, e-mail address, name."""
    used: tuple[str, ...]
    if learner.subject_id is not None:
        text, used = f"id\0{learner.subject_id}", (columns.header("learner_id") or "",)
    elif learner.identifiers:
        text = "ids\0" + "\0".join(f"{kind}\0{value}" for kind, value in sorted(learner.identifiers))
        present = {kind for kind, _ in learner.identifiers}
        used = tuple(columns.headers[position] for kind, position in columns.identifiers if kind in present)
    elif email is not None:
        text, used = f"email\0{email.ascii.casefold()}", (columns.header("email") or "",)
    else:
        text = "name\0" + " ".join(learner.name.casefold().split())
        used = (columns.header("name") or f"{columns.header('given_name')}, {columns.header('family_name')}",)
    return "0x" + hashlib.sha256(text.encode("utf-8")).hexdigest(), used


# --------------------------------------------------------------------------------------------------------
# Import


@dataclass
class RosterSummary:
    """What one roster import did (or, in a dry run, would do)."""

    source: str
    kind: str = ""
    detail: str = ""
    rows: int = 0
    """Learner rows read (blank rows are skipped)."""
    refused_rows: int = 0
    """Rows refused before a credential was made (a field, a duplicate learner)."""
    issued_earlier: int = 0
    """Learners already issued a credential from another version of the course: left alone."""
    new_learners: int = 0
    """Learners not issued a credential of this course before."""
    with_email: int = 0
    unused_columns: tuple[str, ...] = ()
    intake: intake.IntakeSummary = field(default_factory=intake.IntakeSummary)
    dry_run: bool = False
    samples: list[dict[str, Any]] = field(default_factory=list)
    """The first credentials made (before intake salts and signs them)."""

    @property
    def refused(self) -> int:
        """Rows refused, here or by intake."""
        return self.refused_rows + self.intake.refused

    @property
    def committed(self) -> bool:
        """Whether anything was queued or recorded."""
        return self.intake.committed


def import_roster(
    store: Store,
    course: Course,
    path: str | os.PathLike[str],
    *,
    mapping: Mapping[str, str] | None = None,
    partial: bool = False,
    dry_run: bool = False,
    encoding: str | None = None,
    workers: int | None = None,
    now: datetime | None = None,
    on_rejected: Callable[[intake.Rejected], None] | None = None,
    on_duplicate: Callable[[str, QueueOutcome], None] | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
    on_issued_earlier: Callable[[str, RosterEntry], None] | None = None,
    signer: IntakeSigner | None = None,
    status_entries: intake.StatusEntries | None = None,
) -> RosterSummary:
    """Read a roster, make one credential per row from ``course``, and queue them through intake (module doc).

    ``on_rejected`` hears of every refused row (its source is ``FILE: row N``; its problems name columns),
    ``on_duplicate`` of every credential already queued or anchored, ``on_issued_earlier`` of every learner
    issued a credential from another version of the course. ``now`` is the date of issuing of new
    learners without an ``issued`` column (default: now). ``signer`` and ``status_entries`` are passed to
    :func:`anchor.issuing.intake.issue_credentials` (status entries only when the run can queue: not in a dry
    run, nor when rows were refused without ``partial``).
    """
    summary = RosterSummary(str(path), dry_run=dry_run)
    issued_now = _rfc3339((now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0))
    issuer = course.template["issuer"].get("id")
    if signer is not None and signer.did != issuer:
        raise InvalidInputError(
            f"course {course.course_id} version {course.version}: /issuer/id {_show(issuer)} is not the DID "
            f"this issuer signs with ({signer.did}): save a version of the course with it"
        )

    def reject(rejected: intake.Rejected) -> None:
        if on_rejected is not None:
            on_rejected(rejected)

    with open_roster(path, encoding=encoding) as table:
        source = table.source
        summary.kind, summary.detail = table.kind, table.detail
        columns = map_columns(source, table.headers, mapping or {})
        summary.unused_columns = columns.unused
        if "grade" in columns.fields and course.grade_description is None:
            raise InvalidInputError(
                f"{source}: column {columns.header('grade')!r} holds grades, but course {course.course_id} "
                "has no achievement.resultDescription to say what they mean: add one to the course"
            )
        listed = _listed_rows(table, summary)
    checked = _checked_rows(source, listed, columns, summary, reject)
    current: list[tuple[_Row, RosterEntry]] = []
    by_number: dict[int, tuple[_Row, RosterEntry]] = {}
    entry_of: dict[str, RosterEntry] = {}  # by credential id

    def learners() -> Iterator[tuple[_Row, RosterEntry]]:
        """Each good row with its learner's entry (the recorded ones looked up a chunk of rows at a time)."""
        for chunk in intake._chunks(checked, _LOOKUP_CHUNK):
            known = store.roster_entries(course.course_id, (row.key for row in chunk))
            for row in chunk:
                entry = known.get(row.key)
                if entry is not None and entry.course_version != course.version:
                    summary.issued_earlier += 1
                    if on_issued_earlier is not None:
                        on_issued_earlier(f"{source}: row {row.number}", entry)
                    continue
                email = None if row.email is None else row.email.text
                summary.with_email += email is not None
                if entry is None:
                    summary.new_learners += 1
                    entry = RosterEntry(
                        f"urn:uuid:{uuid.uuid4()}",
                        course.course_id,
                        course.version,
                        row.key,
                        email,
                        row.issued or issued_now,
                    )
                elif entry.email != email:
                    entry = replace(entry, email=email)
                current.append((row, entry))
                by_number[row.number] = (row, entry)
                entry_of[entry.credential_id] = entry
                yield row, entry

    # Rows are checked as intake takes them, while its workers prepare the ones before (and the queue's
    # transaction takes those): a refused row stops the queueing (``refused``), and the verdict, once every
    # row is in, rolls it back unless ``partial``. A dry run, a run that reserves status entries (only when it
    # can queue) and an in-memory database (one connection: the look-ups cannot run beside the queue's
    # transaction) check every row first.
    pairs: Iterator[tuple[_Row, RosterEntry]] = learners()
    total = len(listed)
    progress = on_progress
    if dry_run or status_entries is not None or isinstance(store.engine.pool, SingletonThreadPool | StaticPool):
        pairs = iter(list(pairs))
        total = len(current)
    elif on_progress is not None:  # every row counts: those refused or issued earlier never reach intake

        def progress(done: int, of: int | None) -> None:
            on_progress(done + summary.refused_rows + summary.issued_earlier, of)

    build = _CourseCredential(course)

    def credentials() -> Iterator[tuple[str, _Payload]]:
        """Each row's payload: intake makes its credential where it prepares it (in parallel, for many rows)."""
        for row, entry in pairs:
            payload = (row.learner, entry.credential_id, row.issued or entry.valid_from)
            if len(summary.samples) < SAMPLE_CREDENTIALS:
                summary.samples.append(build.credential(payload))
            yield f"{source}: row {row.number}", payload

    def rejected_by_intake(rejected: intake.Rejected) -> None:
        number = int(rejected.source.rsplit(" ", 1)[1])
        row, _ = by_number[number]
        reject(_with_columns(rejected, row, columns))

    queue = not (dry_run or (summary.refused_rows and not partial))
    summary.intake = intake.issue_credentials(
        store,
        credentials(),
        total=total,
        partial=partial,
        workers=workers,
        on_rejected=rejected_by_intake,
        on_duplicate=on_duplicate,
        on_progress=progress,
        before_queue=None if queue else lambda: False,
        signer=signer,
        # Entries are reserved for good as intake takes them: none for a run that will queue nothing anyway.
        status_entries=status_entries if queue else None,
        # The learners recorded with their credentials, in the queue's transaction (those refused by intake
        # never reach it).
        roster_entries=lambda ids: [entry_of[credential_id] for credential_id in ids],
        build=build,
        refused=lambda: summary.refused_rows,
    )
    return summary


_Payload = tuple[Learner, str, str]
"""What a roster row's credential is made of: the learner, the credential id, the date of issuing."""


@dataclass(frozen=True)
class _CourseCredential:
    """A course's credential for a row's :data:`_Payload`, as intake takes it (a :data:`intake.Build`: it
    pickles, and runs in intake's worker processes)."""

    course: Course

    def credential(self, payload: _Payload) -> dict[str, Any]:
        learner, credential_id, valid_from = payload
        return self.course.credential(learner, credential_id=credential_id, valid_from=valid_from)

    def __call__(self, payload: _Payload) -> Mapping[str, Any] | bytes:
        return _credential_text(self.credential(payload))


def _credential_text(credential: dict[str, Any]) -> Mapping[str, Any] | bytes:
    """A roster's credential as JSON text for intake, written once here by msgspec's C encoder (intake's
    workers parse it as they parse a file), or the credential itself when intake must write it.

    msgspec writes NaN and the infinities as ``null`` where ``json`` refuses them (a roster credential holds
    none: its course template was parsed strictly, a row's credits are a number above 0 and at most 60), so a
    text with ``null`` anywhere goes to intake's own writer, which refuses them. So does a lone surrogate
    (which msgspec refuses to write): intake writes it escaped, and parsing refuses it, naming it.
    """
    try:
        text = msgspec.json.encode(credential)
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        return credential
    return credential if b"null" in text else text


def _listed_rows(table: Table, summary: RosterSummary) -> deque[tuple[int, list[object]]]:
    """The learner rows of the file (blank ones skipped), counted and refused beyond :data:`MAX_ROSTER_ROWS`."""
    listed: deque[tuple[int, list[object]]] = deque()
    for number, cells in table.rows:
        if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
            continue
        summary.rows += 1
        if summary.rows > MAX_ROSTER_ROWS:
            raise InvalidInputError(f"{table.source}: more than {MAX_ROSTER_ROWS:,} learner rows: split the roster")
        listed.append((number, cells))
    return listed


def _checked_rows(
    source: str,
    listed: deque[tuple[int, list[object]]],
    columns: ColumnMap,
    summary: RosterSummary,
    reject: Callable[[intake.Rejected], None],
) -> Iterator[_Row]:
    """Every row checked (problems reported as found, each refused row counted in ``summary``), duplicate
    learners refused: the good rows, as they are checked (each taken off ``listed``)."""
    first_of: dict[str, int] = {}
    while listed:
        number, cells = listed.popleft()
        row, problems = _parse_row(number, cells, columns)
        count = len(problems)
        message = f"{count} problem{'s' if count != 1 else ''}"
        if row is not None and row.key in first_of:
            message = "duplicate learner"
            where = " and ".join(repr(column) for column in row.key_columns)
            problems = [
                FieldProblem(
                    f"column {where}" if len(row.key_columns) == 1 else f"columns {where}",
                    f"the same learner as row {first_of[row.key]}"
                    + (
                        " (tell learners of the same name apart with a student id column)"
                        if row.key_columns == (columns.header("name"),)
                        else ""
                    ),
                )
            ]
            row = None
        if row is None:
            summary.refused_rows += 1
            reject(intake.Rejected(f"{source}: row {number}", message, tuple(problems)))
            continue
        first_of[row.key] = number
        yield row


def _with_columns(rejected: intake.Rejected, row: _Row, columns: ColumnMap) -> intake.Rejected:
    """A credential's problems as its roster row's: each path named by the column it came from."""
    paths: list[tuple[str, str]] = [
        (path, header) for name, path in _FIELD_PATHS if (header := columns.header(name)) is not None
    ]
    name_column = columns.header("name") or f"{columns.header('given_name')}, {columns.header('family_name')}"
    paths.append(("/credentialSubject/identifier/0", name_column))
    present = {kind for kind, _ in row.learner.identifiers}
    listed = [columns.headers[position] for kind, position in columns.identifiers if kind in present]
    paths += [(f"/credentialSubject/identifier/{index}", header) for index, header in enumerate(listed, start=1)]
    problems = []
    for problem in rejected.problems:
        header = next(
            (header for path, header in paths if problem.path == path or problem.path.startswith(path + "/")), None
        )
        location = problem.path if header is None else f"column {header!r} ({problem.path})"
        problems.append(FieldProblem(location, problem.message))
    return intake.Rejected(rejected.source, rejected.message, tuple(problems))
