"""Verifying receipts: the checks, the verdict, and how to ask the chain for as little as possible.

Usage::

    from anchor.verifier import Verifier, verify

    result = verify(receipt_json, rpc_urls=["https://polygon-rpc.com"], trusted_registries=["0x..."])
    result.verdict            # Verdict.VALID / INVALID / ERROR
    for check in result.checks:
        print(check.name, check.state, check.reason)

    with Verifier(rpc_urls, trusted) as verifier:      # many receipts: one eth_call each
        for result in verifier.verify_many(paths, workers=8):
            ...

The modules: :mod:`~anchor.verifier.trust` (which registries count), :mod:`~anchor.verifier.session`
(the :class:`Verifier`: endpoints, caches), :mod:`~anchor.verifier.checks` (the nine checks),
:mod:`~anchor.verifier.signature` and :mod:`~anchor.verifier.dids` (the issuer's signature, its DID document),
:mod:`~anchor.verifier.onchain` (what is asked of the registry), :mod:`~anchor.verifier.model` (the result),
:mod:`~anchor.verifier.presentation` (its wording and the credential summary), :mod:`~anchor.verifier.bulk`
(directories of receipts) and :mod:`~anchor.verifier.links` (shareable links). JSON-RPC goes through
:mod:`anchor.chain.jsonrpc`; no web3, eth_abi or pydantic is imported on this path.
"""

from anchor.chain.jsonrpc import JsonRpcEndpoint, RpcError
from anchor.verifier.checks import ReceiptInput
from anchor.verifier.links import receipt_from_link, receipt_link
from anchor.verifier.model import (
    CHECKS,
    Check,
    CheckState,
    CredentialSummary,
    Evidence,
    Revocation,
    Verdict,
    Verification,
)
from anchor.verifier.presentation import summarize
from anchor.verifier.session import FINALIZED, Verifier, verify
from anchor.verifier.trust import TrustedRegistry, configured_trust, trusted_from_deployments

__all__ = [
    "CHECKS",
    "FINALIZED",
    "Check",
    "CheckState",
    "CredentialSummary",
    "Evidence",
    "JsonRpcEndpoint",
    "ReceiptInput",
    "Revocation",
    "RpcError",
    "TrustedRegistry",
    "Verdict",
    "Verification",
    "Verifier",
    "configured_trust",
    "receipt_from_link",
    "receipt_link",
    "summarize",
    "trusted_from_deployments",
    "verify",
]
