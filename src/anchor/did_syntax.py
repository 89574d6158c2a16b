"""DIDs as text: the ``did:web`` and ``did:key`` identifiers of issuers, checked strictly, and where a did:web
DID's document is published.

A base module (standard library only): the configuration checks ``issuer_did`` with it, the issuer builds its
DID document with it and the verifier resolves a did:web DID with it, so that all three agree on one spelling.

did:web (https://w3c-ccg.github.io/did-method-web/): ``did:web:`` then a domain name, an optional port written
``%3A`` and the port, then optional path segments separated by ``:``. The document lives at
``https://<domain>[:<port>]/<segments joined by />/did.json``, or ``https://<domain>/.well-known/did.json``
without segments::

    did:web:example.edu                  https://example.edu/.well-known/did.json
    did:web:example.edu:issuers:x        https://example.edu/issuers/x/did.json
    did:web:localhost%3A8443             https://localhost:8443/.well-known/did.json

The registry keeps one issuer per identifier, compared character for character, so anchor accepts one spelling
of each DID only: the domain in lower case (an international one in its ``xn--`` form), no IP address, the
port as ``%3A`` with no leading zero and never 443, path segments of unreserved URL characters, neither ``.``
nor ``..``. Checks go piece by piece (split, then per-character sets): no backtracking pattern sees the input.

did:key: anchor's issuers sign with Ed25519, so a did:key DID here is ``did:key:z6Mk`` and the base58btc rest
of an Ed25519 multikey (48 characters after ``did:key:``); :mod:`anchor.credentials.multikey` decodes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from anchor.errors import InvalidInputError

DID_WEB_PREFIX: Final = "did:web:"
DID_KEY_PREFIX: Final = "did:key:"
#: The longest DID accepted (identifiers in credentials are at most 2,048 characters).
MAX_DID_LENGTH: Final = 2048
#: Longest domain name (RFC 1035) and label.
_MAX_HOST: Final = 253
_MAX_LABEL: Final = 63
_MAX_SEGMENT: Final = 255
_HOST_CHARACTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_DIGITS: Final = frozenset("0123456789")
#: RFC 3986 unreserved characters: a path segment needs no percent-encoding.
_SEGMENT_CHARACTERS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_BASE58: Final = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
#: ``z`` (base58btc) + base58 of the multicodec prefix 0xed01 and 32 key bytes: always 48 characters.
_ED25519_DID_KEY_LENGTH: Final = len(DID_KEY_PREFIX) + 48
_ED25519_MULTIBASE_PREFIX: Final = "z6Mk"
_HTTPS_PORT: Final = 443
#: A key name: also the fragment of its verification method in a did:web document and a file name.
_KEY_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class DidWeb:
    """A checked did:web DID, taken apart: ``host`` in lower case, ``port`` (None: 443), path ``segments``."""

    did: str
    host: str
    port: int | None
    segments: tuple[str, ...]

    @property
    def document_url(self) -> str:
        """The HTTPS URL of the DID document (``did.json``)."""
        authority = self.host if self.port is None else f"{self.host}:{self.port}"
        folder = "/".join(self.segments) if self.segments else ".well-known"
        return f"https://{authority}/{folder}/did.json"


def parse_did_web(value: object, *, what: str = "DID") -> DidWeb:
    """``value`` as a did:web DID; InvalidInputError naming ``what``, the value and the rule it breaks."""
    text = _bounded_text(value, what)
    if not text.startswith(DID_WEB_PREFIX):
        raise InvalidInputError(f"{what} {_shown(text)} is not a did:web DID (did:web:example.edu)")
    parts = text[len(DID_WEB_PREFIX) :].split(":")
    authority, segments = parts[0], tuple(parts[1:])
    host, _, port_text = authority.partition("%3A")
    problem = (
        _escape_problem(authority)
        or _host_problem(host)
        or _port_problem(port_text, authority)
        or _segments_problem(segments)
    )
    if problem:
        raise InvalidInputError(f"{what} {_shown(text)} is not a valid did:web DID: {problem}")
    return DidWeb(text, host, int(port_text) if port_text else None, segments)


def check_did_key(value: object, *, what: str = "DID") -> str:
    """``value`` if it is spelled as an Ed25519 did:key DID (``did:key:z6Mk...``); else InvalidInputError."""
    text = _bounded_text(value, what)
    rest = text[len(DID_KEY_PREFIX) :]
    if (
        not text.startswith(DID_KEY_PREFIX)
        or len(text) != _ED25519_DID_KEY_LENGTH
        or not rest.startswith(_ED25519_MULTIBASE_PREFIX)
        or not set(rest[1:]) <= _BASE58
    ):
        raise InvalidInputError(
            f"{what} {_shown(text)} is not an Ed25519 did:key DID (did:key:z6Mk and 44 more base58 characters)"
        )
    return text


def check_issuer_did(value: object, *, what: str = "DID") -> str:
    """``value`` if it is a did:web DID (:func:`parse_did_web`) or an Ed25519 did:key DID (:func:`check_did_key`)."""
    text = _bounded_text(value, what)
    if text.startswith(DID_WEB_PREFIX):
        return parse_did_web(text, what=what).did
    if text.startswith(DID_KEY_PREFIX):
        return check_did_key(text, what=what)
    raise InvalidInputError(
        f"{what} {_shown(text)} is neither a did:web DID (did:web:example.edu, for an issuer with a web domain) "
        "nor a did:key DID (did:key:z6Mk..., for local use and demos)"
    )


def is_did_web(did: str) -> bool:
    """Whether ``did`` is of the did:web method (by its prefix; check it with :func:`parse_did_web`)."""
    return did.startswith(DID_WEB_PREFIX)


def check_key_name(name: object, *, what: str = "key name") -> str:
    """``name`` if it can name a signing key: the fragment of its verification method and its file's name."""
    if isinstance(name, str) and _KEY_NAME.fullmatch(name):
        return name
    raise InvalidInputError(
        f"invalid {what} {_shown(name)}: use letters, digits, '.', '_' or '-' "
        "(at most 64, starting with a letter or digit)"
    )


def _bounded_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > MAX_DID_LENGTH:
        raise InvalidInputError(f"{what} {_shown(value)} is longer than {MAX_DID_LENGTH} characters")
    return value


def _host_problem(host: str) -> str | None:
    if not host:
        return "no domain name after did:web:"
    if not host.isascii():
        return f"domain {host!r} is not ASCII: write an international domain name in its xn-- (punycode) form"
    if host != host.lower():
        return f"write the domain in lower case ({host.lower()!r}): the registry compares DIDs character for character"
    if len(host) > _MAX_HOST:
        return f"the domain is longer than {_MAX_HOST} characters"
    labels = host.split(".")
    if len(labels) < 2 and host != "localhost":
        return f"{host!r} is not a fully qualified domain name (example.edu)"
    for label in labels:
        if not 1 <= len(label) <= _MAX_LABEL:
            return f"domain label {label!r} must be 1 to {_MAX_LABEL} characters"
        if not set(label) <= _HOST_CHARACTERS:
            return f"domain label {label!r} may hold only letters, digits and '-'"
        if label[0] == "-" or label[-1] == "-":
            return f"domain label {label!r} starts or ends with '-'"
    if set(labels[-1]) <= _DIGITS:
        return f"{host!r} is an IP address or ends in a numeric label; did:web needs a domain name"
    return None


def _escape_problem(authority: str) -> str | None:
    if "%" in authority.replace("%3A", "", 1):
        return "the only escape allowed after did:web: is one %3A (upper case) between the domain and a port"
    return None


def _port_problem(port: str, authority: str) -> str | None:
    if not port:
        return "a port is missing after %3A" if authority.endswith("%3A") else None
    if not set(port) <= _DIGITS or port[0] == "0" or len(port) > 5 or not 1 <= int(port) <= 65535:
        return f"port {port!r} is not a number 1..65535 without leading zeros"
    if int(port) == _HTTPS_PORT:
        return "port 443 is HTTPS's own: leave %3A443 out (one spelling per DID)"
    return None


def _segments_problem(segments: tuple[str, ...]) -> str | None:
    for segment in segments:
        if not segment:
            return "an empty path segment (two ':' in a row, or one at the end)"
        if segment in {".", ".."}:
            return f"path segment {segment!r} is not allowed"
        if len(segment) > _MAX_SEGMENT:
            return f"a path segment is longer than {_MAX_SEGMENT} characters"
        if not set(segment) <= _SEGMENT_CHARACTERS:
            return f"path segment {segment!r} may hold only letters, digits, '-', '.', '_' and '~'"
    return None


def _shown(value: object) -> str:
    """``value`` for a message: its repr, cut short when long (a hostile DID can be 2,048 characters)."""
    if isinstance(value, str) and len(value) > 100:
        return f"{value[:100]!r}... ({len(value)} characters)"
    return repr(value)
