"""Writing files so that a crash never leaves a half-written one behind."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json_atomically(path: Path, document: Any, *, ensure_ascii: bool = False) -> None:
    """Write ``document`` as indented JSON to ``path`` through a temporary file and an atomic rename."""
    temporary = path.with_suffix(".tmp")
    text = json.dumps(document, ensure_ascii=ensure_ascii, indent=2) + "\n"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
