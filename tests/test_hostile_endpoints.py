"""Hostile or changing RPC endpoints, and receipts the verifier cannot compare: each failure stays local (issue 14).

Against :mod:`support.fake_chain` (a registry answered from Python state on 127.0.0.1), so each test takes
milliseconds: one endpoint's failure, whatever it is, is that endpoint's error and the quorum decides; an
issuer's changing fields are never cached; a receipt that makes the verifier fail is that receipt's ERROR,
never the end of a directory run.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from anchor.chain.jsonrpc import MAX_RESPONSE_BYTES, JsonRpcEndpoint, RpcError, rpc_deadline
from anchor.cli import main
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.verifier import CheckState, Verdict, Verification, Verifier
from anchor.verifier.bulk import verify_paths
from anchor.verifier.checks import Run
from anchor.verifier.session import VERIFIER_ERROR

from support.fake_chain import BATCH_REVOKED, VALID, FakeChain, FakeEndpoint

NOW = datetime(2026, 3, 1, tzinfo=UTC)
DE = issuer_for_country("DE")


@pytest.fixture
def chain() -> FakeChain:
    made = FakeChain()
    made.register(1, DE.name, "DE", DE.id)
    return made


@pytest.fixture
def receipts(chain: FakeChain) -> list[dict[str, Any]]:
    return chain.anchor(1, list(generate_credentials(3, seed=21, issuer=DE)))


@pytest.fixture
def endpoints(chain: FakeChain) -> Iterator[tuple[FakeEndpoint, FakeEndpoint]]:
    honest, other = FakeEndpoint(chain), FakeEndpoint(chain)
    yield honest, other
    honest.close()
    other.close()


def _verifier(chain: FakeChain, *endpoints: FakeEndpoint, timeout: float = 5.0) -> Verifier:
    return Verifier([endpoint.url for endpoint in endpoints], [chain.registry], timeout=timeout)


def _is_status_call(chain: FakeChain, call: dict[str, Any]) -> bool:
    return call.get("method") == "eth_call" and call["params"][0]["data"].startswith(chain.status_function.selector)


def _with_status(chain: FakeChain, value: tuple[int, ...]) -> Any:
    """A tamper that answers every ``credentialStatus`` call with ``value``."""

    def tamper(calls: list[dict[str, Any]], response: Any) -> Any:
        answers = response if isinstance(response, list) else [response]
        for call, answer in zip(calls, answers, strict=True):
            if _is_status_call(chain, call):
                answer["result"] = chain.status_function.answer(value)
        return response

    return tamper


def _refusing(message: str) -> Any:
    """A tamper that refuses every request holding an ``eth_call`` with ``message``."""

    def tamper(calls: list[dict[str, Any]], response: Any) -> Any:
        if not any(call["method"] == "eth_call" for call in calls):
            return None
        errors = [{"jsonrpc": "2.0", "id": call["id"], "error": {"code": -32000, "message": message}} for call in calls]
        return errors if isinstance(response, list) else errors[0]

    return tamper


def _on_eth_call(body: bytes) -> Any:
    """A tamper that sends ``body`` for every request holding an ``eth_call`` (``eth_chainId`` stays honest)."""
    return lambda calls, response: body if any(call["method"] == "eth_call" for call in calls) else None


def test_two_honest_endpoints_agree(chain: FakeChain, receipts: list[dict[str, Any]], endpoints: Any) -> None:
    with _verifier(chain, *endpoints) as verifier:
        result = verifier.verify(receipts[0], now=NOW)
    assert result.verdict is Verdict.VALID, result.summary


# ---------------------------------------------------------------------------------------------- fault 3


HOSTILE_ANSWERS = {
    "nested-arrays": lambda chain: _on_eth_call(b"[" * 100_000 + b"]" * 100_000),
    "nested-objects": lambda chain: _on_eth_call(b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
    "over-the-size-limit": lambda chain: _on_eth_call(b'"' + b"a" * (MAX_RESPONSE_BYTES + 10) + b'"'),
    "not-utf-8": lambda chain: _on_eth_call(b'{"jsonrpc": "2.0", "id": 0, "result": "\xff"}'),
    "a-5000-digit-number": lambda chain: _on_eth_call(b'{"jsonrpc": "2.0", "id": 0, "result": ' + b"9" * 5000 + b"}"),
    "a-500-kb-error-message": lambda chain: _refusing("no " * 170_000),
    "anchored-at-2**64-1": lambda chain: _with_status(chain, (VALID, 1, 2**64 - 1, chain.batches[1].block, 0, 0)),
    "batch-revoked-at-2**64-1": lambda chain: _with_status(
        chain, (BATCH_REVOKED, 1, chain.batches[1].anchored_at, chain.batches[1].block, 2**64 - 1, 1)
    ),
}


@pytest.mark.parametrize("kind", HOSTILE_ANSWERS)
def test_a_hostile_endpoint_next_to_an_honest_one_is_that_endpoints_error(
    chain: FakeChain, receipts: list[dict[str, Any]], endpoints: tuple[FakeEndpoint, FakeEndpoint], kind: str
) -> None:
    honest, hostile = endpoints
    hostile.tamper = HOSTILE_ANSWERS[kind](chain)
    with _verifier(chain, honest, hostile) as verifier:
        result = verifier.verify(receipts[0], now=NOW)
        again = verifier.verify(receipts[1], now=NOW)  # the honest endpoint's cached answers change nothing
    for verification in (result, again):
        assert verification.verdict is Verdict.ERROR, verification.summary
        assert verification.status == "RPC UNREACHABLE", verification.summary
        assert hostile.url in verification.summary
        assert honest.url not in verification.summary
        assert verification.check("anchored").code == "rpc-unreachable"
        assert len(verification.summary) < 1000


def test_whatever_makes_one_endpoint_fail_is_that_endpoints_error(
    chain: FakeChain, receipts: list[dict[str, Any]], endpoints: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    honest, failing = endpoints
    ask = Verifier.ask

    def ask_or_fail(self: Verifier, endpoint: JsonRpcEndpoint, proof: Any) -> Any:
        if endpoint.url == failing.url:
            raise ZeroDivisionError("a bug met only on this endpoint's answer")
        return ask(self, endpoint, proof)

    monkeypatch.setattr(Verifier, "ask", ask_or_fail)
    with _verifier(chain, honest, failing) as verifier:
        result = verifier.verify(receipts[0], now=NOW)
    assert result.verdict is Verdict.ERROR
    assert f"{failing.url}: ZeroDivisionError: a bug met only on this endpoint's answer" in result.summary


def _trickling_server(stop: threading.Event) -> tuple[str, threading.Thread]:
    """An HTTP server that promises 100,000 bytes and sends one every 0.1 s (each read within any timeout)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)

    def serve() -> None:
        with server:
            connection, _ = server.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                )
                while not stop.wait(0.1):
                    try:
                        connection.sendall(b" ")
                    except OSError:
                        return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.getsockname()[1]}", thread


def test_an_answer_trickling_in_times_out_with_the_endpoints_timeout() -> None:
    stop = threading.Event()
    url, server = _trickling_server(stop)
    outcome: list[BaseException | float] = []

    def ask() -> None:
        start = time.monotonic()
        try:
            JsonRpcEndpoint(url, timeout=1.0).call("eth_chainId", [])
        except RpcError as error:
            outcome.append(error)
        outcome.append(time.monotonic() - start)

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    asking.join(10)
    stop.set()
    server.join(5)
    assert not asking.is_alive(), "the request did not end"
    error, elapsed = outcome
    assert isinstance(error, RpcError)
    assert "timed out" in str(error)
    assert isinstance(elapsed, float)
    assert elapsed < 3.0


def test_a_verification_deadline_ends_the_requests_of_every_endpoint(
    chain: FakeChain, receipts: list[dict[str, Any]], endpoints: tuple[FakeEndpoint, FakeEndpoint]
) -> None:
    for endpoint in endpoints:
        endpoint.delay = 5.0
    with _verifier(chain, *endpoints, timeout=30.0) as verifier:
        verifier.each_endpoint(lambda endpoint: endpoint.chain_id())  # cached: the deadline meets the eth_calls
        start = time.monotonic()
        result = verifier.verify(receipts[0], now=NOW, deadline=time.monotonic() + 0.5)
        elapsed = time.monotonic() - start
    assert result.verdict is Verdict.ERROR
    assert "timed out" in result.summary
    assert elapsed < 2.5, f"{elapsed:.2f} s"


def test_a_deadline_already_passed_asks_nothing() -> None:
    endpoint = JsonRpcEndpoint("http://127.0.0.1:9", timeout=30)
    with rpc_deadline(time.monotonic() - 1), pytest.raises(RpcError, match="timed out"):
        endpoint.call("eth_chainId", [])


# ---------------------------------------------------------------------------------------------- fault 4


@pytest.mark.parametrize("change", ["signer-added", "deactivated"])
def test_endpoints_that_read_an_issuer_before_and_after_it_changed_agree(
    chain: FakeChain, receipts: list[dict[str, Any]], endpoints: tuple[FakeEndpoint, FakeEndpoint], change: str
) -> None:
    early, late = endpoints
    late.tamper = _on_eth_call(b"down for maintenance")
    with _verifier(chain, early, late) as verifier:
        before = verifier.verify(receipts[0], now=NOW)  # the early endpoint reads the issuer; the late one fails
        assert before.verdict is Verdict.ERROR
        assert late.url in before.summary
        issuer = chain.issuers[1]
        if change == "signer-added":
            issuer.signer_count += 1
        else:
            issuer.deactivated_at = 1_760_000_000
        late.tamper = lambda calls, response: None  # the late endpoint reads the issuer after the change
        after = verifier.verify(receipts[1], now=NOW)
        calls_before = early.methods.count("eth_call")
        verifier.verify(receipts[2], now=NOW)
        assert early.methods.count("eth_call") == calls_before + 1, "the issuer's identity is no longer cached"
    assert after.check("anchored").code != "endpoints-disagree", after.summary
    if change == "signer-added":
        assert after.verdict is Verdict.VALID, after.summary
    else:
        assert after.verdict is Verdict.INVALID
        assert after.check("issuer").code == "issuer-inactive", after.summary


# ---------------------------------------------------------------------------------------------- fault 2


def _receipt_with(chain: FakeChain, field: str, value: str) -> dict[str, Any]:
    """A receipt, anchored (so intact), of a credential whose ``field`` is ``value``."""
    credential = next(generate_credentials(1, seed=22, issuer=DE))
    credential[field] = value
    return chain.anchor(1, [credential])[0]


BAD_DATES = [("validFrom", "0001-01-01T00:00:00+01:00"), ("validUntil", "9999-12-31T23:59:59-01:00")]


@pytest.mark.parametrize(("field", "value"), BAD_DATES)
def test_a_receipt_with_a_date_outside_years_1_to_9999_is_invalid_not_a_crash(
    chain: FakeChain, endpoints: tuple[FakeEndpoint, FakeEndpoint], field: str, value: str
) -> None:
    receipt = _receipt_with(chain, field, value)
    with _verifier(chain, endpoints[0]) as verifier:
        result = verifier.verify(receipt, now=NOW)
        from_text = verifier.verify(json.dumps(receipt), now=NOW)
    for verification in (result, from_text):
        assert verification.verdict is Verdict.INVALID
        schema = verification.check("schema")
        assert schema.state is CheckState.FAILED
        assert f"/{field}: " in schema.reason
        assert "outside years 1-9999 in UTC" in schema.reason
        assert verification.check("validity").state is CheckState.NOT_CHECKED


def _write(folder: Path, receipts: dict[str, dict[str, Any]]) -> list[str]:
    folder.mkdir()
    for name, receipt in receipts.items():
        (folder / name).write_text(json.dumps(receipt), encoding="utf-8")
    return sorted(str(path) for path in folder.iterdir())


def test_a_directory_run_verifies_every_receipt_past_one_with_bad_dates(
    chain: FakeChain, receipts: list[dict[str, Any]], endpoints: Any, tmp_path: Path
) -> None:
    bad = {f"bad-{field}.json": _receipt_with(chain, field, value) for field, value in BAD_DATES}
    good = {f"good-{index}.json": receipt for index, receipt in enumerate(receipts)}
    paths = _write(tmp_path / "receipts", {**bad, **good})
    with _verifier(chain, endpoints[0]) as verifier:
        results = list(verify_paths(verifier, paths, processes=1, threads=2, now=NOW))
    verdicts = {Path(str(result.source)).name: result.verdict for result in results}
    assert verdicts == {**dict.fromkeys(bad, Verdict.INVALID), **dict.fromkeys(good, Verdict.VALID)}


def test_anchor_verify_dir_reports_a_receipt_with_bad_dates_and_goes_on(
    chain: FakeChain, receipts: list[dict[str, Any]], endpoints: Any, tmp_path: Path
) -> None:
    field, value = BAD_DATES[0]
    folder = tmp_path / "receipts"
    _write(
        folder,
        {"a-good.json": receipts[0], "b-bad.json": _receipt_with(chain, field, value), "c-good.json": receipts[1]},
    )
    result = CliRunner().invoke(
        main,
        [
            "--home",
            str(tmp_path / "home"),
            "verify",
            str(folder),
            "--rpc",
            endpoints[0].url,
            "--registry",
            chain.registry,
        ],
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 1, result.output  # one INVALID receipt
    assert "Traceback" not in result.output
    for name in ("a-good.json", "b-bad.json", "c-good.json"):
        assert name in result.output
    assert "outside years 1-9999 in UTC" in result.output


def test_an_unexpected_exception_is_that_receipts_error_result(
    chain: FakeChain, receipts: list[dict[str, Any]], endpoints: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    validity = Run._validity

    def fail_on_one(self: Run, credential: dict[str, Any]) -> None:
        if str(self.source).endswith("b-cursed.json"):
            raise OverflowError("date value out of range " + "x" * 1000)
        validity(self, credential)

    monkeypatch.setattr(Run, "_validity", fail_on_one)
    cursed = copy.deepcopy(receipts[2])
    paths = _write(tmp_path / "receipts", {"a.json": receipts[0], "b-cursed.json": cursed, "c.json": receipts[1]})
    with _verifier(chain, endpoints[0]) as verifier:
        results: list[Verification] = list(verify_paths(verifier, paths, processes=1, threads=1, now=NOW))
    assert [result.verdict for result in results] == [Verdict.VALID, Verdict.ERROR, Verdict.VALID]
    failed = results[1]
    assert failed.status == VERIFIER_ERROR
    assert failed.summary.startswith("The verifier failed on this receipt: OverflowError: date value out of range xxx")
    assert len(failed.summary) < 400
    assert "Traceback" not in failed.summary
    assert failed.check("receipt").state is CheckState.PASSED  # what ran before the failure is kept
    assert failed.check("validity").code == "verifier-error"
    assert failed.to_json()["verdict"] == "ERROR"
