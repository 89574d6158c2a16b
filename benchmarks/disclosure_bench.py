"""Disclosure benchmark: the anchor-credential-v3 digest (one salted commitment per claim) against v2's.

    python benchmarks/disclosure_bench.py                  # 2,000 credentials, 5 rounds
    python benchmarks/disclosure_bench.py --count 10000 --rounds 3

Both rows hash the same realistic signed credentials (:func:`anchor.credentials.examples.generate_credentials`
with a Data Integrity proof, about 75 claims each), differing only in ``anchorFormat``: ``v2`` is keccak256 of
the RFC 8785 form of the hashed view, ``v3`` the per-claim commitments and their digest
(:mod:`anchor.credentials.disclosure`). Rounds alternate v2 and v3 in one process, and the best round of each
is reported (the machine is shared: the ratio is what to read). A third row is what intake does per credential
in either format: validate, salt, sign (``eddsa-rdfc-2022``) and hash, v1 input upgraded to v2 or v3.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any


def _credentials(count: int, credential_format: str) -> list[dict[str, Any]]:
    from anchor.credentials.examples import generate_credentials

    signature = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-11-23T02:00:00Z",
        "verificationMethod": "did:web:issuer.example#key-1",
        "proofPurpose": "assertionMethod",
        "proofValue": "z" + "2" * 86,
    }
    found = []
    for credential in generate_credentials(count, seed=7, credential_format=credential_format):
        credential["proof"] = [dict(signature)]
        found.append(credential)
    return found


def digest_rows(count: int, rounds: int) -> dict[str, float]:
    """Best microseconds per credential of each digest, rounds alternating."""
    from anchor.credentials import FORMAT_V2, FORMAT_V3, credential_digest

    sets = {"v2": _credentials(count, FORMAT_V2), "v3": _credentials(count, FORMAT_V3)}
    best = {name: float("inf") for name in sets}
    for _ in range(rounds):
        for name, credentials in sets.items():
            start = time.perf_counter()
            for credential in credentials:
                credential_digest(credential)
            best[name] = min(best[name], (time.perf_counter() - start) / count * 1e6)
    return best


def intake_rows(count: int, rounds: int) -> dict[str, float]:
    """Best microseconds per credential of intake's prepare step (validate, salt, sign, hash), v2 and v3."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from anchor.credentials import CONTEXTS_V2, FORMAT_V2
    from anchor.credentials.examples import generate_credentials
    from anchor.credentials.multikey import did_key, did_key_verification_method
    from anchor.issuing import intake
    from anchor.issuing.signing import IntakeSigner

    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    signer = IntakeSigner(did_key(raw), did_key_verification_method(raw), bytes(range(32)), datetime.now(UTC))
    v1 = list(generate_credentials(count, seed=8, salted=False, issuer_did=signer.did))
    sets = {
        "v2": [dict(item, **{"@context": list(CONTEXTS_V2), "anchorFormat": FORMAT_V2}) for item in v1],
        "v3": v1,  # a v1 input becomes v3
    }
    for item in v1[:5]:  # context processing, once per process
        intake.prepare_credential(item, signer=signer)
    best = {name: float("inf") for name in sets}
    for _ in range(rounds):
        for name, credentials in sets.items():
            start = time.perf_counter()
            for credential in credentials:
                intake.prepare_credential(credential, signer=signer)
            best[name] = min(best[name], (time.perf_counter() - start) / count * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--intake-count", type=int, default=300)
    arguments = parser.parse_args()
    digests = digest_rows(arguments.count, arguments.rounds)
    print(f"digest only, {arguments.count} credentials, best of {arguments.rounds} rounds")
    for name, micros in digests.items():
        print(f"  {name}: {micros:8.1f} us per credential")
    print(f"  v3 / v2: {digests['v3'] / digests['v2']:.2f}")
    prepared = intake_rows(arguments.intake_count, max(2, arguments.rounds // 2))
    print(f"intake prepare (validate, salt, sign, hash), {arguments.intake_count} credentials")
    for name, micros in prepared.items():
        print(f"  {name}: {micros:8.1f} us per credential")
    print(f"  v3 / v2: {prepared['v3'] / prepared['v2']:.2f}")


if __name__ == "__main__":
    main()
