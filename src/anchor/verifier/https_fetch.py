"""One guarded HTTPS GET for what a verifier reads from issuers' sites: DID documents and status lists.

The request keeps to the verification's deadline (:func:`anchor.chain.jsonrpc.request_end`), follows no
redirect, reads at most ``max_bytes`` (a ``Content-Length`` above it is refused before reading), and the
answer is parsed with the strict credential JSON parser. Every failure is reported through the caller's
``fail`` (so that each caller keeps its own error class) with a message naming the URL.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from anchor import __version__
from anchor.chain.jsonrpc import limit_socket, read_body, request_end
from anchor.credentials import parse_credential
from anchor.errors import InvalidInputError

_MAX_REASON = 100


def get_json(
    url: str,
    *,
    timeout: float,
    context: ssl.SSLContext,
    accept: str,
    max_bytes: int,
    what: str,
    fail: Callable[[str], Exception],
) -> Any:
    """The JSON answer to GET ``url`` (https; host, port and path from it), or ``fail(reason)`` raised.

    ``what`` names the expected document in messages ("a DID document", "a status list").
    """
    parts = urlsplit(url)
    end = request_end(timeout)
    connection = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout, context=context)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Accept": accept, "User-Agent": f"anchor-verifier/{__version__}"}
    try:
        limit_socket(connection, end)
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        status = response.status
        if 300 <= status < 400:
            where = _printable(response.getheader("Location", "")[:_MAX_REASON])
            raise fail(
                f"{url} redirects (HTTP {status} to {where}): redirects are not followed, {what} is served at "
                "its own URL"
            )
        if status != 200:
            raise fail(f"{url} answered HTTP {status} {_printable(response.reason[:_MAX_REASON])}".rstrip())
        length = response.getheader("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) > max_bytes:
            raise fail(f"{url} sends {int(length)} bytes; {what} is at most {_size(max_bytes)}")
        data = read_body(connection, response, end, max_bytes)
    except (OSError, http.client.HTTPException) as error:
        reason = "timed out" if isinstance(error, socket.timeout | TimeoutError) else _one_line(error)
        raise fail(f"cannot fetch {what} from {url}: {reason}") from None
    finally:
        connection.close()
    if len(data) > max_bytes:
        raise fail(f"{url} sent more than {_size(max_bytes)}, the most {what} may be")
    try:
        return parse_credential(data, source=url)
    except InvalidInputError as error:
        raise fail(f"{url} did not answer with a JSON {what.removeprefix('a ')}: {_one_line(error)}") from None


def ssl_context(ca_bundle: Path | None, fail: Callable[[str], Exception]) -> ssl.SSLContext:
    """The TLS context for issuers' sites: the system's authorities, or only those of ``ca_bundle`` (PEM)."""
    try:
        return ssl.create_default_context(cafile=None if ca_bundle is None else str(ca_bundle))
    except (OSError, ssl.SSLError) as error:
        raise fail(f"cannot read the CA bundle {ca_bundle}: {_one_line(error)}") from None


def _size(count: int) -> str:
    return f"{count // 1024} KiB" if count % 1024 == 0 and count < 1 << 20 else f"{count} bytes"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _printable(text: str) -> str:
    return "".join(char if char.isprintable() else "?" for char in text)
