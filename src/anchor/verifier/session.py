"""The verifier itself: RPC endpoints (all must agree), trusted registries, connections and caches.

A :class:`Verifier` keeps one kept-alive connection per endpoint and thread and caches ``eth_chainId`` and
issuer records, so verifying many receipts costs one ``eth_call`` each; each verification runs the checks of
:mod:`anchor.verifier.checks`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from anchor.chain.jsonrpc import JsonRpcEndpoint, RpcError
from anchor.chain.registry_abi import IssuerInfo, registry_abi
from anchor.credentials import MAX_CREDENTIAL_BYTES
from anchor.credentials.receipt import AnchorProof
from anchor.errors import InvalidInputError
from anchor.verifier.checks import ReceiptInput, Run
from anchor.verifier.model import Verification
from anchor.verifier.onchain import ChainAnswer, ask
from anchor.verifier.trust import TrustedRegistry, as_trusted

#: Block tag the registry is read at: a batch counts once it is final.
FINALIZED = "finalized"

T = TypeVar("T")


class Verifier:
    """Verifies receipts against ``rpc_urls`` (all must agree) and the ``trusted`` registries.

    Keeps one kept-alive connection per endpoint and thread, and caches ``eth_chainId`` and issuer records,
    so verifying many receipts costs one ``eth_call`` each. Safe to use from several threads.
    """

    def __init__(
        self,
        rpc_urls: Sequence[str],
        trusted: Iterable[TrustedRegistry | str],
        *,
        timeout: float = 10.0,
        block: str = FINALIZED,
    ) -> None:
        urls = list(dict.fromkeys(rpc_urls))
        if not urls:
            raise InvalidInputError("a verifier needs at least one RPC endpoint")
        self.endpoints = [JsonRpcEndpoint(url, timeout=timeout) for url in urls]
        self.timeout = timeout
        self.trusted = [as_trusted(item) for item in trusted]
        self.block = block
        self._abi = registry_abi()
        self._issuers: dict[tuple[str, str, int], IssuerInfo] = {}
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

    def verify(self, receipt: ReceiptInput, *, now: datetime | None = None, source: str | None = None) -> Verification:
        """Run every check on ``receipt`` (JSON text or a parsed object) and return the verdict."""
        return Run(self, now or datetime.now(UTC), source).run(receipt)

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

        if self._pool is None:
            return [guarded(endpoint) for endpoint in self.endpoints]
        return list(self._pool.map(guarded, self.endpoints))

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


def verify(
    receipt: ReceiptInput,
    *,
    rpc_urls: Sequence[str],
    trusted_registries: Iterable[TrustedRegistry | str],
    now: datetime | None = None,
    timeout: float = 10.0,
) -> Verification:
    """Verify one receipt against ``rpc_urls`` (all must agree) and the ``trusted_registries``.

    A trusted registry is a :class:`TrustedRegistry` or a bare address (trusted on the endpoints' chain).
    ``now`` (default: the current time) is the moment the validity period is checked at.
    """
    with Verifier(rpc_urls, trusted_registries, timeout=timeout) as verifier:
        return verifier.verify(receipt, now=now)
