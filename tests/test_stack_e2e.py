"""Issue 12, stacks, end to end on anvil: the shipped 15-ECTS certificate made of three 5-ECTS micro-credentials.

Two registered issuers (DE and PL, each signing with its did:key) anchor the parts, DE anchors the certificates
that name them, `anchor stack` bundles, `anchor verify` (and ``POST /verify``) says VALID with 15 ECTS; a revoked
part, another learner's part and a missing part each make the stack INVALID, naming the part.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from anchor.chain.connection import connect, wait_for_block
from anchor.chain.deployments import Deployment, artifact_hash, record_deployment
from anchor.chain.registry import Registry
from anchor.chain.registry_abi import REVOCATION_REASONS
from anchor.cli import main
from anchor.config import Settings
from anchor.credentials.examples.stack import stack_example
from anchor.credentials.multikey import did_key, did_key_verification_method
from anchor.credentials.related import with_parts
from anchor.issuing.signing import IntakeSigner, sign_for_issue
from anchor.verifier import trusted_from_deployments
from anchor.web.app import WebConfig, create_app

from support.browser import chromium, served, verdict_of
from support.verifier_world import DEV, anchor_batch

OTHER_LEARNER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def _signer(seed: int) -> IntakeSigner:
    key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    seed_bytes = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return IntakeSigner(did_key(raw), did_key_verification_method(raw), seed_bytes, datetime(2025, 10, 1, tzinfo=UTC))


def _renamed(credential: dict[str, Any], **subject: Any) -> dict[str, Any]:
    """A copy with a new credential id (and the credentialSubject members given)."""
    other = copy.deepcopy(credential)
    other["id"] = f"urn:uuid:{uuid.uuid4()}"
    other["credentialSubject"].update(subject)
    return other


@dataclass
class StackWorld:
    settings: Settings
    folder: Path
    files: dict[str, Path]
    receipts: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def world(anvil: Settings, tmp_path_factory: pytest.TempPathFactory) -> StackWorld:
    chain = connect(anvil)
    registry, deployed = Registry.deploy(chain, DEV[0], DEV[0].address, 0)
    record_deployment(
        anvil.deployments_dir,
        Deployment(
            chain_id=chain.chain_id,
            address=registry.address,
            block=int(deployed["blockNumber"]),
            tx_hash=deployed["transactionHash"].to_0x_hex(),
            deployer=DEV[0].address,
            admin=DEV[0].address,
            admin_delay=0,
            artifact_hash=artifact_hash(),
            network="local",
        ),
    )
    de, pl = _signer(7), _signer(9)
    example = stack_example(
        {
            "did:web:credentials.th-mainfranken.example": de.did,
            "did:web:mikroposwiadczenia.akademia-lodzka.example": pl.did,
        }
    )
    certificate, (part1, part2, part3) = example.certificate, example.parts
    for signer, credential, account in ((de, part1, DEV[1]), (pl, part3, DEV[2])):
        issuer = credential["issuer"]
        registry.register_issuer(
            DEV[0], issuer["name"], issuer["address"]["addressCountryCode"], signer.did, [account.address]
        )

    # the parts: DE's two (and a copy of the second, revoked below), PL's one (and one of another learner)
    part2_revoked = _renamed(part2)
    part3_other = _renamed(part3, id=OTHER_LEARNER)
    de_parts = [sign_for_issue(item, de) for item in (part1, part2, part2_revoked)]
    pl_parts = [sign_for_issue(item, pl) for item in (part3, part3_other)]
    de_receipts = anchor_batch(chain, registry, DEV[1], de_parts)
    pl_receipts = anchor_batch(chain, registry, DEV[2], pl_parts)
    revoke = registry.contract.functions.revokeCredentials(
        de_receipts[2]["proof"][-1]["batchId"], [2], REVOCATION_REASONS["fraud"]
    )
    registry.transact(DEV[1], revoke)
    receipts = {
        "part1": de_receipts[0],
        "part2": de_receipts[1],
        "part2-revoked": de_receipts[2],
        "part3": pl_receipts[0],
        "part3-other": pl_receipts[1],
    }

    # the certificates: the valid one, one stacking the revoked part, one stacking another learner's part
    stacks = {
        "certificate": [receipts["part1"], receipts["part2"], receipts["part3"]],
        "certificate-revoked": [receipts["part1"], receipts["part2-revoked"], receipts["part3"]],
        "certificate-other": [receipts["part1"], receipts["part2"], receipts["part3-other"]],
    }
    certificates = [
        sign_for_issue(with_parts(certificate if name == "certificate" else _renamed(certificate), parts), de)
        for name, parts in stacks.items()
    ]
    receipts.update(zip(stacks, anchor_batch(chain, registry, DEV[1], certificates), strict=True))
    wait_for_block(chain, int(chain.w3.eth.block_number), "finalized", timeout=30)

    folder = tmp_path_factory.mktemp("stack-receipts")
    files = {}
    for name, receipt in receipts.items():
        files[name] = folder / f"{name}.json"
        files[name].write_text(json.dumps(receipt, ensure_ascii=False, indent=2), encoding="utf-8")
    return StackWorld(anvil, folder, files, receipts)


def anchor(world: StackWorld, *args: str | Path) -> Result:
    env = {"ANCHOR_HOME": str(world.settings.home), "ANCHOR_NODE_PORT": str(world.settings.node_port)}
    return CliRunner().invoke(main, [str(arg) for arg in args], env=env, catch_exceptions=False)


def bundle(world: StackWorld, name: str, *parts: str) -> Path:
    out = world.folder / f"{name}-bundle.json"
    made = anchor(world, "stack", world.files[name], *(world.files[part] for part in parts), "--out", out)
    assert made.exit_code == 0, made.output
    return out


@pytest.fixture(scope="module")
def valid_bundle(world: StackWorld) -> Path:
    return bundle(world, "certificate", "part3", "part1", "part2")  # in any order


def test_the_shipped_stack_verifies_valid_with_15_ects(world: StackWorld, valid_bundle: Path) -> None:
    assert valid_bundle.stat().st_mode & 0o077 == 0  # personal data: private to its owner
    shown = anchor(world, "verify", valid_bundle)
    assert shown.exit_code == 0, shown.output
    assert "parts: 15 ECTS" in shown.output
    assert "Industrielle Datenanalyse" in shown.output
    assert shown.output.rstrip().endswith("VALID")

    as_json = anchor(world, "verify", "--json", valid_bundle)
    assert as_json.exit_code == 0, as_json.output
    result = json.loads(as_json.output)
    assert result["kind"] == "stack"
    assert result["verdict"] == "VALID"
    assert [check["state"] for check in result["checks"]] == ["passed"] * 6
    assert result["stack"]["workload"] == {"ects": 15.0, "hours": None, "text": "15 ECTS"}
    assert result["stack"]["eqfLevel"] == 6
    assert result["stack"]["partEqfLevels"] == [6, 6, 6]
    assert result["stacked"]["verdict"] == "VALID"
    assert {part["result"]["credential"]["awardingBody"] for part in result["parts"]} == {
        "Technische Hochschule Mainfranken",
        "Akademia Techniczna w Łodzi",
    }
    # every part got the full receipt checks, the signature included
    for part in result["parts"]:
        checks = {check["name"]: check for check in part["result"]["checks"]}
        assert checks["signature"]["state"] == "passed"
        assert checks["revocation"]["state"] == "passed"
    assert result["warnings"] == []


def test_a_bundle_on_standard_input_verifies_as_a_stack(world: StackWorld, valid_bundle: Path) -> None:
    env = {"ANCHOR_HOME": str(world.settings.home), "ANCHOR_NODE_PORT": str(world.settings.node_port)}
    shown = CliRunner().invoke(
        main, ["verify", "--json", "-"], input=valid_bundle.read_bytes(), env=env, catch_exceptions=False
    )
    assert shown.exit_code == 0, shown.output
    result = json.loads(shown.output)
    assert (result["kind"], result["verdict"]) == ("stack", "VALID")
    assert result["stack"]["workload"]["text"] == "15 ECTS"


def test_name_parts_writes_the_parts_as_the_stacked_credential_names_them(world: StackWorld, tmp_path: Path) -> None:
    certificate = {key: value for key, value in world.receipts["certificate"].items() if key != "proof"}
    named = certificate.pop("relatedResource")
    plain = tmp_path / "certificate.json"
    plain.write_text(json.dumps(certificate, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "stacked.json"
    parts = [world.files[part] for part in ("part1", "part2", "part3")]
    made = anchor(world, "name-parts", plain, *parts, "--out", out)
    assert made.exit_code == 0, made.output
    stacked = json.loads(out.read_text(encoding="utf-8"))
    assert stacked["relatedResource"] == named
    assert stacked["credentialSubject"]["achievement"]["euMicroCredential"]["stackability"] == {"mode": "stack"}
    assert out.stat().st_mode & 0o077 == 0
    refused = anchor(world, "name-parts", plain, plain, "--out", tmp_path / "no.json")  # not a receipt
    assert refused.exit_code == 2, refused.output
    assert not (tmp_path / "no.json").exists()


def test_the_web_api_verifies_a_bundle(world: StackWorld, valid_bundle: Path) -> None:
    config = WebConfig(
        rpc_urls=[f"http://127.0.0.1:{world.settings.node_port}"],
        trusted=trusted_from_deployments(world.settings.deployments_dir),
    )
    with TestClient(create_app(config)) as client:
        answer = client.post("/verify", content=valid_bundle.read_bytes(), headers={"Content-Type": "application/json"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["kind"] == "stack"
        assert answer.json()["verdict"] == "VALID"
        assert answer.json()["stack"]["workload"]["text"] == "15 ECTS"
        missing = json.loads(valid_bundle.read_text(encoding="utf-8"))
        missing["parts"].pop()
        answer = client.post("/verify", json=missing)
        assert answer.status_code == 200, answer.text
        assert answer.json()["verdict"] == "INVALID"
        assert answer.json()["status"] == "PART MISSING"
        answer = client.post("/verify", json={**missing, "parts": []})
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "bad-bundle"


def test_a_revoked_part_makes_the_stack_invalid_naming_it(world: StackWorld) -> None:
    path = bundle(world, "certificate-revoked", "part1", "part2-revoked", "part3")
    shown = anchor(world, "verify", path)
    assert shown.exit_code == 1, shown.output
    part_id = world.receipts["part2-revoked"]["id"]
    assert "PART REVOKED (INVALID)" in shown.output
    assert f"part {json.dumps(part_id)} (Statistische Prozesslenkung" in shown.output
    assert "fraud" in shown.output


def test_another_learners_part_makes_the_stack_invalid_naming_it(world: StackWorld) -> None:
    path = bundle(world, "certificate-other", "part1", "part2", "part3-other")
    result = json.loads(anchor(world, "verify", "--json", path).output)
    assert result["verdict"] == "INVALID"
    assert result["status"] == "OTHER LEARNER"
    learner = {check["name"]: check for check in result["checks"]}["learner"]
    assert learner["state"] == "failed"
    assert world.receipts["part3-other"]["id"] in learner["reason"]
    assert OTHER_LEARNER in learner["reason"]
    # the part itself is a valid credential: only the stack refuses it
    assert {part["id"]: part["result"]["verdict"] for part in result["parts"]}[world.receipts["part3-other"]["id"]] == (
        "VALID"
    )


def test_a_missing_part_makes_the_stack_invalid_naming_it(world: StackWorld, valid_bundle: Path) -> None:
    document = json.loads(valid_bundle.read_text(encoding="utf-8"))
    dropped = document["parts"].pop(0)
    path = world.folder / "missing.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    shown = anchor(world, "verify", path)
    assert shown.exit_code == 1, shown.output
    assert "PART MISSING (INVALID)" in shown.output
    assert f"part {json.dumps(dropped['id'])}" in shown.output
    assert "is missing from the bundle" in shown.output


def test_anchor_stack_refuses_a_missing_an_unnamed_and_a_repeated_part(world: StackWorld) -> None:
    files = world.files
    out = world.folder / "refused.json"
    missing = anchor(world, "stack", files["certificate"], files["part1"], files["part2"], "--out", out)
    assert missing.exit_code == 2, missing.output
    assert world.receipts["part3"]["id"] in missing.output
    assert "no part receipt given is that credential" in missing.output
    unnamed = anchor(
        world, "stack", files["certificate"], files["part1"], files["part2"], files["part3"], files["part3-other"],
        "--out", out,
    )  # fmt: skip
    assert unnamed.exit_code == 2, unnamed.output
    assert "part 4" in unnamed.output
    assert "is not named by the stacked credential" in unnamed.output
    twice = anchor(
        world, "stack", files["certificate"], files["part1"], files["part2"], files["part3"], files["part1"],
        "--out", out,
    )  # fmt: skip
    assert twice.exit_code == 2, twice.output
    assert "is given twice" in twice.output
    same_id = anchor(
        world, "stack", files["certificate"], files["part1"], files["part2-revoked"], files["part3"], "--out", out
    )
    assert same_id.exit_code == 2, same_id.output
    assert "is not named by the stacked credential" in same_id.output
    not_a_stack = anchor(world, "stack", files["part1"], files["part2"], "--out", out)
    assert not_a_stack.exit_code == 2, not_a_stack.output
    assert "is not a stack" in not_a_stack.output
    assert not out.exists()


def test_a_part_that_is_itself_a_stack_is_verified_as_a_plain_receipt(world: StackWorld, valid_bundle: Path) -> None:
    # a bundle whose "part" is the certificate itself: a duplicate credential, refused before anything is asked
    document = json.loads(valid_bundle.read_text(encoding="utf-8"))
    document["parts"].append(document["stacked"])
    path = world.folder / "cycle.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    shown = anchor(world, "verify", path)
    assert shown.exit_code == 2, shown.output
    assert "in the bundle twice" in shown.output
    # another certificate as a part: verified once as a receipt (valid), but not named, so the stack is INVALID
    document["parts"][-1] = world.receipts["certificate-other"]
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = json.loads(anchor(world, "verify", "--json", path).output)
    assert result["verdict"] == "INVALID"
    assert result["status"] == "PART NOT NAMED"
    extra = result["parts"][-1]
    assert extra["namedAt"] is None
    assert extra["result"]["verdict"] == "VALID"
    assert "parts" not in extra["result"]  # a receipt result, not a stack's


def test_the_page_shows_a_stack_in_a_browser(world: StackWorld, valid_bundle: Path, tmp_path: Path) -> None:
    """Debian's chromium: a pasted bundle shows VALID, the parts' 15 ECTS and each part; a revoked part names it."""
    config = WebConfig(
        rpc_urls=[f"http://127.0.0.1:{world.settings.node_port}"],
        trusted=trusted_from_deployments(world.settings.deployments_dir),
    )
    revoked = bundle(world, "certificate-revoked", "part1", "part2-revoked", "part3")
    with served(create_app(config)) as base, chromium(tmp_path / "profile", base) as browser:
        page = browser.new_page()
        page.goto(base)
        page.fill("#receipt", valid_bundle.read_text(encoding="utf-8"))
        page.click("#verify")
        assert verdict_of(page) == ("VALID", "VALID")
        page.wait_for_selector('#checks li[data-check="parts"][data-state="passed"]', timeout=15_000)
        shown = page.inner_text("#credential")
        assert "15 ECTS" in shown
        assert "Industrielle Datenanalyse" in shown
        assert page.locator("#credential [data-part]").count() == 3
        assert "Akademia Techniczna w Łodzi" in shown
        page.fill("#receipt", revoked.read_text(encoding="utf-8"))
        page.click("#verify")
        assert verdict_of(page) == ("INVALID", "PART REVOKED")
        assert world.receipts["part2-revoked"]["id"] in page.inner_text("#verdict-summary")
