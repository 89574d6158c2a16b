"""``anchor did ...`` and the DID as the registry's issuer identifier, through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from anchor.cli import main
from anchor.config import Settings
from anchor.credentials import multikey
from anchor.issuing import signing_keys

from support.anvil import free_port

PASSWORD = "tr0ub4dor&3"


@pytest.fixture(autouse=True)
def _fast_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default work factor costs half a second per key; the library tests check it."""
    monkeypatch.setattr(signing_keys, "DEFAULT_COST", signing_keys.ScryptCost(n=16, r=8, p=1))


def anchor(home: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    variables = {"ANCHOR_HOME": str(home), "ANCHOR_KEY_PASSWORD": PASSWORD, "NO_COLOR": "1", **(env or {})}
    return CliRunner(mix_stderr=False).invoke(main, list(args), env=variables, input=stdin, catch_exceptions=False)


def test_help_teaches_what_did_web_is_and_where_the_file_goes(tmp_path: Path) -> None:
    group = anchor(tmp_path, "did", "--help").stdout
    assert "did:web:example.edu             https://example.edu/.well-known/did.json" in group
    assert "did:web:example.edu:issuers:x   https://example.edu/issuers/x/did.json" in group
    prose = " ".join(group.split())
    for taught in ("did:key", "anchor issuer register --uri DID", "ANCHOR_KEY_PASSWORD", "never from the config file"):
        assert taught in prose, taught
    assert "https://example.edu/issuers/x/did.json" in anchor(tmp_path, "did", "document", "--help").stdout
    assert "https://example.edu/issuers/x/did.json" in anchor(tmp_path, "did", "key", "create", "--help").stdout
    retire = " ".join(anchor(tmp_path, "did", "retire", "--help").stdout.split())
    assert "credentials signed by KEY stop verifying" in retire
    assert "The current key cannot be retired" in retire
    register = " ".join(anchor(tmp_path, "issuer", "register", "--help").stdout.split())
    assert "The identifier is the issuer's DID" in register
    assert "Default: this home's DID" in register


def test_create_publish_rotate_retire_a_did_web_issuer(tmp_path: Path) -> None:
    home = tmp_path / "home"
    created = anchor(home, "did", "key", "create", "--did", "did:web:example.edu:issuers:x")
    assert created.exit_code == 0, created.output
    assert "did:web:example.edu:issuers:x#key-1" in created.stdout
    assert "https://example.edu/issuers/x/did.json" in created.stdout
    keyring = signing_keys.IssuerKeys(home / "keys" / "did").load()
    seed = signing_keys.IssuerKeys(home / "keys" / "did").unlock("key-1", PASSWORD).private_bytes_raw()
    assert PASSWORD not in created.output + created.stderr
    assert seed.hex() not in created.output

    printed = anchor(home, "did", "document")
    assert printed.exit_code == 0, printed.stderr
    document = json.loads(printed.stdout)  # standard output is the file, nothing else
    assert document == keyring.document()
    assert document["verificationMethod"][0]["type"] == "Multikey"
    assert document["assertionMethod"] == ["did:web:example.edu:issuers:x#key-1"]
    assert "publish it at https://example.edu/issuers/x/did.json" in printed.stderr

    out = tmp_path / "did.json"
    written = anchor(home, "did", "document", "--out", str(out))
    assert written.exit_code == 0
    assert json.loads(out.read_text()) == document
    assert "https://example.edu/issuers/x/did.json" in written.stderr

    again = anchor(home, "did", "key", "create", "--did", "did:web:example.edu")
    assert again.exit_code == 2
    assert "has keys already" in again.stderr

    rotated = anchor(home, "did", "rotate")
    assert rotated.exit_code == 0, rotated.stderr
    assert "key-2 is now the current signing key" in rotated.stdout
    assert "key-1 stays listed" in rotated.stdout
    document = json.loads(anchor(home, "did", "document").stdout)
    assert document["assertionMethod"] == ["did:web:example.edu:issuers:x#key-1", "did:web:example.edu:issuers:x#key-2"]

    shown = json.loads(anchor(home, "did", "show", "--json").stdout)
    assert shown["did"] == "did:web:example.edu:issuers:x"
    assert shown["documentUrl"] == "https://example.edu/issuers/x/did.json"
    assert [(k["name"], k["state"], k["signs"]) for k in shown["keys"]] == [
        ("key-1", "listed", False),
        ("key-2", "current", True),
    ]
    table = anchor(home, "did", "show")
    assert table.exit_code == 0
    assert "did:web:example.edu:issuers:x#key-2" in table.stdout

    current = anchor(home, "did", "retire", "key-2", "--yes")
    assert current.exit_code == 2
    assert "rotate to a new one first" in current.stderr
    unknown = anchor(home, "did", "retire", "key-7", "--yes")
    assert unknown.exit_code == 1
    assert "no key named 'key-7'" in unknown.stderr
    declined = anchor(home, "did", "retire", "key-1", stdin="n\n")
    assert declined.exit_code == 1  # aborted: nothing changed
    assert len(json.loads(anchor(home, "did", "document").stdout)["assertionMethod"]) == 2
    retired = anchor(home, "did", "retire", "key-1", stdin="y\n")
    assert retired.exit_code == 0, retired.stderr
    assert json.loads(anchor(home, "did", "document").stdout)["assertionMethod"] == [
        "did:web:example.edu:issuers:x#key-2"
    ]
    assert [k["state"] for k in json.loads(anchor(home, "did", "show", "--json").stdout)["keys"]] == [
        "retired",
        "current",
    ]


def test_a_did_key_issuer_for_local_use(tmp_path: Path) -> None:
    home = tmp_path / "home"
    created = anchor(home, "did", "key", "create", "--did-key")
    assert created.exit_code == 0, created.stderr
    keyring = signing_keys.IssuerKeys(home / "keys" / "did").load()
    assert keyring.did.startswith("did:key:z6Mk")
    assert keyring.did in created.stdout  # not "did🔑z6Mk...": rich reads ":key:" as an emoji code
    shown = anchor(home, "did", "show")
    assert f"{keyring.did}#{keyring.did.removeprefix('did:key:')}" in shown.stdout
    printed = anchor(home, "did", "document")
    assert json.loads(printed.stdout) == multikey.did_key_document(keyring.did)
    assert "nothing to publish" in printed.stderr
    refused = anchor(home, "did", "rotate")
    assert refused.exit_code == 2
    assert "has no rotation" in refused.stderr


def test_the_password_is_prompted_for_twice_when_no_variable_gives_it(tmp_path: Path) -> None:
    variables = {"ANCHOR_HOME": str(tmp_path), "ANCHOR_KEY_PASSWORD": ""}
    runner = CliRunner(mix_stderr=False)
    typed = runner.invoke(main, ["did", "key", "create", "--did-key"], env=variables, input="a\nb\ns3cret\ns3cret\n")
    assert typed.exit_code == 0, typed.stderr
    assert "do not match" in typed.output + typed.stderr  # asked again
    assert "s3cret" not in typed.stdout
    signing_keys.IssuerKeys(tmp_path / "keys" / "did").unlock("key-1", "s3cret")
    password_file = tmp_path / "password"
    password_file.write_text("from-a-file\n")
    from_file = anchor(
        tmp_path / "other",
        "did",
        "key",
        "create",
        "--did",
        "did:web:example.edu",
        env={
            "ANCHOR_KEY_PASSWORD": "",
            "ANCHOR_KEY_PASSWORD_FILE": str(password_file),
        },
    )
    assert from_file.exit_code == 0, from_file.stderr
    signing_keys.IssuerKeys(tmp_path / "other" / "keys" / "did").unlock("key-1", "from-a-file")


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (["--did", "did:web:Example.edu"], {}, 2, "write the domain in lower case"),
        (["--did", "did:web:10.0.0.1"], {}, 2, "IP address"),
        (["--did", "https://example.edu"], {}, 2, "neither a did:web DID"),
        (["--did", "did:web:example.edu", "--did-key"], {}, 2, "not both"),
        ([], {}, 2, "give the issuer's DID: --did did:web:YOUR.DOMAIN"),
        (["--did", "did:web:a.example", "--name", "../k"], {}, 2, "invalid key name '../k'"),
        (["--did", "did:web:a.example"], {"ANCHOR_ISSUER_DID": "did:web:b.example"}, 2, "issuer_did is set to"),
        (["--did-key"], {"ANCHOR_ISSUER_DID": "did:web:b.example"}, 2, "issuer_did is set to"),
        ([], {"ANCHOR_ISSUER_DID": "did:web:Bad"}, 2, "issuer_did: DID 'did:web:Bad'"),
    ],
)
def test_key_create_refuses_bad_input_naming_it(
    tmp_path: Path, args: list[str], env: dict[str, str], code: int, message: str
) -> None:
    result = anchor(tmp_path, "did", "key", "create", *args, env=env)
    assert result.exit_code == code, result.stderr
    assert message in " ".join((result.stderr + result.stdout).split())
    assert not (tmp_path / "keys" / "did" / "keyring.json").exists()


def test_key_create_takes_the_did_from_the_configuration(tmp_path: Path) -> None:
    result = anchor(tmp_path, "did", "key", "create", env={"ANCHOR_ISSUER_DID": "did:web:example.edu"})
    assert result.exit_code == 0, result.stderr
    assert signing_keys.IssuerKeys(tmp_path / "keys" / "did").load().did == "did:web:example.edu"


def test_commands_without_keys_say_how_to_create_them(tmp_path: Path) -> None:
    for command in (["document"], ["rotate"], ["show"], ["retire", "key-1", "--yes"]):
        result = anchor(tmp_path, "did", *command)
        assert result.exit_code == 1, command
        assert "anchor did key create --did did:web:" in result.stderr


def test_issuer_register_needs_a_did_and_checks_one_before_any_chain(tmp_path: Path) -> None:
    unreachable = {"ANCHOR_RPC_URL": "http://127.0.0.1:9"}  # never contacted: both fail before
    missing = anchor(tmp_path, "issuer", "register", "--name", "U", "--country", "DE", env=unreachable)
    assert missing.exit_code == 2
    assert "give the issuer's DID with --uri" in missing.stderr
    misspelt = anchor(
        tmp_path, "issuer", "register", "--name", "U", "--country", "DE", "--uri", "did:web:U.example", env=unreachable
    )
    assert misspelt.exit_code == 2
    assert "--uri 'did:web:U.example' is not a valid did:web DID" in misspelt.stderr


@pytest.mark.slow
def test_issuer_register_records_the_homes_did_by_default(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"ANCHOR_NODE_PORT": str(free_port()), "ANCHOR_NODE_BLOCK_TIME": "0.3"}
    assert anchor(home, "did", "key", "create", "--did-key").exit_code == 0
    did = signing_keys.configured_issuer_did(Settings(home=home))
    assert did is not None
    try:
        assert anchor(home, "node", "start", env=env).exit_code == 0
        assert anchor(home, "deploy", env=env).exit_code == 0
        registered = anchor(home, "issuer", "register", "--name", "Demo", "--country", "de", env=env)
        assert registered.exit_code == 0, registered.stderr
        assert did in registered.stdout
        listed = anchor(home, "issuer", "list", env=env)
        assert did in listed.stdout
    finally:
        anchor(home, "node", "stop", env=env)


def test_commands_get_the_issuer_signer_from_their_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from anchor.cli.context import AppContext
    from anchor.errors import SigningKeyError

    monkeypatch.delenv("ANCHOR_KEY_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("ANCHOR_KEY_PASSWORD", PASSWORD)
    with pytest.raises(SigningKeyError, match="no issuer signing key"):
        AppContext(home=tmp_path).issuer_signer()
    assert anchor(tmp_path, "did", "key", "create", "--did", "did:web:example.edu").exit_code == 0
    app = AppContext(home=tmp_path)
    signer = app.issuer_signer()
    assert (signer.did, signer.verification_method) == ("did:web:example.edu", "did:web:example.edu#key-1")
    assert app.issuer_signer() is signer  # unlocked once
    monkeypatch.setenv("ANCHOR_KEY_PASSWORD", "wrong")
    with pytest.raises(SigningKeyError, match="wrong password for issuer key 'key-1'"):
        AppContext(home=tmp_path).issuer_signer()
