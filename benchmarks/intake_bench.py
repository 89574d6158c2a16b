"""Intake benchmark: ``anchor issue DIR`` on a directory of generated credential files, unsigned and signed.

    python benchmarks/intake_bench.py                      # 20,000 files, unsigned and signed
    python benchmarks/intake_bench.py 5000 --only unsigned
    python benchmarks/intake_bench.py 20000 --workers 1

The files (realistic EU micro-credentials of about 3 KB, :func:`anchor.credentials.examples.generate_credentials`,
unsalted, pretty-printed) are written first, not timed. Each run is the real command in a fresh process
(``python -m anchor issue DIR``) against a fresh SQLite issuer database in a temporary ANCHOR_HOME: reading,
strict parsing, validation, salt, signature (signed: the issuer's did:key, created first with
``anchor did key create --did-key``), canonical form, digest, and the one queue transaction. The time includes
the process start. The target (the scale issue's) is 5,000 files/s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def run(count: int, signed: bool, workers: int | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        env = os.environ | {
            "ANCHOR_HOME": str(home),
            "ANCHOR_DATABASE_URL": f"sqlite:///{Path(folder) / 'issuer.db'}",
            "ANCHOR_KEY_PASSWORD": PASSWORD,
        }
        did = None
        if signed:
            created = anchor(env, "did", "key", "create", "--did-key")
            if created.returncode != 0:
                raise SystemExit(f"anchor did key create failed:\n{created.stdout}{created.stderr}")
            did = next(word for word in created.stdout.split() if word.startswith("did:key:") and "#" not in word)
        files = Path(folder) / "credentials"
        size = write_files(files, count, did)
        command = ["issue", str(files)] + ([] if signed else ["--unsigned"])
        if workers is not None:
            command += ["--workers", str(workers)]
        load = os.getloadavg()[0]
        started = time.perf_counter()
        result = anchor(env, *command)
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(
                f"anchor issue failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        print(
            f"{'signed (v2)' if signed else 'unsigned (v1)':<14} {count:,} files ({size / count / 1e3:.1f} KB each): "
            f"{seconds:6.2f} s  {count / seconds:7,.0f} files/s  (load average before: {load:.2f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", nargs="?", type=int, default=20_000)
    parser.add_argument("--only", choices=("unsigned", "signed"), default=None)
    parser.add_argument("--workers", type=int, default=None, help="anchor issue --workers (default: its own)")
    options = parser.parse_args()
    for signed in (False, True):
        if options.only is None or options.only == ("signed" if signed else "unsigned"):
            run(options.count, signed, options.workers)


if __name__ == "__main__":
    main()
