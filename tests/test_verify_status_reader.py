"""Many statuses in one ``eth_call``: the deployless status reader (issue 13: >= 2,000 receipts/s on anvil).

On anvil: a directory of valid, revoked (one credential, a whole batch), tampered, wrong-proof, wrong-index,
unknown-batch, foreign-issuer... receipts gets exactly the results with the reader as with one ``eth_call`` per
status and as verifying each receipt alone. Against :mod:`support.fake_chain` (a node that runs the reader,
and one that refuses calls without ``to``): an answer to the reader call of the wrong shape (short, long,
wrong offset or length, not data) is that endpoint's error for every receipt it covered, a well-formed lie
about one receipt is caught by the quorum, and an endpoint that refuses the call is asked the usual way (and
not asked with the reader again). The calls stay within the reader's bounds.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anchor.chain.abi_codec import AbiEncodingError, encode
from anchor.chain.status_reader import (
    ARGUMENTS,
    MAX_CALL_BYTES,
    MAX_QUESTIONS,
    StatusQuestion,
    encoded_arguments,
    status_reader,
)
from anchor.config import Settings
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.verifier import CheckState, Verdict, Verification, Verifier, trusted_from_deployments
from anchor.verifier.bulk import verify_chunk, verify_paths

from support.fake_chain import BATCH_REVOKED, FakeChain, FakeEndpoint
from support.verifier_world import NOW, RpcProxy, World, build_world, write_receipts

DE = issuer_for_country("DE")


# ---------------------------------------------------------------------- on anvil: the same results


@pytest.fixture(scope="module")
def world(anvil: Settings) -> World:
    return build_world(anvil)


def test_the_reader_gives_the_results_of_one_call_per_status_and_of_one_by_one_on_anvil(
    world: World, tmp_path: Path
) -> None:
    receipts: dict[str, Any] = {name: world.receipt(name) for name in world.receipts}
    tampered = world.receipt("valid2")
    tampered["credentialSubject"]["name"] = "Someone Else"
    wrong_proof = world.receipt("valid3")
    node = wrong_proof["proof"]["merkleProof"][0]
    wrong_proof["proof"]["merkleProof"][0] = node[:-1] + ("0" if node[-1] != "0" else "1")
    wrong_index = world.receipt("valid")
    wrong_index["proof"]["index"] = 1
    unknown = world.receipt("valid3")
    unknown["proof"]["batchId"] = 999
    receipts |= {"tampered": tampered, "wrong-proof": wrong_proof, "wrong-index": wrong_index, "unknown": unknown}
    paths = write_receipts(tmp_path / "receipts", receipts)
    trusted = trusted_from_deployments(world.settings.deployments_dir)
    proxy = RpcProxy(world.rpc_url)
    try:
        with Verifier([proxy.url], trusted) as alone:
            expected = [alone.verify_file(path, now=NOW).to_json() for path in paths]
        with Verifier([proxy.url], trusted, read_many=False) as one_call_each:
            each = [result.to_json() for result in verify_paths(one_call_each, paths, processes=1, now=NOW)]
        proxy.requests.clear()
        with Verifier([proxy.url], trusted) as reading:
            read = [result.to_json() for result in verify_paths(reading, paths, processes=1, now=NOW)]
            assert reading._reader_refused == set()
    finally:
        proxy.close()
    assert read == each == expected
    verdicts = {Path(path).stem: result["verdict"] for path, result in zip(paths, read, strict=True)}
    assert verdicts["valid"] == verdicts["removed-key-later"] == "VALID"
    for name in ("revoked", "batch-revoked", "tampered", "wrong-proof", "wrong-index", "unknown", "foreign"):
        assert verdicts[name] == "INVALID", name
    # the statuses of every receipt asked (one registry) in one call, beside the three issuers' getIssuer
    assert proxy.requests[:2] == ["eth_chainId", ",".join(["eth_call"] * 4)]


# ---------------------------------------------------------------------- hostile answers (fake chain)


@pytest.fixture
def chain() -> FakeChain:
    made = FakeChain(deployless=True)
    made.register(1, DE.name, "DE", DE.id)
    return made


@pytest.fixture
def receipt_paths(chain: FakeChain, tmp_path: Path) -> list[str]:
    receipts = chain.anchor(1, list(generate_credentials(6, seed=51, issuer=DE)))
    return write_receipts(tmp_path, {f"r{index}": receipt for index, receipt in enumerate(receipts)})


@pytest.fixture
def endpoints(chain: FakeChain) -> Iterator[tuple[FakeEndpoint, FakeEndpoint]]:
    honest, hostile = FakeEndpoint(chain), FakeEndpoint(chain)
    yield honest, hostile
    honest.close()
    hostile.close()


def _verify(chain: FakeChain, paths: list[str], *endpoints: FakeEndpoint) -> list[Verification]:
    with Verifier([endpoint.url for endpoint in endpoints], [chain.registry], timeout=5.0) as verifier:
        return verify_chunk(verifier, paths, now=NOW)


def _on_reader(change: Callable[[Any], Any]) -> Any:
    """A tamper that replaces the answer to every reader call (an ``eth_call`` without ``to``) with ``change``."""

    def tamper(calls: list[dict[str, Any]], response: Any) -> Any:
        answers = copy.deepcopy(response if isinstance(response, list) else [response])
        found = False
        for call, answer in zip(calls, answers, strict=True):
            if call.get("method") == "eth_call" and "to" not in call["params"][0]:
                found = True
                answer.pop("error", None)
                answer["result"] = change(answer.get("result"))
        if not found:
            return None
        return answers if isinstance(response, list) else answers[0]

    return tamper


def _words(result: str) -> list[str]:
    body = result[2:]
    return [body[start : start + 64] for start in range(0, len(body), 64)]


def _join(words: list[str]) -> str:
    return "0x" + "".join(words)


#: Answers to the reader call of the wrong shape: no answer of it is believed.
WRONG_SHAPE: dict[str, Callable[[str], Any]] = {
    "one word short": lambda result: _join(_words(result)[:-1]),
    "one word long": lambda result: _join([*_words(result), "00" * 32]),
    "a byte short": lambda result: result[:-2],
    "the array at another offset": lambda result: _join([f"{64:064x}", *_words(result)[1:]]),
    "one answer more than asked": lambda result: _join(
        [_words(result)[0], f"{7:064x}", *_words(result)[2:], *_words(result)[-6:]]
    ),
    "a length of one more": lambda result: _join([_words(result)[0], f"{7:064x}", *_words(result)[2:]]),
    "not hex": lambda result: "0xzz",
    "not a string": lambda result: {"data": result},
}


@pytest.mark.parametrize("how", sorted(WRONG_SHAPE))
def test_a_reader_answer_of_the_wrong_shape_is_that_endpoints_error_for_all_it_covered(
    chain: FakeChain, receipt_paths: list[str], endpoints: tuple[FakeEndpoint, FakeEndpoint], how: str
) -> None:
    honest, hostile = endpoints
    hostile.tamper = _on_reader(WRONG_SHAPE[how])
    results = _verify(chain, receipt_paths, honest, hostile)
    for result in results:
        anchored = next(check for check in result.checks if check.name == "anchored")
        assert result.verdict is Verdict.ERROR, result.summary
        assert anchored.state is CheckState.NOT_CHECKED
        assert anchored.code == "rpc-unreachable"
        assert hostile.url in anchored.reason
        assert honest.url not in anchored.reason


def test_an_answer_no_registry_gives_is_that_endpoints_error_for_its_receipt_alone(
    chain: FakeChain, receipt_paths: list[str], endpoints: tuple[FakeEndpoint, FakeEndpoint]
) -> None:
    honest, hostile = endpoints
    hostile.tamper = _on_reader(lambda result: _join([*_words(result)[:2], f"{9:064x}", *_words(result)[3:]]))
    results = _verify(chain, receipt_paths, honest, hostile)
    anchored = next(check for check in results[0].checks if check.name == "anchored")
    assert results[0].verdict is Verdict.ERROR
    assert anchored.code == "rpc-unreachable"
    assert "status 9" in anchored.reason  # decoded as a credentialStatus answer of its own would be
    assert {result.verdict for result in results[1:]} == {Verdict.VALID}


def test_a_well_formed_lie_about_one_receipt_is_caught_by_the_quorum(
    chain: FakeChain, receipt_paths: list[str], endpoints: tuple[FakeEndpoint, FakeEndpoint]
) -> None:
    honest, hostile = endpoints
    batch = chain.batches[1]
    lie = [f"{value:064x}" for value in (BATCH_REVOKED, 1, batch.anchored_at, batch.block, batch.anchored_at + 9, 1)]

    def one_revoked(result: str) -> str:
        words = _words(result)
        return _join([*words[:2], *lie, *words[8:]])  # the first receipt's answer

    hostile.tamper = _on_reader(one_revoked)
    results = _verify(chain, receipt_paths, honest, hostile)
    anchored = next(check for check in results[0].checks if check.name == "anchored")
    assert results[0].verdict is Verdict.INVALID
    assert anchored.code == "endpoints-disagree"
    assert {result.verdict for result in results[1:]} == {Verdict.VALID}
    # told by every endpoint alike, the lie is what the chain says (the user chose them): INVALID, never VALID
    honest.tamper = hostile.tamper
    results = _verify(chain, receipt_paths, honest, hostile)
    assert results[0].verdict is Verdict.INVALID
    assert results[0].check("revocation").code == "batch-revoked"


@pytest.mark.parametrize("refusal", ["an error object", "a revert", "no data"])
def test_an_endpoint_refusing_the_reader_is_asked_the_usual_way_and_not_again(
    chain: FakeChain, receipt_paths: list[str], endpoints: tuple[FakeEndpoint, FakeEndpoint], refusal: str
) -> None:
    honest, refusing = endpoints
    reader_calls: list[int] = []

    def refuse(calls: list[dict[str, Any]], response: Any) -> Any:
        answers = response if isinstance(response, list) else [response]
        for call, answer in zip(calls, answers, strict=True):
            if call.get("method") == "eth_call" and "to" not in call["params"][0]:
                reader_calls.append(1)
                answer.pop("result", None)
                if refusal == "an error object":
                    answer["error"] = {"code": -32602, "message": "missing value for required argument: to"}
                elif refusal == "a revert":
                    answer["error"] = {"code": 3, "message": "execution reverted", "data": "0x"}
                else:
                    answer["result"] = "0x"
        return answers if isinstance(response, list) else answers[0]

    refusing.tamper = refuse
    with Verifier([honest.url, refusing.url], [chain.registry], timeout=5.0) as verifier:
        first = verify_chunk(verifier, receipt_paths[:3], now=NOW)
        second = verify_chunk(verifier, receipt_paths[3:], now=NOW)
        assert verifier._reader_refused == {refusing.url}
    assert {result.verdict for result in first + second} == {Verdict.VALID}
    assert len(reader_calls) == 1  # the second chunk asked the refusing endpoint the usual way at once


def test_a_node_that_runs_no_code_without_to_is_asked_the_usual_way(tmp_path: Path) -> None:
    chain = FakeChain(deployless=False)
    chain.register(1, DE.name, "DE", DE.id)
    paths = write_receipts(
        tmp_path, {f"r{n}": r for n, r in enumerate(chain.anchor(1, list(generate_credentials(3, seed=52, issuer=DE))))}
    )
    endpoint = FakeEndpoint(chain)
    try:
        assert {result.verdict for result in _verify(chain, paths, endpoint)} == {Verdict.VALID}
    finally:
        endpoint.close()
    assert endpoint.methods.count("eth_call") == 1 + 3 + 1  # the refused reader call, the statuses, getIssuer


def test_reader_calls_stay_within_their_bounds() -> None:
    reader = status_reader()
    shallow = [StatusQuestion(1, n, "0x" + "11" * 32, ("0x" + "22" * 32,) * 3) for n in range(200)]
    deep = [StatusQuestion(1, n, "0x" + "11" * 32, ("0x" + "22" * 32,) * 40) for n in range(200)]
    for questions in (shallow, deep):
        groups = reader.groups(questions)
        assert [position for group in groups for position in group] == list(range(len(questions)))
        for group in groups:
            assert len(group) <= MAX_QUESTIONS
            data = reader.call_data("0x" + "33" * 20, [questions[position] for position in group])
            assert (len(data) - 2) // 2 <= MAX_CALL_BYTES
    assert max(len(group) for group in reader.groups(shallow)) == MAX_QUESTIONS
    assert max(len(group) for group in reader.groups(deep)) < MAX_QUESTIONS  # the bytes bound first


_hash32 = st.binary(min_size=32, max_size=32).map(lambda raw: "0x" + raw.hex())
_questions = st.lists(
    st.builds(
        StatusQuestion,
        st.integers(0, 2**256 - 1),
        st.integers(0, 2**256 - 1),
        st.one_of(_hash32, _hash32.map(str.upper).map(lambda text: "0x" + text[2:])),
        st.lists(_hash32, max_size=20).map(tuple),
    ),
    min_size=1,
    max_size=8,
)


@given(_questions)
def test_the_reader_arguments_are_the_generic_abi_encoding(questions: list[StatusQuestion]) -> None:
    registry = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    queries = [
        (q.batch_id, q.leaf_index, bytes.fromhex(q.digest[2:]), [bytes.fromhex(node[2:]) for node in q.proof])
        for q in questions
    ]
    assert encoded_arguments(registry, questions) == encode(ARGUMENTS, [registry, queries]).hex()


@pytest.mark.parametrize(
    "question",
    [
        StatusQuestion(-1, 0, "0x" + "11" * 32, ()),
        StatusQuestion(True, 0, "0x" + "11" * 32, ()),
        StatusQuestion(1, 2**256, "0x" + "11" * 32, ()),
        StatusQuestion(1, 0, "0x" + "1g" * 32, ()),
        StatusQuestion(1, 0, "0x" + "11" * 31, ()),
        StatusQuestion(1, 0, "0x" + "11" * 32, ("0x" + "zz" * 32,)),
        StatusQuestion(1, 0, "0x" + "11" * 32, ("ab0x" + "11" * 31,)),
        StatusQuestion(1, 0, "0x" + "11" * 32, ("0x" + "11" * 32 + "00",)),
    ],
    ids=[
        "negative",
        "bool",
        "too-large",
        "digest-not-hex",
        "digest-short",
        "node-not-hex",
        "node-unprefixed",
        "node-long",
    ],
)
def test_reader_arguments_refuse_what_the_abi_cannot_hold(question: StatusQuestion) -> None:
    with pytest.raises(AbiEncodingError):
        encoded_arguments("0x5FbDB2315678afecb367f032d93F642f64180aa3", [question])
