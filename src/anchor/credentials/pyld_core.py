"""``pyld``'s JSON-LD processor and URDNA2015, imported without its network document loaders.

``import pyld`` runs the package's ``__init__``, which imports every document loader it ships: ``requests``
(with urllib3, http.client, ssl, charset_normalizer), ``aiohttp`` with asyncio, and a SQLite cache; and
``pyld.jsonld`` makes a ``requests`` session its default loader and imports ``lxml.html`` (for JSON-LD
embedded in HTML). anchor uses none of them: it canonicalizes with its own offline loader
(:func:`anchor.credentials.jsonld.document_loader`), which never returns HTML. Together they are about two
thirds of the time ``anchor verify`` takes for one signed receipt (issue 13: under 0.2 s, process start
included), so this module imports only the modules RDF canonicalization runs:

- the package ``pyld`` is created from its spec without running its ``__init__``; the first access to a name
  the ``__init__`` defines (``pyld.ContextResolver``, ``pyld.RequestsDocumentLoader``...) runs it then, so
  code that wants all of pyld still gets it, unchanged;
- while ``pyld.jsonld`` is imported, its two network loaders are not importable, so its default document
  loader is pyld's own "no default document loader" one, which refuses every URL (anchor always passes its
  offline loader; nothing may be fetched anyway);
- ``lxml.html`` is imported on first use (a stand-in module takes its place until then), which anchor's
  loader never causes.

The code that runs is pyld's own, unchanged; only what is imported differs. When ``pyld`` is already imported
in full, the modules are simply taken from it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Final

__all__ = ["URDNA2015", "ContextResolver", "pyld_jsonld"]

#: pyld's network document loaders, which ``pyld.jsonld`` tries at import to make its default loader.
_NETWORK_LOADERS: Final = ("pyld.documentloader.requests", "pyld.documentloader.aiohttp")


def _package_without_init() -> None:
    """Put the package ``pyld`` in ``sys.modules`` without running its ``__init__`` (run at first need)."""
    if "pyld" in sys.modules:
        return
    spec = importlib.util.find_spec("pyld")
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        raise ImportError("the package pyld is not installed", name="pyld")
    package = importlib.util.module_from_spec(spec)
    loader, folders = spec.loader, list(spec.submodule_search_locations)

    def complete(name: str) -> Any:
        """A name the package's ``__init__`` defines: run the ``__init__`` once, then look it up."""
        submodule = sys.modules.get(f"pyld.{name}")
        if submodule is not None:  # one being imported (pyld's modules import each other): as Python finds it
            return submodule
        if name.startswith("__") or any(
            (Path(folder) / name).is_dir() or (Path(folder) / f"{name}.py").is_file() for folder in folders
        ):  # a submodule not imported yet (``from pyld import nquads``): the import system imports it
            raise AttributeError(f"module 'pyld' has no attribute {name!r}")
        if package.__dict__.pop("__getattr__", None) is None:  # already run: the name is not there
            raise AttributeError(f"module 'pyld' has no attribute {name!r}")
        loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = complete  # type: ignore[method-assign]  # PEP 562
    sys.modules["pyld"] = package


class _OnFirstUse(ModuleType):
    """Stands for a module not imported yet: the first attribute looked up imports it, and takes its place."""

    def __getattr__(self, attribute: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attribute)


def _lazy(name: str) -> None:
    """Have ``import name`` bind a stand-in that imports the module on first use (unless already imported)."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return  # not installed: the real import will say so
    stand_in = _OnFirstUse(name)
    stand_in.__spec__ = spec
    sys.modules[name] = stand_in
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, stand_in)


def _import_jsonld() -> ModuleType:
    if "pyld.jsonld" in sys.modules:
        return sys.modules["pyld.jsonld"]
    _package_without_init()
    _lazy("lxml.html")
    blocked = [name for name in _NETWORK_LOADERS if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # "import halted": pyld falls back, as documented
    try:
        return importlib.import_module("pyld.jsonld")
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


pyld_jsonld: Final[Any] = _import_jsonld()  # pyld has no types: Any, as `from pyld import jsonld` is
URDNA2015: Final[Any] = importlib.import_module("pyld.canon").URDNA2015
ContextResolver: Final[Any] = importlib.import_module("pyld.context_resolver").ContextResolver
