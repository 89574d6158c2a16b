"""The project's one JSON-RPC client: plain JSON-RPC over HTTP(S) with keep-alive, one connection per thread.

Used by the verifier (many small ``eth_call`` s, several endpoints) and by the local node's health checks
(:mod:`anchor.chain.node`); no web3, so a one-receipt ``anchor verify`` starts fast.

Why not web3's contract ``.call()``: it sends ``eth_chainId`` twice before every call, so a verifier spends
three round trips per receipt where one does (about 96 calls/s against about 850/s on a local anvil node).
Here the chain id is asked once per endpoint and cached, and a call is one HTTP request on a kept-alive
connection (:mod:`anchor.chain.http_client`, a minimal HTTP/1.1 client: :mod:`http.client` and :mod:`ssl`
cost a one-receipt ``anchor verify`` more to import than its requests take; ssl is imported for https only).

Connections go straight to the endpoint: proxy variables from the environment are not used.

An endpoint is not trusted to behave: each request ends within the endpoint's timeout (and within the
caller's :func:`rpc_deadline`, if any) however slowly the answer trickles in, an answer is read up to
:data:`MAX_RESPONSE_BYTES`, and one nested deeper than :data:`~anchor.credentials.strict_json.MAX_DEPTH`
levels is refused before it is parsed. Every such failure is an :class:`RpcError`. The same guards
(:func:`request_end`, :func:`limit_socket`, :func:`read_body`) bound the verifier's one other kind of HTTP
request: fetching an issuer's ``did:web`` document (:mod:`anchor.verifier.dids`).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from anchor.chain.http_client import ConnectionDroppedError, HttpConnection
from anchor.credentials.strict_json import MAX_DEPTH, nesting_depth
from anchor.errors import ChainError, InvalidInputError
from anchor.urls import mask_url

if TYPE_CHECKING:
    import http.client
    import ssl

#: Largest JSON-RPC response read, in bytes: a verifier's answers are a few hundred bytes each.
MAX_RESPONSE_BYTES = 1 << 20
#: Most requests sent in one JSON-RPC batch: the answers to this many registry calls stay far below
#: :data:`MAX_RESPONSE_BYTES` (a ``getIssuer`` answer, the longest, is about 1 KB), and public endpoints
#: commonly accept batches of 100.
MAX_BATCH = 100
_READ_SIZE = 1 << 16
_MAX_MESSAGE = 300
_DEADLINE: ContextVar[float | None] = ContextVar("anchor_rpc_deadline", default=None)


@contextmanager
def rpc_deadline(at: float | None) -> Iterator[None]:
    """Requests sent in this context end by ``at`` (a :func:`time.monotonic` time), or fail as timed out.

    Each request also ends within its endpoint's timeout; an earlier deadline of an enclosing context stays.
    A thread pool's threads do not see the context unless a task is run in a copy of it
    (:func:`contextvars.copy_context`).
    """
    current = _DEADLINE.get()
    token = _DEADLINE.set(at if current is None or at is None else min(at, current))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


class RpcError(ChainError):
    """An endpoint could not be asked: unreachable, timed out, not JSON-RPC, or answered with an error."""


class BatchRefusedError(RpcError):
    """An endpoint answered a JSON-RPC batch with one error object: it takes no batches (of that size).

    Many public endpoints do; what was to be asked in the batch can be asked one request at a time.
    """


class RpcRevertError(RpcError):
    """An ``eth_call`` reverted; ``data`` is the revert data (hex), when the endpoint gave it."""

    def __init__(self, message: str, data: str | None) -> None:
        super().__init__(message)
        self.data = data


class JsonRpcEndpoint:
    """One JSON-RPC endpoint; safe to share between threads (each thread keeps its own connection)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise InvalidInputError(f"{url!r} is not an http(s) JSON-RPC URL")
        self.url = url
        self.shown_url = mask_url(url)
        self.timeout = timeout
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if any(not 0x21 <= ord(character) <= 0x7E for character in self._path):
            raise InvalidInputError(f"{mask_url(url)!r}: its path may hold only visible ASCII (escape the rest as %XX)")
        shown_host = f"[{self._host}]" if ":" in self._host else self._host
        default_port = parts.port is None or parts.port == (443 if self._https else 80)
        headers = {
            "Host": shown_host if default_port else f"{shown_host}:{self._port}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        if parts.username is not None:
            token = f"{parts.username}:{parts.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
        self._head = f"POST {self._path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._context: ssl.SSLContext | None = None
        self._local = threading.local()
        self._chain_id: int | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JsonRpcEndpoint({self.shown_url!r})"

    # ------------------------------------------------------------------ requests

    def call(self, method: str, params: Sequence[Any]) -> Any:
        """The ``result`` of one JSON-RPC request; :class:`RpcError` (or :class:`RpcRevertError`) otherwise."""
        answer = self._post({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        if not isinstance(answer, dict):
            raise RpcError(f"{self.shown_url} answered {method} with something that is not a JSON-RPC response")
        return self._result(method, answer)

    def batch(self, requests: Sequence[tuple[str, Sequence[Any]]]) -> list[Any | RpcError]:
        """The results of several requests sent as one JSON-RPC batch, in order; a revert is returned in place.

        Any other failure of any request raises its :class:`RpcError` (see :meth:`batch_answers` to get each
        request's error in its place instead). An endpoint that refuses batches is asked one request at a time.
        """
        if len(requests) > 1:
            try:
                results = self.batch_answers(requests)
            except BatchRefusedError:
                pass
            else:
                for result in results:
                    if isinstance(result, RpcError) and not isinstance(result, RpcRevertError):
                        raise result
                return results
        results = []
        for method, params in requests:
            try:
                results.append(self.call(method, params))
            except RpcRevertError as error:
                results.append(error)
        return results

    def batch_answers(self, requests: Sequence[tuple[str, Sequence[Any]]]) -> list[Any | RpcError]:
        """Each request's result or :class:`RpcError`, in order, from one JSON-RPC batch (JSON-RPC 2.0 §6).

        At most :data:`MAX_BATCH` requests (InvalidInputError otherwise), and the whole answer is read within the
        limits of any answer (:data:`MAX_RESPONSE_BYTES`, nesting, the timeout). Raises :class:`RpcError` when the
        endpoint could not be asked or answered with something other than an array of at most one response per
        request (then no answer of it is believed); :class:`BatchRefusedError` when it answered with one error
        object, as an endpoint that takes no batches does. A request without exactly one response whose ``id`` is its
        number (an integer: ``1.0`` and ``true`` are not ``1``), or answered with an error object, gets that
        :class:`RpcError` in its place; the others keep their results.
        """
        if not 0 < len(requests) <= MAX_BATCH:
            raise InvalidInputError(f"a JSON-RPC batch holds 1 to {MAX_BATCH} requests, not {len(requests)}")
        body = [
            {"jsonrpc": "2.0", "id": number, "method": method, "params": list(params)}
            for number, (method, params) in enumerate(requests)
        ]
        answers = self._post(body)
        if isinstance(answers, dict) and "error" in answers:
            raise BatchRefusedError(f"{self.shown_url} refused a JSON-RPC batch of {len(requests)} requests")
        if not isinstance(answers, list):
            raise RpcError(f"{self.shown_url} did not answer a JSON-RPC batch with an array")
        if len(answers) > len(requests):
            raise RpcError(f"{self.shown_url} sent {len(answers)} answers to a batch of {len(requests)} requests")
        by_id: dict[int, dict[str, Any] | None] = {}  # None: answered more than once
        for answer in answers:
            number = answer.get("id") if isinstance(answer, dict) else None
            if type(number) is int and 0 <= number < len(requests):
                by_id[number] = answer if number not in by_id else None
        results: list[Any | RpcError] = []
        for number, (method, _) in enumerate(requests):
            if number not in by_id:
                results.append(RpcError(f"{self.shown_url} left request {number} ({method}) of a batch unanswered"))
                continue
            found = by_id[number]
            if found is None:
                results.append(RpcError(f"{self.shown_url} answered request {number} ({method}) of a batch twice"))
                continue
            try:
                results.append(self._result(method, found))
            except RpcError as error:
                results.append(error)
        return results

    @property
    def known_chain_id(self) -> int | None:
        """The ``eth_chainId`` already asked, if any (no request)."""
        return self._chain_id

    def chain_id(self) -> int:
        """``eth_chainId``, asked once and remembered."""
        if self._chain_id is None:
            value = self.call("eth_chainId", [])
            with self._lock:
                self._chain_id = parse_quantity(value, "eth_chainId")
        return self._chain_id

    def eth_call(self, to: str, data: str, block: str) -> str:
        """``eth_call`` of ``data`` on contract ``to`` at block tag or number ``block``; the returned hex."""
        return parse_data(self.call("eth_call", [{"to": to, "data": data}, block]), "eth_call")

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # ------------------------------------------------------------------ transport

    def _connection(self) -> HttpConnection:
        connection: HttpConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            context = None
            if self._https:
                with self._lock:
                    if self._context is None:
                        import ssl  # only for https: a local endpoint's verifier never imports it

                        self._context = ssl.create_default_context()
                    context = self._context
            connection = HttpConnection(self._host, self._port, context)
            self._local.connection = connection
        return connection

    def _post(self, payload: object) -> Any:
        body = json.dumps(payload, separators=(",", ":")).encode()
        head = f"{self._head}Content-Length: {len(body)}\r\n\r\n".encode("latin-1")
        end = request_end(self.timeout)
        # A kept-alive connection the server closed in the meantime fails on first use: retry once on a new one.
        for attempt in (1, 2):
            connection = self._connection()
            try:
                response = connection.request(head, body, end, MAX_RESPONSE_BYTES)
                break
            except (ConnectionDroppedError, BrokenPipeError, ConnectionResetError) as error:
                self.close()
                if attempt == 2:
                    raise RpcError(f"cannot reach the RPC endpoint {self.shown_url}: {error}") from error
            except OSError as error:  # HttpError too: an answer that is not HTTP
                self.close()
                reason = "timed out" if isinstance(error, TimeoutError) else str(error) or repr(error)
                raise RpcError(f"cannot reach the RPC endpoint {self.shown_url}: {reason}") from error
        data = response.body
        if len(data) > MAX_RESPONSE_BYTES:
            self.close()
            raise RpcError(f"{self.shown_url} sent more than {MAX_RESPONSE_BYTES} bytes")
        if response.status != 200:
            raise RpcError(f"{self.shown_url} answered HTTP {response.status} {response.reason:.200}".rstrip())
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise RpcError(f"{self.shown_url} did not answer with UTF-8 JSON (is it a JSON-RPC endpoint?)") from None
        depth = nesting_depth(text)
        if depth > MAX_DEPTH:
            raise RpcError(f"{self.shown_url} answered JSON nested {depth} levels deep; at most {MAX_DEPTH} are read")
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            raise RpcError(f"{self.shown_url} did not answer with JSON (is it a JSON-RPC endpoint?)") from None

    def _result(self, method: str, answer: dict[str, Any]) -> Any:
        error = answer.get("error")
        if error is not None:
            message = str(error.get("message", error) if isinstance(error, dict) else error)
            if len(message) > _MAX_MESSAGE:  # an endpoint's words end up in every result: keep them short
                message = message[: _MAX_MESSAGE - 3] + "..."
            data = error.get("data") if isinstance(error, dict) else None
            if method == "eth_call" and (isinstance(data, str) or "revert" in message.lower()):
                raise RpcRevertError(
                    f"{self.shown_url}: {method} reverted: {message}", data if isinstance(data, str) else None
                )
            raise RpcError(f"{self.shown_url} refused {method}: {message}")
        if "result" not in answer:
            raise RpcError(f"{self.shown_url} answered {method} without a result")
        return answer["result"]


def request_end(timeout: float) -> float:
    """When a request started now must end: ``timeout`` seconds from now, or the :func:`rpc_deadline` if earlier."""
    end = time.monotonic() + timeout
    deadline = _DEADLINE.get()
    return end if deadline is None or end < deadline else deadline


def limit_socket(connection: http.client.HTTPConnection, end: float) -> None:
    """Make the next socket operations of ``connection`` time out at ``end``; TimeoutError if it has passed."""
    left = end - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    connection.timeout = left  # used when it connects
    if connection.sock is not None:
        connection.sock.settimeout(left)


def read_body(
    connection: http.client.HTTPConnection, response: http.client.HTTPResponse, end: float, limit: int
) -> bytes:
    """The body of ``response``, read by ``end`` (TimeoutError otherwise), at most one byte over ``limit``.

    A socket timeout bounds each read, not their sum: an answer trickling in a byte at a time would never
    time out without the deadline checked between reads. A body longer than ``limit`` is read only up to
    ``limit + 1`` bytes (the caller refuses it; the connection is then unusable and must be closed).
    """
    chunks: list[bytes] = []
    size = 0
    while size <= limit and not response.isclosed():
        limit_socket(connection, end)
        if response.length == 0:  # a Content-Length body read in full: read() only marks it done (keep-alive)
            response.read()
            break
        chunk = response.read1(min(_READ_SIZE, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def parse_quantity(value: object, what: str) -> int:
    """A JSON-RPC quantity (``0x``-hex integer)."""
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise RpcError(f"{what}: expected a hex quantity, got {value!r:.80}")


def parse_data(value: object, what: str) -> str:
    """JSON-RPC data (``0x``-hex bytes), lower case."""
    if isinstance(value, str) and value.startswith("0x") and len(value) % 2 == 0:
        try:
            bytes.fromhex(value[2:])
        except ValueError:
            pass
        else:
            return value.lower()
    raise RpcError(f"{what}: expected 0x-hex data, got {value!r:.80}")
