"""The fault table in ``make test``: every row of ``benchmarks/fault_table.py`` with one seed (``ANCHOR_FAULT_SEEDS``).

Each row runs the issuer's batch under its fault, restarts it without the fault until it finishes, and audits
the database, the receipts and the chain: no credential lost, none anchored twice, and the fault actually
happened. The table of this run goes to ``test-artifacts/fault-table.md`` and the end of pytest's output;
``make fault-table`` runs the full table (five seeds per row).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from support.db import postgres_url

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SEEDS = int(os.environ.get("ANCHOR_FAULT_SEEDS", "1"))


def _load() -> ModuleType:
    """``benchmarks/fault_table.py`` as a module (a script, not a package)."""
    spec = importlib.util.spec_from_file_location("fault_table", ROOT / "benchmarks" / "fault_table.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


fault_table = _load()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with fault_table.Lab.started(tmp_path_factory.mktemp("fault-table")) as started:
        yield started


@pytest.fixture(scope="module")
def table(lab: Any, request: pytest.FixtureRequest) -> Iterator[list[Any]]:
    """The rows' results; written as Markdown after the module."""
    results: list[Any] = []
    yield results
    text = fault_table.markdown(results, lab)
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "fault-table.md").write_text(text + "\n", encoding="utf-8")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n\nfault table, {SEEDS} seed(s) per row (also in test-artifacts/fault-table.md):\n{text}")


@pytest.mark.parametrize("row", [pytest.param(row, id=row.name) for row in fault_table.ROWS])
def test_no_credential_is_lost_or_anchored_twice(lab: Any, table: list[Any], row: Any) -> None:
    if any(fault_table.backend_for(row, seed) == "postgresql" for seed in range(SEEDS)):
        postgres_url()  # skips without a server, fails in CI
    result = fault_table.run_row(lab, row, range(SEEDS))
    table.append(result)
    problems = [problem for outcome in result.outcomes for problem in outcome.problems[:5]]
    errors = [error for outcome in result.outcomes for error in outcome.errors[-3:]]
    assert result.lost == 0, f"{result.lost} credential(s) lost: {problems}; the runs' errors: {errors}"
    assert result.twice == 0, f"{result.twice} credential(s) anchored twice: {problems}; errors: {errors}"
    assert all(outcome.injected for outcome in result.outcomes), f"the fault did not happen in every run: {errors}"


def test_the_audit_counts_lost_and_twice_anchored_credentials(lab: Any, tmp_path: Path) -> None:
    """The audit is what makes the table worth anything: a missing receipt and a stray root must show."""
    run = fault_table.Run(lab, 0, "sqlite", f"sqlite:///{tmp_path / 'issuer.db'}")
    try:
        run.queue(6)
        assert run.recover(max_size=3)
        fault_table.wait_final(lab)
        clean = run.audit()
        assert (clean.credentials, clean.lost, clean.twice) == (6, 0, 0), clean.problems
        next(run.receipts.rglob("*.json")).unlink()
        lab.registry.anchor(run.keys[0], "0x" + "ab" * 32, 4)  # a root in no batch of the database
        fault_table.wait_final(lab)
        damaged = run.audit()
        assert (damaged.lost, damaged.twice) == (1, 4), damaged.problems
    finally:
        run.close()
