"""Course templates and rosters for the tests of courses, rosters and delivery (no tests here)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from anchor.credentials.examples import generate_credentials, issuer_for_country


def course_template(country: str = "DE", seed: int = 0, **extra: Any) -> dict[str, Any]:
    """A valid course template: the issuer and achievement of a generated credential of that country."""
    credential = next(iter(generate_credentials(1, seed=seed, issuer=issuer_for_country(country), salted=False)))
    template: dict[str, Any] = {
        "issuer": credential["issuer"],
        "achievement": credential["credentialSubject"]["achievement"],
    }
    return json.loads(json.dumps({**template, **extra}))


def allowed_grades(template: dict[str, Any]) -> list[str]:
    """Grades the template's first result description takes: its allowed values, or its bounds."""
    description = template["achievement"]["resultDescription"][0]
    return list(description.get("allowedValue") or [description["valueMax"], description["valueMin"]])


def write_csv(
    path: Path, rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8", bom: bool = False
) -> Path:
    """Write rows as CSV (quoted as needed) in an encoding, optionally with the encoding's byte order mark."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = buffer.getvalue().encode(encoding)
    if bom:
        data = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[encoding] + data
    path.write_bytes(data)
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    """Write rows to the first worksheet of a new workbook (openpyxl; strings starting with '=' are formulas)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def patch_sheet(path: Path, replacements: dict[str, str]) -> Path:
    """Replace text in the first worksheet's XML (what Excel itself would have written: cached values...)."""
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    sheet = members["xl/worksheets/sheet1.xml"].decode("utf-8")
    for old, new in replacements.items():
        assert old in sheet, f"{old!r} is not in the worksheet: {sheet[:2000]}"
        sheet = sheet.replace(old, new)
    members["xl/worksheets/sheet1.xml"] = sheet.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path
