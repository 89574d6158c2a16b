"""Intake benchmark: ``anchor issue DIR`` on a directory of generated credential files, unsigned and signed.

    python benchmarks/intake_bench.py                      # 20,000 files, unsigned and signed
    python benchmarks/intake_bench.py 5000 --only unsigned
    python benchmarks/intake_bench.py 20000 --workers 1

The files (realistic EU micro-credentials of about 3 KB, :func:`anchor.credentials.examples.generate_credentials`,
unsalted, pretty-printed) are written first, not timed. Each run is the real command in a fresh process
(``python -m anchor issue DIR``) against a fresh SQLite issuer database in a temporary ANCHOR_HOME: reading,
strict parsing, validation, salt, signature (signed: the issuer's did:key, created first with
``anchor did key create --did-key``), canonical form, digest, and the one queue transaction. The time includes
the process start. The target (the scale issue's) is 5,000 files/s on the 2-core machine: less than 400 µs of
CPU per file summed over the process and its validating workers, which is printed with the peak memory.

    python benchmarks/intake_bench.py 20000 --only unsigned --peer-src /tmp/before/src

measures another checkout's code on the same files in the same run, alternating with this one (``git worktree
add /tmp/before HEAD`` makes one), and prints the ratios: on a shared machine only those compare.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from measured_run import Run, run_anchor

PASSWORD = "intake-bench-password"


def write_files(folder: Path, count: int, issuer_did: str | None) -> int:
    from anchor.credentials.examples import generate_credentials

    folder.mkdir(parents=True)
    size = 0
    for n, credential in enumerate(generate_credentials(count, seed=7, salted=False, issuer_did=issuer_did)):
        data = json.dumps(credential, ensure_ascii=False, indent=2).encode()
        (folder / f"{n:07d}.json").write_bytes(data)
        size += len(data)
    return size


def anchor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "anchor", *args], env=env, capture_output=True, text=True, check=False)


def run(count: int, signed: bool, workers: int | None, peer_src: str | None, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        env = os.environ | {
            "ANCHOR_HOME": str(home),
            "ANCHOR_KEY_PASSWORD": PASSWORD,
        }
        did = None
        if signed:
            created = anchor(
                env | {"ANCHOR_DATABASE_URL": f"sqlite:///{Path(folder) / 'keys.db'}"},
                "did",
                "key",
                "create",
                "--did-key",
            )
            if created.returncode != 0:
                raise SystemExit(f"anchor did key create failed:\n{created.stdout}{created.stderr}")
            did = next(word for word in created.stdout.split() if word.startswith("did:key:") and "#" not in word)
        files = Path(folder) / "credentials"
        size = write_files(files, count, did)
        command = ["issue", str(files)] + ([] if signed else ["--unsigned"])
        if workers is not None:
            command += ["--workers", str(workers)]
        label = "signed (v2)" if signed else "unsigned (v1)"
        print(f"{label}: {count:,} files ({size / count / 1e3:.1f} KB each), anchor issue DIR end to end")
        best: dict[str, Run] = {}
        for attempt in range(rounds):
            for name, src in (("this", None), ("peer", peer_src)):
                if name == "peer" and src is None:
                    continue
                database = Path(folder) / f"issuer-{name}-{attempt}.db"
                measured = run_anchor(env | {"ANCHOR_DATABASE_URL": f"sqlite:///{database}"}, *command, src=src)
                database.unlink()
                print(f"  {name:<5} {measured.seconds:6.2f} s  {measured.per_item(count)}")
                if name not in best or measured.cpu < best[name].cpu:
                    best[name] = measured
        if "peer" in best:
            this, peer = best["this"], best["peer"]
            print(
                f"  this/peer (best of {rounds}): time {this.seconds / peer.seconds:.2f}, "
                f"CPU {this.cpu / peer.cpu:.2f} (parent {this.parent_cpu / peer.parent_cpu:.2f}, "
                f"workers {this.worker_cpu / peer.worker_cpu:.2f}), peak memory {this.peak_mb / peer.peak_mb:.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", nargs="?", type=int, default=20_000)
    parser.add_argument("--only", choices=("unsigned", "signed"), default=None)
    parser.add_argument("--workers", type=int, default=None, help="anchor issue --workers (default: its own)")
    parser.add_argument("--peer-src", default=None, help="another checkout's src directory, measured alongside")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each (alternating); the best is compared")
    options = parser.parse_args()
    for signed in (False, True):
        if options.only is None or options.only == ("signed" if signed else "unsigned"):
            run(options.count, signed, options.workers, options.peer_src, options.rounds)


if __name__ == "__main__":
    main()
