"""What a verifier asks the registry, encoded and decoded with :mod:`anchor.chain.abi_codec` from the committed ABI.

One receipt costs one ``eth_call`` of ``credentialStatus`` per endpoint; ``getIssuer`` is asked once per
issuer and endpoint (an issuer's name, country and URI never change once registered), ``eth_chainId`` once
per endpoint. Only a revoked credential costs more: the ``CredentialsRevoked`` logs of its batch (for the
reason and time), and only a batch that is not yet final: the status at ``latest`` and the finalized height.

The status codes and reason names mirror :mod:`anchor.chain.registry`, which this module does not import (it
would load web3, about half a second of start-up for a one-receipt ``anchor verify``); a test keeps them equal.
For the same reason the ABI codec is anchor's own strict one rather than eth_abi (eth_utils, eth_typing and
parsimonious: about 150 ms); it also rejects hostile answers (bad padding, offsets or lengths) cleanly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import sha3

from anchor.chain.abi_codec import AbiDecodingError, decode, encode
from anchor.chain.artifacts import load_artifact
from anchor.chain.registry_codes import CredentialStatus
from anchor.errors import InvalidInputError
from anchor.verifier.rpc import JsonRpcEndpoint, RpcError, RpcRevertError, parse_quantity

ARTIFACT = "CredentialRegistry"


#: ``CredentialStatus`` of CredentialRegistryTypes.sol.
Status = CredentialStatus


@dataclass(frozen=True)
class StatusAnswer:
    """The decoded ``credentialStatus`` answer."""

    status: Status
    issuer_id: int
    anchored_at: int
    anchored_at_block: int
    batch_revoked_at: int
    batch_revocation_reason: int


@dataclass(frozen=True)
class IssuerAnswer:
    """The decoded ``getIssuer`` answer."""

    issuer_id: int
    name: str
    country: str
    uri: str
    registered_at: int
    deactivated_at: int
    signer_count: int


@dataclass(frozen=True)
class RevocationEvent:
    """The ``CredentialsRevoked`` event that revoked one index."""

    block_number: int
    timestamp: int | None
    reason_code: int


@dataclass(frozen=True)
class ChainAnswer:
    """Everything one endpoint said about one receipt; endpoints agree when their answers are equal."""

    status: StatusAnswer
    issuer: IssuerAnswer | None
    """None when the registry has no issuer with the receipt's issuer id."""
    latest: StatusAnswer | None = None
    """The status at ``latest``, asked only when the batch is unknown at the finalized block."""
    finalized_block: int | None = None
    """The finalized height, asked only when the batch is unknown at the finalized block."""
    revocation: RevocationEvent | None = None
    """The revoking event, looked up only for a revoked credential (None if it was not found)."""
    revocation_error: str | None = None
    """Why the revoking event could not be read (a node may refuse a long ``eth_getLogs`` range)."""


class NoContractError(RpcError):
    """The registry address answered with no data: there is no contract (or not this one) there."""


class RegistryAbi:
    """Selectors, encoders and decoders of the registry functions and events a verifier uses."""

    def __init__(self, abi: Sequence[Mapping[str, Any]]) -> None:
        functions = {entry["name"]: entry for entry in abi if entry.get("type") == "function"}
        events = {entry["name"]: entry for entry in abi if entry.get("type") == "event"}
        self._status = _Function(functions["credentialStatus"])
        self._issuer = _Function(functions["getIssuer"])
        revoked = events["CredentialsRevoked"]
        self.revoked_topic = "0x" + _keccak(_signature(revoked)).hex()
        self._revoked_data = [_type(item) for item in revoked["inputs"] if not item["indexed"]]

    def status_call(self, batch_id: int, index: int, digest: str, proof: Sequence[str]) -> str:
        """Call data of ``credentialStatus(batchId, index, digest, proof)``."""
        return self._status.encode(
            [batch_id, index, bytes.fromhex(digest[2:]), [bytes.fromhex(node[2:]) for node in proof]]
        )

    def decode_status(self, data: str) -> StatusAnswer:
        """The ``credentialStatus`` answer in ``data``."""
        (status, issuer_id, at, block, revoked_at, reason) = self._status.decode_one(data)
        try:
            code = Status(status)
        except ValueError:
            raise RpcError(f"credentialStatus answered status {status}, which this verifier does not know") from None
        return StatusAnswer(code, issuer_id, at, block, revoked_at, reason)

    def issuer_call(self, issuer_id: int) -> str:
        """Call data of ``getIssuer(issuerId)``."""
        return self._issuer.encode([issuer_id])

    def decode_issuer(self, issuer_id: int, data: str) -> IssuerAnswer:
        """The ``getIssuer`` answer in ``data``."""
        name, country, uri, registered, deactivated, signers = self._issuer.decode_one(data)
        return IssuerAnswer(
            issuer_id, name, bytes(country).decode("ascii", "replace"), uri, registered, deactivated, signers
        )

    def decode_revoked(self, data: str) -> tuple[list[int], int]:
        """The (indices, reason) of a ``CredentialsRevoked`` log's data."""
        try:
            indices, reason = decode(self._revoked_data, bytes.fromhex(data[2:]))
        except ValueError as error:  # AbiDecodingError, or data that is not hex
            raise RpcError(f"a CredentialsRevoked log does not decode: {error}") from None
        return list(indices), int(reason)


@cache
def registry_abi() -> RegistryAbi:
    """The verifier's view of the committed registry artifact's ABI."""
    return RegistryAbi(load_artifact(ARTIFACT)["abi"])


class _Function:
    """One ABI function: its selector, input types and output types."""

    def __init__(self, entry: Mapping[str, Any]) -> None:
        self.name = entry["name"]
        self.inputs = [_type(item) for item in entry["inputs"]]
        self.outputs = [_type(item) for item in entry["outputs"]]
        self.selector = _keccak(_signature(entry))[:4]

    def encode(self, args: Sequence[Any]) -> str:
        return "0x" + (self.selector + encode(self.inputs, list(args))).hex()

    def decode_one(self, data: str) -> Any:
        try:
            raw = bytes.fromhex(data[2:])
        except ValueError:
            raise RpcError(f"{self.name} answered {data!r:.80}, not 0x-hex data") from None
        if not raw:
            raise NoContractError(f"{self.name} returned no data: there is no registry contract at this address")
        try:
            (value,) = decode(self.outputs, raw)
        except AbiDecodingError as error:
            raise NoContractError(f"{self.name} returned data that does not decode ({error}): not a registry") from None
        return value


def _type(item: Mapping[str, Any]) -> str:
    """The canonical ABI type of an input or output, tuples spelled out."""
    kind: str = item["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_type(component) for component in item["components"])
        return f"({inner}){kind[5:]}"
    return kind


def _signature(entry: Mapping[str, Any]) -> bytes:
    return f"{entry['name']}({','.join(_type(item) for item in entry['inputs'])})".encode()


def _keccak(data: bytes) -> bytes:
    return bytes(sha3.keccak_256(data).digest())


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
    issuer_cache: dict[tuple[str, str, int], IssuerAnswer],
) -> ChainAnswer:
    """Ask ``endpoint`` everything about one receipt: one ``eth_call`` in the usual case.

    ``issuer_cache`` maps (endpoint URL, registry, issuer id) to a ``getIssuer`` answer already read.
    """
    to = registry
    status_call = {"to": to, "data": abi.status_call(batch_id, index, digest, proof)}
    key = (endpoint.url, registry.lower(), issuer_id)
    issuer = issuer_cache.get(key)
    requests: list[tuple[str, Sequence[Any]]] = [("eth_call", [status_call, block])]
    if issuer is None:
        requests.append(("eth_call", [{"to": to, "data": abi.issuer_call(issuer_id)}, block]))
    results = endpoint.batch(requests)
    status = abi.decode_status(_data(results[0]))
    if issuer is None:
        answer = results[1]
        if isinstance(answer, RpcRevertError):
            issuer = None  # no such issuer (CredentialRegistryUnknownIssuer)
        else:
            issuer = abi.decode_issuer(issuer_id, _data(answer))
            issuer_cache[key] = issuer
    if status.status is Status.UNKNOWN_BATCH and block != "latest":
        latest = abi.decode_status(endpoint.eth_call(to, status_call["data"], "latest"))
        head = endpoint.call("eth_getBlockByNumber", [block, False])
        finalized = parse_quantity(head.get("number") if isinstance(head, dict) else None, f"{block} block number")
        return ChainAnswer(status, issuer, latest=latest, finalized_block=finalized)
    if status.status is not Status.REVOKED:
        return ChainAnswer(status, issuer)
    try:  # the status is the verdict; the event only adds the reason and time
        revocation = _revocation(endpoint, abi, registry, batch_id, status, index, block)
    except RpcError as error:
        return ChainAnswer(status, issuer, revocation_error=str(error))
    return ChainAnswer(status, issuer, revocation=revocation)


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
    status: StatusAnswer,
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
        timestamp = parse_quantity(stamp, "block timestamp") if stamp is not None else None
        return RevocationEvent(number, timestamp, reason)
    return None


def check_address(value: str) -> str:
    """``value`` as a lower-case 0x address; :class:`InvalidInputError` if it is not one."""
    text = value.strip()
    if len(text) != 42 or not text.startswith(("0x", "0X")):
        raise InvalidInputError(f"{value!r} is not an address (0x followed by 40 hex digits)")
    try:
        bytes.fromhex(text[2:])
    except ValueError:
        raise InvalidInputError(f"{value!r} is not an address (0x followed by 40 hex digits)") from None
    return "0x" + text[2:].lower()
