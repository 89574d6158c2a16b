"""Fuzzing ``anchor serve``'s HTTP API: no 5xx from the app, no slow answer, ``/health`` always answers.

The server is the real command, ``anchor serve``, in its own process on 127.0.0.1, verifying against a
local anvil chain with a deployed registry (the verifier tests' world: valid, revoked, expired... receipts).
Three sources of requests, each under a Hypothesis budget (``ANCHOR_FUZZ_EXAMPLES`` raises it):

- Schemathesis, from the app's own OpenAPI document (``/openapi.json``): schema-conforming and
  schema-violating requests to every operation;
- structural mutations of real receipts (a value replaced by any JSON value or by a hostile string, a key
  deleted or added, a type changed), so that requests get past the receipt's format and reach the schema,
  digest, Merkle and on-chain checks; a mutation of anything the digest or the on-chain call covers must
  never verify VALID;
- hostile bodies of up to the size limit (deep nesting, long runs of escapes, long identifiers and
  numbers): what a regular expression or a parser could choke on.

For each request: the status is one the API documents and never a 5xx other than 502 (an RPC endpoint
failed), 503 (the verification queue is full) or 504 (the deadline passed), the answer comes within
:data:`RESPONSE_BOUND` seconds, and a watchdog asking ``/health`` every 0.2 s throughout gets its answer
within :data:`HEALTH_BOUND` seconds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from schemathesis.checks import max_response_time, not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from anchor.config import Settings
from anchor.credentials import MAX_CREDENTIAL_BYTES

from support.anvil import free_port
from support.verifier_world import World, build_world

pytestmark = pytest.mark.slow

#: Examples per source (Schemathesis: per operation). CI's budget; raise it with ANCHOR_FUZZ_EXAMPLES.
EXAMPLES = int(os.environ.get("ANCHOR_FUZZ_EXAMPLES", "150"))
#: Seconds any answer may take (a receipt of 1 MiB included), on a shared 2-core machine.
RESPONSE_BOUND = 3.0
#: Seconds ``/health`` may take to answer while the fuzzer runs.
HEALTH_BOUND = 2.0
#: What ``POST /verify`` may answer (the OpenAPI document lists each).
#: 503 (verification queue full) and 504 (deadline) are documented answers under load, not failures.
VERIFY_STATUSES = {200, 400, 413, 415, 422, 502, 503, 504}
#: Proof members that the offline checks or the on-chain call cover. The others (``transactionHash``,
#: ``blockNumber``, ``anchoredAt``, and members the format does not define) are evidence for display.
CHECKED_PROOF_MEMBERS = {"type", "format", "chainId", "registry", "batchId", "issuerId", "index", "digest"}
CHECKED_PROOF_MEMBERS |= {"merkleProof", "root"}
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # no shrinking: a request that hangs the server would be sent again and again
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=list(HealthCheck),
    database=None,
)


# ---------------------------------------------------------------------------------------------- the server


@dataclass
class Watchdog:
    """Asks ``/health`` every 0.2 s in a thread; records the slowest answer and any failure."""

    url: str
    slowest: float = 0.0
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with requests.Session() as session:
            while not self.stop.wait(0.2):
                started = time.monotonic()
                try:
                    answer = session.get(self.url + "/health", timeout=HEALTH_BOUND * 5)
                    if answer.status_code != 200:
                        self.failures.append(f"/health answered {answer.status_code}: {answer.text[:200]}")
                except requests.RequestException as error:
                    self.failures.append(f"/health failed: {error}")
                self.slowest = max(self.slowest, time.monotonic() - started)


@dataclass
class Server:
    url: str
    world: World
    watchdog: Watchdog
    session: requests.Session
    log: Path
    cases: dict[str, int] = field(default_factory=dict)

    def count(self, source: str) -> None:
        self.cases[source] = self.cases.get(source, 0) + 1


@pytest.fixture(scope="module")
def world(anvil: Settings) -> World:
    return build_world(anvil)


@pytest.fixture(scope="module")
def server(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``anchor serve`` in its own process, trusting the world's registry through ``--registry`` only."""
    home = tmp_path_factory.mktemp("serve-home")
    log = home / "serve.log"
    port = free_port()
    command = [sys.executable, "-m", "anchor", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--rpc", world.rpc_url, "--registry", world.registry.address, "--timeout", "5"]
    env = {**os.environ, "ANCHOR_HOME": str(home)}
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"anchor serve exited: {log.read_text(errors='replace')}"
            assert time.monotonic() < deadline, f"anchor serve did not answer: {log.read_text(errors='replace')}"
            try:
                if requests.get(url + "/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        watchdog = Watchdog(url)
        thread = threading.Thread(target=watchdog.run, daemon=True)
        thread.start()
        with requests.Session() as session:
            served = Server(url, world, watchdog, session, log)
            yield served
        watchdog.stop.set()
        thread.join(HEALTH_BOUND * 6)
        print(f"\nAPI fuzzing: cases per source {served.cases}; slowest /health {watchdog.slowest:.3f} s")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    assert not watchdog.failures, watchdog.failures[:5]
    assert watchdog.slowest < HEALTH_BOUND, f"/health took {watchdog.slowest:.2f} s while the fuzzer ran"


def post(server: Server, body: bytes, content_type: str = "application/json") -> requests.Response:
    """POST ``body`` to /verify; the answer, checked for status and time (a timeout fails the test)."""
    try:
        answer = server.session.post(
            server.url + "/verify",
            data=body,
            headers={"Content-Type": content_type},
            timeout=RESPONSE_BOUND * 4,
        )
    except requests.Timeout:
        pytest.fail(f"POST /verify of {len(body)} bytes got no answer in {RESPONSE_BOUND * 4} s: {body[:120]!r}")
    elapsed = answer.elapsed.total_seconds()
    assert answer.status_code in VERIFY_STATUSES, f"{answer.status_code}: {answer.text[:500]}"
    assert elapsed < RESPONSE_BOUND, f"POST /verify of {len(body)} bytes took {elapsed:.2f} s: {body[:120]!r}"
    return answer


# ---------------------------------------------------------------------------------------------- Schemathesis


@pytest.fixture(scope="module")
def api_schema(server: Server) -> Any:
    loaded = schemathesis.openapi.from_url(server.url + "/openapi.json")
    loaded.config.generation.update(modes=list(schemathesis.GenerationMode))
    loaded.config.checks.update(max_response_time=RESPONSE_BOUND)
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@FUZZ_SETTINGS
def test_schemathesis_finds_no_server_error_and_no_slow_answer(case: schemathesis.Case[Any], server: Server) -> None:
    server.count("schemathesis")
    case.call_and_validate(
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, max_response_time],
        timeout=RESPONSE_BOUND * 4,
    )


# ---------------------------------------------------------------------------------------------- mutated receipts

#: Strings that have broken parsers, date handling and regular expressions elsewhere.
HOSTILE_STRINGS = [
    "",
    " ",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "0000-00-00T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-01-01T00:00:00.999999999999Z",
    "https://" + "a" * 4000,
    "did:web:" + "a:" * 2000,
    "\\" * 3000 + '"',
    '\\"' * 3000,
    "0x" + "f" * 64,
    "0x" + "0" * 63,
    "0x" + "G" * 64,
    "\u0000",
    "\ud800",
    "e\u0301",
    "\u202e",
    "<script>alert(1)</script>",
    "[bold]x[/]",
    "\x1b]0;x\x07",
]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**300), max_value=2**300)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(HOSTILE_STRINGS),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
Path_ = tuple[str | int, ...]
DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT")
HEX = re.compile(r"0x[0-9a-fA-F]*")
#: The world's receipts that get mutated: verdicts VALID and INVALID for several reasons.
RECEIPTS = ["valid", "valid2", "revoked", "expired", "batch-revoked", "removed-key-later"]


@st.composite
def date_times(draw: st.DrawFn) -> str:
    """XML Schema date-times over the whole range of years, with offsets of up to 14 hours or ``Z``.

    Often the first or last second of year 1 or 9999 with an offset that takes it out of range in UTC.
    """
    earliest, latest = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)
    edge = draw(st.sampled_from([None, earliest, latest]))
    if edge is not None:
        minutes = draw(st.integers(1, 14 * 60))
        sign = "+" if edge == earliest else "-"
        return f"{edge.year:04d}-{edge:%m-%dT%H:%M:%S}{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    moment = draw(st.datetimes(min_value=earliest, max_value=latest))
    text = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"
    if draw(st.booleans()):
        text += f".{moment.microsecond:06d}"
    offset = draw(st.none() | st.integers(-14 * 60, 14 * 60) | st.sampled_from([-60, 60]))
    if offset is None:
        return text + "Z"
    return text + f"{'+' if offset >= 0 else '-'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"


def shape_of(value: Any) -> str:
    """The kind of a value, for choosing what to change evenly among kinds (a receipt has few dates)."""
    if isinstance(value, str) and DATE_TIME.match(value):
        return "date-time"
    if isinstance(value, str) and HEX.fullmatch(value):
        return "hex"
    return type(value).__name__


def same_shape(value: Any) -> st.SearchStrategy[Any]:
    """Other values of the shape of ``value``: dates for dates, hex for hex, integers for integers..."""
    if isinstance(value, bool):
        return st.just(not value)
    if isinstance(value, int):
        return st.integers(-(2**70), 2**70) | st.sampled_from([0, -1, 2**53, 2**64 - 1, 2**64, 2**255, 2**256])
    if isinstance(value, str) and DATE_TIME.match(value):
        return date_times()
    if isinstance(value, str) and HEX.fullmatch(value):
        return st.text("0123456789abcdefABCDEF", max_size=70).map(lambda digits: "0x" + digits)
    if isinstance(value, str):
        return st.text(max_size=len(value) + 20)
    if isinstance(value, list):
        return st.lists(st.sampled_from(value) if value else JSON_VALUES, max_size=len(value) + 2)
    return JSON_VALUES


def paths_of(value: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every path to a value inside ``value`` (not the root itself)."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from paths_of(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from paths_of(child, (*prefix, index))


def parent_of(document: Any, path: Path_) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


def mutate(data: st.DataObject, world: World) -> tuple[str, Path_, str, dict[str, Any]]:
    """(receipt name, path changed, kind of change, mutated receipt): one structural change to a real receipt."""
    name = data.draw(st.sampled_from(RECEIPTS), label="receipt")
    receipt = world.receipt(name)
    by_shape: dict[str, list[Path_]] = {}
    for found in paths_of(receipt):
        by_shape.setdefault(shape_of(parent_of(receipt, found)[found[-1]]), []).append(found)
    shape = data.draw(st.sampled_from(sorted(by_shape)), label="shape")
    path = data.draw(st.sampled_from(by_shape[shape]), label="path")
    parent = parent_of(receipt, path)
    kinds = ["replace", "delete", "add-key", "wrap-in-list", "stringify"]
    kind = data.draw(st.just("same-shape") | st.sampled_from(kinds), label="kind")  # half of them: same shape
    key = path[-1]
    if kind == "same-shape":
        parent[key] = data.draw(same_shape(parent[key]), label="value")
    elif kind == "replace":
        parent[key] = data.draw(JSON_VALUES, label="value")
    elif kind == "delete":
        del parent[key]
    elif kind == "add-key":
        inside, target = (path, parent[key]) if isinstance(parent[key], dict) else (path[:-1], parent)
        if isinstance(target, dict):
            new = data.draw(st.text(min_size=1, max_size=12) | st.sampled_from(sorted(target)), label="key")
            target[new] = data.draw(JSON_VALUES, label="value")
            path = (*inside, new)
        else:
            target.append(data.draw(JSON_VALUES, label="value"))
            path = (*inside, len(target) - 1)
    elif kind == "wrap-in-list":
        parent[key] = [parent[key]]
    else:
        parent[key] = json.dumps(parent[key])
    return name, path, kind, receipt


def covered_by_the_checks(path: Path_) -> bool:
    """Whether a change at ``path`` must make the receipt fail: anywhere but the proof's evidence members."""
    return not (len(path) >= 2 and path[0] == "proof" and path[1] not in CHECKED_PROOF_MEMBERS)


def test_mutated_receipts_get_an_answer_and_never_verify_when_changed(server: Server) -> None:
    originals = {}
    for name in RECEIPTS:
        answer = post(server, server.world.text(name).encode())
        originals[name] = answer.json()["verdict"]
    assert originals["valid"] == "VALID", originals  # else the property below would say nothing

    @settings(FUZZ_SETTINGS, max_examples=3 * EXAMPLES)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        name, path, kind, receipt = mutate(data, server.world)
        server.count("mutation")
        note(f"{kind} at {path} of receipt {name!r}")
        # as UTF-8 (a lone surrogate as its invalid 3-byte form) or as ASCII with \u escapes
        ascii_only = data.draw(st.booleans(), label="ASCII")
        body = json.dumps(receipt, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
        answer = post(server, body)
        verdict = answer.json().get("verdict")
        if path == ("proof",) and kind == "wrap-in-list":
            return  # the format's other form of the proof: a list holding it (beside a Data Integrity proof)
        if receipt != server.world.receipts[name] and covered_by_the_checks(path):
            assert verdict != "VALID", f"{kind} at {path} of {name!r} still verifies: {body[:300]!r}"

    check()


# ---------------------------------------------------------------------------------------------- hostile bodies


def _nested(size: int) -> bytes:
    return b"[" * size + b"]" * size


def _open_string_of_escaped_quotes(size: int) -> bytes:
    return b"[" * 65 + b'"' + b'\\"' * size


def _long_identifier(size: int) -> bytes:
    return json.dumps({"issuer": {"id": "https://" + "a" * size}}).encode()


def _receipt_with_long_issuer_id(world: World) -> Callable[[int], bytes]:
    def make(size: int) -> bytes:
        receipt = world.receipt("valid")
        receipt["issuer"]["id"] = "https://" + "a" * size
        return json.dumps(receipt).encode()

    return make


def _long_number(size: int) -> bytes:
    return b'{"proof": {"batchId": 1' + b"0" * size + b"}}"


def _many_keys(size: int) -> bytes:
    return b"{" + b",".join(b'"k%d":0' % index for index in range(size // 8)) + b"}"


def _unicode_escapes(size: int) -> bytes:
    return b'{"a": "' + b"\\ud800" * (size // 6) + b'"}'


def _many_duplicate_keys(size: int) -> bytes:
    return b"{" + b'"a":0,' * (size // 6) + b'"a":1}'


def hostile_bodies(world: World) -> dict[str, Callable[[int], bytes]]:
    return {
        "nested brackets": _nested,
        "unterminated string of escaped quotes": _open_string_of_escaped_quotes,
        "long https identifier": _long_identifier,
        "receipt with a long issuer.id": _receipt_with_long_issuer_id(world),
        "long number": _long_number,
        "many keys": _many_keys,
        "lone surrogate escapes": _unicode_escapes,
        "duplicate keys": _many_duplicate_keys,
    }


def test_hostile_bodies_up_to_the_size_limit_get_a_quick_answer(server: Server) -> None:
    shapes = hostile_bodies(server.world)

    @FUZZ_SETTINGS
    @given(
        shape=st.sampled_from(sorted(shapes)),
        size=st.sampled_from([2**10, 2**14, 2**16, 2**17, 2**18, 2**19]) | st.integers(1, MAX_CREDENTIAL_BYTES // 2),
    )
    def check(shape: str, size: int) -> None:
        server.count("hostile")
        body = shapes[shape](size)[:MAX_CREDENTIAL_BYTES]
        note(f"{shape}, size parameter {size}, {len(body)} bytes")
        post(server, body)

    check()
