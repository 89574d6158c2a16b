"""Shareable verification links: the receipt itself, compressed, in the URL fragment.

``https://verifier.example/#r=<base64url(deflate-raw(receipt JSON))>``: a learner sends one URL; the page
decompresses the receipt in the browser (``DecompressionStream("deflate-raw")``) and verifies it. The fragment
is never sent to the server by the browser, so the receipt is not in any access log; the page posts it to
``/verify`` itself. A typical receipt of 4 KiB becomes a link of about 2.5 KiB.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from anchor.errors import InvalidInputError

#: The fragment parameter that carries the receipt.
FRAGMENT_KEY = "r"
#: Largest receipt a link decodes to (the same 1 MiB limit as a receipt file).
MAX_RECEIPT_BYTES = 1 << 20


def receipt_link(receipt: Mapping[str, Any], base_url: str = "http://127.0.0.1:8000/") -> str:
    """A link to the verification page at ``base_url`` that carries ``receipt``."""
    if urlsplit(base_url).scheme not in {"http", "https"}:
        raise InvalidInputError(f"{base_url!r} is not an http(s) URL of a verification page")
    text = json.dumps(receipt, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = packer.compress(text) + packer.flush()
    token = base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")
    return f"{base_url.split('#', 1)[0]}#{FRAGMENT_KEY}={token}"


def receipt_from_link(link: str) -> bytes:
    """The receipt JSON bytes carried by a link made by :func:`receipt_link` (or by the page)."""
    fragment = link.split("#", 1)[1] if "#" in link else link
    prefix = f"{FRAGMENT_KEY}="
    token = next((part[len(prefix) :] for part in fragment.split("&") if part.startswith(prefix)), None)
    if token is None:
        raise InvalidInputError(f"the link carries no receipt (no #{prefix}... fragment)")
    try:
        packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        unpacker = zlib.decompressobj(-15)
        text = unpacker.decompress(packed, MAX_RECEIPT_BYTES + 1)
    except (ValueError, zlib.error) as error:
        raise InvalidInputError(f"the link's receipt does not decode: {error}") from None
    if len(text) > MAX_RECEIPT_BYTES or unpacker.unconsumed_tail:
        raise InvalidInputError(f"the link's receipt is larger than {MAX_RECEIPT_BYTES} bytes")
    return text
