"""DID resolution for the verifier (:mod:`anchor.verifier.dids`) against a real local HTTPS server.

The server's certificate comes from a CA made for the test and is trusted only through an explicit CA bundle;
without it (the system's authorities, as in production) the same server is refused. Hostile answers (huge,
slow, trickling, redirecting, not JSON, someone else's document) end in the right error quickly.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from anchor.chain.jsonrpc import rpc_deadline
from anchor.credentials.multikey import did_key, public_key_multibase
from anchor.errors import InvalidInputError
from anchor.verifier.dids import (
    MAX_DOCUMENT_BYTES,
    DidDocumentError,
    DidResolver,
    DidUnreachableError,
    ResolverSetup,
    given_documents,
    load_did_document,
    parse_did_document,
)

from support.did_web_server import DidWebServer, did_document, send_json


def raw_key() -> bytes:
    return Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


KEY, OTHER = raw_key(), raw_key()
MULTIBASE, OTHER_MULTIBASE = public_key_multibase(KEY), public_key_multibase(OTHER)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DidWebServer]:
    made = DidWebServer(tmp_path_factory.mktemp("tls"))
    yield made
    made.close()


@pytest.fixture
def resolver(server: DidWebServer, tmp_path: Path) -> DidResolver:
    return DidResolver(ResolverSetup(cache_dir=tmp_path / "did-cache", timeout=2.0, ca_bundle=server.ca_bundle))


def serve_valid(server: DidWebServer, name: str) -> str:
    did = server.did("issuers", name)
    return server.serve(did_document(did, {"key-1": MULTIBASE}), "issuers", name)


# ---------------------------------------------------------------------------------------------- did:web


def test_a_did_web_document_is_fetched_checked_and_kept(server: DidWebServer, resolver: DidResolver) -> None:
    did = serve_valid(server, "kept")
    before = len(server.requests)
    document = resolver.resolve(did)
    assert document is not None
    assert document.did == did
    assert document.source == f"https://localhost:{server.port}/issuers/kept/did.json"
    method = document.method(f"{did}#key-1")
    assert method is not None
    assert method.public_key == KEY
    assert document.may_assert(f"{did}#key-1")
    assert resolver.resolve(did) == document
    assert len(server.requests) == before + 1  # the second answer came from memory


def test_the_disk_cache_is_private_shared_and_expires(server: DidWebServer, tmp_path: Path) -> None:
    did = serve_valid(server, "disk")
    setup = ResolverSetup(cache_dir=tmp_path / "did-cache", timeout=2.0, ca_bundle=server.ca_bundle)
    DidResolver(setup).resolve(did)
    files = list((tmp_path / "did-cache").iterdir())
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "did-cache").stat().st_mode) == 0o700
    before = len(server.requests)
    cached = DidResolver(setup).resolve(did, network=False)  # another process: from disk, no request
    assert cached is not None
    assert cached.method(f"{did}#key-1") is not None
    assert "cached" in cached.source
    assert len(server.requests) == before
    entry = json.loads(files[0].read_text())
    entry["fetchedAt"] -= setup.cache_seconds + 1
    files[0].write_text(json.dumps(entry))
    assert DidResolver(setup).resolve(did, network=False) is None  # expired: not used
    DidResolver(setup).resolve(did)
    assert len(server.requests) == before + 1


def test_a_cached_document_of_another_did_is_not_used(server: DidWebServer, tmp_path: Path) -> None:
    did = serve_valid(server, "swapped")
    setup = ResolverSetup(cache_dir=tmp_path / "c", timeout=2.0, ca_bundle=server.ca_bundle)
    DidResolver(setup).resolve(did)
    path = next((tmp_path / "c").iterdir())
    entry = json.loads(path.read_text())
    entry["document"]["id"] = "did:web:evil.example"
    path.write_text(json.dumps(entry))
    assert DidResolver(setup).resolve(did, network=False) is None


def test_without_network_nothing_is_fetched(server: DidWebServer, resolver: DidResolver) -> None:
    did = serve_valid(server, "offline")
    before = len(server.requests)
    assert resolver.resolve(did, network=False) is None
    assert len(server.requests) == before


def test_the_systems_authorities_refuse_the_test_certificate(server: DidWebServer) -> None:
    did = serve_valid(server, "untrusted")
    with pytest.raises(DidUnreachableError, match="certificate verify failed"):
        DidResolver(ResolverSetup(timeout=2.0)).resolve(did)


def test_a_document_of_another_did_is_refused(server: DidWebServer, resolver: DidResolver) -> None:
    did = server.serve(did_document("did:web:victim.example", {"key-1": MULTIBASE}), "issuers", "copied")
    with pytest.raises(DidDocumentError, match=r"its id is 'did:web:victim.example', not the DID"):
        resolver.resolve(did)


def test_one_request_for_many_threads_and_a_failure_is_remembered(server: DidWebServer, resolver: DidResolver) -> None:
    did = server.did("issuers", "busy")

    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(0.3)
        send_json(handler, did_document(did, {"key-1": MULTIBASE}))

    server.routes[server.path("issuers", "busy")] = slow
    before = len(server.requests)
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(resolver.resolve(did))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(result is not None for result in results)
    assert len(server.requests) == before + 1

    gone = server.did("issuers", "gone")
    with pytest.raises(DidUnreachableError, match="HTTP 404"):
        resolver.resolve(gone)
    count = len(server.requests)
    with pytest.raises(DidUnreachableError, match="HTTP 404"):
        resolver.resolve(gone)
    assert len(server.requests) == count  # not asked again at once


@pytest.mark.parametrize(
    ("segment", "answer", "error", "match"),
    [
        ("redirect", "redirect", DidUnreachableError, "redirects are not followed"),
        ("html", "html", DidUnreachableError, "did not answer with a JSON DID document"),
        ("error", "500", DidUnreachableError, "HTTP 500"),
        ("huge-declared", "huge-declared", DidUnreachableError, "a DID document is at most 128 KiB"),
        ("huge-streamed", "huge-streamed", DidUnreachableError, "sent more than 128 KiB"),
        ("slow", "slow", DidUnreachableError, "timed out"),
        ("trickle", "trickle", DidUnreachableError, "timed out"),
    ],
)
def test_hostile_answers_end_quickly_as_unreachable(
    server: DidWebServer, resolver: DidResolver, segment: str, answer: str, error: type[Exception], match: str
) -> None:
    sent: list[int] = []

    def write(handler: BaseHTTPRequestHandler) -> None:
        if answer == "redirect":
            handler.send_response(302)
            handler.send_header("Location", "https://169.254.169.254/latest/meta-data/")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        elif answer == "html":
            data = b"<html>captive portal</html>"
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        elif answer == "500":
            handler.send_error(500)
        elif answer == "huge-declared":  # 50 MB announced
            handler.send_response(200)
            handler.send_header("Content-Length", str(50 * 1024 * 1024))
            handler.end_headers()
            handler.wfile.write(b"{" + b" " * 65536)
        elif answer == "huge-streamed":  # 50 MB, no length announced: read until the limit, then refused
            handler.send_response(200)
            handler.send_header("Connection", "close")
            handler.end_headers()
            chunk = b'{"id": "' + b"x" * 65536
            for _ in range(50 * 16):
                handler.wfile.write(chunk)
                sent.append(len(chunk))
        elif answer == "slow":
            time.sleep(3)
            send_json(handler, {})
        else:  # trickle: one byte every 0.1 s, for ever
            handler.send_response(200)
            handler.send_header("Content-Length", "100000")
            handler.end_headers()
            for _ in range(1000):
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(0.1)

    did = server.serve(write, "hostile", segment)
    started = time.monotonic()
    with pytest.raises(error, match=match):
        DidResolver(ResolverSetup(timeout=0.8, ca_bundle=server.ca_bundle)).resolve(did)
    assert time.monotonic() - started < 2.5
    time.sleep(0.2)
    assert sum(sent) < 4 * 1024 * 1024  # the client stopped reading at the limit: the server could not send 50 MB


def test_a_verification_deadline_ends_the_request_and_is_not_held_against_the_issuer(server: DidWebServer) -> None:
    did = server.did("deadline")
    asked: list[int] = []

    def slow_once(handler: BaseHTTPRequestHandler) -> None:
        asked.append(1)
        if len(asked) == 1:
            time.sleep(3)
        send_json(handler, did_document(did, {"key-1": MULTIBASE}))

    server.serve(slow_once, "deadline")
    resolver = DidResolver(ResolverSetup(timeout=10, ca_bundle=server.ca_bundle))
    started = time.monotonic()
    with rpc_deadline(time.monotonic() + 0.4), pytest.raises(DidUnreachableError, match="timed out"):
        resolver.resolve(did)
    assert time.monotonic() - started < 1.5
    assert resolver.resolve(did) is not None  # the next verification, with time enough, asks again


# ---------------------------------------------------------------------------------------------- strict parsing

DID = "did:web:issuer.example"


def method(fragment: str, public: str | None = MULTIBASE, **extra: Any) -> dict[str, Any]:
    entry = {"id": f"{DID}#{fragment}", "type": "Multikey", "controller": DID, "publicKeyMultibase": public}
    entry.update(extra)
    return entry


def test_relative_references_embedded_methods_and_the_2020_key_type_are_read() -> None:
    document = parse_did_document(
        {
            "id": DID,
            "verificationMethod": [
                {**method("a"), "id": "#a"},
                method("b", OTHER_MULTIBASE, type="Ed25519VerificationKey2020"),
                method("jwk", type="JsonWebKey2020", publicKeyMultibase=None),
            ],
            "assertionMethod": ["#a", f"{DID}#b", method("embedded")],
            "authentication": ["#jwk"],
        },
        DID,
        "test",
    )
    assert document.assertion_method == (f"{DID}#a", f"{DID}#b", f"{DID}#embedded")
    assert [m.public_key for m in document.methods] == [KEY, OTHER, None, KEY]
    assert not document.may_assert(f"{DID}#jwk")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"id": "did:web:other.example"}, "its id is 'did:web:other.example', not the DID"),
        ({"id": None}, "its id is None"),
        ({"verificationMethod": [method("a"), method("a", OTHER_MULTIBASE)]}, "defined twice"),
        ({"verificationMethod": [method("a")], "assertionMethod": [method("a")]}, "defined twice"),
        ({"verificationMethod": [method("a", controller="did:web:evil.example")]}, "controller"),
        ({"verificationMethod": [{**method("a"), "id": "did:web:evil.example#a"}]}, "is not <DID>#<key> of this DID"),
        ({"verificationMethod": [{**method("a"), "id": f"{DID}/path#a"}]}, "is not <DID>#<key>"),
        ({"assertionMethod": [f"{DID}#missing"]}, "names no verification method"),
        ({"assertionMethod": ["did:web:evil.example#a"]}, "is not a reference"),
        ({"assertionMethod": f"{DID}#a"}, "assertionMethod is a str, not a list"),
        ({"verificationMethod": {"id": "x"}}, "verificationMethod is a dict"),
        ({"verificationMethod": [method("a", "z6Mk" + "1" * 44)]}, "publicKeyMultibase"),
        ({"verificationMethod": [method("a", "z" + "2" * 500_000)]}, "500001 characters; an Ed25519 key is 48"),
        ({"verificationMethod": [method("a", "u" + "A" * 47)]}, "publicKeyMultibase"),
        ({"verificationMethod": [method("a", None)]}, "not a string"),
        ({"verificationMethod": ["#a"]}, "not a verification method object"),
    ],
)
def test_unusable_documents_are_refused_with_the_reason(change: dict[str, Any], match: str) -> None:
    document = {"id": DID, "verificationMethod": [method("a")], "assertionMethod": ["#a"]}
    document.update(change)
    started = time.monotonic()
    with pytest.raises(DidDocumentError, match=match) as raised:
        parse_did_document(document, DID, "test")
    assert DID in str(raised.value)
    assert time.monotonic() - started < 0.5  # a huge key is refused before it is decoded


# ---------------------------------------------------------------------------------------------- did:key, files


def test_did_key_resolves_offline_and_a_bad_one_quickly_fails() -> None:
    resolver = DidResolver()
    did = did_key(KEY)
    document = resolver.resolve(did, network=False)
    assert document is not None
    assert document.may_assert(f"{did}#{MULTIBASE}")
    method_ = document.method(f"{did}#{MULTIBASE}")
    assert method_ is not None
    assert method_.public_key == KEY
    for bad in ("did:key:z6Mk" + "1" * 44, "did:key:" + "z" + "2" * 400_000, "did:key:zQ3s" + "1" * 44):
        started = time.monotonic()
        with pytest.raises(DidDocumentError, match="did:key"):
            resolver.resolve(bad)
        assert time.monotonic() - started < 0.5


def test_only_did_web_and_did_key_are_resolved() -> None:
    with pytest.raises(DidDocumentError, match="not 'example' ones"):
        DidResolver().resolve("did:example:123")
    with pytest.raises(DidDocumentError, match="IP address"):
        DidResolver().resolve("did:web:127.0.0.1")


def test_a_given_document_is_used_for_its_did_only_and_never_fetched(server: DidWebServer, tmp_path: Path) -> None:
    did = server.serve(did_document(server.did("given"), {"key-1": OTHER_MULTIBASE}), "given")
    path = tmp_path / "did.json"
    path.write_text(json.dumps(did_document(did, {"key-1": MULTIBASE})))
    documents = given_documents([path])
    resolver = DidResolver(ResolverSetup(documents=documents, timeout=2.0, ca_bundle=server.ca_bundle))
    before = len(server.requests)
    document = resolver.resolve(did)
    assert document is not None
    assert document.source == f"file {path}"
    method_ = document.method(f"{did}#key-1")
    assert method_ is not None
    assert method_.public_key == KEY
    assert len(server.requests) == before


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ({"id": "did:key:" + MULTIBASE}, "derived from the DID itself"),
        ({"id": "https://issuer.example"}, "no did:web id"),
        ({"id": "did:web:ISSUER.example"}, "lower case"),
        ({"id": DID, "assertionMethod": ["#nothing"]}, "names no verification method"),
        ('{"id": "did:web:a.example", "id": "did:web:b.example"}', "duplicate"),
    ],
)
def test_unusable_document_files_are_refused(tmp_path: Path, content: dict[str, Any] | str, match: str) -> None:
    path = tmp_path / "did.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(InvalidInputError, match=match):
        load_did_document(path)


def test_two_files_for_one_did_and_oversized_files_are_refused(tmp_path: Path) -> None:
    first, second, big = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "big.json"
    for path in (first, second):
        path.write_text(json.dumps(did_document(DID, {"key-1": MULTIBASE})))
    with pytest.raises(InvalidInputError, match=r"two DID documents for did:web:issuer\.example"):
        given_documents([first, second])
    big.write_bytes(b" " * (MAX_DOCUMENT_BYTES + 1))
    with pytest.raises(InvalidInputError, match="larger than"):
        load_did_document(big)


def test_the_cache_folder_is_not_written_when_nothing_was_fetched(tmp_path: Path) -> None:
    resolver = DidResolver(ResolverSetup(cache_dir=tmp_path / "cache"))
    resolver.resolve(did_key(KEY))
    assert not (tmp_path / "cache").exists()
    assert os.listdir(tmp_path) == []
