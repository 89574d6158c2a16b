"""Receipts of anchored batches: one self-contained file per credential, streamed in index order."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anchor.addresses import to_checksum_address
from anchor.credentials.receipt import AnchorProof, make_receipt
from anchor.errors import ChainError, InvalidInputError, InvariantError
from anchor.files import private_directory, write_json_atomically
from anchor.issuing.store import BatchRecord, Store
from anchor.merkle import StandardMerkleTree

#: Called after each receipt written: (receipts done, batch size).
Progress = Callable[[int, int], None]


def receipt_file_name(credential_id: str) -> str:
    """A safe file name for a credential id (``urn:uuid:…`` -> ``urn_uuid_….json``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", credential_id)[:200] + ".json"


def receipts_folder(receipts_dir: Path, batch: BatchRecord) -> Path:
    """Where the receipts of an anchored batch go: ``<receipts_dir>/<chain id>/batch-<on-chain id>``."""
    return receipts_dir / str(batch.chain_id) / f"batch-{batch.onchain_batch_id}"


def write_receipts(
    store: Store, batch: BatchRecord, issuer_id: int, receipts_dir: Path, progress: Progress | None = None
) -> Path:
    """Write one receipt per credential of an anchored batch; returns the folder."""
    if batch.onchain_batch_id is None or batch.tx_hash is None or batch.block_number is None:
        raise ChainError(f"batch {batch.id} is not anchored yet")
    folder = receipts_folder(receipts_dir, batch)
    # Receipts hold personal data: folders 0700 (the chain's and the batch's made so if an older release
    # left them open), files 0600, whatever the umask.
    private_directory(receipts_dir)
    private_directory(folder.parent, tighten=True)
    private_directory(folder, tighten=True)
    tree = batch_tree(store, batch)
    # Credentials stream in index order and each proof is made (and checked) when its receipt is written,
    # so a batch of a million never holds all its documents or proofs in memory.
    for done, (index, credential_id, document) in enumerate(store.batch_credentials(batch.id), start=1):
        receipt = receipt_for(batch, tree, index, issuer_id, document)
        write_json_atomically(folder / receipt_file_name(credential_id), receipt, private=True)
        if progress is not None:
            progress(done, batch.size)
    return folder


def receipt_for(
    batch: BatchRecord, tree: StandardMerkleTree, index: int, issuer_id: int, document: str
) -> dict[str, Any]:
    """The receipt of credential ``index`` of an anchored batch, from its stored document and the batch's tree."""
    _, leaf_index = tree.at(index)
    if leaf_index != index:
        raise InvariantError(f"batch {batch.id}: tree value {index} holds index {leaf_index!r}")
    return make_receipt(json.loads(document), anchor_proof(batch, tree, index, issuer_id))


def export_receipt(store: Store, credential_id: str, issuer_id: int) -> dict[str, Any]:
    """The receipt of one anchored credential, rebuilt from the database."""
    record = store.find_credential(credential_id)
    if record is None:
        raise InvalidInputError(f"no credential {credential_id!r} in the issuer database")
    if record.batch_id is None or record.batch_index is None:
        raise InvalidInputError(f"credential {credential_id!r} is queued, not anchored yet: run `anchor batch run`")
    batch = store.get_batch(record.batch_id)
    if batch.state != "anchored" or batch.onchain_batch_id is None:
        raise InvalidInputError(f"credential {credential_id!r} is in batch {batch.id}, which is {batch.state}")
    proof = anchor_proof(batch, batch_tree(store, batch), record.batch_index, issuer_id)
    return make_receipt(json.loads(record.document), proof)


def anchor_proof(batch: BatchRecord, tree: StandardMerkleTree, index: int, issuer_id: int) -> AnchorProof:
    """The anchor proof of credential ``index`` of an anchored batch (its Merkle proof made and checked here)."""
    digest, _ = tree.at(index)
    return AnchorProof(
        chain_id=batch.chain_id,
        registry=to_checksum_address(batch.registry),
        batch_id=batch.onchain_batch_id or 0,
        issuer_id=issuer_id,
        index=index,
        digest="0x" + bytes(digest).hex() if isinstance(digest, bytes) else str(digest),
        merkle_proof=tuple(tree.get_proof(index)),
        root=tree.root,
        transaction_hash=batch.tx_hash or "",
        block_number=batch.block_number or 0,
        anchored_at=datetime.fromtimestamp(batch.anchored_at or 0, UTC),
    )


def batch_tree(store: Store, batch: BatchRecord) -> StandardMerkleTree:
    """The batch's Merkle tree, as stored when the batch was built."""
    return StandardMerkleTree.load(json.loads(store.tree_dump(batch.id)))
