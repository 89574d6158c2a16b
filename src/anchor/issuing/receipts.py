"""Receipts of anchored batches: one self-contained file per credential, written a chunk at a time.

:func:`write_receipts` walks the batch's Merkle tree in its proof order (:meth:`StandardMerkleTree.iter_proofs`:
every inner node checked once against its children, proofs built top-down), fetches the stored documents of
each chunk of :data:`RECEIPT_CHUNK` indices in one query, and builds each receipt's text from the stored
document's text (:func:`receipt_text`: its top-level members spliced, never re-parsed into objects or
re-validated) and the batch's constant proof fields. The bytes are those of
``json.dumps(make_receipt(...), indent=2, ensure_ascii=False)``.

Crash safety. The receipts go to a hidden staging folder next to the batch's (``.batch-7.partial``), each
file written once with three system calls (no temporary file and rename per receipt); the staging folder
is renamed into place when every receipt is there, so the batch's folder appears complete or not at all.
The batch is marked anchored only after that (see :mod:`anchor.issuing.batch`): a crash before leaves the
batch unfinished and the next run writes the receipts again, from an empty staging folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Final

import msgspec

from anchor.addresses import to_checksum_address
from anchor.credentials.model import FORMAT_KEY
from anchor.credentials.receipt import PROOF_TYPE, RECEIPT_FORMAT, RECEIPT_FORMATS, AnchorProof, make_receipt
from anchor.errors import ChainError, InvalidInputError, InvariantError
from anchor.files import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, private_directory
from anchor.issuing.store import BatchRecord, Store
from anchor.merkle import StandardMerkleTree

#: Called after each receipt written: (receipts done, batch size).
Progress = Callable[[int, int], None]
RECEIPT_CHUNK: Final = 2000
"""Receipts whose documents are fetched in one query."""
_STAGING_SUFFIX: Final = ".partial"
_REPLACED_SUFFIX: Final = ".replaced"
_CREATE: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_TOP_LEVEL: Final = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ENCODER: Final = msgspec.json.Encoder()


def receipt_file_name(credential_id: str) -> str:
    """A safe file name for a credential id (``urn:uuid:…`` -> ``urn_uuid_….json``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", credential_id)[:200] + ".json"


def receipts_folder(receipts_dir: Path, batch: BatchRecord) -> Path:
    """Where the receipts of an anchored batch go: ``<receipts_dir>/<chain id>/batch-<on-chain id>``."""
    return receipts_dir / str(batch.chain_id) / f"batch-{batch.onchain_batch_id}"


def write_receipts(
    store: Store, batch: BatchRecord, issuer_id: int, receipts_dir: Path, progress: Progress | None = None
) -> Path:
    """Write one receipt per credential of an anchored batch (see the module doc); returns the folder."""
    if batch.onchain_batch_id is None or batch.tx_hash is None or batch.block_number is None:
        raise ChainError(f"batch {batch.id} is not anchored yet")
    folder = receipts_folder(receipts_dir, batch)
    # Receipts hold personal data: folders 0700 (the chain's made so if an older release left it open),
    # files 0600, whatever the umask.
    private_directory(receipts_dir)
    private_directory(folder.parent, tighten=True)
    staging = _empty_staging(folder)
    tree = batch_tree(store, batch)
    proofs = _ProofText(batch, issuer_id, tree.root)
    done = 0
    directory = os.open(staging, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        for chunk in _chunks(tree.iter_proofs(), RECEIPT_CHUNK):
            documents = store.batch_documents(batch.id, [index for index, _ in chunk])
            for index, merkle_proof in chunk:
                found = documents.get(index)
                if found is None:
                    raise InvariantError(f"batch {batch.id}: no stored credential at index {index}")
                digest, leaf_index = tree.at(index)
                if leaf_index != index:
                    raise InvariantError(f"batch {batch.id}: tree value {index} holds index {leaf_index!r}")
                credential_id, document = found
                anchoring = proofs.text(index, _hex(digest), merkle_proof)
                name = receipt_file_name(credential_id)
                write_receipt_file(directory, name, receipt_text(document, anchoring), _indexed(name, index))
                done += 1
                if progress is not None:
                    progress(done, batch.size)
        if done != batch.size:
            raise InvariantError(f"batch {batch.id}: {done} receipts for {batch.size} credentials")
    finally:
        os.close(directory)
    _publish(staging, folder)
    return folder


def _indexed(name: str, index: int) -> str:
    """The file name of the receipt at ``index`` when ``name`` is taken: ``<name>-<index>.json``."""
    return f"{name.removesuffix('.json')}-{index}.json"


def write_receipt_file(directory: int, name: str, data: bytes, instead: str | None = None) -> None:
    """Create receipt ``name`` (0600) in the open folder ``directory`` and write ``data`` to it.

    The folder is a fresh staging folder, so the name is new, unless two credential ids share a file name
    (:func:`receipt_file_name`: ``urn:x`` and ``urn_x``, or ids alike in their first 200 characters): then
    the receipt goes to ``instead`` (the batch index added: no receipt is lost), or replaces the earlier one
    when there is no other name.
    """
    descriptor = _create(directory, name)
    if descriptor is None and instead is not None:
        descriptor = _create(directory, instead)
    if descriptor is None:  # every name taken: the later receipt replaces the earlier
        last = instead or name
        os.unlink(last, dir_fd=directory)
        descriptor = os.open(last, _CREATE, PRIVATE_FILE_MODE, dir_fd=directory)
    try:
        os.fchmod(descriptor, PRIVATE_FILE_MODE)
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
    finally:
        os.close(descriptor)


def _create(directory: int, name: str) -> int | None:
    """A new file ``name`` (0600) in the open folder ``directory``, opened for writing; None if it exists."""
    try:
        return os.open(name, _CREATE, PRIVATE_FILE_MODE, dir_fd=directory)
    except FileExistsError:
        return None


def receipt_text(document: str, anchoring: str) -> bytes:
    """The receipt file of a stored document (compact JSON text) and its anchoring proof (JSON text).

    The bytes of ``json.dumps(make_receipt(json.loads(document), proof), indent=2, ensure_ascii=False) + "\\n"``
    where ``anchoring`` is the compact ``json.dumps`` of ``proof.to_json()`` with ``"format": None``: the format
    is set here as :func:`~anchor.credentials.receipt.make_receipt` sets it. Only the top-level members are
    decoded (into their raw text), and of those only ``anchorFormat`` and ``proof`` are parsed.
    """
    members = _TOP_LEVEL.decode(document)
    version_text = members.get(FORMAT_KEY)
    version = msgspec.json.decode(version_text) if version_text is not None else None
    receipt_format = RECEIPT_FORMATS.get(version, RECEIPT_FORMAT) if isinstance(version, str) else RECEIPT_FORMAT
    proof = anchoring.replace('"format":null', f'"format":{json.dumps(receipt_format)}', 1)
    existing_text = members.get("proof")
    existing = msgspec.json.decode(existing_text) if existing_text is not None else None
    if existing is None and receipt_format == RECEIPT_FORMAT:
        members["proof"] = msgspec.Raw(proof.encode())
    else:
        present = existing if isinstance(existing, list) else [] if existing is None else [existing]
        kept = [item for item in present if not (isinstance(item, dict) and item.get("type") == PROOF_TYPE)]
        others = json.dumps(kept, ensure_ascii=False, separators=(",", ":"))
        members["proof"] = msgspec.Raw(f"{others[:-1]}{',' if kept else ''}{proof}]".encode())
    return msgspec.json.format(_ENCODER.encode(members), indent=2) + b"\n"


class _ProofText:
    """The anchoring proof of a batch's credentials as compact JSON text, its constant parts made once."""

    def __init__(self, batch: BatchRecord, issuer_id: int, root: str) -> None:
        fields = _proof_of(batch, issuer_id, 0, "", (), root).to_json()
        fields["format"] = None  # set per receipt by receipt_text
        head = {key: fields[key] for key in ("type", "format", "chainId", "registry", "batchId", "issuerId")}
        tail = {key: fields[key] for key in ("root", "transactionHash", "blockNumber", "anchoredAt")}
        self._head = json.dumps(head, separators=(",", ":"))[:-1]
        self._tail = json.dumps(tail, separators=(",", ":"))[1:]

    def text(self, index: int, digest: str, merkle_proof: list[str]) -> str:
        siblings = '","'.join(merkle_proof)
        nodes = f'["{siblings}"]' if merkle_proof else "[]"
        return f'{self._head},"index":{index},"digest":{json.dumps(digest)},"merkleProof":{nodes},{self._tail}'


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
    return _proof_of(batch, issuer_id, index, _hex(digest), tuple(tree.get_proof(index)), tree.root)


def _proof_of(
    batch: BatchRecord, issuer_id: int, index: int, digest: str, merkle_proof: tuple[str, ...], root: str
) -> AnchorProof:
    return AnchorProof(
        chain_id=batch.chain_id,
        registry=to_checksum_address(batch.registry),
        batch_id=batch.onchain_batch_id or 0,
        issuer_id=issuer_id,
        index=index,
        digest=digest,
        merkle_proof=merkle_proof,
        root=root,
        transaction_hash=batch.tx_hash or "",
        block_number=batch.block_number or 0,
        anchored_at=datetime.fromtimestamp(batch.anchored_at or 0, UTC),
    )


def batch_tree(store: Store, batch: BatchRecord) -> StandardMerkleTree:
    """The batch's Merkle tree, as stored when the batch was built."""
    return StandardMerkleTree.load(json.loads(store.tree_dump(batch.id)))


def _hex(digest: object) -> str:
    return "0x" + bytes(digest).hex() if isinstance(digest, bytes) else str(digest)


def _empty_staging(folder: Path) -> Path:
    """The batch's staging folder, created empty (0700); whatever an interrupted run left there is removed."""
    staging = folder.with_name(f".{folder.name}{_STAGING_SUFFIX}")
    _remove(staging)
    os.mkdir(staging, PRIVATE_DIR_MODE)
    os.chmod(staging, PRIVATE_DIR_MODE)
    return staging


def _publish(staging: Path, folder: Path) -> None:
    """Rename the complete staging folder into place (replacing the folder of an earlier, interrupted run)."""
    replaced = folder.with_name(f".{folder.name}{_REPLACED_SUFFIX}")
    _remove(replaced)
    if os.path.lexists(folder):
        os.rename(folder, replaced)
    os.rename(staging, folder)
    parent = os.open(folder.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(parent)  # the rename itself is durable before the batch is marked anchored
    finally:
        os.close(parent)
    _remove(replaced)


def _remove(path: Path) -> None:
    """Remove a folder of ours and everything in it (a link is removed, never followed)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def _chunks(items: Iterator[tuple[int, list[str]]], size: int) -> Iterator[list[tuple[int, list[str]]]]:
    while chunk := list(islice(items, size)):
        yield chunk
