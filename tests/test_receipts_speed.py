"""Receipts written fast (issue 13): the same bytes as the reference path, atomic per batch, private, complete.

``write_receipts`` builds each receipt's text from the stored document's text (``receipt_text``) in the Merkle
tree's proof order and publishes the batch's folder by one rename. The reference is the slow path:
``json.dumps(make_receipt(json.loads(document), proof), indent=2)``, which ``receipt_for`` still is.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchor.credentials.examples import generate_credentials
from anchor.credentials.receipt import PROOF_TYPE, AnchorProof, make_receipt, parse_proof, split_receipt
from anchor.issuing import intake, receipts
from anchor.issuing.batch import build_tree
from anchor.issuing.store import BatchRecord, Store
from anchor.merkle import StandardMerkleTree

CHAIN, REGISTRY, SIGNER = 31337, "0x" + "11" * 20, "0x" + "22" * 20
ISSUER_ID = 5
PROOF = AnchorProof(
    chain_id=CHAIN,
    registry="0x1111111111111111111111111111111111111111",
    batch_id=7,
    issuer_id=ISSUER_ID,
    index=3,
    digest="0x" + "ab" * 32,
    merkle_proof=("0x" + "cd" * 32, "0x" + "ef" * 32),
    root="0x" + "12" * 32,
    transaction_hash="0x" + "34" * 32,
    block_number=99,
    anchored_at=datetime(2026, 11, 30, 4, 0, tzinfo=UTC),
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
anchor_proof_objects = st.fixed_dictionaries({"type": st.just(PROOF_TYPE), "format": st.text(max_size=4)})
proofs = (
    st.none()
    | json_values
    | st.dictionaries(st.text(max_size=6), json_values, max_size=3)
    | anchor_proof_objects
    | st.lists(json_values | anchor_proof_objects, max_size=3)
)
formats = st.sampled_from(["anchor-credential-v1", "anchor-credential-v2", "anchor-credential-v3", "other"]) | (
    json_values
)


def reference(document: dict[str, Any]) -> bytes:
    return (json.dumps(make_receipt(document, PROOF), indent=2, ensure_ascii=False) + "\n").encode()


def anchoring_text(proof: AnchorProof) -> str:
    return json.dumps({**proof.to_json(), "format": None}, separators=(",", ":"))


@settings(max_examples=400, deadline=None)
@given(
    members=st.dictionaries(st.text(max_size=8), json_values, max_size=6),
    version=st.none() | formats,
    proof=st.none() | proofs,
    has_proof=st.booleans(),
)
def test_receipt_text_is_the_reference_bytes(
    members: dict[str, Any], version: Any, proof: Any, has_proof: bool
) -> None:
    document = dict(members)
    if version is not None:
        document["anchorFormat"] = version
    if has_proof:
        document["proof"] = proof
    stored = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    assert receipts.receipt_text(stored, anchoring_text(PROOF)) == reference(document)


def test_receipt_text_of_real_credentials_is_the_reference_bytes() -> None:
    for credential in generate_credentials(30, seed=13):
        stored = json.dumps(credential, ensure_ascii=False, separators=(",", ":"))
        assert receipts.receipt_text(stored, anchoring_text(PROOF)) == reference(credential)


# --------------------------------------------------------------------------------------------------------
# write_receipts


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'issuer.db'}") as opened:
        yield opened


def anchored(store: Store, count: int) -> BatchRecord:
    items = [(f"c{n}", credential) for n, credential in enumerate(generate_credentials(count, seed=21, salted=False))]
    summary = intake.issue_credentials(store, items, total=len(items), workers=1)
    assert summary.queued == count, summary
    batch = store.build_batch(count, CHAIN, REGISTRY, SIGNER, build_tree)
    assert batch is not None
    return store.update_batch(
        batch.id, onchain_batch_id=7, tx_hash="0x" + "ab" * 32, block_number=99, anchored_at=1764475200
    )


def test_every_receipt_is_the_reference_private_and_proves_its_credential(store: Store, tmp_path: Path) -> None:
    batch = anchored(store, 37)
    folder = receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "receipts")
    tree = receipts.batch_tree(store, batch)
    files = sorted(folder.iterdir())
    assert len(files) == 37
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no staging folder left behind
    for index, credential_id, document in store.batch_credentials(batch.id):
        path = folder / receipts.receipt_file_name(credential_id)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        expected = receipts.receipt_for(batch, tree, index, ISSUER_ID, document)
        assert path.read_bytes() == (json.dumps(expected, indent=2, ensure_ascii=False) + "\n").encode()
        _credential, proof = split_receipt(json.loads(path.read_bytes()))
        assert proof.index == index
        assert proof == parse_proof(expected["proof"])
        assert StandardMerkleTree.verify(tree.root, ["bytes32", "uint256"], [proof.digest, index], proof.merkle_proof)


def test_two_ids_with_one_file_name_lose_no_receipt(store: Store, tmp_path: Path) -> None:
    ids = ["urn:example:same", "urn:example_same", "urn:example:" + "x" * 300, "urn:example:" + "x" * 299 + "y"]
    items = []
    for n, credential in enumerate(generate_credentials(len(ids), seed=5, salted=False)):
        items.append((f"c{n}", {**credential, "id": ids[n]}))
    assert intake.issue_credentials(store, items, total=len(items), workers=1).queued == len(ids)
    batch = store.build_batch(len(ids), CHAIN, REGISTRY, SIGNER, build_tree)
    assert batch is not None
    batch = store.update_batch(
        batch.id, onchain_batch_id=8, tx_hash="0x" + "cd" * 32, block_number=99, anchored_at=1764475200
    )
    folder = receipts.write_receipts(store, batch, ISSUER_ID, tmp_path / "receipts")
    found = {json.loads(path.read_bytes())["id"]: path.name for path in folder.iterdir()}
    assert sorted(found) == sorted(ids)  # every receipt is there, none replaced another
    assert len(set(found.values())) == len(ids)
    for index, credential_id, _document in store.batch_credentials(batch.id):
        name = receipts.receipt_file_name(credential_id)
        assert found[credential_id] in (name, name.removesuffix(".json") + f"-{index}.json")


def test_an_interrupted_run_leaves_no_partial_folder_and_the_rerun_writes_all(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readers see a batch's receipts complete or not at all; a rerun after a crash starts afresh."""
    batch = anchored(store, 20)
    target = tmp_path / "receipts"
    original = receipts.write_receipt_file
    written = [0]

    def crash_after_seven(directory: int, name: str, data: bytes, instead: str | None = None) -> None:
        written[0] += 1
        if written[0] > 7:
            raise OSError(28, "No space left on device")
        original(directory, name, data, instead)

    monkeypatch.setattr(receipts, "write_receipt_file", crash_after_seven)
    with pytest.raises(OSError, match="No space"):
        receipts.write_receipts(store, batch, ISSUER_ID, target)
    folder = receipts.receipts_folder(target, batch)
    assert not folder.exists()
    monkeypatch.setattr(receipts, "write_receipt_file", original)
    assert len(list(receipts.write_receipts(store, batch, ISSUER_ID, target).iterdir())) == 20
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]


def test_a_rerun_replaces_an_earlier_folder_whole(store: Store, tmp_path: Path) -> None:
    batch = anchored(store, 5)
    target = tmp_path / "receipts"
    folder = receipts.receipts_folder(target, batch)
    folder.mkdir(parents=True)
    (folder / "stale.json").write_text("{}")
    (folder / "half-written.json").write_text('{"@context": [')
    receipts.write_receipts(store, batch, ISSUER_ID, target)
    assert len(list(folder.iterdir())) == 5
    assert not (folder / "stale.json").exists()
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]


def test_a_link_planted_as_the_staging_folder_is_removed_not_followed(store: Store, tmp_path: Path) -> None:
    batch = anchored(store, 3)
    target = tmp_path / "receipts"
    folder = receipts.receipts_folder(target, batch)
    folder.parent.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    os.symlink(elsewhere, folder.with_name(f".{folder.name}.partial"))
    receipts.write_receipts(store, batch, ISSUER_ID, target)
    assert [p.name for p in elsewhere.iterdir()] == ["keep.txt"]
    assert not folder.is_symlink()
    assert len(list(folder.iterdir())) == 3
