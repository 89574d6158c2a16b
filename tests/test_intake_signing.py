"""Signing at intake: every issued credential becomes a signed v2 credential, or is refused naming the field."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchor.credentials import (
    CONTEXTS_V2,
    FORMAT_V2,
    FORMAT_V3,
    SALT_KEY,
    credential_digest,
    issuer_proofs,
)
from anchor.credentials.data_integrity import SignatureError, verify
from anchor.credentials.examples import generate_credentials
from anchor.credentials.multikey import did_key, did_key_verification_method
from anchor.errors import CredentialValidationError, InvalidInputError
from anchor.issuing import intake
from anchor.issuing.signing import IntakeSigner
from anchor.issuing.status_lists import status_entry_source
from anchor.issuing.store import Store

SEED = bytes(range(32))
PUBLIC = Ed25519PrivateKey.from_private_bytes(SEED).public_key().public_bytes_raw()
DID = did_key(PUBLIC)
SIGNER = IntakeSigner(DID, did_key_verification_method(PUBLIC), SEED, datetime(2026, 11, 30, 1, 0, tzinfo=UTC))
STATUS = {
    "id": "https://example.edu/status/1#7",
    "type": "BitstringStatusListEntry",
    "statusPurpose": "revocation",
    "statusListIndex": "7",
    "statusListCredential": "https://example.edu/status/1",
}


def _credential(**changes: Any) -> dict[str, Any]:
    credential = next(iter(generate_credentials(1, seed=11, salted=False, issuer_did=DID)))
    credential.update(changes)
    return credential


def _signed(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    (proof,) = issuer_proofs(document)
    return {key: value for key, value in document.items() if key != "proof"}, proof


def test_a_v1_input_becomes_a_signed_v3_credential() -> None:
    given = _credential()
    item = intake.prepare_credential(given, signer=SIGNER, status_entry=STATUS)
    document = json.loads(item.document)
    assert document["anchorFormat"] == FORMAT_V3
    assert document["@context"] == list(CONTEXTS_V2)
    assert document["credentialStatus"] == STATUS
    assert SALT_KEY in document
    unsigned, proof = _signed(document)
    assert proof["verificationMethod"] == SIGNER.verification_method
    assert proof["created"] == "2026-11-30T01:00:00Z"
    verify(unsigned, proof, PUBLIC)
    # the anchored digest covers the signature
    assert item.digest == credential_digest(document)
    tampered = copy.deepcopy(document)
    tampered["proof"][0]["proofValue"] = tampered["proof"][0]["proofValue"][:-2] + "11"
    assert credential_digest(tampered) != item.digest
    # what the issuer wrote is not changed, only completed
    for key in ("id", "name", "issuer", "validFrom", "credentialSubject"):
        assert document[key] == given[key]


def test_the_signature_covers_the_salt_and_the_status_entry() -> None:
    document = json.loads(intake.prepare_credential(_credential(), signer=SIGNER, status_entry=STATUS).document)
    unsigned, proof = _signed(document)
    for field, value in ((SALT_KEY, "0x" + "00" * 32), ("credentialStatus", {**STATUS, "statusListIndex": "8"})):
        with pytest.raises(SignatureError, match="does not match"):
            verify({**unsigned, field: value}, proof, PUBLIC)


def test_reissuing_the_same_input_is_a_duplicate_though_each_signature_differs(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'issuer.db'}")
    try:
        given = _credential()
        first = intake.prepare_credential(given, signer=SIGNER)
        later = IntakeSigner(DID, SIGNER.verification_method, SEED, datetime(2026, 12, 1, tzinfo=UTC))
        second = intake.prepare_credential(given, signer=later)
        assert first.document != second.document
        assert first.content_hash == second.content_hash
        assert [outcome.status for outcome in store.queue([first])] == ["queued"]
        assert [outcome.status for outcome in store.queue([second])] == ["duplicate"]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"issuer_did": "did:web:another.example"}, "/issuer/id", "is not this issuer's DID"),
        ({"proof": {"type": "DataIntegrityProof"}}, "/proof", "anchor signs it at issue time"),
        ({"credentialStatus": STATUS}, "/credentialStatus", "assigned by anchor at issue time"),
    ],
)
def test_what_could_only_fail_later_is_refused_now(changes: dict[str, Any], field: str, reason: str) -> None:
    did = changes.pop("issuer_did", DID)
    credential = next(iter(generate_credentials(1, seed=11, salted=False, issuer_did=did)))
    credential.update(changes)
    with pytest.raises(CredentialValidationError) as caught:
        intake.prepare_credential(credential, source="in.json", signer=SIGNER, status_entry=STATUS)
    assert str(caught.value).startswith("in.json: invalid credential")
    assert [problem.path for problem in caught.value.problems] == [field]
    assert reason in caught.value.problems[0].message


def test_without_a_signing_key_a_v2_credential_is_refused() -> None:
    credential = _credential(**{"@context": list(CONTEXTS_V2), "anchorFormat": FORMAT_V2})
    with pytest.raises(InvalidInputError, match="signed by its issuer at issue time: create the issuer's signing key"):
        intake.prepare_credential(credential, source="in.json")


def test_worker_processes_sign_with_the_same_key_and_take_status_entries_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "PARALLEL_FROM", 4)
    folder = tmp_path / "in"
    folder.mkdir()
    ids = []
    for number, credential in enumerate(generate_credentials(70, seed=3, salted=False, issuer_did=DID)):
        (folder / f"{number:03d}.json").write_text(json.dumps(credential), encoding="utf-8")
        ids.append(credential["id"])
    store = Store(f"sqlite:///{tmp_path / 'issuer.db'}")
    source = status_entry_source(store, DID, "https://example.edu/status", 131072)
    handed: list[dict[str, Any]] = []

    def entries(count: int) -> list[dict[str, str]]:
        handed.extend(source(count))
        return handed[-count:]

    try:
        summary = intake.issue(store, [str(folder)], workers=2, signer=SIGNER, status_entries=entries)
        assert summary.queued == 70
        assert len(handed) == 70
        indexes = []
        for credential_id in ids:
            record = store.find_credential(credential_id)
            assert record is not None
            document = json.loads(record.document)
            unsigned, proof = _signed(document)
            verify(unsigned, proof, PUBLIC)
            indexes.append(int(document["credentialStatus"]["statusListIndex"]))
            assert (record_slot(store, record.id)) == (1, indexes[-1])
        assert sorted(indexes) == sorted(int(entry["statusListIndex"]) for entry in handed)
        assert len(set(indexes)) == 70
    finally:
        store.close()


def record_slot(store: Store, row_id: int) -> tuple[int, int]:
    """The status list slot the database recorded for a credential row."""
    with store.engine.connect() as connection:
        row = connection.exec_driver_sql(
            f"SELECT status_list, status_index FROM credentials WHERE id = {int(row_id)}"
        ).one()
    return int(row[0]), int(row[1])
