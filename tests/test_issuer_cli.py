"""The issuer's commands end to end on anvil: issue, batch run, batch list/show, receipt, revoke."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from anchor.chain.keys import development_accounts
from anchor.cli import main
from anchor.credentials.examples import generate_credentials, issuer_for_country

from support.anvil import free_port

pytestmark = pytest.mark.slow
ISSUER = issuer_for_country("PL")


def test_issue_batch_receipt_revoke_on_the_command_line(tmp_path: Path) -> None:
    env = {"ANCHOR_HOME": str(tmp_path / "home"), "ANCHOR_NODE_PORT": str(free_port()), "ANCHOR_NODE_BLOCK_TIME": "0.3"}
    runner = CliRunner()

    def anchor(*args: str) -> Result:
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for number, credential in enumerate(generate_credentials(12, seed=77, issuer=ISSUER, salted=False)):
        (inbox / f"{number:02}.json").write_text(json.dumps(credential, ensure_ascii=False), encoding="utf-8")
    try:
        assert anchor("node", "start").exit_code == 0
        assert anchor("deploy").exit_code == 0
        signer = development_accounts()[1].address
        registered = anchor(
            "issuer", "register", "--name", ISSUER.name, "--country", "PL", "--uri", ISSUER.id, "--signer", signer
        )
        assert registered.exit_code == 0, registered.output
        issued = anchor("issue", "--unsigned", str(inbox))
        assert issued.exit_code == 0, issued.output

        nothing_to_sign = anchor("batch", "run")  # dev account 0 is the admin, not a signer of the issuer
        assert nothing_to_sign.exit_code == 2
        assert "not an active signer" in nothing_to_sign.output

        ran = anchor("batch", "run", "--max-size", "5", "--dev-account", "1")
        assert ran.exit_code == 0, ran.output
        assert "12 credentials anchored in 3 batch(es)" in ran.output
        listed = anchor("batch", "list")
        assert listed.output.count("anchored") == 3
        shown = anchor("batch", "show", "1")
        assert "confirmations" in shown.output

        folder = tmp_path / "home" / "receipts" / "31337" / "batch-2"
        receipts = sorted(folder.glob("*.json"))
        assert len(receipts) == 5
        document = json.loads(receipts[0].read_text(encoding="utf-8"))
        exported = anchor("receipt", document["id"], "--dev-account", "1")
        assert json.loads(exported.output) == document

        assert anchor("verify", str(receipts[0])).exit_code == 0
        revoked = anchor("revoke", str(receipts[0]), "--reason", "fraud", "--dev-account", "1")
        assert revoked.exit_code == 0, revoked.output
        again = anchor("revoke", str(receipts[0]), "--reason", "fraud", "--dev-account", "1")
        assert again.exit_code == 1
        assert "is revoked already" in again.output
        time.sleep(1.5)  # let the revocation reach the finalized block the verifier reads
        verdict = anchor("verify", str(receipts[0]))
        assert verdict.exit_code == 1
        assert "REVOKED" in verdict.output
        assert anchor("verify", str(receipts[1])).exit_code == 0
    finally:
        anchor("node", "stop")


def test_refusals_print_outside_text_literally(tmp_path: Path) -> None:
    """A credential's values and a file's name are shown as they are: no rich markup, no terminal escapes."""
    credential = json.loads(json.dumps(next(iter(generate_credentials(1, seed=5, issuer=ISSUER)))))
    credential["credentialSubject"]["achievement"]["inLanguage"] = "[bold]en[/]"
    source = tmp_path / "in[red]put\x1b]0;owned\x07.json"
    source.write_text(json.dumps(credential), encoding="utf-8")
    env = {"ANCHOR_HOME": str(tmp_path / "home")}
    result = CliRunner().invoke(main, ["issue", "--unsigned", str(source)], env=env, color=True, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "in[red]put\\u001b]0;owned\\u0007.json" in result.output
    assert '"[bold]en[/]" is not a BCP 47 language tag' in result.output
    assert "\x1b]" not in result.output
