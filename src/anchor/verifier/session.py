"""The verifier itself: RPC endpoints (all must agree), trusted registries, connections and caches.

A :class:`Verifier` keeps one kept-alive connection per endpoint and thread and caches ``eth_chainId`` and
issuer identities (never what changes: keys, deactivation), so verifying many receipts costs one
``eth_call`` each; each verification runs the checks of :mod:`anchor.verifier.checks`.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from anchor.chain.jsonrpc import JsonRpcEndpoint, RpcError, rpc_deadline
from anchor.chain.registry_abi import CredentialCheck, registry_abi
from anchor.credentials import MAX_CREDENTIAL_BYTES
from anchor.credentials.receipt import AnchorProof
from anchor.errors import InvalidInputError
from anchor.verifier.checks import ReceiptInput, Run
from anchor.verifier.dids import DidResolver, ResolverSetup
from anchor.verifier.model import CHECKS, Check, CheckState, Verdict, Verification
from anchor.verifier.onchain import AnchoringEvent, ChainAnswer, RegisteredIssuer, anchoring_event, ask
from anchor.verifier.status import StatusLists, StatusListSetup, status_list_warnings
from anchor.verifier.trust import TrustedRegistry, as_trusted

#: Block tag the registry is read at: a batch counts once it is final.
FINALIZED = "finalized"
#: The status of a result whose verification failed unexpectedly (a bug, or an input nobody foresaw).
VERIFIER_ERROR = "VERIFIER ERROR"
#: Longest exception message kept in a result.
_MAX_ERROR_TEXT = 300

T = TypeVar("T")


class Verifier:
    """Verifies receipts against ``rpc_urls`` (all must agree) and the ``trusted`` registries.

    Keeps one kept-alive connection per endpoint and thread, and caches ``eth_chainId`` and issuer identities,
    so verifying many receipts costs one ``eth_call`` each. Safe to use from several threads. ``dids`` resolves
    the issuers' DIDs (a :class:`~anchor.verifier.dids.DidResolver` or its setup; default: no given documents,
    no disk cache, the system's certificate authorities).
    """

    def __init__(
        self,
        rpc_urls: Sequence[str],
        trusted: Iterable[TrustedRegistry | str],
        *,
        timeout: float = 10.0,
        block: str = FINALIZED,
        dids: DidResolver | ResolverSetup | None = None,
        status_lists: StatusLists | StatusListSetup | None = None,
    ) -> None:
        urls = list(dict.fromkeys(rpc_urls))
        if not urls:
            raise InvalidInputError("a verifier needs at least one RPC endpoint")
        self.endpoints = [JsonRpcEndpoint(url, timeout=timeout) for url in urls]
        self.timeout = timeout
        self.trusted = [as_trusted(item) for item in trusted]
        self.block = block
        self.dids = dids if isinstance(dids, DidResolver) else DidResolver(dids)
        """Resolves the issuers' DIDs for the signature check (given documents, did:key, did:web, caches)."""
        self.status_lists = status_lists if isinstance(status_lists, StatusLists) else StatusLists(status_lists)
        """The status lists compared with the chain (given, or fetched when allowed): :mod:`anchor.verifier.status`."""
        self._abi = registry_abi()
        self._issuers: dict[tuple[str, str, int], RegisteredIssuer] = {}
        self._anchorings: dict[tuple[str, str, int, int, str, int], AnchoringEvent] = {}
        self._pool = ThreadPoolExecutor(len(self.endpoints), "rpc") if len(self.endpoints) > 1 else None

    def close(self) -> None:
        """Close connections and the endpoint thread pool."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        for endpoint in self.endpoints:
            endpoint.close()

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ entry points

    def verify(
        self,
        receipt: ReceiptInput,
        *,
        now: datetime | None = None,
        source: str | None = None,
        deadline: float | None = None,
    ) -> Verification:
        """Run every check on ``receipt`` (JSON text or a parsed object) and return the verdict.

        ``deadline`` (a :func:`time.monotonic` time) ends every RPC request still open then: the endpoints not
        answered by then are unreachable. Nothing raised while verifying ends the caller's work: an unexpected
        exception is this receipt's ERROR result, status :data:`VERIFIER_ERROR`, naming it (no traceback).
        """
        run = Run(self, now or datetime.now(UTC), source)
        try:
            with rpc_deadline(deadline):
                return run.run(receipt)
        except Exception as error:  # one receipt's failure is its own result, never the caller's end
            return _failed(run, error)

    def verify_file(self, path: str | os.PathLike[str], *, now: datetime | None = None) -> Verification:
        """Verify the receipt in file ``path`` (at most 1 MiB); an unreadable file is an ERROR result."""
        name = str(path)
        try:
            with open(path, "rb") as stream:
                data = stream.read(MAX_CREDENTIAL_BYTES + 1)
        except OSError as error:
            return Run(self, now or datetime.now(UTC), name).unusable(
                f"cannot read {name}: {error.strerror or error}", "unreadable"
            )
        return self.verify(data, now=now, source=name)

    def verify_many(
        self,
        items: Iterable[T],
        verify_one: Callable[[T], Verification] | None = None,
        *,
        workers: int = 8,
    ) -> Iterable[Verification]:
        """Verify ``items`` (paths by default) with ``workers`` threads; results come in input order."""
        function: Callable[[Any], Verification] = verify_one or self.verify_file
        if workers <= 1:
            yield from map(function, items)
            return
        with ThreadPoolExecutor(workers, "verify") as pool:
            yield from pool.map(function, items)

    # ------------------------------------------------------------------ what the checks ask

    def trust_of(self, chain_id: int, address: str) -> TrustedRegistry | None:
        """The trust entry for ``address`` on ``chain_id``, if any."""
        return next((item for item in self.trusted if item.matches(chain_id, address)), None)

    def each_endpoint(self, function: Callable[[JsonRpcEndpoint], T]) -> list[T | RpcError]:
        """``function`` of every endpoint (in parallel when there are several); RpcErrors returned in place."""

        def guarded(endpoint: JsonRpcEndpoint) -> T | RpcError:
            try:
                return function(endpoint)
            except RpcError as error:
                return error
            except Exception as error:  # whatever makes an endpoint fail is that endpoint's error
                return RpcError(f"{endpoint.shown_url}: {_named(error)}")

        if self._pool is None:
            return [guarded(endpoint) for endpoint in self.endpoints]
        # each in a copy of this thread's context, so that the pool's threads keep its RPC deadline
        contexts = [contextvars.copy_context() for _ in self.endpoints]
        return list(self._pool.map(lambda context, endpoint: context.run(guarded, endpoint), contexts, self.endpoints))

    def ask(self, endpoint: JsonRpcEndpoint, proof: AnchorProof) -> ChainAnswer:
        """The registry's answer about ``proof`` from ``endpoint``."""
        return ask(
            endpoint,
            self._abi,
            proof.registry,
            batch_id=proof.batch_id,
            index=proof.index,
            digest=proof.digest,
            proof=proof.merkle_proof,
            issuer_id=proof.issuer_id,
            block=self.block,
            issuer_cache=self._issuers,
        )

    def status_list_warnings(self, credential: dict[str, Any], checks: dict[str, Check]) -> list[str]:
        """What the status list the credential names says against the chain (:mod:`anchor.verifier.status`)."""
        return status_list_warnings(credential, checks, self.status_lists, self.dids)

    def anchoring(
        self, endpoint: JsonRpcEndpoint, proof: AnchorProof, status: CredentialCheck
    ) -> AnchoringEvent | None:
        """The ``BatchAnchored`` event of the batch ``status`` describes, from ``endpoint``.

        Asked in the batch's own block (from the registry, not the receipt). Read at the finalized block, an event
        found is kept: a final block never changes, and a directory of one batch's receipts costs one
        ``eth_getLogs`` per endpoint.
        """
        issuer, block = status.issuer_id, status.anchored_at_block
        key = (endpoint.url, proof.registry.lower(), proof.batch_id, issuer, proof.root, block)
        event = self._anchorings.get(key)
        if event is None:
            event = anchoring_event(
                endpoint,
                self._abi,
                proof.registry,
                batch_id=proof.batch_id,
                issuer_id=issuer,
                root=proof.root,
                block=block,
            )
            if event is not None and self.block == FINALIZED:
                self._anchorings[key] = event
        return event


def _named(error: BaseException) -> str:
    """``error`` as its class and message on one line, shortened."""
    text = " ".join(str(error).split())
    if len(text) > _MAX_ERROR_TEXT:
        text = text[: _MAX_ERROR_TEXT - 3] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _failed(run: Run, error: Exception) -> Verification:
    """The ERROR result of ``run`` after ``error``: the checks done so far, the others not checked."""
    why = f"the verifier failed on this receipt: {_named(error)}"
    checks = tuple(
        Check(name, CheckState.NOT_CHECKED, f"not checked: {why}", "verifier-error")
        if run.checks[name].code == "not-checked"
        else run.checks[name]
        for name, _ in CHECKS
    )
    return Verification(
        checks=checks,
        verdict=Verdict.ERROR,
        status=VERIFIER_ERROR,
        summary=why[:1].upper() + why[1:],
        checked_at=run.now,
        source=run.source,
        evidence=run.evidence,
        credential=run.summary,
    )


def verify(
    receipt: ReceiptInput,
    *,
    rpc_urls: Sequence[str],
    trusted_registries: Iterable[TrustedRegistry | str],
    now: datetime | None = None,
    timeout: float = 10.0,
    dids: ResolverSetup | None = None,
) -> Verification:
    """Verify one receipt against ``rpc_urls`` (all must agree) and the ``trusted_registries``.

    A trusted registry is a :class:`TrustedRegistry` or a bare address (trusted on the endpoints' chain).
    ``now`` (default: the current time) is the moment the validity period is checked at; ``dids`` says how
    the issuer's DID is resolved (see :class:`Verifier`).
    """
    with Verifier(rpc_urls, trusted_registries, timeout=timeout, dids=dids) as verifier:
        return verifier.verify(receipt, now=now)
