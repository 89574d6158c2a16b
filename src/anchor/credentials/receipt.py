"""Receipts: a credential plus the proof that it was anchored, in one self-contained JSON document.

A receipt is the salted credential itself with a W3C VC ``proof`` entry of type ``AnchorMerkleProof``::

    {
      "@context": [...], "type": ["VerifiableCredential", "OpenBadgeCredential"], ...,   (the credential)
      "anchorSalt": "0x...", "anchorFormat": "anchor-credential-v1",
      "proof": {
        "type": "AnchorMerkleProof",
        "format": "anchor-receipt-v1",
        "chainId": 137,                          EIP-155 chain id of the registry's chain
        "registry": "0x...",                     registry contract address (checksummed)
        "batchId": 42,                           batch id in that registry
        "issuerId": 3,                           the registry's id of the anchoring issuer
        "index": 17,                             the credential's position in its batch (bound into the leaf)
        "digest": "0x...",                       keccak256 of the canonical credential (a verifier recomputes it)
        "merkleProof": ["0x...", ...],           OpenZeppelin StandardMerkleTree proof of (digest, index)
        "root": "0x...",                         the batch's Merkle root
        "transactionHash": "0x...", "blockNumber": 123, "anchoredAt": "2026-11-23T02:00:13Z"
      }
    }

The anchoring proof is excluded from the credential digest (see :mod:`anchor.credentials.digest`), so adding
it changes nothing that was hashed.

Two receipt formats, one per credential format:

- ``anchor-receipt-v1`` (credential ``anchor-credential-v1``): ``proof`` is the anchoring proof object (or,
  if the credential carried a proof, a list holding it and the anchoring proof).
- ``anchor-receipt-v2`` (credential ``anchor-credential-v2``): ``proof`` is always a list: the issuer's Data
  Integrity proof first, the anchoring proof last. The v2 digest covers the issuer's proof.
- ``anchor-receipt-v3`` (credential ``anchor-credential-v3``): as v2; the digest commits to each claim
  (:mod:`anchor.credentials.disclosure`), so the learner can make presentations that withhold claims
  (:mod:`anchor.credentials.presentations`).

A receipt whose anchoring proof format does not match its credential's format is refused.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from anchor.addresses import is_address, to_checksum_address
from anchor.credentials.model import ANCHOR_PROOF_TYPE, FORMAT_KEY, FORMAT_V1, FORMAT_V2, FORMAT_V3
from anchor.errors import InvalidInputError, UnknownFormatError

RECEIPT_FORMAT = "anchor-receipt-v1"
RECEIPT_FORMAT_V2 = "anchor-receipt-v2"
RECEIPT_FORMAT_V3 = "anchor-receipt-v3"
#: The receipt format that goes with each credential format.
RECEIPT_FORMATS: dict[str, str] = {
    FORMAT_V1: RECEIPT_FORMAT,
    FORMAT_V2: RECEIPT_FORMAT_V2,
    FORMAT_V3: RECEIPT_FORMAT_V3,
}
#: The Merkle leaf of a credential: its digest and its index in the batch (``StandardMerkleTree`` types).
LEAF_ENCODING: tuple[str, str] = ("bytes32", "uint256")
PROOF_TYPE = ANCHOR_PROOF_TYPE
_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
_MAX_PROOF_DEPTH = 64


class ReceiptError(InvalidInputError):
    """A document that is not a usable receipt; the message names the field."""


@dataclass(frozen=True)
class AnchorProof:
    """Where and how a credential was anchored."""

    chain_id: int
    registry: str
    batch_id: int
    issuer_id: int
    index: int
    digest: str
    merkle_proof: tuple[str, ...]
    root: str
    transaction_hash: str
    block_number: int
    anchored_at: datetime
    receipt_format: str = RECEIPT_FORMAT

    def to_json(self) -> dict[str, Any]:
        """The proof object as stored in a receipt."""
        return {
            "type": PROOF_TYPE,
            "format": self.receipt_format,
            "chainId": self.chain_id,
            "registry": self.registry,
            "batchId": self.batch_id,
            "issuerId": self.issuer_id,
            "index": self.index,
            "digest": self.digest,
            "merkleProof": list(self.merkle_proof),
            "root": self.root,
            "transactionHash": self.transaction_hash,
            "blockNumber": self.block_number,
            "anchoredAt": self.anchored_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


#: The ``type`` of a presentation (:mod:`anchor.credentials.presentations`): a v3 credential with claims withheld.
PRESENTATION_TYPE: Final = "AnchorPresentation"


def is_presentation(document: object) -> bool:
    """Whether ``document`` says it is a presentation (rather than a receipt); here, not in
    :mod:`anchor.credentials.presentations`, so that verifying a receipt does not import that module."""
    return isinstance(document, Mapping) and document.get("type") == PRESENTATION_TYPE


def make_receipt(credential: Mapping[str, Any], proof: AnchorProof) -> dict[str, Any]:
    """The receipt for ``credential`` (already salted, and signed if v2) anchored as ``proof`` says.

    The anchoring proof's format follows the credential's format (v1 credentials get v1 receipts).
    """
    receipt = copy.deepcopy(dict(credential))
    version = receipt.get(FORMAT_KEY)
    anchoring = proof.to_json()
    anchoring["format"] = RECEIPT_FORMATS.get(version, RECEIPT_FORMAT) if isinstance(version, str) else RECEIPT_FORMAT
    existing = receipt.get("proof")
    if existing is None and anchoring["format"] == RECEIPT_FORMAT:
        receipt["proof"] = anchoring
    else:
        present = existing if isinstance(existing, list) else [] if existing is None else [existing]
        receipt["proof"] = [*(p for p in present if not _is_anchor_proof(p)), anchoring]
    return receipt


def split_receipt(receipt: Mapping[str, Any]) -> tuple[dict[str, Any], AnchorProof]:
    """The credential (without the anchor proof) and the parsed anchor proof of a receipt."""
    if not isinstance(receipt, Mapping):
        raise ReceiptError("a receipt is a JSON object")
    raw = receipt.get("proof")
    candidates = raw if isinstance(raw, list) else [raw] if raw is not None else []
    anchors = [p for p in candidates if _is_anchor_proof(p)]
    if not anchors:
        raise ReceiptError(f"/proof: no {PROOF_TYPE} proof: this is not an anchor receipt")
    if len(anchors) > 1:
        raise ReceiptError(f"/proof: {len(anchors)} {PROOF_TYPE} proofs; a receipt has exactly one")
    proof = parse_proof(anchors[0])
    version = receipt.get(FORMAT_KEY)
    expected = RECEIPT_FORMATS.get(version) if isinstance(version, str) else None
    if expected is not None and expected != proof.receipt_format:
        raise ReceiptError(
            f"/proof/format: {proof.receipt_format!r} does not go with a credential in {version!r} "
            f"(expected {expected!r})"
        )
    credential = {key: value for key, value in receipt.items() if key != "proof"}
    others = [p for p in candidates if not _is_anchor_proof(p)]
    if proof.receipt_format != RECEIPT_FORMAT:
        if not isinstance(raw, list):
            raise ReceiptError(f"/proof: in an {proof.receipt_format} receipt, proof is a list of proofs")
        if others:
            credential["proof"] = others
    elif others:
        credential["proof"] = others[0] if len(others) == 1 else others
    return credential, proof


def parse_proof(data: Mapping[str, Any]) -> AnchorProof:
    """Parse and check an ``AnchorMerkleProof`` object; errors name the field."""
    version = data.get("format")
    if version not in RECEIPT_FORMATS.values():
        raise UnknownFormatError(
            f"/proof/format: {version!r} is not a receipt format this release knows "
            f"({', '.join(RECEIPT_FORMATS.values())})"
        )
    problems: list[str] = []

    def integer(key: str, minimum: int) -> int:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            problems.append(f"/proof/{key}: expected an integer >= {minimum}, found {value!r}")
            return 0
        return value

    def hash32(key: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not _HASH.match(value):
            problems.append(f"/proof/{key}: expected 0x and 64 hex digits, found {value!r}")
            return "0x" + "00" * 32
        return value.lower()

    chain_id = integer("chainId", 1)
    batch_id = integer("batchId", 1)
    issuer_id = integer("issuerId", 1)
    index = integer("index", 0)
    block_number = integer("blockNumber", 0)
    digest, root, tx_hash = hash32("digest"), hash32("root"), hash32("transactionHash")
    registry = data.get("registry")
    checksummed = _registry_address(registry)
    if checksummed is None:
        problems.append(f"/proof/registry: expected a contract address, found {registry!r}")
        checksummed = "0x" + "00" * 20
    siblings = data.get("merkleProof")
    if not isinstance(siblings, list) or len(siblings) > _MAX_PROOF_DEPTH:
        problems.append(f"/proof/merkleProof: expected a list of at most {_MAX_PROOF_DEPTH} hashes")
        siblings = []
    nodes = _hashes(siblings)
    if nodes is None:
        for position, node in enumerate(siblings):
            if not isinstance(node, str) or not _HASH.match(node):
                problems.append(f"/proof/merkleProof/{position}: expected 0x and 64 hex digits, found {node!r}")
        nodes = tuple(str(node).lower() for node in siblings)  # each checked: a problem raises below
    anchored_at = _timestamp(data.get("anchoredAt"), problems)
    if problems:
        raise ReceiptError("invalid receipt proof: " + "; ".join(problems))
    return AnchorProof(
        chain_id=chain_id,
        registry=checksummed,
        batch_id=batch_id,
        issuer_id=issuer_id,
        index=index,
        digest=digest,
        merkle_proof=nodes,
        root=root,
        transaction_hash=tx_hash,
        block_number=block_number,
        anchored_at=anchored_at,
        receipt_format=str(version),
    )


def _hashes(siblings: list[Any]) -> tuple[str, ...] | None:
    """The Merkle proof's nodes in lower case when each is 0x and 64 hex digits (checked in one pass over them
    all), else None (each is then checked alone, to name the bad one)."""
    if not all(type(node) is str for node in siblings):
        return None
    count = len(siblings)
    joined = "".join(siblings)
    if len(joined) != 66 * count or joined[0::66] != "0" * count or joined[1::66] != "x" * count:
        return None
    digits = joined.replace("0x", "")  # the prefixes; one inside a node leaves too few digits
    try:  # hex digits only: fromhex skips white space, which then leaves too few bytes
        if len(digits) != 64 * count or len(bytes.fromhex(digits)) != 32 * count:
            return None
    except ValueError:
        return None
    return tuple(siblings) if joined.islower() or not joined else tuple(node.lower() for node in siblings)


#: Registry addresses already read (a directory's receipts name one or two): their EIP-55 form, or None.
_REGISTRIES: dict[str, str | None] = {}
_REGISTRIES_KEPT: Final = 64


def _registry_address(value: object) -> str | None:
    """``value`` in EIP-55 form when it is an address (:func:`~anchor.addresses.is_address`), else None."""
    if not isinstance(value, str):
        return None
    if type(value) is not str:  # a subclass: not kept
        return str(to_checksum_address(value)) if is_address(value) else None
    if value in _REGISTRIES:
        return _REGISTRIES[value]
    found = str(to_checksum_address(value)) if is_address(value) else None
    if len(_REGISTRIES) >= _REGISTRIES_KEPT:
        _REGISTRIES.clear()
    _REGISTRIES[value] = found
    return found


def _is_anchor_proof(value: object) -> bool:
    return isinstance(value, Mapping) and value.get("type") == PROOF_TYPE


def _timestamp(value: object, problems: list[str]) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                return moment
        except ValueError:
            pass
    problems.append(f"/proof/anchoredAt: expected an RFC 3339 time with a zone, found {value!r}")
    return datetime.fromtimestamp(0, UTC)
