"""Resolving an issuer's DID to its DID document, for the "Signed by the issuer" check.

Three sources, tried in this order:

1. DID documents the verifier's user gave (``anchor verify --did-document FILE``, ``anchor serve
   --did-document FILE``): for offline use, or to pin a document. Each file is used for the DID that is its
   ``id``, and for nothing else.
2. ``did:key``: the document is derived from the DID itself (:func:`anchor.credentials.multikey.did_key_document`),
   offline.
3. ``did:web``: ``https://<domain>[:<port>]/<path or .well-known>/did.json`` (:mod:`anchor.did_syntax`), fetched
   over HTTPS with the verifier's HTTP guards (:mod:`anchor.chain.jsonrpc`: the request ends within ``timeout``
   and within the verification's deadline however slowly the answer trickles in, at most
   :data:`MAX_DOCUMENT_BYTES` are read, no proxy from the environment). A redirect is refused, not followed: a
   did:web document is served at its own URL, and a redirect could send the verifier anywhere. The
   certificate is checked against the system's authorities, or only those of an explicit CA bundle
   (``--did-ca-bundle``). A document fetched is kept for :data:`CACHE_SECONDS` in memory and, when the
   resolver has a cache folder, on disk (private files under the verifier's own home), so a directory of
   receipts costs one request per issuer; a failure is remembered for :data:`FAILURE_SECONDS` in memory
   (unless the request was cut short by the verification's own deadline).

A caller that may not go to the network (:meth:`DidResolver.resolve` with ``network=False``) gets a document
only from sources 1, 2 and the caches. The verifier fetches a did:web document only for the DID the trusted
registry records for the batch's issuer: a receipt cannot make a verifier (or the public verification page)
send requests to a host of its choosing.

Every document, whatever its source, is parsed strictly (:func:`parse_did_document`): its ``id`` must be the
DID; every verification method belongs to the DID (its id is ``<DID>#fragment``, or ``#fragment``, its
``controller`` the DID), two methods never share an id, an Ed25519 key (``Multikey`` or
``Ed25519VerificationKey2020``) has a well-formed ``publicKeyMultibase``, and every reference under
``assertionMethod`` names a method of the document. Keys of other types are kept but never verify.

Two kinds of failure, told apart because the verifier treats them differently: :class:`DidDocumentError`
(what was published, or given, is not a usable DID document of that DID: the credential's signature cannot be
by its issuer, INVALID) and :class:`DidUnreachableError` (no document could be had: unreachable, timed out, an
HTTP error, a redirect, too large, not JSON; nothing can be said either way, ERROR).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from anchor.chain.jsonrpc import request_end
from anchor.credentials import parse_credential
from anchor.credentials.multikey import (
    ED25519_MULTIBASE_LENGTH,
    did_key_document,
    public_key_from_multibase,
)
from anchor.did_syntax import DID_KEY_PREFIX, DID_WEB_PREFIX, MAX_DID_LENGTH, check_did_key, parse_did_web
from anchor.errors import InvalidInputError
from anchor.files import private_directory, write_json_atomically

if TYPE_CHECKING:
    import ssl

__all__ = [
    "CACHE_SECONDS",
    "FAILURE_SECONDS",
    "KEY_TYPES",
    "MAX_DOCUMENT_BYTES",
    "DidDocument",
    "DidDocumentError",
    "DidResolutionError",
    "DidResolver",
    "DidUnreachableError",
    "ResolverSetup",
    "VerificationMethod",
    "bounded_put",
    "given_documents",
    "load_did_document",
    "parse_did_document",
    "split_method",
]

#: Largest DID document read, in bytes: one lists a few keys (each about 200 bytes), old ones included.
MAX_DOCUMENT_BYTES: Final = 128 * 1024
#: Seconds a fetched did:web document is used before it is fetched again (in memory and on disk). Short: a
#: key the issuer takes out of its document (compromised) must stop verifying soon.
CACHE_SECONDS: Final = 3600.0
#: Seconds a DID that could not be resolved is not asked again (in memory only): a directory of receipts of an
#: unreachable issuer waits for one timeout, not one per receipt.
FAILURE_SECONDS: Final = 60.0
#: The verification method types holding an Ed25519 key as ``publicKeyMultibase`` (multicodec ed25519-pub).
KEY_TYPES: Final = ("Multikey", "Ed25519VerificationKey2020")
#: DIDs remembered in memory (documents and failures, each); the oldest are forgotten first.
_MEMORY_ENTRIES: Final = 1024
_MAX_REASON: Final = 200
#: Characters of an Ed25519 ``publicKeyMultibase`` (``z6Mk...``): any other length is refused before decoding.
_MULTIBASE_LENGTH: Final = ED25519_MULTIBASE_LENGTH


class DidResolutionError(InvalidInputError):
    """A DID could not be resolved to a usable DID document; the message says which DID and why."""


class DidDocumentError(DidResolutionError):
    """The DID, or the document published (or given) for it, is not a usable DID document of that DID."""


class DidUnreachableError(DidResolutionError):
    """No DID document could be had: unreachable, timed out, an HTTP error or redirect, too large, not JSON."""


@dataclass(frozen=True)
class VerificationMethod:
    """One verification method of a DID document.

    ``public_key`` is the raw 32-byte Ed25519 key for the :data:`KEY_TYPES`; None for any other type (kept so
    that a message can say the key is of a type anchor does not verify with).
    """

    id: str
    type: str
    public_key: bytes | None


@dataclass(frozen=True)
class DidDocument:
    """A DID document as the verifier uses it: the DID, its verification methods, which may sign credentials.

    ``source`` says where it came from, for the check's reason (``derived from the did:key``, the document's
    URL, a file's path...).
    """

    did: str
    methods: tuple[VerificationMethod, ...]
    assertion_method: tuple[str, ...]
    """Absolute ids of the methods listed under ``assertionMethod``: the keys that may sign credentials."""
    source: str

    def method(self, method_id: str) -> VerificationMethod | None:
        """The verification method with absolute id ``method_id``, if the document has it."""
        return next((method for method in self.methods if method.id == method_id), None)

    def may_assert(self, method_id: str) -> bool:
        """Whether ``method_id`` is listed under ``assertionMethod``."""
        return method_id in self.assertion_method


def split_method(reference: object) -> tuple[str, str]:
    """The DID and fragment of a verification method id ``<DID>#<fragment>``; InvalidInputError otherwise."""
    if not isinstance(reference, str):
        raise InvalidInputError(f"a verification method is a DID URL string, not {type(reference).__name__}")
    did, hashed, fragment = reference.partition("#")
    if len(reference) > MAX_DID_LENGTH + 256 or not hashed or not fragment or not did.startswith("did:"):
        raise InvalidInputError(f"verification method {_shown(reference)} is not a DID URL <DID>#<key>")
    if any(mark in did for mark in "/?") or any(mark in fragment for mark in "#/?"):
        raise InvalidInputError(
            f"verification method {_shown(reference)} is not a plain <DID>#<key> (no path or query allowed)"
        )
    return did, fragment


# ---------------------------------------------------------------------------------------------- parsing


def parse_did_document(document: object, did: str, source: str) -> DidDocument:
    """``document`` checked strictly as the DID document of ``did`` (see the module doc); from ``source``.

    :class:`DidDocumentError` names the DID, the source and the first problem found.
    """

    def refuse(problem: str) -> DidDocumentError:
        return DidDocumentError(f"the DID document of {did} ({source}) is unusable: {problem}")

    if not isinstance(document, Mapping):
        raise refuse(f"it is a JSON {type(document).__name__}, not an object")
    found = document.get("id")
    if found != did:
        raise refuse(f"its id is {_shown(found)}, not the DID: it is not this DID's document")
    methods: dict[str, VerificationMethod] = {}

    def add(entry: object, where: str) -> str:
        method = _method(entry, did, where)
        if isinstance(method, str):
            raise refuse(method)
        if method.id in methods:
            raise refuse(f"{where}: verification method {method.id} is defined twice")
        methods[method.id] = method
        return method.id

    listed = document.get("verificationMethod", [])
    if not isinstance(listed, list):
        raise refuse(f"verificationMethod is a {type(listed).__name__}, not a list")
    for position, entry in enumerate(listed):
        add(entry, f"verificationMethod/{position}")
    references = document.get("assertionMethod", [])
    if not isinstance(references, list):
        raise refuse(f"assertionMethod is a {type(references).__name__}, not a list")
    assertion: list[str] = []
    for position, entry in enumerate(references):
        where = f"assertionMethod/{position}"
        if isinstance(entry, Mapping):  # a method embedded under the relationship
            assertion.append(add(entry, where))
            continue
        method_id = _absolute(entry, did)
        if method_id is None:
            raise refuse(f"{where}: {_shown(entry)} is not a reference to one of the DID's verification methods")
        if method_id not in methods:
            raise refuse(f"{where}: {method_id} names no verification method of the document")
        assertion.append(method_id)
    return DidDocument(did, tuple(methods.values()), tuple(dict.fromkeys(assertion)), source)


def _method(entry: object, did: str, where: str) -> VerificationMethod | str:
    """The verification method ``entry`` at ``where``, or the problem with it."""
    if not isinstance(entry, Mapping):
        return f"{where} is a {type(entry).__name__}, not a verification method object"
    method_id = _absolute(entry.get("id"), did)
    if method_id is None:
        return f"{where}/id {_shown(entry.get('id'))} is not <DID>#<key> of this DID"
    kind = entry.get("type")
    if not isinstance(kind, str):
        return f"{where}/type {_shown(kind)} is not a string"
    controller = entry.get("controller")
    if controller != did:
        return f"{where}/controller is {_shown(controller)}, not the DID: a key controlled by another may not sign"
    if kind not in KEY_TYPES:
        return VerificationMethod(method_id, kind, None)
    multibase = entry.get("publicKeyMultibase")
    if not isinstance(multibase, str):
        return f"{where}/publicKeyMultibase is {_shown(multibase)}, not a string"
    if len(multibase) != _MULTIBASE_LENGTH:  # checked first: base58 decoding takes time quadratic in the length
        return f"{where}/publicKeyMultibase is {len(multibase)} characters; an Ed25519 key is {_MULTIBASE_LENGTH}"
    try:
        key = public_key_from_multibase(multibase)
    except InvalidInputError as error:
        return f"{where}/publicKeyMultibase: {_one_line(error)}"
    return VerificationMethod(method_id, kind, key)


def _absolute(reference: object, did: str) -> str | None:
    """``reference`` (``#key`` or ``<did>#key``) as an absolute method id of ``did``; None if it is not one."""
    if not isinstance(reference, str):
        return None
    absolute = did + reference if reference.startswith("#") else reference
    try:
        owner, _ = split_method(absolute)
    except InvalidInputError:
        return None
    return absolute if owner == did else None


# ---------------------------------------------------------------------------------------------- given files


def load_did_document(path: Path) -> DidDocument:
    """The did:web DID document in file ``path`` (strict JSON), for the DID that is its ``id``.

    A did:key needs no file (its document is the DID itself): one given is refused, as is anything that is
    not a usable DID document (:class:`InvalidInputError` naming the file and the problem).
    """
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as error:
        raise InvalidInputError(f"cannot read DID document {path}: {error.strerror or error}") from error
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidInputError(f"DID document {path} is larger than {MAX_DOCUMENT_BYTES} bytes")
    document = parse_credential(data, source=str(path))
    did = document.get("id")
    if not isinstance(did, str) or not did.startswith(DID_WEB_PREFIX):
        kind = "a did:key's document is derived from the DID itself" if _is_did_key(did) else "no did:web id"
        raise InvalidInputError(f"DID document {path}: its id is {_shown(did)} ({kind}); give did:web documents")
    parse_did_web(did, what=f"the id of DID document {path}")
    return parse_did_document(document, did, f"file {path}")


def given_documents(paths: Iterable[Path]) -> tuple[DidDocument, ...]:
    """The DID documents in files ``paths``; two files for one DID are refused."""
    documents: dict[str, DidDocument] = {}
    for path in paths:
        document = load_did_document(path)
        if document.did in documents:
            raise InvalidInputError(
                f"two DID documents for {document.did}: {documents[document.did].source} and file {path}"
            )
        documents[document.did] = document
    return tuple(documents.values())


def _is_did_key(value: object) -> bool:
    return isinstance(value, str) and value.startswith(DID_KEY_PREFIX)


# ---------------------------------------------------------------------------------------------- the resolver


@dataclass(frozen=True)
class ResolverSetup:
    """What a :class:`DidResolver` is built from (plain data: a bulk run's worker processes get a copy)."""

    documents: tuple[DidDocument, ...] = ()
    """DID documents given by the user: used for their DIDs before anything else."""
    cache_dir: Path | None = None
    """Folder of the on-disk cache of fetched did:web documents (private); None: memory only."""
    timeout: float = 10.0
    """Seconds one did:web request may take (and never beyond the verification's deadline)."""
    ca_bundle: Path | None = None
    """PEM file of the only certificate authorities trusted for did:web; None: the system's."""
    cache_seconds: float = CACHE_SECONDS


class DidResolver:
    """Resolves DIDs to checked DID documents (see the module doc); safe to share between threads."""

    def __init__(self, setup: ResolverSetup | None = None) -> None:
        self.setup = setup or ResolverSetup()
        if not self.setup.timeout > 0 or not self.setup.cache_seconds >= 0:
            raise InvalidInputError(
                f"a DID resolver needs a timeout > 0 and cache seconds >= 0, not {self.setup.timeout} and "
                f"{self.setup.cache_seconds}"
            )
        self._given = {document.did: document for document in self.setup.documents}
        self._documents: dict[str, tuple[float, DidDocument]] = {}
        self._failures: dict[str, tuple[float, DidResolutionError]] = {}
        self._lock = threading.Lock()
        self._fetching: dict[str, threading.Lock] = {}
        self._context: ssl.SSLContext | None = None

    def resolve(self, did: str, *, network: bool = True) -> DidDocument | None:
        """The checked DID document of ``did``.

        Raises :class:`DidDocumentError` or :class:`DidUnreachableError` (see the module doc). Without
        ``network``, a did:web document not given and not cached is not fetched: None.
        """
        given = self._given.get(did)
        if given is not None:
            return given
        if did.startswith(DID_KEY_PREFIX):
            return self._remembered(did) or self._keep(did, _did_key_document(did), forever=True)
        if not did.startswith(DID_WEB_PREFIX):
            method = did.split(":")[1] if did.count(":") >= 2 else did
            raise DidDocumentError(
                f"{_shown(did)}: anchor resolves did:web and did:key DIDs, not {_shown(method)} ones"
            )
        try:
            url = parse_did_web(did).document_url
        except InvalidInputError as error:
            raise DidDocumentError(_one_line(error)) from None
        known = self._remembered(did) or self._from_disk(did, url)
        if known is not None or not network:
            return known
        with self._lock:
            fetching = self._fetching.setdefault(did, threading.Lock())
        with fetching:  # one request per DID at a time; the others wait and take its answer
            known = self._remembered(did)
            if known is not None:
                return known
            # a request cut short by this verification's deadline says nothing about the issuer's site
            cut_short = request_end(self.setup.timeout) < time.monotonic() + self.setup.timeout - 0.01
            try:
                document, raw = self._fetch(did, url)
            except DidResolutionError as error:
                if not (cut_short and isinstance(error, DidUnreachableError)):
                    self._remember_failure(did, error)
                raise
            self._to_disk(did, url, raw)
            return self._keep(did, document)

    # ------------------------------------------------------------------ memory

    def _remembered(self, did: str) -> DidDocument | None:
        """The document of ``did`` kept in memory, if still fresh; a recent failure raised again."""
        now = time.monotonic()
        with self._lock:
            kept = self._documents.get(did)
            failed = self._failures.get(did)
        if kept is not None and now < kept[0]:
            return kept[1]
        if failed is not None and now < failed[0]:
            raise failed[1]
        return None

    def _keep(self, did: str, document: DidDocument, *, forever: bool = False) -> DidDocument:
        until = float("inf") if forever else time.monotonic() + self.setup.cache_seconds
        with self._lock:
            bounded_put(self._documents, did, (until, document))
            self._failures.pop(did, None)
        return document

    def _remember_failure(self, did: str, error: DidResolutionError) -> None:
        with self._lock:
            bounded_put(self._failures, did, (time.monotonic() + FAILURE_SECONDS, error))

    # ------------------------------------------------------------------ disk

    def _cache_path(self, did: str) -> Path | None:
        folder = self.setup.cache_dir
        if folder is None:
            return None
        import hashlib  # here: a verification that resolves no DID does not load OpenSSL's hashlib

        return folder / f"{hashlib.sha256(did.encode()).hexdigest()}.json"

    def _from_disk(self, did: str, url: str) -> DidDocument | None:
        """The document cached on disk for ``did``, if fresh and still a valid document of it; else None."""
        path = self._cache_path(did)
        if path is None:
            return None
        try:
            with open(path, "rb") as stream:
                data = stream.read(4 * MAX_DOCUMENT_BYTES + 1)
            entry = json.loads(data)
            fetched = entry["fetchedAt"]
            if entry["did"] != did or entry["url"] != url or not isinstance(fetched, int | float):
                return None
            age = time.time() - fetched
            if not 0 <= age < self.setup.cache_seconds:
                return None
            moment = datetime.fromtimestamp(fetched, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            document = parse_did_document(entry["document"], did, f"{url}, fetched {moment}, cached")
        except (OSError, ValueError, KeyError, TypeError, OverflowError):  # no cache, or one not worth reading
            return None
        until = time.monotonic() + self.setup.cache_seconds - age
        with self._lock:
            bounded_put(self._documents, did, (until, document))
        return document

    def _to_disk(self, did: str, url: str, raw: Mapping[str, Any]) -> None:
        path = self._cache_path(did)
        if path is None:
            return
        entry = {"did": did, "url": url, "fetchedAt": time.time(), "document": raw}
        try:
            private_directory(path.parent)
            write_json_atomically(path, entry, private=True)
        except OSError:  # a cache that cannot be written only costs a request next time
            pass

    # ------------------------------------------------------------------ network

    def _ssl_context(self) -> ssl.SSLContext:
        from anchor.verifier.https_fetch import ssl_context  # with http.client and ssl: only when fetching

        with self._lock:
            if self._context is None:
                self._context = ssl_context(self.setup.ca_bundle, DidUnreachableError)
            return self._context

    def _fetch(self, did: str, url: str) -> tuple[DidDocument, dict[str, Any]]:
        """GET the did:web document at ``url``: the checked document and its JSON."""
        from anchor.verifier.https_fetch import get_json

        raw = get_json(
            url,
            timeout=self.setup.timeout,
            context=self._ssl_context(),
            accept="application/did+json, application/json",
            max_bytes=MAX_DOCUMENT_BYTES,
            what="a DID document",
            fail=DidUnreachableError,
        )
        return parse_did_document(raw, did, url), raw


def _did_key_document(did: str) -> DidDocument:
    try:
        raw = did_key_document(check_did_key(did))
    except InvalidInputError as error:
        raise DidDocumentError(f"{_shown(did)} is not a usable did:key: {_one_line(error)}") from None
    return parse_did_document(raw, did, "derived from the did:key itself")


def bounded_put(memory: dict[str, Any], key: str, value: Any, limit: int = _MEMORY_ENTRIES) -> None:
    """Put ``key`` last in ``memory``, forgetting the oldest entries beyond ``limit`` (a small LRU-by-write
    cache; the caller holds its lock)."""
    memory.pop(key, None)
    memory[key] = value
    while len(memory) > limit:
        del memory[next(iter(memory))]


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 2 * _MAX_REASON else text[: 2 * _MAX_REASON - 3] + "..."


def _shown(value: object) -> str:
    """``value`` for a message: its repr, cut short (a hostile value can be long)."""
    text = repr(value)
    return text if len(text) <= 120 else f"{text[:100]}... ({len(text)} characters)"
