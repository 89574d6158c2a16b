"""What the verifier benchmarks share: a free local port, and one anchored, final batch of example receipts."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

from eth_account.signers.local import LocalAccount

from anchor.chain.connection import Chain, wait_for_block
from anchor.chain.registry import Registry
from anchor.credentials import credential_digest
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.receipt import LEAF_ENCODING, AnchorProof, make_receipt
from anchor.merkle import StandardMerkleTree


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def anchored_receipts(
    chain: Chain, registry: Registry, operator: LocalAccount, signer: LocalAccount, country: str, count: int, seed: int
) -> list[dict[str, Any]]:
    """Register ``country``'s example issuer with ``signer``, anchor ``count`` credentials, wait for finality."""
    issuer = issuer_for_country(country)
    issuer_id, _ = registry.register_issuer(operator, issuer.name, issuer.country_code, issuer.id, [signer.address])
    credentials = list(generate_credentials(count, seed=seed, issuer=issuer))
    digests = [credential_digest(credential) for credential in credentials]
    tree = StandardMerkleTree.of([(digest, index) for index, digest in enumerate(digests)], list(LEAF_ENCODING))
    batch_id, receipt = registry.anchor(signer, tree.root, count)
    block = chain.w3.eth.get_block(receipt["blockNumber"])
    wait_for_block(chain, int(receipt["blockNumber"]), "finalized")
    proofs = tree.get_all_proofs()
    return [
        make_receipt(
            credential,
            AnchorProof(
                chain_id=chain.chain_id,
                registry=registry.address,
                batch_id=batch_id,
                issuer_id=issuer_id,
                index=index,
                digest="0x" + digests[index].hex(),
                merkle_proof=tuple(proofs[index]),
                root=tree.root,
                transaction_hash=receipt["transactionHash"].to_0x_hex(),
                block_number=int(receipt["blockNumber"]),
                anchored_at=datetime.fromtimestamp(int(block["timestamp"]), UTC),
            ),
        )
        for index, credential in enumerate(credentials)
    ]
