"""Stacks offline: how a stacked credential names its parts, the bundle format and its refusals, the learner rule.

The chain side (the shipped 15-ECTS example anchored, verified VALID, and INVALID for a revoked, another
learner's and a missing part) is ``test_stack_e2e.py``.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from anchor.cli import main
from anchor.credentials import credential_digest, validate_credential, with_salt
from anchor.credentials.examples.stack import stack_example
from anchor.credentials.receipt import LEAF_ENCODING, AnchorProof, make_receipt
from anchor.credentials.related import (
    MAX_STACK_PARTS,
    digest_from_multibase,
    digest_multibase,
    is_stack,
    part_reference,
    stack_parts,
    stack_problems,
    with_parts,
)
from anchor.errors import CredentialValidationError, InvalidInputError
from anchor.merkle import StandardMerkleTree
from anchor.sharing.stacks import (
    MAX_STACK_BYTES,
    STACK_FORMAT,
    STACK_TYPE,
    StackBundleError,
    build_bundle,
    learner_mismatch,
    parse_bundle,
    stack_workload,
)
from anchor.verifier import Verdict, Verifier
from anchor.verifier.stacks import verify_if_stack, verify_stack

from support.jsonld_safe import safe_expand

DIGEST = "0x" + "ab" * 32
#: An endpoint nothing listens on: the tests below must decide before any RPC request.
NOWHERE = "http://127.0.0.1:9"


def receipt_of(credential: dict[str, Any], index: int = 0) -> dict[str, Any]:
    """A receipt of ``credential`` (salted) with a made-up anchoring proof carrying its real digest."""
    salted = with_salt(credential, bytes([index + 1]) * 32)
    digest = "0x" + credential_digest(salted).hex()
    tree = StandardMerkleTree.of([(digest, index)], LEAF_ENCODING)  # a batch of one: the proof is empty
    proof = AnchorProof(
        chain_id=31337,
        registry="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        batch_id=1,
        issuer_id=1,
        index=index,
        digest=digest,
        merkle_proof=(),
        root=tree.root,
        transaction_hash="0x" + "11" * 32,
        block_number=5,
        anchored_at=datetime(2025, 10, 1, tzinfo=UTC),
    )
    return make_receipt(salted, proof)


@pytest.fixture
def parts() -> list[dict[str, Any]]:
    return [receipt_of(part, index) for index, part in enumerate(stack_example().parts)]


@pytest.fixture
def stacked(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return receipt_of(with_parts(stack_example().certificate, parts), 9)


# ---------------------------------------------------------------------------------------------- digestMultibase


def test_digest_multibase_is_a_keccak_multihash_in_base64url() -> None:
    text = digest_multibase(DIGEST)
    assert text.startswith("u")
    raw = base64.urlsafe_b64decode(text[1:] + "=" * (-len(text[1:]) % 4))
    assert raw[:2] == b"\x1b\x20"  # multihash: keccak-256, 32 bytes
    assert raw[2:] == bytes.fromhex(DIGEST[2:])
    assert "=" not in text
    assert digest_from_multibase(text) == DIGEST
    assert digest_multibase(bytes.fromhex(DIGEST[2:])) == text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("z" + "1" * 40, "must start with 'u'"),
        ("u" + base64.urlsafe_b64encode(b"\x12\x20" + b"\x00" * 32).decode().rstrip("="), "hash code is 0x12"),
        ("u" + base64.urlsafe_b64encode(b"\x1b\x10" + b"\x00" * 16).decode().rstrip("="), "16 digest bytes"),
        ("u" + base64.urlsafe_b64encode(b"\x1b\x20" + b"\x00" * 32).decode(), "without padding"),
        ("u+/==", "without padding"),
        ("u", "hash code is nothing"),
        (42, "expected a multibase string"),
    ],
)
def test_anything_but_a_keccak_digest_multibase_is_refused_saying_why(text: object, says: str) -> None:
    with pytest.raises(InvalidInputError, match=says):
        digest_from_multibase(text)


def test_a_non_canonical_base64url_form_is_refused() -> None:
    text = digest_multibase(DIGEST)
    last = text[-1]
    # the last character carries 2 unused bits: another letter with the same 4 used bits decodes the same
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    sibling = alphabet[alphabet.index(last) ^ 1]
    with pytest.raises(InvalidInputError, match="canonical"):
        digest_from_multibase(text[:-1] + sibling)


# ---------------------------------------------------------------------------------------------- the stacked credential


def test_the_shipped_example_parts_are_valid_and_the_certificate_needs_its_parts_named() -> None:
    example = stack_example()
    assert len(example.parts) == 3
    assert [part["credentialSubject"]["achievement"]["creditsAvailable"] for part in example.parts] == [5, 5, 5]
    assert len({part["issuer"]["id"] for part in example.parts}) == 2
    assert {part["credentialSubject"]["id"] for part in example.parts} == {example.learner}
    for part in example.parts:
        validate_credential(part)
    with pytest.raises(CredentialValidationError) as refused:
        validate_credential(example.certificate)
    assert [problem.path for problem in refused.value.problems] == ["/relatedResource"]


def test_with_parts_names_each_part_by_id_and_anchored_digest(parts: list[dict[str, Any]]) -> None:
    certificate = with_parts(stack_example().certificate, parts)
    validate_credential(certificate)
    assert is_stack(certificate)
    named = stack_parts(certificate)
    assert [item.id for item in named] == [part["id"] for part in parts]
    assert [item.digest for item in named] == [part["proof"]["digest"] for part in parts]
    assert certificate["relatedResource"][0] == part_reference(parts[0]["id"], parts[0]["proof"]["digest"])
    assert [item.pointer for item in named] == ["/relatedResource/0", "/relatedResource/1", "/relatedResource/2"]


def test_a_stacked_credential_expands_in_json_ld_safe_mode(parts: list[dict[str, Any]]) -> None:
    certificate = with_salt(with_parts(stack_example().certificate, parts), b"\x01" * 32)
    expanded = json.dumps(safe_expand(certificate))
    assert "https://www.w3.org/2018/credentials#relatedResource" in expanded
    assert "https://w3id.org/security#digestMultibase" in expanded


def _broken(parts: list[dict[str, Any]], change: Any) -> list[str]:
    certificate = with_parts(stack_example().certificate, parts)
    change(certificate)
    return [f"{problem.path}: {problem.message}" for problem in stack_problems(certificate)]


def test_each_way_of_naming_parts_wrongly_is_named(parts: list[dict[str, Any]]) -> None:
    def duplicate(credential: dict[str, Any]) -> None:
        credential["relatedResource"].append(dict(credential["relatedResource"][0]))

    def same_digest(credential: dict[str, Any]) -> None:
        credential["relatedResource"][1]["digestMultibase"] = credential["relatedResource"][0]["digestMultibase"]

    def itself(credential: dict[str, Any]) -> None:
        credential["relatedResource"][2]["id"] = credential["id"]

    def extra(credential: dict[str, Any]) -> None:
        credential["relatedResource"][0]["digestSRI"] = "sha384-abc"

    def sha256(credential: dict[str, Any]) -> None:
        raw = b"\x12\x20" + b"\x00" * 32
        credential["relatedResource"][1]["digestMultibase"] = "u" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def too_many(credential: dict[str, Any]) -> None:
        credential["relatedResource"] = [
            part_reference(f"urn:uuid:{n:08d}-0000-4000-8000-000000000000", "0x" + f"{n:064x}")
            for n in range(MAX_STACK_PARTS + 1)
        ]

    def empty(credential: dict[str, Any]) -> None:
        credential["relatedResource"] = []

    def not_a_uri(credential: dict[str, Any]) -> None:
        credential["relatedResource"][0]["id"] = "part one"

    assert _broken(parts, duplicate) == [
        f"/relatedResource/3/id: {json.dumps(parts[0]['id'])} is named again (first at /relatedResource/0)"
    ]
    assert _broken(parts, same_digest) == [
        "/relatedResource/1/digestMultibase: names the same digest as /relatedResource/0"
    ]
    assert _broken(parts, itself)[0].startswith("/relatedResource/2/id: ")
    assert _broken(parts, itself)[0].endswith("is the stack itself")
    assert _broken(parts, extra)[0].startswith("/relatedResource/0/digestSRI: is not allowed")
    assert "hash code is 0x12" in _broken(parts, sha256)[0]
    assert _broken(parts, too_many) == [
        f"/relatedResource: names 65 parts; a stack names 1 to {MAX_STACK_PARTS} credentials"
    ]
    assert _broken(parts, empty) == [
        f"/relatedResource: names 0 parts; a stack names 1 to {MAX_STACK_PARTS} credentials"
    ]
    assert _broken(parts, not_a_uri)[0].startswith("/relatedResource/0/id: expected the part credential's URI")


def test_a_credential_that_is_not_a_stack_may_keep_other_related_resources(parts: list[dict[str, Any]]) -> None:
    credential = copy.deepcopy(stack_example().parts[0])
    credential["relatedResource"] = [{"id": "https://example.org/image.png", "digestSRI": "sha384-abc"}]
    assert not is_stack(credential)
    assert stack_problems(credential) == []
    assert stack_parts(credential) == ()


def test_the_stack_mode_is_in_the_schema_and_the_bundle_schema_caps_the_parts() -> None:
    from importlib import resources

    folder = resources.files("anchor.credentials").joinpath("schemas")
    credential_schema = (folder / "anchor-credential-v1.schema.json").read_text(encoding="utf-8")
    assert '"enum": ["stand-alone", "stackable", "stack"]' in credential_schema
    bundle_schema = json.loads((folder / "anchor-stack-v1.schema.json").read_text(encoding="utf-8"))
    assert bundle_schema["properties"]["parts"]["maxItems"] == MAX_STACK_PARTS
    assert bundle_schema["properties"]["type"]["const"] == STACK_TYPE
    assert bundle_schema["properties"]["format"]["const"] == STACK_FORMAT


# ---------------------------------------------------------------------------------------------- building a bundle


def test_build_bundle_takes_the_parts_in_any_order(stacked: dict[str, Any], parts: list[dict[str, Any]]) -> None:
    made = build_bundle(stacked, [parts[2], parts[0], parts[1]])
    document = made.to_json()
    assert document["type"] == STACK_TYPE
    assert document["format"] == STACK_FORMAT
    assert parse_bundle(json.dumps(document).encode()) == made


def test_build_bundle_refuses_naming_the_part(stacked: dict[str, Any], parts: list[dict[str, Any]]) -> None:
    stranger = receipt_of(stack_example().parts[0] | {"id": "urn:uuid:00000000-0000-4000-8000-00000000abcd"}, 5)
    with pytest.raises(StackBundleError, match=r"names .*urn:uuid:c3d4e5f6.*, but no part receipt given"):
        build_bundle(stacked, parts[:2])
    with pytest.raises(StackBundleError, match=r"part 4: credential .*abcd.* is not named by the stacked credential"):
        build_bundle(stacked, [*parts, stranger])
    with pytest.raises(StackBundleError, match=r"part 4: .* is given twice"):
        build_bundle(stacked, [*parts, parts[0]])
    other_salt = receipt_of(stack_example().parts[1], 7)  # the same credential id, anchored with another digest
    with pytest.raises(StackBundleError, match=r"part 2: .* anchored with digest .* not the credential it stacks"):
        build_bundle(stacked, [parts[0], other_salt, parts[2]])
    with pytest.raises(StackBundleError, match=r"is not a stack: .*\"stackable\", not 'stack'"):
        build_bundle(parts[0], parts[1:])
    with pytest.raises(StackBundleError, match="part 1 is not a usable receipt"):
        build_bundle(stacked, [{"id": "urn:x:1"}, *parts])


# ---------------------------------------------------------------------------------------------- reading a bundle


def _text(stacked: Any, parts: list[Any], **changed: Any) -> bytes:
    document = {"type": STACK_TYPE, "format": STACK_FORMAT, "stacked": stacked, "parts": parts, **changed}
    return json.dumps(document, ensure_ascii=False).encode()


def test_parse_bundle_refuses_bad_input_with_a_clear_error(
    stacked: dict[str, Any], parts: list[dict[str, Any]]
) -> None:
    cases: list[tuple[bytes, str, str]] = [
        (b"{" + b" " * MAX_STACK_BYTES + b"}", "unreadable", f"larger than the limit of {MAX_STACK_BYTES} bytes"),
        (b'{"type": "AnchorCredentialStack", "type": 1}', "unreadable", "duplicate"),
        (b"[]", "unreadable", "object"),
        (_text(stacked, parts, format="anchor-stack-v2"), "bad-bundle", "not a stack bundle"),
        (_text(stacked, []), "bad-bundle", "/parts: "),
        (_text(stacked, parts * 22), "bad-bundle", "/parts: 66 parts; a stack bundle carries at most 64"),
        (
            _text(stacked, [*parts, parts[1]]),
            "bad-bundle",
            "/parts/3: credential .* is in the bundle twice \\(also at /parts/1\\)",
        ),
        (_text(stacked, [*parts, stacked]), "bad-bundle", "/parts/3: .* twice \\(also at /stacked\\)"),
        (_text(stacked, [*parts, {"no": "id"}]), "bad-bundle", "/parts/3/id: expected the credential's id"),
        (_text(stacked, parts, extra=1), "bad-bundle", "extra"),
        (_text(stacked, [*parts, 5]), "bad-bundle", "/parts/3: "),
        (_text("x" * 100_000, parts), "bad-bundle", '^/stacked: "x{196}\\.\\.\\.$'),
    ]
    for data, code, says in cases:
        with pytest.raises(StackBundleError, match=says) as refused:
            parse_bundle(data)
        assert refused.value.code == code, says


def test_bad_bundles_are_errors_named_before_any_rpc_request(
    stacked: dict[str, Any], parts: list[dict[str, Any]]
) -> None:
    with Verifier([NOWHERE], []) as verifier:
        result = verify_stack(verifier, _text(stacked, [*parts, parts[0]]))
        assert result.verdict is Verdict.ERROR
        assert result.status == "NOT A STACK"
        assert result.checks[0].code == "bad-bundle"
        assert "twice" in result.summary
        as_json = result.to_json()
        assert as_json["kind"] == "stack"
        assert [check["name"] for check in as_json["checks"]] == [
            "bundle",
            "stacked",
            "named",
            "complete",
            "learner",
            "parts",
        ]


def test_only_a_bundle_is_verified_as_a_stack(parts: list[dict[str, Any]]) -> None:
    receipt = copy.deepcopy(parts[0])
    receipt["description"] = f"mentions {STACK_FORMAT} in its text"
    with Verifier([NOWHERE], []) as verifier:
        assert verify_if_stack(verifier, json.dumps(receipt).encode()) is None
        assert verify_if_stack(verifier, json.dumps(parts[0]).encode()) is None  # no marker: not even parsed
        assert verify_if_stack(verifier, b"not json " + STACK_FORMAT.encode()) is None  # the receipt check says why


def test_a_bundle_of_an_unreachable_chain_is_an_error_with_every_part_checked_offline(
    stacked: dict[str, Any], parts: list[dict[str, Any]]
) -> None:
    with Verifier([NOWHERE], [], timeout=2) as verifier:
        result = verify_stack(verifier, _text(stacked, parts))
    assert result.verdict is Verdict.ERROR
    assert result.check("named").state.value == "passed"
    assert result.check("complete").state.value == "passed"
    assert result.check("learner").state.value == "passed"
    assert result.workload is not None
    assert result.workload.text == "15 ECTS"
    assert [part.position for part in result.parts] == [0, 1, 2]


def test_a_bundle_missing_a_part_or_carrying_another_is_invalid_even_offline(
    stacked: dict[str, Any], parts: list[dict[str, Any]]
) -> None:
    stranger = receipt_of(stack_example().parts[0] | {"id": "urn:uuid:00000000-0000-4000-8000-00000000abcd"}, 5)
    with Verifier([NOWHERE], [], timeout=2) as verifier:
        missing = verify_stack(verifier, _text(stacked, parts[:2]))
        extra = verify_stack(verifier, _text(stacked, [*parts, stranger]))
    assert missing.verdict is Verdict.INVALID
    assert missing.status == "PART MISSING"
    assert parts[2]["id"] in missing.summary
    assert missing.parts[2].position is None
    assert extra.verdict is Verdict.INVALID
    assert extra.status == "PART NOT NAMED"
    assert "abcd" in extra.summary


# ---------------------------------------------------------------------------------------------- same learner, totals


def test_the_same_learner_is_the_same_subject_id_else_the_same_identifiers() -> None:
    example = stack_example()
    certificate, part = example.certificate, example.parts[2]
    assert learner_mismatch(certificate, part) is None
    other = copy.deepcopy(part)
    other["credentialSubject"]["id"] = "did:example:someone-else"
    assert "not the stack's" in str(learner_mismatch(certificate, other))
    # no credentialSubject.id on the stack: the identifier entries decide, and a name alone cannot
    anonymous = copy.deepcopy(certificate)
    del anonymous["credentialSubject"]["id"]
    anonymous["credentialSubject"]["identifier"] = [dict(part["credentialSubject"]["identifier"][0])]
    assert "identifier other than a name" in str(learner_mismatch(anonymous, part))
    student = {"type": "IdentityObject", "hashed": False, "identityHash": "2024-004711", "identityType": "sisSourcedId"}
    anonymous["credentialSubject"]["identifier"].append(student)
    assert "identifier entries are not the stack's" in str(learner_mismatch(anonymous, part))
    same = copy.deepcopy(part)
    same["credentialSubject"]["identifier"] = list(reversed(anonymous["credentialSubject"]["identifier"]))
    assert learner_mismatch(anonymous, same) is None


def test_the_workload_adds_ects_and_the_hours_of_parts_without_ects() -> None:
    assert stack_workload([(5, 150), (5, 150), (5, 140)]).text == "15 ECTS"
    assert stack_workload([(None, 40), (None, 40)]).text == "80 hours (no ECTS)"
    mixed = stack_workload([(1.5, 40), (None, 40), (2, None)])
    assert (mixed.ects, mixed.hours, mixed.text) == (3.5, 40, "3.5 ECTS + 40 hours (no ECTS)")
    assert stack_workload([]).text is None


def test_anchor_verify_refuses_a_too_large_bundle_as_a_bundle(
    tmp_path: Path, stacked: dict[str, Any], parts: list[dict[str, Any]]
) -> None:
    padded = {
        "type": STACK_TYPE,
        "format": STACK_FORMAT,
        "stacked": stacked,
        "parts": parts,
        "pad": "x" * MAX_STACK_BYTES,
    }
    path = tmp_path / "big.json"
    path.write_text(json.dumps(padded), encoding="utf-8")
    env = {"ANCHOR_HOME": str(tmp_path / "home")}
    shown = CliRunner().invoke(
        main,
        ["verify", str(path), "--rpc", NOWHERE, "--registry", "0x5FbDB2315678afecb367f032d93F642f64180aa3"],
        env=env,
        catch_exceptions=False,
    )
    assert shown.exit_code == 2, shown.output
    assert "NOT A STACK" in shown.output
    assert f"the stack bundle is larger than the limit of {MAX_STACK_BYTES} bytes" in shown.output
