"""The issuer's DID and Ed25519 signing keys: DID syntax, the keyring (create, rotate, retire), encryption at rest,
refused files, the DID document, and the settings that choose the DID and the key."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from anchor.config import Settings, load_settings
from anchor.credentials import multikey
from anchor.did_syntax import MAX_DID_LENGTH, check_did_key, check_issuer_did, check_key_name, parse_did_web
from anchor.errors import InvalidInputError, SigningKeyError
from anchor.issuing import dids
from anchor.issuing.signing_keys import (
    DEFAULT_COST,
    IssuerKeys,
    ScryptCost,
    configured_issuer_did,
    encrypt_private_key,
    issuer_keys,
    issuer_public_keys,
    load_issuer_signer,
)

from support.prerequisites import missing

#: Tests need no real work factor (the default costs about half a second per key on this machine).
FAST = ScryptCost(n=16, r=8, p=1)
T0 = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
T1 = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
T2 = datetime(2025, 9, 1, 8, 30, tzinfo=UTC)


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _assertion_key(document: dict[str, Any], method_id: str) -> bytes | None:
    """What a verifier finds in ``document`` for ``method_id``: its raw key if listed under assertionMethod."""
    if method_id not in document["assertionMethod"]:
        return None
    (method,) = [m for m in document["verificationMethod"] if m["id"] == method_id]
    assert method["type"] == "Multikey"
    assert method["controller"] == document["id"]
    return multikey.public_key_from_multibase(method["publicKeyMultibase"])


# --------------------------------------------------------------------------------------------- did:web syntax


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:example.edu", "https://example.edu/.well-known/did.json"),
        ("did:web:example.edu:issuers:x", "https://example.edu/issuers/x/did.json"),
        ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
        ("did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"),
        ("did:web:localhost%3A8443", "https://localhost:8443/.well-known/did.json"),
        ("did:web:xn--bcher-kva.example", "https://xn--bcher-kva.example/.well-known/did.json"),
        ("did:web:a.example:Dept_1:v2.0~x", "https://a.example/Dept_1/v2.0~x/did.json"),
    ],
)
def test_a_did_web_did_names_where_its_document_is(did: str, url: str) -> None:
    assert parse_did_web(did).document_url == url
    assert dids.document_url(did) == url
    assert check_issuer_did(did) == did


@pytest.mark.parametrize(
    ("did", "problem"),
    [
        ("did:web:Example.edu", "lower case ('example.edu')"),
        ("did:web:", "no domain name"),
        ("did:web:edu", "not a fully qualified domain name"),
        ("did:web:192.168.1.20", "IP address"),
        ("did:web:[::1]", "not a fully qualified domain name"),
        ("did:web:[1].example", "only letters, digits and '-'"),
        ("did:web:-x.example", "starts or ends with '-'"),
        ("did:web:x-.example", "starts or ends with '-'"),
        ("did:web:a..example", "1 to 63 characters"),
        ("did:web:" + "a" * 64 + ".example", "1 to 63 characters"),
        ("did:web:" + "a." * 126 + "example", "longer than 253"),
        ("did:web:bücher.example", "xn--"),
        ("did:web:example.edu%3a8443", "one %3A (upper case)"),
        ("did:web:example.edu%3A8443%3A1", "one %3A (upper case)"),
        ("did:web:example.edu%2Fevil", "one %3A (upper case)"),
        ("did:web:example.edu%3A", "port is missing"),
        ("did:web:example.edu%3A0", "1..65535"),
        ("did:web:example.edu%3A08443", "leading zeros"),
        ("did:web:example.edu%3A65536", "1..65535"),
        ("did:web:example.edu%3A\u0663\u0660", "1..65535"),  # Arabic-Indic digits, which int() would take
        ("did:web:example.edu%3A443", "443 is HTTPS's own"),
        ("did:web:example.edu:", "empty path segment"),
        ("did:web:example.edu::x", "empty path segment"),
        ("did:web:example.edu:..:evil", "'..' is not allowed"),
        ("did:web:example.edu:.", "'.' is not allowed"),
        ("did:web:example.edu:a%2Fb", "only letters, digits, '-', '.', '_' and '~'"),
        ("did:web:example.edu:a/b", "only letters, digits"),
        ("did:web:example.edu#key-1", "only letters, digits and '-'"),
        ("did:web:example.edu?service=x", "only letters, digits and '-'"),
        ("did:web:user@example.edu", "only letters, digits and '-'"),
        ("did:web:example.edu/path", "only letters, digits and '-'"),
        ("did:web:example.edu ", "only letters, digits and '-'"),
        ("did:web:example.edu:" + "s" * 256, "longer than 255"),
        ("did:webs:example.edu", "not a did:web DID"),
        ("DID:WEB:example.edu", "not a did:web DID"),
    ],
)
def test_a_did_web_did_is_spelled_one_way_only(did: str, problem: str) -> None:
    with pytest.raises(InvalidInputError, match="DID ") as info:
        parse_did_web(did)
    assert problem in str(info.value)
    assert repr(did[:100]) in str(info.value)


def test_parsing_hostile_dids_takes_no_time() -> None:
    hostile = [
        "did:web:" + "a." * (MAX_DID_LENGTH // 2 - 8),
        "did:web:example.edu" + ":a" * ((MAX_DID_LENGTH - 22) // 2) + ":",
        "did:web:" + "-" * (MAX_DID_LENGTH - 8),
        "did:web:" + "%3A" * 680,
    ]
    started = time.perf_counter()
    for did in hostile * 50:
        with pytest.raises(InvalidInputError):
            parse_did_web(did)
    assert time.perf_counter() - started < 1.0
    with pytest.raises(InvalidInputError, match="longer than 2048 characters") as info:
        parse_did_web("did:web:" + "a" * 5000)
    assert len(str(info.value)) < 300  # the value is cut short in the message


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("abcAZ09-._~:%3/#?@ é"), max_size=40))
def test_every_did_web_accepted_is_a_plain_https_url_on_its_own_domain(tail: str) -> None:
    try:
        parsed = parse_did_web("did:web:" + tail)
    except InvalidInputError:
        return
    url = urlsplit(parsed.document_url)
    assert (url.scheme, url.hostname, url.port, url.query, url.fragment) == ("https", parsed.host, parsed.port, "", "")
    assert url.username is None
    assert url.password is None
    segments = url.path.split("/")[1:-1]
    assert ".." not in segments
    assert "." not in segments
    assert url.path.endswith("/did.json")
    assert parsed.did == "did:web:" + tail


def test_did_key_syntax_matches_the_multikey_encoding() -> None:
    for _ in range(50):
        did = multikey.did_key(_raw(Ed25519PrivateKey.generate().public_key()))
        assert check_did_key(did) == did
        assert check_issuer_did(did) == did
    good = multikey.did_key(bytes(32))
    for bad in (good[:-1], good + "a", good.replace("z6Mk", "z6Ml"), good[:-1] + "0", "did:key:" + "z" * 48):
        with pytest.raises(InvalidInputError, match="not an Ed25519 did:key DID"):
            check_did_key(bad)
    with pytest.raises(InvalidInputError, match=r"neither a did:web DID .* nor a did:key DID"):
        check_issuer_did("https://example.edu")


@pytest.mark.parametrize("name", ["", "-a", ".pem", "../x", "a/b", "a#b", "a b", "ä", "k" * 65, None, 7])
def test_a_key_name_is_a_plain_fragment_and_file_name(name: object) -> None:
    with pytest.raises(InvalidInputError, match="invalid key name"):
        check_key_name(name)
    assert check_key_name("key-2025.01_a") == "key-2025.01_a"


# --------------------------------------------------------------------------------------------- the keyring


def test_did_web_keys_rotate_keeping_old_keys_listed_and_retire_only_when_asked(tmp_path: Path) -> None:
    keys = IssuerKeys(tmp_path / "keys" / "did")
    created = keys.create("did:web:example.edu:issuers:x", "pw-1", cost=FAST, now=T0)
    first = created.key("key-1")
    assert (created.did, created.current, first.created) == ("did:web:example.edu:issuers:x", "key-1", T0)
    assert first.verification_method(created.did) == "did:web:example.edu:issuers:x#key-1"

    document = created.document()
    assert document == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": "did:web:example.edu:issuers:x",
        "verificationMethod": [
            {
                "id": "did:web:example.edu:issuers:x#key-1",
                "type": "Multikey",
                "controller": "did:web:example.edu:issuers:x",
                "publicKeyMultibase": first.public_key_multibase,
            }
        ],
        "assertionMethod": ["did:web:example.edu:issuers:x#key-1"],
    }
    assert "authentication" not in document  # the keys sign credentials, nothing else
    assert _assertion_key(document, "did:web:example.edu:issuers:x#key-1") == first.public_key

    rotated = keys.rotate("pw-2", cost=FAST, now=T1)
    assert rotated.current == "key-2"
    assert rotated.key("key-1").replaced == T1
    assert [rotated.state(key) for key in rotated.keys] == ["listed", "current"]
    document = rotated.document()
    assert document["assertionMethod"] == ["did:web:example.edu:issuers:x#key-1", "did:web:example.edu:issuers:x#key-2"]
    for key in rotated.keys:  # a credential signed by the old key still finds its key
        assert _assertion_key(document, key.verification_method(rotated.did)) == key.public_key
    assert keys.load() == rotated

    with pytest.raises(InvalidInputError, match="current signing key: rotate to a new one first"):
        keys.retire("key-2")
    with pytest.raises(SigningKeyError, match="no key named 'key-9'; its keys: key-1, key-2"):
        keys.retire("key-9")
    retired = keys.retire("key-1", now=T2)
    assert retired.key("key-1").retired == T2
    assert [retired.state(key) for key in retired.keys] == ["retired", "current"]
    document = retired.document()
    assert document["assertionMethod"] == ["did:web:example.edu:issuers:x#key-2"]
    assert _assertion_key(document, "did:web:example.edu:issuers:x#key-1") is None
    assert "did:web:example.edu:issuers:x#key-1" not in json.dumps(document)
    with pytest.raises(InvalidInputError, match="retired already, on 2025-09-01T08:30:00Z"):
        keys.retire("key-1")
    with pytest.raises(InvalidInputError, match="had a key named 'key-1' already: a name is never used twice"):
        keys.rotate("pw", name="key-1", cost=FAST)
    assert keys.rotate("pw-3", cost=FAST).current == "key-3"
    assert keys.key_path("key-1").is_file()  # a retired key's record and file are kept
    with pytest.raises(InvalidInputError, match="has keys already"):
        keys.create("did:web:example.edu", "pw", cost=FAST)


def test_a_did_key_is_derived_from_its_key_and_does_not_rotate(tmp_path: Path) -> None:
    keys = IssuerKeys(tmp_path / "did")
    keyring = keys.create(None, "pw", cost=FAST)
    key = keyring.key("key-1")
    assert keyring.did == multikey.did_key(key.public_key)
    assert key.verification_method(keyring.did) == multikey.did_key_verification_method(key.public_key)
    assert keyring.document() == multikey.did_key_document(keyring.did)
    assert dids.document_url(keyring.did) is None
    with pytest.raises(InvalidInputError, match="did:key DID: its key is the DID itself, so it has no rotation"):
        keys.rotate("pw", cost=FAST)
    with pytest.raises(InvalidInputError, match="derived from a new key, not given; create it with --did-key"):
        IssuerKeys(tmp_path / "other").create(keyring.did, "pw", cost=FAST)


def test_creation_refuses_bad_input_before_writing_anything(tmp_path: Path) -> None:
    folder = tmp_path / "did"
    keys = IssuerKeys(folder)
    with pytest.raises(InvalidInputError, match="lower case"):
        keys.create("did:web:EXAMPLE.edu", "pw", cost=FAST)
    with pytest.raises(InvalidInputError, match="non-empty password"):
        keys.create("did:web:example.edu", "", cost=FAST)
    with pytest.raises(InvalidInputError, match=r"invalid key name '../evil'"):
        keys.create("did:web:example.edu", "pw", name="../evil", cost=FAST)
    assert not folder.exists()
    with pytest.raises(SigningKeyError, match=r"no issuer signing key in .*anchor did key create --did did:web:"):
        keys.load()


def test_keys_are_private_files_in_a_private_folder_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        keys = IssuerKeys(tmp_path / "home" / "keys" / "did")
        keys.create("did:web:example.edu", "pw", cost=FAST)
    finally:
        os.umask(previous)
    for folder in (tmp_path / "home", tmp_path / "home" / "keys", keys.folder):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in keys.folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


# --------------------------------------------------------------------------------------------- encryption at rest


def test_the_key_file_is_pkcs8_with_scrypt_that_openssl_reads_and_holds_no_secret_in_clear(tmp_path: Path) -> None:
    """At the real work factor, which must stay within what OpenSSL accepts in PKCS#8 (32 MiB)."""
    keys = IssuerKeys(tmp_path / "did")
    keys.create("did:web:example.edu", "correct horse", now=T0)
    text = keys.key_path("key-1").read_text()
    private_key = serialization.load_pem_private_key(text.encode(), b"correct horse")
    assert isinstance(private_key, Ed25519PrivateKey)
    assert text.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    seed = private_key.private_bytes_raw()
    der = base64.b64decode("".join(text.strip().splitlines()[1:-1]))
    assert seed not in der
    assert base64.b64encode(seed).decode() not in text
    assert seed.hex() not in text
    keyring_text = keys.keyring_path.read_text()
    assert seed.hex() not in keyring_text
    assert "correct horse" not in keyring_text + text
    openssl = shutil.which("openssl")
    if openssl is None:
        missing("no openssl command to read the key file independently")
    parsed = subprocess.run(
        [openssl, "asn1parse", "-in", str(keys.key_path("key-1"))], capture_output=True, text=True, check=True
    ).stdout
    for expected in (":PBES2", ":scrypt", f":{DEFAULT_COST.n:04X}", ":08", ":aes-256-cbc"):
        assert expected in parsed, (expected, parsed)
    exported = subprocess.run(
        [openssl, "pkey", "-in", str(keys.key_path("key-1")), "-passin", "pass:correct horse", "-pubout"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert serialization.load_pem_public_key(exported.encode()) == private_key.public_key()


def test_der_lengths_above_127_bytes_and_every_cost_round_trip() -> None:
    key = Ed25519PrivateKey.generate()
    for cost in (ScryptCost(2, 1, 1), ScryptCost(1024, 8, 2), ScryptCost(2**15, 1, 1)):
        pem = encrypt_private_key(key, "ü-pässwörd", cost)
        loaded = serialization.load_pem_private_key(pem.encode(), "ü-pässwörd".encode())
        assert isinstance(loaded, Ed25519PrivateKey)
        assert loaded.private_bytes_raw() == key.private_bytes_raw()


def test_wrong_password_missing_file_and_a_swapped_file_are_clear_errors(tmp_path: Path) -> None:
    keys = IssuerKeys(tmp_path / "did")
    keys.create("did:web:example.edu", "pw", cost=FAST)
    keys.rotate("pw", cost=FAST)
    with pytest.raises(SigningKeyError, match=r"wrong password for issuer key 'key-1' \(.*key-1.pem\)"):
        keys.unlock("key-1", "PW")
    with pytest.raises(SigningKeyError, match="no key named 'key-7'"):
        keys.unlock("key-7", "pw")
    with pytest.raises(InvalidInputError, match="invalid key name"):
        keys.unlock("../../etc/passwd", "pw")

    keys.key_path("key-2").replace(keys.key_path("key-1"))  # key-1's file now holds key-2
    with pytest.raises(SigningKeyError, match=r"does not hold the key that .* records for 'key-1'"):
        keys.unlock("key-1", "pw")
    with pytest.raises(SigningKeyError, match=r"private key file .*key-2.pem is missing"):
        keys.unlock("key-2", "pw")

    plain = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    keys.key_path("key-1").write_bytes(plain)
    with pytest.raises(SigningKeyError, match="is not an encrypted private key"):
        keys.unlock("key-1", "pw")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o620, 0o602, 0o700 | 0o044])
def test_a_key_file_others_can_read_or_write_is_refused(tmp_path: Path, mode: int) -> None:
    keys = IssuerKeys(tmp_path / "did")
    keys.create("did:web:example.edu", "pw", cost=FAST)
    os.chmod(keys.key_path("key-1"), mode)
    with pytest.raises(SigningKeyError, match=f"can be read by other users \\(mode {mode:04o}\\).*chmod 600") as info:
        keys.unlock("key-1", "pw")
    assert "anchor did retire key-1" in str(info.value)
    os.chmod(keys.key_path("key-1"), 0o400)  # read-only for its owner is fine
    keys.unlock("key-1", "pw")


def test_a_keyring_others_can_write_is_refused_one_they_can_read_is_not(tmp_path: Path) -> None:
    keys = IssuerKeys(tmp_path / "did")
    keys.create("did:web:example.edu", "pw", cost=FAST)
    os.chmod(keys.keyring_path, 0o644)  # public data: readable is fine
    assert keys.load().did == "did:web:example.edu"
    for mode in (0o664, 0o646):
        os.chmod(keys.keyring_path, mode)
        with pytest.raises(SigningKeyError, match=r"can be written by other users .* list a key of theirs"):
            keys.load()


def test_a_fifo_in_place_of_a_key_is_refused_without_hanging(tmp_path: Path) -> None:
    keys = IssuerKeys(tmp_path / "did")
    keys.create("did:web:example.edu", "pw", cost=FAST)
    keys.key_path("key-1").unlink()
    os.mkfifo(keys.key_path("key-1"), 0o600)
    with pytest.raises(SigningKeyError, match="is not a regular file"):
        keys.unlock("key-1", "pw")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(format="anchor-issuer-keys-v9"), "not an issuer keyring"),
        (lambda d: d.update(did="did:web:EVIL.example"), "lower case"),
        (lambda d: d.update(current="key-9"), "current key 'key-9' is not a listed key"),
        (lambda d: d["keys"].append(dict(d["keys"][0])), "appears twice"),
        (lambda d: d["keys"][0].update(publicKeyMultibase="z6MkX"), "keys\\[0\\]: publicKeyMultibase"),
        (lambda d: d["keys"][0].update(created="yesterday"), "keys\\[0\\]: 'yesterday' is not a UTC time"),
        (lambda d: d["keys"][0].update(name="../x"), "keys\\[0\\]: invalid key name"),
        (lambda d: d["keys"][0].update(retired="2025-01-01T00:00:00Z"), "current key 'key-1' is not a listed key"),
        (lambda d: d.update(keys=[]), "non-empty list"),
    ],
)
def test_a_damaged_keyring_is_refused_naming_the_file(tmp_path: Path, change: object, problem: str) -> None:
    keys = IssuerKeys(tmp_path / "did")
    keys.create("did:web:example.edu", "pw", cost=FAST)
    data = json.loads(keys.keyring_path.read_text())
    change(data)  # type: ignore[operator]
    keys.keyring_path.write_text(json.dumps(data))
    with pytest.raises(SigningKeyError, match=problem) as info:
        keys.load()
    assert str(keys.keyring_path) in str(info.value)


def test_a_did_key_keyring_naming_another_key_is_refused(tmp_path: Path) -> None:
    keys = IssuerKeys(tmp_path / "did")
    keys.create(None, "pw", cost=FAST)
    data = json.loads(keys.keyring_path.read_text())
    data["did"] = multikey.did_key(bytes(32))
    keys.keyring_path.write_text(json.dumps(data))
    with pytest.raises(SigningKeyError, match="is not the did:key of its one key"):
        keys.load()


# --------------------------------------------------------------------------------------------- settings and signer


def test_issuer_did_and_signing_key_settings_name_the_field(tmp_path: Path) -> None:
    loaded = load_settings({"ANCHOR_ISSUER_DID": "did:web:example.edu", "ANCHOR_SIGNING_KEY": "key-2"}, home=tmp_path)
    assert (loaded.issuer_did, loaded.signing_key) == ("did:web:example.edu", "key-2")
    shown = load_settings({}, home=tmp_path).shown()
    assert (shown["issuer_did"], shown["signing_key"]) == ("(from keys/did/keyring.json)", "(the current key)")
    for variable, value, field in [
        ("ANCHOR_ISSUER_DID", "did:web:Example.edu", "issuer_did"),
        ("ANCHOR_ISSUER_DID", "https://example.edu", "issuer_did"),
        ("ANCHOR_ISSUER_DID", "did:key:z6Mkshort", "issuer_did"),
        ("ANCHOR_SIGNING_KEY", "../../x", "signing_key"),
    ]:
        with pytest.raises(InvalidInputError, match=f"{field}: .*{value}"):
            load_settings({variable: value}, home=tmp_path)
    (tmp_path / "config.toml").write_text('issuer_did = "did:web:example.edu:x"\nsigning_key = "k1"\n')
    from_file = load_settings({}, home=tmp_path)
    assert (from_file.issuer_did, from_file.signing_key) == ("did:web:example.edu:x", "k1")


def test_the_signer_is_the_current_key_of_the_configured_did(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(SigningKeyError, match="no issuer signing key"):
        load_issuer_signer(settings, "pw")
    assert configured_issuer_did(settings) is None
    assert configured_issuer_did(Settings(home=tmp_path, issuer_did="did:web:example.edu")) == "did:web:example.edu"

    keys = issuer_keys(settings)
    assert keys.folder == tmp_path.resolve() / "keys" / "did"
    keys.create("did:web:example.edu", "pw", cost=FAST)
    keys.rotate("pw", cost=FAST)
    signer = load_issuer_signer(settings, "pw")
    assert (signer.did, signer.verification_method, signer.key_name) == (
        "did:web:example.edu",
        "did:web:example.edu#key-2",
        "key-2",
    )
    assert "private_key" not in repr(signer)
    message = b"a credential"
    published = keys.load().document()
    public = _assertion_key(published, signer.verification_method)
    assert public is not None
    Ed25519PublicKey.from_public_bytes(public).verify(signer.private_key.sign(message), message)
    assert configured_issuer_did(settings) == "did:web:example.edu"
    assert set(issuer_public_keys(settings)) == {"did:web:example.edu#key-1", "did:web:example.edu#key-2"}

    older = load_issuer_signer(Settings(home=tmp_path, signing_key="key-1"), "pw")
    assert older.verification_method == "did:web:example.edu#key-1"
    keys.rotate("pw", cost=FAST)
    keys.retire("key-1")
    assert set(issuer_public_keys(settings)) == {"did:web:example.edu#key-2", "did:web:example.edu#key-3"}
    with pytest.raises(InvalidInputError, match="signing_key: key 'key-1' was retired on "):
        load_issuer_signer(Settings(home=tmp_path, signing_key="key-1"), "pw")
    with pytest.raises(InvalidInputError, match="signing_key: the issuer has no key named 'key-9'"):
        load_issuer_signer(Settings(home=tmp_path, signing_key="key-9"), "pw")
    other = Settings(home=tmp_path, issuer_did="did:web:other.example")
    with pytest.raises(InvalidInputError, match=r"issuer_did: 'did:web:other.example' is not the DID whose keys"):
        load_issuer_signer(other, "pw")
    with pytest.raises(InvalidInputError, match="issuer_did"):
        configured_issuer_did(other)
    with pytest.raises(SigningKeyError, match="wrong password"):
        load_issuer_signer(settings, "nope")


def test_anchors_verifier_reads_the_published_document_as_the_issuer_means_it(tmp_path: Path) -> None:
    from anchor.verifier.dids import parse_did_document

    keys = IssuerKeys(tmp_path / "did")
    keys.create("did:web:example.edu%3A8443:issuers:x", "pw", cost=FAST)
    keys.rotate("pw", cost=FAST)
    keyring = keys.retire("key-1")
    published = json.loads(json.dumps(keyring.document()))  # as served
    read = parse_did_document(published, keyring.did, "https://example.edu:8443/issuers/x/did.json")
    assert read.assertion_method == ("did:web:example.edu%3A8443:issuers:x#key-2",)
    method = read.method("did:web:example.edu%3A8443:issuers:x#key-2")
    assert method is not None
    assert method.public_key == keyring.key("key-2").public_key
    assert not read.may_assert("did:web:example.edu%3A8443:issuers:x#key-1")


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user takes root")
def test_key_and_keyring_files_of_another_user_are_refused(tmp_path: Path) -> None:
    keys = IssuerKeys(tmp_path / "did")
    keys.create("did:web:example.edu", "pw", cost=FAST)
    os.chown(keys.key_path("key-1"), 4242, -1)
    with pytest.raises(SigningKeyError, match=r"key-1.pem belongs to user 4242, not to you"):
        keys.unlock("key-1", "pw")
    os.chown(keys.keyring_path, 4242, -1)
    with pytest.raises(SigningKeyError, match=r"keyring.json belongs to user 4242"):
        keys.load()
