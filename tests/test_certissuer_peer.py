"""``benchmarks/certissuer_peer.py`` without its Python 3.10 venv: what CI can check of the cert-issuer peer.

The peer itself (cert-issuer in ``.venv-certissuer``) is not run here: CI machines may have no Python 3.10. What
is checked: without an interpreter the script stops with a message naming what it tried and how to give one
(exit 2, no venv made); the unsigned certificates it writes are the size class of anchor's and differ per
learner; the phases it reads from cert-issuer's log lines add up to the wall time.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    """``benchmarks/certissuer_peer.py`` as a module (a script, not a package)."""
    spec = importlib.util.spec_from_file_location("certissuer_peer", ROOT / "benchmarks" / "certissuer_peer.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


peer = _load()


@pytest.fixture
def no_python310(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No $ANCHOR_PY310, no python3.10 on PATH, an empty home (no pyenv); returns a venv path not yet made."""
    monkeypatch.delenv(peer.INTERPRETER_VARIABLE, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    venv = tmp_path / "venv"
    monkeypatch.setattr(peer.ensure_venv, "__defaults__", (venv,))
    return venv


def test_without_python310_the_script_says_what_it_tried_and_makes_no_venv(
    no_python310: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert peer.main(["--count", "10"]) == 2
    message = capsys.readouterr().err
    assert "no Python 3.10 interpreter for cert-issuer" in message
    assert "ANCHOR_PY310" in message
    assert "python3.10 (not on PATH)" in message
    assert ".pyenv/versions/3.10*/bin/python (none)" in message
    assert not no_python310.exists()


def test_an_interpreter_of_another_version_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(peer.INTERPRETER_VARIABLE, sys.executable)
    with pytest.raises(peer.PeerUnavailableError, match=r"ANCHOR_PY310=.* is Python 3\.1[1-9]; cert-issuer needs"):
        peer.find_python310()
    monkeypatch.setenv(peer.INTERPRETER_VARIABLE, "/nonexistent/python3.10")
    with pytest.raises(peer.PeerUnavailableError, match=r"ANCHOR_PY310=/nonexistent/python3.10 does not run"):
        peer.find_python310()


def test_the_certificates_differ_per_learner_and_are_the_size_of_ours(tmp_path: Path) -> None:
    total = peer.write_certificates(tmp_path, 20)
    files = sorted(tmp_path.glob("*.json"))
    assert [path.name for path in files] == [f"{number:07d}.json" for number in range(20)]
    sizes = [path.stat().st_size for path in files]
    assert sum(sizes) == total
    assert all(2_500 <= size <= 3_500 for size in sizes), sizes
    certificates = [json.loads(path.read_text(encoding="utf-8")) for path in files]
    assert len({certificate["id"] for certificate in certificates}) == 20
    assert len({certificate["credentialSubject"]["id"] for certificate in certificates}) == 20
    assert len({certificate["credentialSubject"]["name"] for certificate in certificates}) > 5
    for number, certificate in enumerate(certificates):
        name = certificate["credentialSubject"]["name"]
        assert name == peer.learner_name(number)
        assert f"<strong>{name}</strong>" in certificate["display"]["content"]
        metadata = json.loads(certificate["metadata"])
        assert metadata["course"]["studentId"] == f"2025-{number:07d}"
        assert "LEARNER_NAME" not in json.dumps(certificate)
        assert "GRADE" not in json.dumps(certificate)
        # only contexts cert-schema ships and preloads: nothing to fetch while normalizing
        assert certificate["@context"] == ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/blockcerts/v3.2"]


def test_phases_follow_the_log_lines_and_add_up_to_the_wall_time() -> None:
    marks = {"prepare": 1.0, "validate": 3.0, "sign": 3.5, "normalize+tree": 8.0, "proofs+write": 15.0}
    phases = peer.split_phases(marks, 16.0)
    assert phases == {
        "prepare": 1.0,
        "validate": 2.0,
        "sign": 0.5,
        "normalize+tree": 4.5,
        "proofs+write": 7.0,
        "exit": 1.0,
    }
    assert sum(phases.values()) == pytest.approx(16.0)


def test_the_peer_gets_no_network_and_nothing_of_our_venv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/work/main/src")
    monkeypatch.setenv("VIRTUAL_ENV", "/work/main/.venv")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    env = peer._child_env()
    assert "PYTHONPATH" not in env
    assert "VIRTUAL_ENV" not in env
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        assert env[variable] == peer.NO_NETWORK_PROXY


def test_the_config_refuses_a_folder_with_a_line_break(tmp_path: Path) -> None:
    config = peer.write_config(tmp_path)
    text = config.read_text(encoding="utf-8")
    assert "chain = mockchain\n" in text
    assert text.endswith("no_safe_mode\n")
    broken = tmp_path / "x\nchain = bitcoin_mainnet"
    broken.mkdir()
    with pytest.raises(ValueError, match="has a line break"):
        peer.write_config(broken)
