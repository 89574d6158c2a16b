"""The verifier against a real anvil chain: every check fails for the right reason, never VALID when it should not.

Receipts come from :mod:`support.verifier_world` (library-built batches: valid, revoked, batch-revoked, expired,
not yet valid, foreign issuer, deactivated issuer, key removed afterwards, look-alike registry, not final).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eth_utils import function_signature_to_4byte_selector
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anchor.chain.jsonrpc import JsonRpcEndpoint
from anchor.chain.registry_abi import REASON_NAMES, REVOCATION_REASONS, CredentialCheck, CredentialStatus, registry_abi
from anchor.config import Settings
from anchor.verifier import (
    CHECKS,
    CheckState,
    TrustedRegistry,
    Verdict,
    Verification,
    Verifier,
    receipt_from_link,
    receipt_link,
    trusted_from_deployments,
    verify,
)

from support.verifier_world import NOW, RpcProxy, World, build_world

pytestmark = pytest.mark.slow
STATUS_SELECTOR = (
    "0x" + function_signature_to_4byte_selector("credentialStatus(uint256,uint256,bytes32,bytes32[])").hex()
)


@pytest.fixture(scope="module")
def world(anvil: Settings) -> World:
    return build_world(anvil)


@pytest.fixture(scope="module")
def verifier(world: World) -> Iterator[Verifier]:
    with Verifier([world.rpc_url], trusted_from_deployments(world.settings.deployments_dir)) as made:
        yield made


def check_it(verifier: Verifier, receipt: dict[str, Any] | str) -> Verification:
    return verifier.verify(receipt if isinstance(receipt, str) else json.dumps(receipt), now=NOW)


def assert_fails(result: Verification, check: str, code: str) -> None:
    """INVALID, with ``check`` failed for ``code``, and no check after the failing ones claiming a pass it lacks."""
    assert result.verdict is Verdict.INVALID, result.to_json()
    failed = result.check(check)
    assert failed.state is CheckState.FAILED, result.to_json()
    assert failed.code == code, failed
    assert failed.reason


def flip_hex(value: str, position: int = -1) -> str:
    """``value`` (0x-hex) with the lowest bit of one hex digit flipped: still hex, another value."""
    digits = list(value)
    digits[position] = format(int(digits[position], 16) ^ 1, "x")
    return "".join(digits)


def flip_char(text: str, position: int = 0) -> str:
    return text[:position] + chr(ord(text[position]) ^ 1) + text[position + 1 :]


# ---------------------------------------------------------------------------------------------- valid


def test_a_valid_receipt_passes_every_check_in_order(world: World, verifier: Verifier) -> None:
    result = check_it(verifier, world.text("valid"))
    assert result.verdict is Verdict.VALID, result.to_json()
    assert result.status == "VALID"
    assert [check.name for check in result.checks] == [name for name, _ in CHECKS]
    signature = result.check("signature")  # a v1 receipt: predates issuer signatures, not counted against it
    assert (signature.state, signature.code) == (CheckState.NOT_CHECKED, "not-applicable")
    assert all(check.state is CheckState.PASSED for check in result.checks if check.name != "signature")
    evidence = result.evidence
    assert evidence is not None
    proof = world.receipts["valid"]["proof"]
    assert evidence.batch_id == proof["batchId"] == 1
    assert evidence.anchored_at_block_onchain == proof["blockNumber"]
    assert evidence.issuer_uri == world.receipts["valid"]["issuer"]["id"]
    assert evidence.issuer_name == world.receipts["valid"]["issuer"]["name"]
    assert evidence.revocation is None
    summary = result.credential
    assert summary is not None
    assert summary.learner
    assert summary.title
    assert summary.awarding_body
    assert summary.ects is not None
    assert summary.eqf_level is not None
    assert summary.learning_outcomes
    document = result.to_json()
    assert document["verdict"] == "VALID"
    assert json.loads(json.dumps(document)) == document


def test_a_parsed_receipt_and_the_one_shot_function_agree(world: World) -> None:
    trusted = trusted_from_deployments(world.settings.deployments_dir)
    result = verify(world.receipt("valid2"), rpc_urls=[world.rpc_url], trusted_registries=trusted, now=NOW)
    assert result.verdict is Verdict.VALID
    bare = verify(world.text("valid2"), rpc_urls=[world.rpc_url], trusted_registries=[world.registry.address], now=NOW)
    assert bare.verdict is Verdict.VALID
    assert "given" in bare.check("chain").reason


def test_a_key_removed_after_anchoring_leaves_its_batches_valid(world: World, verifier: Verifier) -> None:
    assert check_it(verifier, world.text("removed-key-later")).verdict is Verdict.VALID


# ---------------------------------------------------------------------------------------------- tampering


def _set(path: tuple[str | int, ...], change: Callable[[Any], Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(receipt: dict[str, Any]) -> None:
        node: Any = receipt
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = change(node[path[-1]])

    return mutate


LEARNER = ("credentialSubject", "identifier", 0, "identityHash")

TAMPERINGS: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("learner name bit", _set(LEARNER, flip_char), "integrity", "tampered"),
    (
        "title bit",
        _set(("credentialSubject", "achievement", "name"), lambda v: flip_char(v, 3)),
        "integrity",
        "tampered",
    ),
    ("issue date digit", _set(("validFrom",), lambda v: flip_char(v, 9)), "integrity", "tampered"),
    (
        "ECTS value",
        _set(("credentialSubject", "achievement", "creditsAvailable"), lambda v: v * 2),
        "integrity",
        "tampered",
    ),
    ("salt bit", _set(("anchorSalt",), flip_hex), "integrity", "tampered"),
    ("salt removed", lambda r: r.pop("anchorSalt"), "integrity", "no-digest"),
    ("digest bit", _set(("proof", "digest"), flip_hex), "integrity", "tampered"),
    ("proof step bit", _set(("proof", "merkleProof", 0), lambda v: flip_hex(v, 5)), "integrity", "bad-proof"),
    ("proof step dropped", _set(("proof", "merkleProof"), lambda v: v[1:]), "integrity", "bad-proof"),
    ("root bit", _set(("proof", "root"), flip_hex), "integrity", "bad-proof"),
    ("index changed", _set(("proof", "index"), lambda v: v + 1), "integrity", "bad-proof"),
    ("batch id changed to another batch", _set(("proof", "batchId"), lambda v: 2), "anchored", "root-mismatch"),
    ("batch id changed to none", _set(("proof", "batchId"), lambda v: 99), "anchored", "unknown-batch"),
    ("issuer id changed", _set(("proof", "issuerId"), lambda v: 2), "issuer", "issuer-id-mismatch"),
    ("block number changed", _set(("proof", "blockNumber"), lambda v: v + 1), "anchored", "block-mismatch"),
    ("chain id changed", _set(("proof", "chainId"), lambda v: 137), "chain", "wrong-chain"),
    (
        "registry changed",
        _set(("proof", "registry"), lambda v: "0x" + "11" * 20),
        "chain",
        "untrusted-registry",
    ),
]


@pytest.mark.parametrize(("mutate", "check", "code"), [t[1:] for t in TAMPERINGS], ids=[t[0] for t in TAMPERINGS])
def test_each_tampering_fails_its_check(
    world: World, verifier: Verifier, mutate: Callable[[dict[str, Any]], None], check: str, code: str
) -> None:
    receipt = world.receipt("valid")
    mutate(receipt)
    assert_fails(check_it(verifier, receipt), check, code)


def test_a_revoked_credential_under_a_non_revoked_index_fails_offline(world: World, verifier: Verifier) -> None:
    receipt = world.receipt("revoked")
    sibling = world.receipt("valid3")  # index 2 of the same batch, not revoked
    receipt["proof"]["index"] = sibling["proof"]["index"]
    assert_fails(check_it(verifier, receipt), "integrity", "bad-proof")
    receipt["proof"]["merkleProof"] = sibling["proof"]["merkleProof"]  # and with that index's proof too
    assert_fails(check_it(verifier, receipt), "integrity", "bad-proof")


def test_the_digest_of_another_credential_of_the_batch_is_refused(world: World, verifier: Verifier) -> None:
    receipt = world.receipt("valid")
    receipt["proof"] = world.receipt("valid2")["proof"]  # a genuine proof, for someone else's credential
    assert_fails(check_it(verifier, receipt), "integrity", "tampered")


# ---------------------------------------------------------------------------------------------- registry answers


def test_a_revoked_credential_shows_reason_and_time(world: World, verifier: Verifier) -> None:
    result = check_it(verifier, world.text("revoked"))
    assert_fails(result, "revocation", "revoked")
    assert result.status == "REVOKED"
    assert "fraud" in result.check("revocation").reason
    assert result.evidence is not None
    assert result.evidence.revocation is not None
    revocation = result.evidence.revocation
    assert (revocation.scope, revocation.reason, revocation.reason_code) == ("credential", "fraud", 3)
    assert revocation.revoked_at is not None
    assert revocation.block_number is not None
    assert revocation.block_number > world.receipts["revoked"]["proof"]["blockNumber"] - 1
    for name in ("integrity", "chain", "anchored", "issuer"):
        assert result.check(name).state is CheckState.PASSED


def test_a_revoked_batch_shows_reason_and_time(world: World, verifier: Verifier) -> None:
    result = check_it(verifier, world.text("batch-revoked"))
    assert_fails(result, "revocation", "batch-revoked")
    assert result.status == "REVOKED"
    revocation = result.evidence.revocation if result.evidence else None
    assert revocation is not None
    assert (revocation.scope, revocation.reason) == ("batch", "superseded")
    assert revocation.revoked_at is not None
    assert revocation.revoked_at.year >= 2026


def test_a_credential_of_another_issuer_fails_the_identity_check(world: World, verifier: Verifier) -> None:
    result = check_it(verifier, world.text("foreign"))
    assert_fails(result, "issuer", "issuer-mismatch")
    assert world.receipts["foreign"]["issuer"]["id"] in result.check("issuer").reason
    assert result.check("integrity").state is CheckState.PASSED  # it was anchored as it is


def test_a_deactivated_issuer_fails_the_issuer_check(world: World, verifier: Verifier) -> None:
    result = check_it(verifier, world.text("issuer-deactivated"))
    assert_fails(result, "issuer", "issuer-inactive")
    assert result.check("revocation").state is CheckState.NOT_CHECKED


def test_a_lookalike_registry_with_the_same_root_is_untrusted(world: World, verifier: Verifier) -> None:
    receipt = world.receipts["lookalike"]
    assert receipt["proof"]["root"] == world.receipts["valid"]["proof"]["root"]
    assert receipt["credentialSubject"] == world.receipts["valid"]["credentialSubject"]
    result = check_it(verifier, receipt)
    assert_fails(result, "chain", "untrusted-registry")
    assert result.status == "UNTRUSTED REGISTRY"
    assert result.check("anchored").state is CheckState.NOT_CHECKED
    # the only thing that tells the two apart is trust: trusting the look-alike makes it pass
    with Verifier([world.rpc_url], [world.lookalike.address]) as credulous:
        assert credulous.verify(json.dumps(receipt), now=NOW).verdict is Verdict.VALID


def test_trust_is_per_chain(world: World) -> None:
    elsewhere = TrustedRegistry(world.registry.address, 137, "polygon deployment")
    with Verifier([world.rpc_url], [elsewhere]) as verifier:
        assert_fails(check_it(verifier, world.text("valid")), "chain", "untrusted-registry")


def test_validity_period(world: World, verifier: Verifier) -> None:
    expired = check_it(verifier, world.text("expired"))
    assert_fails(expired, "validity", "expired")
    assert expired.status == "EXPIRED"
    assert expired.check("revocation").state is CheckState.PASSED
    future = check_it(verifier, world.text("future"))
    assert_fails(future, "validity", "not-yet-valid")
    later = verifier.verify(world.text("future"), now=datetime(2030, 1, 2, tzinfo=UTC))
    assert later.verdict is Verdict.VALID
    start = datetime.fromisoformat(world.receipts["expired"]["validFrom"].replace("Z", "+00:00"))
    within = verifier.verify(world.text("expired"), now=start + timedelta(days=1))
    assert within.verdict is Verdict.VALID


def test_a_batch_is_valid_only_once_final(world: World, verifier: Verifier) -> None:
    result = check_it(verifier, world.text("pending"))
    assert_fails(result, "anchored", "not-final")
    assert result.status == "NOT FINAL"
    assert "finalized block" in result.check("anchored").reason
    world.mine(3)
    assert check_it(verifier, world.text("pending")).verdict is Verdict.VALID


# ---------------------------------------------------------------------------------------------- unusable input


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", "unreadable"),
        ('{"a": 1, "a": 2}', "unreadable"),
        ("[]", "unreadable"),
        ('{"name": "a credential without a proof"}', "not-a-receipt"),
    ],
)
def test_unusable_input_is_an_error_not_a_verdict(verifier: Verifier, text: str, code: str) -> None:
    result = verifier.verify(text, now=NOW)
    assert result.verdict is Verdict.ERROR
    assert result.check("receipt").state is CheckState.FAILED
    assert result.check("receipt").code == code
    assert all(check.state is CheckState.NOT_CHECKED for check in result.checks[1:])


def test_unknown_format_and_malformed_proof_are_unusable(world: World, verifier: Verifier) -> None:
    receipt = world.receipt("valid")
    receipt["proof"]["format"] = "anchor-receipt-v9"
    result = check_it(verifier, receipt)
    assert (result.verdict, result.check("receipt").code) == (Verdict.ERROR, "unknown-format")
    receipt = world.receipt("valid")
    receipt["proof"]["root"] = "0x1234"
    result = check_it(verifier, receipt)
    assert (result.verdict, result.check("receipt").code) == (Verdict.ERROR, "not-a-receipt")
    assert "/proof/root" in result.check("receipt").reason


def test_a_duplicate_key_inside_the_credential_is_refused(world: World, verifier: Verifier) -> None:
    text = world.text("valid").replace('"validFrom":', '"validFrom": "2020-01-01T00:00:00Z", "validFrom":', 1)
    result = verifier.verify(text, now=NOW)
    assert result.verdict is Verdict.ERROR
    assert "duplicate key" in result.check("receipt").reason


def test_an_unreachable_endpoint_is_an_error(world: World) -> None:
    with Verifier(["http://127.0.0.1:9"], [world.registry.address], timeout=2) as verifier:
        result = check_it(verifier, world.text("valid"))
        assert result.verdict is Verdict.ERROR
        assert result.status == "RPC UNREACHABLE"
        assert result.check("chain").code == "rpc-unreachable"
        assert result.check("integrity").state is CheckState.PASSED
        # an offline failure is conclusive without the chain
        tampered = world.receipt("valid")
        tampered["anchorSalt"] = flip_hex(tampered["anchorSalt"])
        assert_fails(check_it(verifier, tampered), "integrity", "tampered")


def test_an_unreadable_file_is_an_error(tmp_path: Path, verifier: Verifier) -> None:
    result = verifier.verify_file(tmp_path / "missing.json", now=NOW)
    assert result.verdict is Verdict.ERROR
    assert "cannot read" in result.check("receipt").reason


# ---------------------------------------------------------------------------------------------- endpoints


@pytest.fixture
def proxy(world: World) -> Iterator[RpcProxy]:
    made = RpcProxy(world.rpc_url)
    yield made
    made.close()


def test_one_eth_call_per_receipt_once_warm(world: World, proxy: RpcProxy) -> None:
    with Verifier([proxy.url], [world.registry.address]) as verifier:
        assert check_it(verifier, world.text("valid")).verdict is Verdict.VALID
        # chain id once; status + issuer batched; the batch's BatchAnchored event once (its transaction)
        assert proxy.requests == ["eth_chainId", "eth_call,eth_call", "eth_getLogs"]
        proxy.requests.clear()
        for name in ("valid2", "valid3"):
            assert check_it(verifier, world.text(name)).verdict is Verdict.VALID
        assert proxy.requests == ["eth_call", "eth_call"]


def _says_valid(request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any] | None:
    """A lying endpoint: every credentialStatus answer says Valid."""
    if request["method"] == "eth_call" and request["params"][0]["data"].startswith(STATUS_SELECTOR):
        result = response["result"]
        return {**response, "result": result[:2] + "00" * 32 + result[66:]}
    return None


def test_endpoints_must_agree(world: World, proxy: RpcProxy) -> None:
    proxy.lie = _says_valid
    honest, liar = world.rpc_url, proxy.url
    with Verifier([liar], [world.registry.address]) as fooled:
        assert check_it(fooled, world.text("revoked")).verdict is Verdict.VALID  # why one endpoint is not enough
    with Verifier([honest, liar], [world.registry.address]) as verifier:
        result = check_it(verifier, world.text("revoked"))
        assert_fails(result, "anchored", "endpoints-disagree")
        assert result.status == "ENDPOINTS DISAGREE"
        reason = result.check("anchored").reason
        assert "REVOKED" in reason
        assert "VALID" in reason
        assert check_it(verifier, world.text("valid")).verdict is Verdict.VALID  # agreeing on the truth


def test_two_honest_endpoints_agree(world: World) -> None:
    other = world.rpc_url.replace("127.0.0.1", "localhost")
    with Verifier([world.rpc_url, other], [world.registry.address]) as verifier:
        assert check_it(verifier, world.text("valid")).verdict is Verdict.VALID
        assert "all 2 RPC endpoints" in check_it(verifier, world.text("valid")).check("chain").reason
        assert_fails(check_it(verifier, world.text("revoked")), "revocation", "revoked")


def test_an_endpoint_on_another_chain_fails_the_chain_check(world: World, proxy: RpcProxy) -> None:
    def polygon(request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any] | None:
        return {**response, "result": hex(137)} if request["method"] == "eth_chainId" else None

    proxy.lie = polygon
    with Verifier([world.rpc_url, proxy.url], [world.registry.address]) as verifier:
        result = check_it(verifier, world.text("valid"))
        assert_fails(result, "chain", "wrong-chain")
        assert "is chain 137" in result.check("chain").reason


def test_a_polygon_receipt_links_to_the_explorer(world: World, verifier: Verifier) -> None:
    receipt = world.receipt("valid")
    receipt["proof"]["chainId"] = 137
    result = check_it(verifier, receipt)
    assert_fails(result, "chain", "wrong-chain")
    assert "chain 137 (polygon)" in result.check("chain").reason
    evidence = result.evidence
    assert evidence is not None
    assert evidence.explorer_tx == f"https://polygonscan.com/tx/{receipt['proof']['transactionHash']}"
    assert evidence.explorer_registry == f"https://polygonscan.com/address/{receipt['proof']['registry']}"
    assert check_it(verifier, world.text("valid")).evidence.explorer_tx is None  # type: ignore[union-attr]


def test_an_endpoint_answering_nonsense_is_an_error(world: World, proxy: RpcProxy) -> None:
    proxy.lie = lambda request, response: {
        "jsonrpc": "2.0",
        "id": request["id"],
        "error": {"code": -32005, "message": "rate limited"},
    }
    with Verifier([proxy.url], [world.registry.address]) as verifier:
        result = check_it(verifier, world.text("valid"))
        assert result.verdict is Verdict.ERROR
        assert "rate limited" in result.summary


# ---------------------------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_flipping_any_bit_of_the_credential_is_never_valid(
    world: World, verifier: Verifier, data: st.DataObject
) -> None:
    receipt = world.receipt("valid")
    proof = receipt.pop("proof")
    text = json.dumps(receipt, ensure_ascii=False, separators=(",", ":")).encode()
    position = data.draw(st.integers(0, len(text) - 2), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    flipped = bytearray(text)
    flipped[position] ^= 1 << bit
    body = bytes(flipped[:-1]) + b',"proof":' + json.dumps(proof).encode() + b"}"
    result = verifier.verify(body, now=NOW)
    assert result.verdict is not Verdict.VALID


def test_results_are_ordered_in_bulk(world: World, verifier: Verifier, tmp_path: Path) -> None:
    names = sorted(world.receipts)
    paths = []
    for name in names:
        path = tmp_path / f"{name}.json"
        path.write_text(world.text(name), encoding="utf-8")
        paths.append(path)
    results = list(verifier.verify_many(paths, lambda p: verifier.verify_file(p, now=NOW), workers=4))
    assert [Path(str(r.source)).stem for r in results] == names
    verdicts = {Path(str(r.source)).stem: r.verdict for r in results}
    assert verdicts["valid"] is Verdict.VALID
    assert verdicts["revoked"] is Verdict.INVALID


# ---------------------------------------------------------------------------------------------- links, mirrors


def test_links_round_trip(world: World) -> None:
    receipt = world.receipts["valid"]
    link = receipt_link(receipt, "https://verify.example/")
    assert link.startswith("https://verify.example/#r=")
    assert len(link) < len(json.dumps(receipt))
    assert json.loads(receipt_from_link(link)) == receipt


def test_the_verifier_decodes_each_registry_answer_as_the_case_it_is(world: World) -> None:
    """What the deployed registry answers, read with the verifier's own codec and JSON-RPC (no web3).

    The order of ``CredentialStatus`` against the Solidity enum is checked in ``test_registry``; this checks
    that the numbers the contract really returns land on the right names here.
    """
    abi = registry_abi()
    endpoint = JsonRpcEndpoint(world.rpc_url)

    def answer(name: str, **changed: Any) -> CredentialCheck:
        proof = world.receipt(name)["proof"] | changed
        data = abi.status_call(proof["batchId"], proof["index"], proof["digest"], proof["merkleProof"])
        return abi.decode_status(endpoint.eth_call(proof["registry"], data, "latest"))

    expected = {
        "valid": CredentialStatus.VALID,
        "removed-key-later": CredentialStatus.VALID,
        "issuer-deactivated": CredentialStatus.ISSUER_INACTIVE,
        "batch-revoked": CredentialStatus.BATCH_REVOKED,
        "revoked": CredentialStatus.REVOKED,
    }
    assert {name: answer(name).status for name in expected} == expected
    assert answer("valid", batchId=10**6).status is CredentialStatus.UNKNOWN_BATCH
    tampered = flip_hex(world.receipts["valid"]["proof"]["digest"])
    assert answer("valid", digest=tampered).status is CredentialStatus.BAD_PROOF
    assert answer("batch-revoked").batch_revocation_reason == REVOCATION_REASONS["superseded"]
    assert answer("revoked").issuer_id == world.receipts["revoked"]["proof"]["issuerId"]


def test_revocation_reason_codes_and_names_are_one_to_one() -> None:
    assert {name: code for code, name in REASON_NAMES.items()} == REVOCATION_REASONS


def test_the_verifier_does_not_load_web3() -> None:
    import subprocess
    import sys

    code = "import sys, anchor.verifier; print('web3' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"


def test_verifications_are_independent_copies(world: World, verifier: Verifier) -> None:
    receipt = world.receipt("valid")
    before = copy.deepcopy(receipt)
    check_it(verifier, receipt)
    verifier.verify(receipt, now=NOW)
    assert receipt == before


def test_an_endpoint_without_the_registry_is_outvoted_not_believed(world: World, proxy: RpcProxy) -> None:
    def empty(request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any] | None:
        return {**response, "result": "0x"} if request["method"] == "eth_call" else None

    proxy.lie = empty
    with Verifier([proxy.url], [world.registry.address]) as alone:
        assert_fails(check_it(alone, world.text("valid")), "anchored", "no-contract")
    with Verifier([world.rpc_url, proxy.url], [world.registry.address]) as both:
        assert_fails(check_it(both, world.text("valid")), "anchored", "endpoints-disagree")


def test_a_revocation_whose_event_cannot_be_read_is_still_revoked(world: World, proxy: RpcProxy) -> None:
    def no_logs(request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any] | None:
        if request["method"] == "eth_getLogs":
            return {"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32005, "message": "range too large"}}
        return None

    proxy.lie = no_logs
    with Verifier([proxy.url], [world.registry.address]) as verifier:
        result = check_it(verifier, world.text("revoked"))
        assert_fails(result, "revocation", "revoked")
        assert "range too large" in result.check("revocation").reason
