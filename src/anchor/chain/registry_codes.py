"""The registry's codes, shared by the issuer side and the verifier without importing web3."""

from __future__ import annotations

from enum import IntEnum


class CredentialStatus(IntEnum):
    """Mirror of ``CredentialStatus`` in CredentialRegistryTypes.sol (same order)."""

    VALID = 0
    UNKNOWN_BATCH = 1
    BAD_PROOF = 2
    ISSUER_INACTIVE = 3
    SIGNER_REMOVED = 4
    BATCH_REVOKED = 5
    REVOKED = 6


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
