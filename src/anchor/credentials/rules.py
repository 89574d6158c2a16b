"""The rules of a credential that JSON Schema cannot express.

Dates are real and in order (``validUntil`` after ``validFrom``, the activity's end not before its start),
the issuer's country is an assigned ISO 3166-1 alpha-2 code, the workload fits the ECTS credits, no more
credits are earned than available (and none without ECTS credits available: a workload in hours alone has no
ECTS to earn), each grade refers to a result description and is one of its allowed values, and a
``BitstringStatusListEntry``'s ``id`` is its list's URL, ``#`` and its index (as
:func:`anchor.credentials.status_list.parse_status_entry` requires), and a stack names its parts as
:mod:`anchor.credentials.related` says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from anchor.credentials.model import Credential, _pointer, _show, _to_datetime, lookup
from anchor.credentials.related import stack_problems
from anchor.credentials.status_list import ENTRY_TYPE, StatusListError, parse_status_entry
from anchor.errors import FieldProblem

_DATE_POINTERS: Final = (
    ("validFrom",),
    ("validUntil",),
    ("awardedDate",),
    ("credentialSubject", "activityStartDate"),
    ("credentialSubject", "activityEndDate"),
)

# ISO 3166-1 alpha-2, all 249 officially assigned codes (as in tzdata's iso3166.tab), plus XK for Kosovo,
# the user-assigned code the European Commission uses.
_ISO_3166_TEXT: Final = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    XK
"""
_ISO_3166_ALPHA2: Final = frozenset(_ISO_3166_TEXT.split())
_COUNTRY_HINTS: Final = {
    "EL": "Greece is GR in ISO 3166-1; EL is the EU's own abbreviation",
    "UK": "the United Kingdom is GB in ISO 3166-1",
}
#: Allowed values listed in a problem (a description may allow thousands).
_SHOWN_VALUES: Final = 20
# 1 ECTS credit is 25-30 hours of work (ECTS Users' Guide 2015); allow a margin either side.
_HOURS_PER_ECTS: Final = (20.0, 36.0)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _semantic_problems(credential: Credential) -> list[FieldProblem]:
    """The rules the schema cannot express; values of the wrong shape are left to the schema's report."""
    problems: list[FieldProblem] = []
    dates: dict[tuple[str, ...], datetime] = {}
    for path in _DATE_POINTERS:
        text = lookup(credential, path)
        if isinstance(text, str):
            try:
                moment = _to_datetime(text)
            except ValueError as error:
                problems.append(FieldProblem(_pointer(path), f"{_show(text)} is not a real date-time: {error}"))
                continue
            if moment is not None:
                dates[path] = moment
    start, end = dates.get(("validFrom",)), dates.get(("validUntil",))
    if start is not None and end is not None and end <= start:
        problems.append(FieldProblem("/validUntil", f"{end.isoformat()} is not after validFrom {start.isoformat()}"))
    start = dates.get(("credentialSubject", "activityStartDate"))
    end = dates.get(("credentialSubject", "activityEndDate"))
    if start is not None and end is not None and end < start:
        problems.append(
            FieldProblem(
                "/credentialSubject/activityEndDate",
                f"{end.isoformat()} is before activityStartDate {start.isoformat()}",
            )
        )

    country_path = ("issuer", "address", "addressCountryCode")
    country = lookup(credential, country_path)
    if isinstance(country, str) and re.fullmatch(r"[A-Z]{2}", country) and country not in _ISO_3166_ALPHA2:
        hint = _COUNTRY_HINTS.get(country, "no such code is assigned")
        problems.append(
            FieldProblem(_pointer(country_path), f"{_show(country)} is not an ISO 3166-1 alpha-2 code ({hint})")
        )

    achievement_path: tuple[str, ...] = ("credentialSubject", "achievement")
    ects = lookup(credential, (*achievement_path, "creditsAvailable"))
    hours = lookup(credential, (*achievement_path, "euMicroCredential", "workloadHours"))
    if _is_number(ects) and _is_number(hours) and ects > 0 and hours > 0:
        low, high = _HOURS_PER_ECTS[0] * ects, _HOURS_PER_ECTS[1] * ects
        if not low <= hours <= high:
            problems.append(
                FieldProblem(
                    _pointer((*achievement_path, "euMicroCredential", "workloadHours")),
                    f"{hours} hours does not fit {ects} ECTS"
                    f" (1 ECTS is 25-30 hours of work; expected {low:g}-{high:g})",
                )
            )
    earned = lookup(credential, ("credentialSubject", "creditsEarned"))
    if _is_number(ects) and _is_number(earned) and earned > ects:
        problems.append(
            FieldProblem("/credentialSubject/creditsEarned", f"{earned} is more than the {ects} ECTS available")
        )
    elif ects is None and _is_number(earned):
        problems.append(
            FieldProblem(
                "/credentialSubject/creditsEarned",
                f"{earned} ECTS earned, but the achievement has no creditsAvailable (its workload is in hours alone)",
            )
        )

    problems.extend(_status_entry_problems(credential.get("credentialStatus")))
    problems.extend(stack_problems(credential))

    descriptions: dict[str, Mapping[str, Any]] = {}
    listed = lookup(credential, (*achievement_path, "resultDescription"))
    for index, item in enumerate(listed if isinstance(listed, list) else []):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            if item["id"] in descriptions:
                problems.append(
                    FieldProblem(
                        _pointer((*achievement_path, "resultDescription", index, "id")),
                        f"{_show(item['id'], 200)} is used by another resultDescription",
                    )
                )
            descriptions[item["id"]] = item
    results = lookup(credential, ("credentialSubject", "result"))
    allowed_sets: dict[str, set[str]] = {}
    for index, result in enumerate(results if isinstance(results, list) else []):
        if not isinstance(result, dict):
            continue
        reference = result.get("resultDescription")
        if not isinstance(reference, str):
            continue
        description = descriptions.get(reference)
        if description is None:
            problems.append(
                FieldProblem(
                    _pointer(("credentialSubject", "result", index, "resultDescription")),
                    f"{_show(reference, 200)} is not the id of any achievement resultDescription",
                )
            )
            continue
        allowed = description.get("allowedValue")
        value = result.get("value")
        if not (isinstance(allowed, list) and isinstance(value, str)):
            continue
        if reference not in allowed_sets:  # a set per description: each result's check is one lookup
            allowed_sets[reference] = {item for item in allowed if isinstance(item, str)}
        if value not in allowed_sets[reference]:
            shown = ", ".join(_show(item) for item in allowed[:_SHOWN_VALUES])
            more = f" (and {len(allowed) - _SHOWN_VALUES} more)" if len(allowed) > _SHOWN_VALUES else ""
            problems.append(
                FieldProblem(
                    _pointer(("credentialSubject", "result", index, "value")),
                    f"{_show(value)} is not an allowedValue of {_show(reference, 200)}: {shown}{more}",
                )
            )
    return problems


def _status_entry_problems(status: object) -> list[FieldProblem]:
    """A ``BitstringStatusListEntry`` whose ``id`` is not its list's URL, ``#`` and its index.

    Checked only when every other member is right (:func:`parse_status_entry` accepts the entry with that
    id): a wrong member is the schema's to name.
    """
    if not (isinstance(status, dict) and status.get("type") == ENTRY_TYPE and isinstance(status.get("id"), str)):
        return []
    expected = f"{status.get('statusListCredential')}#{status.get('statusListIndex')}"
    try:
        parse_status_entry({**status, "id": expected})
    except StatusListError:
        return []
    if status["id"] == expected:
        return []
    return [
        FieldProblem(
            "/credentialStatus/id",
            f"{_show(status['id'], 200)} is not {_show(expected, 200)}: the entry's id is its statusListCredential,"
            " '#' and its statusListIndex",
        )
    ]
