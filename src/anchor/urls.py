"""URLs as shown to a person: credentials and anything that may carry an API key masked.

A base module (standard library only): the configuration, the chain connection, the JSON-RPC client
and the issuer database all show URLs in messages and logs, and must never show a secret in one.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def mask_url(url: str) -> str:
    """``url`` with any password, and any path or query that may carry an API key, masked.

    SQLite URLs and bare paths are shown as they are; a PostgreSQL path (the database name) is kept.
    """
    parts = urlsplit(url)
    if parts.scheme in {"sqlite", ""}:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        credentials, host = netloc.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        netloc = f"{user}:****@{host}"
    path = parts.path if len(parts.path) <= 1 or parts.scheme.startswith("postgres") else "/****"
    query = "****" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, path, query, ""))
