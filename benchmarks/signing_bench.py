"""Signing benchmark: eddsa-rdfc-2022 Data Integrity proofs per credential, anchor's fast path against pyld.

    python benchmarks/signing_bench.py                          # 2,000 credentials (pyld: 200), 1 and 2 processes
    python benchmarks/signing_bench.py --count 10000 --reference-count 400 --processes 1 2

Both rows run the same code (:func:`anchor.credentials.data_integrity.sign`, then ``verify``) on the same
realistic credentials (:func:`anchor.credentials.examples.generate_credentials`, format v2); they differ only
in the canonicalization: ``fast`` is :func:`anchor.credentials.rdfc.canonize`, ``pyld`` is
:func:`anchor.credentials.rdfc.canonize_reference` (pyld itself, in safe mode). Signing is: canonize the proof
configuration and the credential, hash, Ed25519 sign, and check the signature before returning it.

Each process first signs a few credentials untimed (context processing, done once per process, is then
cached), then signs and verifies its share. With several processes the credentials are split between them
(fresh workers, started before the clock; one worker for the single-process rows too); the time per
credential is the slowest worker's time over all credentials: throughput on the machine's cores.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from typing import Any

WARM_UP = 10


def _work(job: tuple[str, int, int]) -> tuple[float, float, int]:
    """Sign then verify ``count`` credentials (seed ``seed``) with the ``impl`` canonicalization: seconds."""
    impl, seed, count = job
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from anchor.credentials import data_integrity, rdfc
    from anchor.credentials.examples import generate_credentials
    from anchor.credentials.model import FORMAT_V2

    if impl == "pyld":
        data_integrity.canonize = rdfc.canonize_reference  # type: ignore[assignment]
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    credentials: list[dict[str, Any]] = list(
        generate_credentials(count + WARM_UP, seed=seed, credential_format=FORMAT_V2)
    )
    method = "did:web:issuer.example#key-1"
    for credential in credentials[:WARM_UP]:
        data_integrity.verify(credential, data_integrity.sign(credential, key, method), public)
    credentials = credentials[WARM_UP:]
    start = time.perf_counter()
    proofs = [data_integrity.sign(credential, key, method) for credential in credentials]
    signed = time.perf_counter() - start
    start = time.perf_counter()
    for credential, proof in zip(credentials, proofs, strict=True):
        data_integrity.verify(credential, proof, public)
    verified = time.perf_counter() - start
    return signed, verified, len(credentials)


def measure(impl: str, count: int, processes: int) -> tuple[float, float]:
    """Milliseconds per credential to sign, and to verify, with ``processes`` workers."""
    share = [count // processes + (1 if index < count % processes else 0) for index in range(processes)]
    jobs = [(impl, 1000 + index, size) for index, size in enumerate(share)]
    # always in fresh workers: the pyld row swaps the canonicalization in the process it runs in
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = pool.map(_work, jobs)
    total = sum(result[2] for result in results)
    sign_ms = max(result[0] for result in results) / total * 1000
    verify_ms = max(result[1] for result in results) / total * 1000
    return sign_ms, verify_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="credentials for the fast path")
    parser.add_argument("--reference-count", type=int, default=200, help="credentials for pyld (it is slow)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"eddsa-rdfc-2022 sign and verify, per credential; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"{'processes':>9}  {'impl':<5} {'credentials':>11}  {'sign ms':>8}  {'verify ms':>9}")
    for processes in args.processes:
        fast = measure("fast", args.count, processes)
        reference = measure("pyld", args.reference_count, processes)
        print(f"{processes:>9}  {'fast':<5} {args.count:>11}  {fast[0]:>8.3f}  {fast[1]:>9.3f}")
        print(f"{processes:>9}  {'pyld':<5} {args.reference_count:>11}  {reference[0]:>8.3f}  {reference[1]:>9.3f}")
        print(
            f"{processes:>9}  {'ratio':<5} {'':>11}  {reference[0] / fast[0]:>7.1f}x  {reference[1] / fast[1]:>8.1f}x"
        )


if __name__ == "__main__":
    main()
