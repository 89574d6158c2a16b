"""What a one-receipt ``anchor verify`` imports: the real command in a new process, against a fake chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from anchor.credentials.examples import generate_credentials, issuer_for_country

from support.fake_chain import FakeChain, FakeEndpoint

_PROBE = """
import json, sys
from anchor.cli import main
try:
    main.main(sys.argv[1:], prog_name="anchor")
except SystemExit as end:
    code = end.code
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def modules_of_one_receipt(tmp_path: Path, *, seed: int, host: str = "127.0.0.1") -> set[str]:
    """Every module (full dotted names) a new process imports to verify one valid receipt through
    ``anchor verify``, the endpoint's URL naming ``host``; the verification must be VALID."""
    de = issuer_for_country("DE")
    chain = FakeChain()
    chain.register(1, de.name, "DE", de.id)
    receipt = tmp_path / "one.json"
    receipt.write_text(json.dumps(chain.anchor(1, list(generate_credentials(1, seed=seed, issuer=de)))[0]))
    endpoint = FakeEndpoint(chain)
    try:
        url = endpoint.url.replace("127.0.0.1", host)
        arguments = ["--home", str(tmp_path / "home"), "verify", str(receipt), "--rpc", url]
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
    return set(report["modules"])
