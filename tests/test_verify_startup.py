"""A one-receipt ``anchor verify`` imports only what it uses (issue 13: one receipt in under 0.2 s, start included).

Not a timed test: a new process verifies one receipt (against :mod:`support.fake_chain`) through the real
command, then says which modules it imported. The chain-side libraries (web3, eth_abi, eth_account),
pydantic, the issuer's JSON-LD stack (pyld, requests), rich, SQLAlchemy, and the standard library's heavier
parts that only other paths need (worker processes, thread pools, logging, salts, importlib.resources with
tempfile, shutil and zipfile, difflib) must not be among them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from anchor.credentials.examples import generate_credentials, issuer_for_country

from support.fake_chain import FakeChain, FakeEndpoint

#: Top-level modules a one-receipt verification must not import (what the package they start is for).
HEAVY = {
    "web3": "chain writes (issuers, operators)",
    "eth_abi": "web3's ABI codec (anchor has its own)",
    "eth_account": "keys and signing",
    "eth_utils": "web3's helpers",
    "pydantic": "web3's models",
    "pyld": "JSON-LD processing",
    "requests": "pyld's document loader",
    "rich": "progress bars of large runs",
    "sqlalchemy": "the issuer's store",
    "multiprocessing": "worker processes of large runs and tree builds",
    "concurrent": "thread pools of large runs and several endpoints",
    "logging": "(imported by thread pools)",
    "secrets": "salts, made by issuers",
    "tempfile": "(imported by importlib.resources)",
    "zipfile": "(imported by importlib.resources)",
    "difflib": "explaining invalid credentials",
}

_PROBE = """
import json, sys
from anchor.cli import main
try:
    main.main(sys.argv[1:], prog_name="anchor")
except SystemExit as end:
    code = end.code
print(json.dumps({"exit": code, "modules": sorted({name.split(".")[0] for name in sys.modules})}), file=sys.stderr)
"""


def test_verifying_one_receipt_imports_none_of_the_heavy_modules(tmp_path: Path) -> None:
    de = issuer_for_country("DE")
    chain = FakeChain()
    chain.register(1, de.name, "DE", de.id)
    receipt = tmp_path / "one.json"
    receipt.write_text(json.dumps(chain.anchor(1, list(generate_credentials(1, seed=41, issuer=de)))[0]))
    endpoint = FakeEndpoint(chain)
    try:
        arguments = ["--home", str(tmp_path / "home"), "verify", str(receipt), "--rpc", endpoint.url]
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, *arguments, "--registry", chain.registry],
            capture_output=True,
            text=True,
            env={key: value for key, value in os.environ.items() if not key.startswith("ANCHOR_")},
            timeout=120,
            check=False,
        )
    finally:
        endpoint.close()
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["exit"] in (0, None), done.stdout + done.stderr
    assert "VALID" in done.stdout
    imported = {name: why for name, why in HEAVY.items() if name in report["modules"]}
    assert imported == {}, f"a one-receipt verification imported: {imported}"
