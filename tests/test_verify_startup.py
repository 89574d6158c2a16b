"""A one-receipt ``anchor verify`` imports only what it uses (issue 13: one receipt in under 0.2 s, start included).

Not a timed test: a new process verifies one receipt (against :mod:`support.fake_chain`) through the real
command, then says which modules it imported. The chain-side libraries (web3, eth_abi, eth_account),
pydantic, the issuer's JSON-LD stack (pyld, requests), rich, SQLAlchemy, and the standard library's heavier
parts that only other paths need (worker processes, thread pools, logging, salts, importlib.resources with
tempfile, shutil and zipfile, difflib) must not be among them.
"""

from __future__ import annotations

from pathlib import Path

from support.one_receipt import modules_of_one_receipt

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


def test_verifying_one_receipt_imports_none_of_the_heavy_modules(tmp_path: Path) -> None:
    modules = {name.split(".")[0] for name in modules_of_one_receipt(tmp_path, seed=41)}
    imported = {name: why for name, why in HEAVY.items() if name in modules}
    assert imported == {}, f"a one-receipt verification imported: {imported}"
