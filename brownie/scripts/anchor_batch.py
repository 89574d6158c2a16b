"""Anchor a batch built by `anchor` with brownie (a signer key of the batch's issuer).

    brownie run anchor_batch main tree.json 1 --network anchor-local       # a standard-v1 tree dump
    brownie run anchor_batch from_store 3 1 --network anchor-local         # a built batch of the issuer database

The second argument is the signing account (default: development account 1, the demo issuer's key). A tree
dump must hold anchor's credential leaves (bytes32 digest, uint256 index), each credential at its own index;
a batch of the issuer database (ANCHOR_HOME) must be `built` for this chain and registry, and
`anchor batch run` then adopts it from the chain and writes its receipts.
"""

from pathlib import Path

from brownie import accounts, network, web3

from anchor.frameworks.brownie_support import connect, reported_errors, send, whole_number
from anchor.frameworks.operations import batch_from_dump, batch_from_store


def main(dump, account="1"):
    with reported_errors():
        operator, signer = connect(web3, network.show_active(), accounts, account)
        _anchor(operator, signer, batch_from_dump(Path(dump)))


def from_store(batch_id, account="1"):
    with reported_errors():
        operator, signer = connect(web3, network.show_active(), accounts, account)
        chain_id, registry = operator.chain.chain_id, operator.registry.address
        batch = batch_from_store(operator.settings, whole_number(batch_id, "the batch id"), chain_id, registry)
        _anchor(operator, signer, batch)
        print("`anchor batch run` finds it on chain, adopts it and writes its receipts")


def _anchor(operator, signer, batch):
    print(f"{batch.source}: {batch.size} credential(s), root {batch.root}")
    receipt = send(operator, signer, operator.anchoring(batch, signer.address))
    print(f"anchored as on-chain batch {operator.anchored_batch(receipt, batch, signer.address)}")
