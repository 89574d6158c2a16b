"""Configuration precedence and masking; encrypted keystores; development keys refused on public chains."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from eth_account import Account

from anchor.config import load_settings, mask_url
from anchor.errors import InvalidInputError, SigningKeyError
from anchor.keys import Keystore, development_accounts, is_development_key, read_password, refuse_development_key
from anchor.networks import get_network, is_public_chain

FAST_KDF = {"kdf": "pbkdf2", "iterations": 2}  # keystore tests need no real work factor


def test_defaults_then_file_then_environment_then_options(tmp_path: Path) -> None:
    assert load_settings({}, home=tmp_path).network == "local"
    (tmp_path / "config.toml").write_text('network = "amoy"\nnode_port = 9000\nmax_fee_gwei = 300\n')
    from_file = load_settings({}, home=tmp_path)
    assert (from_file.network, from_file.node_port, from_file.max_fee_gwei) == ("amoy", 9000, 300)
    from_env = load_settings({"ANCHOR_NETWORK": "polygon", "ANCHOR_NODE_PORT": "9100"}, home=tmp_path)
    assert (from_env.network, from_env.node_port) == ("polygon", 9100)
    from_option = load_settings({"ANCHOR_NETWORK": "polygon"}, home=tmp_path, network="local", rpc_url=None)
    assert from_option.network == "local"
    assert from_option.effective_rpc_url == "http://127.0.0.1:9000"


def test_home_comes_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings({"ANCHOR_HOME": str(tmp_path)})
    assert settings.resolved_home == tmp_path.resolve()
    assert settings.deployments_dir == tmp_path.resolve() / "deployments"
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'anchor.db'}"


def test_unknown_or_invalid_settings_name_the_field(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('netwrok = "amoy"\n')
    with pytest.raises(InvalidInputError, match="netwrok"):
        load_settings({}, home=tmp_path)
    (tmp_path / "config.toml").write_text("node_port = 70000\n")
    with pytest.raises(InvalidInputError, match="node_port"):
        load_settings({}, home=tmp_path)
    (tmp_path / "config.toml").write_text("node_port = \n")
    with pytest.raises(InvalidInputError, match="cannot read"):
        load_settings({}, home=tmp_path)
    with pytest.raises(InvalidInputError, match="rpc_url"):
        load_settings({"ANCHOR_RPC_URL": "file:///etc/passwd"}, home=tmp_path / "x")


def test_secrets_are_refused_in_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('key_password = "hunter2"\n')
    with pytest.raises(InvalidInputError, match="secrets never go in the config file") as info:
        load_settings({}, home=tmp_path)
    assert "hunter2" not in str(info.value)


def test_shown_configuration_masks_secrets(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "ANCHOR_KEY_PASSWORD": "hunter2",
            "ANCHOR_RPC_URL": "https://polygon-mainnet.example.com/v3/SECRETAPIKEY",
            "ANCHOR_DATABASE_URL": "postgresql://anchor:dbsecret@db.example/anchor",
        },
        home=tmp_path,
    )
    shown = json.dumps(settings.shown())
    for secret in ("hunter2", "SECRETAPIKEY", "dbsecret"):
        assert secret not in shown
    assert "********" in shown
    assert "postgresql://anchor:****@db.example/anchor" in shown


def test_mask_url_keeps_plain_local_urls() -> None:
    assert mask_url("http://127.0.0.1:8545") == "http://127.0.0.1:8545"
    assert mask_url("https://rpc.example/key?apikey=abc") == "https://rpc.example/****?****"


def test_networks() -> None:
    assert get_network("amoy").chain_id == 80002
    assert get_network("polygon").chain_id == 137
    assert get_network("local").chain_ids == (31337, 1337)
    with pytest.raises(InvalidInputError, match="local, amoy, polygon"):
        get_network("mainnet")
    assert is_public_chain(137)
    assert is_public_chain(80002)
    assert is_public_chain(1)  # anything not known to be local counts as public
    assert not is_public_chain(31337)


def test_keystore_round_trip_never_stores_the_key_in_clear(tmp_path: Path) -> None:
    keystore = Keystore(tmp_path / "keys")
    stored = keystore.create("issuer-1", "correct horse", **FAST_KDF)
    text = stored.path.read_text()
    account = keystore.unlock("issuer-1", "correct horse")
    assert account.address == stored.address
    assert account.key.hex() not in text
    assert stat.S_IMODE(stored.path.stat().st_mode) == 0o600
    assert [k.name for k in keystore.list()] == ["issuer-1"]
    assert keystore.address_of("issuer-1") == stored.address
    with pytest.raises(SigningKeyError, match="wrong password"):
        keystore.unlock("issuer-1", "wrong")
    with pytest.raises(InvalidInputError, match="exists already"):
        keystore.create("issuer-1", "x", **FAST_KDF)


def test_keystore_import_and_bad_input(tmp_path: Path) -> None:
    keystore = Keystore(tmp_path)
    private = Account.create()
    stored = keystore.import_key("imported", private.key.hex(), "pw", **FAST_KDF)
    assert stored.address == private.address
    with pytest.raises(InvalidInputError, match="not a valid private key"):
        keystore.import_key("bad", "0x1234", "pw", **FAST_KDF)
    with pytest.raises(InvalidInputError, match="invalid key name"):
        keystore.create("../escape", "pw", **FAST_KDF)
    with pytest.raises(InvalidInputError, match="non-empty password"):
        keystore.create("empty", "", **FAST_KDF)
    with pytest.raises(SigningKeyError, match="no key at"):
        keystore.unlock("missing", "pw")


def test_password_sources(tmp_path: Path) -> None:
    password_file = tmp_path / "pw"
    password_file.write_text("from-file\nignored\n")
    assert read_password("from-env", password_file, None) == "from-env"
    assert read_password(None, password_file, None) == "from-file"
    assert read_password(None, None, lambda: "typed") == "typed"
    with pytest.raises(SigningKeyError, match="ANCHOR_KEY_PASSWORD"):
        read_password(None, None, None)


def test_development_keys_are_refused_on_public_chains() -> None:
    dev = development_accounts()
    assert dev[0].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil's account 0
    for chain_id in (137, 80002):
        with pytest.raises(SigningKeyError, match="well-known development key"):
            refuse_development_key(dev[3], chain_id)
    refuse_development_key(dev[3], 31337)  # fine locally
    small = Account.from_key((1).to_bytes(32, "big"))
    assert is_development_key(small)
    with pytest.raises(SigningKeyError):
        refuse_development_key(small, 137)
    refuse_development_key(Account.create(), 137)  # a fresh key is fine
