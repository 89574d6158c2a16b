"""The issuer's DID document: what a verifier fetches to find the keys that may sign for the issuer.

did:web (real issuers): the issuer publishes ``did.json`` over HTTPS at its own domain
(:attr:`anchor.did_syntax.DidWeb.document_url`), listing each of its Ed25519 keys as a ``Multikey``
verification method under ``assertionMethod`` (the relationship a Data Integrity proof of a credential names).
Every key that signed credentials still meant to verify stays listed: rotating to a new key keeps the old ones,
and only retiring a key takes it out (see :mod:`anchor.issuing.signing_keys`). Keys are not listed under
``authentication``: they sign credentials, nothing else.

did:key (demos, local use): the DID is the public key itself, and its document is derived from it offline
(:func:`anchor.credentials.multikey.did_key_document`); there is nothing to publish, and no rotation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from anchor.credentials import multikey
from anchor.did_syntax import is_did_web, parse_did_web
from anchor.errors import InvariantError

#: The contexts of a did:web document: DID Core 1.0 and the Multikey vocabulary.
DID_DOCUMENT_CONTEXTS: Final = ("https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1")


def verification_method_id(did: str, key_name: str, public_key_multibase: str) -> str:
    """The id of a key's verification method: ``<did>#<key name>`` (did:web), ``<did>#<multibase>`` (did:key)."""
    if is_did_web(did):
        return f"{did}#{key_name}"
    return f"{did}#{public_key_multibase}"


def document_url(did: str) -> str | None:
    """Where the DID document of ``did`` must be published (HTTPS URL); None for did:key (nothing to publish)."""
    return parse_did_web(did).document_url if is_did_web(did) else None


def did_document(did: str, methods: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The DID document of ``did`` listing ``methods``: (verification method id, publicKeyMultibase) pairs.

    For did:web, every method is a ``Multikey`` controlled by ``did`` and listed under ``assertionMethod``, in
    the order given. For did:key, the document derived from the DID (``methods`` must be that key's only).
    Each public key is decoded first: a malformed one is an InvalidInputError, never published.
    """
    ids = [method_id for method_id, _ in methods]
    for method_id, public in methods:
        multikey.public_key_from_multibase(public)
        if not method_id.startswith(f"{did}#"):
            raise InvariantError(f"verification method {method_id!r} is not one of {did!r}")
    if len(set(ids)) != len(ids):
        raise InvariantError(f"verification methods listed twice in {ids}")
    if not is_did_web(did):
        if len(methods) != 1 or ids[0] != multikey.did_key_verification_method(
            multikey.public_key_from_multibase(methods[0][1])
        ):
            raise InvariantError(f"the document of {did} lists that DID's own key only, not {ids}")
        return multikey.did_key_document(did)
    parse_did_web(did)
    return {
        "@context": list(DID_DOCUMENT_CONTEXTS),
        "id": did,
        "verificationMethod": [
            {"id": method_id, "type": "Multikey", "controller": did, "publicKeyMultibase": public}
            for method_id, public in methods
        ],
        "assertionMethod": [method_id for method_id, _ in methods],
    }
