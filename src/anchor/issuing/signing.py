"""Signing at intake: what turns a validated credential into a signed ``anchor-credential-v3`` credential.

At issue time, in this order: the credential is upgraded to the v3 format (an ``anchor-credential-v1``
input gets the v2 context and the v3 format, whose digest commits to each claim so that the learner can
withhold some in a presentation; its content is unchanged; an input that says v2 or v3 keeps its format),
salted, given its ``credentialStatus`` entry (when the issuer publishes status lists), and signed by the
issuer's DID key with a Data Integrity proof (``eddsa-rdfc-2022``). What can only fail later is refused now,
naming the field: a credential that names another issuer than the signing DID, or that already carries a
proof or a status entry of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchor.credentials import CONTEXTS, CONTEXTS_V2, FORMAT_KEY, FORMAT_V1, FORMAT_V2, FORMAT_V3, SALT_KEY, with_salt
from anchor.credentials.model import _show
from anchor.errors import CredentialValidationError, FieldProblem, InvalidInputError

__all__ = ["IntakeSigner", "sign_for_issue"]


@dataclass(frozen=True)
class IntakeSigner:
    """Who signs credentials at intake: the issuer's DID, the key's verification method, the raw key.

    ``private_key`` is the 32-byte Ed25519 seed (plain bytes, so that worker processes can receive it);
    ``created`` is the proof time shared by every credential of one intake run.
    """

    did: str
    verification_method: str
    private_key: bytes
    created: datetime

    def __repr__(self) -> str:  # never show the key
        return f"IntakeSigner(did={self.did!r}, verification_method={self.verification_method!r})"

    @classmethod
    def now(cls, did: str, verification_method: str, private_key: bytes) -> IntakeSigner:
        """A signer whose proofs are dated now (to the second, UTC)."""
        return cls(did, verification_method, private_key, datetime.now(UTC).replace(microsecond=0))


def sign_for_issue(
    credential: Mapping[str, Any], signer: IntakeSigner, status_entry: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The signed v3 (or v2, if it says so) credential for a validated ``credential`` (see the module doc)."""
    from anchor.credentials import data_integrity  # pyld is imported only by those who sign

    problems = _refusals(credential, signer, status_entry)
    if problems:
        raise CredentialValidationError(problems)
    document = dict(credential)
    if document.get(FORMAT_KEY) == FORMAT_V1:
        document["@context"] = list(CONTEXTS_V2)
        document[FORMAT_KEY] = FORMAT_V3
    if SALT_KEY not in document:
        document = with_salt(document)
    if status_entry is not None:
        document["credentialStatus"] = dict(status_entry)
    key = Ed25519PrivateKey.from_private_bytes(signer.private_key)
    proof = data_integrity.sign(document, key, signer.verification_method, created=signer.created)
    document["proof"] = [proof]
    return document


def _refusals(
    credential: Mapping[str, Any], signer: IntakeSigner, status_entry: Mapping[str, Any] | None
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if issuer_id != signer.did:
        problems.append(
            FieldProblem(
                "/issuer/id",
                f"{_show(issuer_id)} is not this issuer's DID {signer.did!r}: the signature and the anchoring "
                "must name the same issuer (set issuer.id to it, or sign with that issuer's key)",
            )
        )
    if "proof" in credential:
        problems.append(FieldProblem("/proof", "an input credential carries no proof: anchor signs it at issue time"))
    if status_entry is not None and "credentialStatus" in credential:
        problems.append(
            FieldProblem(
                "/credentialStatus",
                "is assigned by anchor at issue time (a status list entry that mirrors the chain); remove it",
            )
        )
    version = credential.get(FORMAT_KEY)
    if version == FORMAT_V1 and list(credential.get("@context", ())) != list(CONTEXTS):
        problems.append(
            FieldProblem("/@context", f"an {FORMAT_V1} credential to upgrade has exactly the contexts {list(CONTEXTS)}")
        )
    if version not in (FORMAT_V1, FORMAT_V2, FORMAT_V3):
        raise InvalidInputError(f"/{FORMAT_KEY}: {_show(version)} cannot be signed")
    return problems
