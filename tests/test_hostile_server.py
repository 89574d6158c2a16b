"""``anchor serve`` under hostile load: bounded verification off the event loop, /health always answers (issue 14).

A real uvicorn server on 127.0.0.1 verifies against :mod:`support.fake_chain` endpoints, one of them made
deliberately slow, with a small pool (2 workers, 1 waiting) and a short deadline so the test takes seconds.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.errors import InvalidInputError
from anchor.verifier.checks import Run
from anchor.web import WebConfig, create_app

from support.anvil import free_port
from support.fake_chain import FakeChain, FakeEndpoint

DE = issuer_for_country("DE")
#: The reported request that froze the server: 65 brackets, a quote, then \" x 65,536 (an unterminated string).
NESTING_BODY = ("[" * 65 + '"' + '\\"' * 65_536).encode()
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    document: Any
    seconds: float


def _request(url: str, body: bytes | None = None, timeout: float = 30) -> Answer:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    start = time.monotonic()
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, headers, data = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, data = error.code, dict(error.headers), error.read()
    return Answer(status, headers, json.loads(data), time.monotonic() - start)


@pytest.fixture
def chain() -> FakeChain:
    made = FakeChain()
    made.register(1, DE.name, "DE", DE.id)
    return made


@pytest.fixture
def receipts(chain: FakeChain) -> list[dict[str, Any]]:
    return chain.anchor(1, list(generate_credentials(4, seed=31, issuer=DE)))


@pytest.fixture
def endpoint(chain: FakeChain) -> Iterator[FakeEndpoint]:
    made = FakeEndpoint(chain)
    yield made
    made.close()


@contextmanager
def serving(config: WebConfig) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_health_answers_while_slow_verifications_are_in_flight(
    chain: FakeChain, receipts: list[dict[str, Any]], endpoint: FakeEndpoint
) -> None:
    endpoint.delay = 5.0  # every eth_call: longer than the verification deadline
    config = WebConfig(rpc_urls=[endpoint.url], trusted=[chain.registry], timeout=20, deadline=2.0, workers=2, queue=1)
    with serving(config) as base:
        assert _request(f"{base}/health").status == 200  # the endpoint's chain id, asked once
        answers: list[Answer] = []
        started = time.monotonic()

        def verify(receipt: dict[str, Any]) -> None:
            answers.append(_request(f"{base}/verify", json.dumps(receipt).encode()))

        senders = [threading.Thread(target=verify, args=(receipt,)) for receipt in receipts]
        for sender in senders:
            sender.start()
        while endpoint.methods.count("eth_call") < 2:  # both workers are waiting for the slow endpoint
            assert time.monotonic() - started < 5, "the verifications did not start"
            time.sleep(0.01)
        health = [_request(f"{base}/health") for _ in range(5)]
        for sender in senders:
            sender.join(15)
        finished = time.monotonic() - started

        # with nothing in flight any more, the slots are free again and the server verifies as usual
        endpoint.delay = 0.0
        after = _request(f"{base}/verify", json.dumps(receipts[0]).encode())

    assert [answer.status for answer in health] == [200] * 5
    assert max(answer.seconds for answer in health) < 1.0, [answer.seconds for answer in health]
    # two ran until their RPC deadline (502, timed out); the one that waited for a worker ran out of time
    # before or right after it got one (504, or 502 timed out); the fourth found no slot (503, at once)
    statuses = sorted(answer.status for answer in answers)
    assert statuses in ([502, 502, 502, 503], [502, 502, 503, 504]), [answer.document for answer in answers]
    busy = next(answer for answer in answers if answer.status == 503)
    assert busy.seconds < 1.0
    assert busy.headers.get("retry-after") == "1" or busy.headers.get("Retry-After") == "1"
    assert busy.document["error"]["code"] == "busy"
    for answer in answers:
        if answer.status == 502:
            assert "timed out" in answer.document["error"]["message"]
            assert answer.seconds < 2.0 + 1.5
        if answer.status == 504:
            assert answer.document["error"]["code"] == "verification-timeout"
    assert finished < 8.0, "the deadline did not bound the verifications"
    assert after.status == 200
    assert after.document["verdict"] == "VALID"


def test_the_reported_hostile_bodies_are_answered_at_once(chain: FakeChain, endpoint: FakeEndpoint) -> None:
    receipt = chain.anchor(1, list(generate_credentials(1, seed=32, issuer=DE)))[0]
    receipt["issuer"]["id"] = "https://" + "a" * 200_000 + " "
    config = WebConfig(rpc_urls=[endpoint.url], trusted=[chain.registry], deadline=10.0, workers=1, queue=0)
    with serving(config) as base:
        nesting = _request(f"{base}/verify", NESTING_BODY)
        long_id = _request(f"{base}/verify", json.dumps(receipt).encode())
        health = _request(f"{base}/health")
    assert nesting.status == 400
    assert "nested 65 levels deep" in nesting.document["error"]["message"]
    assert nesting.seconds < 2.0
    assert long_id.status == 200
    assert long_id.document["verdict"] == "INVALID"
    assert "at most 2048 are allowed" in long_id.document["checks"][1]["reason"]
    assert long_id.seconds < 2.0
    assert health.status == 200


def test_an_unexpected_failure_is_a_422_with_the_result_never_a_500(
    chain: FakeChain, receipts: list[dict[str, Any]], endpoint: FakeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(self: Run, credential: dict[str, Any]) -> None:
        raise OverflowError("date value out of range")

    config = WebConfig(rpc_urls=[endpoint.url], trusted=[chain.registry])
    with TestClient(create_app(config), raise_server_exceptions=False) as client:
        bad_date = chain.anchor(1, list(generate_credentials(1, seed=33, issuer=DE)))[0]
        bad_date["validUntil"] = "9999-12-31T23:59:59-01:00"
        dated = client.post("/verify", content=json.dumps(bad_date), headers={"Content-Type": "application/json"})
        monkeypatch.setattr(Run, "_validity", fail)
        failed = client.post("/verify", content=json.dumps(receipts[0]), headers={"Content-Type": "application/json"})
    assert dated.status_code == 200
    assert dated.json()["verdict"] == "INVALID"
    assert failed.status_code == 422
    document = failed.json()
    assert document["verdict"] == "ERROR"
    assert document["status"] == "VERIFIER ERROR"
    assert document["error"] == {
        "code": "verifier-error",
        "message": "The verifier failed on this receipt: OverflowError: date value out of range",
    }


@pytest.mark.parametrize(
    ("workers", "queue", "deadline"), [(0, 1, 1.0), (1, -1, 1.0), (1, 1, 0.0)], ids=["workers", "queue", "deadline"]
)
def test_a_pool_that_cannot_work_is_refused(workers: int, queue: int, deadline: float) -> None:
    with pytest.raises(InvalidInputError, match="at least one worker"):
        create_app(
            WebConfig(rpc_urls=["http://127.0.0.1:9"], trusted=[], workers=workers, queue=queue, deadline=deadline)
        )
