"""The "Signed by the issuer" check on real anchored batches (anvil) and a real did:web HTTPS server.

Every receipt here is anchored for real, so the integrity check passes and the signature check alone decides:
signed v2 receipts of a did:key and a did:web issuer verify; unsigned, forged, foreign, moved and malformed
signatures, keys outside ``assertionMethod``, DID documents of another DID and signers other than the registered
issuer are INVALID with the reason; an issuer's DID document that cannot be had (slow, 50 MB) is ERROR; v1
receipts keep verifying. Through the CLI (exit codes, ``--did-document``), the HTTP API and the bulk path too.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from anchor.chain.connection import connect, wait_for_block
from anchor.chain.registry import Registry
from anchor.cli import main
from anchor.config import Settings
from anchor.credentials import CONTEXTS_V2, FORMAT_V2
from anchor.credentials import data_integrity as di
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.multikey import did_key, did_key_verification_method, public_key_multibase
from anchor.verifier import CheckState, TrustedRegistry, Verdict, Verification, Verifier
from anchor.verifier.bulk import CHUNK, verify_paths
from anchor.verifier.dids import ResolverSetup
from anchor.web import WebConfig, create_app

from support.browser import CHROMIUM, CHROMIUM_ARGS, served
from support.did_web_server import DidWebServer, did_document
from support.prerequisites import missing
from support.verifier_world import DEV, NOW, anchor_batch

pytestmark = pytest.mark.slow


def new_key() -> tuple[Ed25519PrivateKey, bytes]:
    private = Ed25519PrivateKey.generate()
    return private, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def v2_credential(did: str, seed: int) -> dict[str, Any]:
    """A generated credential of issuer ``did``, switched to format v2 (salted, not yet signed)."""
    issuer = replace(issuer_for_country("DE"), id=did)
    credential = next(generate_credentials(1, seed=seed, issuer=issuer))
    credential["@context"] = list(CONTEXTS_V2)
    credential["anchorFormat"] = FORMAT_V2
    credential.pop("proof", None)
    return credential


def signed(credential: dict[str, Any], key: Ed25519PrivateKey, method: str) -> dict[str, Any]:
    return di.add_proof(credential, di.sign(credential, key, method))


@dataclass
class World:
    settings: Settings
    registry: Registry
    server: DidWebServer
    web_did: str
    web_key: bytes
    web_document: dict[str, Any]
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def rpc_url(self) -> str:
        return self.settings.effective_rpc_url

    def verifier(self, **dids: Any) -> Verifier:
        setup = ResolverSetup(**{"timeout": 2.0, "ca_bundle": self.server.ca_bundle, **dids})
        return Verifier([self.rpc_url], [self.registry.address], dids=setup)

    def text(self, name: str) -> str:
        return json.dumps(self.receipts[name])


@pytest.fixture(scope="module")
def world(anvil: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    server = DidWebServer(tmp_path_factory.mktemp("tls"))
    chain = connect(anvil)
    registry, _ = Registry.deploy(chain, DEV[0], DEV[0].address, 0)
    de = issuer_for_country("DE")

    key_a, raw_a = new_key()  # issuer A: did:key, signer DEV[1]
    key_b, raw_b = new_key()  # B: a did:key the registry knows as another issuer's
    did_a, did_b = did_key(raw_a), did_key(raw_b)
    method_a, method_b = did_key_verification_method(raw_a), did_key_verification_method(raw_b)
    key_w, raw_w = new_key()  # issuer W: did:web, signer DEV[3]; key-auth only under authentication
    key_auth, raw_auth = new_key()
    did_w = server.did("issuers", "w")
    document_w = did_document(
        did_w,
        {"key-1": public_key_multibase(raw_w), "key-auth": public_key_multibase(raw_auth)},
        assertion=["key-1"],
        authentication=[f"{did_w}#key-auth"],
    )
    server.serve(document_w, "issuers", "w")
    did_x = server.serve(did_document(did_w, {"key-1": public_key_multibase(raw_w)}), "issuers", "x")  # W's, copied
    did_slow = server.serve(_slow, "issuers", "slow")
    did_huge = server.serve(_huge, "issuers", "huge")
    for did, signer in ((did_a, DEV[1]), (did_b, DEV[2]), (did_w, DEV[3]), (did_x, DEV[4])):
        registry.register_issuer(DEV[0], de.name, "DE", did, [signer.address])
    registry.register_issuer(DEV[0], de.name, "DE", did_slow, [DEV[5].address])
    registry.register_issuer(DEV[0], de.name, "DE", did_huge, [DEV[6].address])

    cases: dict[str, dict[str, Any]] = {}
    cases["valid-key"] = signed(v2_credential(did_a, 1), key_a, method_a)
    cases["unsigned"] = v2_credential(did_a, 2)
    cases["forged-key"] = signed(v2_credential(did_a, 3), key_b, method_a)  # A's method named, B's key used
    cases["other-did"] = signed(v2_credential(did_a, 4), key_b, method_b)  # B's own key and method
    donor = signed(v2_credential(did_a, 5), key_a, method_a)
    cases["moved"] = {**v2_credential(did_a, 6), "proof": copy.deepcopy(donor["proof"])}
    garbage = signed(v2_credential(did_a, 7), key_a, method_a)
    garbage["proof"][0]["proofValue"] = "z1111"
    cases["garbage"] = garbage
    long = signed(v2_credential(did_a, 8), key_a, method_a)
    long["proof"][0]["proofValue"] = "z" + "2" * 500_000
    cases["too-long"] = long
    cases["registered-other"] = signed(v2_credential(did_b, 9), key_b, method_b)  # B's, anchored by A
    suite = signed(v2_credential(did_a, 10), key_a, method_a)
    suite["proof"][0]["cryptosuite"] = "ecdsa-rdfc-2019"
    cases["cryptosuite"] = suite
    purpose = signed(v2_credential(did_a, 11), key_a, method_a)
    purpose["proof"][0]["proofPurpose"] = "authentication"
    cases["purpose"] = purpose
    twice = signed(v2_credential(did_a, 12), key_a, method_a)
    cases["twice"] = {**twice, "proof": twice["proof"] * 2}
    ssrf = server.did("issuers", "ssrf")
    cases["ssrf"] = signed(v2_credential(ssrf, 13), key_a, f"{ssrf}#key-1")
    names = list(cases)
    world = World(anvil, registry, server, did_w, raw_w, document_w)
    world.receipts.update(zip(names, anchor_batch(chain, registry, DEV[1], list(cases.values())), strict=True))

    web = {
        "valid-web": signed(v2_credential(did_w, 20), key_w, f"{did_w}#key-1"),
        "auth-only": signed(v2_credential(did_w, 21), key_auth, f"{did_w}#key-auth"),
        "unlisted": signed(v2_credential(did_w, 22), key_w, f"{did_w}#key-9"),
    }
    world.receipts.update(zip(web, anchor_batch(chain, registry, DEV[3], list(web.values())), strict=True))
    world.receipts["copied-document"] = anchor_batch(
        chain, registry, DEV[4], [signed(v2_credential(did_x, 23), key_w, f"{did_x}#key-1")]
    )[0]
    world.receipts["slow"] = anchor_batch(
        chain, registry, DEV[5], [signed(v2_credential(did_slow, 24), key_w, f"{did_slow}#key-1")]
    )[0]
    world.receipts["huge"] = anchor_batch(
        chain, registry, DEV[6], [signed(v2_credential(did_huge, 25), key_w, f"{did_huge}#key-1")]
    )[0]
    de_v1 = next(generate_credentials(1, seed=26, issuer=replace(de, id=did_a)))
    world.receipts["v1"] = anchor_batch(chain, registry, DEV[1], [de_v1])[0]
    wait_for_block(chain, int(chain.w3.eth.block_number), "finalized", timeout=30)
    yield world
    server.close()


def _slow(handler: BaseHTTPRequestHandler) -> None:
    time.sleep(4)


def _huge(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Connection", "close")
    handler.end_headers()
    for _ in range(50 * 16):  # 50 MB
        handler.wfile.write(b" " * 65536)


def verify(world: World, name: str, **dids: Any) -> Verification:
    with world.verifier(**dids) as verifier:
        return verifier.verify(world.text(name), now=NOW)


def signature_fails(result: Verification, code: str, *words: str) -> None:
    assert result.verdict is Verdict.INVALID, result.to_json()
    check = result.check("signature")
    assert (check.state, check.code) == (CheckState.FAILED, code), check
    for word in words:
        assert word in check.reason, check.reason


# ---------------------------------------------------------------------------------------------- valid


def test_a_did_key_signed_receipt_is_valid(world: World) -> None:
    result = verify(world, "valid-key")
    assert result.verdict is Verdict.VALID, result.to_json()
    assert all(check.state is CheckState.PASSED for check in result.checks)
    reason = result.check("signature").reason
    assert "derived from the did:key" in reason
    assert "the issuer the registry records" in reason


def test_a_did_web_signed_receipt_is_valid_and_its_document_fetched_once(world: World, tmp_path: Path) -> None:
    path = world.server.path("issuers", "w")
    before = world.server.requests.count(path)
    with world.verifier(cache_dir=tmp_path / "cache") as verifier:
        results = [verifier.verify(world.text("valid-web"), now=NOW) for _ in range(3)]
    assert [result.verdict for result in results] == [Verdict.VALID] * 3, results[0].to_json()
    assert f"https://localhost:{world.server.port}/issuers/w/did.json" in results[0].check("signature").reason
    assert world.server.requests.count(path) == before + 1
    (cached,) = (tmp_path / "cache").iterdir()
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600


def test_a_given_did_document_works_offline(world: World, tmp_path: Path) -> None:
    file = tmp_path / "did.json"
    file.write_text(json.dumps(world.web_document))
    from anchor.verifier.dids import given_documents

    before = len(world.server.requests)
    result = verify(world, "valid-web", documents=given_documents([file]), ca_bundle=None)
    assert result.verdict is Verdict.VALID, result.to_json()
    assert f"file {file}" in result.check("signature").reason
    assert len(world.server.requests) == before


def test_v1_receipts_are_not_signed_and_keep_verifying(world: World) -> None:
    result = verify(world, "v1")
    assert result.verdict is Verdict.VALID, result.to_json()
    check = result.check("signature")
    assert (check.state, check.code) == (CheckState.NOT_CHECKED, "not-applicable")
    assert check.reason == "not signed: format anchor-credential-v1 predates issuer signatures"


# ---------------------------------------------------------------------------------------------- attacks


@pytest.mark.parametrize(
    ("name", "code", "words"),
    [
        ("unsigned", "unsigned", ["no DataIntegrityProof"]),
        ("forged-key", "bad-signature", ["does not verify"]),
        ("other-did", "foreign-signature", ["a key of did:key:", "but the credential's issuer is"]),
        ("moved", "bad-signature", ["does not verify"]),
        ("garbage", "bad-signature", ["does not verify"]),
        ("too-long", "bad-signature", ["500001 characters", "at most 89"]),
        ("registered-other", "signer-not-registered", ["the registry records"]),
        ("cryptosuite", "unsupported-cryptosuite", ["'ecdsa-rdfc-2019'", "eddsa-rdfc-2022"]),
        ("purpose", "wrong-proof-purpose", ["'authentication'", "assertionMethod"]),
        ("twice", "several-signatures", ["2 DataIntegrityProofs"]),
        ("auth-only", "key-not-authorized", ["#key-auth", "does not list under assertionMethod", "defines it"]),
        ("unlisted", "key-not-authorized", ["#key-9", "does not define it"]),
        ("copied-document", "did-document-invalid", ["its id is", "not the DID"]),
    ],
)
def test_bad_signatures_are_invalid_with_the_reason(world: World, name: str, code: str, words: list[str]) -> None:
    started = time.monotonic()
    result = verify(world, name)
    assert time.monotonic() - started < 5
    signature_fails(result, code, *words)
    assert result.check("integrity").state is CheckState.PASSED  # anchored as it is: the signature alone decides
    if name == "registered-other":
        assert result.check("issuer").code == "issuer-mismatch"


def test_a_receipt_cannot_make_the_verifier_fetch_an_unregistered_did(world: World) -> None:
    result = verify(world, "ssrf")
    signature_fails(result, "signer-not-registered")
    assert world.server.path("issuers", "ssrf") not in world.server.requests


def test_without_the_registrys_word_nothing_is_fetched_or_canonicalized(world: World) -> None:
    before = len(world.server.requests)
    with Verifier([world.rpc_url], [], dids=ResolverSetup(ca_bundle=world.server.ca_bundle)) as verifier:
        results = [verifier.verify(world.text(name), now=NOW) for name in ("valid-web", "forged-key", "too-long")]
    for result in results:
        assert result.verdict is Verdict.INVALID
        assert result.check("chain").code == "untrusted-registry"
        check = result.check("signature")
        assert (check.state, check.code) == (CheckState.NOT_CHECKED, "not-checked"), check
        assert "only once the trusted registry confirms" in check.reason
    assert len(world.server.requests) == before
    # the form of the proof is still judged: a signature by another DID than the issuer's fails at once
    with Verifier([world.rpc_url], [], dids=ResolverSetup()) as verifier:
        foreign = verifier.verify(world.text("other-did"), now=NOW)
    assert foreign.check("signature").code == "foreign-signature"


@pytest.mark.parametrize("name", ["slow", "huge"])
def test_an_issuer_document_that_cannot_be_had_leaves_the_verdict_undecided(world: World, name: str) -> None:
    started = time.monotonic()
    result = verify(world, name, timeout=1.0)
    assert time.monotonic() - started < 4
    assert result.verdict is Verdict.ERROR, result.to_json()
    assert result.status == "DID UNRESOLVED"
    check = result.check("signature")
    assert (check.state, check.code) == (CheckState.NOT_CHECKED, "did-unresolved")
    assert ("timed out" if name == "slow" else "sent more than 128 KiB") in check.reason


# ---------------------------------------------------------------------------------------------- CLI, API, bulk


def test_the_cli_exit_codes_and_did_options(world: World, tmp_path: Path) -> None:
    home = tmp_path / "home"
    files = {}
    for name in ("valid-web", "forged-key", "slow"):
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(world.text(name))
    base = ["--home", str(home), "verify", "--rpc", world.rpc_url, "--registry", world.registry.address]
    tls = ["--did-ca-bundle", str(world.server.ca_bundle), "--timeout", "1"]
    runner = CliRunner()
    valid = runner.invoke(main, [*base, *tls, str(files["valid-web"])])
    assert valid.exit_code == 0, valid.output
    assert "Signed by the issuer" in valid.output
    assert stat.S_IMODE(next((home / "did-cache").iterdir()).stat().st_mode) == 0o600
    forged = runner.invoke(main, [*base, *tls, str(files["forged-key"])])
    assert forged.exit_code == 1, forged.output
    assert "BAD SIGNATURE" in forged.output
    slow = runner.invoke(main, [*base, *tls, str(files["slow"])])
    assert slow.exit_code == 2, slow.output
    assert "DID UNRESOLVED" in slow.output
    # without the CA bundle the test server is refused (production behaviour), but the document cached in the home
    # (for an hour) serves
    cached = runner.invoke(main, [*base, "--timeout", "1", str(files["valid-web"])])
    assert cached.exit_code == 0, cached.output
    elsewhere = ["--home", str(tmp_path / "elsewhere"), *base[2:], "--timeout", "1", str(files["valid-web"])]
    refused_tls = runner.invoke(main, elsewhere)
    assert refused_tls.exit_code == 2, refused_tls.output
    assert "certificate verify failed" in refused_tls.output
    document = tmp_path / "did.json"
    document.write_text(json.dumps(world.web_document))
    offline = runner.invoke(
        main,
        ["--home", str(tmp_path / "other"), *base[2:], "--did-document", str(document), str(files["valid-web"])],
    )
    assert offline.exit_code == 0, offline.output
    wrong = tmp_path / "key.json"
    wrong.write_text(json.dumps({"id": did_key(world.web_key)}))
    refused = runner.invoke(main, [*base, "--did-document", str(wrong), str(files["valid-web"])])
    assert refused.exit_code == 2
    assert "derived from the DID itself" in refused.output


def test_the_api_checks_signatures_with_the_servers_documents_only(world: World) -> None:
    config = WebConfig(
        rpc_urls=[world.rpc_url],
        trusted=[TrustedRegistry(world.registry.address)],
        dids=ResolverSetup(timeout=1.0, ca_bundle=world.server.ca_bundle),
    )
    with TestClient(create_app(config)) as client:
        valid = client.post("/verify", content=world.text("valid-web"), headers={"Content-Type": "application/json"})
        assert valid.status_code == 200
        checks = {check["name"]: check for check in valid.json()["checks"]}
        assert checks["signature"]["title"] == "Signed by the issuer"
        assert checks["signature"]["state"] == "passed"
        forged = client.post("/verify", content=world.text("other-did"), headers={"Content-Type": "application/json"})
        assert (forged.status_code, forged.json()["status"]) == (200, "WRONG SIGNER")
        slow = client.post("/verify", content=world.text("slow"), headers={"Content-Type": "application/json"})
        assert slow.status_code == 502
        assert slow.json()["error"]["code"] == "did-unresolved"


def test_the_bulk_path_gives_worker_processes_the_did_setup(world: World, tmp_path: Path) -> None:
    folder = tmp_path / "receipts"
    folder.mkdir()
    names = ["valid-web", "valid-key", "forged-key"]
    paths = []
    for number in range(2 * CHUNK + 1):
        path = folder / f"{number:04}.json"
        path.write_text(world.text(names[number % 3]))
        paths.append(str(path))
    with world.verifier(cache_dir=tmp_path / "cache") as verifier:
        results = list(verify_paths(verifier, paths, processes=2, threads=2, now=NOW))
    expected = [Verdict.VALID, Verdict.VALID, Verdict.INVALID]
    assert [result.verdict for result in results] == [expected[number % 3] for number in range(len(paths))]
    assert os.listdir(tmp_path / "cache")  # a worker fetched the did:web document and kept it


def test_the_page_shows_the_signature_check_in_a_browser(world: World, tmp_path: Path) -> None:
    """Debian's chromium: a signed v2 receipt is VALID with "Signed by the issuer" passed; a forged one fails it."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        missing("Debian's chromium is not installed (.ci/run installs it as root)")
    from playwright.sync_api import sync_playwright

    config = WebConfig(
        rpc_urls=[world.rpc_url],
        trusted=[TrustedRegistry(world.registry.address)],
    )
    with served(create_app(config)) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            for name, verdict, state in (("valid-key", "VALID", "passed"), ("forged-key", "INVALID", "failed")):
                page.goto(base)
                page.fill("#receipt", world.text(name))
                page.click("#verify")
                page.wait_for_selector('#verdict:not([data-verdict="pending"])', timeout=15_000)
                assert page.get_attribute("#verdict", "data-verdict") == verdict
                check = page.locator('#checks li[data-check="signature"]')
                assert check.get_attribute("data-state") == state
                assert "Signed by the issuer" in check.inner_text()
        finally:
            browser.close()
