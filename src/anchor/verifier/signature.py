"""The "Signed by the issuer" check: the issuer's Data Integrity proof, by a key its DID lists for credentials.

An ``anchor-credential-v2`` or ``-v3`` credential carries exactly one ``DataIntegrityProof`` among its issuer proofs
(``proof``, the anchoring proof aside), with cryptosuite ``eddsa-rdfc-2022`` and proof purpose
``assertionMethod``. It passes when, in this order:

1. its ``verificationMethod`` is ``<DID>#<key>`` and that DID is the credential's ``issuer.id``;
2. that DID is the one the trusted registry records for the issuer that anchored the batch (the same issuer
   signs and anchors: a valid signature by anyone else proves nothing about this credential);
3. the DID resolves (:mod:`anchor.verifier.dids`) and its document lists the key under ``assertionMethod``;
4. the signature verifies (:func:`anchor.credentials.data_integrity.verify`) on the credential without
   ``proof`` (proof-set semantics: the anchoring proof, added later, is not signed).

A missing, malformed, invalid or foreign signature fails the check (INVALID), and so does a DID document that
is not a usable document of the DID. A DID document that could not be had (the issuer's server unreachable,
too slow, an HTTP error) leaves the check undecided (code ``did-unresolved``: ERROR, like an RPC endpoint that
cannot be asked). ``anchor-credential-v1`` credentials predate issuer signatures: the check says so (code
``not-applicable``) and does not count against them, so old receipts keep verifying.

Steps 1 and 2 and the proof's form are checked first, and cost nothing. Steps 3 and 4 run only once the trusted
registry has confirmed step 2 (``registered``: the batch holds this very credential, and its issuer has this
DID): anyone can post a receipt to the public verification page, and without this a receipt could make the
verifier request a host of its choosing (a did:web DID names any host) or canonicalize a hostile document
(RDF canonicalization of a crafted graph of blank nodes takes time exponential in its size). Until then the
check is not decided (code ``not-checked``); the verdict then fails or errs on the registry's checks anyway.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from anchor.credentials import FORMAT_KEY, FORMAT_V1, FORMAT_V2, FORMAT_V3, issuer_id, issuer_proofs
from anchor.did_syntax import check_issuer_did
from anchor.errors import InvalidInputError, InvariantError
from anchor.verifier.dids import DidDocumentError, DidResolver, DidUnreachableError, split_method
from anchor.verifier.model import NOT_APPLICABLE, CheckState

#: The ``type`` of the issuer's proof, and what it must say.
DATA_INTEGRITY_PROOF: Final = "DataIntegrityProof"
PROOF_PURPOSE: Final = "assertionMethod"
#: Code of the check left undecided because the issuer's DID document could not be had.
DID_UNRESOLVED: Final = "did-unresolved"
#: Longest ``proofValue`` of an Ed25519 signature (64 bytes): ``z`` and at most 88 base58 digits.
_MAX_PROOF_VALUE: Final = 1 + math.ceil(64 * 8 / math.log2(58))


@dataclass(frozen=True)
class Outcome:
    """The check's state, code and reason."""

    state: CheckState
    code: str
    reason: str


def _failed(code: str, reason: str) -> Outcome:
    return Outcome(CheckState.FAILED, code, reason)


def check_signature(credential: Mapping[str, Any], resolver: DidResolver, registered: str | None) -> Outcome:
    """The "Signed by the issuer" check of ``credential`` (a receipt's credential: ``proof`` without the anchoring
    proof), where ``registered`` is the DID the registry records for the batch's issuer (None: not known).
    """
    version = credential.get(FORMAT_KEY)
    if version == FORMAT_V1:
        return Outcome(
            CheckState.NOT_CHECKED, NOT_APPLICABLE, f"not signed: format {FORMAT_V1} predates issuer signatures"
        )
    if version not in (FORMAT_V2, FORMAT_V3):
        return Outcome(CheckState.NOT_CHECKED, "not-checked", f"not checked: unknown credential format {version!r:.80}")
    from anchor.credentials.data_integrity import CRYPTOSUITE  # pyld and the cryptosuite: v2 receipts only

    proofs = [proof for proof in issuer_proofs(credential) if isinstance(proof, Mapping)]
    signatures = [proof for proof in proofs if proof.get("type") == DATA_INTEGRITY_PROOF]
    if not signatures:
        others = sorted({str(proof.get("type"))[:80] for proof in proofs})
        besides = f" (only {', '.join(others)})" if others else ""
        return _failed(
            "unsigned",
            f"no {DATA_INTEGRITY_PROOF}{besides}: an {version} credential is signed by its issuer",
        )
    if len(signatures) > 1:
        return _failed(
            "several-signatures",
            f"{len(signatures)} {DATA_INTEGRITY_PROOF}s: exactly one, its issuer's, is expected",
        )
    proof = signatures[0]
    suite, purpose = proof.get("cryptosuite"), proof.get("proofPurpose")
    if suite != CRYPTOSUITE:
        return _failed("unsupported-cryptosuite", f"cryptosuite {suite!r:.80}, expected {CRYPTOSUITE}")
    if purpose != PROOF_PURPOSE:
        return _failed("wrong-proof-purpose", f"proofPurpose {purpose!r:.80}, expected {PROOF_PURPOSE}")
    method = proof.get("verificationMethod")
    if not isinstance(method, str):
        return _failed("malformed-signature", f"verificationMethod {method!r:.80} is not a DID URL <DID>#<key>")
    try:
        did, _ = split_method(method)
        check_issuer_did(did, what="the signing key's DID")
    except InvalidInputError as error:
        return _failed("malformed-signature", _one_line(error))
    issuer = _issuer_id(credential)
    if did != issuer:
        return _failed(
            "foreign-signature",
            f"signed with {method}, a key of {did}, but the credential's issuer is {issuer!r:.120}",
        )
    if registered is None:
        return Outcome(
            CheckState.NOT_CHECKED,
            "not-checked",
            f"not checked: a signature is verified, and {did} resolved, only once the trusted registry confirms "
            "that the batch holds the credential and names its issuer",
        )
    if registered != did:
        return _failed(
            "signer-not-registered",
            f"signed with {method}, a key of {did}, but the registry records {registered!r:.120} for the issuer "
            "that anchored the batch",
        )
    value = proof.get("proofValue")
    if isinstance(value, str) and len(value) > _MAX_PROOF_VALUE:  # refused before decoding: base58 is quadratic
        return _failed(
            "bad-signature",
            f"proofValue is {len(value)} characters; an Ed25519 signature in base58btc is at most {_MAX_PROOF_VALUE}",
        )
    try:
        document = resolver.resolve(did)
    except DidUnreachableError as error:
        return Outcome(CheckState.NOT_CHECKED, DID_UNRESOLVED, f"not decided: {_one_line(error)}")
    except DidDocumentError as error:
        return _failed("did-document-invalid", _one_line(error))
    if document is None:  # only without network, which is not asked for here
        raise InvariantError(f"the DID resolver gave no document for {did} and no reason")
    key = document.method(method)
    if not document.may_assert(method):
        where = "defines it" if key is not None else "does not define it"
        return _failed(
            "key-not-authorized",
            f"signed with {method}, which the DID document ({document.source}) does not list under assertionMethod "
            f"(it {where}): that key may not sign credentials",
        )
    if key is None or key.public_key is None:
        kind = key.type if key is not None else "unknown"
        return _failed("key-not-authorized", f"{method} is a key of type {kind!r:.80}, not an Ed25519 key")
    problem = _verify(credential, proof, key.public_key)
    if problem is not None:
        return _failed("bad-signature", f"the signature by {method} does not verify: {problem}")
    return Outcome(
        CheckState.PASSED,
        "ok",
        f"signed with {method} ({CRYPTOSUITE}), listed under assertionMethod of the DID document "
        f"({document.source}); {did} is the issuer the registry records",
    )


def _verify(credential: Mapping[str, Any], proof: Mapping[str, Any], public_key: bytes) -> str | None:
    """Why the signature ``proof`` does not verify on ``credential`` (without ``proof``), or None when it does."""
    from anchor.credentials.data_integrity import verify

    unsigned = {name: value for name, value in credential.items() if name != "proof"}
    try:
        verify(unsigned, dict(proof), public_key)
    except InvalidInputError as error:
        return _one_line(error)
    return None


def _issuer_id(credential: Mapping[str, Any]) -> str | None:
    try:
        value = issuer_id(credential)
    except InvalidInputError:
        return None
    return value if isinstance(value, str) else None


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 400 else text[:397] + "..."
