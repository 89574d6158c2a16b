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

See :mod:`anchor.verifier.core` for the checks, :mod:`anchor.verifier.model` for the result,
:mod:`anchor.verifier.links` for shareable links.
"""

from anchor.verifier.core import (
    FINALIZED,
    ReceiptInput,
    TrustedRegistry,
    Verifier,
    configured_trust,
    summarize,
    trusted_from_deployments,
    verify,
)
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
from anchor.verifier.rpc import JsonRpcEndpoint, RpcError

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
