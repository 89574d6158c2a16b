"""Status lists on a real chain: issued with entries, anchored, revoked, published, read by Digital Bazaar's library.

One anvil node for the module: credentials are issued the way ``anchor issue`` does (signed v2, with a
``credentialStatus`` entry from the issuer database), anchored, one revoked alone and a whole batch revoked,
then ``anchor status publish`` writes the lists. ``@digitalbazaar/vc-bitstring-status-list`` (checkStatus,
with ``@digitalbazaar/vc`` verifying the list's eddsa-rdfc-2022 proof) must read each credential's status as the
chain has it, and ``anchor verify`` must report a list that disagrees with the chain without changing its verdict.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchor.chain.connection import connect
from anchor.chain.jsonrpc import JsonRpcEndpoint
from anchor.chain.keys import development_accounts
from anchor.chain.registry import Registry
from anchor.chain.registry_abi import REVOCATION_REASONS
from anchor.chain.transactions import TxPolicy
from anchor.cli import main
from anchor.config import Settings
from anchor.credentials.data_integrity import add_proof, sign
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.jsonld import EXTENSION_CONTEXTS
from anchor.credentials.multikey import did_key, did_key_verification_method
from anchor.credentials.receipt import split_receipt
from anchor.credentials.status_list import (
    MIN_ENTRIES,
    StatusBits,
    parse_status_list_credential,
    status_entry_for,
    status_slot,
)
from anchor.errors import ChainError, InvalidInputError
from anchor.issuing.intake import prepare_credential
from anchor.issuing.service import IssuerService
from anchor.issuing.signing import IntakeSigner
from anchor.issuing.signing_keys import IssuerSigner
from anchor.issuing.status_lists import ChainRevocations, PublishedList, publish_status_lists, status_entry_source
from anchor.issuing.store import Store
from anchor.verifier import Verifier
from anchor.verifier.model import CheckState, Verdict
from anchor.verifier.status import StatusListSetup, load_status_list

pytestmark = pytest.mark.slow
DEV = development_accounts()
BASE = "https://uni.example/status"
SCRIPT = Path(__file__).resolve().parent / "js" / "status_list_check.mjs"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = KEY.public_key().public_bytes_raw()
DID = did_key(PUBLIC)
METHOD = did_key_verification_method(PUBLIC)


@dataclasses.dataclass
class World:
    settings: Settings
    registry: Registry
    store: Store
    service: IssuerService
    receipts: dict[str, dict[str, Any]]
    """The receipts by name: valid, revoked (alone), batch-1, batch-2 (their batch revoked), queued has none."""
    folder: Path

    def publish(self, **options: Any) -> list[PublishedList]:
        endpoint = JsonRpcEndpoint(self.settings.effective_rpc_url)
        try:
            chain = ChainRevocations(endpoint, "finalized")
            return publish_status_lists(self.store, signer(), BASE, self.folder, chain, **options)
        finally:
            endpoint.close()

    def list_document(self) -> dict[str, Any]:
        (path,) = sorted(self.folder.glob("*.json"))
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return document


def signer() -> IssuerSigner:
    return IssuerSigner(DID, METHOD, KEY, "test")


def issue(store: Store, count: int, seed: int) -> list[str]:
    """Issue ``count`` signed v2 credentials with status entries, as `anchor issue` does; their ids."""
    intake = IntakeSigner.now(DID, METHOD, KEY.private_bytes_raw())
    entries = status_entry_source(store, DID, BASE, MIN_ENTRIES)(count)
    issuer = issuer_for_country("FI")
    items = []
    for credential, entry in zip(
        generate_credentials(count, seed=seed, issuer=issuer, salted=False, issuer_did=DID), entries, strict=True
    ):
        prepared = prepare_credential(credential, signer=intake, status_entry=entry)
        number, index = status_slot(entry, BASE)
        items.append(dataclasses.replace(prepared, status_list=number, status_index=index))
    assert all(outcome.status == "queued" for outcome in store.queue(items))
    return [item.credential_id for item in items]


@pytest.fixture(scope="module")
def world(anvil: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    chain = connect(anvil)
    registry, _ = Registry.deploy(chain, DEV[0], DEV[0].address, 0)
    info = issuer_for_country("FI")
    registry.register_issuer(DEV[0], info.name, info.country_code, DID, [DEV[1].address])
    home = tmp_path_factory.mktemp("status")
    store = Store(f"sqlite:///{home / 'issuer.db'}")
    policy = TxPolicy(finality="finalized", stuck_after=3.0, poll=0.1)
    service = IssuerService(store, registry, DEV[1], policy, home / "receipts")
    first = issue(store, 3, seed=501)
    summaries = service.run(max_size=10)
    second = issue(store, 2, seed=502)
    summaries += service.run(max_size=10)
    issue(store, 1, seed=503)  # queued, never anchored: its bit stays clear
    receipts: dict[str, dict[str, Any]] = {}
    for summary in summaries:
        for path in summary.receipts.glob("*.json"):
            document = json.loads(path.read_text(encoding="utf-8"))
            receipts[document["id"]] = document
    named = {"valid": first[0], "valid2": first[1], "revoked": first[2], "batch-1": second[0], "batch-2": second[1]}
    world = World(anvil, registry, store, service, {name: receipts[cid] for name, cid in named.items()}, home / "www")
    yield world
    store.close()


def proof_of(receipt: dict[str, Any]) -> tuple[int, int]:
    _, proof = split_receipt(receipt)
    return proof.batch_id, proof.index


def status_index(receipt: dict[str, Any]) -> int:
    return int(receipt["credentialStatus"]["statusListIndex"])


def digital_bazaar(world: World, receipts: list[dict[str, Any]], lists: dict[str, Any]) -> list[dict[str, Any]]:
    """What @digitalbazaar/vc-bitstring-status-list says of each receipt's status, given the published lists."""
    completed = subprocess.run(
        ["node", str(SCRIPT)],
        input=json.dumps({"extensions": EXTENSION_CONTEXTS, "statusLists": lists, "credentials": receipts}),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    results: list[dict[str, Any]] = json.loads(completed.stdout)["results"]
    return results


def verifier(world: World, lists: tuple[Path, ...]) -> Verifier:
    setup = StatusListSetup(given=tuple(load_status_list(path) for path in lists))
    return Verifier([world.settings.effective_rpc_url], [world.registry.address], status_lists=setup)


def test_status_lists_mirror_the_chain_and_standard_libraries_read_them(world: World) -> None:
    # before any revocation: one list, every bit clear, written and signed
    (first,) = world.publish()
    assert (first.revoked, first.newly_revoked, first.written) == (0, (), True)
    assert first.url == world.receipts["valid"]["credentialStatus"]["statusListCredential"]
    stale = world.folder / "stale.json.keep"
    stale.write_bytes(first.path.read_bytes())

    # revoke one credential, and the whole second batch, on the chain
    batch, index = proof_of(world.receipts["revoked"])
    world.service.revoke(batch, [index], REVOCATION_REASONS["fraud"])
    world.service.revoke_batch(proof_of(world.receipts["batch-1"])[0], REVOCATION_REASONS["withdrawn"])

    (published,) = world.publish()
    revoked_ids = {world.receipts[name]["id"] for name in ("revoked", "batch-1", "batch-2")}
    assert published.written
    assert set(published.newly_revoked) == revoked_ids
    assert published.revoked == 3
    document = world.list_document()
    bits = parse_status_list_credential(document).bits
    for name, receipt in world.receipts.items():
        assert bits.get(status_index(receipt)) is (name not in {"valid", "valid2"}), name
    assert bits.count() == 3
    assert document["issuer"] == DID
    assert [proof["verificationMethod"] for proof in document["proof"]] == [METHOD]

    # unchanged: not rewritten (its signature and the web server's caching stay stable)
    before = first.path.read_bytes()
    (again,) = world.publish()
    assert (again.written, again.newly_revoked, again.revoked) == (False, (), 3)
    assert first.path.read_bytes() == before

    # Digital Bazaar's library reads every credential's status as the chain has it, and verifies the list
    receipts = list(world.receipts.values())
    results = digital_bazaar(world, receipts, {published.url: document})
    assert [(result["verified"], result["revoked"]) for result in results] == [
        (True, name not in {"valid", "valid2"}) for name in world.receipts
    ], results
    # ... and refuses a list whose bits were changed after signing
    forged = json.loads(json.dumps(document))
    clear = StatusBits()
    forged["credentialSubject"]["encodedList"] = clear.encode()
    (refused,) = digital_bazaar(world, [world.receipts["revoked"]], {published.url: forged})
    assert refused["verified"] is False
    assert "not verified" in (refused["error"] or "")

    # anchor verify: the chain decides; a list that agrees says nothing, a stale one is reported
    with verifier(world, (first.path,)) as agreeing:
        result = agreeing.verify(world.receipts["revoked"])
        assert result.verdict is Verdict.INVALID
        assert result.check("revocation").code == "revoked"
        assert result.warnings == ()
        assert agreeing.verify(world.receipts["valid"]).warnings == ()
    with verifier(world, (stale,)) as misled:
        result = misled.verify(world.receipts["revoked"])
        assert result.verdict is Verdict.INVALID  # the chain decides
        (warning,) = result.warnings
        assert f"status list {published.url} says entry {status_index(world.receipts['revoked'])} is not revoked" in (
            warning
        )
        assert "the chain says the credential is revoked" in warning
        batch_revoked = misled.verify(world.receipts["batch-2"])
        assert batch_revoked.check("revocation").code == "batch-revoked"
        assert len(batch_revoked.warnings) == 1
        valid = misled.verify(world.receipts["valid"])
        assert valid.verdict is Verdict.VALID
        assert valid.warnings == ()
        assert valid.to_json()["warnings"] == []


def test_a_list_that_says_revoked_for_a_valid_credential_is_reported(world: World, tmp_path: Path) -> None:
    receipt = world.receipts["valid2"]
    bits = StatusBits()
    bits.set(status_index(receipt))
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(signed_list(receipt, bits)), encoding="utf-8")
    with verifier(world, (path,)) as checking:
        result = checking.verify(receipt)
    assert result.verdict is Verdict.VALID
    assert result.check("revocation").state is CheckState.PASSED
    assert result.warnings == (
        f"status list {receipt['credentialStatus']['statusListCredential']} says entry {status_index(receipt)} is "
        "revoked, but the chain does not: the chain decides",
    )


def signed_list(receipt: dict[str, Any], bits: StatusBits, key: Ed25519PrivateKey = KEY) -> dict[str, Any]:
    url = receipt["credentialStatus"]["statusListCredential"]
    from anchor.credentials.status_list import status_list_credential

    document = status_list_credential(url, DID, bits, datetime.now(UTC))
    public = key.public_key().public_bytes_raw()
    return add_proof(document, sign(document, key, did_key_verification_method(public)))


@pytest.mark.parametrize("forgery", ["bits-changed", "other-key", "unsigned", "other-issuer"])
def test_an_untrustworthy_list_is_reported_not_read(world: World, tmp_path: Path, forgery: str) -> None:
    receipt = world.receipts["revoked"]  # revoked on chain: a forged list would say it is not
    document = signed_list(receipt, StatusBits())
    if forgery == "bits-changed":
        bits = StatusBits()
        bits.set(status_index(receipt) + 1)
        document["credentialSubject"]["encodedList"] = bits.encode()
    elif forgery == "other-key":
        document = signed_list(receipt, StatusBits(), Ed25519PrivateKey.generate())
    elif forgery == "unsigned":
        del document["proof"]
    else:
        document["issuer"] = "did:web:evil.example"
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with verifier(world, (path,)) as checking:
        result = checking.verify(receipt)
    assert result.verdict is Verdict.INVALID
    assert result.check("revocation").code == "revoked"
    (warning,) = result.warnings
    assert warning.startswith(f"status list {receipt['credentialStatus']['statusListCredential']} is untrustworthy")
    expected = {
        "bits-changed": "does not verify",
        "other-key": "a key of another DID than the issuer's",
        "unsigned": "carries 0 proofs",
        "other-issuer": "issued by 'did:web:evil.example'",
    }[forgery]
    assert expected in warning


def test_the_cli_publishes_and_verify_reports_with_status_list(world: World, tmp_path: Path) -> None:
    """`anchor verify --status-list FILE` prints the disagreement as a warning line; exit code from the chain."""
    receipt_path = tmp_path / "revoked.json"
    receipt_path.write_text(json.dumps(world.receipts["revoked"]), encoding="utf-8")
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(signed_list(world.receipts["revoked"], StatusBits())), encoding="utf-8")
    home = tmp_path / "verifier-home"
    result = CliRunner().invoke(
        main,
        [
            "--home",
            str(home),
            "verify",
            str(receipt_path),
            "--rpc",
            world.settings.effective_rpc_url,
            "--registry",
            world.registry.address,
            "--status-list",
            str(stale),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "warning: status list https://uni.example/status/" in result.output
    assert "is not revoked, but the chain says the credential is revoked" in result.output


def test_publishing_refuses_what_would_misstate_the_chain(world: World, tmp_path: Path) -> None:
    endpoint = JsonRpcEndpoint(world.settings.effective_rpc_url)
    try:
        chain = ChainRevocations(endpoint, "finalized")
        with pytest.raises(InvalidInputError, match="status_base_url: status list 1 would be published at"):
            publish_status_lists(world.store, signer(), "https://other.example/lists", tmp_path, chain)
        wrong_chain = ChainRevocations(endpoint, "finalized")
        wrong_chain.endpoint._chain_id = 80002  # as if the endpoint were another chain's
        with pytest.raises(ChainError, match=r"is anchored on chain 31337, but .* is chain 80002"):
            publish_status_lists(world.store, signer(), BASE, tmp_path, wrong_chain)
    finally:
        endpoint.close()
    assert list(tmp_path.glob("*.json")) == []


def test_anchor_status_publish_and_anchor_revoke_publish_from_the_configured_home(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commands: the issuer's own keyring and database, `status publish DIR`, and `revoke` publishing after."""
    from anchor.issuing.signing_keys import ScryptCost, issuer_keys, load_issuer_signer

    home = tmp_path / "issuer"
    www = tmp_path / "www"
    settings = Settings(
        home=home,
        rpc_url=world.settings.effective_rpc_url,
        registry=world.registry.address,
        status_base_url=BASE,
    )
    keyring = issuer_keys(settings).create(None, "pw", cost=ScryptCost(n=16, r=8, p=1))
    own = load_issuer_signer(settings, "pw")
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(
        f'rpc_url = "{world.settings.effective_rpc_url}"\nregistry = "{world.registry.address}"\n'
        f'status_base_url = "{BASE}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("ANCHOR_KEY_PASSWORD", "pw")
    monkeypatch.delenv("ANCHOR_HOME", raising=False)
    with Store.open(settings) as store:
        intake = IntakeSigner.now(keyring.did, own.verification_method, own.private_key.private_bytes_raw())
        slots = [pair for chunk in store.reserve_status_indices(keyring.did, 3) for pair in chunk]
        items = []
        for credential, (number, index) in zip(
            generate_credentials(3, seed=601, issuer=issuer_for_country("FI"), salted=False, issuer_did=keyring.did),
            slots,
            strict=True,
        ):
            prepared = prepare_credential(credential, signer=intake, status_entry=status_entry_for(BASE, number, index))
            items.append(dataclasses.replace(prepared, status_list=number, status_index=index))
        store.queue(items)
        policy = TxPolicy(finality="finalized", stuck_after=3.0, poll=0.1)
        (summary,) = IssuerService(store, world.registry, DEV[1], policy, home / "receipts").run(max_size=10)
        batch = store.get_batch(summary.batch_id).onchain_batch_id
    runner = CliRunner()
    published = runner.invoke(main, ["--home", str(home), "status", "publish", str(www)])
    assert published.exit_code == 0, published.output
    assert "list 1 (https://uni.example/status/1.json): 0 revoked in all; wrote" in published.output
    assert "registry read at block" in published.output
    # `anchor revoke` says how to publish when status_publish_dir is not set ...
    revoked = runner.invoke(
        main,
        [
            "--home",
            str(home),
            "revoke",
            "--batch",
            str(batch),
            "--index",
            "0",
            "--reason",
            "fraud",
            "--dev-account",
            "1",
        ],
    )
    assert revoked.exit_code == 0, revoked.output
    assert "run `anchor status publish DIR`" in revoked.output
    # ... and publishes there after each revocation when it is
    with (home / "config.toml").open("a", encoding="utf-8") as config:
        config.write(f'status_publish_dir = "{www}"\n')
    revoked = runner.invoke(
        main,
        [
            "--home",
            str(home),
            "revoke",
            "--batch",
            str(batch),
            "--index",
            "1",
            "--reason",
            "fraud",
            "--dev-account",
            "1",
        ],
    )
    assert revoked.exit_code == 0, revoked.output
    assert "2 newly revoked" in revoked.output  # the file was published before the first revocation
    assert "2 revoked in all" in revoked.output
    bits = parse_status_list_credential(json.loads((www / "1.json").read_text(encoding="utf-8"))).bits
    assert sorted(bits.set_indices()) == sorted(index for _, index in slots[:2])
    again = runner.invoke(main, ["--home", str(home), "status", "publish"])
    assert again.exit_code == 0, again.output
    assert "= list 1 (https://uni.example/status/1.json): unchanged, 2 revoked" in again.output
    # a revocation whose publishing fails says the revocation is final and the lists are not published
    monkeypatch.setenv("ANCHOR_KEY_PASSWORD", "wrong")
    arguments = ["--home", str(home), "revoke", "--batch", str(batch), "--index", "2", "--reason", "fraud"]
    failed = runner.invoke(main, [*arguments, "--dev-account", "1"])
    assert failed.exit_code != 0
    assert "revoked (fraud)" in failed.output
    assert "the revocation is final on the chain, but the status lists were not published" in failed.output
    unset = runner.invoke(main, ["--home", str(tmp_path / "empty"), "status", "publish", str(www)])
    assert unset.exit_code == 2
    assert "status_base_url is not set" in unset.output


def test_a_list_saying_more_than_the_chain_is_refused_unless_forced(world: World, tmp_path: Path) -> None:
    """Revocation is permanent: entries this issuer published as revoked that the chain does not revoke mean the
    endpoint is not the chain the list came from (or lies); nothing is written without --force."""
    receipt = world.receipts["valid"]
    bits = StatusBits()
    bits.set(status_index(receipt))
    listed = json.dumps(signed_list(receipt, bits))
    (tmp_path / "1.json").write_text(listed, encoding="utf-8")
    endpoint = JsonRpcEndpoint(world.settings.effective_rpc_url)
    try:
        chain = ChainRevocations(endpoint, "finalized")
        with pytest.raises(ChainError, match=rf"has entries {status_index(receipt)} set .* nothing written"):
            publish_status_lists(world.store, signer(), BASE, tmp_path, chain)
        assert (tmp_path / "1.json").read_text(encoding="utf-8") == listed
        (published,) = publish_status_lists(world.store, signer(), BASE, tmp_path, chain, force=True)
    finally:
        endpoint.close()
    assert published.cleared == (status_index(receipt),)
    assert published.written
    written = parse_status_list_credential(json.loads((tmp_path / "1.json").read_text(encoding="utf-8")))
    assert not written.bits.get(status_index(receipt))


def test_a_damaged_list_is_replaced_not_left_as_unchanged(world: World, tmp_path: Path) -> None:
    endpoint = JsonRpcEndpoint(world.settings.effective_rpc_url)
    try:
        (first,) = publish_status_lists(world.store, signer(), BASE, tmp_path, ChainRevocations(endpoint))
        document = json.loads(first.path.read_text(encoding="utf-8"))
        document["proof"][0]["proofValue"] = document["proof"][0]["proofValue"][:-2] + "11"
        first.path.write_text(json.dumps(document), encoding="utf-8")
        (again,) = publish_status_lists(world.store, signer(), BASE, tmp_path, ChainRevocations(endpoint))
    finally:
        endpoint.close()
    assert again.written  # the damaged file's bits are not believed: every revoked entry counts as new
    assert len(again.newly_revoked) == again.revoked
    document = json.loads(first.path.read_text(encoding="utf-8"))
    from anchor.credentials.data_integrity import verify

    unsigned = {name: value for name, value in document.items() if name != "proof"}
    verify(unsigned, document["proof"][0], PUBLIC)


def test_batches_not_anchored_at_the_block_read_are_not_revoked_and_counted(world: World, tmp_path: Path) -> None:
    endpoint = JsonRpcEndpoint(world.settings.effective_rpc_url)
    try:
        chain = ChainRevocations(endpoint, "finalized")
        first_batch = proof_of(world.receipts["valid"])[0]
        chain._block = world.registry.batch(first_batch).anchored_at_block - 1  # before either batch
        (published,) = publish_status_lists(world.store, signer(), BASE, tmp_path, chain)
    finally:
        endpoint.close()
    assert (published.revoked, published.not_final) == (0, 5)
