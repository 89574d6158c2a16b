"""Data Integrity interop with Digital Bazaar's libraries, both directions (tests/js/di_interop.mjs).

@digitalbazaar/vc with the eddsa-rdfc-2022 cryptosuite verifies what anchor signs, anchor verifies what it
signs, and each tampering (a changed value, a changed proof option, a key the DID document does not
authorize, a signature moved to another credential) is refused by both sides. Their document loader
answers only from anchor's shipped contexts and the DID documents given here. The library runs once for the
module, on one batch of cases.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from anchor.credentials import data_integrity as di
from anchor.credentials.examples import ISSUERS, generate_credentials
from anchor.credentials.jsonld import EXTENSION_CONTEXTS, context_document
from anchor.credentials.model import FORMAT_V1, FORMAT_V2, FORMAT_V3
from anchor.credentials.multikey import did_key, did_key_document, did_key_verification_method, public_key_multibase
from anchor.errors import InvalidInputError
from anchor.verifier.dids import parse_did_document

from support.prerequisites import missing

SCRIPT = Path(__file__).resolve().parent / "js" / "di_interop.mjs"
CREATED = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)


def seed(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


def raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


ISSUER_KEY = Ed25519PrivateKey.from_private_bytes(seed("issuer"))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(seed("stranger"))
#: v3, the format anchor issues: the signature covers the full credential, whatever its digest commits to
CREDENTIALS = list(generate_credentials(3, seed=5, issuer=ISSUERS[2], credential_format=FORMAT_V3))
DID = CREDENTIALS[0]["issuer"]["id"]
KEY_1, KEY_2, KEY_3 = f"{DID}#key-1", f"{DID}#key-2", f"{DID}#key-3"
#: key-1 may sign credentials; key-2 (the stranger's) is listed for authentication only; key-3 is not there
DID_DOCUMENT = {
    "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
    "id": DID,
    "verificationMethod": [
        {
            "id": KEY_1,
            "type": "Multikey",
            "controller": DID,
            "publicKeyMultibase": public_key_multibase(raw_public(ISSUER_KEY)),
        },
        {
            "id": KEY_2,
            "type": "Multikey",
            "controller": DID,
            "publicKeyMultibase": public_key_multibase(raw_public(OTHER_KEY)),
        },
    ],
    "assertionMethod": [KEY_1],
    "authentication": [KEY_1, KEY_2],
}
DID_KEY_CREDENTIAL = next(
    generate_credentials(1, seed=6, credential_format=FORMAT_V2, issuer_did=did_key(raw_public(ISSUER_KEY)))
)


def now_for(credential: dict[str, Any]) -> str:
    """A verification time inside the credential's validity period."""
    valid_from = datetime.fromisoformat(credential["validFrom"].replace("Z", "+00:00"))
    return (max(valid_from, CREATED) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def anchor_signed(credential: dict[str, Any], key: Ed25519PrivateKey, method: str) -> dict[str, Any]:
    return di.add_proof(credential, di.sign(credential, key, method, created=CREATED))


def anchor_verdict(signed: dict[str, Any], did_document: dict[str, Any]) -> str | None:
    """None if anchor accepts ``signed`` (issuer key from ``did_document``), else its reason."""
    proofs = signed["proof"] if isinstance(signed["proof"], list) else [signed["proof"]]
    (proof,) = proofs
    unsigned = {name: value for name, value in signed.items() if name != "proof"}
    try:
        document = parse_did_document(did_document, did_document["id"], "test")
        method = document.method(proof["verificationMethod"])
        if not document.may_assert(proof["verificationMethod"]) or method is None or method.public_key is None:
            return f"{proof['verificationMethod']} is not under assertionMethod"
        di.verify(unsigned, proof, method.public_key)
    except InvalidInputError as error:
        return str(error)
    return None


def tampered_value(signed: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(signed)
    out["credentialSubject"]["result"][0]["value"] = "A+ (changed)"
    return out


def tampered_created(signed: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(signed)
    out["proof"][0]["created"] = "2025-09-01T08:00:01Z"
    return out


def moved(signed: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(other), "proof": copy.deepcopy(signed["proof"])}


SIGNED_0 = anchor_signed(CREDENTIALS[0], ISSUER_KEY, KEY_1)
#: name -> (credential with its proof, DID document, accepted?)
VERIFY_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], bool]] = {
    "anchor-signed": (SIGNED_0, DID_DOCUMENT, True),
    "anchor-signed-did-key": (
        anchor_signed(DID_KEY_CREDENTIAL, ISSUER_KEY, did_key_verification_method(raw_public(ISSUER_KEY))),
        did_key_document(did_key(raw_public(ISSUER_KEY))),
        True,
    ),
    "changed-value": (tampered_value(SIGNED_0), DID_DOCUMENT, False),
    "changed-created": (tampered_created(SIGNED_0), DID_DOCUMENT, False),
    "foreign-key": (anchor_signed(CREDENTIALS[0], OTHER_KEY, KEY_1), DID_DOCUMENT, False),
    "key-not-for-assertion": (anchor_signed(CREDENTIALS[0], OTHER_KEY, KEY_2), DID_DOCUMENT, False),
    "key-not-in-document": (anchor_signed(CREDENTIALS[0], OTHER_KEY, KEY_3), DID_DOCUMENT, False),
    "moved-signature": (moved(SIGNED_0, CREDENTIALS[1]), DID_DOCUMENT, False),
}


def run_library(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if shutil.which("node") is None:
        missing("node is not installed")
    payload = {
        "contexts": {url: context_document(url) for url in EXTENSION_CONTEXTS},
        "dids": {DID: DID_DOCUMENT, did_key(raw_public(ISSUER_KEY)): did_key_document(did_key(raw_public(ISSUER_KEY)))},
        "cases": cases,
    }
    completed = subprocess.run(
        ["node", str(SCRIPT)], input=json.dumps(payload), capture_output=True, text=True, check=True, timeout=300
    )
    results: list[dict[str, Any]] = json.loads(completed.stdout)["results"]
    return results


CANONIZE = [
    *generate_credentials(2, seed=8, credential_format=FORMAT_V1),
    *generate_credentials(2, seed=8, credential_format=FORMAT_V2),
    *generate_credentials(1, seed=8, credential_format=FORMAT_V3),
]
UNDEFINED_TERM = {**CREDENTIALS[2], "grade": "A+"}


@pytest.fixture(scope="module")
def library() -> dict[str, dict[str, Any]]:
    """Digital Bazaar's results, by case name."""
    names: list[str] = []
    cases: list[dict[str, Any]] = []
    for name, (signed, _, _) in VERIFY_CASES.items():
        names.append(f"verify:{name}")
        cases.append({"op": "verify", "credential": signed, "now": now_for(signed)})
    for index, credential in enumerate(CREDENTIALS[:2]):
        names.append(f"sign:{index}")
        cases.append(
            {
                "op": "sign",
                "credential": credential,
                "seed": seed("issuer").hex(),
                "verificationMethod": KEY_1,
                "created": CREATED.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "now": now_for(credential),
            }
        )
    names.append("sign:undefined-term")
    cases.append({**cases[-1], "credential": UNDEFINED_TERM})
    for index, document in enumerate(CANONIZE):
        names.append(f"canonize:{index}")
        cases.append({"op": "canonize", "document": document})
    names.append("didkey")
    cases.append({"op": "didkey", "seed": seed("issuer").hex()})
    results = dict(zip(names, run_library(cases), strict=True))
    # their library's verdict on what it signed itself, and on tampered copies of it
    signed = results["sign:0"]["signed"]
    extra = {
        "db-signed": signed,
        "db-signed-changed-value": tampered_value({**signed, "proof": [signed["proof"]]}),
        "db-signed-moved": moved({**signed, "proof": [signed["proof"]]}, CREDENTIALS[1]),
    }
    again = run_library([{"op": "verify", "credential": value, "now": now_for(value)} for value in extra.values()])
    results.update({f"verify:{name}": result for name, result in zip(extra, again, strict=True)})
    return results


@pytest.mark.parametrize("name", list(VERIFY_CASES))
def test_both_sides_agree_on_every_case(library: dict[str, dict[str, Any]], name: str) -> None:
    signed, did_document, accepted = VERIFY_CASES[name]
    theirs = library[f"verify:{name}"]
    ours = anchor_verdict(signed, did_document)
    assert "verified" in theirs, theirs
    if accepted:
        assert theirs["verified"] is True, theirs["error"]
        assert ours is None
    else:
        assert theirs["verified"] is False
        assert ours is not None


def test_the_refusals_say_why(library: dict[str, dict[str, Any]]) -> None:
    reason = {name: anchor_verdict(signed, document) for name, (signed, document, _) in VERIFY_CASES.items()}
    assert "the signature does not match" in str(reason["changed-value"])
    assert "the signature does not match" in str(reason["changed-created"])
    assert "the signature does not match" in str(reason["foreign-key"])
    assert "the signature does not match" in str(reason["moved-signature"])
    assert "is not under assertionMethod" in str(reason["key-not-for-assertion"])
    assert "is not under assertionMethod" in str(reason["key-not-in-document"])
    assert "not authorized" in library["verify:key-not-for-assertion"]["error"]
    assert "key-3 is not available" in library["verify:key-not-in-document"]["error"]
    assert "Invalid signature" in library["verify:changed-value"]["error"]


def test_what_their_library_signs_anchor_verifies(library: dict[str, dict[str, Any]]) -> None:
    for index, credential in enumerate(CREDENTIALS[:2]):
        signed = library[f"sign:{index}"]["signed"]
        proof = signed["proof"]
        assert proof["cryptosuite"] == "eddsa-rdfc-2022"
        assert proof["verificationMethod"] == KEY_1
        assert anchor_verdict(signed, DID_DOCUMENT) is None
        # same key, same options: Ed25519 is deterministic, so both sides write the very same signature
        assert proof["proofValue"] == di.sign(credential, ISSUER_KEY, KEY_1, created=CREATED)["proofValue"]
    assert library["verify:db-signed"]["verified"] is True
    assert library["verify:db-signed-changed-value"]["verified"] is False
    assert library["verify:db-signed-moved"]["verified"] is False


def test_their_changed_or_moved_credentials_are_refused_by_anchor(library: dict[str, dict[str, Any]]) -> None:
    signed = library["sign:0"]["signed"]
    listed = {**signed, "proof": [signed["proof"]]}
    assert "does not match" in str(anchor_verdict(tampered_value(listed), DID_DOCUMENT))
    assert "does not match" in str(anchor_verdict(moved(listed, CREDENTIALS[1]), DID_DOCUMENT))


def test_both_refuse_to_sign_an_undefined_term(library: dict[str, dict[str, Any]]) -> None:
    assert "Safe mode validation error" in library["sign:undefined-term"]["error"]
    with pytest.raises(di.SignatureError, match="'grade' is not defined"):
        di.sign(UNDEFINED_TERM, ISSUER_KEY, KEY_1)


def test_the_canonical_n_quads_are_the_same(library: dict[str, dict[str, Any]]) -> None:
    for index, document in enumerate(CANONIZE):
        assert library[f"canonize:{index}"]["canonical"] == di.canonize(document)


def test_did_key_documents_match_their_driver(library: dict[str, dict[str, Any]]) -> None:
    theirs = library["didkey"]["document"]
    ours = did_key_document(did_key(raw_public(ISSUER_KEY)))
    assert theirs["id"] == ours["id"]
    assert theirs["verificationMethod"][0] == ours["verificationMethod"][0]
    assert theirs["assertionMethod"] == ours["assertionMethod"]
    assert theirs["authentication"] == ours["authentication"]
    assert set(ours["@context"]) <= set(theirs["@context"])
