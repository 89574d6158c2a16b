"""Operator tooling end to end against a real anvil node: deploy, issuers, admin, keys, networks, ape scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from web3 import Web3

from anchor.chain.keys import development_accounts
from anchor.chain.registry import Registry
from anchor.cli import main
from anchor.config import Settings

from support.anvil import StartAnvil, free_port

pytestmark = pytest.mark.slow
DEV = development_accounts()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def local_chain(anvil: Settings) -> Settings:
    """The module's anvil node (the ``anvil`` fixture of conftest)."""
    return anvil


@pytest.fixture(scope="module")
def polygon_lookalike(anvil_nodes: StartAnvil) -> Settings:
    """An anvil node reporting chain id 137, standing in for Polygon PoS."""
    return anvil_nodes("node137", chain_id=137)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def run(home: Path, settings: Settings, *args: str, env: dict[str, str] | None = None) -> Result:
    variables = {"ANCHOR_HOME": str(home), "ANCHOR_NODE_PORT": str(settings.node_port), **(env or {})}
    return CliRunner().invoke(main, list(args), env=variables, catch_exceptions=False)


def test_deploy_records_the_registry_and_refuses_a_second_without_force(home: Path, local_chain: Settings) -> None:
    first = run(home, local_chain, "deploy")
    assert first.exit_code == 0, first.output
    record = json.loads((home / "deployments" / "31337.json").read_text())
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{local_chain.node_port}"))
    assert w3.eth.get_code(record["address"]) != b""
    assert record["deployer"] == DEV[0].address
    assert record["artifact_hash"].startswith("0x")
    again = run(home, local_chain, "deploy")
    assert again.exit_code == 2
    assert "--force" in again.output
    forced = run(home, local_chain, "deploy", "--force")
    assert forced.exit_code == 0, forced.output
    assert json.loads((home / "deployments" / "31337.json").read_text())["address"] != record["address"]


def test_a_mistyped_mixed_case_address_is_refused_not_re_checksummed(home: Path) -> None:
    address = DEV[1].address
    at = next(i for i, digit in enumerate(address) if i >= 2 and digit.isalpha())
    mistyped = address[:at] + address[at].swapcase() + address[at + 1 :]  # one letter in the wrong case
    for args, named in [
        (["deploy", "--admin", mistyped], "'--admin'"),
        (
            ["issuer", "register", "--name", "U", "--country", "pl", "--uri", "did:web:u.pl", "--signer", mistyped],
            "'--signer'",
        ),
        (["issuer", "remove-signer", mistyped], "'ADDRESS'"),
    ]:
        refused = CliRunner().invoke(main, args, env={"ANCHOR_HOME": str(home)})
        assert refused.exit_code == 2, refused.output
        assert f"Invalid value for {named}: {mistyped!r} has a wrong EIP-55 checksum" in refused.output
        assert "give it all lower-case" in refused.output


def test_issuer_lifecycle_and_decoded_refusals(home: Path, local_chain: Settings) -> None:
    assert run(home, local_chain, "deploy").exit_code == 0
    registered = run(
        home,
        local_chain,
        "issuer",
        "register",
        "--name",
        "Uniwersytet Łódzki",
        "--country",
        "pl",
        "--uri",
        "did:web:uni.lodz.pl",
        "--signer",
        DEV[1].address,
    )
    assert registered.exit_code == 0, registered.output
    assert "issuer 1 registered" in registered.output
    assert "tx 0x" in registered.output
    listed = run(home, local_chain, "issuer", "list")
    assert "Uniwersytet Łódzki" in listed.output
    assert "PL" in listed.output

    refused = run(home, local_chain, "issuer", "add-signer", "1", DEV[2].address, "--dev-account", "1")
    assert refused.exit_code == 1
    assert f"{DEV[1].address} is not the registry admin (AccessControlUnauthorizedAccount)" in refused.output
    twice = run(home, local_chain, "issuer", "add-signer", "1", DEV[1].address)
    assert twice.exit_code == 1
    assert "CredentialRegistrySignerExists" in twice.output

    assert run(home, local_chain, "issuer", "add-signer", "1", DEV[2].address).exit_code == 0
    # a signer of the issuer may remove a key of its own issuer
    removed = run(home, local_chain, "issuer", "remove-signer", DEV[2].address, "--dev-account", "1")
    assert removed.exit_code == 0, removed.output
    listed = run(home, local_chain, "issuer", "list")
    assert "(removed" in listed.output
    assert run(home, local_chain, "issuer", "deactivate", "1").exit_code == 0
    assert "deactivated" in run(home, local_chain, "issuer", "list").output
    assert run(home, local_chain, "issuer", "reactivate", "1").exit_code == 0
    unknown = run(home, local_chain, "issuer", "deactivate", "9")
    assert "there is no issuer with id 9" in unknown.output


def test_register_refuses_an_identifier_another_issuer_holds(
    home: Path, local_chain: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A look-alike issuer (same DID and name) is refused before sending, and by the contract itself."""
    assert run(home, local_chain, "deploy").exit_code == 0
    heidelberg = ["issuer", "register", "--name", "Universität Heidelberg", "--country", "de"]
    heidelberg += ["--uri", "did:web:uni-heidelberg.de"]
    assert run(home, local_chain, *heidelberg).exit_code == 0
    assert run(home, local_chain, "issuer", "deactivate", "1").exit_code == 0
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{local_chain.node_port}"))
    nonce = w3.eth.get_transaction_count(DEV[0].address)
    look_alike = run(home, local_chain, *heidelberg, "--signer", DEV[3].address)
    assert look_alike.exit_code == 2, look_alike.output
    assert "issuer 1, Universität Heidelberg (DE, deactivated " in look_alike.output
    assert "is registered with the identifier 'did:web:uni-heidelberg.de' already" in look_alike.output
    assert "(nothing was sent)" in look_alike.output
    assert w3.eth.get_transaction_count(DEV[0].address) == nonce
    # another registration landing between the pre-check and the transaction: the contract refuses it
    monkeypatch.setattr(Registry, "issuer_id_of", lambda self, uri: 0)
    raced = run(home, local_chain, *heidelberg)
    assert raced.exit_code == 1, raced.output
    assert (
        "issuer 1 is registered with the identifier did:web:uni-heidelberg.de already; an identifier belongs to "
        "one issuer (CredentialRegistryDuplicateIssuerUri)"
    ) in raced.output


def test_pause_and_admin_transfer_with_delay(home: Path, local_chain: Settings) -> None:
    assert run(home, local_chain, "deploy", "--admin-delay", "3600").exit_code == 0
    assert run(home, local_chain, "admin", "pause").exit_code == 0
    assert "paused   True" in run(home, local_chain, "admin", "status").output
    assert run(home, local_chain, "admin", "unpause").exit_code == 0
    transfer = run(home, local_chain, "admin", "transfer", DEV[5].address)
    assert transfer.exit_code == 0, transfer.output
    early = run(home, local_chain, "admin", "accept", "--dev-account", "5")
    assert early.exit_code == 1
    assert "AccessControlEnforcedDefaultAdminDelay" in early.output


def test_rpc_on_another_chain_is_refused(home: Path, local_chain: Settings) -> None:
    result = run(home, local_chain, "deploy", "--network", "amoy", "--rpc", f"http://127.0.0.1:{local_chain.node_port}")
    assert result.exit_code == 1
    assert "is on chain 31337, but network 'amoy' is chain 80002" in result.output


def test_unreachable_rpc_is_a_clear_error(home: Path, local_chain: Settings) -> None:
    result = run(home, local_chain, "deploy", "--rpc", f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 1
    assert "cannot reach the RPC endpoint" in result.output
    assert "anchor node start" in result.output


def test_development_key_refused_on_polygon_but_a_real_key_works(home: Path, polygon_lookalike: Settings) -> None:
    rpc = f"http://127.0.0.1:{polygon_lookalike.node_port}"
    secret = {"ANCHOR_KEY_PASSWORD": "pw-for-tests"}
    no_key = run(home, polygon_lookalike, "deploy", "--network", "polygon", "--rpc", rpc)
    assert no_key.exit_code == 1
    assert "no signing key for chain 137" in no_key.output

    dev_file = home.parent / "dev.key"
    dev_file.write_text(DEV[0].key.hex())
    assert (
        run(home, polygon_lookalike, "key", "import", "dev0", "--private-key-file", str(dev_file), env=secret).exit_code
        == 0
    )
    refused = run(home, polygon_lookalike, "deploy", "--network", "polygon", "--rpc", rpc, "--key", "dev0", env=secret)
    assert refused.exit_code == 1
    assert "well-known development key" in refused.output

    created = run(home, polygon_lookalike, "key", "new", "operator", env=secret)
    assert created.exit_code == 0, created.output
    address = created.output.split()[3]
    w3 = Web3(Web3.HTTPProvider(rpc))
    w3.provider.make_request("anvil_setBalance", [address, hex(10**20)])  # type: ignore[arg-type]
    deployed = run(
        home, polygon_lookalike, "deploy", "--network", "polygon", "--rpc", rpc, "--key", "operator", env=secret
    )
    assert deployed.exit_code == 0, deployed.output
    record = json.loads((home / "deployments" / "137.json").read_text())
    assert record["admin_delay"] == 2 * 24 * 3600  # public chains default to a two-day admin transfer delay
    assert record["network"] == "polygon"
    wrong_password = run(
        home,
        polygon_lookalike,
        "issuer",
        "list",
        "--network",
        "polygon",
        "--rpc",
        rpc,
        "--key",
        "operator",
        env={"ANCHOR_KEY_PASSWORD": "nope"},
    )
    assert wrong_password.exit_code == 0  # reading needs no key: the key is never unlocked


def test_keys_and_config_on_the_command_line(home: Path, local_chain: Settings) -> None:
    env = {"ANCHOR_KEY_PASSWORD": "s3cret-pass", "ANCHOR_RPC_URL": "https://rpc.example/v3/APIKEY123"}
    assert run(home, local_chain, "key", "new", "issuer-key", env=env).exit_code == 0
    listed = run(home, local_chain, "key", "list")
    assert "issuer-key" in listed.output
    private_keys = [line for line in listed.output.split() if len(line) == 66]
    assert private_keys == []
    shown = run(home, local_chain, "config", "show", "--json", env=env)
    assert shown.exit_code == 0
    assert "s3cret-pass" not in shown.output
    assert "APIKEY123" not in shown.output
    wrong = run(home, local_chain, "issuer", "list", "--key", "issuer-key", env={"ANCHOR_KEY_PASSWORD": "bad"})
    assert wrong.exit_code == 1  # no registry recorded yet: a clear error rather than a crash
    assert "anchor deploy" in wrong.output


def test_ape_run_deploy_on_apes_test_network(tmp_path: Path) -> None:
    env = {**os.environ, "ANCHOR_HOME": str(tmp_path / "home"), "SOLCX_BINARY_PATH": str(ROOT / ".solcx")}
    ape = Path(sys.executable).with_name("ape")
    result = subprocess.run(
        [str(ape), "run", "deploy", "--network", "ethereum:local:test", "--account", "TEST::0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((tmp_path / "home" / "deployments" / "1337.json").read_text())
    assert record["deployer"] == DEV[0].address
    assert "CredentialRegistry deployed at" in result.stdout


def test_ape_scripts_govern_a_registry_on_anvil(home: Path, local_chain: Settings) -> None:
    rpc = f"http://127.0.0.1:{local_chain.node_port}"
    env = {**os.environ, "ANCHOR_HOME": str(home), "SOLCX_BINARY_PATH": str(ROOT / ".solcx")}
    ape = str(Path(sys.executable).with_name("ape"))

    def ape_run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ape, "run", *args, "--network", rpc],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    assert ape_run("deploy", "--account", "TEST::0").returncode == 0
    registered = ape_run(
        "register_issuer",
        "--account",
        "TEST::0",
        "--name",
        "Universidad de Salamanca",
        "--country",
        "ES",
        "--uri",
        "did:web:usal.es",
        "--signer",
        DEV[3].address,
    )
    assert registered.returncode == 0, registered.stdout + registered.stderr
    assert "issuer 1 registered" in registered.stdout
    refused = ape_run("govern", "--account", "TEST::3", "pause")
    assert refused.returncode != 0
    assert "is not the registry admin (AccessControlUnauthorizedAccount)" in refused.stdout + refused.stderr
    listed = run(home, local_chain, "issuer", "list")
    assert "Universidad de Salamanca" in listed.output
