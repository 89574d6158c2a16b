"""Issue 11: Annex I of the Council Recommendation as written, and the schema of ``anchor-credential-v2``.

Annex I (2022/C 243/02) makes the level mandatory only "if applicable" and asks for the notional workload
in ECTS "wherever possible": a credential without an EQF level, or with its workload in hours alone, is
accepted (and the verifier says "no ECTS"); every other mandatory element stays mandatory. The same schema
reads v2: its own contexts and a ``BitstringStatusListEntry``. ``anchor issue`` refuses a credential whose
validity period already ended.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from anchor.cli import main
from anchor.credentials import (
    CONTEXTS,
    CONTEXTS_V2,
    FORMAT_V1,
    FORMAT_V2,
    FORMAT_V3,
    KNOWN_FORMATS,
    credential_schema,
    parse_credential,
    validate_credential,
)
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.model import CONTEXTS_BY_FORMAT
from anchor.credentials.schema import _explaining_validator, _fast_validator
from anchor.credentials.status_list import StatusListError, parse_status_entry
from anchor.errors import CredentialValidationError, FieldProblem, UnknownFormatError
from anchor.issuing.store import Store
from anchor.verifier.presentation import summarize

from support.fake_chain import FakeChain, FakeEndpoint

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "credentials"
ACH = "/credentialSubject/achievement"
EU = f"{ACH}/euMicroCredential"
STATUS = {
    "id": "https://university.example/status/1#4711",
    "type": "BitstringStatusListEntry",
    "statusPurpose": "revocation",
    "statusListIndex": "4711",
    "statusListCredential": "https://university.example/status/1",
}
DI_PROOF = {
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-rdfc-2022",
    "created": "2025-06-27T14:00:00Z",
    "verificationMethod": "did:key:z6MkExample#z6MkExample",
    "proofPurpose": "assertionMethod",
    "proofValue": "z3FXQ",
}


@pytest.fixture
def minimal() -> dict[str, Any]:
    """The example with the mandatory elements only (ECTS credits and an EQF level)."""
    return parse_credential((EXAMPLES / "fr-cybersecurite-industrielle.json").read_bytes())


def problems_of(credential: dict[str, Any]) -> list[FieldProblem]:
    with pytest.raises(CredentialValidationError) as info:
        validate_credential(credential)
    return info.value.problems


def hours_only(credential: dict[str, Any], hours: float = 80) -> dict[str, Any]:
    """``credential`` with its workload in hours alone: no ECTS credits, no credit system."""
    changed = copy.deepcopy(credential)
    achievement = changed["credentialSubject"]["achievement"]
    del achievement["creditsAvailable"]
    del achievement["euMicroCredential"]["creditSystem"]
    achievement["euMicroCredential"]["workloadHours"] = hours
    changed["credentialSubject"].pop("creditsEarned", None)
    return changed


def as_v2(credential: dict[str, Any], **extra: Any) -> dict[str, Any]:
    changed = copy.deepcopy(credential)
    changed["anchorFormat"] = FORMAT_V2
    changed["@context"] = list(CONTEXTS_V2)
    changed.update(extra)
    return changed


# ------------------------------------------------------------------------------------------ Annex I as written


def test_a_credential_without_a_level_is_accepted(minimal: dict[str, Any]) -> None:
    """Level (EQF, QF-EHEA) "if applicable": not every learning experience has one."""
    del minimal["credentialSubject"]["achievement"]["euMicroCredential"]["eqfLevel"]
    validate_credential(minimal)
    assert summarize(minimal).eqf_level is None


def test_a_workload_in_hours_alone_is_accepted_and_stated_as_such(minimal: dict[str, Any]) -> None:
    """Notional workload "in ECTS, wherever possible": hours when no ECTS applies."""
    credential = hours_only(minimal)
    validate_credential(credential)
    summary = summarize(credential)
    assert (summary.ects, summary.workload_hours, summary.workload) == (None, 80, "80 hours (no ECTS)")
    assert summary.to_json()["workload"] == "80 hours (no ECTS)"
    assert summary.to_json()["workloadHours"] == 80
    ects = summarize(minimal)
    assert (ects.ects, ects.workload) == (3, "3 ECTS")
    minimal["credentialSubject"]["achievement"]["euMicroCredential"]["workloadHours"] = 80
    assert summarize(minimal).workload == "3 ECTS (80 hours)"


def test_a_credential_with_no_workload_at_all_is_refused_naming_the_hours(minimal: dict[str, Any]) -> None:
    credential = hours_only(minimal)
    del credential["credentialSubject"]["achievement"]["euMicroCredential"]["workloadHours"]
    (problem,) = problems_of(credential)
    assert problem.path == f"{EU}/workloadHours"
    assert problem.message.startswith("is missing (required: EU element 'notional workload'")
    assert "creditsAvailable" in problem.message


def test_ects_credits_and_their_unit_go_together(minimal: dict[str, Any]) -> None:
    no_unit = copy.deepcopy(minimal)
    del no_unit["credentialSubject"]["achievement"]["euMicroCredential"]["creditSystem"]
    assert [(p.path, p.message[:10]) for p in problems_of(no_unit)] == [(f"{EU}/creditSystem", "is missing")]
    no_credits = copy.deepcopy(minimal)
    del no_credits["credentialSubject"]["achievement"]["creditsAvailable"]
    no_credits["credentialSubject"]["achievement"]["euMicroCredential"]["workloadHours"] = 80
    (problem,) = problems_of(no_credits)  # a unit stated without credits: the credits are missing
    assert (problem.path, problem.message[:10]) == (f"{ACH}/creditsAvailable", "is missing")


def test_ects_earned_without_ects_available_is_refused(minimal: dict[str, Any]) -> None:
    credential = hours_only(minimal)
    credential["credentialSubject"]["creditsEarned"] = 3
    (problem,) = problems_of(credential)
    assert problem.path == "/credentialSubject/creditsEarned"
    assert "no creditsAvailable" in problem.message


#: Every other mandatory element of Annex I, and the field that carries it.
ANNEX_MANDATORY = {
    "identification of the learner": "/credentialSubject/id",
    "identification of the learner (name)": "/credentialSubject/identifier",
    "title of the micro-credential": f"{ACH}/name",
    "country of the issuer": "/issuer/address/addressCountryCode",
    "awarding body": "/issuer/name",
    "date of issuing": "/validFrom",
    "learning outcomes": f"{EU}/learningOutcomes",
    "learning outcomes (narrative)": f"{ACH}/criteria",
    "type of assessment": f"{EU}/assessment",
    "form of participation": f"{EU}/participation",
    "type of quality assurance": f"{EU}/qualityAssurance",
}


@pytest.mark.parametrize("pointer", ANNEX_MANDATORY.values(), ids=ANNEX_MANDATORY.keys())
@pytest.mark.parametrize("workload", ["ects", "hours"])
def test_every_other_annex_element_stays_mandatory(minimal: dict[str, Any], pointer: str, workload: str) -> None:
    credential = hours_only(minimal) if workload == "hours" else minimal
    parent: Any = credential
    parts = pointer.strip("/").split("/")
    for part in parts[:-1]:
        parent = parent[part]
    del parent[parts[-1]]
    (problem,) = problems_of(credential)
    assert (problem.path, problem.message[:10]) == (pointer, "is missing")


# ------------------------------------------------------------------------------------------ the v2 format


def test_the_schema_names_the_formats_and_contexts_of_the_model() -> None:
    schema = credential_schema()
    assert set(schema["properties"]["anchorFormat"]["enum"]) == KNOWN_FORMATS
    (branch,) = schema["allOf"]
    assert branch["if"]["properties"]["anchorFormat"]["enum"] == [FORMAT_V2, FORMAT_V3]
    for version, node in ((FORMAT_V2, branch["then"]), (FORMAT_V3, branch["then"]), (FORMAT_V1, branch["else"])):
        third = node["properties"]["@context"]["prefixItems"][2]["const"]
        fixed = [item["const"] for item in schema["properties"]["@context"]["prefixItems"][:2]]
        assert (*fixed, third) == CONTEXTS_BY_FORMAT[version]


def test_a_v2_credential_with_a_status_entry_and_proofs_is_accepted(minimal: dict[str, Any]) -> None:
    validate_credential(as_v2(minimal))
    validate_credential(as_v2(minimal, credentialStatus=STATUS, proof=[DI_PROOF]))
    validate_credential(as_v2(minimal, credentialStatus=STATUS, proof=DI_PROOF))
    validate_credential(as_v2(hours_only(minimal), credentialStatus=STATUS))


def test_each_format_requires_its_own_extension_context(minimal: dict[str, Any]) -> None:
    v2_with_v1_context = as_v2(minimal)
    v2_with_v1_context["@context"] = list(CONTEXTS)
    (problem,) = problems_of(v2_with_v1_context)
    assert problem.path == "/@context/2"
    assert CONTEXTS_V2[2] in problem.message
    v1_with_v2_context = copy.deepcopy(minimal)
    v1_with_v2_context["@context"] = list(CONTEXTS_V2)
    (problem,) = problems_of(v1_with_v2_context)
    assert problem.path == "/@context/2"
    assert CONTEXTS[2] in problem.message
    with pytest.raises(UnknownFormatError, match="anchor-credential-v2 "):
        validate_credential(as_v2(minimal, anchorFormat=FORMAT_V2 + " "))


BAD_STATUS = [
    ("type", "StatusList2021Entry", "/credentialStatus/type", 'must be "BitstringStatusListEntry"'),
    ("statusPurpose", "suspension", "/credentialStatus/statusPurpose", 'must be "revocation"'),
    ("statusListIndex", 4711, "/credentialStatus/statusListIndex", "expected string, got integer"),
    ("statusListIndex", "-1", "/credentialStatus/statusListIndex", "is not a string of digits"),
    ("statusListIndex", "047", "/credentialStatus/statusListIndex", "is not a string of digits"),
    ("statusListIndex", "1e3", "/credentialStatus/statusListIndex", "is not a string of digits"),
    ("statusListIndex", "", "/credentialStatus/statusListIndex", "is not a string of digits"),
    ("statusListIndex", "1" * 11, "/credentialStatus/statusListIndex", "is not a string of digits"),
    ("statusListIndex", "\u0664\u0667", "/credentialStatus/statusListIndex", "is not a string of digits"),
    ("statusListCredential", "http://university.example/status/1", "/credentialStatus/statusListCredential",
     "is not an https:// URL"),
    ("statusListCredential", "https:// x", "/credentialStatus/statusListCredential", "is not an https:// URL"),
    ("statusListCredential", "https://university.example/status/1#list", "/credentialStatus/statusListCredential",
     "without a fragment"),
    ("id", "not a uri", "/credentialStatus/id", "is not an absolute URI"),
    ("statusSize", 2, "/credentialStatus/statusSize", "unknown property"),
]  # fmt: skip


@pytest.mark.parametrize(("key", "value", "pointer", "message"), BAD_STATUS)
def test_a_bad_v2_status_entry_is_refused_naming_the_field(
    minimal: dict[str, Any], key: str, value: Any, pointer: str, message: str
) -> None:
    credential = as_v2(minimal, credentialStatus={**STATUS, key: value})
    assert not _fast_validator().is_valid(credential)
    assert list(_explaining_validator().iter_errors(credential)), "the explaining engine must agree"
    problems = problems_of(credential)
    assert {problem.path for problem in problems} == {pointer}  # a bad id is also not "<list URL>#<index>"
    assert any(message in problem.message for problem in problems), problems
    assert len(problems) == (2 if key == "id" else 1)
    with pytest.raises(StatusListError):  # what the schema refuses, the status list reader refuses too
        parse_status_entry(credential["credentialStatus"])


@pytest.mark.parametrize("key", sorted(STATUS))
def test_every_field_of_a_v2_status_entry_is_required(minimal: dict[str, Any], key: str) -> None:
    entry = {name: value for name, value in STATUS.items() if name != key}
    (problem,) = problems_of(as_v2(minimal, credentialStatus=entry))
    assert (problem.path, problem.message[:10]) == (f"/credentialStatus/{key}", "is missing")


def test_a_v2_status_entry_is_one_object_and_not_the_list_itself(minimal: dict[str, Any]) -> None:
    (problem,) = problems_of(as_v2(minimal, credentialStatus=[STATUS]))
    assert problem.path == "/credentialStatus"
    assert "expected object, got array" in problem.message
    parse_status_entry(STATUS)


@pytest.mark.parametrize(
    "entry_id",
    [
        STATUS["statusListCredential"],
        "https://university.example/status/1#4712",
        "urn:uuid:1",
        "https://x.example/#4711",
    ],
)
def test_a_v2_status_entry_id_is_its_list_url_and_index(minimal: dict[str, Any], entry_id: str) -> None:
    entry = {**STATUS, "id": entry_id}
    (problem,) = problems_of(as_v2(minimal, credentialStatus=entry))
    assert problem.path == "/credentialStatus/id"
    assert '"https://university.example/status/1#4711"' in problem.message
    with pytest.raises(StatusListError):
        parse_status_entry(entry)


def test_proofs_are_objects_whatever_they_hold(minimal: dict[str, Any]) -> None:
    validate_credential(as_v2(minimal, proof=[{"type": "AnyFutureProof", "anything": [1, {"x": None}]}]))
    (problem,) = problems_of(as_v2(minimal, proof=["z3FXQ"]))
    assert problem.path == "/proof/0"
    (problem,) = problems_of(as_v2(minimal, proof="z3FXQ"))
    assert problem.path == "/proof"


# ------------------------------------------------------------------------------------------ through the CLI


def test_anchor_verify_states_a_workload_in_hours_as_such(tmp_path: Path) -> None:
    issuer = issuer_for_country("DE")
    chain = FakeChain()
    chain.register(1, issuer.name, "DE", issuer.id)
    credential = hours_only(next(generate_credentials(1, seed=5, issuer=issuer)), hours=80)
    (receipt,) = chain.anchor(1, [credential])
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt), encoding="utf-8")
    endpoint = FakeEndpoint(chain)
    try:
        arguments = ["--home", str(tmp_path / "home"), "verify", str(path), "--rpc", endpoint.url]
        result = CliRunner().invoke(main, [*arguments, "--registry", chain.registry])
        as_json = CliRunner().invoke(main, [*arguments, "--registry", chain.registry, "--json"])
    finally:
        endpoint.close()
    # (the verdict is the other checks' business: this is about what the summary line says)
    summary_line = result.output.splitlines()[1]
    assert "Grundlagen" in summary_line, result.output
    assert "workload: 80 hours (no ECTS)" in summary_line
    assert json.loads(as_json.output)["credential"]["workload"] == "80 hours (no ECTS)"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[dict[str, str], Store]]:
    url = f"sqlite:///{tmp_path / 'issuer.db'}"
    store = Store(url)
    yield {"ANCHOR_HOME": str(tmp_path / "home"), "ANCHOR_DATABASE_URL": url}, store
    store.close()


def test_anchor_issue_refuses_a_credential_whose_validity_already_ended(
    database: tuple[dict[str, str], Store], tmp_path: Path
) -> None:
    env, store = database
    good, ended = (parse_credential(json.dumps(item)) for item in generate_credentials(2, seed=9, salted=False))
    yesterday = datetime.now(UTC) - timedelta(days=1)
    ended["validFrom"] = "2025-01-06T09:00:00Z"
    ended["validUntil"] = yesterday.strftime("%Y-%m-%dT%H:%M:%SZ")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a-good.json").write_text(json.dumps(good), encoding="utf-8")
    (folder / "b-ended.json").write_text(json.dumps(ended), encoding="utf-8")
    result = CliRunner().invoke(main, ["issue", "--unsigned", str(folder)], env=env)
    assert result.exit_code == 2, result.output
    assert f"{folder / 'b-ended.json'}: invalid credential (1 problem)" in result.output
    assert f"/validUntil: {yesterday.strftime('%Y-%m-%dT%H:%M:%S')}" in result.output
    assert "already ended" in result.output
    assert "nothing queued" in result.output
    assert store.queued_count() == 0
    assert store.find_credential(good["id"]) is None
    ended["validUntil"] = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (folder / "b-ended.json").write_text(json.dumps(ended), encoding="utf-8")
    accepted = CliRunner().invoke(main, ["issue", "--unsigned", str(folder)], env=env)
    assert accepted.exit_code == 0, accepted.output
    assert store.queued_count() == 2
