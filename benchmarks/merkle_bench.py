"""Merkle benchmark: anchor.merkle against @openzeppelin/merkle-tree and blockcerts-merkletools.

    python benchmarks/merkle_bench.py                      # 10k 100k 1M; peers up to 100k
    python benchmarks/merkle_bench.py 10k 100k --peers-max 100k --workers 2

Every size gets one input (random 32-byte digests; value i is ``(digest i, i)``,
encoded as ``["bytes32", "uint256"]``) that every implementation reads, each in its
own process. Timed: building the tree, then producing the proof of every value
(each implementation's own way, consumed and dropped). Peak memory is the
kernel's maximum resident set of that process (``os.wait4``), which covers its
forked workers as the largest single process, not their sum; anchor's rows also
report the sum of main and worker peaks (an upper bound: forked pages are shared).

The peers are slow (the JS library needs about a minute at 100k), so they only run
up to ``--peers-max`` values.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OZ_SCRIPT = HERE / "js" / "oz_merkle_bench.js"
ANCHOR = ["bytes32", "uint256"]


@dataclass
class Row:
    impl: str
    n: int
    build_s: float
    proofs_s: float
    peak_mb: float
    note: str = ""
    sum_mb: float | None = None
    root: str | None = None


# -- the implementations, each run in a fresh process ------------------------------------------------


def read_values(path: str, n: int) -> list[tuple[bytes, int]]:
    data = Path(path).read_bytes()
    return [(data[32 * i : 32 * i + 32], i) for i in range(n)]


def run_anchor(path: str, n: int, workers: int, mode: str) -> dict[str, Any]:
    from anchor.merkle import StandardMerkleTree

    values = read_values(path, n)
    start = time.perf_counter()
    tree = StandardMerkleTree.of(values, ANCHOR, workers=workers)
    build = time.perf_counter() - start
    start = time.perf_counter()
    nodes = 0
    if mode == "bulk":  # the batch path: every proof, streamed, checked as iter_proofs documents
        for _, proof in tree.iter_proofs(workers=workers):
            nodes += len(proof)
    elif mode == "get_proof":  # one call per value, each proof verified by recomputing the root
        for i in range(n):
            nodes += len(tree.get_proof(i))
    else:  # verify-all: the bulk proofs, and then every one of them verified in full from its value
        for index, proof in tree.iter_proofs(workers=workers):
            if not StandardMerkleTree.verify(tree.root, ANCHOR, values[index], proof):
                raise SystemExit(f"proof {index} does not verify")
            nodes += len(proof)
    proofs = time.perf_counter() - start
    return {
        "build_s": build,
        "proofs_s": proofs,
        "root": tree.root,
        "nodes": nodes,
        "self_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "workers_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }


def run_merkletools(path: str, n: int) -> dict[str, Any]:
    from blockcerts_merkletools import MerkleTools  # type: ignore[import-untyped]

    # The same values, ABI-encoded as hex text, hashed by the library with SHA-256 (do_hash=True).
    texts = [(d + i.to_bytes(32, "big")).hex() for d, i in read_values(path, n)]
    start = time.perf_counter()
    tools = MerkleTools(hash_type="sha256")
    tools.add_leaf(texts, do_hash=True)
    tools.make_tree()
    build = time.perf_counter() - start
    start = time.perf_counter()
    nodes = sum(len(tools.get_proof(i)) for i in range(n))
    proofs = time.perf_counter() - start
    return {"build_s": build, "proofs_s": proofs, "root": None, "nodes": nodes}


# -- the driver ----------------------------------------------------------------------------------


def measure(command: list[str]) -> tuple[dict[str, Any], float]:
    """Run one implementation; return its JSON report and its peak RSS in MB (from the kernel)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=HERE.parent)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{command} failed with exit code {process.returncode}")
    report: dict[str, Any] = json.loads(output.decode().strip().splitlines()[-1])
    return report, usage.ru_maxrss / 1024


def parse_count(text: str) -> int:
    text = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text[:-1]) * scale) if scale > 1 else int(text)


def keccak_bindings(count: int = 50_000) -> list[tuple[str, float]]:
    """ns per Keccak-256 of a 32-byte input through each binding available (best of 3)."""
    data = [random.Random(i).randbytes(32) for i in range(count)]
    candidates: list[tuple[str, Callable[[bytes], bytes]]] = []
    try:
        import sha3

        candidates.append(("safe-pysha3 sha3.keccak_256(x).digest()", lambda x: sha3.keccak_256(x).digest()))
    except ImportError:
        pass
    try:
        from Crypto.Hash import keccak

        candidates.append(
            ("pycryptodome keccak.new(data=x, digest_bits=256)", lambda x: keccak.new(data=x, digest_bits=256).digest())
        )
    except ImportError:
        pass
    try:
        from eth_hash.auto import keccak as eth_keccak

        candidates.append((f"eth_hash.auto.keccak(x) ({_eth_hash_backend()})", eth_keccak))
    except ImportError:
        pass
    results = []
    for name, function in candidates:
        best = min(_timed(function, data) for _ in range(3))
        results.append((name, best / count * 1e9))
    return results


def _eth_hash_backend() -> str:
    from eth_hash.auto import keccak as eth_keccak

    eth_keccak(b"")
    hasher = getattr(eth_keccak, "hasher", None)
    owner = getattr(hasher, "__self__", None)
    return type(owner).__name__ if owner is not None else "unknown backend"


def _timed(function: Callable[[bytes], bytes], data: list[bytes]) -> float:
    start = time.perf_counter()
    for x in data:
        function(x)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", default=["10k", "100k", "1M"], help="tree sizes (10k, 1M, 2500...)")
    parser.add_argument("--peers-max", default="100k", help="largest size the peers run at (default 100k)")
    parser.add_argument("--workers", type=int, default=2, help="processes for the parallel anchor row (default 2)")
    parser.add_argument(
        "--verify-all-max",
        default="0",
        help="also time verifying every proof in full, up to this size (default 0: off)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-keccak", action="store_true", help="skip the Keccak binding measurement")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="bulk", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run:  # a child: run one implementation and report
        n = parse_count(args.sizes[0])
        report = (
            run_merkletools(args.input, n)
            if args.run == "merkletools"
            else run_anchor(args.input, n, args.workers, args.mode)
        )
        print(json.dumps(report))
        return

    sizes = [parse_count(s) for s in args.sizes]
    peers_max, verify_all_max = parse_count(args.peers_max), parse_count(args.verify_all_max)
    print(f"python {sys.version.split()[0]}, node {_node_version()}, {os.cpu_count()} CPUs, seed {args.seed}")
    if not args.no_keccak:
        print("\nKeccak-256 of 32 bytes, per call:")
        for name, ns in keccak_bindings():
            print(f"  {name:55s} {ns:8.0f} ns")
    sys.stdout.flush()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"input-{n}.bin"
            path.write_bytes(random.Random(args.seed).randbytes(32 * n))
            me = [sys.executable, __file__, str(n), "--input", str(path)]
            plans: list[tuple[str, list[str], str]] = [
                ("anchor iter_proofs, 1 proc", [*me, "--run", "anchor", "--workers", "1"], ""),
                (
                    f"anchor iter_proofs, {args.workers} procs",
                    [*me, "--run", "anchor", "--workers", str(args.workers)],
                    "",
                ),
            ]
            if n <= peers_max:
                plans.append(
                    ("anchor get_proof x n", [*me, "--run", "anchor", "--workers", "1", "--mode", "get_proof"], "")
                )
                plans.append(("@openzeppelin/merkle-tree", ["node", str(OZ_SCRIPT), str(path), str(n)], "keccak"))
                plans.append(("blockcerts-merkletools", [*me, "--run", "merkletools"], "sha256, unsorted"))
            if n <= verify_all_max:
                plans.append(
                    (
                        "anchor iter_proofs + verify all",
                        [*me, "--run", "anchor", "--workers", "1", "--mode", "verify"],
                        "",
                    )
                )
            for name, command, note in plans:
                report, peak = measure(command)
                workers_kb = report.get("workers_rss_kb") or 0
                row = Row(name, n, report["build_s"], report["proofs_s"], peak, note, root=report.get("root"))
                if workers_kb:
                    row.sum_mb = (report["self_rss_kb"] + workers_kb) / 1024
                rows.append(row)
                print(f"  done: {name} n={n:,} build {row.build_s:.2f}s proofs {row.proofs_s:.2f}s", file=sys.stderr)
            roots = {r.root for r in rows if r.n == n and r.root is not None}
            if len(roots) != 1:
                raise SystemExit(f"n={n}: implementations disagree on the root: {roots}")
    print_table(rows)
    skipped = [n for n in sizes if n > peers_max]
    if skipped:
        print(
            f"\npeers skipped above --peers-max={peers_max:,} (at n={', '.join(f'{n:,}' for n in skipped)}): "
            "@openzeppelin/merkle-tree takes about a minute at 100k; raise --peers-max to include them."
        )
    print(
        "\nproofs = the proof of every value, consumed and dropped. anchor iter_proofs: inner nodes re-hashed once"
        "\n(tree check), every proof built top-down, 1 in 256 re-verified from its value; get_proof: one call per"
        "\nvalue, each proof verified by recomputing the root; OpenZeppelin getProof re-verifies every proof too;"
        "\nmerkletools verifies nothing and uses SHA-256 (hashlib), no sorting, no double leaf hash."
        "\nratios: time or memory of the row / anchor iter_proofs, 1 proc, same n (higher = slower or bigger)."
    )


def print_table(rows: list[Row]) -> None:
    base = {r.n: r for r in rows if r.impl == "anchor iter_proofs, 1 proc"}
    header = (
        f"{'impl':34s} {'n':>10s} {'build s':>8s} {'proofs s':>9s} {'peak MB':>8s} {'sum MB':>7s}"
        f" {'build x':>8s} {'proofs x':>9s} {'mem x':>6s}  note"
    )
    print("\n" + header)
    print("-" * len(header))
    for r in rows:
        b = base[r.n]
        sum_mb = f"{r.sum_mb:7.0f}" if r.sum_mb is not None else f"{'':7s}"
        print(
            f"{r.impl:34s} {r.n:>10,} {r.build_s:8.2f} {r.proofs_s:9.2f} {r.peak_mb:8.0f} {sum_mb}"
            f" {r.build_s / b.build_s:8.1f} {r.proofs_s / b.proofs_s:9.1f} {r.peak_mb / b.peak_mb:6.1f}  {r.note}"
        )


def _node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not found"


if __name__ == "__main__":
    main()
