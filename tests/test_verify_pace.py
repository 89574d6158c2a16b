"""The verifier's shortcuts for a directory (issue 13, "Verifying"): each gives what the reference gives.

- :func:`anchor.verifier.reading.parse_receipt_fast` returns what :func:`anchor.credentials.parse_credential`
  returns, or None (then the reference decides): a Hypothesis property on generated and adversarial texts;
- :func:`anchor.credentials.digest.plain_credential_digest` is :func:`~anchor.credentials.credential_digest` of
  what the fast parse returns;
- :func:`anchor.merkle.leaf_proof.verify_anchor_leaf` is ``StandardMerkleTree.verify``: the same answer or the
  same error;
- end to end (a fake chain, no node): a directory verified in chunks, where the shortcuts run, gives exactly
  the results of each receipt verified alone, where they do not: tampered, wrong proof, wrong index, revoked,
  duplicate keys, a float, a big integer, text not NFC, malformed fields; and the shortcuts did run.
"""

from __future__ import annotations

import json
import math
import pickle
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anchor.credentials.digest as digest_module
import anchor.verifier.session as session_module
from anchor.credentials import credential_digest, parse_credential
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.receipt import LEAF_ENCODING, split_receipt
from anchor.errors import InvalidInputError, MerkleInputError
from anchor.merkle import StandardMerkleTree
from anchor.merkle.leaf_proof import verify_anchor_leaf
from anchor.verifier import CheckState, Verdict, Verification, Verifier
from anchor.verifier.bulk import CHUNK, WORKER_GC_THRESHOLD, receipt_files, verify_chunk, verify_paths
from anchor.verifier.reading import parse_receipt, parse_receipt_fast

from support.fake_chain import FakeChain, FakeEndpoint
from support.verifier_world import NOW, write_receipts

DE = issuer_for_country("DE")


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same JSON types all the way down (``1 == 1.0 == True`` in Python)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


def _reference(data: bytes) -> Any:
    try:
        return parse_credential(data)
    except InvalidInputError as error:
        return error


def _agrees(data: bytes) -> None:
    fast = parse_receipt_fast(data)
    wanted = _reference(data)
    if fast is not None:
        assert not isinstance(wanted, Exception), (data, wanted)
        assert _same(fast, wanted), data
    # the entry point: the reference's value or the reference's error, word for word
    try:
        got: Any = parse_receipt(data)
    except InvalidInputError as error:
        got = error
    if isinstance(wanted, Exception):
        assert type(got) is type(wanted), data
        assert str(got) == str(wanted), data
    else:
        assert _same(got, wanted), data


# ---------------------------------------------------------------------- the fast parse

#: Text that sorts, normalises, escapes or encodes in surprising ways.
_TRICKY = st.sampled_from(
    ["a", "é", "e\u0301", "\u0301", "Å", "\u212b", "\u2028", "\U0001f600", "\ufeff", "\x00", "\x1f", "\x7f", '"', "\\"]
)
_TEXT = st.lists(st.one_of(_TRICKY, st.text(max_size=3)), max_size=4).map("".join)
_NUMBER = st.one_of(
    st.integers(min_value=-(2**60), max_value=2**60),
    st.sampled_from([2**53 - 1, 2**53, -(2**53) + 1, 10**15, 10**16 - 1, 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1.0, -0.0, 5e-324, 2.0**53, 1e21, 1e300, 0.1]),
)
_SCALAR = st.one_of(st.none(), st.booleans(), _NUMBER, _TEXT)
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=12,
)
_SEPARATORS = st.sampled_from([None, (",", ":"), (", ", ": "), (",", ": ")])


@st.composite
def _texts(draw: st.DrawFn) -> bytes:
    """JSON texts as writers write them, then perhaps changed by hand in a way the reference may refuse."""
    value = draw(st.dictionaries(_TEXT, _VALUE, max_size=5))
    text = json.dumps(
        value,
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, 2])),
        separators=draw(_SEPARATORS),
        allow_nan=True,
    )
    change = draw(st.sampled_from(["none", "duplicate", "escape", "big", "bom", "crlf", "trailing", "prefix"]))
    if change == "duplicate" and value:
        key = json.dumps(next(iter(value)), ensure_ascii=draw(st.booleans()))
        text = "{" + key + ":1," + text[1:]
    elif change == "escape":
        text = text.replace("a", "\\u0061", 1).replace("\\u00e9", "e\\u0301", 1).replace("é", "e\u0301", 1)
    elif change == "big":
        number = draw(st.sampled_from(["9007199254740993", "-9007199254740992", "1e400", "12345678901234567.0", "1"]))
        text = '{"n": ' + number + ("," if value else "") + text[1:]
    elif change == "bom":
        text = "\ufeff" + text
    elif change == "crlf":
        text = text.replace("\n", "\r\n")
    elif change == "trailing":
        text += draw(st.sampled_from(["\n", " ", "\n\n", "x"]))
    elif change == "prefix":
        text = draw(st.sampled_from(["[", "1", "\n", " ", '"a"'])) + text
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in the text: as a reader would find it
        return text.encode("utf-8", "surrogatepass")


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts())
def test_the_fast_parse_is_the_reference_or_leaves_it_to_it(data: bytes) -> None:
    _agrees(data)


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": 1, "a": 1}',  # a duplicate key, the same value
        b'{"a": 1, "\\u0061": 2}',  # a duplicate key behind an escape
        b'{"\\u00c5": 1, "\\u212b": 2}',  # keys equal after NFC
        b'{"e\\u0301": 1}',  # an escape that makes the text not NFC
        '{"e\u0301": 1}'.encode(),  # raw text not NFC
        b'{"a": 9007199254740992}',  # beyond I-JSON
        b'{"a": -9007199254740992}',
        b'{"a": 9007199254740991}',  # the largest: 16 digits, left to the reference (which takes it)
        b'{"a": "x:1234567890123456"}',  # 16 digits in a string after a colon: left to the reference
        b'{"a": "0x1234567890123456789"}',  # 16 digits in a string after a letter: taken
        b'{"a": 1.5}',  # a float: left to the reference
        b'{"a": 1e400}',
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": "\\ud800"}',  # a lone surrogate, escaped
        b'{"a": "\xed\xa0\x80"}',  # a lone surrogate, encoded
        b'{"a": "\xff"}',  # not UTF-8
        b'\xef\xbb\xbf{"a": 1}',  # a byte order mark
        b'[{"a": 1}]',  # not an object at the top
        b'{"a": ' + b"[" * 70 + b"]" * 70 + b"}",  # too deep
        b'{"a": "' + b"[" * 70 + b'"}',  # many brackets in a string: left to the reference
        b'{"a": 1} x',
        b'{"a": "\\u0000\\n\\t"}',
        b'{"a":\n  1,\n  "b": [\n    true\n  ]\n}\n',
        b'{"a": 01}',
        b'{"a": -0}',
        b'{"a": "\xe2\x80\xa8"}',
    ],
)
def test_adversarial_texts(text: bytes) -> None:
    _agrees(text)


def test_the_usual_receipt_takes_the_fast_parse(receipt_texts: list[bytes]) -> None:
    for text in receipt_texts:
        fast = parse_receipt_fast(text)
        assert fast is not None
        assert _same(fast, parse_credential(text))


# ---------------------------------------------------------------------- the digest of a plain credential


@pytest.fixture(scope="module")
def receipt_texts() -> list[bytes]:
    chain = FakeChain()
    receipts = chain.anchor(1, list(generate_credentials(6, seed=5)))
    written = [json.dumps(receipts[0], ensure_ascii=False, indent=2).encode() + b"\n"]  # as the issuer writes
    written += [json.dumps(receipt, ensure_ascii=False).encode() for receipt in receipts[1:]]
    return written


def test_the_plain_digest_is_the_digest(receipt_texts: list[bytes]) -> None:
    for text in receipt_texts:
        credential = split_receipt(parse_receipt_fast(text) or {})[0]
        assert digest_module.plain_credential_digest(credential) == credential_digest(credential)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_TEXT, _VALUE, max_size=5), st.integers(min_value=0, max_value=5))
def test_the_plain_digest_of_any_plainly_parsed_credential(extra: dict[str, Any], seed: int) -> None:
    credential = next(iter(generate_credentials(1, seed=seed)))
    credential["credentialSubject"]["extra"] = extra  # keys beyond the BMP, escapes, numbers of every kind
    parsed = parse_receipt_fast(json.dumps(credential, ensure_ascii=False, allow_nan=True).encode("utf-8", "replace"))
    if parsed is None:
        return
    try:
        wanted: Any = credential_digest(parsed)
    except InvalidInputError as error:
        wanted = error
    try:
        got: Any = digest_module.plain_credential_digest(parsed)
    except InvalidInputError as error:
        got = error
    if isinstance(wanted, Exception):
        assert type(got) is type(wanted)
        assert str(got) == str(wanted)
    else:
        assert got == wanted


def test_a_key_beyond_the_bmp_is_hashed_by_the_reference() -> None:
    credential = next(iter(generate_credentials(1, seed=3)))
    credential["credentialSubject"]["\U0001f600"] = 1
    credential["credentialSubject"]["\uff01"] = 2  # sorts after U+1F600 by code point, before it in UTF-16
    parsed = parse_receipt_fast(json.dumps(credential, ensure_ascii=False).encode())
    assert parsed is not None
    assert digest_module.plain_credential_digest(parsed) == credential_digest(parsed)


# ---------------------------------------------------------------------- the Merkle proof


def _merkle(root: Any, encoding: Any, value: Any, proof: Any, fast: bool) -> Any:
    try:
        if fast:
            return verify_anchor_leaf(root, encoding, value, proof)
        return StandardMerkleTree.verify(root, encoding, value, proof)
    except MerkleInputError as error:
        return ("error", str(error))


@pytest.fixture(scope="module")
def tree() -> StandardMerkleTree:
    values = [(bytes([index]) * 32, index) for index in range(13)]
    return StandardMerkleTree.of(values, list(LEAF_ENCODING))


def _cases(tree: StandardMerkleTree) -> list[tuple[Any, Any, Any, Any]]:
    digest, proof = "0x" + "05" * 32, tree.get_proof(5)
    flipped = [proof[0][:-1] + ("0" if proof[0][-1] != "0" else "1"), *proof[1:]]
    return [
        (tree.root, LEAF_ENCODING, (digest, 5), proof),  # valid
        (tree.root, list(LEAF_ENCODING), [digest, 5], tuple(proof)),
        (tree.root.upper().replace("0X", "0x"), LEAF_ENCODING, (digest.upper().replace("0X", "0x"), 5), proof),
        (tree.root, LEAF_ENCODING, (digest, 6), proof),  # wrong index
        (tree.root, LEAF_ENCODING, ("0x" + "06" * 32, 5), proof),  # wrong digest
        (tree.root, LEAF_ENCODING, (digest, 5), flipped),  # a changed sibling
        (tree.root, LEAF_ENCODING, (digest, 5), proof[:-1]),  # a sibling less
        (tree.root, LEAF_ENCODING, (digest, 5), [*proof, proof[0]]),  # one more
        (tree.root, LEAF_ENCODING, (digest, 5), []),
        ("0x" + "00" * 32, LEAF_ENCODING, (digest, 5), proof),  # another root
        (tree.root, LEAF_ENCODING, (digest, True), proof),  # a bool index
        (tree.root, LEAF_ENCODING, (digest, -1), proof),
        (tree.root, LEAF_ENCODING, (digest, 2**256), proof),
        (tree.root, LEAF_ENCODING, (digest, "5"), proof),
        (tree.root, LEAF_ENCODING, (digest[:-2] + "zz", 5), proof),  # not hex
        (tree.root, LEAF_ENCODING, (digest[:4] + " " + digest[5:], 5), proof),  # a space (fromhex skips them)
        (tree.root, LEAF_ENCODING, (digest, 5), [proof[0][:-2] + "  ", *proof[1:]]),
        (tree.root, LEAF_ENCODING, (digest, 5), [proof[0][2:] + "00", *proof[1:]]),  # no 0x
        (tree.root, LEAF_ENCODING, (digest, 5), [bytes.fromhex(node[2:]) for node in proof]),  # bytes
        (tree.root, LEAF_ENCODING, (digest, 5), proof[0]),  # a string, not a list
        (tree.root[:-2], LEAF_ENCODING, (digest, 5), proof),  # a short root
        (tree.root, ("uint256", "bytes32"), (5, digest), proof),  # another encoding
        (tree.root, LEAF_ENCODING, (digest, 5, 6), proof),
        (tree.root, LEAF_ENCODING, digest, proof),
    ]


def test_the_anchor_leaf_proof_is_standard_merkle_tree_verify(tree: StandardMerkleTree) -> None:
    answers = []
    for case in _cases(tree):
        wanted = _merkle(*case, fast=False)
        assert _merkle(*case, fast=True) == wanted, case
        answers.append(wanted)
    assert answers[:3] == [True, True, True]
    assert answers[3:10] == [False] * 7
    assert answers[13] is answers[18] is True  # a decimal string index, bytes siblings: the reference's forms
    errors = [index for index, answer in enumerate(answers) if isinstance(answer, tuple)]
    assert errors == [10, 11, 12, 14, 15, 16, 17, 19, 20, 22, 23]


# ---------------------------------------------------------------------- end to end: chunks against one by one


def _comparable(result: Verification) -> dict[str, Any]:
    return result.to_json()


def test_a_directory_in_chunks_gives_the_results_of_each_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chain = FakeChain()
    chain.register(1, DE.name, "DE", DE.id)
    good = chain.anchor(1, list(generate_credentials(12, seed=41, issuer=DE)))
    revoked = chain.anchor(1, list(generate_credentials(2, seed=42, issuer=DE)))
    chain.batches[2].revoked_at, chain.batches[2].reason = 1_760_000_000, 1
    expired, future = generate_credentials(2, seed=44, issuer=DE)
    expired["validUntil"] = "2026-01-01T00:00:00Z"  # before NOW
    future["validFrom"] = "2027-01-01T00:00:00Z"  # after NOW
    dated = chain.anchor(1, [expired, future])
    receipts: dict[str, Any] = {f"valid{index}": receipt for index, receipt in enumerate(good[:4])}
    receipts["indented"] = json.dumps(good[4], ensure_ascii=False, indent=2) + "\n"
    receipts["revoked"] = revoked[0]
    receipts["expired"], receipts["future"] = dated
    tampered = json.loads(json.dumps(good[5]))
    tampered["credentialSubject"]["name"] = "Someone Else"
    receipts["tampered"] = tampered
    tampered_salt = json.loads(json.dumps(good[6]))
    tampered_salt["anchorSalt"] = "0x" + "ab" * 32
    receipts["tampered-salt"] = tampered_salt
    wrong_sibling = json.loads(json.dumps(good[7]))
    wrong_sibling["proof"]["merkleProof"][0] = "0x" + "11" * 32
    receipts["wrong-sibling"] = wrong_sibling
    wrong_index = json.loads(json.dumps(good[8]))
    wrong_index["proof"]["index"] = 9
    receipts["wrong-index"] = wrong_index
    malformed = json.loads(json.dumps(good[9]))
    malformed["proof"]["merkleProof"][1] = "0x" + "1" * 63
    receipts["malformed-sibling"] = malformed
    no_date = json.loads(json.dumps(good[10]))
    no_date["validFrom"] = "yesterday"
    receipts["malformed-date"] = no_date
    text = json.dumps(good[11], ensure_ascii=False)
    receipts["duplicate-key"] = '{"anchorSalt": "0x' + "00" * 32 + '", ' + text[1:]
    receipts["float"] = text[:-1] + ', "extra": 1.5}'
    receipts["big-integer"] = text[:-1] + ', "extra": 9007199254740993}'
    receipts["not-nfc"] = text.replace(DE.name, "e\u0301" + DE.name, 1)
    receipts["escaped"] = text.replace(DE.name[0], f"\\u{ord(DE.name[0]):04x}", 1)
    paths = write_receipts(tmp_path / "receipts", receipts)

    endpoint = FakeEndpoint(chain)
    try:
        with Verifier([endpoint.url], [chain.registry], timeout=5.0) as alone:
            expected = [alone.verify_file(path, now=NOW) for path in paths]
        hashed: list[Any] = []

        def counted(credential: dict[str, Any]) -> bytes:
            hashed.append(credential)
            return digest_module.plain_credential_digest(credential)

        monkeypatch.setattr(session_module, "plain_credential_digest", counted)
        with Verifier([endpoint.url], [chain.registry], timeout=5.0) as chunked:
            results = verify_chunk(chunked, paths, now=NOW)
    finally:
        endpoint.close()
    for path, got, wanted in zip(paths, results, expected, strict=True):
        assert _comparable(got) == _comparable(wanted), path
    verdicts = {Path(path).stem: result for path, result in zip(paths, results, strict=True)}
    for name in ("valid0", "valid3", "indented", "escaped"):
        assert verdicts[name].verdict is Verdict.VALID, verdicts[name].summary
    codes = {name: [check.code for check in result.failed] for name, result in verdicts.items()}
    assert "tampered" in codes["tampered"]
    assert codes["tampered-salt"] == ["tampered"]
    assert codes["wrong-sibling"] == codes["wrong-index"] == ["bad-proof"]
    assert codes["revoked"] == ["batch-revoked"]
    assert codes["expired"] == ["expired"]
    assert codes["future"] == ["not-yet-valid"]
    assert verdicts["duplicate-key"].verdict is Verdict.ERROR
    assert "duplicate key" in verdicts["duplicate-key"].summary
    assert verdicts["big-integer"].verdict is Verdict.ERROR
    assert verdicts["malformed-sibling"].verdict is Verdict.ERROR
    assert codes["malformed-date"] == ["schema", "tampered"]
    # the shortcuts ran: the plain digest for the usual receipts (valid, indented, tampered, wrong proofs...)
    assert len(hashed) >= 12
    # results come back from worker processes pickled as plain values, checks shared: the same results
    back = pickle.loads(pickle.dumps(results))
    assert back == results
    assert [_comparable(result) for result in back] == [_comparable(result) for result in results]
    assert all(type(check.state) is CheckState for result in back for check in result.checks)
    assert all(type(result.verdict) is Verdict for result in back)


# ---------------------------------------------------------------------- the directory listing


def _listed_by_rglob(folder: Path) -> list[str]:
    """What ``anchor verify DIR`` listed before :func:`receipt_files` (the reference)."""
    return [
        str(item)
        for item in sorted(folder.rglob("*.json"))
        if item.is_file() and not any(part.startswith(".") for part in item.relative_to(folder).parts[:-1])
    ]


def test_receipt_files_lists_what_rglob_listed(tmp_path: Path) -> None:
    root = tmp_path / "in"
    for name in ["a.json", "b.JSON", "c.json.txt", ".hidden.json", "a-b.json", "a/b.json", "a/c/d.json", "a b/é.json"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("{}")
    for name in [".partial/x.json", "a/.batch-1.partial/y.json", "a/c/.z/deep/z.json"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("{}")
    (root / "folder.json").mkdir()  # a folder named like a receipt
    (root / "link.json").symlink_to(root / "a.json")  # a link to a file: listed
    (root / "broken.json").symlink_to(root / "missing.json")  # a broken link: not a file
    (root / "linked").symlink_to(root / "a", target_is_directory=True)  # a link to a folder: not followed
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o.json").write_text("{}")
    (root / "a" / "out").symlink_to(outside, target_is_directory=True)
    for folder in (root, Path(str(root) + "/"), Path(str(root) + "/./a/..")):
        assert receipt_files(folder) == _listed_by_rglob(folder)
    assert [Path(path).relative_to(root).as_posix() for path in receipt_files(root)] == [
        ".hidden.json",
        "a/b.json",
        "a/c/d.json",
        "a b/é.json",
        "a-b.json",
        "a.json",
        "link.json",
    ]


# ---------------------------------------------------------------------- the anchoring proof's fields

_NODE = "0x" + "ab" * 32


@pytest.mark.parametrize(
    "nodes",
    [
        [_NODE, _NODE.upper().replace("0X", "0x")],  # upper case: lowered
        [_NODE + "\n"],  # what the field's regular expression has always let through (then lowered)
        [_NODE[:-1]],
        [_NODE + "0"],
        [_NODE, 7],
        [_NODE.replace("0x", "0X")],
        [_NODE[:-2] + "zz"],
        [],
        ["0x" + "ab" * 32 + "0x" + "cd" * 31],
    ],
)
@pytest.mark.parametrize(
    "registry",
    [
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "0x5FBDB2315678AFECB367F032D93F642F64180AA3",
        "0x5FbDB2315678afecb367f032d93F642f64180aA3",  # a wrong checksum
        "0x5FbDB2315678afecb367f032d93F642f64180aa",
        7,
    ],
)
def test_the_proof_fields_read_as_each_alone(nodes: list[Any], registry: Any) -> None:
    from anchor.addresses import is_address, to_checksum_address
    from anchor.credentials.receipt import ReceiptError, parse_proof

    receipt = json.loads(json.dumps(next(iter(FakeChain().anchor(1, list(generate_credentials(1, seed=2)))))))
    proof = dict(receipt["proof"], merkleProof=nodes, registry=registry)
    good_nodes = all(isinstance(node, str) and re.match(r"^0x[0-9a-fA-F]{64}$", node) for node in nodes)
    good_registry = isinstance(registry, str) and is_address(registry)
    for _ in range(2):  # the registry's form is kept after the first time
        if good_nodes and good_registry:
            parsed = parse_proof(proof)
            assert parsed.merkle_proof == tuple(node.lower() for node in nodes)
            assert parsed.registry == to_checksum_address(registry)
        else:
            with pytest.raises(ReceiptError) as raised:
                parse_proof(proof)
            assert ("/proof/merkleProof/" in str(raised.value)) is not good_nodes
            assert ("/proof/registry" in str(raised.value)) is not good_registry


def test_worker_processes_results_in_order_and_the_collector_pace_restored(tmp_path: Path) -> None:
    import gc

    chain = FakeChain()
    chain.register(1, DE.name, "DE", DE.id)
    receipts = chain.anchor(1, list(generate_credentials(2 * CHUNK + 3, seed=43, issuer=DE)))
    receipts[CHUNK + 1]["credentialSubject"]["name"] = "Someone Else"  # one tampered, in the second chunk
    paths = write_receipts(tmp_path, {f"{index:04d}": receipt for index, receipt in enumerate(receipts)})
    endpoint = FakeEndpoint(chain)
    before = gc.get_threshold()
    try:
        with Verifier([endpoint.url], [chain.registry], timeout=5.0) as verifier:
            results = verify_paths(verifier, paths, processes=2, threads=1, now=NOW)
            first = next(results)
            during = gc.get_threshold()
            rest = list(results)
    finally:
        endpoint.close()
    assert during[0] == WORKER_GC_THRESHOLD
    assert gc.get_threshold() == before
    found = [first, *rest]
    assert [result.source for result in found] == paths
    assert [index for index, result in enumerate(found) if result.verdict is not Verdict.VALID] == [CHUNK + 1]


def test_a_receipt_file_reads_as_read_receipt_or_badge(tmp_path: Path) -> None:
    from anchor.credentials.model import MAX_CREDENTIAL_BYTES
    from anchor.sharing.baking import MAX_BADGE_BYTES, PNG_SIGNATURE, read_receipt_or_badge
    from anchor.verifier.session import read_receipt_file

    contents = {
        "empty": b"",
        "usual": b'{"a": 1}' * 500,
        "limit": b"x" * MAX_CREDENTIAL_BYTES,
        "over": b"x" * (MAX_CREDENTIAL_BYTES + 10),
        "large png": PNG_SIGNATURE + b"\0" * (MAX_CREDENTIAL_BYTES + 10),
        "huge png": PNG_SIGNATURE + b"\0" * (MAX_BADGE_BYTES + 10),
    }
    for name, content in contents.items():
        path = tmp_path / name
        path.write_bytes(content)
        with path.open("rb") as stream:
            wanted = read_receipt_or_badge(stream)
        assert read_receipt_file(path) == wanted, name
    with Path("/dev/null").open("rb") as stream:  # not a regular file: read as before
        assert read_receipt_file("/dev/null") == read_receipt_or_badge(stream)
    with pytest.raises(OSError, match="No such file"):
        read_receipt_file(tmp_path / "missing")
    with pytest.raises(IsADirectoryError):
        read_receipt_file(tmp_path)


# ---------------------------------------------------------------------- a status answer's words

_UINTS = st.sampled_from(["uint8", "uint64", "uint256", "uint160"])
_UINT_TYPES = st.recursive(
    _UINTS,
    lambda inner: st.lists(inner, min_size=1, max_size=4).map(lambda parts: f"({','.join(parts)})"),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_UINT_TYPES, max_size=3), st.data())
def test_words_of_uints_decode_as_the_decoder_decodes_them(types: list[str], data: st.DataObject) -> None:
    from anchor.chain.abi_codec import AbiDecodingError, _Decoder, _parse_all, decode

    count = len(re.findall("uint", ",".join(types)))
    words = data.draw(
        st.lists(
            st.one_of(st.integers(0, 255), st.integers(0, 2**64 - 1), st.integers(0, 2**256 - 1)),
            min_size=max(count - 1, 0),
            max_size=count + 1,
        )
    )
    raw = b"".join(word.to_bytes(32, "big") for word in words) + data.draw(st.binary(max_size=40))
    try:
        wanted: Any = _Decoder(raw).decode(_parse_all(types), 0)
    except AbiDecodingError as error:
        wanted = ("error", str(error))
    try:
        got: Any = decode(types, raw)
    except AbiDecodingError as error:
        got = ("error", str(error))
    assert got == wanted
