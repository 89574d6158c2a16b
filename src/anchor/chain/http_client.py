"""A minimal HTTP/1.1 client for JSON-RPC POSTs: one kept-alive connection, plain or TLS, every read bounded.

Why not :mod:`http.client`: importing it (with the :mod:`email` parser it needs, and :mod:`ssl`) costs about
a tenth of a one-receipt ``anchor verify``, which asks a local or remote endpoint three small POSTs. This
module imports :mod:`ssl` only for an ``https`` endpoint, and keeps what matters of http.client: TLS with the
default context (certificate and host name checked), a deadline for the whole exchange (however slowly an
answer trickles in), limits on the status line and headers, and on the body (read at most one byte past the
caller's limit). Bodies framed by ``Content-Length``, ``Transfer-Encoding: chunked`` or the end of the
connection are read; ``1xx`` interim responses are skipped. Nothing else of HTTP is needed here: no
redirects, no proxies, no compression (none is asked for).
"""

from __future__ import annotations

import _socket  # not socket: its enums cost a one-receipt `anchor verify` more than this module's whole work
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket
    import ssl

#: Longest status line plus headers read, in bytes (http.client allows 100 headers of 64 KiB each).
MAX_HEAD_BYTES = 64 * 1024
_READ_SIZE = 1 << 16


class HttpError(OSError):
    """The server did not answer with HTTP/1.x that this client reads (the caller's endpoint error)."""


class ConnectionDroppedError(HttpError):
    """The server closed the connection before the first byte of an answer: a kept-alive connection it had
    closed meanwhile (worth one retry on a new connection)."""


class Response:
    """A response read in full: status, reason, body, and whether the connection stays usable."""

    __slots__ = ("body", "keep_alive", "reason", "status")

    def __init__(self, status: int, reason: str, body: bytes, keep_alive: bool) -> None:
        self.status = status
        self.reason = reason
        self.body = body
        self.keep_alive = keep_alive


class HttpConnection:
    """One connection to ``host``:``port`` (TLS when ``context`` is given), opened on first use."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None) -> None:
        self.host = host
        self.port = port
        self.context = context
        self._socket: socket.socket | None = None
        self._buffer = bytearray()

    @property
    def is_open(self) -> bool:
        """Whether a socket is open (a request on it reuses the connection)."""
        return self._socket is not None

    def close(self) -> None:
        """Close the socket, if open; the next request opens a new one."""
        sock, self._socket = self._socket, None
        self._buffer.clear()
        if sock is not None:
            sock.close()

    def request(self, head: bytes, body: bytes, end: float, limit: int) -> Response:
        """Send ``head`` (request line and headers, ending in an empty line) and ``body``; read the answer by
        ``end`` (a :func:`time.monotonic` time; :class:`TimeoutError` after it), its body at most ``limit`` + 1
        bytes (then the connection is closed: the caller refuses the answer)."""
        if self._buffer:  # bytes beyond the last answer: nothing more of this connection is believed
            self.close()
        sock = self._connect(end)
        _limit(sock, end)
        sock.sendall(head + body)
        while True:
            status, reason, headers = self._head(sock, end)
            if not (100 <= status < 200 and status != 101):
                break  # else an interim response: the real one follows
        body_read, keep = self._body(sock, end, limit, headers)
        if not keep:
            self.close()
        return Response(status, reason, body_read, keep)

    # ------------------------------------------------------------------ reading

    def _connect(self, end: float) -> socket.socket:
        if self._socket is not None:
            return self._socket
        left = _left(end)
        # bytes, not str: a str host would make the resolver import the IDNA codec (and stringprep)
        host: str | bytes = self.host.encode("ascii") if self.host.isascii() else self.host
        if self.context is None:
            sock = _create_connection(host, self.port, left)
        else:  # TLS wraps a socket.socket (ssl imports socket in any case)
            import socket

            sock = socket.create_connection((host, self.port), timeout=left)  # type: ignore[arg-type]
        try:
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            if self.context is not None:
                _limit(sock, end)
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self._socket = sock
        return sock

    def _fill(self, sock: socket.socket, end: float) -> bool:
        """Read more into the buffer; False at the end of the connection."""
        _limit(sock, end)
        chunk = sock.recv(_READ_SIZE)
        if not chunk:
            return False
        self._buffer += chunk
        return True

    def _head(self, sock: socket.socket, end: float) -> tuple[int, str, dict[str, str]]:
        buffer = self._buffer
        while (stop := buffer.find(b"\r\n\r\n")) < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                raise HttpError(f"sent more than {MAX_HEAD_BYTES} bytes of status line and headers")
            try:
                more = self._fill(sock, end)
            except (ConnectionResetError, BrokenPipeError) as error:
                if not buffer:
                    raise ConnectionDroppedError(str(error)) from error
                raise
            if not more:
                if not buffer:
                    raise ConnectionDroppedError("the server closed the connection without answering")
                raise HttpError("the connection ended inside the response headers")
        if stop > MAX_HEAD_BYTES:
            raise HttpError(f"sent more than {MAX_HEAD_BYTES} bytes of status line and headers")
        lines = bytes(buffer[:stop]).decode("latin-1").split("\r\n")
        del buffer[: stop + 4]
        parts = lines[0].split(" ", 2)
        if (
            len(parts) < 2
            or parts[0] not in ("HTTP/1.1", "HTTP/1.0")
            or not (len(parts[1]) == 3 and parts[1].isascii() and parts[1].isdigit())
        ):
            raise HttpError(f"answered {lines[0][:80]!r}, not an HTTP/1.x status line")
        headers: dict[str, str] = {"": parts[0]}  # the version, under a name no header has
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                raise HttpError(f"sent the malformed header line {line[:80]!r}")
            key = name.lower()
            if key in headers and key in ("content-length", "transfer-encoding"):
                raise HttpError(f"sent {name} twice")
            headers[key] = value.strip()
        return int(parts[1]), parts[2] if len(parts) > 2 else "", headers

    def _body(self, sock: socket.socket, end: float, limit: int, headers: dict[str, str]) -> tuple[bytes, bool]:
        """The body (at most ``limit`` + 1 bytes) and whether the connection can be used again."""
        connection = headers.get("connection", "").lower()
        keep = "close" not in connection if headers[""] == "HTTP/1.1" else "keep-alive" in connection
        encoding = headers.get("transfer-encoding")
        if encoding is not None:
            if encoding.lower() != "chunked":
                raise HttpError(f"sent Transfer-Encoding {encoding[:40]!r}; only chunked is read")
            return self._chunked(sock, end, limit, keep)
        length_text = headers.get("content-length")
        if length_text is not None:
            if not (length_text.isascii() and length_text.isdigit()):
                raise HttpError(f"sent Content-Length {length_text[:40]!r}, not a number")
            length = int(length_text) if len(length_text) <= 19 else limit + 1  # int() refuses > 4,300 digits
            if length > limit:
                return self._exactly(sock, end, limit + 1, "Content-Length"), False
            return self._exactly(sock, end, length, "Content-Length"), keep
        body = bytearray()  # framed by the end of the connection
        while len(body) <= limit:
            body += self._buffer
            self._buffer.clear()
            if len(body) > limit or not self._fill(sock, end):
                break
        return bytes(body[: limit + 1]), False

    def _exactly(self, sock: socket.socket, end: float, count: int, framing: str) -> bytes:
        while len(self._buffer) < count:
            if not self._fill(sock, end):
                raise HttpError(f"the connection ended before the {framing} body did")
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def _line(self, sock: socket.socket, end: float) -> bytes:
        while (stop := self._buffer.find(b"\r\n")) < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise HttpError("sent a chunk header or trailer line that is too long")
            if not self._fill(sock, end):
                raise HttpError("the connection ended inside a chunked body")
        line = bytes(self._buffer[:stop])
        del self._buffer[: stop + 2]
        return line

    def _chunked(self, sock: socket.socket, end: float, limit: int, keep: bool) -> tuple[bytes, bool]:
        body = bytearray()
        while True:
            size_text = self._line(sock, end).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise HttpError(f"sent the chunk size {size_text[:40]!r}, not hex") from None
            if size < 0 or not size_text or size_text.strip(b"0123456789abcdefABCDEF") or len(size_text) > 16:
                raise HttpError(f"sent the chunk size {size_text[:40]!r}, not hex")
            if size == 0:
                break
            if len(body) + size > limit:  # read no more than the caller takes; the rest is never read
                body += self._exactly(sock, end, limit + 1 - len(body), "chunked")
                return bytes(body), False
            body += self._exactly(sock, end, size, "chunked")
            if self._exactly(sock, end, 2, "chunked") != b"\r\n":
                raise HttpError("sent a chunk not followed by CRLF")
        trailer_bytes = 0
        while line := self._line(sock, end):  # trailers, up to the empty line
            trailer_bytes += len(line)
            if trailer_bytes > MAX_HEAD_BYTES:
                raise HttpError("sent too many trailer bytes")
        return bytes(body), keep


def _create_connection(host: str | bytes, port: int, timeout: float) -> socket.socket:
    """:func:`socket.create_connection` made of :mod:`_socket`: each address of ``host`` in turn until one
    connects, each attempt bounded by ``timeout``; if none does, the last attempt's error (as there)."""
    error: OSError | None = None
    for family, kind, proto, _, address in _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM):
        sock = None
        try:
            sock = _socket.socket(family, kind, proto)
            sock.settimeout(timeout)
            sock.connect(address)
        except OSError as failed:
            error = failed
            if sock is not None:
                sock.close()
            continue
        return sock  # type: ignore[return-value]  # a _socket.socket: the methods used here are socket.socket's
    raise error if error is not None else OSError("getaddrinfo returns an empty list")


def _left(end: float) -> float:
    left = end - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


def _limit(sock: socket.socket, end: float) -> None:
    """Make the next operation on ``sock`` time out at ``end``; TimeoutError if it has passed."""
    sock.settimeout(_left(end))
