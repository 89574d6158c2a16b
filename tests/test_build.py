"""The offline compiler pipeline: committed artifacts are reproducible, ape compiles offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from anchor.chain import compiler as build
from anchor.chain.artifacts import load_artifact
from anchor.errors import ArtifactError, CompilerError, CompilerNotFoundError

ROOT = build.project_root(Path(__file__).parent)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fresh_artifacts() -> dict[str, dict[str, object]]:
    return build.compile_contracts(ROOT)


def test_committed_artifacts_are_what_the_sources_compile_to(fresh_artifacts: dict[str, dict[str, object]]) -> None:
    assert build.stale_artifacts(fresh_artifacts) == []
    for name, artifact in fresh_artifacts.items():
        committed = (build.ARTIFACTS_DIR / f"{name}.json").read_text(encoding="utf-8")
        assert committed == build.render(artifact)  # byte for byte


def test_artifact_records_compiler_settings_and_sources(fresh_artifacts: dict[str, dict[str, object]]) -> None:
    artifact = load_artifact("CredentialRegistry")
    assert artifact["compiler"]["version"].startswith(build.SOLC_VERSION + "+commit.")
    assert artifact["compiler"]["settings"]["evmVersion"] == "cancun"
    assert "contracts/registry/CredentialRegistry.sol" in artifact["sources"]
    assert any(unit.startswith("node_modules/@openzeppelin/contracts/") for unit in artifact["sources"])
    assert artifact["deployedBytecode"].startswith("0x")
    assert len(artifact["deployedBytecode"]) > 1000
    names = {item.get("name") for item in artifact["abi"]}
    assert {"anchor", "credentialStatus", "revokeCredentials", "BatchAnchored"} <= names


def test_a_changed_source_makes_the_artifacts_stale(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "contracts", tmp_path / "contracts")
    shutil.copy(ROOT / "package.json", tmp_path / "package.json")
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    source = tmp_path / "contracts/registry/CredentialRegistry.sol"
    original = source.read_text()
    assert "uint64 private _issuerCount;" in original  # else the replacement below changes nothing
    source.write_text(
        original.replace("uint64 private _issuerCount;", "uint64 private _issuerCount;\n    uint256 private _extra;")
    )
    artifacts = build.compile_contracts(tmp_path, build.find_compiler(ROOT))
    assert build.stale_artifacts(artifacts) == ["CredentialRegistry"]


def test_compile_errors_are_reported_with_the_compiler_message(tmp_path: Path) -> None:
    (tmp_path / "contracts").mkdir()
    shutil.copy(ROOT / "package.json", tmp_path / "package.json")
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    (tmp_path / "contracts/Broken.sol").write_text("pragma solidity 0.8.28; contract Broken { function f( }")
    with pytest.raises(CompilerError, match="ParserError"):
        build.compile_contracts(tmp_path, build.find_compiler(ROOT))


def test_missing_compiler_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CompilerNotFoundError, match="npm ci"):
        build.find_compiler(tmp_path)


def test_solcx_entry_answers_like_native_solc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import solcx

    entry = build.provision_solcx(tmp_path, ROOT)
    version = subprocess.run([str(entry), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"Version: {build.SOLC_VERSION}+commit." in version
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(tmp_path))
    assert [str(v) for v in solcx.get_installed_solc_versions()] == [build.SOLC_VERSION]
    compiler = build.find_compiler(ROOT)
    assert compiler.description.startswith("native solc")
    artifacts = build.compile_contracts(ROOT, compiler)  # native path (py-solc-x entry) gives the same bytes
    assert build.stale_artifacts(artifacts) == []
    unknown = subprocess.run([str(entry), "--combined-json", "abi"], capture_output=True, text=True, check=False)
    assert unknown.returncode != 0
    assert "unrecognised option" in unknown.stderr


def test_imports_outside_the_allowed_paths_are_refused(tmp_path: Path) -> None:
    entry = build.provision_solcx(tmp_path / "solcx", ROOT)
    secret = tmp_path / "outside.sol"
    secret.write_text("pragma solidity 0.8.28; contract Outside {}")
    project = tmp_path / "project"
    project.mkdir()
    source = 'pragma solidity 0.8.28; import "../outside.sol"; contract A {}'
    request = {"language": "Solidity", "sources": {"A.sol": {"content": source}}, "settings": {}}
    run = subprocess.run(
        [str(entry), "--standard-json", "--base-path", str(project)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
    )
    errors = json.loads(run.stdout)["errors"]
    assert any("not found" in e["message"] for e in errors)


def test_cli_check_passes_on_the_committed_artifacts() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "anchor", "build", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "artifacts match" in run.stdout


def test_loading_an_unknown_artifact_is_a_clear_error() -> None:
    with pytest.raises(ArtifactError, match="anchor build"):
        load_artifact("NoSuchContract")


def test_ape_compile_works_offline(tmp_path: Path) -> None:
    """`ape compile` with the provisioned solc and OpenZeppelin from node_modules; nothing downloaded."""
    env = {**os.environ, "SOLCX_BINARY_PATH": str(tmp_path / "solcx"), "HOME": str(tmp_path / "home")}
    build.provision_solcx(tmp_path / "solcx", ROOT)
    project = tmp_path / "project"
    project.mkdir()
    # the project's own sources only: `make test` runs `ape test` first, which leaves ape's caches behind
    shutil.copytree(ROOT / "contracts", project / "contracts", ignore=shutil.ignore_patterns(".*"))
    for name in ("ape-config.yaml", "package.json"):
        shutil.copy(ROOT / name, project / name)
    (project / "node_modules").symlink_to(ROOT / "node_modules")
    ape = Path(sys.executable).with_name("ape")
    run = subprocess.run(
        [str(ape), "compile"], cwd=project, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    assert run.returncode == 0, run.stdout + run.stderr
    manifest = json.loads((project / ".build" / "__local__.json").read_text())
    registry = manifest["contractTypes"]["CredentialRegistry"]
    assert registry["deploymentBytecode"]["bytecode"].startswith("0x6080")
    assert {item.get("name") for item in registry["abi"]} >= {"anchor", "credentialStatus"}
