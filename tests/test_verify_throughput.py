"""What makes a directory of receipts cheaper to verify (issue 13: >= 2,000 receipts/s, every check kept).

Not timed: each saving is checked for giving exactly what the slower way gave. A directory's results come
back from the worker processes pickled as plain values (no per-check, per-enum, per-dataclass objects), and
equal to what was verified; :meth:`Evidence.but` is :func:`dataclasses.replace`; worker processes collect
garbage at a slower pace than Python's default; a receipt's summary reads the same fields as before.
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import json
import pickle
import pickletools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.model import lookup
from anchor.verifier import Verdict, Verification, Verifier, bulk
from anchor.verifier.bulk import WORKER_GC_THRESHOLD, _Setup, verify_paths
from anchor.verifier.model import Evidence, Revocation
from anchor.verifier.presentation import summarize

from support.fake_chain import FakeChain, FakeEndpoint

NOW = datetime(2026, 3, 1, tzinfo=UTC)
DE = issuer_for_country("DE")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[FakeChain, FakeEndpoint, list[str]]]:
    chain = FakeChain()
    chain.register(1, DE.name, "DE", DE.id)
    receipts = chain.anchor(1, list(generate_credentials(4, seed=61, issuer=DE)))
    revoked = chain.anchor(1, list(generate_credentials(1, seed=62, issuer=DE)))
    chain.batches[2].revoked_at, chain.batches[2].reason = 1_760_000_000, 2
    tampered = copy.deepcopy(receipts[1])
    tampered["credentialSubject"]["name"] = "Someone Else"
    untrusted = copy.deepcopy(receipts[2])
    untrusted["proof"]["registry"] = "0x" + "12" * 20
    folder = tmp_path / "receipts"
    folder.mkdir()
    paths = []
    for name, item in {
        "valid": receipts[0],
        "revoked": revoked[0],
        "tampered": tampered,
        "untrusted": untrusted,
    }.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(item))
        paths.append(str(path))
    not_json = folder / "not-json.json"
    not_json.write_text("{")
    paths.append(str(not_json))
    endpoint = FakeEndpoint(chain)
    yield chain, endpoint, paths
    endpoint.close()


def _results(chain: FakeChain, endpoint: FakeEndpoint, paths: list[str]) -> list[Verification]:
    with Verifier([endpoint.url], [chain.registry]) as verifier:
        return [verifier.verify_file(path, now=NOW) for path in paths]


def test_results_pickle_as_plain_values_and_come_back_equal(world: Any) -> None:
    chain, endpoint, paths = world
    results = _results(chain, endpoint, paths)
    assert [result.status for result in results] == [
        "VALID",
        "REVOKED",
        "TAMPERED",
        "UNTRUSTED REGISTRY",
        "NOT A RECEIPT",
    ]
    assert results[1].evidence is not None
    assert results[1].evidence.revocation is not None
    with_extra = dataclasses.replace(results[0], extra={"stack": [1, 2]}, warnings=("a warning",))
    for result in [*results, with_extra]:
        blob = pickle.dumps(result)
        back = pickle.loads(blob)
        assert back == result
        assert back.to_json() == result.to_json()
        assert type(back.checks[0].state) is type(result.checks[0].state)
        assert back.verdict is result.verdict
        named = {
            arg for op, arg, _ in pickletools.genops(blob) if op.name in ("SHORT_BINUNICODE", "GLOBAL", "STACK_GLOBAL")
        }
        # plain values: no check, check state, verdict, credential summary or evidence is pickled as an object
        assert not named & {"Check", "CheckState", "Verdict", "CredentialSummary", "Evidence"}, named


def test_worker_processes_return_what_one_process_verifies(world: Any) -> None:
    chain, endpoint, paths = world
    expected = _results(chain, endpoint, paths)
    many = paths * 30  # past the size from which verify_paths uses worker processes
    with Verifier([endpoint.url], [chain.registry]) as verifier:
        got = list(verify_paths(verifier, many, processes=2, now=NOW))
    assert [result.to_json() for result in got] == [result.to_json() for result in expected] * 30
    assert [result.verdict for result in got[:5]] == [
        Verdict.VALID,
        Verdict.INVALID,
        Verdict.INVALID,
        Verdict.INVALID,
        Verdict.ERROR,
    ]


def test_evidence_but_is_dataclasses_replace() -> None:
    evidence = Evidence(1, None, "0x" + "ab" * 20, 2, 3, 4, "0xroot", "0xdigest", "0xtx", 5, NOW)
    revocation = Revocation("batch", 2, "superseded", NOW)
    changes: dict[str, Any] = {
        "trust_source": "flag",
        "revocation": revocation,
        "issuer_name": "X",
        "explorer_tx": None,
    }
    changed = evidence.but(**changes)
    assert changed == dataclasses.replace(evidence, **changes)
    assert changed.to_json() == dataclasses.replace(evidence, **changes).to_json()
    assert evidence.trust_source is None  # the original is unchanged
    assert hash(changed) == hash(dataclasses.replace(evidence, **changes))
    with pytest.raises(TypeError, match="no field trust"):
        evidence.but(trust="flag")


def test_worker_processes_collect_garbage_at_a_slower_pace(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    chain, endpoint, _ = world
    before = gc.get_threshold()
    with Verifier([endpoint.url], [chain.registry]) as verifier:
        setup = _Setup(
            (endpoint.url,),
            tuple(verifier.trusted),
            verifier.timeout,
            verifier.block,
            verifier.dids.setup,
            verifier.status_lists.setup,
        )
    monkeypatch.setattr(bulk, "_worker", None)
    try:
        bulk._start_worker(setup)  # what each worker process runs first
        assert gc.get_threshold()[0] == WORKER_GC_THRESHOLD > before[0]
        assert bulk._worker is not None
        bulk._worker.close()
    finally:
        gc.set_threshold(*before)


def _summary_the_old_way(credential: dict[str, Any]) -> dict[str, Any]:
    """The fields :func:`summarize` read before it looked each level up once: from the root, path by path."""

    def text(*path: str | int) -> str | None:
        value = lookup(credential, path)
        return value if isinstance(value, str) else None

    eu = ("credentialSubject", "achievement", "euMicroCredential")
    return {
        "title": text("credentialSubject", "achievement", "name") or text("name"),
        "awardingBody": text("issuer", "name"),
        "country": text("issuer", "address", "addressCountryCode"),
        "grade": text("credentialSubject", "result", 0, "value"),
        "participation": text(*eu, "participation"),
        "language": text("credentialSubject", "achievement", "inLanguage"),
        "validFrom": text("validFrom"),
    }


@pytest.mark.parametrize("damage", ["none", "subject-a-list", "achievement-a-string", "eu-missing", "issuer-null"])
def test_a_summary_reads_the_same_fields_however_the_credential_is_shaped(damage: str) -> None:
    credential = next(iter(generate_credentials(1, seed=63, issuer=DE)))
    if damage == "subject-a-list":
        credential["credentialSubject"] = [credential["credentialSubject"]]
    elif damage == "achievement-a-string":
        credential["credentialSubject"]["achievement"] = "not an object"
    elif damage == "eu-missing":
        del credential["credentialSubject"]["achievement"]["euMicroCredential"]
    elif damage == "issuer-null":
        credential["issuer"] = None
    summary = summarize(credential).to_json()
    assert {key: summary[key] for key in _summary_the_old_way(credential)} == _summary_the_old_way(credential)
