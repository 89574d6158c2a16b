"""From a course and a roster to every learner's inbox, on the command line, on anvil and a real SMTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from anchor.chain.keys import development_accounts
from anchor.cli import main
from anchor.sharing.baking import unbake

from support.anvil import free_port
from support.rosters import allowed_grades, course_template, write_csv
from support.smtp import smtp_server

pytestmark = pytest.mark.slow


def test_course_roster_batch_and_delivery_on_the_command_line(tmp_path: Path) -> None:
    template = course_template("FI")
    grade = allowed_grades(template)[0]
    env = {
        "ANCHOR_HOME": str(tmp_path / "home"),
        "ANCHOR_NODE_PORT": str(free_port()),
        "ANCHOR_NODE_BLOCK_TIME": "0.3",
        "ANCHOR_SMTP_HOST": "127.0.0.1",
        "ANCHOR_SMTP_SECURITY": "none",
        "ANCHOR_SMTP_FROM": "Opintotoimisto <opinnot@jyu.example>",
        "ANCHOR_SMTP_RATE_PER_MINUTE": "60000",
        "ANCHOR_KEY_PASSWORD": "issuer key password",
    }
    runner = CliRunner()

    def anchor(*args: str, **extra: str) -> Result:
        return runner.invoke(main, list(args), env={**env, **extra}, catch_exceptions=False)

    course_file = tmp_path / "course.json"
    roster = write_csv(
        tmp_path / "tulokset.csv",
        [
            ["Nimi", "Sähköposti", "Opiskelijanumero", "Arvosana"],
            ["Päivi Jääskeläinen", "paivi@opiskelija.example", "1001", grade],
            ["Åsa Österberg", "asa@opiskelija.example", "1002", grade],
            ["Matti Meikäläinen", "", "1003", grade],
        ],
        delimiter=";",
    )
    maps = ["--map", "Nimi=name", "--map", "Sähköposti=email", "--map", "Opiskelijanumero=student_id"]
    maps += ["--map", "Arvosana=grade"]
    try:
        assert anchor("node", "start").exit_code == 0
        assert anchor("deploy").exit_code == 0
        assert anchor("did", "key", "create", "--did-key").exit_code == 0  # the issuer's signing key
        did = json.loads(anchor("did", "show", "--json").output)["did"]
        template["issuer"]["id"] = did
        course_file.write_text(json.dumps(template, ensure_ascii=False), encoding="utf-8")
        signer = development_accounts()[1].address
        issuer = template["issuer"]
        registered = anchor(
            "issuer", "register", "--name", issuer["name"], "--country", "FI", "--uri", did, "--signer", signer
        )
        assert registered.exit_code == 0, registered.output
        assert anchor("course", "new", "kiertotalous", str(course_file)).exit_code == 0

        dry = anchor("issue", "--course", "kiertotalous", "--roster", str(roster), *maps, "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert "3 valid credential(s), nothing queued (dry run)" in dry.output
        issued = anchor("issue", "--course", "kiertotalous", "--roster", str(roster), *maps)
        assert issued.exit_code == 0, issued.output
        assert "queued 3" in issued.output
        again = anchor("issue", "--course", "kiertotalous", "--roster", str(roster), *maps)
        assert "queued 0, duplicates 3" in again.output

        ran = anchor("batch", "run", "--dev-account", "1")
        assert ran.exit_code == 0, ran.output

        with smtp_server(refuse={"asa@opiskelija.example"}) as server:
            first = anchor("deliver", "--batch", "1", ANCHOR_SMTP_PORT=str(server.port))
            assert first.exit_code == 1, first.output
            assert "e-mailed 1, folders 1" in first.output
            assert "asa@opiskelija.example: 550 5.1.1" in first.output
            (received,) = server.received
        assert received.recipients == ["paivi@opiskelija.example"]
        message = received.message
        assert str(message["Subject"]).startswith("Mikrotutkintosi: ")
        parts = {part.get_filename(): part for part in message.iter_attachments()}
        (name,) = [name for name in parts if name.endswith(".json")]
        assert sorted(parts) == sorted([name, "badge.png", "verification-link.txt"])  # issue 12: badge and link
        part = parts[name]
        credential = json.loads(part.get_content())
        assert json.loads(unbake(parts["badge.png"].get_content())) == credential
        assert credential["anchorFormat"] == "anchor-credential-v3"  # signed by the issuer at intake
        assert credential["proof"][0]["type"] == "DataIntegrityProof"
        attached = tmp_path / part.get_filename()
        attached.write_bytes(part.get_content())
        verdict = anchor("--home", str(tmp_path / "home"), "verify", str(attached))
        assert verdict.exit_code == 0, verdict.output  # the e-mailed receipt verifies against the chain

        with smtp_server() as fixed:
            second = anchor("deliver", "--batch", "1", ANCHOR_SMTP_PORT=str(fixed.port))
            assert second.exit_code == 0, second.output
            assert "e-mailed 1, folders 0" in second.output
            assert "delivered before 2" in second.output
            assert [item.recipients for item in fixed.received] == [["asa@opiskelija.example"]]

        everyone = anchor("deliver", "--batch", "1", "--to-dir", str(tmp_path / "all"))
        assert everyone.exit_code == 0, everyone.output
        folders = sorted(path.name.split("-")[0] for path in (tmp_path / "all").iterdir())
        assert folders == ["Matti_Meikäläinen", "Päivi_Jääskeläinen", "Åsa_Österberg"]
    finally:
        anchor("node", "stop")
