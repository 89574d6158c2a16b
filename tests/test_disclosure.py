"""Issue 12, selective disclosure: the v3 digest (one salted commitment per claim) and presentations, offline.

Properties: every subset of claims can be disclosed and recomputes to the anchored digest with a Merkle proof
that leads to the root; flipping a disclosed byte, swapping commitments between credentials or presentations,
moving a value to another pointer or re-shaping its containers fails; bad input is refused, naming the claim.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc8785
import sha3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anchor.credentials import FORMAT_V2, FORMAT_V3, credential_digest, hashed_view, salt_bytes
from anchor.credentials.disclosure import (
    SALT_DOMAIN,
    DisclosureError,
    claim_salts,
    claims,
    commitment,
    commitments,
    v3_digest,
)
from anchor.credentials.examples import generate_credentials
from anchor.credentials.presentations import (
    PRESENTATION_FORMAT,
    make_presentation,
    parse_presentation,
    to_pointer,
)
from anchor.credentials.receipt import LEAF_ENCODING, AnchorProof, make_receipt
from anchor.errors import InvalidInputError, UnknownFormatError
from anchor.merkle import StandardMerkleTree

SIGNATURE = {
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-rdfc-2022",
    "created": "2026-11-23T02:00:00Z",
    "verificationMethod": "did:web:example.edu#key-1",
    "proofPurpose": "assertionMethod",
    "proofValue": "z" + "2" * 86,
}


def v3_credentials(count: int, seed: int) -> list[dict[str, Any]]:
    found = []
    for credential in generate_credentials(count, seed=seed, credential_format=FORMAT_V3):
        credential["proof"] = [dict(SIGNATURE)]
        found.append(credential)
    return found


def anchored(credentials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Receipts of ``credentials`` in one (offline) batch: digest, index and Merkle proof as a batch makes them."""
    leaves = [("0x" + credential_digest(credential).hex(), index) for index, credential in enumerate(credentials)]
    tree = StandardMerkleTree.of(leaves, LEAF_ENCODING)
    receipts = []
    for index, credential in enumerate(credentials):
        proof = AnchorProof(
            chain_id=80002,
            registry="0x5FbDB2315678afecb367f032d93F642f64180aa3",
            batch_id=4,
            issuer_id=2,
            index=index,
            digest=leaves[index][0],
            merkle_proof=tuple(tree.get_proof(index)),
            root=tree.root,
            transaction_hash="0x" + "ef" * 32,
            block_number=1234,
            anchored_at=datetime(2026, 11, 23, 2, 0, 13, tzinfo=UTC),
        )
        receipts.append(make_receipt(credential, proof))
    return receipts


RECEIPTS = anchored(v3_credentials(3, seed=12))
POINTERS = [claim.pointer for claim in claims(hashed_view(RECEIPTS[0])) if claim.pointer != "/anchorFormat"]


def proven(presentation: dict[str, Any]) -> bool:
    """What the verifier's offline integrity check decides: the recomputed digest, then the Merkle proof."""
    parsed = parse_presentation(json.loads(json.dumps(presentation)))
    proof = parsed.proof
    if parsed.digest != proof.digest:
        return False
    return StandardMerkleTree.verify(proof.root, LEAF_ENCODING, (parsed.digest, proof.index), proof.merkle_proof)


def recomputes(presentation: dict[str, Any]) -> bool:
    try:
        return proven(presentation)
    except InvalidInputError:
        return False


# ------------------------------------------------------------------ the digest


def test_the_v3_digest_is_the_documented_construction() -> None:
    """keccak(JCS([format, [[pointer, keccak(JCS([path, salt, value]))], ...]])) by the reference JCS library."""
    receipt = RECEIPTS[0]
    view = hashed_view(receipt)
    master = salt_bytes(receipt)
    every = sorted(claims(view), key=lambda claim: claim.pointer)
    stream = hashlib.shake_256(SALT_DOMAIN + master).digest(32 * len(every))
    listed = []
    for at, claim in enumerate(every):
        salt = "0x" + stream[32 * at : 32 * at + 32].hex()
        text = rfc8785.dumps([list(claim.path), salt, claim.value])
        listed.append([claim.pointer, "0x" + sha3.keccak_256(text).hexdigest()])
    expected = sha3.keccak_256(rfc8785.dumps([FORMAT_V3, listed])).digest()
    assert credential_digest(receipt) == v3_digest(view, master) == expected
    assert "/anchorSalt" not in {claim.pointer for claim in every}
    assert {"/anchorFormat", "/proof/0/proofValue", "/credentialSubject/result/0/value"} <= set(listed_pointers(listed))


def listed_pointers(listed: list[list[str]]) -> list[str]:
    return [pointer for pointer, _ in listed]


def test_v2_and_v3_digests_of_the_same_content_differ_and_v2_is_unchanged() -> None:
    (v3,) = v3_credentials(1, seed=3)
    v2 = dict(v3, anchorFormat=FORMAT_V2)
    assert credential_digest(v2) == sha3.keccak_256(rfc8785.dumps(hashed_view(v2))).digest()
    assert credential_digest(v3) != credential_digest(v2)


def test_a_non_nfc_or_float_credential_hashes_as_its_normalised_form() -> None:
    (credential,) = v3_credentials(1, seed=4)
    credential["credentialSubject"]["achievement"]["name"] = "Cafe\u0301"  # e + combining acute: not NFC
    credential["credentialSubject"]["achievement"]["creditsAvailable"] = 5.0
    normalised = copy.deepcopy(credential)
    normalised["credentialSubject"]["achievement"]["name"] = "Caf\u00e9"
    normalised["credentialSubject"]["achievement"]["creditsAvailable"] = 5
    assert credential_digest(credential) == credential_digest(normalised)


def test_a_value_beyond_i_json_is_refused_naming_it() -> None:
    (credential,) = v3_credentials(1, seed=4)
    credential["credentialSubject"]["achievement"]["creditsAvailable"] = 2**60
    with pytest.raises(InvalidInputError, match="creditsAvailable"):
        credential_digest(credential)


def test_equal_values_in_two_credentials_give_unrelated_commitments() -> None:
    first, second = (hashed_view(receipt) for receipt in RECEIPTS[:2])
    one = commitments(first, salt_bytes(RECEIPTS[0]))
    two = commitments(second, salt_bytes(RECEIPTS[1]))
    assert first["anchorFormat"] == second["anchorFormat"]
    assert one["/anchorFormat"] != two["/anchorFormat"]
    assert not set(one.values()) & set(two.values())


def test_a_salt_is_per_claim_and_32_bytes() -> None:
    salts = claim_salts(hashed_view(RECEIPTS[0]), salt_bytes(RECEIPTS[0]))
    assert all(len(salt) == 32 for salt in salts.values())
    assert len(set(salts.values())) == len(salts)


# ------------------------------------------------------------------ presentations: properties


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_subset_of_claims_can_be_disclosed_and_is_proven(data: st.DataObject) -> None:
    receipt = RECEIPTS[data.draw(st.integers(0, len(RECEIPTS) - 1))]
    pointers = [claim.pointer for claim in claims(hashed_view(receipt)) if claim.pointer != "/anchorFormat"]
    hidden = data.draw(st.lists(st.sampled_from(pointers), unique=True))
    presentation = make_presentation(receipt, hide=hidden)
    assert presentation["format"] == PRESENTATION_FORMAT
    assert sorted(presentation["withheld"]) == sorted(hidden)
    assert "anchorSalt" not in json.dumps(presentation)
    assert proven(presentation)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_flipping_any_disclosed_byte_fails(data: st.DataObject) -> None:
    presentation = make_presentation(RECEIPTS[0], hide=["credentialSubject.result"])
    text = json.dumps(presentation["credential"], ensure_ascii=False, sort_keys=True)
    # a byte inside a string value of the disclosed credential, flipped to another printable byte
    spots = [at for at, char in enumerate(text) if char.isalnum()]
    at = data.draw(st.sampled_from(spots))
    replacement = data.draw(st.sampled_from("abcXYZ0189").filter(lambda char: char != text[at]))
    changed_text = text[:at] + replacement + text[at + 1 :]
    try:
        changed = json.loads(changed_text)
    except ValueError:
        return
    if changed == presentation["credential"]:
        return
    assert not recomputes({**presentation, "credential": changed})


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_flipping_any_salt_or_commitment_bit_fails(data: st.DataObject) -> None:
    presentation = make_presentation(RECEIPTS[1], hide=["credentialSubject.identifier", "credentialSubject.result"])
    member = data.draw(st.sampled_from(["disclosedSalts", "withheld"]))
    pointer = data.draw(st.sampled_from(sorted(presentation[member])))
    value = bytearray(bytes.fromhex(presentation[member][pointer][2:]))
    bit = data.draw(st.integers(0, 255))
    value[bit // 8] ^= 1 << (bit % 8)
    changed = copy.deepcopy(presentation)
    changed[member][pointer] = "0x" + value.hex()
    assert not recomputes(changed)


def test_swapping_commitments_between_credentials_fails() -> None:
    hide = ["credentialSubject.result"]
    mine, theirs = (make_presentation(receipt, hide=hide) for receipt in RECEIPTS[:2])
    forged = copy.deepcopy(mine)
    forged["withheld"] = theirs["withheld"]
    assert not recomputes(forged)
    forged = copy.deepcopy(mine)
    forged["disclosedSalts"]["/credentialSubject/achievement/name"] = theirs["disclosedSalts"][
        "/credentialSubject/achievement/name"
    ]
    assert not recomputes(forged)


def test_swapping_between_two_presentations_of_one_credential_fails() -> None:
    shows_grade = make_presentation(RECEIPTS[0], hide=["credentialSubject.identifier"])
    hides_grade = make_presentation(RECEIPTS[0], hide=["credentialSubject.result"])
    forged = copy.deepcopy(hides_grade)
    forged["credential"]["credentialSubject"]["result"] = copy.deepcopy(
        shows_grade["credential"]["credentialSubject"]["result"]
    )
    forged["credential"]["credentialSubject"]["result"][0]["value"] = "A+"
    for pointer, salt in shows_grade["disclosedSalts"].items():
        if pointer.startswith("/credentialSubject/result/"):
            forged["disclosedSalts"][pointer] = salt
            forged["withheld"].pop(pointer)
    assert not recomputes(forged)
    # the honest combination of the two is just a presentation that shows both: it is proven
    forged["credential"]["credentialSubject"]["result"][0]["value"] = shows_grade["credential"]["credentialSubject"][
        "result"
    ][0]["value"]
    assert recomputes(forged)


def test_moving_a_value_to_another_pointer_fails() -> None:
    presentation = make_presentation(RECEIPTS[0], hide=["credentialSubject.identifier"])
    achievement = presentation["credential"]["credentialSubject"]["achievement"]
    moved = copy.deepcopy(presentation)
    moved_achievement = moved["credential"]["credentialSubject"]["achievement"]
    moved_achievement["name"], moved_achievement["description"] = achievement["description"], achievement["name"]
    salts = moved["disclosedSalts"]
    name, description = "/credentialSubject/achievement/name", "/credentialSubject/achievement/description"
    salts[name], salts[description] = salts[description], salts[name]
    assert not recomputes(moved)


def test_re_shaping_the_containers_of_a_disclosed_value_fails() -> None:
    presentation = make_presentation(RECEIPTS[0], hide=["credentialSubject.identifier"])
    reshaped = copy.deepcopy(presentation)
    context = reshaped["credential"]["@context"]
    reshaped["credential"]["@context"] = {str(at): item for at, item in enumerate(context)}  # /@context/0 still
    assert not recomputes(reshaped)


def test_withheld_values_are_gone_and_array_positions_stay() -> None:
    presentation = make_presentation(RECEIPTS[0], hide=["/credentialSubject/identifier/0", "credentialSubject.result"])
    subject = presentation["credential"]["credentialSubject"]
    assert subject["identifier"][0] is None
    assert "result" not in subject
    assert proven(presentation)
    parsed = parse_presentation(presentation)
    assert parsed.is_withheld("/credentialSubject/result")
    assert not parsed.is_withheld("/credentialSubject/achievement")


def test_disclose_keeps_only_the_paths_given_and_what_every_verifier_needs() -> None:
    presentation = make_presentation(RECEIPTS[0], disclose=["credentialSubject.achievement.name"])
    credential = presentation["credential"]
    assert set(credential) == {"anchorFormat", "issuer", "validFrom", "credentialSubject"} | (
        {"validUntil"} if "validUntil" in RECEIPTS[0] else set()
    )
    assert credential["credentialSubject"] == {
        "achievement": {"name": RECEIPTS[0]["credentialSubject"]["achievement"]["name"]}
    }
    assert proven(presentation)


# ------------------------------------------------------------------ bad input: refused, naming the claim


def refusal(presentation: dict[str, Any]) -> str:
    with pytest.raises(InvalidInputError) as caught:
        parse_presentation(presentation)
    return str(caught.value)


@pytest.fixture
def presentation() -> dict[str, Any]:
    return make_presentation(RECEIPTS[0], hide=["credentialSubject.result"])


def test_a_commitment_of_the_wrong_length_is_refused(presentation: dict[str, Any]) -> None:
    pointer = next(iter(presentation["withheld"]))
    presentation["withheld"][pointer] = presentation["withheld"][pointer][:-2]
    assert f"withheld claim {json.dumps(pointer)}" in refusal(presentation)
    assert "31 bytes" in refusal(presentation)


def test_a_salt_of_the_wrong_length_is_refused(presentation: dict[str, Any]) -> None:
    presentation["disclosedSalts"]["/issuer/id"] += "00"
    assert 'disclosed claim "/issuer/id"' in refusal(presentation)
    assert "33 bytes" in refusal(presentation)


def test_a_duplicated_claim_path_is_refused(presentation: dict[str, Any]) -> None:
    both = copy.deepcopy(presentation)
    both["withheld"]["/issuer/id"] = "0x" + "11" * 32
    assert 'claim "/issuer/id" is both disclosed and withheld (a duplicated claim path)' in refusal(both)
    above = copy.deepcopy(presentation)
    above["withheld"]["/credentialSubject/achievement"] = "0x" + "11" * 32
    assert 'claim "/credentialSubject/achievement" also contains other claims' in refusal(above)


def test_a_duplicated_key_in_the_presentation_text_is_refused(presentation: dict[str, Any]) -> None:
    from anchor.credentials import parse_credential

    text = json.dumps(presentation)
    pointer = next(iter(presentation["withheld"]))
    duplicated = text.replace('"withheld": {', f'"withheld": {{"{pointer}": "0x{"00" * 32}", ', 1)
    with pytest.raises(InvalidInputError, match="duplicate"):
        parse_credential(duplicated)


def test_the_master_salt_in_a_presentation_is_refused(presentation: dict[str, Any]) -> None:
    leaked = copy.deepcopy(presentation)
    leaked["credential"]["anchorSalt"] = RECEIPTS[0]["anchorSalt"]
    assert "never carries the master salt" in refusal(leaked)
    as_salt = copy.deepcopy(presentation)
    as_salt["disclosedSalts"]["/anchorSalt"] = RECEIPTS[0]["anchorSalt"]
    assert "never carries the master salt" in refusal(as_salt)


def test_an_unknown_presentation_format_is_refused(presentation: dict[str, Any]) -> None:
    presentation["format"] = "anchor-presentation-v9"
    with pytest.raises(UnknownFormatError, match="anchor-presentation-v9"):
        parse_presentation(presentation)


def test_a_salt_without_a_disclosed_claim_or_a_claim_without_a_salt_is_refused(presentation: dict[str, Any]) -> None:
    extra = copy.deepcopy(presentation)
    extra["disclosedSalts"]["/credentialSubject/nickname"] = "0x" + "11" * 32
    assert 'claim "/credentialSubject/nickname", which the credential does not disclose' in refusal(extra)
    added = copy.deepcopy(presentation)
    added["credential"]["credentialSubject"]["nickname"] = "Ann"
    assert 'disclosed claim "/credentialSubject/nickname" has no salt' in refusal(added)


def test_a_withheld_format_or_another_format_is_refused(presentation: dict[str, Any]) -> None:
    hidden = copy.deepcopy(presentation)
    del hidden["credential"]["anchorFormat"]
    assert "/credential/anchorFormat" in refusal(hidden)
    with pytest.raises(DisclosureError, match="/anchorFormat cannot be withheld"):
        make_presentation(RECEIPTS[0], hide=["anchorFormat"])


def test_an_unknown_path_is_an_error_naming_it() -> None:
    with pytest.raises(DisclosureError, match=r"--hide credentialSubject\.grade: the credential has no claim at "):
        make_presentation(RECEIPTS[0], hide=["credentialSubject.grade"])
    with pytest.raises(DisclosureError, match="--disclose /nope"):
        make_presentation(RECEIPTS[0], disclose=["/nope"])
    with pytest.raises(DisclosureError, match="JSON Pointer"):
        to_pointer("/a~2b")


def test_only_v3_receipts_can_be_presented() -> None:
    (credential,) = v3_credentials(1, seed=9)
    (receipt,) = anchored([dict(credential, anchorFormat=FORMAT_V2)])
    with pytest.raises(DisclosureError, match="only anchor-credential-v3 receipts"):
        make_presentation(receipt, hide=["credentialSubject.result"])


def test_the_commitment_function_is_what_the_digest_uses() -> None:
    view = hashed_view(RECEIPTS[2])
    master = salt_bytes(RECEIPTS[2])
    salts = claim_salts(view, master)
    every = commitments(view, master)
    for claim in claims(view):
        assert commitment(claim.path, salts[claim.pointer], claim.value) == every[claim.pointer]


def test_presentations_follow_their_json_schema_and_the_schema_refuses_a_receipt() -> None:
    from importlib.resources import files

    from jsonschema import Draft202012Validator

    schema = json.loads(files("anchor.credentials").joinpath("schemas/anchor-presentation-v1.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    for hide in ([], ["credentialSubject.identifier", "credentialSubject.result"]):
        validator.validate(json.loads(json.dumps(make_presentation(RECEIPTS[0], hide=hide))))
    assert not validator.is_valid(RECEIPTS[0])
    leaked = make_presentation(RECEIPTS[0], hide=["credentialSubject.result"])
    leaked["credential"]["anchorSalt"] = RECEIPTS[0]["anchorSalt"]
    assert not validator.is_valid(leaked)


def test_a_huge_or_deep_withheld_path_is_refused_at_once(presentation: dict[str, Any]) -> None:
    import time

    for pointer in ("/a" * 200_000, "/" + "x" * 100_000):
        hostile = copy.deepcopy(presentation)
        hostile["withheld"][pointer] = "0x" + "11" * 32
        started = time.monotonic()
        assert "is longer than 4096 characters or deeper than 64 levels" in refusal(hostile)
        assert time.monotonic() - started < 1
