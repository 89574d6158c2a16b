"""The verifier itself: RPC endpoints (all must agree), trusted registries, connections and caches.

A :class:`Verifier` keeps one kept-alive connection per endpoint and thread and caches ``eth_chainId`` and
issuer identities (never what changes: keys, deactivation), so verifying many receipts costs one
``eth_call`` each; each verification runs the checks of :mod:`anchor.verifier.checks`. Inside
:meth:`Verifier.prefetched`, those calls for many receipts are asked ahead in JSON-RPC batch requests
(:mod:`anchor.verifier.bulk` does so for directories).
"""

from __future__ import annotations

import contextvars
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from anchor.chain.jsonrpc import BatchRefusedError, JsonRpcEndpoint, RpcError, rpc_deadline
from anchor.chain.registry_abi import CredentialCheck, CredentialStatus, registry_abi
from anchor.chain.status_reader import status_reader
from anchor.credentials import MAX_CREDENTIAL_BYTES, credential_digest, parse_credential
from anchor.credentials.digest import plain_credential_digest
from anchor.credentials.receipt import AnchorProof, split_receipt
from anchor.errors import InvalidInputError
from anchor.sharing.baking import MAX_BADGE_BYTES, badge_kind, read_receipt_or_badge
from anchor.verifier.checks import ReceiptInput, Run
from anchor.verifier.dids import DidResolver, ResolverSetup
from anchor.verifier.model import CHECKS, Check, CheckState, Verdict, Verification
from anchor.verifier.onchain import (
    AnchoringEvent,
    AnchoringQuestion,
    ChainAnswer,
    Question,
    RegisteredIssuer,
    anchoring_event,
    anchorings_many,
    ask,
    ask_many,
    endpoint_error,
    named,
)
from anchor.verifier.reading import parse_receipt, parse_receipt_fast
from anchor.verifier.status import StatusLists, StatusListSetup, status_list_warnings
from anchor.verifier.trust import TrustedRegistry, as_trusted

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

#: Block tag the registry is read at: a batch counts once it is final.
FINALIZED = "finalized"
#: The status of a result whose verification failed unexpectedly (a bug, or an input nobody foresaw).
VERIFIER_ERROR = "VERIFIER ERROR"
#: Statuses for which the checks do not look for the batch's ``BatchAnchored`` event.
_NO_ANCHORING = frozenset({CredentialStatus.UNKNOWN_BATCH, CredentialStatus.BAD_PROOF})

T = TypeVar("T")
#: A receipt's text, as read from a file or sent by a client.
ReceiptText = str | bytes
#: A receipt's credential (without the anchoring proof) and its anchoring proof.
Split = tuple[dict[str, Any], AnchorProof]
#: A receipt parsed, split, and whether plainly (:func:`~anchor.verifier.reading.parse_receipt_fast`).
_Read = tuple[Any, Split, bool]


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
        read_many: bool = True,
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
        self.read_many = read_many
        """Whether a directory's statuses are asked many to an ``eth_call`` (the deployless status reader of
        :mod:`anchor.chain.status_reader`) where an endpoint allows it, or one ``eth_call`` each."""
        self._reader_refused: set[str] = set()  # endpoints that refused the status reader
        self._ahead: tuple[_Ahead, ...] = ()  # what each open prefetched() asked and parsed
        self._ahead_lock = threading.Lock()
        self._splits: dict[int, _Read] = {}  # by id() of the document parsed() handed out
        # credentials split from a plainly parsed receipt (reading.parse_receipt_fast), by id(), until hashed
        self._plain: dict[int, dict[str, Any]] = {}
        self._pool: ThreadPoolExecutor | None = None
        if len(self.endpoints) > 1:
            from concurrent.futures import ThreadPoolExecutor  # only here: a one-receipt run starts faster

            # two per endpoint: the next chunk's questions (prefetched) are asked while this one's are read
            self._pool = ThreadPoolExecutor(2 * len(self.endpoints), "rpc")

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
        require: Iterable[str] | None = None,
    ) -> Verification:
        """Run every check on ``receipt`` (JSON text or a parsed object) and return the verdict.

        ``require``: for a presentation, the paths that must be disclosed (default: the Annex I mandatory
        elements other than the learner's identifiers; see :mod:`anchor.verifier.disclosed`).

        ``deadline`` (a :func:`time.monotonic` time) ends every RPC request still open then: the endpoints not
        answered by then are unreachable. Nothing raised while verifying ends the caller's work: an unexpected
        exception is this receipt's ERROR result, status :data:`VERIFIER_ERROR`, naming it (no traceback).
        """
        run = Run(self, now or datetime.now(UTC), source, require)
        try:
            with rpc_deadline(deadline):
                return run.run(receipt)
        except Exception as error:  # one receipt's failure is its own result, never the caller's end
            return _failed(run, error)

    def verify_file(
        self, path: str | os.PathLike[str], *, now: datetime | None = None, require: Iterable[str] | None = None
    ) -> Verification:
        """Verify the receipt in file ``path`` (at most 1 MiB; a baked badge image at most 10 MiB); an unreadable
        file is an ERROR result."""
        name = str(path)
        try:
            data = read_receipt_file(path)
        except OSError as error:
            return Run(self, now or datetime.now(UTC), name).unusable(
                f"cannot read {name}: {error.strerror or error}", "unreadable"
            )
        return self.verify(data, now=now, source=name, require=require)

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
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers, "verify") as pool:
            yield from pool.map(function, items)

    @contextmanager
    def prefetched(self, receipts: Iterable[ReceiptText]) -> Iterator[set[ReceiptText]]:
        """Ask each endpoint ahead, in a few JSON-RPC batch requests, what verifying ``receipts`` will ask.

        Inside, :meth:`verify` of one of these texts finds its receipt parsed and the registry's answers (the
        status, the issuer, the batch's ``BatchAnchored`` event) already there, and runs every check on them as
        if it had asked itself (:func:`~anchor.verifier.onchain.ask_many`: the same calls, decoded and checked
        the same way). Asked are only the receipts that parse, of a trusted registry, on each endpoint's chain;
        what needs more (a revoked credential, a batch not final) and everything else is asked by the receipt's
        own verification, as without this. An endpoint that refuses batches (one JSON-RPC error object for an
        answer, as many public endpoints give) is asked by each receipt's own verification too. A request an
        endpoint fails, or a batch it answers wrongly, is that endpoint's error for the receipts whose answers
        it carried, as if each had been asked alone; the
        endpoints are asked in parallel, and each one's answers are compared as usual. Nothing asked is kept
        after the ``with`` block but what the verifier always caches.

        Yields the receipts whose verification will still ask an endpoint something (worth a thread each).
        """
        ahead = _Ahead()
        proofs: list[AnchorProof] = []
        for text in receipts:
            read = _read(text)
            if read is None:
                continue
            proof = read[1][1]
            ahead.parsed[text] = read
            if read[2]:
                ahead.plain.append(read[1][0])
            if self.trust_of(proof.chain_id, proof.registry) is not None:
                proofs.append(proof)
        if proofs:
            self.each_endpoint(lambda endpoint: self._prefetch(endpoint, proofs, ahead))
        asking = {text for text, read in ahead.parsed.items() if not self._answered(read[1][1], ahead)}
        with self._ahead_lock:
            self._ahead = (*self._ahead, ahead)
        try:
            yield asking
        finally:
            with self._ahead_lock:
                self._ahead = tuple(item for item in self._ahead if item is not ahead)
            for handed in ahead.handed:  # parsed but never split (a presentation, say): not kept either
                self._splits.pop(handed, None)
            for credential in ahead.plain:  # split but never hashed (a verification that failed before)
                if self._plain.get(id(credential)) is credential:
                    del self._plain[id(credential)]

    def _answered(self, proof: AnchorProof, ahead: _Ahead) -> bool:
        """Whether verifying ``proof`` will ask no endpoint anything: every answer is in ``ahead`` (or none is
        asked)."""
        if self.trust_of(proof.chain_id, proof.registry) is None:
            return True
        question = Question.of(proof)
        for endpoint in self.endpoints:
            answer = ahead.answers.get((endpoint.url, question))
            if answer is None:
                return False
            if isinstance(answer, ChainAnswer) and answer.status.status not in _NO_ANCHORING:
                issuer, block = answer.status.issuer_id, answer.status.anchored_at_block
                asked = AnchoringQuestion(proof.registry, proof.batch_id, issuer, proof.root, block)
                key = (endpoint.url, proof.registry.lower(), proof.batch_id, issuer, proof.root, block)
                if key not in self._anchorings and (endpoint.url, asked) not in ahead.events:
                    return False
        return True

    def _prefetch(self, endpoint: JsonRpcEndpoint, proofs: Sequence[AnchorProof], ahead: _Ahead) -> None:
        """Ask ``endpoint`` about ``proofs`` (those on its chain) ahead, into ``ahead``; nothing when it refuses
        batches (each receipt then asks it alone)."""
        chain_id = endpoint.chain_id()
        mine = [proof for proof in proofs if proof.chain_id == chain_id]
        try:
            answers = ask_many(
                endpoint,
                self._abi,
                [Question.of(p) for p in mine],
                block=self.block,
                issuer_cache=self._issuers,
                reader=status_reader() if self.read_many else None,
                reader_refused=self._reader_refused,
            )
        except BatchRefusedError:
            return
        url = endpoint.url
        for question, answer in answers.items():
            ahead.answers[url, question] = answer
        events: dict[AnchoringQuestion, None] = {}
        for proof in mine:
            said = answers.get(Question.of(proof))
            if not isinstance(said, ChainAnswer) or said.status.status in _NO_ANCHORING:
                continue
            issuer, block = said.status.issuer_id, said.status.anchored_at_block
            if (url, proof.registry.lower(), proof.batch_id, issuer, proof.root, block) not in self._anchorings:
                events[AnchoringQuestion(proof.registry, proof.batch_id, issuer, proof.root, block)] = None
        try:
            read = anchorings_many(endpoint, self._abi, events) if events else {}
        except BatchRefusedError:
            return
        for asked, event in read.items():
            if isinstance(event, AnchoringEvent) and self.block == FINALIZED:  # as anchoring() keeps it
                key = (url, asked.registry.lower(), asked.batch_id, asked.issuer_id, asked.root, asked.block)
                self._anchorings[key] = event
            else:
                ahead.events[url, asked] = event

    def parsed(self, text: ReceiptText | bytearray | memoryview) -> Any:
        """``text`` parsed as strict I-JSON (:func:`~anchor.credentials.parse_credential`'s result, at C speed by
        :func:`~anchor.verifier.reading.parse_receipt` when provably the same), by :meth:`prefetched` already when
        it parsed it."""
        if self._ahead and isinstance(text, str | bytes):
            for ahead in self._ahead:
                read = ahead.parsed.pop(text, None)  # once: a verification may change what it was given
                if read is not None:
                    self._splits[id(read[0])] = read
                    ahead.handed.append(id(read[0]))
                    return read[0]
        return parse_receipt(text)

    def split(self, document: Mapping[str, Any]) -> Split:
        """The credential and the anchoring proof of receipt ``document``
        (:func:`~anchor.credentials.receipt.split_receipt`; by :meth:`prefetched` already when it parsed it)."""
        if self._splits:
            read = self._splits.pop(id(document), None)
            if read is not None and read[0] is document:
                if read[2]:
                    self._plain[id(read[1][0])] = read[1][0]
                return read[1]
        return split_receipt(document)

    def credential_digest(self, credential: dict[str, Any]) -> bytes:
        """:func:`~anchor.credentials.credential_digest` of ``credential``, without walking it again when
        :meth:`split` took it from a plainly parsed receipt
        (:func:`~anchor.credentials.digest.plain_credential_digest`: the same bytes)."""
        if self._plain and self._plain.get(id(credential)) is credential:
            del self._plain[id(credential)]
            return plain_credential_digest(credential)
        return credential_digest(credential)

    # ------------------------------------------------------------------ what the checks ask

    def trust_of(self, chain_id: int, address: str) -> TrustedRegistry | None:
        """The trust entry for ``address`` on ``chain_id``, if any."""
        return next((item for item in self.trusted if item.matches(chain_id, address)), None)

    def each_endpoint(self, function: Callable[[JsonRpcEndpoint], T]) -> list[T | RpcError]:
        """``function`` of every endpoint (in parallel when there are several); RpcErrors returned in place."""

        def guarded(endpoint: JsonRpcEndpoint) -> T | RpcError:
            try:
                return function(endpoint)
            except Exception as error:  # whatever makes an endpoint fail is that endpoint's error
                return endpoint_error(endpoint, error)

        if self._pool is None:
            return [guarded(endpoint) for endpoint in self.endpoints]
        # each in a copy of this thread's context, so that the pool's threads keep its RPC deadline
        contexts = [contextvars.copy_context() for _ in self.endpoints]
        return list(self._pool.map(lambda context, endpoint: context.run(guarded, endpoint), contexts, self.endpoints))

    def ask(self, endpoint: JsonRpcEndpoint, proof: AnchorProof) -> ChainAnswer:
        """The registry's answer about ``proof`` from ``endpoint`` (asked ahead by :meth:`prefetched`, or now)."""
        if self._ahead:
            question = (endpoint.url, Question.of(proof))
            for ahead in self._ahead:
                found = ahead.answers.get(question)
                if isinstance(found, RpcError):
                    raise found
                if found is not None:
                    return found
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
        if event is None and self._ahead:
            asked = (endpoint.url, AnchoringQuestion(proof.registry, proof.batch_id, issuer, proof.root, block))
            for ahead in self._ahead:
                if asked in ahead.events:
                    found = ahead.events[asked]
                    if isinstance(found, RpcError):
                        raise found
                    return found
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


def read_receipt_file(path: str | os.PathLike[str]) -> bytes:
    """What a verifier reads of the file ``path``: :func:`~anchor.sharing.baking.read_receipt_or_badge` of it,
    the same bytes, but for a regular file no larger than a receipt, read into a buffer of its own size (that
    function asks for a receipt's 1 MiB, which costs three times the reading of a usual 4 KiB receipt).
    OSError if it cannot be read."""
    with open(path, "rb") as stream:
        status = os.fstat(stream.fileno())
        size = status.st_size
        if not (stat.S_ISREG(status.st_mode) and 0 < size <= MAX_CREDENTIAL_BYTES):
            return read_receipt_or_badge(stream)
        data = stream.read(size + 1)
        if len(data) <= size:
            return data
        # the file grew since: read on as read_receipt_or_badge reads
        data += stream.read(MAX_CREDENTIAL_BYTES + 1 - len(data))
        if len(data) > MAX_CREDENTIAL_BYTES and badge_kind(data) is not None:
            data += stream.read(MAX_BADGE_BYTES - len(data) + 1)
        return data


class _Ahead:
    """What one :meth:`Verifier.prefetched` parsed and asked, by endpoint URL (its own, so that two at a time,
    one verified while the next is asked, never see or drop each other's)."""

    def __init__(self) -> None:
        self.parsed: dict[ReceiptText, _Read] = {}
        self.plain: list[dict[str, Any]] = []  # the credentials of plainly parsed receipts
        self.answers: dict[tuple[str, Question], ChainAnswer | RpcError] = {}
        self.events: dict[tuple[str, AnchoringQuestion], AnchoringEvent | RpcError | None] = {}
        self.handed: list[int] = []  # id() of the documents parsed() handed out


def _read(text: ReceiptText) -> _Read | None:
    """The parsed receipt ``text``, its credential and anchoring proof, and whether it was parsed plainly
    (:func:`~anchor.verifier.reading.parse_receipt_fast`); None if it is not a receipt (its verification says
    why)."""
    try:
        document = parse_receipt_fast(text) if type(text) is bytes else None
        plain = document is not None
        if document is None:
            document = parse_credential(text)
        return document, split_receipt(document), plain
    except Exception:
        return None


def _failed(run: Run, error: Exception) -> Verification:
    """The ERROR result of ``run`` after ``error``: the checks done so far, the others not checked."""
    why = f"the verifier failed on this receipt: {named(error)}"
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
