"""Data Integrity proofs, eddsa-rdfc-2022 (anchor.credentials.data_integrity): the W3C test vector byte for
byte, signing and verifying, every refusal with its reason, and safe-mode JSON-LD where plain pyld is lax."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pyld import jsonld as pyld_jsonld

from anchor.credentials import data_integrity as di
from anchor.credentials import jsonld, rdfc
from anchor.credentials.examples import generate_credentials
from anchor.credentials.model import FORMAT_V2
from anchor.credentials.multikey import did_key_verification_method, public_key_from_multibase
from anchor.errors import InvalidInputError, InvariantError

VECTORS = Path(__file__).resolve().parent / "vectors" / "vc-di-eddsa"
EXAMPLES_CONTEXT = "https://www.w3.org/ns/credentials/examples/v2"
CREATED = datetime(2025, 8, 1, 9, 30, tzinfo=UTC)


def vector(name: str) -> str:
    return (VECTORS / name).read_text(encoding="utf-8")


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.fixture
def examples_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader also answers the VC examples context (test only), with a fresh fast-path cache."""
    documents = dict(jsonld._documents())
    documents[EXAMPLES_CONTEXT] = json.loads(vector("credentials-examples-v2.jsonld"))
    monkeypatch.setattr(jsonld, "_documents", lambda: documents)
    monkeypatch.setattr(rdfc, "_state", rdfc._State())


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"anchor test issuer").digest())


@pytest.fixture(scope="module")
def public(key: Ed25519PrivateKey) -> bytes:
    return raw_public(key)


@pytest.fixture(scope="module")
def credentials() -> list[dict[str, Any]]:
    return list(generate_credentials(4, seed=11, credential_format=FORMAT_V2))


def method_of(credential: dict[str, Any]) -> str:
    return f"{credential['issuer']['id']}#key-1"


# -- the W3C test vector ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("examples_context")
def test_the_w3c_eddsa_rdfc_2022_vector_is_reproduced_byte_for_byte() -> None:
    unsigned = json.loads(vector("unsigned.json"))
    config = json.loads(vector("proofConfigDataInt.json"))
    pair = json.loads(vector("keyPair.json"))
    secret = base58.b58decode(pair["privateKeyMultibase"][1:])
    assert secret[:2] == b"\x80\x26"
    private = Ed25519PrivateKey.from_private_bytes(secret[2:])

    assert di.canonize(unsigned) == vector("canonDocDataInt.txt")
    assert di.canonize_reference(unsigned) == vector("canonDocDataInt.txt")
    options = {name: value for name, value in config.items() if name != "@context"}
    assert di.proof_configuration(unsigned, options) == config
    assert di.canonize(config) == vector("proofCanonDataInt.txt")
    data = di.hash_data(unsigned, options)
    assert data[32:].hex() == vector("docHashDataInt.txt").strip()
    assert data[:32].hex() == vector("proofHashDataInt.txt").strip()
    assert data.hex() == vector("combinedHashDataInt.txt").strip()

    created = datetime.fromisoformat(config["created"].replace("Z", "+00:00"))
    proof = di.sign(unsigned, private, config["verificationMethod"], created=created)
    assert base58.b58decode(proof["proofValue"][1:]).hex() == vector("sigHexDataInt.txt").strip()
    assert proof["proofValue"] == vector("sigBTC58DataInt.txt").strip()
    signed = json.loads(vector("signedDataInt.json"))
    assert di.add_proof(unsigned, proof) == {**signed, "proof": [signed["proof"]]}

    published = signed.pop("proof")
    di.verify(signed, published, public_key_from_multibase(pair["publicKeyMultibase"]))
    signed["credentialSubject"]["alumniOf"] = "The School of Counterexamples"
    with pytest.raises(di.SignatureError, match="does not match"):
        di.verify(signed, published, public_key_from_multibase(pair["publicKeyMultibase"]))


# -- signing and verifying -------------------------------------------------------------------------------


def test_sign_then_verify(key: Ed25519PrivateKey, public: bytes, credentials: list[dict[str, Any]]) -> None:
    for credential in credentials:
        before = copy.deepcopy(credential)
        proof = di.sign(credential, key, method_of(credential), created=CREATED)
        assert credential == before
        assert proof == {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": "2025-08-01T09:30:00Z",
            "verificationMethod": method_of(credential),
            "proofPurpose": "assertionMethod",
            "proofValue": proof["proofValue"],
        }
        assert len(base58.b58decode(proof["proofValue"][1:])) == 64
        di.verify(credential, proof, public)
        # Ed25519 is deterministic: the same credential and options, the same proof
        assert di.sign(credential, key, method_of(credential), created=CREATED) == proof


def test_created_defaults_to_now_in_whole_utc_seconds(
    key: Ed25519PrivateKey, credentials: list[dict[str, Any]]
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    proof = di.sign(credentials[0], key, method_of(credentials[0]))
    created = datetime.strptime(proof["created"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= created <= datetime.now(UTC)
    local = datetime(2025, 8, 1, 11, 30, 0, 999, tzinfo=timezone(timedelta(hours=2)))
    assert di.sign(credentials[0], key, method_of(credentials[0]), created=local)["created"] == "2025-08-01T09:30:00Z"


def test_add_proof_appends_to_a_proof_list_and_copies(
    key: Ed25519PrivateKey, credentials: list[dict[str, Any]]
) -> None:
    credential = credentials[0]
    proof = di.sign(credential, key, method_of(credential), created=CREATED)
    signed = di.add_proof(credential, proof)
    assert signed["proof"] == [proof]
    assert "proof" not in credential
    anchoring = {"type": "AnchorMerkleProof"}
    assert di.add_proof(signed, anchoring)["proof"] == [proof, anchoring]
    assert signed["proof"] == [proof]
    assert di.add_proof({**credential, "proof": proof}, anchoring)["proof"] == [proof, anchoring]


def test_a_signature_that_would_not_verify_is_never_returned(
    key: Ed25519PrivateKey, credentials: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Faulty:
        """A key whose signing is faulted (the bit flip that leaks an EdDSA key)."""

        def __init__(self, inner: Ed25519PrivateKey) -> None:
            self.inner = inner

        def sign(self, data: bytes) -> bytes:
            signature = bytearray(self.inner.sign(data))
            signature[5] ^= 1
            return bytes(signature)

        def public_key(self) -> Any:
            return self.inner.public_key()

    monkeypatch.setattr(di, "Ed25519PrivateKey", Faulty)
    with pytest.raises(InvariantError, match="does not verify"):
        di.sign(credentials[0], Faulty(key), method_of(credentials[0]), created=CREATED)  # type: ignore[arg-type]


# -- refusals, each with its reason ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def signed(key: Ed25519PrivateKey, credentials: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    return credentials[0], di.sign(credentials[0], key, method_of(credentials[0]), created=CREATED)


def changed(proof: dict[str, Any], **fields: Any) -> dict[str, Any]:
    out = dict(proof)
    for name, value in fields.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"type": "Ed25519Signature2020"}, "proof type 'Ed25519Signature2020' is not 'DataIntegrityProof'"),
        ({"cryptosuite": "ecdsa-rdfc-2019"}, "cryptosuite 'ecdsa-rdfc-2019' is not 'eddsa-rdfc-2022'"),
        ({"cryptosuite": "eddsa-jcs-2022"}, "cryptosuite 'eddsa-jcs-2022' is not 'eddsa-rdfc-2022'"),
        ({"proofPurpose": "authentication"}, "proof purpose 'authentication' is not 'assertionMethod'"),
        ({"proofValue": None}, "the proof has no proofValue"),
        ({"proofValue": "uAAAA"}, "is not multibase base58btc"),
        ({"proofValue": "z0OIl"}, "is not multibase base58btc"),
        ({"proofValue": 12}, "is not multibase base58btc"),
        ({"proofValue": "z" + base58.b58encode(bytes(63)).decode()}, "holds 63 bytes; an Ed25519 signature has 64"),
        ({"proofValue": "z" + base58.b58encode(bytes(65)).decode()}, "holds 65 bytes"),
        # refused before decoding: base58 takes time quadratic in the length
        ({"proofValue": "z" + "2" * 200_000}, "proofValue is 200001 characters"),
        ({"verificationMethod": "key-1"}, "verificationMethod 'key-1' is not an absolute IRI"),
        ({"verificationMethod": None}, "verificationMethod None is not an absolute IRI"),
        ({"created": "2025-08-01"}, "created '2025-08-01' is not an XML Schema dateTime"),
        ({"created": "2025-08-01T09:30:00"}, "is not an XML Schema dateTime with a time zone"),
        ({"created": "2025-13-01T09:30:00Z"}, "is not a valid date and time"),
        ({"expires": "2025-08-02T00:00:00Z"}, "the proof expired at 2025-08-02T00:00:00Z"),
        ({"previousProof": "urn:uuid:1"}, "proof chains"),
        ({"@context": ["https://www.w3.org/ns/credentials/v2"]}, "the proof's @context .* is not the document's"),
        # a proof option that is signed, changed after signing
        ({"created": "2025-08-01T09:30:01Z"}, "the signature does not match"),
        ({"verificationMethod": "did:web:other.example#key-1"}, "the signature does not match"),
    ],
)
def test_verify_refuses_with_the_reason(
    signed: tuple[dict[str, Any], dict[str, Any]], public: bytes, fields: dict[str, Any], reason: str
) -> None:
    credential, proof = signed
    with pytest.raises(di.SignatureError, match=reason):
        di.verify(credential, changed(proof, **fields), public, now=datetime(2026, 1, 1, tzinfo=UTC))


def test_a_proof_that_has_not_expired_verifies_only_if_expires_was_signed(
    key: Ed25519PrivateKey, public: bytes, credentials: list[dict[str, Any]]
) -> None:
    credential = credentials[1]
    proof = di.sign(credential, key, method_of(credential), created=CREATED)
    with pytest.raises(di.SignatureError, match="does not match"):  # expires is signed: it cannot be added
        di.verify(credential, {**proof, "expires": "2099-01-01T00:00:00Z"}, public)


def test_a_changed_value_a_foreign_key_and_a_moved_signature_are_refused(
    key: Ed25519PrivateKey, public: bytes, credentials: list[dict[str, Any]]
) -> None:
    first, second = credentials[0], credentials[1]
    proof = di.sign(first, key, method_of(first), created=CREATED)
    tampered = copy.deepcopy(first)
    tampered["credentialSubject"]["result"][0]["value"] = "A+"
    with pytest.raises(di.SignatureError, match="the signature does not match"):
        di.verify(tampered, proof, public)
    stranger = raw_public(Ed25519PrivateKey.from_private_bytes(bytes(32)))
    with pytest.raises(di.SignatureError, match="the signature does not match"):
        di.verify(first, proof, stranger)
    moved = {**second, "issuer": first["issuer"]}
    with pytest.raises(di.SignatureError, match="the signature does not match"):
        di.verify(moved, proof, public)


@pytest.mark.parametrize(
    ("public_key", "reason"),
    [(bytes(31), "32 raw bytes, got 31 bytes"), ("z6Mk", "32 raw bytes, got str")],
)
def test_the_public_key_is_32_raw_bytes(
    signed: tuple[dict[str, Any], dict[str, Any]], public_key: object, reason: str
) -> None:
    with pytest.raises(di.SignatureError, match=reason):
        di.verify(signed[0], signed[1], public_key)  # type: ignore[arg-type]


def test_documents_with_a_proof_or_without_the_suite_context_are_refused(
    key: Ed25519PrivateKey, public: bytes, signed: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    credential, proof = signed
    with pytest.raises(di.SignatureError, match="without its 'proof'"):
        di.sign({**credential, "proof": []}, key, method_of(credential))
    with pytest.raises(di.SignatureError, match="without its 'proof'"):
        di.verify(di.add_proof(credential, proof), proof, public)
    old = {**credential, "@context": ["https://www.w3.org/2018/credentials/v1"]}
    with pytest.raises(di.SignatureError, match=r"names neither https://www\.w3\.org/ns/credentials/v2"):
        di.sign(old, key, method_of(credential))
    with pytest.raises(di.SignatureError, match="is a JSON object, got list"):
        di.verify([credential], proof, public)  # type: ignore[arg-type]
    with pytest.raises(di.SignatureError, match="a proof is a JSON object, got str"):
        di.verify(credential, "proof", public)  # type: ignore[arg-type]


def test_sign_refuses_bad_arguments(key: Ed25519PrivateKey, credentials: list[dict[str, Any]]) -> None:
    credential = credentials[0]
    with pytest.raises(di.SignatureError, match="timezone-aware"):
        di.sign(credential, key, method_of(credential), created=datetime(2025, 1, 1))
    with pytest.raises(di.SignatureError, match="needs an Ed25519 private key, got bytes"):
        di.sign(credential, bytes(32), method_of(credential))  # type: ignore[arg-type]
    with pytest.raises(di.SignatureError, match="verificationMethod 'did:web:a b#k' is not an absolute IRI"):
        di.sign(credential, key, "did:web:a b#k")


# -- safe mode: what plain pyld would sign although a reader sees something else --------------------------


def plain_pyld(document: dict[str, Any]) -> str:
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": jsonld.document_loader}
    result: str = pyld_jsonld.normalize(document, options)
    return result


def test_an_undefined_term_fails_signing_and_verifying(
    key: Ed25519PrivateKey, public: bytes, credentials: list[dict[str, Any]]
) -> None:
    credential = credentials[0]
    extra = {**credential, "grade": "A+"}
    # plain pyld drops the term: a signature would not cover it, and adding it afterwards would go unnoticed
    assert plain_pyld(extra) == plain_pyld(credential)
    with pytest.raises(di.SignatureError, match="document: /grade: 'grade' is not defined by the @context"):
        di.sign(extra, key, method_of(credential))
    proof = di.sign(credential, key, method_of(credential), created=CREATED)
    with pytest.raises(di.SignatureError, match="'grade' is not defined by the @context"):
        di.verify(extra, proof, public)
    nested = copy.deepcopy(credential)
    nested["credentialSubject"]["achievement"]["euMicroCredential"]["grade"] = "A+"
    with pytest.raises(di.SignatureError, match="/credentialSubject/achievement/euMicroCredential/grade"):
        di.verify(nested, proof, public)


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        # pyld would resolve these against http://example.org/base/ where jsonld refuses them
        (("id",), "credential-7", "'credential-7' is not an absolute IRI"),
        (("credentialSubject", "id"), "learner", "'learner' is not an absolute IRI"),
        (("credentialSubject", "achievement", "resultDescription", 0, "id"), "#grade", "is not an absolute IRI"),
        (("type", 1), "NotAType", "type 'NotAType' is not an absolute IRI"),
        # N-Quads injection: an IRI with a space or '>' would write other quads
        (("id",), "urn:a> <urn:b", "holds a character an IRI may not contain"),
        (("issuer", "id"), "did:web:a b", "holds a character an IRI may not contain"),
        # written differently by pyld and by RDFC-1.0 implementations
        (("name",), "bell\x07", "control character U\\+0007"),
        (("name",), "form\x0cfeed", "control character U\\+000C"),
        (("credentialSubject", "@foo"), "x", "'@foo' is not defined by the @context"),
    ],
)
def test_safe_mode_refusals(
    key: Ed25519PrivateKey, credentials: list[dict[str, Any]], path: tuple[Any, ...], value: Any, reason: str
) -> None:
    credential = copy.deepcopy(credentials[1])
    target: Any = credential
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(di.SignatureError, match=reason):
        di.sign(credential, key, "did:web:issuer.example#key-1")
    with pytest.raises(rdfc.UnsafeJsonLdError, match=reason):
        rdfc.canonize_reference(credential)


def test_a_context_that_redefines_a_protected_term_is_refused(
    key: Ed25519PrivateKey, credentials: list[dict[str, Any]]
) -> None:
    # "name" is protected by the VC 2.0 context: mapping it elsewhere would change what a signature says
    credential = {**credentials[1], "@context": [*credentials[1]["@context"], {"name": "https://evil.example/name"}]}
    with pytest.raises(di.SignatureError, match="protected term redefinition"):
        di.sign(credential, key, method_of(credential))


def test_plain_pyld_signs_a_relative_iri_as_an_example_org_one(credentials: list[dict[str, Any]]) -> None:
    credential = {**credentials[1], "id": "credential-7"}
    assert "<http://example.org/base/credential-7>" in plain_pyld(credential)


def test_tab_newline_return_quote_and_backslash_are_escaped_as_everywhere(
    key: Ed25519PrivateKey, public: bytes, credentials: list[dict[str, Any]]
) -> None:
    credential = {**credentials[2], "name": 'a\tb\nc\rd"e\\f\u2028g'}
    assert '"a\\tb\\nc\\rd\\"e\\\\f\u2028g"' in di.canonize(credential)
    assert di.canonize(credential) == di.canonize_reference(credential)
    di.verify(credential, di.sign(credential, key, method_of(credential)), public)


def test_a_lone_surrogate_cannot_be_signed(key: Ed25519PrivateKey, credentials: list[dict[str, Any]]) -> None:
    credential = {**credentials[2], "name": "half \ud800"}
    with pytest.raises(di.SignatureError, match="lone surrogate"):
        di.sign(credential, key, method_of(credential))


def test_an_unknown_context_is_refused_not_fetched(key: Ed25519PrivateKey, credentials: list[dict[str, Any]]) -> None:
    credential = {**credentials[0], "@context": [*credentials[0]["@context"], "https://example.org/ctx.jsonld"]}
    with pytest.raises(di.SignatureError, match=r"https://example.org/ctx.jsonld.* is not one anchor ships"):
        di.sign(credential, key, method_of(credential))


def test_did_key_methods_sign_and_verify(
    key: Ed25519PrivateKey, public: bytes, credentials: list[dict[str, Any]]
) -> None:
    method = did_key_verification_method(public)
    proof = di.sign(credentials[3], key, method, created=CREATED)
    assert proof["verificationMethod"] == method
    di.verify(credentials[3], proof, public)


def test_signature_error_is_bad_input() -> None:
    assert issubclass(di.SignatureError, InvalidInputError)
    assert issubclass(rdfc.UnsafeJsonLdError, InvalidInputError)
