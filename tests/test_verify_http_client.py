"""The JSON-RPC client's own HTTP/1.1 (issue 13: one receipt in under 0.2 s; http.client and ssl cost a tenth).

Against a scripted server on 127.0.0.1 that answers each request with given raw bytes: every framing an
endpoint may use (Content-Length, chunked, end of connection, an interim 100) is read; every answer that is
too large, not HTTP, or ambiguous (two Content-Lengths) is that endpoint's :class:`RpcError`; a kept-alive
connection the server dropped is retried once on a new one; https is TLS with the certificate and host name
checked.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from anchor.chain.jsonrpc import MAX_RESPONSE_BYTES, JsonRpcEndpoint, RpcError

from support.smtp import make_certificates

RESULT = b'{"jsonrpc":"2.0","id":1,"result":"0x7a69"}'


def _answer(body: bytes = RESULT, *, head: bytes = b"HTTP/1.1 200 OK\r\n", headers: bytes | None = None) -> bytes:
    if headers is None:
        headers = b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    return head + headers + b"\r\n" + body


class Scripted:
    """Answers the n-th request with ``answers[n]`` (raw bytes; then closes the connection when ``close``)."""

    def __init__(
        self, answers: list[tuple[bytes, bool]], context: ssl.SSLContext | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.answers = list(answers)
        self.requests: list[bytes] = []
        self.connections = 0
        self.context = context
        self.server = socket.create_server((host, 0))
        self.server.settimeout(10)
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.answers:
            try:
                raw, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            try:
                connection = self.context.wrap_socket(raw, server_side=True) if self.context else raw
            except (OSError, ssl.SSLError):
                raw.close()
                continue
            with connection:
                buffer = b""
                while self.answers:
                    while b"\r\n\r\n" not in buffer:
                        chunk = connection.recv(65536)
                        if not chunk:
                            break
                        buffer += chunk
                    if b"\r\n\r\n" not in buffer:
                        break
                    head, _, rest = buffer.partition(b"\r\n\r\n")
                    length = int(
                        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))[15:]
                    )
                    while len(rest) < length:
                        rest += connection.recv(65536)
                    self.requests.append(head + b"\r\n\r\n" + rest[:length])
                    buffer = rest[length:]
                    answer, close = self.answers.pop(0)
                    connection.sendall(answer)
                    if close:
                        break

    def close(self) -> None:
        self.server.close()
        self.thread.join(5)


@pytest.fixture
def scripted() -> Iterator[list[Scripted]]:
    made: list[Scripted] = []
    yield made
    for server in made:
        server.close()


def _serve(
    made: list[Scripted], *answers: tuple[bytes, bool], context: ssl.SSLContext | None = None, host: str = "127.0.0.1"
) -> Scripted:
    server = Scripted(list(answers), context, host)
    made.append(server)
    return server


def test_content_length_answers_on_one_kept_alive_connection(scripted: list[Scripted]) -> None:
    server = _serve(scripted, (_answer(), False), (_answer(), False))
    endpoint = JsonRpcEndpoint(f"http://user:secret@127.0.0.1:{server.port}/rpc/v1?key=abc", timeout=5)
    assert endpoint.call("eth_chainId", []) == "0x7a69"
    assert endpoint.call("eth_chainId", []) == "0x7a69"
    assert server.connections == 1
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /rpc/v1?key=abc HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}".encode() in lines
    assert b"Authorization: Basic dXNlcjpzZWNyZXQ=" in lines
    assert b"Content-Length: %d" % len(body) in lines
    assert json.loads(body) == {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}


def test_a_chunked_answer_with_extensions_and_trailers_is_read(scripted: list[Scripted]) -> None:
    body = RESULT
    chunked = (
        b"5;name=value\r\n" + body[:5] + b"\r\n" + b"%x\r\n" % (len(body) - 5) + body[5:] + b"\r\n0\r\nX-T: 1\r\n\r\n"
    )
    server = _serve(
        scripted,
        (_answer(chunked, headers=b"Transfer-Encoding: chunked\r\n"), False),
        (_answer(), False),
    )
    endpoint = JsonRpcEndpoint(f"http://127.0.0.1:{server.port}", timeout=5)
    assert endpoint.call("eth_chainId", []) == "0x7a69"
    assert endpoint.call("eth_chainId", []) == "0x7a69"  # the trailers were read: the connection is reusable
    assert server.connections == 1


def test_an_answer_framed_by_the_end_of_the_connection_is_read(scripted: list[Scripted]) -> None:
    server = _serve(
        scripted,
        (_answer(head=b"HTTP/1.0 200 OK\r\n", headers=b""), True),
        (_answer(), False),
    )
    endpoint = JsonRpcEndpoint(f"http://127.0.0.1:{server.port}", timeout=5)
    assert endpoint.call("eth_chainId", []) == "0x7a69"
    assert endpoint.call("eth_chainId", []) == "0x7a69"
    assert server.connections == 2


def test_an_interim_100_is_skipped(scripted: list[Scripted]) -> None:
    server = _serve(scripted, (b"HTTP/1.1 100 Continue\r\n\r\n" + _answer(), False))
    assert JsonRpcEndpoint(f"http://127.0.0.1:{server.port}", timeout=5).call("eth_chainId", []) == "0x7a69"


def test_a_kept_alive_connection_the_server_dropped_is_retried_once(scripted: list[Scripted]) -> None:
    server = _serve(scripted, (_answer(), True), (_answer(), False))
    endpoint = JsonRpcEndpoint(f"http://127.0.0.1:{server.port}", timeout=5)
    assert endpoint.call("eth_chainId", []) == "0x7a69"
    assert endpoint.call("eth_chainId", []) == "0x7a69"  # the first connection was closed after its answer
    assert server.connections == 2


too_large = MAX_RESPONSE_BYTES + 1


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (_answer(b" " * too_large), "more than"),
        (
            _answer(
                b"%x\r\n" % too_large + b" " * too_large + b"\r\n0\r\n\r\n", headers=b"Transfer-Encoding: chunked\r\n"
            ),
            "more than",
        ),
        (_answer(b" " * too_large, head=b"HTTP/1.0 200 OK\r\n", headers=b""), "more than"),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "not an HTTP/1.x status line"),
        (_answer(headers=b"X-Padding: " + b"a" * 70_000 + b"\r\n"), "bytes of status line and headers"),
        (_answer(headers=b"Content-Length: 5\r\nContent-Length: 44\r\n"), "Content-Length twice"),
        (_answer(headers=b"Content-Length: -1\r\n"), "not a number"),
        (_answer(headers=b"Transfer-Encoding: gzip\r\n"), "only chunked is read"),
        (_answer(b"zz\r\n", headers=b"Transfer-Encoding: chunked\r\n"), "not hex"),
        (_answer(head=b"HTTP/1.1 503 Service Unavailable\r\n"), "answered HTTP 503 Service Unavailable"),
        (_answer(headers=b"Content-Length: 100\r\n"), "ended before"),
    ],
    ids=[
        "content-length-too-large",
        "chunked-too-large",
        "connection-framed-too-large",
        "not-http",
        "headers-too-long",
        "two-content-lengths",
        "negative-length",
        "unknown-transfer-encoding",
        "bad-chunk-size",
        "http-error-status",
        "body-cut-short",
    ],
)
def test_an_answer_that_is_too_large_or_not_http_is_the_endpoints_error(
    scripted: list[Scripted], answer: bytes, message: str
) -> None:
    server = _serve(scripted, (answer, True))
    endpoint = JsonRpcEndpoint(f"http://127.0.0.1:{server.port}", timeout=5)
    with pytest.raises(RpcError, match=message):
        endpoint.call("eth_chainId", [])


def test_https_checks_the_certificate_and_the_host_name(
    scripted: list[Scripted], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificates = make_certificates(tmp_path)
    trusted = _serve(scripted, (_answer(), False), context=certificates.server_context())
    untrusted = _serve(scripted, (_answer(), False), context=certificates.server_context())
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.authority))
    assert JsonRpcEndpoint(f"https://localhost:{trusted.port}", timeout=5).call("eth_chainId", []) == "0x7a69"
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-authority.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with pytest.raises(RpcError, match="CERTIFICATE_VERIFY_FAILED"):
        JsonRpcEndpoint(f"https://localhost:{untrusted.port}", timeout=5).call("eth_chainId", [])


def test_https_refuses_a_certificate_for_another_host(
    scripted: list[Scripted], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificates = make_certificates(tmp_path)  # for localhost and 127.0.0.1, not 127.0.0.2
    server = _serve(scripted, (_answer(), False), context=certificates.server_context(), host="127.0.0.2")
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.authority))
    with pytest.raises(RpcError, match=r"CERTIFICATE_VERIFY_FAILED|match"):
        JsonRpcEndpoint(f"https://127.0.0.2:{server.port}", timeout=5).call("eth_chainId", [])
