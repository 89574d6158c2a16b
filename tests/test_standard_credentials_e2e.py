"""Issue 11 end to end on anvil, on the command line: a did:web issuer signs, anchors, rotates its key.

The receipts `anchor batch run` writes are standard signed Open Badges 3.0 credentials: they pass 1EdTech's
AchievementCredential schema, Digital Bazaar's verifier accepts their signature, and `anchor verify` checks
the signature against the published DID document. Rotating the key keeps old receipts verifying; retiring it
makes them fail, naming the key.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from anchor.chain.keys import development_accounts
from anchor.cli import main
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.jsonld import EXTENSION_CONTEXTS, context_document

from support.anvil import free_port
from support.ob_schema import validate_ob_achievement_credential
from support.prerequisites import missing

pytestmark = pytest.mark.slow
ISSUER = issuer_for_country("FI")
DID = "did:web:osaamismerkit.example"
INTEROP = Path(__file__).resolve().parent / "js" / "di_interop.mjs"


def _verify_with_digital_bazaar(receipts: list[dict[str, Any]], did_document: dict[str, Any]) -> list[Any]:
    import subprocess

    payload = {
        "contexts": {url: context_document(url) for url in EXTENSION_CONTEXTS},
        "dids": {DID: did_document},
        "cases": [{"op": "verify", "credential": receipt, "now": receipt["validFrom"]} for receipt in receipts],
    }
    done = subprocess.run(
        ["node", str(INTEROP)], input=json.dumps(payload), capture_output=True, text=True, check=True, timeout=300
    )
    return list(json.loads(done.stdout)["results"])


def test_a_did_web_issuer_signs_anchors_and_rotates_its_key(tmp_path: Path) -> None:
    if shutil.which("node") is None:
        missing("node is not installed: Digital Bazaar's verifier runs on it")
    env = {
        "ANCHOR_HOME": str(tmp_path / "home"),
        "ANCHOR_NODE_PORT": str(free_port()),
        "ANCHOR_NODE_BLOCK_TIME": "0.3",
        "ANCHOR_KEY_PASSWORD": "correct horse battery staple",
        "ANCHOR_STATUS_BASE_URL": "https://osaamismerkit.example/status",
        "ANCHOR_STATUS_PUBLISH_DIR": str(tmp_path / "site" / "status"),
    }
    runner = CliRunner()

    def anchor(*args: str | Path) -> Result:
        return runner.invoke(main, [str(arg) for arg in args], env=env, catch_exceptions=False)

    def issue(name: str, seed: int) -> Path:
        inbox = tmp_path / name
        inbox.mkdir()
        for number, credential in enumerate(generate_credentials(3, seed=seed, issuer=ISSUER, issuer_did=DID)):
            (inbox / f"{number}.json").write_text(json.dumps(credential, ensure_ascii=False), encoding="utf-8")
        issued = anchor("issue", inbox)
        assert issued.exit_code == 0, issued.output
        ran = anchor("batch", "run", "--dev-account", "1")
        assert ran.exit_code == 0, ran.output
        return sorted((tmp_path / "home" / "receipts" / "31337").glob("batch-*"))[-1]

    def verify(receipt: Path, did_json: Path) -> Result:
        return anchor("--home", tmp_path / "home", "verify", receipt, "--did-document", did_json)

    try:
        assert anchor("node", "start").exit_code == 0
        assert anchor("deploy").exit_code == 0
        created = anchor("did", "key", "create", "--did", DID)
        assert created.exit_code == 0, created.output
        signer = development_accounts()[1].address
        registered = anchor("issuer", "register", "--name", ISSUER.name, "--country", "FI", "--signer", signer)
        assert registered.exit_code == 0, registered.output
        assert DID in registered.output  # the registry records the home's DID as the issuer's identifier

        # a credential naming another issuer is refused at intake, nothing queued
        stranger = tmp_path / "stranger"
        stranger.mkdir()
        (stranger / "x.json").write_text(json.dumps(next(generate_credentials(1, seed=1, issuer=ISSUER))))
        refused = anchor("issue", stranger)
        assert refused.exit_code == 2
        assert "/issuer/id" in refused.output
        assert "is not this issuer's DID" in refused.output

        first = sorted(issue("first", 10).glob("*.json"))
        did_v1 = tmp_path / "did-1.json"
        assert anchor("did", "document", "--out", did_v1).exit_code == 0
        receipt = json.loads(first[0].read_text(encoding="utf-8"))
        assert [proof["type"] for proof in receipt["proof"]] == ["DataIntegrityProof", "AnchorMerkleProof"]
        assert receipt["proof"][0]["verificationMethod"] == f"{DID}#key-1"
        for path in first:
            assert validate_ob_achievement_credential(json.loads(path.read_text(encoding="utf-8"))) == []
        verdict = verify(first[0], did_v1)
        assert verdict.exit_code == 0, verdict.output
        assert "Signed by the issuer" in verdict.output

        # an independent implementation accepts the signature of the receipt as written (anchoring proof in it)
        results = _verify_with_digital_bazaar([receipt], json.loads(did_v1.read_text(encoding="utf-8")))
        assert results[0]["verified"] is True, results[0]

        # rotation: new credentials are signed by key-2; the published document lists both
        assert anchor("did", "rotate").exit_code == 0
        second = sorted(issue("second", 20).glob("*.json"))
        did_v2 = tmp_path / "did-2.json"
        assert anchor("did", "document", "--out", did_v2).exit_code == 0
        assert json.loads(second[0].read_text(encoding="utf-8"))["proof"][0]["verificationMethod"] == f"{DID}#key-2"
        time.sleep(1)  # the second batch reaches the finalized block the verifier reads
        assert verify(first[0], did_v2).exit_code == 0  # old credentials still verify
        assert verify(second[0], did_v2).exit_code == 0
        assert verify(second[0], did_v1).exit_code == 1  # a document without key-2 does not vouch for it

        # retiring key-1 (asked for explicitly) makes what it signed fail, naming the key
        assert anchor("did", "retire", "key-1", "--yes").exit_code == 0
        did_v3 = tmp_path / "did-3.json"
        assert anchor("did", "document", "--out", did_v3).exit_code == 0
        failed = verify(first[0], did_v3)
        assert failed.exit_code == 1, failed.output
        assert "key-1" in failed.output
        assert verify(second[0], did_v3).exit_code == 0

        # revocation reaches standard wallets: every credential names its status list entry, and revoking
        # publishes the issuer-signed list that mirrors the chain
        entries = [json.loads(path.read_text(encoding="utf-8"))["credentialStatus"] for path in first + second]
        assert len({entry["statusListIndex"] for entry in entries}) == 6
        assert {entry["statusListCredential"] for entry in entries} == {"https://osaamismerkit.example/status/1.json"}
        revoked = anchor("revoke", second[1], "--reason", "fraud", "--dev-account", "1")
        assert revoked.exit_code == 0, revoked.output
        published = tmp_path / "site" / "status" / "1.json"
        status_list = json.loads(published.read_text(encoding="utf-8"))
        assert status_list["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
        assert status_list["issuer"] == DID
        time.sleep(1)
        checked = anchor(
            "--home", tmp_path / "home", "verify", second[1], "--did-document", did_v3, "--status-list", published
        )
        assert checked.exit_code == 1
        assert "REVOKED" in checked.output
        assert "warning" not in checked.output.lower()
    finally:
        anchor("node", "stop")
