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


#: Longest URL :func:`https_url_problem` accepts.
MAX_URL_LENGTH = 2048


def https_url_problem(url: object) -> str | None:
    """What keeps ``url`` from being a plain https URL to publish or fetch, or None when nothing does.

    An https URL with a host, no user name or password, no fragment, printable ASCII without spaces, at most
    :data:`MAX_URL_LENGTH` characters. The answer is a phrase to follow the value in a message ("is not ...").
    """
    if not isinstance(url, str):
        return f"is not a URL string but a {type(url).__name__}"
    if len(url) > MAX_URL_LENGTH:
        return f"is {len(url)} characters long (at most {MAX_URL_LENGTH})"
    if not url.isascii() or not url.isprintable() or " " in url:
        return "is not a URL of printable ASCII without spaces"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError as error:
        return f"is not a URL: {error}"
    if parts.scheme != "https" or not parts.hostname:
        return "is not an https URL with a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    if parts.fragment or "#" in url:
        return "must not have a fragment (#...)"
    return None
