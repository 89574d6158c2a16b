"""Gas of the registry's hot paths on a real EVM (eth-tester + py-evm), beside a naive peer.

    .venv/bin/python benchmarks/gas_registry.py [--depth 20] [--source]

Prints the gas of `registerIssuer` and `anchor`, of revoking 1 / 100 / 1,000 credentials (indices packed in
few words, and spread one per 256-bit word), of revoking 1,000 credentials spread over a 10,000-credential
batch (every tenth; 1,000 random ones sorted, as `anchor revoke` sends them; and unsorted), and of the
`credentialStatus` view at the given proof depth. The peer is `peers/NaiveRevocationRegistry.sol`: one storage
slot and one event per revoked credential, keyed by leaf hash, the usual design; it is compiled here with the
same pinned solc. Gas is deterministic: no timing. `--source` compiles `contracts/` instead of loading the
committed artifact (to measure an edit before `anchor build`).

The targets (issue 13) are checked by `tests/test_registry_gas.py` with :func:`measure`: an anchor at most
:data:`ANCHOR_GAS_CEILING`, a spread revocation under :data:`REVOKE_GAS_PER_CREDENTIAL_CEILING` a credential.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from eth_tester import EthereumTester, PyEVMBackend
from web3 import Web3
from web3.contract import Contract
from web3.providers.eth_tester import EthereumTesterProvider

from anchor.chain import compiler as build
from anchor.chain.artifacts import load_artifact
from anchor.merkle import StandardMerkleTree

HERE = Path(__file__).parent
#: Raised so a 1,000-index sparse revocation (about 22M gas) fits one block.
BLOCK_GAS_LIMIT = 60_000_000
#: Issue 13: anchoring a batch (the first one of a registry included) costs at most this much gas.
ANCHOR_GAS_CEILING = 100_000
#: Issue 13: revoking 1,000 credentials spread over a 10,000-credential batch costs less than this a credential.
REVOKE_GAS_PER_CREDENTIAL_CEILING = 2_000
#: The cases :func:`measure` knows; the spread ones are those of the issue's target.
CASES = ("register", "anchor", "status", "revoke", "spread", "revoke-batch")
SPREAD_BATCH = 10_000
SPREAD_COUNT = 1_000


@dataclass(frozen=True)
class Row:
    """One measured operation: our gas, the peer's (None: no peer), and how many credentials it revoked."""

    name: str
    gas: int
    peer: int | None = None
    credentials: int | None = None


def deploy(w3: Web3, abi: list[dict[str, Any]], bytecode: str, *args: Any) -> Contract:
    tx = w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*args).transact({"from": w3.eth.accounts[0]})
    address = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    return cast(Contract, w3.eth.contract(address=address, abi=abi))


def gas_of(w3: Web3, call: Any, sender: str) -> int:
    receipt = w3.eth.wait_for_transaction_receipt(call.transact({"from": sender, "gas": 50_000_000}))
    assert receipt["status"] == 1
    return int(receipt["gasUsed"])


def compile_source(source: str, name: str) -> dict[str, Any]:
    """ABI and creation code of contract ``name`` in ``source`` (below the project root), with the pinned solc."""
    root = build.project_root(HERE)
    # The peer compiles alone; the registry with its imports (OpenZeppelin), as `anchor build` does.
    sources = {source: (root / source).read_text()} if source.startswith("benchmarks/") else build.collect_sources(root)
    standard = {
        "language": "Solidity",
        "sources": {path: {"content": text} for path, text in sources.items()},
        "settings": build.compiler_settings() | {"outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}},
    }
    output = build.find_compiler(root).run(standard, root)
    contract = output["contracts"][source][name]
    return {"abi": contract["abi"], "bytecode": "0x" + contract["evm"]["bytecode"]["object"]}


def compile_peer() -> dict[str, Any]:
    return compile_source("benchmarks/peers/NaiveRevocationRegistry.sol", "NaiveRevocationRegistry")


def registry_artifact(from_source: bool = False) -> dict[str, Any]:
    """The committed registry artifact, or (``from_source``) a fresh compile of ``contracts/``."""
    if from_source:
        return compile_source("contracts/registry/CredentialRegistry.sol", "CredentialRegistry")
    return load_artifact("CredentialRegistry")


def measure(
    artifact: dict[str, Any], *, depth: int = 20, cases: Iterable[str] = CASES, with_peer: bool = True
) -> list[Row]:
    """Deploy ``artifact`` (and the peer, for the revocation cases) on a fresh chain and measure ``cases``."""
    wanted = set(cases)
    if unknown := wanted - set(CASES):
        raise ValueError(f"unknown gas case(s) {sorted(unknown)}; known: {', '.join(CASES)}")
    backend = PyEVMBackend(genesis_parameters=PyEVMBackend.generate_genesis_params({"gas_limit": BLOCK_GAS_LIMIT}))
    w3 = Web3(EthereumTesterProvider(EthereumTester(backend)))
    admin, signer = list(w3.eth.accounts)[:2]
    registry = deploy(w3, artifact["abi"], artifact["bytecode"], 0, admin)
    register = registry.functions.registerIssuer("Bench U", b"DE", "did:web:bench", [signer])
    rows: list[Row] = []
    registered = gas_of(w3, register, admin)
    if "register" in wanted:
        rows.append(Row("registerIssuer (one signer)", registered))

    size = 2**depth
    rng = random.Random(7)
    values = [(rng.randbytes(32), i) for i in range(size)]
    tree = StandardMerkleTree.of(values, ["bytes32", "uint256"])
    first = gas_of(w3, registry.functions.anchor(tree.root, size), signer)
    second = StandardMerkleTree.of(values[:-1], ["bytes32", "uint256"])
    following = gas_of(w3, registry.functions.anchor(second.root, size - 1), signer)
    if "anchor" in wanted:
        rows += [Row("anchor (first batch)", first), Row("anchor (next batch)", following)]
    batch_id = 1

    if "status" in wanted:
        position = size // 3
        digest, index = values[position]
        proof = tree.get_proof(position)
        status = registry.functions.credentialStatus(batch_id, index, digest, proof)
        assert status.call()[0] == 0
        rows.append(Row(f"credentialStatus view, proof depth {len(proof)} (estimateGas)", int(status.estimate_gas())))

    peer_artifact = compile_peer() if with_peer and wanted & {"revoke", "spread"} else None
    peer = deploy(w3, peer_artifact["abi"], peer_artifact["bytecode"]) if peer_artifact else None

    def revoke(name: str, batch: int, indices: list[int]) -> Row:
        ours = gas_of(w3, registry.functions.revokeCredentials(batch, indices, 1), signer)
        theirs = None
        if peer is not None:
            theirs = gas_of(w3, peer.functions.revoke([rng.randbytes(32) for _ in indices]), signer)
        return Row(name, ours, theirs, len(indices))

    if "revoke" in wanted:
        next_index = 0
        for count in (1, 100, 1000):
            for layout, stride in (("packed", 1), ("one per word", 256)):
                if count == 1 and stride != 1:
                    continue
                indices = [next_index + i * stride for i in range(count)]
                if indices[-1] >= size:
                    raise ValueError(f"--depth {depth} is too small for {count} indices one per word")
                next_index = indices[-1] + 256 - indices[-1] % 256 + 256  # the next case starts in a fresh word
                rows.append(revoke(f"revoke {count} ({layout})", batch_id, indices))

    if "spread" in wanted:
        step = SPREAD_BATCH // SPREAD_COUNT
        for name, indices in (
            ("every tenth", list(range(0, SPREAD_BATCH, step))),
            ("random, sorted", sorted(rng.sample(range(SPREAD_BATCH), SPREAD_COUNT))),
            ("random, unsorted", rng.sample(range(SPREAD_BATCH), SPREAD_COUNT)),
        ):
            leaves = [(rng.randbytes(32), i) for i in range(SPREAD_BATCH)]
            spread_root = StandardMerkleTree.of(leaves, ["bytes32", "uint256"]).root
            gas_of(w3, registry.functions.anchor(spread_root, SPREAD_BATCH), signer)
            spread_batch = registry.functions.batchCount().call()
            rows.append(revoke(f"revoke 1,000 of a 10,000 batch ({name})", spread_batch, indices))

    if "revoke-batch" in wanted:
        rows.append(Row("revokeBatch", gas_of(w3, registry.functions.revokeBatch(2, 2), signer)))
    return rows


def render(rows: list[Row]) -> str:
    lines = [f"{'operation':<58}{'anchor':>12}{'per credential':>16}{'naive peer':>14}{'ratio':>8}"]
    for row in rows:
        per = f"{row.gas / row.credentials:>16,.0f}" if row.credentials else f"{'':>16}"
        peer_text = f"{row.peer:>14,}" if row.peer else f"{'':>14}"
        ratio = f"{row.gas / row.peer:>8.3f}" if row.peer else ""
        lines.append(f"{row.name:<58}{row.gas:>12,}{per}{peer_text}{ratio}")
    lines.append("\nratio = anchor gas / peer gas (lower is better). Peer: a slot and an event per credential.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depth", type=int, default=20, help="proof depth for the status view (tree of 2**depth)")
    parser.add_argument("--source", action="store_true", help="compile contracts/ instead of the committed artifact")
    parser.add_argument("--case", action="append", choices=CASES, help="measure only these cases (repeatable)")
    args = parser.parse_args()
    print(render(measure(registry_artifact(args.source), depth=args.depth, cases=args.case or CASES)))


if __name__ == "__main__":
    main()
