"""Configuration precedence and masking; encrypted keystores; development keys refused on public chains."""

from __future__ import annotations

import dataclasses
import json
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from anchor.chain.keys import Keystore, development_accounts, is_development_key, read_password, refuse_development_key
from anchor.config import (
    _CONVERTERS,
    ENV_VARIABLES,
    NETWORK_NAMES,
    NetworkName,
    Secret,
    Settings,
    load_settings,
)
from anchor.errors import InvalidInputError, SigningKeyError
from anchor.networks import get_network, is_public_chain
from anchor.urls import mask_url

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


def test_importing_the_configuration_skips_pydantic() -> None:
    code = "import sys, anchor.config; assert 'pydantic' not in sys.modules, 'pydantic was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_field_has_a_check() -> None:
    assert list(_CONVERTERS) == [field.name for field in dataclasses.fields(Settings)]
    assert NetworkName.__args__ == NETWORK_NAMES  # type: ignore[attr-defined]


def test_direct_construction_converts_and_checks(tmp_path: Path) -> None:
    settings = Settings(home=str(tmp_path), node_port=9000, node_block_time=0.25)  # type: ignore[arg-type]
    assert isinstance(settings.home, Path)
    assert settings.home == tmp_path
    assert (settings.node_port, settings.node_block_time, settings.network) == (9000, 0.25, "local")
    assert Settings() == Settings(home=Path(".anchor"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.network = "amoy"  # type: ignore[misc]
    with pytest.raises(InvalidInputError, match=r"network: 'mainnet' .*; node_port: 0 ") as info:
        Settings(node_port=0, network="mainnet")  # type: ignore[arg-type]
    assert str(info.value).startswith("invalid settings:")
    with pytest.raises(InvalidInputError, match="stuck_after"):
        dataclasses.replace(settings, stuck_after=0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("node_port", "0"),
        ("node_port", "65536"),
        ("node_port", "-1"),
        ("node_port", "80.5"),
        ("node_port", "abc"),
        ("node_port", "8_545"),
        ("node_port", "\u0668\u0665\u0664\u0665"),  # Arabic-Indic digits, which int() would take
        ("node_block_time", "0"),
        ("node_block_time", "-0.5"),
        ("node_block_time", "nan"),
        ("node_block_time", "soon"),
        ("max_fee_gwei", "0"),
        ("max_fee_gwei", "-3"),
        ("max_fee_gwei", "inf"),
        ("stuck_after", "0"),
        ("stuck_after", "-60"),
        ("stuck_after", "6_0"),
        ("stuck_after", "\u0666\u0660"),
        ("network", "mainnet"),
        ("network", "Polygon"),
        ("rpc_url", "ftp://rpc.example"),
        ("rpc_url", "127.0.0.1:8545"),
        ("finality", "0"),
        ("finality", "-2"),
        ("finality", "final"),
        ("finality", "1.5"),
        ("finality", "\u0661\u0662"),
    ],
)
def test_each_rule_names_the_field_and_the_value(tmp_path: Path, field: str, value: str) -> None:
    variable = next(name for name, target in ENV_VARIABLES.items() if target == field)
    with pytest.raises(InvalidInputError, match=f"{field}: .*{re.escape(value)}") as info:
        load_settings({variable: value}, home=tmp_path)
    assert str(info.value).startswith(f"invalid configuration ({tmp_path / 'config.toml'} and ANCHOR_* variables): ")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("node_port", 1),
        ("node_port", 65535),
        ("node_block_time", 0.001),
        ("max_fee_gwei", 500),
        ("stuck_after", 1),
        ("network", "amoy"),
        ("rpc_url", "wss://rpc.example/ws"),
        ("rpc_url", "http://127.0.0.1:8545"),
        ("finality", "safe"),
        ("finality", "latest"),
        ("finality", "1"),
    ],
)
def test_each_rule_accepts_its_edge_values(tmp_path: Path, field: str, value: Any) -> None:
    assert getattr(Settings(home=tmp_path, **{field: value}), field) == value


def test_a_refused_rpc_url_is_shown_masked(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidInputError, match=r"rpc_url: 'ftp://user:\*\*\*\*@rpc.example/\*\*\*\*' .*scheme 'ftp'"
    ) as info:
        load_settings({"ANCHOR_RPC_URL": "ftp://user:pw@rpc.example/SECRETAPIKEY"}, home=tmp_path)
    assert "SECRETAPIKEY" not in str(info.value)


def test_environment_strings_become_the_field_types(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "ANCHOR_NODE_PORT": " 9100 ",
            "ANCHOR_NODE_BLOCK_TIME": "0.5",
            "ANCHOR_MAX_FEE_GWEI": "250",
            "ANCHOR_STUCK_AFTER": "30",
            "ANCHOR_FINALITY": "12",
            "ANCHOR_KEY_PASSWORD": "hunter2",
            "ANCHOR_KEY_PASSWORD_FILE": str(tmp_path / "pw"),
            "ANCHOR_NETWORK": "amoy",
        },
        home=str(tmp_path),
    )
    assert settings.home == tmp_path
    assert [(type(value), value) for value in (settings.node_port, settings.node_block_time)] == [
        (int, 9100),
        (float, 0.5),
    ]
    assert [(type(value), value) for value in (settings.max_fee_gwei, settings.stuck_after)] == [
        (float, 250),
        (float, 30),
    ]
    assert (settings.finality, settings.finality_policy) == ("12", 12)
    assert isinstance(settings.key_password, Secret)
    assert settings.key_password.get_secret_value() == "hunter2"
    assert settings.key_password_file == tmp_path / "pw"
    assert settings.network == "amoy"
    assert load_settings({"ANCHOR_FINALITY": "safe"}, home=tmp_path).finality_policy == "safe"


def test_toml_values_of_the_wrong_type_name_the_field(tmp_path: Path) -> None:
    for line, field in [
        ('node_port = "abc"', "node_port"),
        ("node_port = true", "node_port"),
        ("node_block_time = false", "node_block_time"),
        ("rpc_url = 8545", "rpc_url"),
        ('network = ["amoy"]', "network"),
        ('key_password_file = ""', "key_password_file"),
    ]:
        (tmp_path / "config.toml").write_text(line + "\n")
        with pytest.raises(InvalidInputError, match=f"{field}: "):
            load_settings({}, home=tmp_path)
    (tmp_path / "config.toml").write_text(
        'node_port = 9000.0\nfinality = 3\nstuck_after = 5\nkey_password_file = "pw"\n'
    )
    settings = load_settings({}, home=tmp_path)
    assert (settings.node_port, settings.finality, settings.stuck_after) == (9000, "3", 5.0)
    assert settings.key_password_file == Path("pw")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('netwrok = "amoy"\nnode_port = 0\n')
    with pytest.raises(InvalidInputError) as info:
        load_settings({"ANCHOR_STUCK_AFTER": "-1", "ANCHOR_FINALITY": "never"}, home=tmp_path)
    message = str(info.value)
    assert message.count("; ") == 3
    for field in ("netwrok", "node_port", "stuck_after", "finality"):
        assert f"{field}: " in message


def test_unknown_keys_suggest_the_closest_setting(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('netwrok = "amoy"\n')
    with pytest.raises(InvalidInputError, match=r"netwrok: not a setting \(did you mean 'network'\?\)"):
        load_settings({}, home=tmp_path)
    (tmp_path / "config.toml").write_text("nodeport = 9000\n")
    with pytest.raises(InvalidInputError, match="did you mean 'node_port'"):
        load_settings({}, home=tmp_path)
    (tmp_path / "config.toml").write_text("colour = 1\n")
    with pytest.raises(InvalidInputError, match="colour: not a setting; known: home, network"):
        load_settings({}, home=tmp_path)
    with pytest.raises(InvalidInputError, match="registy: not a setting"):
        load_settings({}, home=tmp_path / "x", registy="0x00")


def test_the_key_password_is_masked_everywhere(tmp_path: Path) -> None:
    secret = Secret("hunter2")
    assert secret.get_secret_value() == "hunter2"
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret])):
        assert "hunter2" not in shown
        assert "****" in shown
    assert secret == Secret("hunter2")
    assert secret != Secret("other")
    assert secret != "hunter2"
    assert not Secret("")
    settings = load_settings({"ANCHOR_KEY_PASSWORD": "hunter2"}, home=tmp_path)
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings)
    assert settings.key_password == secret
    with pytest.raises(InvalidInputError) as info:
        Settings(key_password=12345)  # type: ignore[arg-type]
    assert "key_password: expected a string" in str(info.value)
    assert "12345" not in str(info.value)


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
