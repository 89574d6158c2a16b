"""`make brownie`: brownie compiles, tests and runs its scripts, offline. Runs in brownie's virtualenv.

1. ``brownie compile``: contracts/registry through the solc look-alike in .solcx (``SOLCX_BINARY_PATH``);
2. ``brownie test --network anvil-test`` (brownie/tests) on an anvil that brownie starts;
3. the brownie scripts against a local anvil node (``anchor node start``'s, in a temporary ANCHOR_HOME):
   ``deploy``, ``register_issuer``, ``anchor_batch`` of a tree dump, the same dump again (refused, with the
   registry's sentence); then the chain is read back through anchor's library.

brownie's home (its networks, keystore, caches) is a temporary folder with brownie/network-config.yaml, its
ports changed to free ones. brownie runs in a copy of the project's brownie files under that folder: it
imports a script by its absolute path turned into a module name, which fails where a folder of the path has
a dot in its name (a checkout in ``~/src/anchor.git``, say). Any failure exits non-zero.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from anchor.chain import node
from anchor.chain.connection import connect
from anchor.chain.keys import development_accounts
from anchor.chain.registry import Registry
from anchor.config import load_settings
from anchor.credentials.receipt import LEAF_ENCODING
from anchor.merkle import StandardMerkleTree

ROOT = Path(__file__).resolve().parents[1]
BROWNIE = str(Path(sys.executable).with_name("brownie"))
ISSUER = ("Universidade de Coimbra", "PT", "did:web:uc.pt")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def brownie_home(folder: Path, test_port: int, node_port: int) -> Path:
    """A home whose .brownie/network-config.yaml is the project's, on the given ports."""
    text = (ROOT / "brownie/network-config.yaml").read_text(encoding="utf-8")
    for old, new in (("port: 8546", f"port: {test_port}"), ("127.0.0.1:8545", f"127.0.0.1:{node_port}")):
        if text.count(old) != 1:
            raise SystemExit(f"brownie/network-config.yaml should name {old!r} once")
        text = text.replace(old, new)
    (folder / ".brownie").mkdir(parents=True)
    (folder / ".brownie/network-config.yaml").write_text(text, encoding="utf-8")
    return folder


def project_copy(folder: Path) -> Path:
    """What brownie needs of the project, copied to ``folder`` (node_modules linked)."""
    skipped = shutil.ignore_patterns(".cache", "build", "reports", "interfaces", "__pycache__")
    folder.mkdir()
    shutil.copy(ROOT / "brownie-config.yaml", folder)
    shutil.copytree(ROOT / "contracts", folder / "contracts", ignore=skipped)
    shutil.copytree(ROOT / "brownie", folder / "brownie", ignore=skipped)
    (folder / "node_modules").symlink_to(ROOT / "node_modules")
    return folder


def run(env: dict[str, str], *args: str, expect: str, fails: bool = False) -> str:
    """Run ``brownie ARGS``; it must succeed (or, with ``fails``, fail) and print ``expect``."""
    started = time.monotonic()
    command = [BROWNIE, *args]  # brownie of this virtualenv, arguments of this script
    where = env["ANCHOR_BROWNIE_PROJECT"]
    done = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    output = done.stdout + done.stderr
    if (done.returncode != 0) != fails or expect not in output:
        sys.stdout.write(output)
        raise SystemExit(f"brownie {' '.join(args)}: exit {done.returncode}, expected {expect!r} in its output")
    print(f"  brownie {' '.join(args)}: ok ({time.monotonic() - started:.1f} s)")
    return output


def main() -> None:
    started = time.monotonic()
    anvil = os.environ.get("ANCHOR_ANVIL") or str(node.find_anvil())
    with tempfile.TemporaryDirectory(prefix="anchor-brownie-") as scratch:
        folder = Path(scratch)
        test_port, node_port = free_port(), free_port()
        env = {
            **os.environ,
            "ANCHOR_BROWNIE_PROJECT": str(project_copy(folder / "project")),
            "HOME": str(brownie_home(folder / "home", test_port, node_port)),
            "SOLCX_BINARY_PATH": str(ROOT / ".solcx"),
            "PATH": f"{Path(anvil).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "ANCHOR_HOME": str(folder / "anchor"),
            "ANCHOR_NODE_PORT": str(node_port),
        }
        run(env, "compile", expect="Project has been compiled")
        tests = run(env, "test", "--network", "anvil-test", "-W", "ignore::FutureWarning", expect=" passed")
        print("  " + tests.strip().splitlines()[-2].strip("= "))

        settings = load_settings(environ=env)
        node.start(settings)
        try:
            run(env, "run", "deploy", "--network", "anchor-local", expect="CredentialRegistry deployed at")
            signer = development_accounts()[1].address
            run(
                env,
                "run",
                "register_issuer",
                "main",
                *ISSUER,
                signer,
                "--network",
                "anchor-local",
                expect="issuer 1 registered",
            )
            tree = StandardMerkleTree.of([(bytes([n]) * 32, n - 1) for n in range(1, 13)], list(LEAF_ENCODING))
            dump = folder / "tree.json"
            dump.write_text(json.dumps(tree.dump()), encoding="utf-8")
            anchor = ("run", "anchor_batch", "main", str(dump), "1", "--network", "anchor-local")
            run(env, *anchor, expect="anchored as on-chain batch 1")
            run(env, *anchor, expect="as batch 1 (CredentialRegistryDuplicateRoot)", fails=True)

            chain = connect(settings)
            record = json.loads((folder / "anchor/deployments/31337.json").read_text(encoding="utf-8"))
            registry = Registry.at(chain, record["address"])
            issuer = registry.issuer(1)
            batch = registry.batch(1)
            if (issuer.name, issuer.uri) != (ISSUER[0], ISSUER[2]) or (batch.root, batch.size) != (tree.root, 12):
                raise SystemExit(f"the chain holds {issuer} and {batch}, not what the brownie scripts said")
        finally:
            node.stop(settings)
    print(f"brownie: compiled, tested, scripts run against anvil in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
