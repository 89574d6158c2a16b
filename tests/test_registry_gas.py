"""Issue 13's gas targets for the committed registry, on a real EVM (eth-tester + py-evm), by the gas benchmark.

Gas is deterministic, so these are exact checks, not timings: ``benchmarks/gas_registry.py`` measures real
transactions (intrinsic and calldata gas included) and this test holds its figures to the ceilings it names.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from anchor.chain.artifacts import load_artifact
from anchor.chain.connection import connect
from anchor.chain.deployments import artifact_hash, deployment_path, load_deployment
from anchor.chain.keys import development_accounts
from anchor.config import Settings
from anchor.demo import OPERATOR_ACCOUNT, _registry

ROOT = Path(__file__).resolve().parents[1]


def _benchmark() -> ModuleType:
    """``benchmarks/gas_registry.py`` as a module (a script, not a package)."""
    spec = importlib.util.spec_from_file_location("gas_registry", ROOT / "benchmarks" / "gas_registry.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _benchmark()


@pytest.fixture(scope="module")
def rows(bench: ModuleType) -> dict[str, tuple[int, int | None]]:
    measured = bench.measure(load_artifact("CredentialRegistry"), depth=4, cases=["anchor", "spread"], with_peer=False)
    return {row.name: (row.gas, row.credentials) for row in measured}


def test_anchoring_a_batch_costs_at_most_100k_gas_first_batch_included(
    bench: ModuleType, rows: dict[str, tuple[int, int | None]]
) -> None:
    anchors = {name: gas for name, (gas, _) in rows.items() if name.startswith("anchor")}
    assert set(anchors) == {"anchor (first batch)", "anchor (next batch)"}
    assert bench.ANCHOR_GAS_CEILING == 100_000
    for name, gas in anchors.items():
        assert gas <= bench.ANCHOR_GAS_CEILING, f"{name}: {gas:,} gas"


def test_revoking_1000_spread_over_10000_costs_under_2000_gas_each(
    bench: ModuleType, rows: dict[str, tuple[int, int | None]]
) -> None:
    spread = {name: value for name, value in rows.items() if "of a 10,000 batch" in name}
    assert len(spread) == 3  # every tenth; random sorted (as `anchor revoke` sends them); random unsorted
    assert bench.REVOKE_GAS_PER_CREDENTIAL_CEILING == 2_000
    for name, (gas, credentials) in spread.items():
        assert credentials == 1_000
        assert gas / credentials < bench.REVOKE_GAS_PER_CREDENTIAL_CEILING, f"{name}: {gas:,} gas"


def test_unknown_case_is_refused_by_name(bench: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"unknown gas case.*'anchr'"):
        bench.measure(load_artifact("CredentialRegistry"), cases=["anchr"])


def test_demo_redeploys_a_registry_recorded_from_an_older_build(anvil: Settings) -> None:
    """A cheaper contract is a new bytecode: a demo home whose registry came from other code gets a new one."""
    chain = connect(anvil)
    operator = development_accounts()[OPERATOR_ACCOUNT]
    said: list[str] = []
    first = _registry(anvil, chain, operator, said.append)
    assert _registry(anvil, chain, operator, said.append).address == first.address  # same build: reused

    path = deployment_path(anvil.deployments_dir, chain.chain_id)
    record = json.loads(path.read_text(encoding="utf-8"))
    record["artifact_hash"] = "0x" + "00" * 32  # as an older anchor recorded its registry
    path.write_text(json.dumps(record), encoding="utf-8")
    newer = _registry(anvil, chain, operator, said.append)
    assert newer.address != first.address
    assert f"the recorded registry {first.address} runs an older build" in said[-2]
    deployment = load_deployment(anvil.deployments_dir, chain.chain_id)
    assert deployment is not None
    assert (deployment.address, deployment.artifact_hash) == (newer.address, artifact_hash())
