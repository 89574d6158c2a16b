"""Compile ``contracts/`` into the committed artifacts under ``src/anchor/artifacts/``, offline.

The compiler is solc |version| driven through its standard JSON interface:

1. a native ``solc-v<version>`` that py-solc-x has installed (``solcx.get_installed_solc_versions()``), else
2. the npm package ``solc`` (solcjs) pinned in ``package.json``, run through node by ``solcjs_native.cjs``.

Nothing is ever downloaded. Both give the same bytecode: the artifact records the compiler version from the
contract metadata (``0.8.28+commit.7893614a``), never the platform, so rebuilding on any machine reproduces the
committed files byte for byte (``anchor build --check`` proves it).

``provision_solcx`` writes a ``solc-v<version>`` entry backed by solcjs into a folder that py-solc-x reads
through ``SOLCX_BINARY_PATH``, so that ``ape compile`` works offline too.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

from anchor.errors import CompilerError, CompilerNotFoundError

SOLC_VERSION = "0.8.28"
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 200
#: Contracts whose artifacts are exported (source unit name, contract name).
DEPLOYABLE = (
    ("contracts/registry/CredentialRegistry.sol", "CredentialRegistry"),
    ("contracts/readers/CredentialStatusReader.sol", "CredentialStatusReader"),  # never deployed: see its NatSpec
)
REMAPPINGS = ("@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/",)
SHIM = Path(__file__).with_name("solcjs_native.cjs")
ARTIFACTS_DIR = Path(__file__).with_name("artifacts")


@dataclass(frozen=True)
class Compiler:
    """A solc-like command that takes ``--standard-json`` on stdin."""

    command: tuple[str, ...]
    description: str
    env: tuple[tuple[str, str], ...] = ()

    def run(self, standard_input: dict[str, Any], root: Path) -> dict[str, Any]:
        """Compile ``standard_input`` with imports resolved below ``root``; return the parsed output."""
        args = [*self.command, "--standard-json", "--base-path", str(root), "--allow-paths", str(root)]
        try:
            process = subprocess.run(  # noqa: S603 - fixed argument list, no shell
                args,
                input=json.dumps(standard_input),
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, **dict(self.env)},
                cwd=root,
            )
        except OSError as error:
            raise CompilerNotFoundError(f"cannot run {self.description}: {error}") from error
        if process.returncode != 0:
            raise CompilerError(f"{self.description} failed ({process.returncode}): {process.stderr.strip()}")
        try:
            output: dict[str, Any] = json.loads(process.stdout)
        except json.JSONDecodeError as error:
            raise CompilerError(f"{self.description} printed no JSON: {process.stdout[:500]!r}") from error
        return output


def project_root(start: Path | None = None) -> Path:
    """The repository root: the nearest folder at or above ``start`` holding ``contracts/`` and ``package.json``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "contracts").is_dir() and (folder / "package.json").is_file():
            return folder
    raise CompilerError(f"no anchor checkout (a folder with contracts/ and package.json) at or above {here}")


def find_compiler(root: Path) -> Compiler:
    """A native solc of the pinned version if py-solc-x has one, else the pinned solcjs through node."""
    native = _native_solc()
    if native is not None:
        return Compiler((str(native),), f"native solc {SOLC_VERSION} ({native})")
    solcjs = root / "node_modules" / "solc"
    node = shutil.which("node")
    if node is None or not (solcjs / "package.json").is_file():
        raise CompilerNotFoundError(
            f"no Solidity compiler {SOLC_VERSION}: py-solc-x has no native solc-v{SOLC_VERSION} installed and "
            f"the npm solc is missing ({'node not on PATH' if node is None else f'no {solcjs}'}). "
            "Run `npm ci` in the repository (or `make setup`) to install the pinned solcjs; "
            "or put a native solc binary at ~/.solcx/solc-v" + SOLC_VERSION + " (or $SOLCX_BINARY_PATH)."
        )
    installed = json.loads((solcjs / "package.json").read_text())["version"]
    if installed != SOLC_VERSION:
        raise CompilerNotFoundError(
            f"node_modules/solc is {installed}, the pinned version is {SOLC_VERSION}: run `npm ci`"
        )
    return Compiler(
        (node, str(SHIM)), f"solcjs {SOLC_VERSION} (npm, via node)", (("ANCHOR_SOLCJS_MODULE", str(solcjs)),)
    )


def _native_solc() -> Path | None:
    try:
        import solcx
        from packaging.version import Version
    except ImportError:  # pragma: no cover - py-solc-x is a dependency
        return None
    if Version(SOLC_VERSION) not in solcx.get_installed_solc_versions():
        return None
    return Path(solcx.install.get_executable(SOLC_VERSION))


def collect_sources(root: Path) -> dict[str, str]:
    """The project's own ``.sol`` files under ``contracts/``, keyed by source unit name (path from the root).

    Hidden folders and files (a name starting with ``.``) are not the project's: ``ape compile`` copies every
    OpenZeppelin source into ``contracts/.cache``, and compiling those beside ours (other pragmas, hundreds of
    files) crashed solcjs. The remappings stay :data:`REMAPPINGS`, so OpenZeppelin always comes from
    ``node_modules``, whatever a framework left in the tree.
    """
    folder = root / "contracts"
    files = sorted(
        path
        for path in folder.rglob("*.sol")
        if not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )
    if not files:
        raise CompilerError(f"no Solidity sources under {root / 'contracts'}")
    return {file.relative_to(root).as_posix(): file.read_text(encoding="utf-8") for file in files}


def standard_input(sources: dict[str, str]) -> dict[str, Any]:
    """The solc standard JSON input: pinned EVM version, optimizer, remappings, the outputs artifacts need."""
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": compiler_settings()
        | {
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]}},
        },
    }


def compiler_settings() -> dict[str, Any]:
    """The settings recorded in every artifact (everything that changes the bytecode)."""
    return {
        "evmVersion": EVM_VERSION,
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        "remappings": list(REMAPPINGS),
        "metadata": {"bytecodeHash": "ipfs"},
    }


def compile_contracts(root: Path, compiler: Compiler | None = None) -> dict[str, dict[str, Any]]:
    """Compile the sources under ``root`` and return the artifacts of the deployable contracts."""
    compiler = compiler or find_compiler(root)
    output = compiler.run(standard_input(collect_sources(root)), root)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        text = "\n".join(e.get("formattedMessage", e.get("message", "")).strip() for e in errors)
        raise CompilerError(f"{compiler.description} rejected the sources:\n{text}")
    artifacts: dict[str, dict[str, Any]] = {}
    for source, name in DEPLOYABLE:
        try:
            contract = output["contracts"][source][name]
        except KeyError as error:
            raise CompilerError(f"compiler output has no contract {name} in {source}") from error
        artifacts[name] = _artifact(source, name, contract)
    return artifacts


def _artifact(source: str, name: str, contract: dict[str, Any]) -> dict[str, Any]:
    metadata = json.loads(contract["metadata"])
    used_sources = metadata["sources"]
    digest_lines = "".join(f"{unit}:{used_sources[unit]['keccak256']}\n" for unit in sorted(used_sources))
    return {
        "format": "anchor-artifact-v1",
        "contractName": name,
        "sourceName": source,
        "compiler": {"version": metadata["compiler"]["version"], "settings": compiler_settings()},
        "sourcesHash": "0x" + keccak(digest_lines.encode()).hex(),
        "sources": {unit: used_sources[unit]["keccak256"] for unit in sorted(used_sources)},
        "abi": contract["abi"],
        "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
    }


def render(artifact: dict[str, Any]) -> str:
    """The exact committed text of an artifact (stable key order, trailing newline)."""
    return json.dumps(artifact, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def write_artifacts(artifacts: dict[str, dict[str, Any]], folder: Path = ARTIFACTS_DIR) -> list[Path]:
    """Write each artifact to ``folder/<ContractName>.json``; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, artifact in sorted(artifacts.items()):
        path = folder / f"{name}.json"
        path.write_text(render(artifact), encoding="utf-8")
        written.append(path)
    return written


def stale_artifacts(artifacts: dict[str, dict[str, Any]], folder: Path = ARTIFACTS_DIR) -> list[str]:
    """Names of the artifacts whose committed file differs from ``artifacts`` (or is missing)."""
    stale = []
    for name, artifact in sorted(artifacts.items()):
        path = folder / f"{name}.json"
        if not path.is_file() or path.read_text(encoding="utf-8") != render(artifact):
            stale.append(name)
    return stale


def provision_solcx(folder: Path, root: Path) -> Path:
    """Write ``folder/solc-v<version>``: a native-solc look-alike backed by the pinned solcjs.

    Point ``SOLCX_BINARY_PATH`` at ``folder`` and py-solc-x (and so ape-solidity) finds an installed compiler
    of the pinned version without downloading one.
    """
    solcjs = root / "node_modules" / "solc"
    node = shutil.which("node")
    if node is None or not (solcjs / "package.json").is_file():
        raise CompilerNotFoundError(f"cannot provision solc: need node on PATH and {solcjs} (run `npm ci`)")
    folder.mkdir(parents=True, exist_ok=True)
    entry = folder / f"solc-v{SOLC_VERSION}"
    entry.write_text(
        "#!/bin/sh\n"
        "# solc look-alike for py-solc-x/ape, backed by the pinned npm solcjs (written by `anchor build`).\n"
        f'ANCHOR_SOLCJS_MODULE="{solcjs}" exec "{node}" "{SHIM}" "$@"\n',
        encoding="utf-8",
    )
    entry.chmod(entry.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return entry
