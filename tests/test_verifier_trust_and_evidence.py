"""Issue 14, faults 6 and 7: where a verifier's trust comes from, and what it shows as evidence.

6. ``anchor verify`` and ``anchor serve`` take trust only from the user's own configuration (``--home``,
   ``ANCHOR_HOME`` or the per-user ``$XDG_CONFIG_HOME/anchor``), never from the ``.anchor`` of the directory
   they run in, and say where each trusted registry came from.
7. The awarding body shown is the registered one, and a credential claiming another name or country is
   INVALID; a receipt's ``transactionHash`` and ``anchoredAt`` are checked against the batch's
   ``BatchAnchored`` event and record, and a forged one is never shown as evidence.

Against a real anvil chain: a trusted registry with two issuers (one registered with its name in NFD), a
look-alike registry someone else deployed, and one batch holding credentials that claim other names and
countries than the registered ones.
"""

from __future__ import annotations

import copy
import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from anchor.chain.connection import Chain, connect, wait_for_block
from anchor.chain.deployments import Deployment, artifact_hash, record_deployment
from anchor.chain.registry import Registry
from anchor.cli import main
from anchor.config import Settings, load_with_origins, user_home
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.errors import InvalidInputError
from anchor.verifier import (
    CheckState,
    Verdict,
    Verification,
    Verifier,
    configured_trust,
    trusted_from_deployments,
)
from anchor.web import WebConfig, create_app

from support.browser import chromium, screenshot, served, verdict_of
from support.verifier_world import DEV, NOW, RpcProxy, anchor_batch

DE = issuer_for_country("DE")
FR = issuer_for_country("FR")
FORGED_TX = "0x" + "ab" * 32
#: Variables that would override what a test sets up: unset for every command run here.
UNSET = dict.fromkeys(
    ["ANCHOR_HOME", "ANCHOR_RPC_URL", "ANCHOR_REGISTRY", "ANCHOR_NETWORK", "ANCHOR_NODE_PORT", "XDG_CONFIG_HOME"]
)


# ---------------------------------------------------------------------------------------------- the per-user home


def test_the_per_user_home_is_the_xdg_config_home_or_dot_config(tmp_path: Path) -> None:
    assert user_home({"XDG_CONFIG_HOME": str(tmp_path), "HOME": "/nowhere"}) == tmp_path / "anchor"
    assert user_home({"HOME": str(tmp_path)}) == tmp_path / ".config" / "anchor"
    # a relative XDG_CONFIG_HOME would name a folder under the current directory: ignored, as XDG says
    assert user_home({"XDG_CONFIG_HOME": ".anchor", "HOME": str(tmp_path)}) == tmp_path / ".config" / "anchor"
    with pytest.raises(InvalidInputError, match="ANCHOR_HOME"):
        user_home({"HOME": "relative"})


def test_verifier_settings_never_read_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = tmp_path / "sent"
    (sent / ".anchor").mkdir(parents=True)
    (sent / ".anchor" / "config.toml").write_text('rpc_url = "http://evil.example:8545"\nregistry = "0x1"\n')
    mine = tmp_path / "xdg" / "anchor"
    mine.mkdir(parents=True)
    (mine / "config.toml").write_text('rpc_url = "http://127.0.0.1:9999"\n')
    monkeypatch.chdir(sent)
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}

    settings, origins = load_with_origins(environ, per_user=True)
    assert settings.resolved_home == mine
    assert (settings.rpc_url, settings.registry) == ("http://127.0.0.1:9999", None)
    assert origins["rpc_url"] == str(mine / "config.toml")
    assert origins["home"] == "per-user default"

    explicit, origins = load_with_origins({**environ, "ANCHOR_HOME": ".anchor"}, per_user=True)
    assert explicit.rpc_url == "http://evil.example:8545"  # the user named it: their choice
    assert origins["home"] == "ANCHOR_HOME"
    # the issuer commands keep their project home
    project, _ = load_with_origins(environ)
    assert project.resolved_home == sent / ".anchor"


def test_each_trusted_registry_says_where_it_came_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    home = tmp_path / ".config" / "anchor"
    address = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    record_deployment(
        home / "deployments",
        Deployment(31337, address, 1, "0x" + "11" * 32, address, address, 0, artifact_hash(), "local"),
    )
    trusted = configured_trust(home / "deployments", address, [address], str(home / "config.toml"))
    assert [item.source for item in trusted] == [
        "deployment record ~/.config/anchor/deployments/31337.json",  # no user name on a public page
        "registry setting (~/.config/anchor/config.toml)",
        "--registry option",
    ]
    assert configured_trust(tmp_path / "none", address)[0].source == "registry setting (ANCHOR_REGISTRY)"


# ---------------------------------------------------------------------------------------------- a chain


@dataclass
class Trial:
    """A trusted registry and a look-alike on one chain, receipts by name, and the user's own home."""

    chain: Chain
    registry: Registry
    lookalike: Registry
    user_config: Path
    """``XDG_CONFIG_HOME`` of the user: ``anchor/deployments/<chain>.json`` records the trusted registry."""
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def rpc_url(self) -> str:
        return self.chain.rpc_url

    @property
    def deployments(self) -> Path:
        return self.user_config / "anchor" / "deployments"

    def receipt(self, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.receipts[name])


def _record(chain: Chain, registry: Registry, deployed: Any, folder: Path, deployer: str) -> None:
    record_deployment(
        folder,
        Deployment(
            chain_id=chain.chain_id,
            address=registry.address,
            block=int(deployed["blockNumber"]),
            tx_hash=deployed["transactionHash"].to_0x_hex(),
            deployer=deployer,
            admin=deployer,
            admin_delay=0,
            artifact_hash=artifact_hash(),
            network="local",
        ),
    )


@pytest.fixture(scope="module")
def trial(anvil: Settings, tmp_path_factory: pytest.TempPathFactory) -> Trial:
    chain = connect(anvil)
    registry, deployed = Registry.deploy(chain, DEV[0], DEV[0].address, 0)
    registry.register_issuer(DEV[0], DE.name, "DE", DE.id, [DEV[1].address])
    # registered with its name decomposed (NFD), as some keyboards send it; its credentials carry NFC text
    registry.register_issuer(DEV[0], unicodedata.normalize("NFD", FR.name), "FR", FR.id, [DEV[2].address])
    user_config = tmp_path_factory.mktemp("xdg-config")
    trial = Trial(chain, registry, registry, user_config)
    _record(chain, registry, deployed, trial.deployments, DEV[0].address)

    de = list(generate_credentials(4, seed=61, issuer=DE))
    de[1]["issuer"]["name"] = f"{DE.name} (Online Campus)"
    de[2]["issuer"]["name"] = DE.name.upper()
    de[3]["issuer"]["address"]["addressCountryCode"] = "AT"
    batch = anchor_batch(chain, registry, DEV[1], copy.deepcopy(de))
    trial.receipts.update(zip(["valid", "other-name", "upper-name", "other-country"], batch, strict=True))
    fr = list(generate_credentials(1, seed=62, issuer=FR))
    trial.receipts["registered-in-nfd"] = anchor_batch(chain, registry, DEV[2], fr)[0]

    # someone else's registry: the same issuer name and DID, their own key, the same credential
    trial.lookalike, lookalike_deployed = Registry.deploy(chain, DEV[5], DEV[5].address, 0)
    trial.lookalike.register_issuer(DEV[5], DE.name, "DE", DE.id, [DEV[7].address])
    trial.receipts["lookalike"] = anchor_batch(chain, trial.lookalike, DEV[7], [de[0]])[0]
    _record(chain, trial.lookalike, lookalike_deployed, user_config / "attacker-deployments", DEV[5].address)
    wait_for_block(chain, int(chain.w3.eth.block_number), "finalized", timeout=30)
    return trial


@pytest.fixture(scope="module")
def verifier(trial: Trial) -> Iterator[Verifier]:
    with Verifier([trial.rpc_url], trusted_from_deployments(trial.deployments)) as made:
        yield made


@pytest.fixture
def proxy(trial: Trial) -> Iterator[RpcProxy]:
    made = RpcProxy(trial.rpc_url)
    yield made
    made.close()


def check(verifier: Verifier, receipt: dict[str, Any]) -> Verification:
    return verifier.verify(json.dumps(receipt), now=NOW)


def assert_fails(result: Verification, name: str, code: str) -> str:
    assert result.verdict is Verdict.INVALID, result.to_json()
    failed = result.check(name)
    assert (failed.state, failed.code) == (CheckState.FAILED, code), result.to_json()
    return failed.reason


# ---------------------------------------------------------------------------------------------- 6. trust


@pytest.fixture
def sent_folder(trial: Trial, proxy: RpcProxy, tmp_path: Path) -> Path:
    """A folder someone sent: receipts, and an .anchor trusting their registry through their endpoint."""
    folder = tmp_path / "sent"
    hostile = folder / ".anchor"
    (hostile / "deployments").mkdir(parents=True)
    attacker = trial.user_config / "attacker-deployments" / "31337.json"
    (hostile / "deployments" / "31337.json").write_bytes(attacker.read_bytes())
    (hostile / "config.toml").write_text(f'network = "local"\nrpc_url = "{proxy.url}"\n', encoding="utf-8")
    for name in ("valid", "lookalike"):
        (folder / f"{name}.json").write_text(json.dumps(trial.receipts[name]), encoding="utf-8")
    return folder


def run_here(trial: Trial, *args: str, home: Path | None = None) -> Result:
    """``anchor ARGS`` with the user's own configuration: ``XDG_CONFIG_HOME`` and a HOME of their own."""
    (trial.user_config / "anchor" / "config.toml").write_text(f'rpc_url = "{trial.rpc_url}"\n', encoding="utf-8")
    env = {**UNSET, "XDG_CONFIG_HOME": str(trial.user_config), "HOME": str(trial.user_config / "home")}
    if home is not None:
        env["ANCHOR_HOME"] = str(home)
    return CliRunner(mix_stderr=False).invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.mark.slow
def test_verify_inside_a_sent_folder_ignores_its_anchor_home(
    trial: Trial, sent_folder: Path, proxy: RpcProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(sent_folder)
    theirs = run_here(trial, "verify", "lookalike.json")
    assert theirs.exit_code == 1, theirs.output
    assert "UNTRUSTED REGISTRY" in theirs.stdout
    assert f"not a trusted registry on chain 31337 (local) (trusted: {trial.registry.address})" in theirs.stdout
    assert ".anchor in this directory is ignored" in theirs.stderr

    genuine = run_here(trial, "verify", "valid.json")
    assert genuine.exit_code == 0, genuine.output
    source = f"deployment record {trial.deployments / '31337.json'}"
    assert f"trusted (deployment record {trial.deployments / '31337.json'})" in genuine.stdout
    assert f"registry trusted from {source}" in genuine.stdout

    as_json = json.loads(run_here(trial, "verify", "--json", "valid.json").stdout)
    assert as_json["evidence"]["registryTrustedBy"] == source
    assert proxy.requests == []  # the endpoint their config.toml names was never asked


@pytest.mark.slow
def test_an_explicit_home_is_the_users_choice(
    trial: Trial, sent_folder: Path, proxy: RpcProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(sent_folder)
    chosen = run_here(trial, "verify", "lookalike.json", home=Path(".anchor"))
    assert chosen.exit_code == 0, chosen.output  # told to trust it, it does, and says where from
    assert f"deployment record {sent_folder / '.anchor' / 'deployments' / '31337.json'}" in chosen.stdout
    assert proxy.requests  # and its config.toml's endpoint is the one asked
    assert "ignored" not in chosen.stderr


@pytest.mark.slow
def test_serve_inside_a_sent_folder_trusts_only_the_users_configuration(
    trial: Trial, sent_folder: Path, proxy: RpcProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    import anchor.web

    configs: list[WebConfig] = []
    monkeypatch.setattr(anchor.web, "create_app", lambda config: configs.append(config) or object())
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    monkeypatch.chdir(sent_folder)
    result = run_here(trial, "serve", "--registry", trial.registry.address)
    assert result.exit_code == 0, result.output
    (config,) = configs
    assert list(config.rpc_urls) == [trial.rpc_url]
    trusted = [(item.address, item.chain_id, item.source) for item in config.trusted]  # type: ignore[union-attr]
    assert trusted == [
        (trial.registry.address, 31337, f"deployment record {trial.deployments / '31337.json'}"),
        (trial.registry.address, None, "--registry option"),
    ]
    assert f"from deployment record {trial.deployments / '31337.json'}" in result.stdout
    assert ".anchor in this directory is ignored" in result.stderr


# ---------------------------------------------------------------------------------------------- 7. issuer identity


@pytest.mark.slow
def test_a_valid_receipt_shows_the_registered_issuer_and_the_confirmed_transaction(
    trial: Trial, verifier: Verifier
) -> None:
    receipt = trial.receipt("valid")
    result = check(verifier, receipt)
    assert result.verdict is Verdict.VALID, result.to_json()
    evidence = result.to_json()["evidence"]
    assert (evidence["issuerName"], evidence["issuerCountry"], evidence["issuerUri"]) == (DE.name, "DE", DE.id)
    assert evidence["transactionHashOnChain"] == receipt["proof"]["transactionHash"]
    assert evidence["registryTrustedBy"] == trusted_from_deployments(trial.deployments)[0].source
    assert evidence["registryTrustedBy"].endswith("/anchor/deployments/31337.json")
    assert receipt["proof"]["transactionHash"][:10] in result.check("anchored").reason


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "code", "claimed"),
    [
        ("other-name", "issuer-name-mismatch", f"{DE.name} (Online Campus)"),
        ("upper-name", "issuer-name-mismatch", DE.name.upper()),
        ("other-country", "issuer-country-mismatch", "AT"),
    ],
)
def test_a_claimed_issuer_name_or_country_that_is_not_the_registered_one_is_invalid(
    trial: Trial, verifier: Verifier, name: str, code: str, claimed: str
) -> None:
    result = check(verifier, trial.receipt(name))
    reason = assert_fails(result, "issuer", code)
    assert result.status == "WRONG ISSUER"
    assert repr(claimed) in reason
    assert repr(DE.name) in reason  # the registered name, to compare with
    assert result.check("integrity").state is CheckState.PASSED  # anchored exactly as it is
    assert result.evidence is not None
    assert result.evidence.issuer_name == DE.name


@pytest.mark.slow
def test_a_name_registered_in_nfd_matches_the_same_name_in_nfc(trial: Trial, verifier: Verifier) -> None:
    receipt = trial.receipt("registered-in-nfd")
    assert receipt["issuer"]["name"] == unicodedata.normalize("NFC", FR.name) != unicodedata.normalize("NFD", FR.name)
    result = check(verifier, receipt)
    assert result.verdict is Verdict.VALID, result.to_json()
    assert result.evidence is not None
    assert result.evidence.issuer_name == unicodedata.normalize("NFD", FR.name)  # shown as registered


@pytest.mark.slow
def test_a_receipt_naming_another_issuer_id_shows_no_issuer_as_the_anchoring_one(
    trial: Trial, verifier: Verifier
) -> None:
    receipt = trial.receipt("valid")
    receipt["proof"]["issuerId"] = 2  # the French issuer: registered, but it did not anchor this batch
    result = check(verifier, receipt)
    assert_fails(result, "issuer", "issuer-id-mismatch")
    evidence = result.to_json()["evidence"]
    assert (evidence["issuerName"], evidence["issuerUri"], evidence["issuerCountry"]) == (None, None, None)


# ---------------------------------------------------------------------------------------------- 7. transaction, time


@pytest.mark.slow
def test_a_forged_transaction_hash_is_invalid_and_never_shown_as_evidence(trial: Trial, verifier: Verifier) -> None:
    receipt = trial.receipt("valid")
    real = receipt["proof"]["transactionHash"]
    receipt["proof"]["transactionHash"] = FORGED_TX
    result = check(verifier, receipt)
    reason = assert_fails(result, "anchored", "transaction-mismatch")
    assert result.status == "WRONG TRANSACTION"
    assert real[:10] in reason
    assert FORGED_TX[:10] in reason
    evidence = result.to_json()["evidence"]
    assert evidence["transactionHashOnChain"] == real
    assert evidence["transactionHash"] == FORGED_TX  # the claim, kept apart from what the chain says
    assert FORGED_TX not in json.dumps(evidence["explorer"])


@pytest.mark.slow
def test_a_forged_anchoring_time_is_invalid(trial: Trial, verifier: Verifier) -> None:
    receipt = trial.receipt("valid")
    claimed = datetime.fromisoformat(receipt["proof"]["anchoredAt"].replace("Z", "+00:00"))
    receipt["proof"]["anchoredAt"] = (claimed - timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = check(verifier, receipt)
    reason = assert_fails(result, "anchored", "anchored-at-mismatch")
    assert claimed.strftime("%Y-%m-%d %H:%M:%S UTC") in reason
    # the same instant written in another zone is the same time
    receipt["proof"]["anchoredAt"] = claimed.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert check(verifier, receipt).verdict is Verdict.VALID


def _log_with_transaction(transaction: str) -> Any:
    def lie(request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any] | None:
        if request["method"] != "eth_getLogs":
            return None
        logs = [dict(log, transactionHash=transaction) for log in response["result"]]
        return {**response, "result": logs}

    return lie


@pytest.mark.slow
def test_endpoints_that_disagree_on_the_anchoring_transaction_are_not_believed(trial: Trial, proxy: RpcProxy) -> None:
    receipt = trial.receipt("valid")
    receipt["proof"]["transactionHash"] = FORGED_TX
    proxy.lie = _log_with_transaction(FORGED_TX)  # a lying endpoint backs the forged receipt
    trusted = trusted_from_deployments(trial.deployments)
    with Verifier([trial.rpc_url, proxy.url], trusted) as verifier:
        reason = assert_fails(check(verifier, receipt), "anchored", "endpoints-disagree")
    assert FORGED_TX in reason
    proxy.lie = lambda request, response: {**response, "result": []} if request["method"] == "eth_getLogs" else None
    with Verifier([proxy.url], trusted) as alone:  # an endpoint that hides the event confirms nothing
        assert_fails(check(alone, trial.receipt("valid")), "anchored", "anchoring-unconfirmed")


@pytest.mark.slow
def test_the_anchoring_event_is_read_once_per_batch(trial: Trial, proxy: RpcProxy) -> None:
    with Verifier([proxy.url], trusted_from_deployments(trial.deployments)) as verifier:
        assert check(verifier, trial.receipt("valid")).verdict is Verdict.VALID
        assert proxy.requests == ["eth_chainId", "eth_call,eth_call", "eth_getLogs"]
        proxy.requests.clear()
        assert_fails(check(verifier, trial.receipt("other-name")), "issuer", "issuer-name-mismatch")
        assert proxy.requests == ["eth_call"]  # the same batch: its event and issuer are known


# ---------------------------------------------------------------------------------------------- the page


@pytest.fixture(scope="module")
def browser(trial: Trial, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    config = WebConfig(rpc_urls=[trial.rpc_url], trusted=trusted_from_deployments(trial.deployments))
    with served(create_app(config)) as server, chromium(tmp_path_factory.mktemp("chromium"), server) as context:
        yield server, context


def show(browser: tuple[str, Any], receipt: dict[str, Any]) -> Any:
    server, context = browser
    page = context.new_page()
    page.goto(server)
    page.fill("#receipt", json.dumps(receipt, ensure_ascii=False))
    page.click("#verify")
    return page


@pytest.mark.slow
def test_the_page_shows_the_registered_awarding_body(trial: Trial, browser: tuple[str, Any]) -> None:
    page = show(browser, trial.receipt("valid"))
    assert verdict_of(page) == ("VALID", "VALID")
    assert page.inner_text('#credential [data-source="registry"]', timeout=5_000) == f"{DE.name} (DE) as registered"
    evidence = page.inner_text("#evidence")
    assert trusted_from_deployments(trial.deployments)[0].source in evidence
    assert trial.receipts["valid"]["proof"]["transactionHash"] in evidence
    screenshot(page, "verify-registered-issuer")
    page.close()


@pytest.mark.slow
def test_the_page_shows_the_registered_name_not_the_claimed_one(trial: Trial, browser: tuple[str, Any]) -> None:
    page = show(browser, trial.receipt("other-name"))
    assert verdict_of(page) == ("INVALID", "WRONG ISSUER")
    assert page.inner_text('#credential [data-source="registry"]', timeout=5_000) == f"{DE.name} (DE) as registered"
    card = page.inner_text("#credential")
    assert f"does not match{DE.name} (Online Campus) (DE)" in card.replace("\n", "").replace("\t", "")
    screenshot(page, "verify-wrong-issuer-name")
    page.close()


@pytest.mark.slow
def test_the_page_never_shows_a_forged_transaction_as_evidence(trial: Trial, browser: tuple[str, Any]) -> None:
    receipt = trial.receipt("valid")
    receipt["proof"]["transactionHash"] = FORGED_TX
    page = show(browser, receipt)
    assert verdict_of(page) == ("INVALID", "WRONG TRANSACTION")
    evidence = page.inner_text("#evidence")
    assert FORGED_TX not in evidence
    assert trial.receipts["valid"]["proof"]["transactionHash"] in evidence
    screenshot(page, "verify-forged-transaction")
    page.close()
