"""An attacker's review of the speed work (issue 13): what the fast paths must still refuse.

A faster path that skips a check the slow one made is wrong. The JSON-RPC client's own HTTP/1.1
(:mod:`anchor.chain.http_client`, in place of :mod:`http.client`) must turn every answer it cannot read into
the endpoint's :class:`RpcError`, as http.client's ``BadStatusLine`` and friends were: a status code written
with non-ASCII digits and a ``Content-Length`` of thousands of digits made it raise a bare ``ValueError``
(``str.isdigit`` takes ``²``, and ``int`` refuses more than 4,300 digits). It must not send a request line that
http.client refused to write (a URL path with a space or a control character).

Guards of what is refused correctly today: an answer trickled in a byte at a time ends at the deadline; the
intake's msgspec parse (bytes) gives what the reference walk (text) gives for adversarial texts; the issuer's
canonical bytes (msgspec) are ``rfc8785``'s for every character of the BMP's edges and beyond it, and a
credential with keys beyond the BMP (in an object the schema leaves open) is anchored with the digest a
verifier computes (msgspec sorts keys by code point, JCS by UTF-16 code unit: a work-in-progress state of
``jcs.dumps_issuer`` without its fallback for such keys anchored a digest no verifier reproduces).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import rfc8785
import sha3

from anchor.chain.jsonrpc import JsonRpcEndpoint, RpcError
from anchor.credentials import SALT_KEY, canonical_bytes, credential_digest, jcs
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.strict_json import parse_credential_floats
from anchor.errors import InvalidInputError
from anchor.issuing.intake import prepare_bytes

RESULT = b'{"jsonrpc":"2.0","id":1,"result":"0x7a69"}'


class RawServer:
    """A server on 127.0.0.1 that reads each request's head and lets ``behave`` answer on the raw socket."""

    def __init__(self, behave: Callable[[socket.socket], None]) -> None:
        self.behave = behave
        self.requests: list[bytes] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.stopped = threading.Event()
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            try:
                connection.settimeout(10)
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                self.requests.append(head)
                self.behave(connection)
            except OSError:
                pass

    def close(self) -> None:
        self.stopped.set()
        self.server.close()
        self.thread.join(5)


@pytest.fixture
def servers() -> Iterator[list[RawServer]]:
    made: list[RawServer] = []
    yield made
    for server in made:
        server.close()


def _serving(made: list[RawServer], answer: bytes | Callable[[socket.socket], None]) -> RawServer:
    server = RawServer(answer if callable(answer) else lambda connection: connection.sendall(answer))
    made.append(server)
    return server


# ---------------------------------------------------------------------- the HTTP client: faults found


@pytest.mark.parametrize("code", [b"2\xb2\xb2", b"\xb2\xb9\xb3", b"20\xb9"], ids=["2²²", "²¹³", "20¹"])
def test_a_status_code_of_non_ascii_digits_is_the_endpoints_rpc_error(servers: list[RawServer], code: bytes) -> None:
    """``_head`` checks ``parts[1].isdigit()``, which is true for ``²`` (latin-1 0xB2), then ``int()`` raises."""
    answer = b"HTTP/1.1 " + code + b" OK\r\nContent-Length: %d\r\n\r\n" % len(RESULT) + RESULT
    server = _serving(servers, answer)
    endpoint = JsonRpcEndpoint(f"http://127.0.0.1:{server.port}", timeout=5)
    try:
        with pytest.raises(RpcError):
            endpoint.call("eth_chainId", [])
    finally:
        endpoint.close()


@pytest.mark.parametrize("digits", [4301, 20_000])
def test_a_content_length_of_thousands_of_digits_is_the_endpoints_rpc_error(
    servers: list[RawServer], digits: int
) -> None:
    """``_body`` checks the text is ASCII digits, then ``int()`` refuses more than 4,300 of them (ValueError)."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: " + b"1" * digits + b"\r\n\r\n" + RESULT
    server = _serving(servers, answer)
    endpoint = JsonRpcEndpoint(f"http://127.0.0.1:{server.port}", timeout=5)
    try:
        with pytest.raises(RpcError):
            endpoint.call("eth_chainId", [])
    finally:
        endpoint.close()


@pytest.mark.parametrize("path", ["/a b", "/a\x00b", "/a\x0bb", "/ HTTP/1.0"])
def test_a_url_path_with_a_space_or_control_character_is_never_sent(servers: list[RawServer], path: str) -> None:
    """http.client refused to write such a request line (InvalidURL); the new client sends it as it is.

    Refused when the endpoint is made (InvalidInputError naming the URL) or when asked (RpcError): either way
    no request line other than ``POST <path> HTTP/1.1`` with a path of visible ASCII reaches a server.
    """
    server = _serving(servers, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(RESULT) + RESULT)
    try:
        endpoint = JsonRpcEndpoint(f"http://127.0.0.1:{server.port}{path}", timeout=5)
    except InvalidInputError:
        return
    try:
        with pytest.raises((InvalidInputError, RpcError)):
            endpoint.call("eth_chainId", [])
    finally:
        endpoint.close()
    for request in server.requests:
        line = request.split(b"\r\n", 1)[0]
        assert line.count(b" ") == 2, line
        assert all(0x20 <= byte < 0x7F for byte in line), line


# ---------------------------------------------------------------------- guards: refused correctly today


def test_an_answer_trickled_a_byte_at_a_time_ends_at_the_deadline(servers: list[RawServer]) -> None:
    def trickle(connection: socket.socket) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n" + b" " * 200:
            connection.sendall(bytes([byte]))
            time.sleep(0.1)

    server = _serving(servers, trickle)
    endpoint = JsonRpcEndpoint(f"http://127.0.0.1:{server.port}", timeout=1.0)
    started = time.monotonic()
    try:
        with pytest.raises(RpcError, match="timed out"):
            endpoint.call("eth_chainId", [])
    finally:
        endpoint.close()
    assert time.monotonic() - started < 3.0


ADVERSARIAL = [
    b'{"a":-0}',
    b'{"a":-0.0}',
    b'{"a":1e400}',
    b'{"a":9007199254740992}',
    b'{"a":18446744073709551616}',
    b'{"a":1E2}',
    b'{"a":1e-7}',
    b'{"a":1e21}',
    b'{"a":9007199254740993.0}',
    b'{"a":1e-400}',
    b'{"a":"\\ud800"}',
    b'{"a":"\xed\xa0\x80"}',
    b'{"a":"\xc0\xaf"}',
    b'{"a":"\xf4\x90\x80\x80"}',
    b'{"a":1,"a":1}',
    b'{"\xc3\xa9":1,"e\xcc\x81":2}',
    b'{"e\xcc\x81":1}',
    b'{"a":"\\u00e9"}',
    b'{"a":"\\u0065\\u0301"}',
    b'{"\\u00e9":1,"\xc3\xa9":2}',
    b'\xef\xbb\xbf{"a":1}',
    b'{"a":1}\x00',
    b'{"a":"\x00"}',
    b'{"a":"\\u0000"}',
    b'{"a":"\x7f\xc2\x85"}',
    b'{"a":"\xe2\x80\xa8"}',
    b'{"a":"\\/"}',
    b'{"a":"' + b"1" * 16 + b'"}',
    b'{"a":' + b"[" * 63 + b"]" * 63 + b"}",
    b'{"a":' + b"[" * 64 + b"]" * 64 + b"}",
    b'{"\xf0\x9f\x98\x80":1,"\xef\xbf\xbf":2}',
    b'{"a":1}{"b":2}',
    b'{"a":1,}',
    b'{"a":NaN}',
]


@pytest.mark.parametrize("raw", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_the_intakes_msgspec_parse_gives_what_the_walk_gives(raw: bytes) -> None:
    """Bytes go through msgspec first (``_parse_compact``); text goes the reference way: same value or refusal."""

    def outcome(data: bytes | str) -> tuple[str, str]:
        try:
            value, _ = parse_credential_floats(data)
        except Exception as error:  # the kind of refusal: either both refuse or neither does
            return "refused", type(error).__name__
        return "parsed", json.dumps(value, sort_keys=True)

    fast = outcome(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        assert fast == ("refused", "CredentialParseError")
        return
    assert fast == outcome(text)
    if fast[0] == "parsed":
        value, floats = parse_credential_floats(raw)
        assert jcs.dumps_issuer(value, floats) == rfc8785.dumps(value)


def test_the_issuers_canonical_bytes_are_rfc8785s_for_edge_characters() -> None:
    codes = [*range(0x00, 0x100), *range(0x2020, 0x2030), *range(0xD7F0, 0xE010), 0xFEFF, 0xFFFE, 0xFFFF]
    codes += [0x10000, 0x1F600, 0x10FFFF]
    for code in codes:
        char = chr(code)
        values: list[dict[str, Any]] = [{"a": char}, {char: 1, "b": [char]}, {"\uffff": 1, char: 2, "\U00010000": 3}]
        for value in values:
            try:
                expected: bytes | str = rfc8785.dumps(value)
            except Exception as error:
                expected = type(error).__name__
            known: list[list[float] | None] = [None, []]
            for floats in known:  # the walk's way, and the intake's (the floats known from parsing)
                try:
                    got: bytes | str = jcs.dumps_issuer(value, floats)
                except Exception as error:
                    got = type(error).__name__
                assert got == expected, (hex(code), floats)


#: Keys that sort one way by code point (msgspec's order) and the other by UTF-16 code unit (JCS's).
ASTRAL_KEYS: dict[str, str] = {"\uff21": "fullwidth A", "\U0001f600": "beyond the BMP", "\U00020000": "CJK extension B"}
#: Objects the credential schema leaves open (any keys): where a key beyond the BMP passes validation.
OPEN_OBJECTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "endorsement": lambda credential: credential.update(endorsement=[dict(ASTRAL_KEYS)]),
    "relatedResource": lambda credential: credential.update(relatedResource=dict(ASTRAL_KEYS)),
    "issuer.parentOrg": lambda credential: credential["issuer"].update(parentOrg=dict(ASTRAL_KEYS)),
    "achievement.creator": lambda credential: credential["credentialSubject"]["achievement"].update(
        creator=dict(ASTRAL_KEYS)
    ),
}


@pytest.mark.parametrize("where", sorted(OPEN_OBJECTS))
def test_keys_beyond_the_bmp_are_anchored_with_the_digest_a_verifier_computes(where: str) -> None:
    """Intake's canonical bytes (msgspec, keys in code-point order) fall back to JCS's UTF-16 order when a key
    is beyond the BMP; without that, such a credential is anchored with a digest no verifier reproduces."""
    credential = next(iter(generate_credentials(1, seed=13, issuer=issuer_for_country("DE"))))
    OPEN_OBJECTS[where](credential)
    prepared = prepare_bytes(json.dumps(credential, ensure_ascii=False).encode(), source=f"{where}.json")
    document = json.loads(prepared.document)
    assert prepared.digest == credential_digest(document)
    unsalted = {key: value for key, value in document.items() if key != SALT_KEY}
    assert prepared.content_hash == bytes(sha3.keccak_256(canonical_bytes(unsalted)).digest())


@pytest.mark.parametrize("size", [b"1_0", b"+10", b" 1 0", b"0x10", b"1" * 17])
def test_a_chunk_size_python_reads_but_that_is_not_plain_hex_is_refused(servers: list[RawServer], size: bytes) -> None:
    """``int("1_0", 16)`` is 16: a chunk size must be plain hex digits, nothing more that Python also reads."""
    chunk = RESULT.ljust(int(size.replace(b"_", b"").replace(b" ", b""), 16) if len(size) < 17 else len(RESULT))
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\r\n" + chunk + b"\r\n0\r\n\r\n"
    server = _serving(servers, answer)
    endpoint = JsonRpcEndpoint(f"http://127.0.0.1:{server.port}", timeout=5)
    try:
        with pytest.raises(RpcError, match="chunk size"):
            endpoint.call("eth_chainId", [])
    finally:
        endpoint.close()
