"""The JSON-LD contexts anchor knows, and an offline document loader for ``pyld``.

Every context a credential, a DID document or a status list uses ships in the package
(``anchor/contexts/``): anchor's own extension contexts, each file named by the last path segment of its
URL, and third-party contexts copied from their npm packages into ``contexts/vendor/`` (``index.json``
maps each URL to its file; ``tools/vendor_contexts.cjs`` regenerates them). :func:`document_loader` never
touches the network: a URL it does not know is refused with :class:`UnknownContextError` naming it.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any, Final

from anchor.errors import InvalidInputError
from anchor.files import package_data

__all__ = [
    "EXTENSION_CONTEXTS",
    "UnknownContextError",
    "context_document",
    "document_loader",
    "known_context_urls",
]

#: anchor's own contexts: URL -> file name under ``anchor/contexts/`` (the URL's last path segment).
EXTENSION_CONTEXTS: Final = {
    "https://w3id.org/anchor/credential/v1": "v1",
    "https://w3id.org/anchor/contexts/credential-v2.jsonld": "credential-v2.jsonld",
}


class UnknownContextError(InvalidInputError):
    """A JSON-LD document names a context that is not shipped with anchor (nothing is fetched)."""


@cache
def _documents() -> dict[str, Any]:
    documents: dict[str, Any] = {}
    for url, name in EXTENSION_CONTEXTS.items():
        documents[url] = _shipped(name)
    index = _shipped("vendor/index.json")
    for url, entry in index.items():
        documents[url] = _shipped(f"vendor/{entry['file']}")
    return documents


def _shipped(name: str) -> Any:
    """The JSON file ``name`` of the package ``anchor.contexts`` (package_data, not importlib.resources or
    pkgutil: the same data, without importing tempfile, shutil, zipfile; `anchor verify` starts faster)."""
    data = package_data("anchor.contexts", name)
    if data is None:
        raise InvalidInputError(f"the context file {name} of anchor.contexts cannot be read")
    return json.loads(data)


def known_context_urls() -> frozenset[str]:
    """Every context URL the loader answers."""
    return frozenset(_documents())


def context_document(url: str) -> dict[str, Any]:
    """A fresh copy of the shipped context document at ``url``; :class:`UnknownContextError` if none."""
    documents = _documents()
    if url not in documents:
        raise UnknownContextError(f"JSON-LD context {url!r} is not one anchor ships; nothing is fetched")
    document: dict[str, Any] = copy.deepcopy(documents[url])
    return document


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``pyld`` document loader that answers only from the shipped contexts (never the network)."""
    return {"contextUrl": None, "documentUrl": url, "document": context_document(url)}
