"""1EdTech's Open Badges 3.0 AchievementCredential JSON schema, as a validator for tests.

The schema is a verbatim copy (``tests/vectors/ob-3.0/achievementcredential.json``; its README names the
repository, path and commit). It is JSON Schema 2019-09 and uses the formats ``date-time`` and ``date``:
:func:`validate_ob_achievement_credential` checks them, and refuses to run if ``jsonschema`` cannot (it
checks ``date-time`` only when ``rfc3339-validator`` is installed; a missing checker would pass any string).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft201909Validator, FormatChecker

__all__ = ["SCHEMA_PATH", "validate_ob_achievement_credential"]

SCHEMA_PATH: Final = Path(__file__).resolve().parents[1] / "vectors" / "ob-3.0" / "achievementcredential.json"
#: Formats the schema uses; each must have a working checker.
_FORMATS: Final = ("date-time", "date")
_MAX_SHOWN = 80


@cache
def _validator() -> Draft201909Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft201909Validator.check_schema(schema)
    checker: FormatChecker = Draft201909Validator.FORMAT_CHECKER
    unchecked = [name for name in _FORMATS if name not in checker.checkers]
    if unchecked:
        raise RuntimeError(
            f"jsonschema cannot check the format(s) {unchecked} the OB 3.0 schema uses: "
            "install the dev extras (rfc3339-validator)"
        )
    return Draft201909Validator(schema, format_checker=checker)


def validate_ob_achievement_credential(document: Mapping[str, Any]) -> list[str]:
    """Every way ``document`` fails 1EdTech's OB 3.0 AchievementCredential schema; empty when it passes.

    Each entry is ``"<JSON path>: <reason>"`` (a long value shortened), e.g.
    ``"$.proof: {'type': 'AnchorMerkleProof', …} is not of type 'array'"``.
    """
    errors = sorted(_validator().iter_errors(document), key=lambda error: (error.json_path, error.message))
    problems = []
    for error in errors:
        message = error.message
        shown = repr(error.instance)
        if len(shown) > _MAX_SHOWN:
            message = message.replace(shown, shown[: _MAX_SHOWN - 1] + "…")
        problems.append(f"{error.json_path}: {message}")
    return problems
