"""The fast RDFC-1.0 path (anchor.credentials.rdfc.canonize) against pyld, the reference: byte-identical
N-Quads, or both refuse, for generated credentials and adversarial variations of them (Hypothesis)."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anchor.credentials import rdfc
from anchor.credentials.examples import ISSUERS, generate_credentials
from anchor.credentials.model import FORMAT_V1, FORMAT_V2

BASES = [
    *generate_credentials(6, seed=101, credential_format=FORMAT_V1),
    *generate_credentials(6, seed=202, credential_format=FORMAT_V2),
    *(next(generate_credentials(1, seed=7, issuer=issuer, credential_format=FORMAT_V2)) for issuer in ISSUERS),
]


def outcome(function: Any, document: Any) -> str | type[Exception]:
    try:
        result: str = function(document)
    except rdfc.UnsafeJsonLdError:
        return rdfc.UnsafeJsonLdError
    return result


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts the documents the fast path hands to pyld, and the datasets it hands to pyld's URDNA2015."""
    calls = {"reference": 0, "urdna2015": 0}
    reference, urdna = rdfc.canonize_reference, rdfc._rdfc_pyld

    def counted_reference(document: Any) -> str:
        calls["reference"] += 1
        return reference(document)

    def counted_urdna(quads: Any) -> str:
        calls["urdna2015"] += 1
        return urdna(quads)

    monkeypatch.setattr(rdfc, "canonize_reference", counted_reference)
    monkeypatch.setattr(rdfc, "_rdfc_pyld", counted_urdna)
    return calls


def test_generated_credentials_take_the_fast_path_and_match_pyld(spy: dict[str, int]) -> None:
    reference = rdfc.canonize_reference.__wrapped__ if hasattr(rdfc.canonize_reference, "__wrapped__") else None
    assert reference is None
    expected = []
    for document in BASES:
        expected.append(rdfc.canonize_reference(document))
    spy["reference"] = 0
    for document, nquads in zip(BASES, expected, strict=True):
        assert rdfc.canonize(document) == nquads
    assert spy == {"reference": 0, "urdna2015": 0}


def test_blank_nodes_with_equal_first_degree_hashes_go_to_urdna2015(spy: dict[str, int]) -> None:
    document = copy.deepcopy(BASES[7])
    identifiers = document["credentialSubject"]["identifier"]
    identifiers.append(copy.deepcopy(identifiers[0]))  # two identical blank nodes
    document["credentialSubject"]["achievement"]["resultDescription"][0]["allowedValue"] = ["A", "A", "B", "A"]
    nquads = rdfc.canonize(document)
    assert spy == {"reference": 0, "urdna2015": 1}
    assert nquads == rdfc._SafeProcessor().normalize(document, rdfc._options())


@pytest.mark.parametrize(
    "change",
    [
        {"name": {"@value": "Titel", "@language": "de"}},
        {"description": [{"@value": "one"}, "two"]},
        {"name": {"@value": 3, "@type": "http://www.w3.org/2001/XMLSchema#integer"}},
        {"type": ["VerifiableCredential", "OpenBadgeCredential"], "@type": "https://example.org/vocab#Extra"},
        {"credentialSubject": {"id": "did:example:learner", "type": "AchievementSubject", "@reverse": {}}},
        {"description": [["nested"], "list"]},
        {"description": ["with", None]},
    ],
)
def test_what_the_fast_path_does_not_handle_goes_to_pyld(spy: dict[str, int], change: dict[str, Any]) -> None:
    document = copy.deepcopy(BASES[0])
    for name, value in change.items():
        if name == "@context":
            document["@context"] = [*document["@context"], *value]
        else:
            document[name] = value
    fast = outcome(rdfc.canonize, document)
    assert spy["reference"] == 1
    assert fast == outcome(rdfc.canonize_reference, document)


def test_embedded_contexts_and_compact_iris_stay_on_the_fast_path(spy: dict[str, int]) -> None:
    document = copy.deepcopy(BASES[0])
    document["@context"] = [*document["@context"], {"ex": "https://example.org/vocab#"}]
    document["ex:note"] = "prefixed"
    document["https://example.org/vocab#full"] = {"@context": {"local": "https://example.org/local#"}, "local": 1}
    expected = rdfc.canonize_reference(document)
    assert "<https://example.org/vocab#note>" in expected
    assert "<https://example.org/local#>" in expected
    spy["reference"] = 0
    assert rdfc.canonize(document) == expected
    assert spy["reference"] == 0


def test_the_cache_is_bounded_and_rebuilt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rdfc, "_state", rdfc._State())
    monkeypatch.setattr(rdfc, "_CACHE_LIMIT", 10)
    first = rdfc._state
    assert rdfc.canonize(BASES[0]) == rdfc.canonize_reference(BASES[0])
    assert first.entries > 10
    assert rdfc.canonize(BASES[1]) == rdfc.canonize_reference(BASES[1])
    assert rdfc._state is not first


def test_documents_bringing_their_own_contexts_do_not_grow_the_cache_without_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rdfc, "_state", rdfc._State())
    monkeypatch.setattr(rdfc, "_CONTEXT_LIMIT", 40)  # each document below adds about 17 processed contexts
    states = set()
    for index in range(8):
        document = copy.deepcopy(BASES[0])
        document["@context"] = [*document["@context"], {f"term{index}": f"https://example.org/t{index}"}]
        assert rdfc.canonize(document) == rdfc.canonize_reference(document)
        assert rdfc._state.contexts <= 40 + 20
        states.add(id(rdfc._state))
    assert len(states) > 1


def test_threads_share_the_cache_safely(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = [rdfc.canonize_reference(document) for document in BASES]
    monkeypatch.setattr(rdfc, "_state", rdfc._State())
    results: dict[int, list[str]] = {}

    def run(worker: int) -> None:
        results[worker] = [rdfc.canonize(document) for document in BASES]

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == expected for result in results.values())


# -- adversarial variations (Hypothesis) -----------------------------------------------------------------

characters = st.characters(exclude_categories=["Cs"]) | st.sampled_from(
    '\t\n\r"\\\x00\x07\x0b\x0c\x1f\x7f\x85\u2028\ufeff'
)
strings = st.text(characters, max_size=10) | st.sampled_from(
    [
        "urn:uuid:0e9ad3c6-4a10-4d87-8da5-e709d4713d60",
        "did:web:uni.example",
        "https://uni.example/x#y",
        "relative",
        "#fragment",
        "_:b0",
        "_:c14n1",
        "ex:thing",
        "http://a b",
        "urn:a>",
        "@id",
        "@foo",
        "Achievement",
        "Profile",
        "IdentityObject",
        "",
    ]
)
numbers = (
    st.integers(min_value=-(10**25), max_value=10**25)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, -0.0, 4.0, 2.5, 1e21, 1e-7, 123456789012345678901.0, 2**53 + 1])
)
scalars = st.none() | st.booleans() | numbers | strings
keys = st.sampled_from(
    [
        "id",
        "type",
        "name",
        "description",
        "identifier",
        "achievement",
        "result",
        "value",
        "status",
        "creditsEarned",
        "allowedValue",
        "validFrom",
        "issuer",
        "anchor",
        "anchorSalt",
        "euMicroCredential",
        "learningOutcomes",
        "eqfLevel",
        "undefinedTerm",
        "@id",
        "@type",
        "@value",
        "@language",
        "@list",
        "@set",
        "@foo",
        "@context",
        "https://example.org/vocab#p",
        "_:predicate",
    ]
) | st.text(st.characters(exclude_categories=["Cs"]), max_size=6)


def values(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4)


json_values = st.recursive(scalars, values, max_leaves=12)
node_types = st.sampled_from(["Profile", "IdentityObject", "Achievement", "Result", "Address", "Criteria", "Nope"])
nodes = st.fixed_dictionaries(
    {"type": node_types},
    optional={"id": strings, "name": strings, "identityHash": strings, "narrative": strings, "hashed": st.booleans()},
)
adversarial = json_values | nodes | st.lists(nodes, max_size=3)


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(document, dict):
        for name, value in document.items():
            found.extend(paths(value, (*prefix, name)))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.extend(paths(value, (*prefix, index)))
    return found


@st.composite
def variations(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        where = draw(st.sampled_from(paths(document)[1:]))
        parent: Any = document
        for step in where[:-1]:
            parent = parent[step]
        target = parent[where[-1]]
        action = draw(st.sampled_from(["replace", "add", "delete", "duplicate"]))
        if action == "replace" and where[-1] != "@context":
            parent[where[-1]] = draw(adversarial)
        elif action == "add" and isinstance(target, dict):
            target[draw(keys.filter(lambda name: name != "@context"))] = draw(adversarial)
        elif action == "delete" and isinstance(parent, dict) and where[-1] != "@context":
            del parent[where[-1]]
        elif action == "duplicate" and isinstance(target, list) and target:
            target.append(copy.deepcopy(target[draw(st.integers(min_value=0, max_value=len(target) - 1))]))
    return document


@pytest.mark.filterwarnings("ignore:values beginning with:SyntaxWarning")  # pyld, on a generated "@..." term
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(variations())
def test_fast_and_reference_agree_on_adversarial_variations(document: dict[str, Any]) -> None:
    assert outcome(rdfc.canonize, document) == outcome(rdfc.canonize_reference, document)
