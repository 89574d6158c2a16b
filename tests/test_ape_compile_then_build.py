"""`anchor build` compiles the project's own sources whatever `ape compile` left in ``contracts/`` (issue 15).

ape copies every OpenZeppelin source it resolves into ``contracts/.cache``; `anchor build` used to compile
those too and crashed solcjs ("memory access out of bounds").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from anchor.chain import compiler as build

ROOT = build.project_root(Path(__file__).parent)
OWN_SOURCES = {
    "contracts/readers/CredentialStatusReader.sol",
    "contracts/registry/CredentialRegistry.sol",
    "contracts/registry/CredentialRegistryTypes.sol",
    "contracts/registry/ICredentialRegistry.sol",
}


def _copy_project(target: Path) -> Path:
    target.mkdir()
    for name in ("contracts", "ape-config.yaml", "package.json"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns(".cache"))
        else:
            shutil.copy(source, target / name)
    (target / "node_modules").symlink_to(ROOT / "node_modules")
    return target


def test_hidden_folders_and_files_under_contracts_are_not_compiled(tmp_path: Path) -> None:
    project = _copy_project(tmp_path / "project")
    cached = project / "contracts/.cache/openzeppelin/5.7.0/access/AccessControl.sol"
    cached.parent.mkdir(parents=True)
    cached.write_text("pragma solidity ^0.8.20; contract Cached { function f( }")
    (project / "contracts/registry/.#CredentialRegistry.sol").write_text("editor lock file")
    assert set(build.collect_sources(project)) == OWN_SOURCES


@pytest.mark.slow
def test_anchor_build_check_passes_after_ape_compile(tmp_path: Path) -> None:
    """The sequence an operator runs: `ape compile`, then `anchor build --check`, in one checkout."""
    project = _copy_project(tmp_path / "project")
    solcx = tmp_path / "solcx"
    build.provision_solcx(solcx, ROOT)
    env = {**os.environ, "SOLCX_BINARY_PATH": str(solcx), "HOME": str(tmp_path / "home")}
    ape = Path(sys.executable).with_name("ape")
    compiled = subprocess.run(
        [str(ape), "compile"], cwd=project, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    left_behind = list((project / "contracts/.cache").rglob("*.sol"))
    assert len(left_behind) > 50  # ape's OpenZeppelin copy, what crashed `anchor build`

    checked = subprocess.run(
        [sys.executable, "-m", "anchor", "build", "--check"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "artifacts match the sources" in checked.stdout
    assert set(build.collect_sources(project)) == OWN_SOURCES
