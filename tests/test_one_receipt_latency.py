"""A one-receipt ``anchor verify`` starts fast (issue 13: < 0.2 s): what it leaves unimported, and that what
stands in for the skipped modules answers as they would. Not a timed test: benchmarks/verify_bench.py times."""

from __future__ import annotations

import email.utils
import os
import pkgutil
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchor.chain.http_client import _create_connection
from anchor.credentials.multikey import ED25519_MULTIBASE_LENGTH, public_key_multibase
from anchor.credentials.schema import _DAYS, _MONTHS, _email_utils_stand_in, _utc_date
from anchor.files import package_data

from support.one_receipt import modules_of_one_receipt

#: Modules a one-receipt verification must not import, and why.
NOT_FOR_ONE_RECEIPT = {
    "email.utils": "loaded by jsonschema-rs for its build date only (anchor.credentials.schema reads that date)",
    "email.charset": "(imported by email.utils)",
    "calendar": "(imported by email.utils)",
    "pkgutil": "package data is read by anchor.files.package_data",
    "anchor.credentials.presentations": "presentations only (is_presentation lives in anchor.credentials.receipt)",
    "anchor.verifier.disclosed": "presentations only",
    "anchor.credentials.disclosure": "v3 digests only",
    "anchor.chain.deployments": "deployment records, read only when the home has some",
    "hashlib": "OpenSSL's hash library: Keccak-256 comes from _pysha3, not the sha3 wrapper that imports hashlib",
    "_hashlib": "(imported by hashlib)",
    "sha3": "the wrapper of _pysha3 that imports hashlib",
    "base58": "did:key and Multikey decoding only (it imports hashlib)",
    "socket": "anchor.chain.http_client connects with _socket (socket builds enums at import)",
}


def test_one_receipt_verification_leaves_these_modules_unimported(tmp_path: Path) -> None:
    modules = modules_of_one_receipt(tmp_path, seed=44)
    imported = {name: why for name, why in NOT_FOR_ONE_RECEIPT.items() if name in modules}
    assert imported == {}, f"a one-receipt verification imported: {imported}"


def test_jsonschema_rs_loaded_without_email_utils_knows_its_build_date() -> None:
    """In a new process: the schema check loads jsonschema-rs, its build date is the one email.utils reads,
    and email.utils imported afterwards is the real module."""
    probe = (
        "import sys\n"
        "from anchor.credentials.schema import _fast_validator\n"
        "_fast_validator()\n"
        "assert 'email.utils' not in sys.modules, 'email.utils imported'\n"
        "import jsonschema_rs\n"
        "build = jsonschema_rs.jsonschema_rs.__build__\n"
        "import email.utils\n"
        "assert email.utils.__file__.endswith('utils.py'), email.utils\n"
        "print(repr(build['info-time']))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    import importlib

    build = importlib.import_module("jsonschema_rs.jsonschema_rs").__build__  # (here, loaded with email.utils)
    assert done.stdout.strip() == repr(build["info-time"])


def _real(text: str) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError):
        return None


@pytest.mark.parametrize(
    "text",
    [
        "Tue, 27 Oct 2026 10:17:51 +0000",
        "Sun, 1 Jan 2023 00:00:00 +0000",
        "Mon, 29 Feb 2024 23:59:59 +0000",
    ],
)
def test_the_build_date_form_reads_as_email_utils_reads_it(text: str) -> None:
    ours = _utc_date(text)
    assert ours is not None
    assert ours == _real(text)
    assert ours.tzinfo is _real(text).tzinfo  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    [
        "Tue, 27 Oct 2026 10:17:51 -0000",  # no zone known: email.utils gives a naive datetime
        "Tue, 27 Oct 2026 10:17:51 +0100",
        "Tue, 27 Oct 0050 10:17:51 +0000",  # email.utils moves it to 2050
        "Tue, 27 Oct 2026 10:17 +0000",
        "Tue, 31 Feb 2026 10:17:51 +0000",
        "Tue 27 Oct 2026 10:17:51 +0000",
        "Tue, 27 oct 2026 10:17:51 +0000",
        "Tue, ٢7 Oct 2026 10:17:51 +0000",
        "Tue, 27 Oct 2026 1:17:51 +0000",
        "",
    ],
)
def test_any_other_form_is_left_to_email_utils(text: str) -> None:
    assert _utc_date(text) is None


def test_the_stand_in_hands_every_other_date_and_name_to_the_real_email_utils(monkeypatch: pytest.MonkeyPatch) -> None:
    """A later jsonschema-rs asking the stand-in for more than its build date gets the real module's answers,
    and the stand-in leaves ``sys.modules`` at once (a module imported afterwards is the real one)."""
    stand_in = _email_utils_stand_in()
    monkeypatch.setitem(sys.modules, "email.utils", stand_in)
    assert stand_in.parsedate_to_datetime("Tue, 27 Oct 2026 10:17:51 +0000") == datetime.fromisoformat(
        "2026-10-27T10:17:51+00:00"
    )
    assert sys.modules["email.utils"] is stand_in  # its own form needs nothing else
    assert stand_in.format_datetime is email.utils.format_datetime
    assert sys.modules["email.utils"] is email.utils
    monkeypatch.setitem(sys.modules, "email.utils", stand_in)
    assert stand_in.parsedate_to_datetime("Tue, 27 Oct 2026 10:17:51 -0500") == email.utils.parsedate_to_datetime(
        "Tue, 27 Oct 2026 10:17:51 -0500"
    )
    assert sys.modules["email.utils"] is email.utils


@settings(max_examples=300, deadline=None)
@given(
    day=st.sampled_from(_DAYS),
    date=st.text("0123456789", min_size=1, max_size=3),
    month=st.sampled_from(_MONTHS),
    year=st.text("0123456789", min_size=1, max_size=5),
    clock=st.lists(st.text("0123456789", min_size=1, max_size=3), min_size=2, max_size=4),
    zone=st.sampled_from(["+0000", "-0000", "+0100", "GMT", "UTC"]),
)
def test_read_dates_equal_email_utils_on_generated_text(
    day: str, date: str, month: str, year: str, clock: list[str], zone: str
) -> None:
    text = f"{day} {date} {month} {year} {':'.join(clock)} {zone}"
    ours = _utc_date(text)
    if ours is not None:
        real = _real(text)
        assert real is not None, text
        assert ours == real, text
        assert ours.tzinfo is real.tzinfo, text


@pytest.mark.parametrize(
    ("package", "resource"),
    [
        ("anchor.credentials", "schemas/anchor-credential-v1.schema.json"),
        ("anchor.contexts", "vendor/index.json"),
        ("anchor.chain.artifacts", "CredentialRegistry.json"),
        ("anchor", "py.typed"),
    ],
)
def test_package_data_reads_what_pkgutil_reads(package: str, resource: str) -> None:
    data = package_data(package, resource)
    assert data is not None
    assert data == pkgutil.get_data(package, resource)


def test_package_data_of_a_missing_file_raises_as_pkgutil_does() -> None:
    with pytest.raises(FileNotFoundError):
        pkgutil.get_data("anchor.credentials", "schemas/no-such.json")
    with pytest.raises(FileNotFoundError):
        package_data("anchor.credentials", "schemas/no-such.json")


def test_every_ed25519_multibase_has_the_constant_length() -> None:
    keys = [bytes(32), b"\xff" * 32, b"\x01" + bytes(31), *(os.urandom(32) for _ in range(200))]
    assert {len(public_key_multibase(key)) for key in keys} == {ED25519_MULTIBASE_LENGTH}


def test_the_connection_of_plain_http_is_made_as_socket_create_connection_makes_it() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        sock = _create_connection(b"127.0.0.1", port, 5.0)
        try:
            accepted, _ = server.accept()
            with accepted:
                sock.sendall(b"ping")
                assert accepted.recv(4) == b"ping"
            assert sock.gettimeout() == 5.0
        finally:
            sock.close()
    # a closed port: the same error as socket.create_connection's
    with pytest.raises(ConnectionRefusedError) as theirs:
        socket.create_connection(("127.0.0.1", port), timeout=5.0)
    with pytest.raises(ConnectionRefusedError) as ours:
        _create_connection(b"127.0.0.1", port, 5.0)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(socket.gaierror):
        _create_connection(b"no-such-host.invalid", 80, 5.0)
