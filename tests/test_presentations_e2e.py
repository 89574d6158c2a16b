"""Issue 12, selective disclosure, end to end on anvil and on the command line.

An issuer signing with its did:key issues v3 credentials (`anchor issue`) and anchors them (`anchor batch run`);
the learner makes a presentation withholding the grade and the identifiers (`anchor present`); `anchor verify`
and ``POST /verify`` say VALID, show the withheld fields as withheld, and say the signature cannot be checked
on a presentation; a tampered presentation is INVALID; a presentation that withholds a required element is
INVALID, naming it; bad input is refused with exit code 2.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from anchor.chain.keys import development_accounts
from anchor.cli import main
from anchor.config import Settings
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.verifier import trusted_from_deployments
from anchor.web.app import WebConfig, create_app

ISSUER = issuer_for_country("PT")
HIDE = [
    "--hide",
    "credentialSubject.identifier",
    "--hide",
    "credentialSubject.result",
    "--hide",
    "credentialSubject.id",
]


class World:
    def __init__(self, settings: Settings, folder: Path) -> None:
        self.settings = settings
        self.folder = folder
        self.env = {
            "ANCHOR_HOME": str(settings.home),
            "ANCHOR_NODE_PORT": str(settings.node_port),
            "ANCHOR_KEY_PASSWORD": "learner-side test key",
        }

    def anchor(self, *args: str | Path) -> Result:
        return CliRunner().invoke(main, [str(arg) for arg in args], env=self.env, catch_exceptions=False)

    def verify(self, *args: str | Path) -> Result:
        return self.anchor("--home", self.settings.home, "verify", *args)


@pytest.fixture(scope="module")
def world(anvil: Settings, tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("presentations")
    world = World(anvil, folder)
    deployed = world.anchor("deploy")
    assert deployed.exit_code == 0, deployed.output
    created = world.anchor("did", "key", "create", "--did-key")
    assert created.exit_code == 0, created.output
    did = json.loads(world.anchor("did", "show", "--json").output)["did"]
    signer = development_accounts()[1].address
    registered = world.anchor(
        "issuer", "register", "--name", ISSUER.name, "--country", "PT", "--uri", did, "--signer", signer
    )
    assert registered.exit_code == 0, registered.output
    inbox = folder / "inbox"
    inbox.mkdir()
    for number, credential in enumerate(generate_credentials(2, seed=1212, issuer=ISSUER, issuer_did=did)):
        (inbox / f"{number}.json").write_text(json.dumps(credential, ensure_ascii=False), encoding="utf-8")
    issued = world.anchor("issue", inbox)
    assert issued.exit_code == 0, issued.output
    ran = world.anchor("batch", "run", "--dev-account", "1")
    assert ran.exit_code == 0, ran.output
    return world


def receipts(world: World) -> list[Path]:
    (batch,) = sorted((world.settings.home / "receipts" / "31337").glob("batch-*"))
    return sorted(batch.glob("*.json"))


def present(world: World, receipt: Path, name: str, *options: str) -> Path:
    out = world.folder / name
    made = world.anchor("present", receipt, *options, "--out", out)
    assert made.exit_code == 0, made.output
    return out


def scalars(node: object) -> list[object]:
    """Every string, number, boolean and null in a JSON value."""
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in scalars(value)]
    if isinstance(node, list):
        return [leaf for value in node for leaf in scalars(value)]
    return [node]


def test_a_presentation_hiding_the_grade_and_identifiers_verifies_on_the_command_line(world: World) -> None:
    receipt = receipts(world)[0]
    document = json.loads(receipt.read_text(encoding="utf-8"))
    assert document["anchorFormat"] == "anchor-credential-v3"
    assert document["proof"][-1]["format"] == "anchor-receipt-v3"
    assert world.verify(receipt).exit_code == 0  # the receipt itself, signature included
    shown = present(world, receipt, "hidden.json", *HIDE)
    presentation = json.loads(shown.read_text(encoding="utf-8"))
    text = json.dumps(presentation, ensure_ascii=False)
    assert "anchorSalt" not in text
    assert document["anchorSalt"] not in text
    for identifier in document["credentialSubject"]["identifier"]:
        assert identifier["identityHash"] not in text
    # The grade as a JSON value, not as a substring: a grade of "17" is in a proof created at 17:xx.
    grade = document["credentialSubject"]["result"][0]["value"]
    shown_credential = presentation["credential"]
    assert "result" not in shown_credential["credentialSubject"]
    assert grade not in scalars(shown_credential)
    assert json.dumps(grade, ensure_ascii=False) not in json.dumps(shown_credential, ensure_ascii=False)

    verdict = world.verify(shown)
    assert verdict.exit_code == 0, verdict.output
    assert "VALID" in verdict.output
    assert "withheld: credentialSubject.id, credentialSubject.identifier, credentialSubject.result" in verdict.output
    assert "proven by its anchoring" in verdict.output
    as_json = json.loads(world.verify(shown, "--json").output)
    assert as_json["verdict"] == "VALID"
    assert as_json["credential"]["withheld"] == [
        "credentialSubject.id",
        "credentialSubject.identifier",
        "credentialSubject.result",
    ]
    assert as_json["credential"]["learner"] is None
    assert as_json["credential"]["grade"] is None


def test_a_tampered_presentation_is_invalid(world: World) -> None:
    shown = present(world, receipts(world)[0], "to-tamper.json", *HIDE)
    presentation = json.loads(shown.read_text(encoding="utf-8"))
    tampered = copy.deepcopy(presentation)
    tampered["credential"]["credentialSubject"]["achievement"]["name"] += " (Honours)"
    path = world.folder / "tampered.json"
    path.write_text(json.dumps(tampered, ensure_ascii=False), encoding="utf-8")
    verdict = world.verify(path)
    assert verdict.exit_code == 1, verdict.output
    assert "TAMPERED" in verdict.output

    # another learner's grade, with its salt, in this learner's presentation: not proven
    other = json.loads(
        present(world, receipts(world)[1], "other.json", "--hide", "credentialSubject.identifier").read_text()
    )
    grafted = copy.deepcopy(presentation)
    grafted["credential"]["credentialSubject"]["result"] = other["credential"]["credentialSubject"]["result"]
    for pointer, salt in other["disclosedSalts"].items():
        if pointer.startswith("/credentialSubject/result/"):
            grafted["disclosedSalts"][pointer] = salt
            grafted["withheld"].pop(pointer, None)
    path.write_text(json.dumps(grafted, ensure_ascii=False), encoding="utf-8")
    assert world.verify(path).exit_code == 1


def test_a_required_element_that_is_withheld_makes_it_invalid_naming_it(world: World) -> None:
    receipt = receipts(world)[0]
    title = present(world, receipt, "no-title.json", "--hide", "credentialSubject.achievement.name")
    verdict = world.verify(title)
    assert verdict.exit_code == 1, verdict.output
    assert "/credentialSubject/achievement/name is withheld" in verdict.output
    # the verifier may ask for less, or for more
    assert world.verify(title, "--require", "validFrom").exit_code == 0
    grade = present(world, receipt, "no-grade.json", "--hide", "credentialSubject.result")
    asked = world.verify(grade, "--require", "credentialSubject.result")
    assert asked.exit_code == 1
    assert "/credentialSubject/result is withheld" in asked.output
    # --disclose keeps what every verifier needs, so the title alone is enough when that is all that is asked
    only = present(world, receipt, "only-title.json", "--disclose", "credentialSubject.achievement.name")
    assert world.verify(only, "--require", "credentialSubject.achievement.name").exit_code == 0
    assert world.verify(only).exit_code == 1  # the default asks for every mandatory Annex I element


def test_bad_input_is_refused_with_exit_code_2(world: World) -> None:
    receipt = receipts(world)[0]
    unknown = world.anchor("present", receipt, "--hide", "credentialSubject.grade")
    assert unknown.exit_code == 2
    assert "--hide credentialSubject.grade: the credential has no claim at /credentialSubject/grade" in unknown.output
    both = world.anchor("present", receipt)
    assert both.exit_code == 2
    presentation = json.loads(present(world, receipt, "for-bad.json", *HIDE).read_text(encoding="utf-8"))
    pointer = next(iter(presentation["withheld"]))
    cases: dict[str, Any] = {
        "short-commitment": {**presentation, "withheld": {**presentation["withheld"], pointer: "0x" + "ab" * 31}},
        "duplicated-path": {
            **presentation,
            "withheld": {**presentation["withheld"], "/issuer/id": "0x" + "ab" * 32},
        },
        "master-salt": {**presentation, "credential": {**presentation["credential"], "anchorSalt": "0x" + "00" * 32}},
        "unknown-format": {**presentation, "format": "anchor-presentation-v7"},
    }
    for name, document in cases.items():
        path = world.folder / f"bad-{name}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        verdict = world.verify(path)
        assert verdict.exit_code == 2, (name, verdict.output)
        assert "VALID" not in verdict.output.replace("INVALID", ""), name
    assert "31 bytes" in world.verify(world.folder / "bad-short-commitment.json").output
    assert "duplicated claim path" in world.verify(world.folder / "bad-duplicated-path.json").output


def test_the_api_verifies_a_presentation_and_takes_require(world: World) -> None:
    shown = present(world, receipts(world)[1], "api.json", *HIDE)
    config = WebConfig(
        rpc_urls=[f"http://127.0.0.1:{world.settings.node_port}"],
        trusted=trusted_from_deployments(world.settings.deployments_dir),
    )
    body = shown.read_bytes()
    headers = {"Content-Type": "application/json"}
    with TestClient(create_app(config)) as client:
        answer = client.post("/verify", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["verdict"] == "VALID", result
        assert "credentialSubject.result" in result["credential"]["withheld"]
        signature = next(check for check in result["checks"] if check["name"] == "signature")
        assert "proven by its anchoring" in signature["reason"]
        asked = client.post("/verify", params={"require": "credentialSubject.result"}, content=body, headers=headers)
        assert asked.status_code == 200, asked.text
        assert asked.json()["verdict"] == "INVALID"
        tampered = json.loads(body)
        tampered["credential"]["validFrom"] = "2020-01-01T00:00:00Z"
        answer = client.post("/verify", json=tampered)
        assert answer.json()["verdict"] == "INVALID"
        answer = client.post("/verify", json={**tampered, "withheld": {"/x": "0x12"}})
        assert answer.status_code == 422
        assert answer.json()["verdict"] == "ERROR"
