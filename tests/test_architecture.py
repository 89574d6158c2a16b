"""The layers of DESIGN.md and the README, checked on the source: imports go downward only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "anchor"

#: Rank of each top-level part of the package; a module may import only from its own rank or below.
LAYERS: dict[str, int] = {
    "__init__": 0,
    "__main__": 5,
    "errors": 0,
    "config": 0,
    "networks": 0,
    "addresses": 0,
    "urls": 0,
    "did_syntax": 0,
    "contexts": 0,
    "files": 0,
    "processes": 0,
    "credentials": 1,
    "merkle": 1,
    "chain": 2,
    "issuing": 3,
    "verifier": 3,
    "sharing": 3,
    "web": 4,
    "demo": 4,
    "cli": 4,
    "frameworks": 4,
}


def _part(module: str) -> str:
    """``anchor.chain.registry`` -> ``chain``; ``anchor`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports, at any depth (function-level imports included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            if node.module == "anchor":  # `from anchor import chain` imports a part; `__version__` is the base
                found.extend(f"anchor.{alias.name}" for alias in node.names if alias.name in LAYERS)
    return found


def _name(path: Path) -> str:
    relative = path.relative_to(SRC.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {_part(_name(path)) for path in _modules()}
    assert parts <= set(LAYERS), f"give these a layer in LAYERS (and the README): {sorted(parts - set(LAYERS))}"


@pytest.mark.parametrize("path", _modules(), ids=lambda path: _name(path))
def test_imports_go_downward_only(path: Path) -> None:
    own = _part(_name(path))
    upward = [
        module for module in _imports(path) if module.startswith("anchor.") and LAYERS[_part(module)] > LAYERS[own]
    ]
    assert upward == [], f"{_name(path)} (layer {LAYERS[own]}) imports from a higher layer: {upward}"


def test_issuing_and_verifying_do_not_import_each_other() -> None:
    for path in _modules():
        own = _part(_name(path))
        other = {"issuing": "verifier", "verifier": "issuing"}.get(own)
        if other is not None:
            crossing = [m for m in _imports(path) if m.startswith(f"anchor.{other}")]
            assert crossing == [], f"{_name(path)} imports {crossing}"


@pytest.mark.parametrize(
    ("part", "forbidden"),
    [
        ("credentials", {"web3", "eth_abi", "eth_utils"}),
        ("issuing", {"web3", "eth_abi", "eth_utils"}),
        ("verifier", {"web3", "eth_abi", "eth_utils"}),
        # the tree library encodes leaf types other than (bytes32, uint256) with eth_abi; it never sees a chain
        ("merkle", {"web3", "eth_utils"}),
    ],
)
def test_these_parts_import_no_web3(part: str, forbidden: set[str]) -> None:
    for path in sorted((SRC / part).rglob("*.py")):
        reached = [m for m in _imports(path) if m.split(".")[0] in forbidden]
        assert reached == [], f"{_name(path)} imports {reached}: reach the contract through anchor.chain.registry"


def test_the_cli_reaches_no_contract_or_node_directly() -> None:
    for path in sorted((SRC / "cli").rglob("*.py")):
        web3 = [m for m in _imports(path) if m.split(".")[0] == "web3"]
        assert web3 == [], f"{_name(path)} imports {web3}"
        text = path.read_text(encoding="utf-8")
        for reach in (".contract.", ".w3."):
            assert reach not in text, f"{_name(path)} uses {reach!r}: contract calls belong in anchor.chain.registry"
