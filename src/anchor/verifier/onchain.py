"""What a verifier asks the registry: one ``eth_call`` per receipt and endpoint in the usual case.

One receipt costs one ``eth_call`` of ``credentialStatus`` per endpoint; ``getIssuer`` is asked once per
issuer and endpoint (an issuer's name, country and URI never change once registered), ``eth_chainId`` once
per endpoint, and the batch's ``BatchAnchored`` event (its transaction) once per batch and endpoint
(:func:`anchoring_event`). Only a revoked credential costs more: the ``CredentialsRevoked`` logs of its
batch (for the reason and time), and only a batch that is not yet final: the status at ``latest`` and the
finalized height.

Calls are encoded and answers decoded by :class:`anchor.chain.registry_abi.RegistryAbi` (anchor's own strict
ABI codec, no web3 or eth_abi) and sent with :mod:`anchor.chain.jsonrpc`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from anchor.chain.jsonrpc import JsonRpcEndpoint, RpcError, RpcRevertError, parse_data, parse_quantity
from anchor.chain.registry_abi import CredentialCheck, CredentialStatus, IssuerInfo, RegistryAbi


@dataclass(frozen=True)
class RevocationEvent:
    """The ``CredentialsRevoked`` event that revoked one index."""

    block_number: int
    timestamp: int | None
    reason_code: int


@dataclass(frozen=True)
class AnchoringEvent:
    """The ``BatchAnchored`` event of a batch: the transaction that anchored it, and its block."""

    transaction_hash: str
    block_number: int


#: The last second a :class:`datetime.datetime` holds (9999-12-31T23:59:59Z): a block time beyond it is a lie.
MAX_TIMESTAMP = 253402300799


@dataclass(frozen=True)
class RegisteredIssuer:
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
    status = _checked(endpoint, abi.decode_status(_data(results[0])))
    if issuer is None:
        answer = results[1]
        if isinstance(answer, RpcRevertError):
            issuer = None  # no such issuer (CredentialRegistryUnknownIssuer)
        else:
            issuer = RegisteredIssuer.of(abi.decode_issuer(issuer_id, _data(answer)))
            if block == "finalized":
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


def _checked(endpoint: JsonRpcEndpoint, status: CredentialCheck) -> CredentialCheck:
    """``status``, unless its times are beyond :data:`MAX_TIMESTAMP` (then the endpoint's :class:`RpcError`)."""
    for what, value in (("anchoredAt", status.anchored_at), ("batchRevokedAt", status.batch_revoked_at)):
        _timestamp(endpoint, value, f"credentialStatus {what}")
    return status


def _timestamp(endpoint: JsonRpcEndpoint, value: int, what: str) -> int:
    if value > MAX_TIMESTAMP:
        raise RpcError(f"{endpoint.shown_url} answered {what} {value}, a time after the year 9999")
    return value


def _data(result: object) -> str:
    if isinstance(result, RpcError):
        raise result
    if isinstance(result, str) and result.startswith("0x"):
        return result
    raise RpcError(f"eth_call answered {result!r:.80}, not 0x-hex data")


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
    topics = [abi.anchored_topic, _word(batch_id), _word(issuer_id), root.lower()]
    logs = endpoint.call(
        "eth_getLogs", [{"address": registry, "fromBlock": hex(block), "toBlock": hex(block), "topics": topics}]
    )
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
