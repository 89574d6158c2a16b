"""The verifier's status lists (anchor.verifier.status): fetched over HTTPS with bounds and a cache, compared with the
chain only for what the registered issuer anchored, and never trusted unsigned."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchor.credentials.data_integrity import add_proof, sign
from anchor.credentials.multikey import did_key, did_key_verification_method
from anchor.credentials.status_list import StatusBits, StatusListError, status_entry_for, status_list_credential
from anchor.errors import InvalidInputError
from anchor.verifier.dids import DidResolver
from anchor.verifier.model import CHECKS, Check, CheckState
from anchor.verifier.status import (
    MAX_FETCH_BYTES,
    StatusFetchError,
    StatusLists,
    StatusListSetup,
    given_lists,
    load_status_list,
    status_list_warnings,
)

from support.did_web_server import DidWebServer, send_json

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
DID = did_key(KEY.public_key().public_bytes_raw())
METHOD = did_key_verification_method(KEY.public_key().public_bytes_raw())
INDEX = 4242


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DidWebServer]:
    running = DidWebServer(tmp_path_factory.mktemp("https"))
    yield running
    running.close()


def url_of(server: DidWebServer, name: str) -> str:
    return f"https://localhost:{server.port}/status/{name}"


def signed_list(url: str, revoked: tuple[int, ...] = ()) -> dict[str, Any]:
    bits = StatusBits()
    for index in revoked:
        bits.set(index)
    document = status_list_credential(url, DID, bits, datetime.now(UTC))
    return add_proof(document, sign(document, KEY, METHOD))


def credential(url: str, issuer: str = DID) -> dict[str, Any]:
    base, _, name = url.rpartition("/")
    entry = status_entry_for(base, int(name.removesuffix(".json")), INDEX)
    return {"issuer": {"id": issuer}, "credentialStatus": entry}


def checks(revocation: str, *, confirmed: bool = True) -> dict[str, Check]:
    """The checks as a run leaves them: the chain said ``revoked`` / ``valid`` / nothing (``unknown``)."""
    made = {name: Check(name, CheckState.PASSED, "ok") for name, _ in CHECKS}
    if not confirmed:
        made["issuer"] = Check("issuer", CheckState.FAILED, "someone else", "issuer-mismatch")
    if revocation == "revoked":
        made["revocation"] = Check("revocation", CheckState.FAILED, "revoked", "revoked")
    elif revocation == "unknown":
        made["revocation"] = Check("revocation", CheckState.NOT_CHECKED, "not asked", "rpc-unreachable")
    return made


def fetching(server: DidWebServer, **options: Any) -> StatusLists:
    return StatusLists(StatusListSetup(fetch=True, ca_bundle=server.ca_bundle, **options))


def test_a_fetched_list_is_compared_with_the_chain_and_cached(server: DidWebServer) -> None:
    url = url_of(server, "1.json")
    server.routes["/status/1.json"] = signed_list(url, revoked=())
    lists = fetching(server)
    resolver = DidResolver()
    warnings = status_list_warnings(credential(url), checks("revoked"), lists, resolver)
    assert warnings == [
        f"status list {url} says entry {INDEX} is not revoked, but the chain says the credential is revoked: "
        "standard wallets reading that list are misled (the issuer should run `anchor status publish`); "
        "the chain decides"
    ]
    assert status_list_warnings(credential(url), checks("valid"), lists, resolver) == []  # agrees
    assert status_list_warnings(credential(url), checks("unknown"), lists, resolver) == []  # nothing to compare
    assert server.requests.count("/status/1.json") == 1  # fetched once, then cached


def test_nothing_is_fetched_for_a_credential_the_registered_issuer_did_not_anchor(server: DidWebServer) -> None:
    url = url_of(server, "2.json")
    server.routes["/status/2.json"] = signed_list(url)
    lists = fetching(server)
    assert status_list_warnings(credential(url), checks("revoked", confirmed=False), lists, DidResolver()) == []
    assert "/status/2.json" not in server.requests
    # nor without --fetch-status-lists
    off = StatusLists(StatusListSetup(ca_bundle=server.ca_bundle))
    assert status_list_warnings(credential(url), checks("revoked"), off, DidResolver()) == []
    assert "/status/2.json" not in server.requests


def redirect(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(302)
    handler.send_header("Location", "https://elsewhere.example/list")
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def huge(handler: BaseHTTPRequestHandler) -> None:
    data = b"[" + b" " * (MAX_FETCH_BYTES + 10) + b"]"
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def bomb(handler: BaseHTTPRequestHandler) -> None:
    """A status list of 64 MiB of zeros, gzip'ed into 64 KB."""
    import base64

    document = signed_list("https://localhost/status/bomb.json")
    packed = gzip.compress(bytes(64 << 20), compresslevel=9, mtime=0)
    document["credentialSubject"]["encodedList"] = "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode()
    send_json(handler, document)


@pytest.mark.parametrize(
    ("number", "route", "message"),
    [
        (101, redirect, "redirects (HTTP 302 to "),
        (102, huge, f"is at most {MAX_FETCH_BYTES} bytes"),
        (103, bomb, "expands to more than 16777216 bytes"),
        (104, {"not": "a status list"}, "@context must be a list"),
        (105, None, "answered HTTP 404"),
    ],
)
def test_a_list_that_cannot_be_had_is_reported_and_the_failure_remembered(
    server: DidWebServer, number: int, route: Any, message: str
) -> None:
    name = f"{number}.json"
    url = url_of(server, name)
    if route is not None:
        server.routes[f"/status/{name}"] = route
    lists = fetching(server)
    (warning,) = status_list_warnings(credential(url), checks("revoked"), lists, DidResolver())
    assert warning.startswith(f"status list {url} could not be read:")
    assert message in warning
    status_list_warnings(credential(url), checks("revoked"), lists, DidResolver())
    assert server.requests.count(f"/status/{name}") == 1  # the failure is remembered, not asked again


def test_an_unknown_certificate_authority_is_refused(server: DidWebServer) -> None:
    url = url_of(server, "3.json")
    server.routes["/status/3.json"] = signed_list(url)
    with pytest.raises(StatusFetchError, match="CERTIFICATE_VERIFY_FAILED"):
        StatusLists(StatusListSetup(fetch=True)).get(url)  # the system's authorities do not know the test CA


def test_given_lists_are_read_strictly_and_used_for_their_url(tmp_path: Path) -> None:
    url = "https://uni.example/status/7.json"
    path = tmp_path / "7.json"
    path.write_text(json.dumps(signed_list(url, revoked=(INDEX,))), encoding="utf-8")
    (given,) = given_lists([path])
    lists = StatusLists(StatusListSetup(given=(given,)))
    assert lists.get(url) is given
    assert lists.get("https://uni.example/status/8.json") is None  # not given, fetching off
    # a given list is used even when the chain's issuer was not confirmed: it names its own URL
    assert status_list_warnings(credential(url), checks("valid", confirmed=False), lists, DidResolver()) == [
        f"status list {url} says entry {INDEX} is revoked, but the chain does not: the chain decides"
    ]
    with pytest.raises(InvalidInputError, match=r"two status lists for https://uni\.example/status/7\.json"):
        given_lists([path, path])
    bad = tmp_path / "bad.json"
    bad.write_text('{"@context": ["https://www.w3.org/ns/credentials/v2"], "@context": []}', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=f"status list {bad}: .*duplicate"):
        load_status_list(bad)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_FETCH_BYTES + 1))
    with pytest.raises(InvalidInputError, match="larger than"):
        load_status_list(big)


def test_an_unusable_status_entry_is_reported() -> None:
    lists = StatusLists(StatusListSetup(fetch=True))
    entry = {**status_entry_for("https://uni.example/status", 1, 5), "statusListIndex": "05"}
    (warning,) = status_list_warnings({"credentialStatus": entry}, checks("valid"), lists, DidResolver())
    assert warning.startswith("the credential's status entry is unusable: credentialStatus.statusListIndex")
    assert isinstance(StatusFetchError("x"), InvalidInputError)
    assert not issubclass(StatusFetchError, StatusListError)
