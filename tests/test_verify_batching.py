"""Verifying many receipts with their chain questions in JSON-RPC batch requests (issue 13, "Verifying").

On anvil: a directory of valid, revoked, batch-revoked, tampered, unknown-batch, untrusted, not-final... receipts
gets exactly the results of verifying each receipt alone, with a few requests instead of one per receipt.
Against :mod:`support.fake_chain`: every way of answering a batch wrongly (not an array, too many answers,
wrong, missing or duplicated ids, an error object for one call, too large) is that endpoint's error for the
receipts whose answers it carried, never a crash and never a VALID; a well-formed lie is caught by the quorum.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from anchor.chain.jsonrpc import MAX_BATCH, MAX_RESPONSE_BYTES, JsonRpcEndpoint, RpcError
from anchor.chain.registry_abi import CredentialStatus, registry_abi
from anchor.config import Settings
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.errors import InvalidInputError
from anchor.verifier import CheckState, Verdict, Verification, Verifier, trusted_from_deployments
from anchor.verifier.bulk import verify_chunk, verify_paths
from anchor.verifier.onchain import Question, ask_many

from support.fake_chain import BATCH_REVOKED, FakeChain, FakeEndpoint
from support.verifier_world import NOW, RpcProxy, World, build_world, write_receipts

DE = issuer_for_country("DE")


def _comparable(result: Verification) -> dict[str, Any]:
    return result.to_json()


# ---------------------------------------------------------------------- on anvil: the same results, fewer requests


@pytest.fixture(scope="module")
def world(anvil: Settings) -> World:
    return build_world(anvil)


def _anvil_receipts(world: World) -> dict[str, Any]:
    receipts: dict[str, Any] = {name: world.receipt(name) for name in world.receipts}
    tampered = world.receipt("valid2")
    tampered["credentialSubject"]["name"] = "Someone Else"
    unknown = world.receipt("valid3")
    unknown["proof"]["batchId"] = 999
    wrong_index = world.receipt("valid")
    wrong_index["proof"]["index"] = 1
    twice = world.receipt("valid")  # the same receipt twice in one chunk
    receipts.update(
        {"tampered": tampered, "unknown-batch": unknown, "wrong-index": wrong_index, "not-json": "{", "twice": twice}
    )
    return receipts


def test_batched_directory_gives_the_results_of_one_by_one_on_anvil(world: World, tmp_path: Path) -> None:
    paths = write_receipts(tmp_path / "receipts", _anvil_receipts(world))
    paths.append(str(tmp_path / "receipts" / "missing.json"))  # unreadable: verify_file reports it
    trusted = trusted_from_deployments(world.settings.deployments_dir)
    proxy = RpcProxy(world.rpc_url)
    try:
        with Verifier([proxy.url], trusted) as alone:
            expected = [alone.verify_file(path, now=NOW) for path in paths]
        proxy.requests.clear()
        with Verifier([proxy.url], trusted) as batched:
            results = list(verify_paths(batched, paths, processes=1, threads=1, now=NOW))
    finally:
        proxy.close()
    for path, got, wanted in zip(paths, results, expected, strict=True):
        assert _comparable(got) == _comparable(wanted), path
    verdicts = {Path(path).stem: result.verdict for path, result in zip(paths, results, strict=True)}
    assert verdicts["valid"] is verdicts["twice"] is verdicts["removed-key-later"] is Verdict.VALID
    for name in ("revoked", "batch-revoked", "tampered", "unknown-batch", "wrong-index", "lookalike", "pending"):
        assert verdicts[name] is Verdict.INVALID, name
    assert verdicts["not-json"] is verdicts["missing"] is Verdict.ERROR
    # one batch of statuses and issuers, one of BatchAnchored logs; only what needs more asks alone
    assert proxy.requests[:2] == ["eth_chainId", ",".join(["eth_call"] * 4)]  # 13 statuses in one call, 3 issuers
    assert proxy.requests[2] == ",".join(["eth_getLogs"] * 4)  # the BatchAnchored event of each batch
    # asked alone: the revoked one (its status, then its revocation event), and the unknown and the not final
    # batch (the status at finalized, at latest, then the finalized height)
    assert sorted(proxy.requests[3:]) == sorted(
        ["eth_call", "eth_getLogs", *["eth_call", "eth_call", "eth_getBlockByNumber"] * 2]
    )


def test_worker_processes_give_the_same_results_as_in_process(world: World, tmp_path: Path) -> None:
    receipts = _anvil_receipts(world)
    many = {f"{number:03d}-{name}": receipt for number in range(10) for name, receipt in receipts.items()}
    paths = write_receipts(tmp_path / "many", many)
    trusted = trusted_from_deployments(world.settings.deployments_dir)
    with Verifier([world.rpc_url], trusted) as verifier:
        here = list(verify_paths(verifier, paths, processes=1, threads=2, now=NOW))
        forked = list(verify_paths(verifier, paths, processes=2, threads=1, now=NOW))
    assert [_comparable(result) for result in forked] == [_comparable(result) for result in here]


# ---------------------------------------------------------------------- hostile batch answers (fake chain)


@pytest.fixture
def chain() -> FakeChain:
    made = FakeChain()
    made.register(1, DE.name, "DE", DE.id)
    return made


@pytest.fixture
def receipt_paths(chain: FakeChain, tmp_path: Path) -> list[str]:
    receipts = chain.anchor(1, list(generate_credentials(6, seed=31, issuer=DE)))
    return write_receipts(tmp_path, {f"r{index}": receipt for index, receipt in enumerate(receipts)})


@pytest.fixture
def endpoints(chain: FakeChain) -> Iterator[tuple[FakeEndpoint, FakeEndpoint]]:
    honest, hostile = FakeEndpoint(chain), FakeEndpoint(chain)
    yield honest, hostile
    honest.close()
    hostile.close()


Tamper = Callable[[list[dict[str, Any]], Any], Any]


def _on_batches(change: Callable[[list[dict[str, Any]]], Any]) -> Tamper:
    """A tamper that changes the answer to every batch of several requests (single requests stay honest)."""

    def tamper(calls: list[dict[str, Any]], response: Any) -> Any:
        if isinstance(response, list) and len(calls) > 1:
            return change(copy.deepcopy(response))
        return None

    return tamper


def _with_id(answer: dict[str, Any], value: Any) -> dict[str, Any]:
    return {**answer, "id": value}


#: Hostile answers to a batch that no answer of it survives: every receipt it carried is the endpoint's error.
WHOLE = {
    "one answer object": lambda answers: answers[0],
    "a JSON string": lambda answers: "not an array",
    "more answers than requests": lambda answers: answers + answers[:1],
    "a huge array": lambda answers: [{"jsonrpc": "2.0", "id": 0, "result": "0x"}] * 20_000,
    "more bytes than any answer may have": lambda answers: b"[" + b" " * MAX_RESPONSE_BYTES + b"]",
    "not JSON": lambda answers: b"[{]",
    "ids shifted": lambda answers: [_with_id(answer, answer["id"] + 1000) for answer in answers],
    "ids as strings": lambda answers: [_with_id(answer, str(answer["id"])) for answer in answers],
    "ids as floats": lambda answers: [_with_id(answer, float(answer["id"])) for answer in answers],
    "no ids": lambda answers: [{key: value for key, value in answer.items() if key != "id"} for answer in answers],
    "null entries": lambda answers: [None] * len(answers),
    "an empty array": lambda answers: [],
}


def _verify(chain: FakeChain, paths: list[str], *endpoints: FakeEndpoint) -> list[Verification]:
    # one eth_call per status, as these tests pick them out (tests/test_verify_status_reader.py: many to a call)
    urls = [endpoint.url for endpoint in endpoints]
    with Verifier(urls, [chain.registry], timeout=5.0, read_many=False) as verifier:
        return verify_chunk(verifier, paths, now=NOW)


def _is_error_of(result: Verification, endpoint: FakeEndpoint) -> bool:
    anchored = next(check for check in result.checks if check.name == "anchored")
    return (
        result.verdict is Verdict.ERROR
        and anchored.state is CheckState.NOT_CHECKED
        and anchored.code == "rpc-unreachable"
        and endpoint.url in anchored.reason
    )


@pytest.mark.parametrize("how", sorted(WHOLE))
def test_a_batch_answered_wrongly_is_that_endpoints_error_for_all_it_carried(
    chain: FakeChain, receipt_paths: list[str], endpoints: tuple[FakeEndpoint, FakeEndpoint], how: str
) -> None:
    honest, hostile = endpoints
    hostile.tamper = _on_batches(WHOLE[how])
    results = _verify(chain, receipt_paths, honest, hostile)
    assert all(_is_error_of(result, hostile) for result in results), [r.summary for r in results]
    assert not any(honest.url in check.reason for result in results for check in result.checks if check.code)


def test_an_endpoint_that_refuses_batches_is_asked_one_request_at_a_time(
    chain: FakeChain, receipt_paths: list[str], endpoints: tuple[FakeEndpoint, FakeEndpoint]
) -> None:
    # what an endpoint without batches answers (JSON-RPC 2.0 §6: one Response object for an invalid request)
    refused = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "batch requests not supported"}}
    honest, refusing = endpoints
    refusing.tamper = _on_batches(lambda answers: refused)
    results = _verify(chain, receipt_paths, honest, refusing)
    assert [result.verdict for result in results] == [Verdict.VALID] * len(receipt_paths), [
        result.summary for result in results
    ]

    # ...and a lie told one request at a time is still caught (the endpoints disagree: none is believed)
    def lie(calls: list[dict[str, Any]], response: Any) -> Any:
        if len(calls) > 1:
            return refused
        return {**response, "result": "0x"} if calls[0]["method"] == "eth_call" else None

    refusing.tamper = lie
    results = _verify(chain, receipt_paths, honest, refusing)
    for result in results:
        assert result.verdict is not Verdict.VALID, result.summary
        assert any(refusing.url in check.reason for check in result.checks if check.code), result.summary


def _drop(number: int) -> Callable[[list[dict[str, Any]]], Any]:
    return lambda answers: [answer for answer in answers if answer["id"] != number]


def _duplicate(number: int, instead_of: int) -> Callable[[list[dict[str, Any]]], Any]:
    def change(answers: list[dict[str, Any]]) -> Any:
        twin = copy.deepcopy(next(answer for answer in answers if answer["id"] == number))
        twin["result"] = "0x" + "00" * 192  # the second answer says something else
        return [twin if answer["id"] == instead_of else answer for answer in answers]

    return change


def _error_for(number: int) -> Callable[[list[dict[str, Any]]], Any]:
    def change(answers: list[dict[str, Any]]) -> Any:
        return [
            {"jsonrpc": "2.0", "id": number, "error": {"code": -32000, "message": "out of gas"}}
            if answer["id"] == number
            else answer
            for answer in answers
        ]

    return change


def _not_data_for(number: int) -> Callable[[list[dict[str, Any]]], Any]:
    def change(answers: list[dict[str, Any]]) -> Any:
        return [{**answer, "result": {"a": 1}} if answer["id"] == number else answer for answer in answers]

    return change


def _id_true(answers: list[dict[str, Any]]) -> Any:
    return [_with_id(answer, True) if answer["id"] == 1 else answer for answer in answers]


#: Hostile answers to some requests of a batch (request n is the status call of receipt rn), and the receipts
#: whose answers they were: only those fail.
SOME = {
    "its answer missing": (_drop(1), {1}),
    "answered twice (and another not at all)": (_duplicate(1, instead_of=2), {1, 2}),
    "an error object": (_error_for(1), {1}),
    "a result that is not data": (_not_data_for(1), {1}),
    "its id true instead of 1": (_id_true, {1}),
}


@pytest.mark.parametrize("how", sorted(SOME))
def test_requests_answered_wrongly_are_that_endpoints_error_for_their_receipts_alone(
    chain: FakeChain, receipt_paths: list[str], endpoints: tuple[FakeEndpoint, FakeEndpoint], how: str
) -> None:
    honest, hostile = endpoints
    change, affected = SOME[how]
    hostile.tamper = _on_batches(change)
    results = _verify(chain, receipt_paths, honest, hostile)
    for index, result in enumerate(results):
        if index in affected:
            assert _is_error_of(result, hostile), result.summary
        else:
            assert result.verdict is Verdict.VALID, result.summary


def test_the_issuer_call_answered_wrongly_is_the_error_of_every_receipt_of_that_issuer(
    chain: FakeChain, receipt_paths: list[str], endpoints: tuple[FakeEndpoint, FakeEndpoint]
) -> None:
    honest, hostile = endpoints
    hostile.tamper = _on_batches(_error_for(len(receipt_paths)))  # getIssuer comes after the status calls
    results = _verify(chain, receipt_paths, honest, hostile)
    assert all(_is_error_of(result, hostile) for result in results)


def test_a_consistent_lie_in_a_batch_is_caught_by_the_quorum(
    chain: FakeChain, receipt_paths: list[str], endpoints: tuple[FakeEndpoint, FakeEndpoint]
) -> None:
    honest, hostile = endpoints
    status = chain.status_function
    batch = chain.batches[1]
    lie = (BATCH_REVOKED, 1, batch.anchored_at, batch.block, batch.anchored_at + 10, 1)

    def revoked(answers: list[dict[str, Any]]) -> Any:
        return [{**answer, "result": status.answer(lie)} if answer["id"] < 6 else answer for answer in answers]

    hostile.tamper = _on_batches(revoked)
    for result in _verify(chain, receipt_paths, honest, hostile):
        anchored = next(check for check in result.checks if check.name == "anchored")
        assert result.verdict is Verdict.INVALID
        assert anchored.code == "endpoints-disagree"
    # and a lie told by every endpoint alike is what the chain says (the user chose them): no crash either
    honest.tamper = hostile.tamper
    assert {result.verdict for result in _verify(chain, receipt_paths, honest, hostile)} == {Verdict.INVALID}


def test_a_directory_costs_a_few_requests_per_endpoint(
    chain: FakeChain, receipt_paths: list[str], endpoints: tuple[FakeEndpoint, FakeEndpoint]
) -> None:
    honest, other = endpoints
    posts: list[int] = []

    def count(calls: list[dict[str, Any]], response: Any) -> None:
        posts.append(len(calls))

    honest.tamper = count
    results = _verify(chain, receipt_paths, honest, other)
    assert {result.verdict for result in results} == {Verdict.VALID}
    assert posts == [1, len(receipt_paths) + 1, 1]  # eth_chainId; statuses and the issuer; BatchAnchored


def test_ask_many_sends_batches_of_at_most_max_batch(chain: FakeChain, endpoints: tuple[FakeEndpoint, Any]) -> None:
    honest, _ = endpoints
    chain.anchor(1, list(generate_credentials(2, seed=32, issuer=DE)))
    posts: list[int] = []
    honest.tamper = lambda calls, response: posts.append(len(calls))
    questions = [Question(chain.registry, 1, index, "0x" + "11" * 32, (), 1) for index in range(MAX_BATCH + 20)]
    endpoint = JsonRpcEndpoint(honest.url)
    try:
        answers = ask_many(endpoint, registry_abi(), questions, block="finalized", issuer_cache={})
    finally:
        endpoint.close()
    assert posts == [MAX_BATCH, 21]
    statuses = [answer.status.status for answer in answers.values() if not isinstance(answer, Exception)]
    assert statuses == [CredentialStatus.VALID] * 2 + [CredentialStatus.BAD_PROOF] * (MAX_BATCH + 18)


@pytest.mark.parametrize("size", [0, MAX_BATCH + 1])
def test_a_batch_of_no_or_too_many_requests_is_refused_before_sending(size: int) -> None:
    endpoint = JsonRpcEndpoint("http://127.0.0.1:9")
    with pytest.raises(InvalidInputError, match=f"1 to {MAX_BATCH} requests, not {size}"):
        endpoint.batch_answers([("eth_chainId", [])] * size)


#: Answers to a two-request batch that a lax reader would take (ids compared with ==, the last answer kept).
LAX_IDS = {
    "request 1 answered twice, request 0 not at all": lambda answers: [answers[1], {**answers[1], "result": "0x0"}],
    "id true for 1": lambda answers: [answers[0], {**answers[1], "id": True}],
    "id 1.0 for 1": lambda answers: [answers[0], {**answers[1], "id": 1.0}],
    "id 7 for 1": lambda answers: [answers[0], {**answers[1], "id": 7}],
}


@pytest.mark.parametrize("how", sorted(LAX_IDS))
def test_a_batch_answer_with_lax_ids_is_refused_not_guessed(
    chain: FakeChain, endpoints: tuple[FakeEndpoint, FakeEndpoint], how: str
) -> None:
    honest, _ = endpoints
    honest.tamper = _on_batches(LAX_IDS[how])
    requests: list[tuple[str, list[Any]]] = [("eth_chainId", []), ("eth_blockNumber", [])]
    endpoint = JsonRpcEndpoint(honest.url)
    try:
        with pytest.raises(RpcError, match=r"(left request [01] .* unanswered|answered request 1 .* twice)"):
            endpoint.batch(requests)
        results = endpoint.batch_answers(requests)
    finally:
        endpoint.close()
    assert isinstance(results[1], RpcError)
    assert results[0] == hex(chain.chain_id) or isinstance(results[0], RpcError)


@pytest.mark.parametrize("how", ["ids shifted", "more answers than requests", "an empty array"])
def test_the_anchoring_events_batch_answered_wrongly_is_that_endpoints_error(
    chain: FakeChain, tmp_path: Path, endpoints: tuple[FakeEndpoint, FakeEndpoint], how: str
) -> None:
    first = chain.anchor(1, list(generate_credentials(2, seed=33, issuer=DE)))
    second = chain.anchor(1, list(generate_credentials(2, seed=34, issuer=DE)))
    paths = write_receipts(tmp_path, {f"r{index}": receipt for index, receipt in enumerate(first + second)})
    honest, hostile = endpoints
    change = WHOLE[how]

    def on_logs(calls: list[dict[str, Any]], response: Any) -> Any:
        if isinstance(response, list) and {call["method"] for call in calls} == {"eth_getLogs"}:
            return change(copy.deepcopy(response))
        return None

    hostile.tamper = on_logs
    for result in _verify(chain, paths, honest, hostile):
        anchored = next(check for check in result.checks if check.name == "anchored")
        assert result.verdict is Verdict.ERROR, result.summary
        assert anchored.code == "rpc-unreachable"
        assert hostile.url in anchored.reason


def test_nothing_asked_ahead_is_kept_after_the_chunk(
    chain: FakeChain, receipt_paths: list[str], endpoints: tuple[FakeEndpoint, FakeEndpoint], tmp_path: Path
) -> None:
    honest, other = endpoints
    paths = [
        *receipt_paths,
        *write_receipts(tmp_path / "more", {"not-json": "{", "twice": Path(receipt_paths[0]).read_text()}),
    ]
    with Verifier([honest.url, other.url], [chain.registry], timeout=5.0) as verifier:
        for chunk in [paths[:3], paths[3:]]:
            results = verify_chunk(verifier, chunk, now=NOW, threads=2)
            assert len(results) == len(chunk)
            assert verifier._ahead == ()
            assert verifier._splits == {}
