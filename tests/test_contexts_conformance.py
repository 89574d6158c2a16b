"""Issue 11: every term of a v2 credential and receipt is defined in JSON-LD, and receipts meet OB 3.0's schema.

- anchor's v2 extension context (``anchor/contexts/credential-v2.jsonld``) defines what VC 2.0 and OB 3.0.3
  do not: ``anchorSalt``, ``anchorFormat``, the EU elements and the ``AnchorMerkleProof`` (inside the
  ``proof`` graph). A full v2 receipt expands with nothing dropped in safe mode, with ``pyld``
  (:mod:`support.jsonld_safe`, pyld 3.3 having no safe mode) and with Digital Bazaar's ``jsonld`` 9
  (``tests/js/jsonld_safe.js``, offline, only the shipped contexts), and both give the same canonical
  N-Quads; a document with an undefined term, today's v1 receipt among them, fails in both.
- The OB 3.0.3 context anchor ships is byte for byte 1EdTech's.
- ``anchor serve`` serves anchor's contexts at their URLs' paths.
- 1EdTech's OB 3.0 AchievementCredential JSON schema (2019-09, formats checked) accepts a v2 receipt and
  refuses a v1 one, whose ``proof`` is an object.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from pyld import jsonld
from pyld.jsonld import JsonLdError

from anchor.credentials.examples import generate_credentials
from anchor.credentials.jsonld import EXTENSION_CONTEXTS, context_document, document_loader, known_context_urls
from anchor.credentials.model import EXTENSION_CONTEXT_V2, FORMAT_V1, FORMAT_V2, OB_CONTEXT, VC_CONTEXT
from anchor.credentials.receipt import AnchorProof, make_receipt
from anchor.web import WebConfig, create_app

from support.jsonld_safe import UnsafeJsonLdError, safe_expand
from support.ob_schema import SCHEMA_PATH, validate_ob_achievement_credential
from support.prerequisites import missing

TESTS = Path(__file__).resolve().parent
SAFE_SCRIPT = TESTS / "js" / "jsonld_safe.js"
SCHEMAS = TESTS.parent / "src" / "anchor" / "credentials" / "schemas"
VOCAB = "https://w3id.org/anchor/vocab#"
#: 1EdTech's ob_v3p0/context-3.0.3.json (github.com/1EdTech/openbadges-specification, last changed in
#: commit 74da24dd031d5ca56fbe08e8784354b516d5aa86, the same at 1af145ff2dc6e22627e79eb5d0f9afca06ea2489).
OB_CONTEXT_SHA256 = "ef2fa9c7846dce233cc166b43639027278be4ee44f00bb1d45c75de2dd0cd761"

#: The W3C Data Integrity EdDSA test vector's key, as a did:key (the proof below is shaped, not signed:
#: neither JSON-LD expansion nor the JSON schema checks a signature).
KEY = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
DID = f"did:key:{KEY}"
DATA_INTEGRITY_PROOF = {
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-rdfc-2022",
    "created": "2025-06-27T14:00:00Z",
    "verificationMethod": f"{DID}#{KEY}",
    "proofPurpose": "assertionMethod",
    "proofValue": "z2YwC8z3ap7yx1nZYCg4L3j3ApHsF8kgPdSb5xoS1VR7vPG3F561B52hYnQF9iseabecm3ijx4K1FBTQsCZahKZme",
}
ANCHORING = AnchorProof(
    chain_id=137,
    registry="0x5FbDB2315678afecb367f032d93F642f64180aa3",
    batch_id=42,
    issuer_id=3,
    index=17,
    digest="0x" + "1f" * 32,
    merkle_proof=("0x" + "2e" * 32, "0x" + "3d" * 32, "0x" + "4c" * 32),
    root="0x" + "5b" * 32,
    transaction_hash="0x" + "6a" * 32,
    block_number=61_234_567,
    anchored_at=datetime(2025, 6, 27, 14, 30, 5, tzinfo=UTC),
)


def with_every_eu_element(credential: dict[str, Any]) -> dict[str, Any]:
    """``credential`` with every optional EU element of Annex I filled in (and a validity period)."""
    achievement = credential["credentialSubject"]["achievement"]
    eu = achievement["euMicroCredential"]
    base = achievement["id"]
    eu.update(
        {
            "eqfLevel": 6,
            "nqf": {"framework": "CEC (Cadre national des certifications professionnelles)", "level": "6"},
            "qfEheaCycle": "first",
            "workloadHours": 62.5,
            "prerequisites": "A first course in economics, or two years of professional experience.",
            "supervision": "supervised-onsite-identity-verification",
            "stackability": {
                "mode": "stackable",
                "towards": "Licence professionnelle Économie circulaire",
                "towardsUrl": f"{base}/licence",
            },
            "furtherInformation": "Offered twice a year; taught in French, assessed in French or English.",
        }
    )
    eu["qualityAssurance"]["url"] = "https://www.hceres.fr/en"
    credential["validUntil"] = "2030-06-27T23:59:59Z"
    return credential


def v2_credential(seed: int = 11) -> dict[str, Any]:
    """A salted v2 credential as intake leaves it: status entry, then the issuer's Data Integrity proof."""
    credential = with_every_eu_element(next(generate_credentials(1, seed, credential_format=FORMAT_V2, issuer_did=DID)))
    credential["credentialStatus"] = {
        "id": "https://credentials.universite-rhone-alpes.example/status/1#4711",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "4711",
        "statusListCredential": "https://credentials.universite-rhone-alpes.example/status/1",
    }
    credential["proof"] = [dict(DATA_INTEGRITY_PROOF)]
    return credential


def v2_receipt(seed: int = 11) -> dict[str, Any]:
    """A full v2 receipt: proof = [the issuer's DataIntegrityProof, the AnchorMerkleProof]."""
    receipt = make_receipt(v2_credential(seed), ANCHORING)
    assert [proof["type"] for proof in receipt["proof"]] == ["DataIntegrityProof", "AnchorMerkleProof"]
    return receipt


def v1_receipt(seed: int = 11) -> dict[str, Any]:
    """Today's receipt: a v1 credential, its ``proof`` the AnchorMerkleProof object."""
    receipt = make_receipt(
        with_every_eu_element(next(generate_credentials(1, seed, credential_format=FORMAT_V1))), ANCHORING
    )
    assert isinstance(receipt["proof"], dict)
    return receipt


def _eu(document: dict[str, Any]) -> dict[str, Any]:
    eu: dict[str, Any] = document["credentialSubject"]["achievement"]["euMicroCredential"]
    return eu


def _undefined_top_level(document: dict[str, Any]) -> None:
    document["anchorBatch"] = 42


def _undefined_in_anchoring_proof(document: dict[str, Any]) -> None:
    document["proof"][1]["leafHash"] = "0x" + "00" * 32


def _undefined_in_data_integrity_proof(document: dict[str, Any]) -> None:
    document["proof"][0]["signedBy"] = DID


def _undefined_in_eu_elements(document: dict[str, Any]) -> None:
    _eu(document)["workloadEcts"] = 2


def _undefined_in_nested_eu_element(document: dict[str, Any]) -> None:
    _eu(document)["qualityAssurance"]["agency"] = "Hcéres"


def _undefined_proof_type(document: dict[str, Any]) -> None:
    document["proof"][1]["type"] = "AnchorProof"


def _undefined_status_term(document: dict[str, Any]) -> None:
    document["credentialStatus"]["statusList"] = "1"


def _relative_subject_id(document: dict[str, Any]) -> None:
    document["credentialSubject"]["id"] = "learner-17"


def _v1_receipt(document: dict[str, Any]) -> None:
    document.clear()
    document.update(v1_receipt())


def _proof_with_only_an_id(document: dict[str, Any]) -> None:
    document["proof"].append({"id": "urn:uuid:5b7d1a6e-9c1f-4b8e-8f00-3c2d1e0f4a5b"})


def _empty_proof(document: dict[str, Any]) -> None:
    document["proof"].append({})


def _relative_url(document: dict[str, Any]) -> None:
    _eu(document)["stackability"]["towardsUrl"] = "licence-pro"


_DROPPED = "invalid property"
#: Documents that lose something on expansion, or keep a relative IRI: name -> (how the v2 receipt is
#: changed, a word pyld's error names, the code of jsonld.js's safe-mode event).
UNSAFE: dict[str, tuple[Any, str, str]] = {
    "undefined top-level term": (_undefined_top_level, "anchorBatch", _DROPPED),
    "undefined term in the anchoring proof": (_undefined_in_anchoring_proof, "leafHash", _DROPPED),
    "undefined term in the Data Integrity proof": (_undefined_in_data_integrity_proof, "signedBy", _DROPPED),
    "undefined EU element": (_undefined_in_eu_elements, "workloadEcts", _DROPPED),
    "undefined term in a nested EU element": (_undefined_in_nested_eu_element, "agency", _DROPPED),
    "undefined proof type": (_undefined_proof_type, "AnchorProof", _DROPPED),
    "undefined term in the status entry": (_undefined_status_term, "statusList", _DROPPED),
    "today's v1 receipt (AnchorMerkleProof undefined in the v1 context)": (_v1_receipt, "AnchorMerkleProof", _DROPPED),
    "a relative @id": (_relative_subject_id, "learner-17", "relative @id reference"),
    "a relative IRI value": (_relative_url, "licence-pro", "relative object reference"),
    "a proof with only an id": (_proof_with_only_an_id, "only an @id", "object with only @id"),
    "an empty proof": (_empty_proof, "an object with nothing", "empty object"),
}


def unsafe_document(name: str) -> dict[str, Any]:
    document = v2_receipt()
    UNSAFE[name][0](document)
    return document


def protected_redefinition() -> dict[str, Any]:
    """A v2 receipt whose own inline context tries to give ``anchorSalt`` another meaning."""
    document = v2_receipt()
    document["@context"] = [*document["@context"], {"anchorSalt": "https://attacker.example/salt"}]
    return document


# ------------------------------------------------------------------------------------------- the context


def test_v2_context_is_shipped_named_by_its_url_and_answered_by_the_loader() -> None:
    assert EXTENSION_CONTEXT_V2 in known_context_urls()
    for url, name in EXTENSION_CONTEXTS.items():
        assert urlsplit(url).path.rsplit("/", 1)[1] == name
        assert resources.files("anchor.contexts").joinpath(name).is_file()
    assert document_loader(EXTENSION_CONTEXT_V2)["document"] == context_document(EXTENSION_CONTEXT_V2)


def test_v2_context_defines_only_what_vc_and_ob_lack() -> None:
    """No top-level term of VC 2.0 or OB 3.0.3 is redefined (``inLanguage`` is OB's; a different definition of
    a protected term would be an error, an identical one is noise)."""
    ours = set(context_document(EXTENSION_CONTEXT_V2)["@context"]) - {"@protected"}
    assert ours == {"anchorFormat", "anchorSalt", "euMicroCredential", "AnchorMerkleProof"}
    for url in (VC_CONTEXT, OB_CONTEXT):
        assert ours.isdisjoint(context_document(url)["@context"]), url
    assert "inLanguage" in context_document(OB_CONTEXT)["@context"]


def _schema_paths(schema: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for name, sub in schema.get("properties", {}).items():
        paths.add(prefix + name)
        if isinstance(sub, dict):
            paths |= _schema_paths(sub, f"{prefix}{name}.")
    return paths


def _document_paths(value: Any, prefix: str = "") -> set[str]:
    if not isinstance(value, dict):
        return set()
    paths = set()
    for name, sub in value.items():
        paths.add(prefix + name)
        paths |= _document_paths(sub, f"{prefix}{name}.")
    return paths


def test_the_receipt_under_test_carries_every_eu_element_the_credential_schemas_know() -> None:
    """So that "nothing dropped" covers each EU element: one added to a schema must be added here too."""
    known: set[str] = set()
    for path in sorted(SCHEMAS.glob("anchor-credential-v*.schema.json")):
        known |= _schema_paths(json.loads(path.read_text(encoding="utf-8"))["$defs"]["euMicroCredential"])
    assert known, "no euMicroCredential in the credential schemas"
    assert known <= _document_paths(_eu(v2_receipt()))


# ------------------------------------------------------------------------------------ safe mode, pyld


def test_pyld_has_no_safe_mode_option_so_an_undefined_term_is_dropped_silently() -> None:
    """Why :mod:`support.jsonld_safe` exists: ``{"safe": True}`` is ignored by pyld 3.3 and loses the term."""
    document = unsafe_document("undefined top-level term")
    expanded = jsonld.expand(document, {"documentLoader": document_loader, "safe": True})
    assert "anchorBatch" not in json.dumps(expanded)


def test_v2_receipt_expands_with_nothing_dropped_in_pyld() -> None:
    expanded = safe_expand(v2_receipt())
    text = json.dumps(expanded)
    for term in ("anchorSalt", "anchorFormat", "euMicroCredential", "stacksTowardsUrl", "furtherInformation"):
        assert f"{VOCAB}{term}" in text, term
    # the anchoring proof is a node of the proof graph, with its type and every field
    graphs = expanded[0]["https://w3id.org/security#proof"]
    nodes = [node for graph in graphs for node in graph["@graph"]]
    anchor = next(node for node in nodes if node.get("@type") == [f"{VOCAB}AnchorMerkleProof"])
    assert anchor[f"{VOCAB}anchoredAt"] == [
        {"@type": "http://www.w3.org/2001/XMLSchema#dateTime", "@value": "2025-06-27T14:30:05Z"}
    ]
    assert len(anchor[f"{VOCAB}merkleProof"][0]["@list"]) == len(ANCHORING.merkle_proof)
    assert len(anchor) == 1 + 12  # @type and the 12 fields after "type"


@pytest.mark.parametrize("name", list(UNSAFE))
def test_an_unsafe_document_fails_pyld_safe_expansion(name: str) -> None:
    with pytest.raises(UnsafeJsonLdError) as raised:
        safe_expand(unsafe_document(name))
    assert UNSAFE[name][1] in str(raised.value)


def test_redefining_a_protected_anchor_term_fails_in_pyld() -> None:
    with pytest.raises(JsonLdError, match="protected"):
        safe_expand(protected_redefinition())


# ---------------------------------------------------------------------------------- safe mode, jsonld.js


@pytest.fixture(scope="module")
def js_results() -> dict[str, dict[str, Any]]:
    """Each case expanded (and canonized) by jsonld.js in safe mode: one node run for the module."""
    if shutil.which("node") is None:
        missing("node is not installed")
    cases = {"v2 receipt": v2_receipt(), "protected redefinition": protected_redefinition()}
    cases |= {name: unsafe_document(name) for name in UNSAFE}
    request = {"extensions": EXTENSION_CONTEXTS, "cases": list(cases.values())}
    completed = subprocess.run(
        ["node", str(SAFE_SCRIPT)], input=json.dumps(request), capture_output=True, text=True, check=True, timeout=60
    )
    results = json.loads(completed.stdout)["results"]
    return dict(zip(cases, results, strict=True))


def test_v2_receipt_expands_with_nothing_dropped_in_jsonld_js(js_results: dict[str, dict[str, Any]]) -> None:
    result = js_results["v2 receipt"]
    assert "error" not in result, result.get("error")
    receipt = v2_receipt()
    assert result["expanded"] == safe_expand(receipt)
    pyld_nquads = jsonld.normalize(
        receipt, {"documentLoader": document_loader, "algorithm": "URDNA2015", "format": "application/n-quads"}
    )
    assert result["nquads"] == pyld_nquads
    assert f"<{VOCAB}AnchorMerkleProof>" in pyld_nquads


@pytest.mark.parametrize("name", list(UNSAFE))
def test_an_unsafe_document_fails_jsonld_js_safe_mode(js_results: dict[str, dict[str, Any]], name: str) -> None:
    result = js_results[name]
    assert result.get("code") == UNSAFE[name][2], result


def test_redefining_a_protected_anchor_term_fails_in_jsonld_js(js_results: dict[str, dict[str, Any]]) -> None:
    assert js_results["protected redefinition"].get("code") == "protected term redefinition"


# ------------------------------------------------------------------------------------- the OB context


def test_shipped_ob_context_is_1edtechs_original() -> None:
    content = resources.files("anchor.contexts").joinpath("vendor", "ob-context-3.0.3.json").read_bytes()
    assert hashlib.sha256(content).hexdigest() == OB_CONTEXT_SHA256


# ------------------------------------------------------------------------------------ anchor serve


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    config = WebConfig(rpc_urls=["http://127.0.0.1:9"], trusted=[ANCHORING.registry], timeout=1)
    with TestClient(create_app(config)) as made:
        yield made


@pytest.mark.parametrize("url", list(EXTENSION_CONTEXTS))
def test_serve_answers_each_anchor_context_at_its_urls_path(client: TestClient, url: str) -> None:
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ld+json"
    assert response.content == resources.files("anchor.contexts").joinpath(EXTENSION_CONTEXTS[url]).read_bytes()
    assert json.loads(response.content) == context_document(url)
    assert "max-age=" in response.headers["cache-control"]
    assert response.headers["access-control-allow-origin"] == "*"
    again = client.get(urlsplit(url).path, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_serve_answers_no_other_context(client: TestClient) -> None:
    assert urlsplit(EXTENSION_CONTEXT_V2).path == "/anchor/contexts/credential-v2.jsonld"
    for path in ("/anchor/contexts/credential-v3.jsonld", "/anchor/contexts/", "/anchor/contexts/vendor/index.json"):
        assert client.get(path).status_code == 404, path


# ------------------------------------------------------------------------------------ OB 3.0 JSON schema


def test_the_ob_schema_is_the_copy_its_readme_names() -> None:
    digest = hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest()
    assert digest in (SCHEMA_PATH.parent / "README.md").read_text(encoding="utf-8")


def test_v2_receipt_passes_1edtechs_ob_achievement_credential_schema() -> None:
    assert validate_ob_achievement_credential(v2_receipt()) == []


def test_v1_receipt_fails_1edtechs_schema_because_its_proof_is_not_an_array() -> None:
    problems = validate_ob_achievement_credential(v1_receipt())
    assert len(problems) == 1
    assert problems[0].startswith("$.proof: ")
    assert problems[0].endswith("is not of type 'array'")


@pytest.mark.parametrize(
    ("field", "value"),
    [("validFrom", "2025-06-27 14:00"), ("validUntil", "2025-02-30T00:00:00Z"), ("validFrom", "27/06/2025")],
)
def test_ob_schema_checks_date_time_formats(field: str, value: str) -> None:
    receipt = v2_receipt()
    receipt[field] = value
    assert validate_ob_achievement_credential(receipt) == [f"$.{field}: {value!r} is not a 'date-time'"]


def test_ob_schema_checks_the_proofs_inside_the_array() -> None:
    receipt = copy.deepcopy(v2_receipt())
    receipt["proof"][0]["created"] = "yesterday"
    del receipt["proof"][1]["type"]
    assert validate_ob_achievement_credential(receipt) == [
        "$.proof[0].created: 'yesterday' is not a 'date-time'",
        "$.proof[1]: 'type' is a required property",
    ]
