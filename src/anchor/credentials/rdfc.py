"""RDF Dataset Canonicalization (RDFC-1.0) of JSON-LD documents in safe mode, byte-identical to ``pyld``.

Data Integrity signatures (``eddsa-rdfc-2022``) sign the canonical N-Quads of a credential: JSON-LD 1.1
expansion with the shipped contexts (:func:`anchor.credentials.jsonld.document_loader`, never the
network), deserialization to RDF, then RDFC-1.0 (the algorithm ``pyld`` calls URDNA2015).

Two implementations give one answer:

- :func:`canonize_reference` runs ``pyld`` itself. It is the reference, and slow (about 10 ms for one Open
  Badges credential, most of it processing the same contexts again for every document).
- :func:`canonize` walks the JSON once with context processing cached across calls (the processed active
  contexts come from ``pyld``'s own context processing, memoized per context and scoped context), writes
  the quads directly, and labels blank nodes with the first-degree hashes of RDFC-1.0 when they are all
  different (the common case). Whatever it does not handle (value objects, ``@graph``, ``@reverse``,
  language maps, equal first-degree hashes, ...) goes to ``pyld``: the whole document to
  :func:`canonize_reference`, or the dataset to ``pyld``'s URDNA2015. A property test compares the two
  byte for byte.

Both run in *safe mode*, as Digital Bazaar's ``jsonld`` does for Data Integrity (``safe: true``): what
JSON-LD would silently drop or alter is an error, because a signature must cover what the reader sees.
:class:`UnsafeJsonLdError` is raised, naming the value, for

- a key that expansion drops: a term the ``@context`` does not define, a key that looks like a keyword;
- anything else expansion drops (a free-floating value, ``{"@value": null}``, a top-level object with
  nothing but an ``@id``...);
- a relative IRI (``@id``, ``@type``, an ``@id``-typed value, ``@vocab``): no base IRI is applied (``pyld``
  would otherwise resolve it against ``http://example.org/base/``, where ``jsonld`` refuses it);
- a blank node used as a property;
- an IRI that is not absolute by RFC 3986's scheme rule or holds a character N-Quads must escape (spaces,
  controls, ``<>"{}|^`\\``), and a string literal holding a control character other than tab, LF and CR:
  ``pyld`` writes those unescaped where RDFC-1.0 (and ``jsonld``) escape them, so no other implementation
  would verify the signature;
- an ill-formed language tag.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections.abc import Mapping
from typing import Any, Final

from anchor.credentials.jsonld import document_loader
from anchor.credentials.pyld_core import URDNA2015, ContextResolver, pyld_jsonld
from anchor.errors import InvalidInputError

__all__ = ["UnsafeJsonLdError", "canonize", "canonize_reference"]

XSD: Final = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING: Final = XSD + "string"
XSD_BOOLEAN: Final = XSD + "boolean"
XSD_INTEGER: Final = XSD + "integer"
XSD_DOUBLE: Final = XSD + "double"
RDF: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDF_TYPE: Final = f"<{RDF}type>"
RDF_FIRST: Final = f"<{RDF}first>"
RDF_REST: Final = f"<{RDF}rest>"
RDF_NIL: Final = f"<{RDF}nil>"
RDF_JSON: Final = RDF + "JSON"

#: An absolute IRI that every implementation reads alike and N-Quads writes unescaped: an RFC 3986 scheme,
#: then no space, control (C0, DEL, C1), Unicode space or ``<>"{}|^`\``.
_SAFE_IRI: Final = re.compile(
    r"[A-Za-z][A-Za-z0-9+\-.]*:[^\x00-\x20<>\"{}|^`\\\x7f-\x9f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*"
)
#: Characters ``pyld`` writes raw in an N-Quads literal where RDFC-1.0 requires an escape.
_UNSAFE_LITERAL_CHAR: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: A well-formed language tag, as ``jsonld`` checks it.
_LANGUAGE_TAG: Final = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")
_KEYWORDS: Final = frozenset(pyld_jsonld.KEYWORDS)


class UnsafeJsonLdError(InvalidInputError):
    """A JSON-LD document that safe mode refuses: expansion would drop or alter part of it."""


class _Unsupported(Exception):  # noqa: N818 -- internal signal, never leaves this module
    """The fast path does not handle this document; ``pyld`` does."""


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


# -- safety checks shared by both paths ------------------------------------------------------------------


def _iri(value: str, what: str) -> str:
    """``value`` if it is a safe absolute IRI; :class:`UnsafeJsonLdError` otherwise."""
    if _SAFE_IRI.fullmatch(value) is not None:
        return value
    if ":" not in value or not re.match(r"[A-Za-z][A-Za-z0-9+\-.]*:", value):
        raise UnsafeJsonLdError(
            f"{what} {_show(value)} is not an absolute IRI: JSON-LD would drop it or resolve it against a "
            "base IRI, so it cannot be signed (define the term in the @context or use a full IRI)"
        )
    raise UnsafeJsonLdError(
        f'{what} {_show(value)} holds a character an IRI may not contain (space, control, or <>"{{}}|^`\\)'
    )


def _literal_check(lexical: str, where: str) -> None:
    found = _UNSAFE_LITERAL_CHAR.search(lexical)
    if found is not None:
        raise UnsafeJsonLdError(
            f"{where}: the string {_show(lexical)} holds the control character U+{ord(found.group()):04X}; "
            "implementations of RDF canonicalization write it differently, so it cannot be signed"
        )


def _check_expanded(element: Any, path: str = "") -> None:
    """Refuse what ``pyld``'s expanded form would lose or alter when turned into RDF (reference path)."""
    if isinstance(element, list):
        for item in element:
            _check_expanded(item, path)
        return
    if not isinstance(element, Mapping):
        return
    for key, value in element.items():
        if key == "@id":
            for item in value if isinstance(value, list) else [value]:
                if not isinstance(item, str):
                    raise UnsafeJsonLdError(f"{path or '/'}: an @id that is not an IRI: {_show(item)}")
                if not item.startswith("_:"):
                    _iri(item, f"{path or '/'}: @id")
        elif key == "@type":
            for item in value if isinstance(value, list) else [value]:
                if not isinstance(item, str):
                    raise UnsafeJsonLdError(f"{path or '/'}: a type that is not an IRI: {_show(item)}")
                if item != "@json" and not item.startswith("_:"):
                    _iri(item, f"{path or '/'}: type")
        elif key == "@value":
            if isinstance(value, float) and not math.isfinite(value):
                raise UnsafeJsonLdError(f"{path or '/'}: {value!r} is not a JSON number")
        elif key == "@language":
            for item in value if isinstance(value, list) else [value]:
                if not isinstance(item, str) or _LANGUAGE_TAG.fullmatch(item) is None:
                    raise UnsafeJsonLdError(f"{path or '/'}: {_show(item)} is not a well-formed language tag")
        elif key in ("@list", "@set", "@graph", "@included"):
            _check_expanded(value, path)
        elif key == "@reverse":
            for prop, items in value.items():
                _predicate(prop, path)
                _check_expanded(items, f"{path}/{prop}")
        elif isinstance(key, str) and key in _KEYWORDS:
            continue
        else:
            _predicate(key, path)
            _check_expanded(value, f"{path}/{key}")


def _predicate(iri: str, path: str) -> str:
    if iri.startswith("_:"):
        raise UnsafeJsonLdError(f"{path or '/'}: the property {_show(iri)} is a blank node, which RDF does not allow")
    return _iri(iri, f"{path or '/'}: property")


# -- the reference: pyld ---------------------------------------------------------------------------------


class _SafeProcessor(pyld_jsonld.JsonLdProcessor):  # type: ignore[misc]
    """``pyld``'s processor with safe mode: whatever expansion drops raises :class:`UnsafeJsonLdError`."""

    def __init__(self) -> None:
        super().__init__(on_property_dropped=self._dropped)
        self._objects: list[tuple[Any, Any]] = []

    def _dropped(self, expanded: Any) -> None:
        key = "a key"
        if self._objects:
            active_ctx, element = self._objects[-1]
            for name in sorted(element):
                if name == "@context":
                    continue
                found = self._expand_iri(active_ctx, name, vocab=True)
                if found == expanded and not (pyld_jsonld._is_absolute_iri(found) or found in _KEYWORDS):
                    key = repr(name)
                    break
        raise UnsafeJsonLdError(f"{key} is not defined by the @context, so JSON-LD would drop it")

    def _expand_object(
        self, active_ctx: Any, active_property: Any, expanded: Any, element: Any, *args: Any, **kwargs: Any
    ) -> Any:
        self._objects.append((active_ctx, element))
        try:
            return super()._expand_object(active_ctx, active_property, expanded, element, *args, **kwargs)
        finally:
            self._objects.pop()

    def _expand(self, active_ctx: Any, active_property: Any, element: Any, options: Any, **kwargs: Any) -> Any:
        expanded = super()._expand(active_ctx, active_property, element, options, **kwargs)
        if expanded is None and element is not None:
            raise UnsafeJsonLdError(
                f"JSON-LD expansion would drop {_show(element)} (under {_show(active_property)}): a value with "
                "nothing JSON-LD can keep"
            )
        return expanded

    def expand(self, input_: Any, options: Any) -> Any:
        expanded = super().expand(input_, options)
        _check_expanded(expanded)
        return expanded


def _options() -> dict[str, Any]:
    return {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": document_loader,
        # no base IRI: a relative IRI stays relative, and safe mode refuses it
        "base": None,
        # as Digital Bazaar's eddsa-rdfc-2022 cryptosuite: base direction as an i18n datatype
        "rdfDirection": "i18n-datatype",
        "processingMode": "json-ld-1.1",
    }


def _unwrap(error: BaseException) -> UnsafeJsonLdError | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, UnsafeJsonLdError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _json_ld_error(error: Exception) -> UnsafeJsonLdError:
    unsafe = _unwrap(error)
    if unsafe is not None:
        return unsafe
    chain: list[BaseException] = []
    seen: BaseException | None = error
    while seen is not None and len(chain) < 8:
        chain.append(seen)
        seen = seen.__cause__
    ours = [item for item in chain if isinstance(item, InvalidInputError)]  # e.g. a context anchor does not ship
    if ours:
        return UnsafeJsonLdError(f"JSON-LD processing failed: {ours[-1]}")
    deepest = chain[-1]  # pyld wraps the real reason in "could not expand", "could not convert"...
    text = deepest.args[0] if deepest.args and isinstance(deepest.args[0], str) else str(deepest)
    code = getattr(deepest, "code", None)
    return UnsafeJsonLdError(f"JSON-LD processing failed: {text}" + (f" ({code})" if code else ""))


def canonize_reference(document: Mapping[str, Any]) -> str:
    """The RDFC-1.0 canonical N-Quads of a JSON-LD document by ``pyld``, in safe mode (the reference)."""
    if not isinstance(document, Mapping):
        raise UnsafeJsonLdError(f"a JSON-LD document to canonize is a JSON object, got {type(document).__name__}")
    try:
        nquads: str = _SafeProcessor().normalize(dict(document), _options())
    except UnsafeJsonLdError:
        raise
    except pyld_jsonld.JsonLdError as error:
        raise _json_ld_error(error) from error
    except RecursionError as error:
        raise UnsafeJsonLdError("JSON-LD document nests too deeply") from error
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError) as error:
        # pyld assumes well-formed input in places; what it trips over is bad input, not a bug of ours
        raise UnsafeJsonLdError(f"JSON-LD processing failed: {type(error).__name__}: {error}") from error
    found = _UNSAFE_LITERAL_CHAR.search(nquads)
    if found is not None:
        line = nquads[nquads.rfind("\n", 0, found.start()) + 1 : nquads.find("\n", found.start())]
        _literal_check(line, "canonical form")
    return nquads


# -- the fast path ---------------------------------------------------------------------------------------

# how a term turns a scalar value into an RDF term
_PLAIN, _LANGUAGE, _IRI, _VOCAB, _TYPED, _OTHER = range(6)
#: characters after which a string needs pyld's escaping (or is refused)
_SPECIAL: Final = re.compile(r'[\x00-\x1f\x7f"\\]')
_ABSENT: Final = object()


class _Term:
    """What an active context says about one key, worked out once."""

    __slots__ = ("container", "iri", "is_list", "json", "kind", "predicate", "reverse", "scoped", "suffix")

    def __init__(self, ctx: Any, key: str, processor: Any) -> None:
        iri = processor._expand_iri(ctx, key, vocab=True)
        self.iri: str | None = iri if isinstance(iri, str) else None
        mapping = ctx["mappings"].get(key) or {}
        self.scoped: Any = mapping.get("@context")
        container = mapping.get("@container")
        self.container: tuple[str, ...] = tuple(container) if isinstance(container, list) else ()
        self.is_list = "@list" in self.container
        self.reverse = bool(mapping.get("reverse"))
        kind = mapping.get("@type")
        self.json = kind == "@json"
        self.suffix = ""
        if kind == "@id":
            self.kind = _IRI
        elif kind == "@vocab":
            self.kind = _VOCAB
        elif kind is None:
            language = pyld_jsonld.JsonLdProcessor.get_context_value(ctx, key, "@language")
            direction = pyld_jsonld.JsonLdProcessor.get_context_value(ctx, key, "@direction")
            self.kind = _PLAIN if language is None and direction is None else _LANGUAGE
        elif kind in ("@none", "@json") or not isinstance(kind, str):
            self.kind = _OTHER
        else:
            self.kind = _TYPED
            self.suffix = kind
        self.predicate: str | None = None
        if self.iri is not None and self.iri not in _KEYWORDS and _SAFE_IRI.fullmatch(self.iri) is not None:
            self.predicate = f"<{self.iri}>"


class _Context:
    """A processed active context (``pyld``'s, frozen) and what has been derived from it."""

    __slots__ = ("children", "ids", "previous", "raw", "shapes", "terms", "types")

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.terms: dict[str, _Term] = {}
        self.children: dict[Any, _Context] = {}
        self.types: dict[str, str] = {}
        self.ids: dict[str, str | None] = {}
        self.shapes: dict[Any, _Shape] = {}
        self.previous: _Context | None = None


class _Shape:
    """A node object's keys under a context: the context its keys expand with, its @id and @type keys."""

    __slots__ = ("ctx", "id_key", "plans", "type_key")

    def __init__(self, ctx: _Context, id_key: str | None, type_key: str | None) -> None:
        self.ctx = ctx
        self.id_key = id_key
        self.type_key = type_key
        self.plans: dict[tuple[Any, ...], _Plan] = {}


class _Plan:
    """A node object's shape with given types: its final context, type IRIs and one entry per property."""

    __slots__ = ("ctx", "empty", "entries", "type_iris")

    def __init__(
        self,
        ctx: _Context,
        type_iris: tuple[str, ...],
        entries: tuple[tuple[str, str, _Context, _Term], ...],
        empty: bool,
    ) -> None:
        self.ctx = ctx
        self.type_iris = type_iris
        self.entries = entries
        self.empty = empty


#: Bounds of the shared cache (adversarial documents can bring their own contexts): entries of any kind, and
#: processed contexts (each a copy of its term definitions, tens of kilobytes). Past either, it is rebuilt.
_CACHE_LIMIT: Final = 50_000
_CONTEXT_LIMIT: Final = 512


class _State:
    """What context processing produced, shared by every call; rebuilt when it grows past its bound."""

    def __init__(self) -> None:
        self.processor = pyld_jsonld.JsonLdProcessor()
        self.options = _options()
        self.options["contextResolver"] = ContextResolver({}, document_loader)
        self.lock = threading.Lock()
        self.entries = 0
        self.contexts = 0
        self.wrappers: dict[int, _Context] = {}
        self.initial = self.wrap(self.processor._get_initial_context(self.options))

    def wrap(self, raw: Any) -> _Context:
        found = self.wrappers.get(id(raw))
        if found is None or found.raw is not raw:
            found = _Context(raw)
            self.wrappers[id(raw)] = found
            self.entries += 1
            self.contexts += 1
        return found

    def term(self, ctx: _Context, key: str) -> _Term:
        term = ctx.terms.get(key)
        if term is None:
            term = _Term(ctx.raw, key, self.processor)
            ctx.terms[key] = term
            self.entries += 1
        return term

    def previous(self, ctx: _Context) -> _Context:
        """The context before type-scoped contexts applied (itself if none)."""
        if ctx.previous is None:
            raw = ctx.raw.get("previousContext")
            ctx.previous = ctx if raw is None else self.wrap(raw)
        return ctx.previous

    def child(self, ctx: _Context, key: Any, local: Any, *, override_protected: bool, propagate: bool) -> _Context:
        """``ctx`` with ``local`` processed as pyld's expansion processes it, memoized under ``key``."""
        found = ctx.children.get(key)
        if found is None:
            with self.lock:
                try:
                    raw = self.processor._process_context(
                        ctx.raw, local, self.options, override_protected=override_protected, propagate=propagate
                    )
                except (pyld_jsonld.JsonLdError, ValueError, TypeError, KeyError, AttributeError) as error:
                    raise _Unsupported from error  # the reference reports it
                found = self.wrap(raw)
                ctx.children[key] = found
                self.entries += 1
        return found

    def type_iri(self, ctx: _Context, value: str, path: str) -> str:
        iri = ctx.types.get(value)
        if iri is None:
            expanded = self.processor._expand_iri(ctx.raw, value, vocab=True, base=None)
            if not isinstance(expanded, str) or expanded in _KEYWORDS or expanded.startswith("_:"):
                raise _Unsupported
            iri = f"<{_iri(expanded, f'{path}: the type')}>"
            ctx.types[value] = iri
            self.entries += 1
        return iri

    def id_iri(self, ctx: _Context, value: str, *, vocab: bool = False) -> Any:
        """An ``@id`` (or ``@id``- or ``@vocab``-typed value) expanded as pyld's ``_expand_iri`` does."""
        if vocab:
            return self.processor._expand_iri(ctx.raw, value, vocab=True, base=None)
        colon = value.find(":")
        if colon > 0:
            prefix = value[:colon]
            if prefix not in ctx.ids:
                mapping = ctx.raw["mappings"].get(prefix)
                ctx.ids[prefix] = mapping["@id"] if mapping and mapping.get("_prefix") else None
                self.entries += 1
            expansion = ctx.ids[prefix]
            if expansion is None or prefix == "_" or value.startswith("//", colon + 1):
                return value
            return expansion + value[colon + 1 :]
        return self.processor._expand_iri(ctx.raw, value, base=None)

    def shape(self, ctx: _Context, property_key: str | None, element: dict[str, Any], key: Any) -> _Shape:
        """pyld's ``_expand`` of an object up to its types: revert, property-scoped and embedded contexts."""
        start = ctx
        if not all(isinstance(name, str) for name in element):
            raise _Unsupported
        scoped = self.term(ctx, property_key).scoped if property_key is not None else None
        # type-scoped contexts do not propagate into a nested node, except into a lone node reference
        if ctx.raw.get("previousContext") is not None:
            revert = True
            if len(element) <= 2 and "@context" not in element:
                for name in sorted(element):
                    expanded = self.term(ctx, name).iri
                    if expanded == "@value":
                        raise _Unsupported
                    if expanded == "@id" and len(element) == 1:
                        revert = False
                        break
            if revert:
                ctx = self.previous(ctx)
        if scoped is not None:
            ctx = self.child(ctx, ("s", id(scoped)), scoped, override_protected=True, propagate=True)
        if "@context" in element:
            local = element["@context"]
            if isinstance(local, Mapping) and set(local) == {"@context"}:
                raise _Unsupported  # pyld refuses it
            ctx = self.child(ctx, ("l", key[2]), local, override_protected=False, propagate=True)
        id_key = type_key = None
        for name in element:
            if name == "@context":
                continue
            expanded = self.term(ctx, name).iri
            if expanded == "@type":
                if type_key is not None:
                    raise _Unsupported  # two keys for @type: pyld merges them
                type_key = name
            elif expanded == "@id":
                if id_key is not None:
                    raise _Unsupported  # colliding keywords: pyld refuses them
                id_key = name
        shape = _Shape(ctx, id_key, type_key)
        start.shapes[key] = shape
        self.entries += 1
        return shape

    def plan(self, shape: _Shape, element: dict[str, Any], types: tuple[Any, ...], path: str) -> _Plan:
        """The rest of pyld's ``_expand`` of an object: type-scoped contexts, then each key's expansion."""
        ctx = type_scoped = shape.ctx
        for item in sorted(types):
            mapping = type_scoped.raw["mappings"].get(item)
            local = mapping.get("@context") if mapping else None
            if local is not None and local is not False:
                ctx = self.child(ctx, ("t", id(local)), local, override_protected=False, propagate=False)
        if shape.id_key is not None and self.term(ctx, shape.id_key).iri != "@id":
            raise _Unsupported  # a type-scoped context redefined the @id alias
        if shape.type_key is not None and self.term(ctx, shape.type_key).iri != "@type":
            raise _Unsupported  # ... or the @type alias
        type_iris = tuple(self.type_iri(type_scoped, item, path) for item in types)
        entries = []
        for key in element:
            if key in ("@context", shape.id_key, shape.type_key):
                continue
            term = self.term(ctx, key)
            iri = term.iri
            where = f"{path}/{key}"
            if iri is None:
                raise UnsafeJsonLdError(f"{where}: {key!r} is not defined by the @context, so JSON-LD would drop it")
            if iri in _KEYWORDS:
                raise _Unsupported  # @value, @list, @graph, @reverse, @nest, @included, @index...
            predicate = term.predicate
            if predicate is None:
                if iri.startswith("_:"):
                    _predicate(iri, where)
                if pyld_jsonld._is_absolute_iri(iri):
                    _iri(iri, f"{where}: the property")
                raise UnsafeJsonLdError(f"{where}: {key!r} is not defined by the @context, so JSON-LD would drop it")
            if term.reverse or any(c not in ("@set", "@list") for c in term.container):
                raise _Unsupported
            if term.json:
                if term.container:
                    raise _Unsupported
                entries.append((key, predicate, ctx, term))
                continue
            term_ctx, value_term = ctx, term
            if term.scoped is not None:
                term_ctx = self.child(ctx, ("s", id(term.scoped)), term.scoped, override_protected=True, propagate=True)
                value_term = self.term(term_ctx, key)
                if value_term.iri != iri or value_term.container != term.container or value_term.reverse:
                    raise _Unsupported  # the scoped context redefines its own term
            if value_term.kind == _TYPED:
                _iri(value_term.suffix, f"{where}: the datatype")
            entries.append((key, predicate, term_ctx, value_term))
        plan = _Plan(ctx, type_iris, tuple(entries), not entries and not types)
        shape.plans[types] = plan
        self.entries += 1
        return plan


_state = _State()
_state_lock = threading.Lock()


def _current_state() -> _State:
    global _state  # the process-wide cache, replaced when it grows past its bound
    state = _state
    if state.entries > _CACHE_LIMIT or state.contexts > _CONTEXT_LIMIT:
        with _state_lock:
            if _state is state:
                _state = _State()
            state = _state
    return state


def _escape(value: str) -> str:
    """Exactly ``pyld.nquads.escape``."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r").replace('"', '\\"')
    )


def _canonical_double(value: float) -> str:
    text: str = pyld_jsonld._canonicalize_double(value)
    return text


def _unescape(body: str) -> str:
    """The inverse of :func:`_escape`."""
    table = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r", '"': '"'}
    return re.sub(r"\\(.)", lambda match: table[match.group(1)], body, flags=re.DOTALL)


class _Walk:
    """One document to quads: JSON-LD expansion and RDF deserialization in one pass, by pyld's rules.

    Anything outside what it mirrors raises :class:`_Unsupported`, and the document goes to
    :func:`canonize_reference`.
    """

    def __init__(self, state: _State) -> None:
        self.state = state
        self.quads: set[tuple[str, str, str]] = set()
        self.labels: dict[str, str] = {}
        self.count = 0
        self.json_values: set[tuple[str, str]] = set()

    def blank(self) -> str:
        label = f"_:b{self.count}"
        self.count += 1
        return label

    def reference(self, iri: Any, what: str) -> str:
        """An expanded ``@id`` as an N-Quads term (an IRI, or a blank node relabelled)."""
        if iri is None:
            raise UnsafeJsonLdError(f"{what} looks like a JSON-LD keyword; JSON-LD would drop it")
        if not isinstance(iri, str) or iri in _KEYWORDS:
            raise _Unsupported
        if iri.startswith("_:"):
            label = self.labels.get(iri)
            if label is None:
                label = self.labels[iri] = self.blank()
            return label
        return f"<{_iri(iri, what)}>"

    @staticmethod
    def string(value: str, path: str) -> str:
        """A plain (xsd:string) literal."""
        if _SPECIAL.search(value) is None:
            return f'"{value}"'
        _literal_check(value, path)
        return f'"{_escape(value)}"'

    def literal(self, value: Any, datatype: str | None, path: str) -> str:
        """A JSON scalar as an N-Quads literal, as pyld's ``_object_to_rdf`` writes it."""
        if isinstance(value, bool):
            lexical, datatype = ("true" if value else "false"), datatype or XSD_BOOLEAN
        elif isinstance(value, str):
            if datatype is None:
                return self.string(value, path)
            if datatype == XSD_DOUBLE:
                raise _Unsupported  # pyld rewrites strings typed xsd:double
            lexical = value
        elif isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                raise UnsafeJsonLdError(f"{path}: {value!r} is not a JSON number")
            if isinstance(value, float) and not value.is_integer():
                lexical, datatype = _canonical_double(value), datatype or XSD_DOUBLE
            elif datatype == XSD_DOUBLE or abs(value) >= 1e21:
                raise _Unsupported  # pyld's canonical double of an integral number: rare
            else:
                lexical, datatype = str(int(value)), datatype or XSD_INTEGER
        else:
            raise _Unsupported
        if datatype == XSD_STRING:
            return self.string(lexical, path)
        if _SPECIAL.search(lexical) is not None:
            _literal_check(lexical, path)
            lexical = _escape(lexical)
        return f'"{lexical}"^^<{datatype}>'

    def scalar(self, ctx: _Context, term: _Term, value: Any, path: str) -> str:
        """A scalar property value: pyld's ``_expand_value``, then ``_object_to_rdf``."""
        kind = term.kind
        if isinstance(value, str):
            if kind == _PLAIN:
                return self.string(value, path)
            if kind == _IRI:
                return self.reference(self.state.id_iri(ctx, value), f"{path}: the IRI")
            if kind == _VOCAB:
                return self.reference(self.state.id_iri(ctx, value, vocab=True), f"{path}: the IRI")
            if kind == _TYPED:
                return self.literal(value, term.suffix, path)
            raise _Unsupported  # a language, base direction, @none or @json
        if kind == _TYPED:
            return self.literal(value, term.suffix, path)
        if kind == _OTHER:
            raise _Unsupported
        return self.literal(value, None, path)

    def node(self, ctx: _Context, property_key: str | None, element: dict[str, Any], path: str) -> str:
        """A node object: its quads, and its subject (pyld's ``_expand`` of an object, then the node map)."""
        state = self.state
        local = element.get("@context", _ABSENT)
        if local is _ABSENT:
            context_key: Any = None
        elif isinstance(local, str):
            context_key = local
        elif isinstance(local, list) and all(isinstance(item, str) for item in local):
            context_key = tuple(local)
        else:
            try:
                context_key = ("json", json.dumps(local, sort_keys=True, ensure_ascii=False, allow_nan=False))
            except (TypeError, ValueError) as error:
                raise _Unsupported from error
        key = (property_key, tuple(element), context_key)
        shape = ctx.shapes.get(key)
        if shape is None:
            shape = state.shape(ctx, property_key, element, key)
        if shape.type_key is None:
            types: tuple[Any, ...] = ()
        else:
            written = element[shape.type_key]
            types = tuple(written) if isinstance(written, list) else (written,)
            if not all(isinstance(item, str) for item in types):
                raise _Unsupported  # pyld refuses a type that is not a string
        plan = shape.plans.get(types)
        if plan is None:
            plan = state.plan(shape, element, types, path)
        if property_key is None and plan.empty:
            raise _Unsupported  # a top-level object JSON-LD drops: the reference reports it
        if shape.id_key is not None:
            written = element[shape.id_key]
            if not isinstance(written, str):
                raise _Unsupported
            subject = self.reference(state.id_iri(plan.ctx, written), f"{path}/{shape.id_key}")
        else:
            subject = self.blank()
        add = self.quads.add
        for iri in plan.type_iris:
            add((subject, RDF_TYPE, iri))
        for name, predicate, term_ctx, term in plan.entries:
            value = element[name]
            if term.json:
                self.json_literal(subject, predicate, value, f"{path}/{name}")
                continue
            if isinstance(value, list):
                objects = []
                for index, item in enumerate(value):
                    if isinstance(item, dict):
                        objects.append(self.node(term_ctx, name, item, f"{path}/{name}/{index}"))
                    elif item is None or isinstance(item, list):
                        raise _Unsupported  # pyld drops nulls and flattens (or nests as lists) inner arrays
                    elif term.kind == _PLAIN and isinstance(item, str):
                        objects.append(self.string(item, f"{path}/{name}/{index}"))
                    else:
                        objects.append(self.scalar(term_ctx, term, item, f"{path}/{name}/{index}"))
            elif isinstance(value, dict):
                objects = [self.node(term_ctx, name, value, f"{path}/{name}")]
            elif value is None:
                raise _Unsupported  # pyld drops it
            else:
                objects = [self.scalar(term_ctx, term, value, f"{path}/{name}")]
            if term.is_list:
                add((subject, predicate, self.rdf_list(objects)))
            else:
                for item in objects:
                    add((subject, predicate, item))
        return subject

    def rdf_list(self, items: list[str]) -> str:
        """pyld's ``_list_to_rdf``: a chain of blank nodes ending in rdf:nil."""
        if not items:
            return RDF_NIL
        head = node = self.blank()
        last = len(items) - 1
        add = self.quads.add
        for index, item in enumerate(items):
            following = self.blank() if index < last else RDF_NIL
            add((node, RDF_FIRST, item))
            add((node, RDF_REST, following))
            node = following
        return head

    def json_literal(self, subject: str, predicate: str, value: Any, path: str) -> None:
        """A value of an ``@json`` term: its JCS form as an rdf:JSON literal."""
        # pyld keeps only one of two JSON values Python calls equal ({"a": true}, {"a": 1}): let it decide
        if (subject, predicate) in self.json_values:
            raise _Unsupported
        self.json_values.add((subject, predicate))
        try:
            lexical = pyld_jsonld.canonicalize(value).decode("utf-8")  # the JCS pyld writes @json with
        except Exception as error:  # c14n raises bare exceptions for what it cannot write
            raise _Unsupported from error
        _literal_check(lexical, path)
        self.quads.add((subject, predicate, f'"{_escape(lexical)}"^^<{RDF_JSON}>'))


def _serialize(quads: Any) -> str:
    lines = [f"{s} {p} {o} .\n" for s, p, o in quads]
    lines.sort()
    return "".join(lines)


def _rdfc(quads: set[tuple[str, str, str]]) -> str:
    """RDFC-1.0 of a dataset whose blank nodes are labelled ``_:b<n>``: fast when first-degree hashes differ."""
    related: dict[str, list[tuple[str, str, str]]] = {}
    for quad in quads:
        s, _, o = quad
        if s[0] == "_":
            related.setdefault(s, []).append(quad)
        if o[0] == "_":  # a self-reference counts twice, as in pyld and rdf-canonize
            related.setdefault(o, []).append(quad)
    if not related:
        return _serialize(quads)
    hashes: dict[str, str] = {}
    seen: set[str] = set()
    sha256 = hashlib.sha256
    for label, its in related.items():
        lines = [
            f"{('_:a' if s == label else '_:z') if s[0] == '_' else s} {p} "
            f"{('_:a' if o == label else '_:z') if o[0] == '_' else o} .\n"
            for s, p, o in its
        ]
        lines.sort()
        digest = sha256("".join(lines).encode("utf-8")).hexdigest()
        if digest in seen:
            return _rdfc_pyld(quads)  # equal first-degree hashes: the N-degree algorithm decides
        seen.add(digest)
        hashes[label] = digest
    canonical = {label: f"_:c14n{index}" for index, label in enumerate(sorted(hashes, key=hashes.__getitem__))}
    get = canonical.get
    return _serialize([(get(s, s), p, get(o, o)) for s, p, o in quads])


def _rdfc_pyld(quads: set[tuple[str, str, str]]) -> str:
    """pyld's URDNA2015 on the dataset."""

    def term(text: str) -> dict[str, str]:
        if text[0] == "<":
            return {"type": "IRI", "value": text[1:-1]}
        if text[0] == "_":
            return {"type": "blank node", "value": text}
        close = text.rindex('"')
        datatype = text[close + 4 : -1] if close + 1 < len(text) else XSD_STRING
        return {"type": "literal", "value": _unescape(text[1:close]), "datatype": datatype}

    triples = [
        {"subject": term(s), "predicate": {"type": "IRI", "value": p[1:-1]}, "object": term(o)}
        for s, p, o in sorted(quads)
    ]
    result: str = URDNA2015().main({"@default": triples}, {"format": "application/n-quads"})
    return result


def canonize(document: Mapping[str, Any]) -> str:
    """The RDFC-1.0 canonical N-Quads of a JSON-LD document in safe mode; byte-identical to pyld's.

    Fast for what credentials use; anything else goes to :func:`canonize_reference`.
    """
    if not isinstance(document, dict):
        return canonize_reference(document)
    walk = _Walk(_current_state())
    try:
        walk.node(walk.state.initial, None, document, "")
        return _rdfc(walk.quads)
    except _Unsupported:
        return canonize_reference(document)
    except RecursionError as error:
        raise UnsafeJsonLdError("JSON-LD document nests too deeply") from error
