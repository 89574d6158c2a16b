"""The status list a credential names, compared with the chain: a warning when they disagree, never the verdict.

A credential issued with a ``credentialStatus`` (a W3C ``BitstringStatusListEntry``) is revoked for standard
wallets when its bit is set in the issuer's published status list; for ``anchor verify`` it is revoked when
the registry says so, and that stays the verdict (the chain is the authority). When the verifier has the
status list, it says whether the list agrees:

- the list comes from a file the user gave (``anchor verify --status-list FILE``, used for the URL that is
  its ``id``), or, with ``--fetch-status-lists``, from the entry's ``statusListCredential`` over HTTPS: no
  redirect, within the timeout (and the verification's deadline), at most :data:`MAX_FETCH_BYTES`, kept
  :data:`CACHE_SECONDS` in memory (a directory of receipts costs one request per list). A list is fetched
  only for a credential whose integrity and issuer checks passed: the URL is then one the registered issuer
  anchored, so a doctored receipt cannot send the verifier to a host of its choosing.
- the list must be a strict ``BitstringStatusListCredential`` for revocation (bounded decoding), issued by
  the credential's issuer and signed by it (one ``eddsa-rdfc-2022`` Data Integrity proof by a key its DID
  document lists under ``assertionMethod``). A list that is not is reported as untrustworthy and not read.
- its bit is compared with the ``revocation`` check: a disagreement is a warning naming the list and the
  index (a list that says "valid" for a credential the chain revoked misleads every standard wallet).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from anchor.credentials import parse_credential
from anchor.credentials.status_list import (
    StatusList,
    StatusListError,
    find_status_entry,
    parse_status_list_credential,
)
from anchor.errors import InvalidInputError
from anchor.verifier.dids import DidResolutionError, DidResolver, bounded_put, split_method
from anchor.verifier.model import Check, CheckState

if TYPE_CHECKING:
    import ssl

__all__ = [
    "CACHE_SECONDS",
    "MAX_FETCH_BYTES",
    "StatusListSetup",
    "StatusLists",
    "load_status_list",
    "status_list_warnings",
]

#: Largest status list file read or fetched: a sparse list of a few million entries is a few kilobytes.
MAX_FETCH_BYTES: Final = 2 << 20
#: Seconds a fetched list is used before it is fetched again; a failure is remembered for a minute.
CACHE_SECONDS: Final = 300.0
FAILURE_SECONDS: Final = 60.0
_MEMORY_ENTRIES: Final = 256
_REVOKED_CODES: Final = frozenset({"revoked", "batch-revoked"})


class StatusFetchError(InvalidInputError):
    """The status list could not be had (unreachable, HTTP error, redirect, too large, not JSON)."""


@dataclass(frozen=True)
class StatusListSetup:
    """What a verifier compares with the chain (plain data: a bulk run's worker processes get a copy)."""

    given: tuple[StatusList, ...] = ()
    """Status lists from files (``--status-list``), used for the URL that is their ``id``."""
    fetch: bool = False
    """Fetch the list a credential names when none is given (``--fetch-status-lists``)."""
    timeout: float = 10.0
    ca_bundle: Path | None = None
    """PEM file of the only certificate authorities trusted for fetching; None: the system's."""


def load_status_list(path: Path) -> StatusList:
    """The status list credential in file ``path`` (strict JSON, bounded); InvalidInputError naming the file."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_FETCH_BYTES + 1)
    except OSError as error:
        raise InvalidInputError(f"cannot read status list {path}: {error.strerror or error}") from error
    if len(data) > MAX_FETCH_BYTES:
        raise InvalidInputError(f"status list {path} is larger than {MAX_FETCH_BYTES} bytes")
    try:
        return parse_status_list_credential(parse_credential(data, source=str(path)))
    except InvalidInputError as error:
        raise InvalidInputError(f"status list {path}: {_one_line(error)}") from None


def given_lists(paths: Iterable[Path]) -> tuple[StatusList, ...]:
    """The status lists in files ``paths``; two files for one URL are refused."""
    lists: dict[str, tuple[Path, StatusList]] = {}
    for path in paths:
        status_list = load_status_list(path)
        if status_list.url in lists:
            raise InvalidInputError(f"two status lists for {status_list.url}: {lists[status_list.url][0]} and {path}")
        lists[status_list.url] = (path, status_list)
    return tuple(status_list for _, status_list in lists.values())


class StatusLists:
    """The status lists a verifier has: given ones, and (when allowed) fetched ones, cached. Thread-safe."""

    def __init__(self, setup: StatusListSetup | None = None) -> None:
        self.setup = setup or StatusListSetup()
        self._given = {status_list.url: status_list for status_list in self.setup.given}
        self._memory: dict[str, tuple[float, StatusList | StatusFetchError]] = {}
        self._lock = threading.Lock()
        self._fetching: dict[str, threading.Lock] = {}
        self._context: ssl.SSLContext | None = None

    @property
    def enabled(self) -> bool:
        """Whether any list can be had at all."""
        return bool(self._given) or self.setup.fetch

    def is_given(self, url: str) -> bool:
        """Whether the user gave the list at ``url``."""
        return url in self._given

    def get(self, url: str) -> StatusList | None:
        """The list at ``url``: given, cached or fetched; None when there is none and fetching is off.

        Raises :class:`StatusFetchError` or :class:`~anchor.credentials.status_list.StatusListError`.
        """
        given = self._given.get(url)
        if given is not None or not self.setup.fetch:
            return given
        with self._lock:
            fetching = self._fetching.setdefault(url, threading.Lock())
        with fetching:  # one request per list at a time; the others wait and take its answer
            known = self._remembered(url)
            if known is None:
                try:
                    known = self._fetch(url)
                except (StatusFetchError, StatusListError) as error:
                    self._keep(url, StatusFetchError(str(error)), FAILURE_SECONDS)
                    raise
                self._keep(url, known, CACHE_SECONDS)
        if isinstance(known, StatusFetchError):
            raise known
        return known

    def _remembered(self, url: str) -> StatusList | StatusFetchError | None:
        with self._lock:
            entry = self._memory.get(url)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def _keep(self, url: str, value: StatusList | StatusFetchError, seconds: float) -> None:
        with self._lock:
            bounded_put(self._memory, url, (time.monotonic() + seconds, value), _MEMORY_ENTRIES)

    def _ssl_context(self) -> ssl.SSLContext:
        from anchor.verifier.https_fetch import ssl_context  # with http.client and ssl: only when fetching

        with self._lock:
            if self._context is None:
                self._context = ssl_context(self.setup.ca_bundle, StatusFetchError)
            return self._context

    def _fetch(self, url: str) -> StatusList:
        """GET the status list at ``url`` (an https URL, checked when the entry was parsed) and read it strictly."""
        from anchor.verifier.https_fetch import get_json

        document = get_json(
            url,
            timeout=self.setup.timeout,
            context=self._ssl_context(),
            accept="application/vc+ld+json, application/json",
            max_bytes=MAX_FETCH_BYTES,
            what="a status list",
            fail=StatusFetchError,
        )
        return parse_status_list_credential(document)


def status_list_warnings(
    credential: Mapping[str, Any], checks: Mapping[str, Check], lists: StatusLists, resolver: DidResolver
) -> list[str]:
    """What to tell about the status list ``credential`` names, compared with the chain (the ``revocation`` check).

    A list is fetched only when the ``integrity`` and ``issuer`` checks passed (the entry is what the registered
    issuer anchored). Nothing is said when there is no list to compare with, or when it agrees with the chain.
    """
    if not lists.enabled:
        return []
    revocation = checks["revocation"]
    confirmed = all(checks[name].state is CheckState.PASSED for name in ("integrity", "issuer"))
    try:
        entry = find_status_entry(credential)
    except StatusListError as error:
        return [f"the credential's status entry is unusable: {_one_line(error)}"]
    if entry is None:
        return []
    where = f"status list {entry.list_url}"
    if not confirmed and not lists.is_given(entry.list_url):
        return []  # a list is fetched only for what the registered issuer anchored
    try:
        status_list = lists.get(entry.list_url)
    except (StatusFetchError, StatusListError) as error:
        return [f"{where} could not be read: {_one_line(error)}"]
    if status_list is None:
        return []
    problem = _untrustworthy(status_list, credential, resolver, network=confirmed)
    if problem is not None:
        return [f"{where} is untrustworthy, not compared with the chain: {problem}"]
    if entry.index >= len(status_list.bits):
        return [f"{where} has {len(status_list.bits)} entries; the credential's index {entry.index} is beyond it"]
    listed = status_list.bits.get(entry.index)
    if revocation.state is CheckState.PASSED:
        chain = False
    elif revocation.state is CheckState.FAILED and revocation.code in _REVOKED_CODES:
        chain = True
    else:
        return []  # the chain's answer is not known: nothing to compare with
    if listed == chain:
        return []
    if chain:
        return [
            f"{where} says entry {entry.index} is not revoked, but the chain says the credential is revoked: "
            "standard wallets reading that list are misled (the issuer should run `anchor status publish`); "
            "the chain decides"
        ]
    return [f"{where} says entry {entry.index} is revoked, but the chain does not: the chain decides"]


def _untrustworthy(
    status_list: StatusList, credential: Mapping[str, Any], resolver: DidResolver, *, network: bool
) -> str | None:
    """Why ``status_list`` cannot be trusted for ``credential``: not its issuer's, or not signed by it; else None."""
    from anchor.credentials.data_integrity import CRYPTOSUITE, verify

    issuer = credential.get("issuer")
    issuer = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if status_list.issuer != issuer:
        return f"issued by {status_list.issuer!r:.120}, not by the credential's issuer {issuer!r:.120}"
    proofs = status_list.document.get("proof")
    proofs = proofs if isinstance(proofs, list) else [] if proofs is None else [proofs]
    if len(proofs) != 1 or not isinstance(proofs[0], Mapping):
        return f"it carries {len(proofs)} proofs; one, its issuer's Data Integrity proof, is expected"
    proof = dict(proofs[0])
    if (proof.get("type"), proof.get("cryptosuite"), proof.get("proofPurpose")) != (
        "DataIntegrityProof",
        CRYPTOSUITE,
        "assertionMethod",
    ):
        return f"its proof is not a DataIntegrityProof {CRYPTOSUITE} for assertionMethod"
    method = proof.get("verificationMethod")
    try:
        did, _ = split_method(method)
    except InvalidInputError as error:
        return _one_line(error)
    if did != issuer:
        return f"signed with {method!r:.160}, a key of another DID than the issuer's"
    try:
        document = resolver.resolve(did, network=network)
    except DidResolutionError as error:
        return f"the issuer's DID document could not be had: {_one_line(error)}"
    if document is None:
        return f"the DID document of {did} is not known offline"
    key = document.method(str(method))
    if not document.may_assert(str(method)) or key is None or key.public_key is None:
        return f"{method} is not an Ed25519 key the DID document lists under assertionMethod"
    unsigned = {name: value for name, value in status_list.document.items() if name != "proof"}
    try:
        verify(unsigned, proof, key.public_key)
    except InvalidInputError as error:
        return f"its signature by {method} does not verify: {_one_line(error)}"
    return None


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."
