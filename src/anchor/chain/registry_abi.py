"""What the issuer side and the verifier know about the CredentialRegistry contract, without web3.

- the status and revocation reason codes (:class:`CredentialStatus`, :data:`REVOCATION_REASONS`);
- the answers of its views, one class each whoever reads them: :class:`IssuerInfo` (``getIssuer``) and
  :class:`CredentialCheck` (``credentialStatus``), built by :class:`anchor.chain.registry.Registry` (web3) and
  by :class:`RegistryAbi` (the verifier's path);
- :class:`RegistryAbi`: selectors, encoders and decoders of the functions and events a verifier uses,
  from the committed artifact's ABI, through :mod:`anchor.chain.abi_codec`.

The verifier imports this module, so it imports no web3, eth_abi or eth_utils (about half a second of
start-up for a one-receipt ``anchor verify``); the codec also rejects hostile answers (bad padding, offsets
or lengths) cleanly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from typing import Any

from anchor.chain.abi_codec import AbiDecodingError, canonical_type, decode, encode, signature_hash
from anchor.chain.artifacts import load_artifact
from anchor.chain.jsonrpc import RpcError

#: The artifact (under ``anchor/artifacts``) of the registry contract.
ARTIFACT = "CredentialRegistry"


class CredentialStatus(IntEnum):
    """Mirror of ``CredentialStatus`` in CredentialRegistryTypes.sol (same order; a test compares them)."""

    VALID = 0
    UNKNOWN_BATCH = 1
    BAD_PROOF = 2
    ISSUER_INACTIVE = 3
    BATCH_REVOKED = 4
    REVOKED = 5


#: Revocation reason codes (1..255 on chain; 0 means "not revoked").
REVOCATION_REASONS: dict[str, int] = {
    "unspecified": 1,
    "issued-in-error": 2,
    "fraud": 3,
    "superseded": 4,
    "key-compromise": 5,
    "withdrawn": 6,
}

#: Revocation reason codes in words.
REASON_NAMES: dict[int, str] = {code: name for name, code in REVOCATION_REASONS.items()}


def reason_name(code: int) -> str:
    """A revocation reason code in words."""
    return REASON_NAMES.get(code, f"code {code}")


@dataclass(frozen=True)
class IssuerInfo:
    """An issuer as the registry records it (the ``getIssuer`` answer, with the id it was asked for)."""

    issuer_id: int
    name: str
    country: str
    uri: str
    registered_at: int
    deactivated_at: int
    signer_count: int

    @property
    def active(self) -> bool:
        """Whether the admin has not deactivated the issuer."""
        return self.deactivated_at == 0


@dataclass(frozen=True)
class CredentialCheck:
    """The registry's answer about one credential (the ``credentialStatus`` answer)."""

    status: CredentialStatus
    issuer_id: int
    anchored_at: int
    anchored_at_block: int
    batch_revoked_at: int
    batch_revocation_reason: int


class NoContractError(RpcError):
    """The registry address answered with no data: there is no contract (or not this one) there."""


class RegistryAbi:
    """Selectors, encoders and decoders of the registry functions and events a verifier uses."""

    def __init__(self, abi: Sequence[Mapping[str, Any]]) -> None:
        functions = {entry["name"]: entry for entry in abi if entry.get("type") == "function"}
        events = {entry["name"]: entry for entry in abi if entry.get("type") == "event"}
        self._status = _Function(functions["credentialStatus"])
        self._issuer = _Function(functions["getIssuer"])
        self._is_revoked = _Function(functions["isRevoked"])
        self._batch = _Function(functions["getBatch"])
        errors = {entry["name"]: entry for entry in abi if entry.get("type") == "error"}
        #: Revert data selector of ``CredentialRegistryUnknownBatch(batchId)`` (``getBatch`` of a batch not anchored).
        self.unknown_batch_selector = "0x" + signature_hash(errors["CredentialRegistryUnknownBatch"])[:4].hex()
        revoked = events["CredentialsRevoked"]
        self.revoked_topic = "0x" + signature_hash(revoked).hex()
        self.anchored_topic = "0x" + signature_hash(events["BatchAnchored"]).hex()
        self._revoked_data = [canonical_type(item) for item in revoked["inputs"] if not item["indexed"]]

    def status_call(self, batch_id: int, index: int, digest: str, proof: Sequence[str]) -> str:
        """Call data of ``credentialStatus(batchId, index, digest, proof)``."""
        return self._status.encode(
            [batch_id, index, bytes.fromhex(digest[2:]), [bytes.fromhex(node[2:]) for node in proof]]
        )

    def decode_status(self, data: str) -> CredentialCheck:
        """The ``credentialStatus`` answer in ``data``."""
        (status, issuer_id, at, block, revoked_at, reason) = self._status.decode_one(data)
        try:
            code = CredentialStatus(status)
        except ValueError:
            raise RpcError(f"credentialStatus answered status {status}, which this verifier does not know") from None
        return CredentialCheck(code, issuer_id, at, block, revoked_at, reason)

    def issuer_call(self, issuer_id: int) -> str:
        """Call data of ``getIssuer(issuerId)``."""
        return self._issuer.encode([issuer_id])

    def decode_issuer(self, issuer_id: int, data: str) -> IssuerInfo:
        """The ``getIssuer`` answer in ``data``."""
        name, country, uri, registered, deactivated, signers = self._issuer.decode_one(data)
        return IssuerInfo(
            issuer_id, name, bytes(country).decode("ascii", "replace"), uri, registered, deactivated, signers
        )

    def is_revoked_call(self, batch_id: int, index: int) -> str:
        """Call data of ``isRevoked(batchId, index)`` (the credential alone; its batch's revocation aside)."""
        return self._is_revoked.encode([batch_id, index])

    def decode_is_revoked(self, data: str) -> bool:
        """The ``isRevoked`` answer in ``data``."""
        return bool(self._is_revoked.decode_one(data))

    def batch_call(self, batch_id: int) -> str:
        """Call data of ``getBatch(batchId)``."""
        return self._batch.encode([batch_id])

    def decode_batch_revoked_at(self, data: str) -> tuple[int, int]:
        """(issuer id, revocation time: 0 while not revoked) of the ``getBatch`` answer in ``data`` (issuer 0: none)."""
        batch = self._batch.decode_one(data)
        return int(batch[1]), int(batch[6])

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
        self.inputs = [canonical_type(item) for item in entry["inputs"]]
        self.outputs = [canonical_type(item) for item in entry["outputs"]]
        self.selector = signature_hash(entry)[:4]

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
