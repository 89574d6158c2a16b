"""Load test of ``anchor serve``: requests per second and latency at 50 concurrent clients, against a real chain.

    .venv/bin/python benchmarks/serve_load.py [--users 50] [--duration 60] [--receipts 500]

Starts anvil in a temporary ANCHOR_HOME, deploys the registry, registers an issuer and anchors RECEIPTS
generated credentials as one batch (final before the test starts). Then ``anchor serve`` (one uvicorn process,
as an operator runs it) on 127.0.0.1, trusting that registry, and locust headless (``serve_locustfile.py``)
with USERS clients in a closed loop for DURATION seconds: each POSTs a receipt to ``/verify`` (four in five
valid, one in five with a claim changed after anchoring, so INVALID) and checks the status and the verdict.
Every verification is complete: schema, digest, Merkle proof, and the registry's status by ``eth_call`` at
the finalized block. Prints requests/s, the median, p95, p99 and maximum latency and the failures; exits 1
on any failure. Not part of ``make test`` (a benchmark): ``make load-test``.

The server, anvil and locust share the machine: on 2 cores the figures measure the three together.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from anchored_batch import anchored_receipts, free_port

from anchor.chain import node
from anchor.chain.connection import connect
from anchor.chain.keys import development_accounts
from anchor.chain.registry import Registry
from anchor.config import Settings

HERE = Path(__file__).resolve().parent


def deployed_receipts(settings: Settings, count: int) -> tuple[Registry, list[dict[str, Any]]]:
    """Deploy a registry, register an issuer and anchor ``count`` credentials as one final batch."""
    chain = connect(settings)
    operator, signer = development_accounts()[0], development_accounts()[1]
    registry, _ = Registry.deploy(chain, operator, operator.address, 0)
    return registry, anchored_receipts(chain, registry, operator, signer, "FR", count, seed=21)


def cases(receipts: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Four valid receipts in five; the fifth with its ECTS credits changed after anchoring (INVALID)."""
    made = []
    for index, receipt in enumerate(receipts):
        if index % 5 == 4:
            tampered = copy.deepcopy(receipt)
            tampered["credentialSubject"]["creditsEarned"] = 60
            made.append({"body": json.dumps(tampered, ensure_ascii=False), "verdict": "INVALID"})
        else:
            made.append({"body": json.dumps(receipt, ensure_ascii=False), "verdict": "VALID"})
    return made


def start_server(settings: Settings, registry: Registry, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``anchor serve`` on a free port, trusting ``registry`` only; returns the process and its URL."""
    port = free_port()
    command = [sys.executable, "-m", "anchor", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--rpc", settings.effective_rpc_url, "--registry", registry.address]
    env = {**os.environ, "ANCHOR_HOME": str(log.parent / "serve-home")}
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"anchor serve exited: {log.read_text(errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"anchor serve did not answer: {log.read_text(errors='replace')[-2000:]}")
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except requests.RequestException:
            pass
        time.sleep(0.1)


def run_locust(url: str, cases_file: Path, users: int, duration: int, folder: Path) -> dict[str, str]:
    """Locust headless against ``url``; the aggregated row of its statistics."""
    prefix = folder / "locust"
    command = [sys.executable, "-m", "locust", "-f", str(HERE / "serve_locustfile.py"), "--headless"]
    command += ["--users", str(users), "--spawn-rate", str(users), "--run-time", f"{duration}s", "--host", url]
    command += ["--csv", str(prefix), "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING"]
    env = {**os.environ, "ANCHOR_LOAD_CASES": str(cases_file)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        raise RuntimeError(f"locust wrote no statistics ({done.returncode}): {done.stderr[-3000:]}")
    with stats.open(newline="", encoding="utf-8") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    failures = Path(f"{prefix}_failures.csv")
    if failures.exists():
        with failures.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                print(f"  failure x{row['Occurrences']}: {row['Error'][:300]}")
    return rows["Aggregated"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (default 60)")
    parser.add_argument("--receipts", type=int, default=500, help="distinct receipts sent (default 500)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="anchor-serve-load-") as name:
        folder = Path(name)
        settings = Settings(home=folder / "home", node_port=free_port(), node_block_time=0.5)
        print(f"setting up: anvil, registry, one batch of {options.receipts} receipts ...", flush=True)
        node.start(settings)
        server = None
        try:
            registry, receipts = deployed_receipts(settings, options.receipts)
            cases_file = folder / "cases.json"
            cases_file.write_text(json.dumps(cases(receipts)), encoding="utf-8")
            server, url = start_server(settings, registry, folder / "serve.log")
            print(f"anchor serve on {url}; locust: {options.users} clients for {options.duration} s ...", flush=True)
            load_before = os.getloadavg()[0]
            row = run_locust(url, cases_file, options.users, options.duration, folder)
        finally:
            if server is not None:
                server.terminate()
                server.wait(15)
            node.stop(settings)
    requests_count, failures = int(row["Request Count"]), int(row["Failure Count"])
    print(
        f"\nPOST /verify, {options.users} concurrent clients, {options.duration} s "
        f"(load average {load_before:.2f} before, {os.cpu_count()} CPUs):\n"
        f"  requests      {requests_count:,} ({failures} failed)\n"
        f"  requests/s    {float(row['Requests/s']):.0f}\n"
        f"  latency (ms)  median {row['50%']}, p95 {row['95%']}, p99 {row['99%']}, "
        f"max {float(row['Max Response Time']):.0f}"
    )
    return 1 if failures or requests_count == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
