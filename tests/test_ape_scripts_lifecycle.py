"""The registry's whole lifecycle from ape scripts (``scripts/``, ``ape run``) on a real anvil node (issue 15).

Deploy, register an issuer, add and remove a signer, anchor a batch built by ``anchor`` (a tree dump, and a
``built`` batch of the issuer database that ``anchor batch run`` then adopts), revoke credentials and a batch,
pause and unpause, transfer the admin role. Every script prints its transaction and turns the registry's
refusals into sentences; development accounts are refused on Polygon (a chain-137 look-alike).

The scripts run in this process through ape's own command line (``ape run``; ape's start-up, 3-5 s a
process, is paid once); tests/test_operator_cli.py runs ``ape run`` as a separate process.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from ape import networks
from ape._cli import cli as ape_cli
from ape_test.accounts import TestAccount
from click.testing import CliRunner, Result
from eth_account import Account

from anchor.chain.connection import connect
from anchor.chain.keys import development_accounts
from anchor.chain.registry import Registry
from anchor.chain.registry_abi import CredentialStatus
from anchor.chain.transactions import TxPolicy
from anchor.config import Settings, load_settings
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.receipt import LEAF_ENCODING
from anchor.errors import SigningKeyError
from anchor.frameworks.ape_support import connect as connect_ape
from anchor.issuing.batch import build_tree
from anchor.issuing.intake import prepare_credential
from anchor.issuing.service import IssuerService
from anchor.issuing.store import Store
from anchor.merkle import StandardMerkleTree

from support.anvil import StartAnvil

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
DEV = development_accounts()
ISSUER = issuer_for_country("ES")


@pytest.fixture(autouse=True)
def _in_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # `ape run NAME` finds scripts/NAME.py of the project it runs in


def ape_run(home: Path, rpc: str, script: str, *args: str) -> Result:
    runner = CliRunner(env={"ANCHOR_HOME": str(home)})
    return runner.invoke(ape_cli, ["run", script, "--network", rpc, *args], catch_exceptions=False)


def ok(run: Result) -> str:
    assert run.exit_code == 0, run.output
    return run.output


def refused(run: Result, sentence: str) -> None:
    assert run.exit_code != 0, run.output
    assert sentence in run.output


def dump_of(digests: list[bytes], indices: list[int] | None = None) -> dict[str, object]:
    values = [(digest, index) for digest, index in zip(digests, indices or range(len(digests)), strict=True)]
    return dict(StandardMerkleTree.of(values, list(LEAF_ENCODING)).dump())


def test_the_whole_lifecycle_from_ape_scripts(anvil: Settings, tmp_path: Path) -> None:
    home = tmp_path / "home"
    rpc = f"http://127.0.0.1:{anvil.node_port}"
    settings = load_settings(environ={"ANCHOR_HOME": str(home), "ANCHOR_NODE_PORT": str(anvil.node_port)})

    deployed = ok(ape_run(home, rpc, "deploy", "--account", "TEST::0"))
    assert "transaction: deploy CredentialRegistry(adminTransferDelay=0, initialAdmin=" in deployed
    assert "mined: tx 0x" in deployed
    chain = connect(settings)
    registry = Registry.at(chain, json.loads((home / "deployments/31337.json").read_text())["address"])

    registered = ok(
        ape_run(home, rpc, "register_issuer", "--account", "TEST::0", "--name", ISSUER.name, "--country",
                ISSUER.country_code, "--uri", ISSUER.id, "--signer", DEV[1].address)
    )  # fmt: skip
    assert "transaction: registerIssuer(name=" in registered
    assert "issuer 1 registered in tx 0x" in registered
    assert ok(ape_run(home, rpc, "govern", "--account", "TEST::0", "add-signer", "1", DEV[2].address.lower()))
    assert registry.signer(DEV[2].address).active
    refused(
        ape_run(home, rpc, "govern", "--account", "TEST::3", "pause"),
        f"{DEV[3].address} is not the registry admin (AccessControlUnauthorizedAccount)",
    )

    # a tree dump: anchored, then refused as a duplicate; a dump whose leaves are not at their own index, refused
    digests = [bytes([n]) * 32 for n in range(1, 6)]
    dump = tmp_path / "tree.json"
    dump.write_text(json.dumps(dump_of(digests)))
    anchored = ok(ape_run(home, rpc, "anchor_batch", "--account", "TEST::1", "--dump", str(dump)))
    assert "transaction: anchor(root=0x" in anchored
    assert "anchored as on-chain batch 1" in anchored
    tree = StandardMerkleTree.load(json.loads(dump.read_text()))
    assert registry.batch(1).root == tree.root
    assert registry.batch(1).size == 5
    refused(
        ape_run(home, rpc, "anchor_batch", "--account", "TEST::2", "--dump", str(dump)),
        f"issuer 1 anchored root {tree.root} already, as batch 1 (CredentialRegistryDuplicateRoot)",
    )
    shuffled = tmp_path / "shuffled.json"
    shuffled.write_text(json.dumps(dump_of(digests, [1, 0, 2, 3, 4])))
    refused(ape_run(home, rpc, "anchor_batch", "--account", "TEST::1", "--dump", str(shuffled)), "carries index 1")

    # revocation: two credentials, then the whole batch, then the batch again (refused)
    ok(ape_run(home, rpc, "revoke", "--account", "TEST::1", "--reason", "fraud", "--batch", "1", "--index", "3"))
    proof = tree.get_proof(3)
    assert registry.credential_status(1, 3, digests[3], proof).status == CredentialStatus.REVOKED
    assert registry.credential_status(1, 2, digests[2], tree.get_proof(2)).status == CredentialStatus.VALID
    ok(ape_run(home, rpc, "revoke", "--account", "TEST::2", "--reason", "key-compromise", "--batch", "1"))
    assert registry.credential_status(1, 2, digests[2], tree.get_proof(2)).status == CredentialStatus.BATCH_REVOKED
    refused(
        ape_run(home, rpc, "revoke", "--account", "TEST::1", "--reason", "fraud", "--batch", "1"),
        "batch 1 is revoked already (CredentialRegistryBatchAlreadyRevoked)",
    )

    # a batch the issuer database holds as built: anchored by ape, then adopted by the issuer service
    with Store.open(settings) as store:
        credentials = generate_credentials(3, seed=1515, issuer=ISSUER, salted=False)
        store.queue([prepare_credential(c) for c in credentials])
        built = store.build_batch(10, 31337, registry.address, DEV[1].address, build_tree)
        assert built is not None
    from_store = ok(ape_run(home, rpc, "anchor_batch", "--account", "TEST::1", "--batch", str(built.id)))
    assert f"batch {built.id} of the issuer database: 3 credential(s), root {built.root}" in from_store
    assert "anchored as on-chain batch 2" in from_store
    refused(
        ape_run(home, rpc, "anchor_batch", "--account", "TEST::1", "--batch", str(built.id + 1)),
        f"no batch {built.id + 1} in the issuer database",
    )
    with Store.open(settings) as store:
        policy = TxPolicy(finality="finalized", stuck_after=5.0, poll=0.1)
        (summary,) = IssuerService(store, registry, DEV[1], policy, tmp_path / "receipts").run(max_size=10)
        assert summary.adopted
        assert summary.onchain_batch_id == 2
        assert len(list(summary.receipts.glob("*.json"))) == 3
        assert store.get_batch(built.id).state == "anchored"
    refused(
        ape_run(home, rpc, "anchor_batch", "--account", "TEST::1", "--batch", str(built.id)),
        "is anchored already, as on-chain batch 2",
    )

    # governance: signers, issuer state, pausing, admin transfer
    ok(ape_run(home, rpc, "govern", "--account", "TEST::0", "remove-signer", DEV[2].address))
    assert not registry.signer(DEV[2].address).active
    ok(ape_run(home, rpc, "govern", "--account", "TEST::0", "pause"))
    assert registry.admin_status().paused
    refused(
        ape_run(home, rpc, "anchor_batch", "--account", "TEST::1", "--dump", str(dump)),
        "the registry is paused: anchoring is stopped until the admin unpauses it (EnforcedPause)",
    )
    ok(ape_run(home, rpc, "govern", "--account", "TEST::0", "unpause"))
    ok(ape_run(home, rpc, "govern", "--account", "TEST::0", "transfer-admin", DEV[4].address))
    schedule = registry.admin_status().pending_from
    deadline = time.monotonic() + 30
    while chain.w3.eth.get_block("latest")["timestamp"] <= schedule and time.monotonic() < deadline:
        time.sleep(0.2)  # the new admin accepts once a block is later than the schedule (delay 0)
    ok(ape_run(home, rpc, "govern", "--account", "TEST::4", "accept-admin"))
    assert registry.admin_status().admin == DEV[4].address


def test_development_accounts_are_refused_on_polygon(anvil_nodes: StartAnvil, tmp_path: Path) -> None:
    polygon = anvil_nodes("polygon", chain_id=137)
    rpc = f"http://127.0.0.1:{polygon.node_port}"
    home = tmp_path / "home"
    run = ape_run(home, rpc, "deploy", "--account", "TEST::0")
    refused(run, f"refusing to sign on chain 137 (polygon:mainnet:{rpc}) with development account {DEV[0].address}")
    assert "its private key is public" in run.output
    assert "transaction:" not in run.output
    assert not (home / "deployments").exists()

    # any ape test account (its mnemonic is in ape-config.yaml or ape's default), not only the well-known ones
    other = Account.create()
    test_account = TestAccount(index=25, address_str=other.address, private_key=other.key.to_0x_hex())
    with networks.parse_network_choice(rpc), pytest.raises(SigningKeyError, match="its private key is public"):
        connect_ape(test_account)
