"""JSON-LD expansion in "safe mode" with ``pyld``: nothing may be dropped, every IRI must be absolute.

JS ``jsonld`` has a ``safe`` option that turns each lossy expansion event (an undefined term dropped, an
object or a scalar dropped, a relative ``@id`` or ``@type``) into an error. ``pyld`` 3.3 has no such
option (an unknown ``"safe": True`` is silently ignored), only a hook for dropped properties. This module
gives the equivalent check: the hook names each dropped property, a walk of the expanded document finds
relative ``@id``/``@type`` references and objects that say nothing where jsonld.js drops them (at the top
level or in a graph: empty, or only an ``@id``), and a count of the document's scalar values before and after
expansion catches any other loss (a dropped object, a free-floating value).

The count treats every JSON string, number and boolean of the input (outside ``@context``) as one value,
and every ``@value``/``@id``/node ``@type``/``@language``/``@index`` of the output as one; a context that
adds values (a default ``@language``, a language or index map) would upset it, and none that anchor ships
does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pyld import jsonld

from anchor.credentials.jsonld import document_loader

__all__ = ["UnsafeJsonLdError", "safe_expand"]

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


class UnsafeJsonLdError(ValueError):
    """Expansion lost or could not resolve something; ``problems`` lists what, one entry each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("unsafe JSON-LD: " + "; ".join(problems))
        self.problems = problems


def safe_expand(document: Mapping[str, Any]) -> list[Any]:
    """``document`` expanded with anchor's offline loader; :class:`UnsafeJsonLdError` if anything was lost."""
    problems: list[str] = []

    def dropped(expanded_property: str | None) -> None:
        problems.append(f"property {expanded_property!r} is not defined by any context: dropped")

    # base None: pyld resolves a relative IRI against "http://example.org/base/" when the base is "" (its
    # default), which would hide it; jsonld.js leaves it relative and safe mode refuses it
    options: Any = {"documentLoader": document_loader, "base": None}
    expanded: list[Any] = jsonld.expand(dict(document), options, on_property_dropped=dropped)
    _relative_references(expanded, "", problems)
    _free_floating(expanded, "", problems)
    before, after = _input_values(document), _expanded_values(expanded)
    if before != after:
        problems.append(f"{before} values in the document, {after} after expansion: {before - after} dropped")
    if problems:
        raise UnsafeJsonLdError(problems)
    return expanded


def _is_reference(value: object) -> bool:
    return isinstance(value, str) and (value.startswith("_:") or bool(_ABSOLUTE_IRI.match(value)))


def _relative_references(node: Any, where: str, problems: list[str]) -> None:
    """Every ``@id`` and ``@type`` under ``node`` that is neither an absolute IRI nor a blank node, reported."""
    if isinstance(node, list):
        for position, item in enumerate(node):
            _relative_references(item, f"{where}/{position}", problems)
        return
    if not isinstance(node, dict):
        return
    if "@id" in node and not _is_reference(node["@id"]):
        problems.append(f"relative @id reference {node['@id']!r} at {where or '/'}")
    types = node.get("@type", [])
    if not (isinstance(types, str) and types == "@json"):
        for kind in types if isinstance(types, list) else [types]:
            if not _is_reference(kind):
                problems.append(f"relative @type reference {kind!r} at {where or '/'} (an undefined type)")
    for key, value in node.items():
        if key not in ("@id", "@type", "@value"):
            _relative_references(value, f"{where}/{key}", problems)


def _free_floating(nodes: list[Any], where: str, problems: list[str]) -> None:
    """Objects at the top level or in a graph that say nothing (empty, or only an ``@id``), reported.

    jsonld.js drops them ("empty object", "object with only @id"); pyld keeps them, but they hold no triple.
    """
    for position, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        if not node.keys() - {"@id"}:
            problems.append(f"an object with {'only an @id' if node else 'nothing'} at {where}/{position}: dropped")
        for key, value in node.items():
            for inner_position, inner in enumerate(value if isinstance(value, list) else []):
                if isinstance(inner, dict) and isinstance(inner.get("@graph"), list):
                    _free_floating(inner["@graph"], f"{where}/{position}/{key}/{inner_position}/@graph", problems)


def _input_values(value: Any) -> int:
    """The scalar values of a compacted JSON-LD document, its ``@context`` left out."""
    if isinstance(value, dict):
        return sum(_input_values(item) for key, item in value.items() if key != "@context")
    if isinstance(value, list):
        return sum(_input_values(item) for item in value)
    return 0 if value is None else 1


def _expanded_values(value: Any) -> int:
    """The scalar values an expanded document holds (a JSON literal's values counted as in the input)."""
    if isinstance(value, list):
        return sum(_expanded_values(item) for item in value)
    if not isinstance(value, dict):
        return 0
    if "@value" in value:
        literal = value["@value"]
        count = _input_values(literal) if value.get("@type") == "@json" else 0 if literal is None else 1
        return count + sum(1 for key in ("@language", "@direction", "@index") if key in value)
    count = 0
    for key, item in value.items():
        if key == "@id":
            count += 1
        elif key == "@type":
            count += len(item) if isinstance(item, list) else 1
        elif key in ("@language", "@direction", "@index"):
            count += 1
        else:
            count += _expanded_values(item)
    return count
