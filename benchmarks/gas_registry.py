"""Gas of the registry's hot paths on a real EVM (eth-tester + py-evm), beside a naive peer.

    .venv/bin/python benchmarks/gas_registry.py [--depth 20]

Prints the gas of `registerIssuer` and `anchor`, of revoking 1 / 100 / 1,000 credentials (indices packed in
few words, and spread one per 256-bit word), and of the `credentialStatus` view at the given proof depth. The
peer is `peers/NaiveRevocationRegistry.sol`: one storage slot and one event per revoked credential, keyed by
leaf hash, the usual design; it is compiled here with the same pinned solc. Gas is deterministic: no timing.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

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


def deploy(w3: Web3, abi: list[dict[str, Any]], bytecode: str, *args: Any) -> Contract:
    tx = w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*args).transact({"from": w3.eth.accounts[0]})
    address = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    return w3.eth.contract(address=address, abi=abi)


def gas_of(w3: Web3, call: Any, sender: str) -> int:
    receipt = w3.eth.wait_for_transaction_receipt(call.transact({"from": sender, "gas": 50_000_000}))
    assert receipt["status"] == 1
    return int(receipt["gasUsed"])


def compile_peer() -> dict[str, Any]:
    root = build.project_root(HERE)
    source = "benchmarks/peers/NaiveRevocationRegistry.sol"
    standard = {
        "language": "Solidity",
        "sources": {source: {"content": (root / source).read_text()}},
        "settings": build.compiler_settings() | {"outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}},
    }
    output = build.find_compiler(root).run(standard, root)
    contract = output["contracts"][source]["NaiveRevocationRegistry"]
    return {"abi": contract["abi"], "bytecode": "0x" + contract["evm"]["bytecode"]["object"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depth", type=int, default=20, help="proof depth for the status view (tree of 2**depth)")
    args = parser.parse_args()

    backend = PyEVMBackend(genesis_parameters=PyEVMBackend.generate_genesis_params({"gas_limit": BLOCK_GAS_LIMIT}))
    w3 = Web3(EthereumTesterProvider(EthereumTester(backend)))
    admin, signer = w3.eth.accounts[0], w3.eth.accounts[1]
    artifact = load_artifact("CredentialRegistry")
    registry = deploy(w3, artifact["abi"], artifact["bytecode"], 0, admin)
    peer_artifact = compile_peer()
    peer = deploy(w3, peer_artifact["abi"], peer_artifact["bytecode"])
    register = registry.functions.registerIssuer("Bench U", b"DE", "did:web:bench", [signer])

    rows: list[tuple[str, int, int | None]] = [("registerIssuer (one signer)", gas_of(w3, register, admin), None)]
    size = 2**args.depth
    rng = random.Random(7)
    values = [(rng.randbytes(32), i) for i in range(size)]
    tree = StandardMerkleTree.of(values, ["bytes32", "uint256"])
    rows.append(("anchor (first batch)", gas_of(w3, registry.functions.anchor(tree.root, size), signer), None))
    second = StandardMerkleTree.of(values[:-1], ["bytes32", "uint256"])
    rows.append(("anchor (next batch)", gas_of(w3, registry.functions.anchor(second.root, size - 1), signer), None))

    batch_id = 1
    position = size // 3
    digest, index = values[position]
    proof = tree.get_proof(position)
    status = registry.functions.credentialStatus(batch_id, index, digest, proof)
    assert status.call()[0] == 0
    rows.append((f"credentialStatus view, proof depth {len(proof)} (estimateGas)", int(status.estimate_gas()), None))

    next_index = 0
    for count in (1, 100, 1000):
        for layout, stride in (("packed", 1), ("one per word", 256)):
            if count == 1 and stride != 1:
                continue
            indices = [next_index + i * stride for i in range(count)]
            next_index = indices[-1] + 256 - indices[-1] % 256 + 256  # next batch of indices starts in a fresh word
            ours = gas_of(w3, registry.functions.revokeCredentials(batch_id, indices, 1), signer)
            leaves = [rng.randbytes(32) for _ in indices]
            theirs = gas_of(w3, peer.functions.revoke(leaves), signer)
            rows.append((f"revoke {count} ({layout})", ours, theirs))
    rows.append(("revokeBatch", gas_of(w3, registry.functions.revokeBatch(2, 2), signer), None))

    print(f"{'operation':<58}{'anchor':>12}{'naive peer':>14}{'ratio':>8}")
    for name, ours, theirs in rows:
        peer_text = f"{theirs:>14,}" if theirs else f"{'':>14}"
        ratio = f"{ours / theirs:>8.3f}" if theirs else ""
        print(f"{name:<58}{ours:>12,}{peer_text}{ratio}")
    print("\nratio = anchor gas / peer gas (lower is better). Peer: a slot and an event per credential.")


if __name__ == "__main__":
    main()
