"""Verifying one signed receipt imports no network stack (issue 13: one receipt in under 0.2 s, start included).

Not a timed test. A signed ``anchor-credential-v3`` receipt needs RDF canonicalization (``pyld``) and Ed25519
(``cryptography``); ``import pyld`` alone used to bring ``requests`` (urllib3, http.client, ssl,
charset_normalizer), ``aiohttp``'s loader with asyncio, and ``lxml``, two thirds of the run.
:mod:`anchor.credentials.pyld_core` imports only what canonicalization runs. New processes verify receipts
(against :mod:`support.fake_chain`) and say which modules they imported, and what the verdicts were: a valid
receipt, one whose credential was changed after it was signed (and anchored as changed, so only the signature
tells), and one signed by another key than the DID's. A last check runs the real ``anchor verify``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.multikey import did_key, did_key_verification_method
from anchor.issuing.intake import prepare_credential
from anchor.issuing.signing import IntakeSigner

from support.fake_chain import FakeChain, FakeEndpoint
from support.one_receipt import _PROBE

#: Modules that verifying a signed receipt must not import (what they are for).
NOT_FOR_SIGNED = {
    "requests": "pyld's network document loader",
    "urllib3": "(imported by requests)",
    "charset_normalizer": "(imported by requests)",
    "aiohttp": "pyld's asynchronous network document loader",
    "asyncio": "(imported by pyld's aiohttp loader)",
    "pyld.documentloader.requests": "pyld's network document loaders",
    "pyld.documentloader.aiohttp": "pyld's network document loaders",
    "pyld.documentloader.requests_sqlite_cache": "pyld's network document loaders",
    "lxml.etree": "pyld's reader of JSON-LD in HTML (lxml.html)",
    "http.client": "the stdlib HTTP client",
    "ssl": "TLS, for https endpoints and did:web documents only",
}

#: Verify each receipt file with the library, then print the verdicts and the imported modules.
_LIBRARY_PROBE = """
import json, sys
from anchor.verifier import Verifier
url, registry, *paths = sys.argv[1:]
results = {}
with Verifier([url], [registry], timeout=10.0) as verifier:
    for path in paths:
        verification = verifier.verify(open(path, "rb").read())
        check = verification.check("signature")
        results[path] = [verification.verdict.name, check.state.name, check.code]
print(json.dumps({"results": results, "modules": sorted(sys.modules)}))
"""


def _key(seed: int) -> tuple[bytes, bytes]:
    private = bytes([seed]) * 32
    public = (
        Ed25519PrivateKey.from_private_bytes(private)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return private, public


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Three signed v3 receipts of one did:key issuer on a fake chain, written to files; the chain's endpoint."""
    folder = tmp_path_factory.mktemp("signed")
    private, public = _key(7)
    other, _ = _key(8)
    did = did_key(public)
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    issuer = issuer_for_country("DE")
    credentials = list(generate_credentials(2, seed=11, salted=False, issuer=issuer, issuer_did=did))
    right = IntakeSigner(did, did_key_verification_method(public), private, created)
    wrong = IntakeSigner(did, did_key_verification_method(public), other, created)  # the DID's key id, another key
    valid = json.loads(prepare_credential(credentials[0], signer=right).document)
    tampered = json.loads(json.dumps(valid))
    tampered["credentialSubject"]["creditsEarned"] += 1  # after signing: 1 more ECTS credit
    foreign = json.loads(prepare_credential(credentials[1], signer=wrong).document)
    chain = FakeChain()
    chain.register(1, issuer.name, "DE", did)
    receipts = chain.anchor(1, [valid, tampered, foreign])  # anchored as they are: only the signature can tell
    paths = {}
    for name, receipt in zip(("valid", "tampered", "foreign"), receipts, strict=True):
        paths[name] = folder / f"{name}.json"
        paths[name].write_text(json.dumps(receipt, ensure_ascii=False), encoding="utf-8")
    endpoint = FakeEndpoint(chain)
    yield {"chain": chain, "endpoint": endpoint, "paths": paths, "home": folder / "home"}
    endpoint.close()


def _run(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        env={key: value for key, value in os.environ.items() if not key.startswith("ANCHOR_")},
        timeout=120,
        check=False,
    )


def test_signed_receipts_keep_their_verdicts_without_the_network_stack(world: dict[str, Any]) -> None:
    paths = world["paths"]
    done = _run(["-c", _LIBRARY_PROBE, world["endpoint"].url, world["chain"].registry, *map(str, paths.values())])
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    results = {name: report["results"][str(path)] for name, path in paths.items()}
    assert results == {
        "valid": ["VALID", "PASSED", "ok"],
        "tampered": ["INVALID", "FAILED", "bad-signature"],
        "foreign": ["INVALID", "FAILED", "bad-signature"],
    }
    modules = set(report["modules"])
    assert {"pyld.jsonld", "pyld.canon", "anchor.credentials.pyld_core"} <= modules  # canonicalized here
    imported = {name: why for name, why in NOT_FOR_SIGNED.items() if name in modules}
    assert imported == {}, f"verifying signed receipts imported: {imported}"


def test_anchor_verify_of_one_signed_receipt_imports_no_network_stack(world: dict[str, Any]) -> None:
    arguments = ["--home", str(world["home"]), "verify", str(world["paths"]["valid"])]
    done = _run(["-c", _PROBE, *arguments, "--rpc", world["endpoint"].url, "--registry", world["chain"].registry])
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["exit"] in (0, None), done.stdout + done.stderr
    assert "VALID" in done.stdout
    assert "eddsa-rdfc-2022" in done.stdout
    modules = set(report["modules"])
    assert "pyld.canon" in modules
    imported = {name: why for name, why in NOT_FOR_SIGNED.items() if name in modules}
    assert imported == {}, f"anchor verify of one signed receipt imported: {imported}"


def test_the_rest_of_pyld_is_there_on_first_use() -> None:
    """Code that wants all of pyld after anchor imported its core still gets it (the package's names, the
    network loaders, lxml.html), and the default document loader fetches nothing."""
    probe = """
import sys
import anchor.credentials.pyld_core as core
assert "requests" not in sys.modules and "pyld.documentloader.requests" not in sys.modules
import pyld
from pyld import jsonld
from pyld.documentloader.requests import RequestsDocumentLoader
assert pyld.RequestsDocumentLoader is RequestsDocumentLoader and pyld.ContextResolver is core.ContextResolver
assert jsonld is core.pyld_jsonld and jsonld.lxml.html.fromstring("<p>x</p>").tag == "p"
try:
    jsonld.expand({"@context": "https://example.org/context", "a": 1})
except jsonld.JsonLdError as error:
    assert "No default document loader" in str(error) or "loading remote context failed" in str(error), error
else:
    raise AssertionError("the default document loader fetched a context")
print("ok")
"""
    done = _run(["-c", probe])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "ok"
