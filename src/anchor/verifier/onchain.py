"""What a verifier asks the registry: one ``eth_call`` per receipt and endpoint in the usual case.

One receipt costs one ``eth_call`` of ``credentialStatus`` per endpoint; ``getIssuer`` is asked once per
issuer and endpoint (an issuer's name, country and URI never change once registered), ``eth_chainId`` once
per endpoint, and the batch's ``BatchAnchored`` event (its transaction) once per batch and endpoint
(:func:`anchoring_event`). Only a revoked credential costs more: the ``CredentialsRevoked`` logs of its
batch (for the reason and time), and only a batch that is not yet final: the status at ``latest`` and the
finalized height.

Many receipts at once (:func:`ask_many`, :func:`anchorings_many`): the same calls, decoded and checked the
same way, sent in JSON-RPC batch requests (an array of calls in one HTTP POST), so that a directory costs a
few requests per endpoint instead of one per receipt.

Calls are encoded and answers decoded by :class:`anchor.chain.registry_abi.RegistryAbi` (anchor's own strict
ABI codec, no web3 or eth_abi) and sent with :mod:`anchor.chain.jsonrpc`. The value types are NamedTuples,
not dataclasses: as immutable and comparable, and a fifth of the cost to create at import (a one-receipt
``anchor verify`` starts faster).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from anchor.chain.jsonrpc import (
    MAX_BATCH,
    BatchRefusedError,
    JsonRpcEndpoint,
    RpcError,
    RpcRevertError,
    parse_data,
    parse_quantity,
)
from anchor.chain.registry_abi import CredentialCheck, CredentialStatus, IssuerInfo, RegistryAbi
from anchor.chain.status_reader import StatusQuestion, StatusReader
from anchor.credentials.receipt import AnchorProof


class RevocationEvent(NamedTuple):
    """The ``CredentialsRevoked`` event that revoked one index."""

    block_number: int
    timestamp: int | None
    reason_code: int


class AnchoringEvent(NamedTuple):
    """The ``BatchAnchored`` event of a batch: the transaction that anchored it, and its block."""

    transaction_hash: str
    block_number: int


#: Longest exception message kept in a result.
MAX_ERROR_TEXT = 300
#: The last second a :class:`datetime.datetime` holds (9999-12-31T23:59:59Z): a block time beyond it is a lie.
MAX_TIMESTAMP = 253402300799


class RegisteredIssuer(NamedTuple):
    """What ``getIssuer`` answers that never changes once the issuer is registered, so may be cached.

    Whether the issuer is still active, and how many keys it has, change: they are not kept (the status
    of each credential says whether its issuer is active, asked afresh every time).
    """

    issuer_id: int
    name: str
    country: str
    uri: str
    registered_at: int

    @classmethod
    def of(cls, info: IssuerInfo) -> RegisteredIssuer:
        """The unchanging part of a ``getIssuer`` answer."""
        return cls(info.issuer_id, info.name, info.country, info.uri, info.registered_at)


@dataclass(frozen=True)
class ChainAnswer:
    """Everything one endpoint said about one receipt; endpoints agree when their answers are equal."""

    status: CredentialCheck
    issuer: RegisteredIssuer | None
    """None when the registry has no issuer with the receipt's issuer id."""
    latest: CredentialCheck | None = None
    """The status at ``latest``, asked only when the batch is unknown at the finalized block."""
    finalized_block: int | None = None
    """The finalized height, asked only when the batch is unknown at the finalized block."""
    revocation: RevocationEvent | None = None
    """The revoking event, looked up only for a revoked credential (None if it was not found)."""
    revocation_error: str | None = field(default=None, compare=False)
    """Why the revoking event could not be read (a node may refuse a long ``eth_getLogs`` range); not compared:
    it names the endpoint, so two endpoints that both refuse would otherwise disagree."""


def _word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def ask(
    endpoint: JsonRpcEndpoint,
    abi: RegistryAbi,
    registry: str,
    *,
    batch_id: int,
    index: int,
    digest: str,
    proof: Sequence[str],
    issuer_id: int,
    block: str,
    issuer_cache: dict[tuple[str, str, int], RegisteredIssuer],
) -> ChainAnswer:
    """Ask ``endpoint`` everything about one receipt: one ``eth_call`` in the usual case.

    ``issuer_cache`` maps (endpoint URL, registry, issuer id) to the unchanging part of a ``getIssuer`` answer
    already read at the finalized block (at another block, an answer could still be reorganised away).
    A block time no datetime can hold is the endpoint's :class:`RpcError`, like any other impossible answer.
    """
    to = registry
    status_call = {"to": to, "data": abi.status_call(batch_id, index, digest, proof)}
    key = (endpoint.url, registry.lower(), issuer_id)
    issuer = issuer_cache.get(key)
    requests: list[tuple[str, Sequence[Any]]] = [("eth_call", [status_call, block])]
    if issuer is None:
        requests.append(("eth_call", [{"to": to, "data": abi.issuer_call(issuer_id)}, block]))
    results = endpoint.batch(requests)
    status = _status_of(endpoint, abi, results[0])
    if issuer is None:
        issuer = _issuer_of(endpoint, abi, issuer_id, results[1])
        if issuer is not None and block == "finalized":
            issuer_cache[key] = issuer
    if status.status is CredentialStatus.UNKNOWN_BATCH and block != "latest":
        latest = _checked(endpoint, abi.decode_status(endpoint.eth_call(to, status_call["data"], "latest")))
        head = endpoint.call("eth_getBlockByNumber", [block, False])
        finalized = parse_quantity(head.get("number") if isinstance(head, dict) else None, f"{block} block number")
        return ChainAnswer(status, issuer, latest=latest, finalized_block=finalized)
    if status.status is not CredentialStatus.REVOKED:
        return ChainAnswer(status, issuer)
    try:  # the status is the verdict; the event only adds the reason and time
        revocation = _revocation(endpoint, abi, registry, batch_id, status, index, block)
    except RpcError as error:
        return ChainAnswer(status, issuer, revocation_error=str(error))
    return ChainAnswer(status, issuer, revocation=revocation)


def _status_of(endpoint: JsonRpcEndpoint, abi: RegistryAbi, result: object) -> CredentialCheck:
    """The ``credentialStatus`` answer ``result`` (an :class:`RpcError` is raised)."""
    return _checked(endpoint, abi.decode_status(_data(endpoint, result)))


def _issuer_of(endpoint: JsonRpcEndpoint, abi: RegistryAbi, issuer_id: int, result: object) -> RegisteredIssuer | None:
    """The ``getIssuer`` answer ``result``; None for a revert (no such issuer: CredentialRegistryUnknownIssuer)."""
    if isinstance(result, RpcRevertError):
        return None
    return RegisteredIssuer.of(abi.decode_issuer(issuer_id, _data(endpoint, result)))


def _checked(endpoint: JsonRpcEndpoint, status: CredentialCheck) -> CredentialCheck:
    """``status``, unless its times are beyond :data:`MAX_TIMESTAMP` (then the endpoint's :class:`RpcError`)."""
    for what, value in (("anchoredAt", status.anchored_at), ("batchRevokedAt", status.batch_revoked_at)):
        _timestamp(endpoint, value, f"credentialStatus {what}")
    return status


def _timestamp(endpoint: JsonRpcEndpoint, value: int, what: str) -> int:
    if value > MAX_TIMESTAMP:
        raise RpcError(f"{endpoint.shown_url} answered {what} {value}, a time after the year 9999")
    return value


def _data(endpoint: JsonRpcEndpoint, result: object) -> str:
    if isinstance(result, RpcError):
        raise result
    if isinstance(result, str) and result.startswith("0x"):
        return result
    raise RpcError(f"{endpoint.shown_url} answered eth_call with {result!r:.80}, not 0x-hex data")


def _revocation(
    endpoint: JsonRpcEndpoint,
    abi: RegistryAbi,
    registry: str,
    batch_id: int,
    status: CredentialCheck,
    index: int,
    block: str,
) -> RevocationEvent | None:
    """The ``CredentialsRevoked`` event of the batch that holds ``index`` (one ``eth_getLogs``)."""
    logs = endpoint.call(
        "eth_getLogs",
        [
            {
                "address": registry,
                "fromBlock": hex(status.anchored_at_block),
                "toBlock": block,
                "topics": [abi.revoked_topic, _word(batch_id), _word(status.issuer_id)],
            }
        ],
    )
    if not isinstance(logs, list):
        raise RpcError(f"{endpoint.shown_url} answered eth_getLogs with {type(logs).__name__}, not a list")
    for log in logs:
        if not isinstance(log, dict) or log.get("removed"):
            continue
        indices, reason = abi.decode_revoked(str(log.get("data", "0x")))
        if index not in indices:
            continue
        number = parse_quantity(log.get("blockNumber"), "log blockNumber")
        stamp = log.get("blockTimestamp")
        if stamp is None:
            header = endpoint.call("eth_getBlockByNumber", [hex(number), False])
            stamp = header.get("timestamp") if isinstance(header, dict) else None
        timestamp = None
        if stamp is not None:
            timestamp = _timestamp(endpoint, parse_quantity(stamp, "block timestamp"), "block timestamp")
        return RevocationEvent(number, timestamp, reason)
    return None


def anchoring_event(
    endpoint: JsonRpcEndpoint, abi: RegistryAbi, registry: str, *, batch_id: int, issuer_id: int, root: str, block: int
) -> AnchoringEvent | None:
    """The ``BatchAnchored`` event of batch ``batch_id`` (by ``issuer_id``, root ``root``) in block ``block``.

    One ``eth_getLogs`` of that one block, the batch record's (so no node refuses the range); None when the
    block holds no such event. A receipt's ``transactionHash`` is checked against this, never believed.
    """
    query = _anchoring_query(abi, registry, batch_id=batch_id, issuer_id=issuer_id, root=root, block=block)
    logs = endpoint.call("eth_getLogs", [query])
    return _anchoring_in(endpoint, query, logs, batch_id)


def _anchoring_query(
    abi: RegistryAbi, registry: str, *, batch_id: int, issuer_id: int, root: str, block: int
) -> dict[str, Any]:
    """The ``eth_getLogs`` filter of the ``BatchAnchored`` event of batch ``batch_id`` in block ``block``."""
    topics = [abi.anchored_topic, _word(batch_id), _word(issuer_id), root.lower()]
    return {"address": registry, "fromBlock": hex(block), "toBlock": hex(block), "topics": topics}


def _anchoring_in(
    endpoint: JsonRpcEndpoint, query: dict[str, Any], logs: object, batch_id: int
) -> AnchoringEvent | None:
    """The one ``BatchAnchored`` event of ``logs`` (the answer to ``query``) that ``query`` asked for, if any."""
    registry, topics, block = str(query["address"]), query["topics"], int(query["fromBlock"], 16)
    if not isinstance(logs, list):
        raise RpcError(f"{endpoint.shown_url} answered eth_getLogs with {type(logs).__name__}, not a list")
    found: set[AnchoringEvent] = set()
    for log in logs:
        if not isinstance(log, dict) or log.get("removed"):
            continue
        given = log.get("topics")
        if str(log.get("address", "")).lower() != registry.lower() or not isinstance(given, list):
            continue
        if [str(topic).lower() for topic in given] != topics:
            continue  # not what was asked for: an honest node does not send it
        number = parse_quantity(log.get("blockNumber"), "BatchAnchored log blockNumber")
        transaction = parse_data(log.get("transactionHash"), "BatchAnchored log transactionHash")
        if number == block and len(transaction) == 66:
            found.add(AnchoringEvent(transaction, number))
    if len(found) > 1:
        raise RpcError(f"{endpoint.shown_url} returned {len(found)} BatchAnchored events for batch {batch_id}")
    return found.pop() if found else None


# ---------------------------------------------------------------------- many receipts at once


class Question(NamedTuple):
    """What one receipt asks the registry: the fields of its anchoring proof that :func:`ask` sends."""

    registry: str
    batch_id: int
    leaf_index: int
    """The credential's index in its batch (``index`` is a tuple's method)."""
    digest: str
    proof: tuple[str, ...]
    issuer_id: int

    @classmethod
    def of(cls, proof: AnchorProof) -> Question:
        """The question of a receipt's anchoring proof."""
        return cls(proof.registry, proof.batch_id, proof.index, proof.digest, proof.merkle_proof, proof.issuer_id)


class AnchoringQuestion(NamedTuple):
    """Which ``BatchAnchored`` event :func:`anchoring_event` looks for (what the status named, and the root)."""

    registry: str
    batch_id: int
    issuer_id: int
    root: str
    block: int


def ask_many(
    endpoint: JsonRpcEndpoint,
    abi: RegistryAbi,
    questions: Iterable[Question],
    *,
    block: str,
    issuer_cache: dict[tuple[str, str, int], RegisteredIssuer],
    reader: StatusReader | None = None,
    reader_refused: set[str] | None = None,
) -> dict[Question, ChainAnswer | RpcError]:
    """What :func:`ask` answers to each of ``questions``, asked in JSON-RPC batches of ``eth_call`` s.

    One ``credentialStatus`` call per question and one ``getIssuer`` call per issuer not in ``issuer_cache``,
    at most :data:`~anchor.chain.jsonrpc.MAX_BATCH` to a request, decoded and checked as :func:`ask` does. A
    failed call is the :class:`RpcError` of each question that needs it; a batch the endpoint did not answer
    as JSON-RPC (see :meth:`~anchor.chain.jsonrpc.JsonRpcEndpoint.batch_answers`) is the error of each question
    it carried. Left out, for :func:`ask` to ask one by one: the questions whose answer needs more than these
    two calls (a batch unknown at ``block``, a revoked credential).

    With a ``reader`` (:mod:`anchor.chain.status_reader`), the ``credentialStatus`` calls of up to
    :data:`~anchor.chain.status_reader.MAX_QUESTIONS` questions go in one deployless ``eth_call``: the same
    answers, each decoded and checked as its own call's would be. A reader call the endpoint refuses (an error,
    a revert, no data) is asked the usual way instead, and the endpoint's URL is added to ``reader_refused``
    (not asked with the reader again) once it answered the usual way; an answer of the wrong shape is the
    endpoint's error for every question of the call.
    """
    unique = list(dict.fromkeys(questions))
    issuers = list(
        dict.fromkeys(
            (question.registry, question.issuer_id)
            for question in unique
            if (endpoint.url, question.registry.lower(), question.issuer_id) not in issuer_cache
        )
    )
    active = reader if reader is not None and endpoint.url not in (reader_refused or ()) else None
    groups = _reader_groups(active, unique) if active is not None else []
    direct = [] if active is not None else unique
    requests = [_reader_request(active, group, block) for group in groups] if active is not None else []
    requests += [_status_request(abi, question, block) for question in direct]
    requests += [("eth_call", [{"to": to, "data": abi.issuer_call(issuer_id)}, block]) for to, issuer_id in issuers]
    results = _batched(endpoint, requests)
    said: dict[Question, object] = dict(zip(direct, results[len(groups) : len(groups) + len(direct)], strict=True))
    refused: list[Question] = []
    for group, result in zip(groups, results[: len(groups)], strict=True):
        if isinstance(result, RpcError) or result == "0x":  # refused or reverted: asked the usual way below
            refused += group
            continue
        try:
            said.update(zip(group, StatusReader.answers(_data(endpoint, result), len(group)), strict=True))
        except Exception as error:  # whatever an answer makes fail is that endpoint's error
            failed = endpoint_error(endpoint, error)
            said.update((question, failed) for question in group)
    if refused:
        again = _batched(endpoint, [_status_request(abi, question, block) for question in refused])
        said.update(zip(refused, again, strict=True))
        if reader_refused is not None and any(not isinstance(result, RpcError) for result in again):
            reader_refused.add(endpoint.url)
    results = [said[question] for question in unique] + results[len(groups) + len(direct) :]
    read: dict[tuple[str, int], RegisteredIssuer | RpcError | None] = {}
    for (to, issuer_id), result in zip(issuers, results[len(unique) :], strict=True):
        try:
            read[to.lower(), issuer_id] = found = _issuer_of(endpoint, abi, issuer_id, result)
        except Exception as error:  # whatever an answer makes fail is that endpoint's error
            read[to.lower(), issuer_id] = endpoint_error(endpoint, error)
            continue
        if found is not None and block == "finalized":
            issuer_cache[endpoint.url, to.lower(), issuer_id] = found
    answers: dict[Question, ChainAnswer | RpcError] = {}
    for question, result in zip(unique, results[: len(unique)], strict=True):
        try:
            status = _status_of(endpoint, abi, result)
        except Exception as error:
            answers[question] = endpoint_error(endpoint, error)
            continue
        key = (question.registry.lower(), question.issuer_id)
        issuer = read[key] if key in read else issuer_cache[endpoint.url, *key]
        if isinstance(issuer, RpcError):
            answers[question] = issuer
        elif status.status is CredentialStatus.REVOKED or (
            status.status is CredentialStatus.UNKNOWN_BATCH and block != "latest"
        ):
            continue
        else:
            answers[question] = ChainAnswer(status, issuer)
    return answers


def _status_request(abi: RegistryAbi, question: Question, block: str) -> tuple[str, Sequence[Any]]:
    """The ``credentialStatus`` ``eth_call`` of ``question``."""
    q = question
    return (
        "eth_call",
        [{"to": q.registry, "data": abi.status_call(q.batch_id, q.leaf_index, q.digest, q.proof)}, block],
    )


def _reader_groups(reader: StatusReader, questions: Sequence[Question]) -> list[list[Question]]:
    """``questions`` cut into reader calls: one registry each, within the reader's bounds."""
    by_registry: dict[str, list[Question]] = {}
    for question in questions:
        by_registry.setdefault(question.registry.lower(), []).append(question)
    groups: list[list[Question]] = []
    for same in by_registry.values():
        asked = [StatusQuestion(q.batch_id, q.leaf_index, q.digest, q.proof) for q in same]
        groups += [[same[position] for position in group] for group in reader.groups(asked)]
    return groups


def _reader_request(reader: StatusReader, group: Sequence[Question], block: str) -> tuple[str, Sequence[Any]]:
    """The deployless ``eth_call`` (no ``to``) that asks ``group``'s registry about each of ``group``."""
    asked = [StatusQuestion(q.batch_id, q.leaf_index, q.digest, q.proof) for q in group]
    return ("eth_call", [{"data": reader.call_data(group[0].registry, asked)}, block])


def anchorings_many(
    endpoint: JsonRpcEndpoint, abi: RegistryAbi, questions: Iterable[AnchoringQuestion]
) -> dict[AnchoringQuestion, AnchoringEvent | RpcError | None]:
    """What :func:`anchoring_event` answers to each of ``questions``: their ``eth_getLogs`` in JSON-RPC batches.

    A failed request, or an answer :func:`anchoring_event` would refuse, is that question's :class:`RpcError`.
    """
    unique = list(dict.fromkeys(questions))
    queries = [
        _anchoring_query(abi, q.registry, batch_id=q.batch_id, issuer_id=q.issuer_id, root=q.root, block=q.block)
        for q in unique
    ]
    results = _batched(endpoint, [("eth_getLogs", [query]) for query in queries])
    events: dict[AnchoringQuestion, AnchoringEvent | RpcError | None] = {}
    for question, query, result in zip(unique, queries, results, strict=True):
        try:
            if isinstance(result, RpcError):
                raise result
            events[question] = _anchoring_in(endpoint, query, result, question.batch_id)
        except Exception as error:
            events[question] = endpoint_error(endpoint, error)
    return events


def _batched(endpoint: JsonRpcEndpoint, requests: Sequence[tuple[str, Sequence[Any]]]) -> list[Any | RpcError]:
    """Each request's result or error, sent in JSON-RPC batches of at most :data:`MAX_BATCH` requests.

    :class:`BatchRefusedError` (raised) when the endpoint takes no batches."""
    results: list[Any | RpcError] = []
    for start in range(0, len(requests), MAX_BATCH):
        piece = requests[start : start + MAX_BATCH]
        try:
            results += endpoint.batch_answers(piece)
        except BatchRefusedError:  # it takes no batches: the caller asks one request at a time instead
            raise
        except RpcError as error:  # nothing of a batch answered wrongly is believed
            results += [error] * len(piece)
    return results


def endpoint_error(endpoint: JsonRpcEndpoint, error: Exception) -> RpcError:
    """``error`` as an :class:`RpcError` of ``endpoint``: whatever makes an endpoint's answer fail is its error."""
    return error if isinstance(error, RpcError) else RpcError(f"{endpoint.shown_url}: {named(error)}")


def named(error: BaseException) -> str:
    """``error`` as its class and message on one line, shortened to :data:`MAX_ERROR_TEXT` characters."""
    text = " ".join(str(error).split())
    if len(text) > MAX_ERROR_TEXT:
        text = text[: MAX_ERROR_TEXT - 3] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
