"""E-mail addresses of learners: checked when a roster is imported, used when credentials are delivered.

An address is ``local@domain``: the local part an ASCII dot-atom of RFC 5322 (at most 64 characters; quoted
local parts and SMTPUTF8 local parts are refused: few servers take them), the domain a host name of at least
two labels (internationalised names allowed, sent as IDNA ``xn--`` labels; no address literals), the whole
address at most 254 characters. Checked character by character, without regular expressions.
"""

from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from anchor.errors import InvalidInputError

__all__ = ["MAX_ADDRESS_LENGTH", "EmailAddress", "parse_email"]

MAX_ADDRESS_LENGTH: Final = 254
_MAX_LOCAL: Final = 64
_MAX_DOMAIN: Final = 253
_MAX_LABEL: Final = 63
_LOCAL_CHARACTERS: Final = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~.")
_LABEL_CHARACTERS: Final = frozenset(string.ascii_lowercase + string.digits + "-")


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """A checked address: ``text`` as the learner wrote it (domain in lower case), ``ascii`` as SMTP sends it."""

    local: str
    domain: str
    ascii_domain: str

    @property
    def text(self) -> str:
        """The address with its domain as written (Unicode), for people."""
        return f"{self.local}@{self.domain}"

    @property
    def ascii(self) -> str:
        """The address with its domain in IDNA form, for the SMTP envelope and headers."""
        return f"{self.local}@{self.ascii_domain}"

    def __str__(self) -> str:
        return self.text


def parse_email(text: str) -> EmailAddress:
    """The address in ``text`` (surrounding blanks ignored); :class:`InvalidInputError` saying what is wrong."""
    if not isinstance(text, str):
        raise InvalidInputError(f"an e-mail address is text, not {type(text).__name__}")
    address = unicodedata.normalize("NFC", text.strip())
    if not address:
        raise InvalidInputError("the e-mail address is empty")
    if len(address) > MAX_ADDRESS_LENGTH:
        raise InvalidInputError(f"an e-mail address has at most {MAX_ADDRESS_LENGTH} characters, not {len(address)}")
    if not (address.isascii() and address.isprintable() and " " not in address):  # else a closer look
        for character in address:
            if character.isspace() or unicodedata.category(character) in {"Cc", "Cf", "Zl", "Zp"}:
                raise InvalidInputError(f"an e-mail address holds no blanks or control characters ({character!r})")
    if address.count("@") != 1:
        found = address.count("@")
        raise InvalidInputError(f"an e-mail address has exactly one '@' (local@domain), this one {found}")
    local, domain = address.split("@")
    _check_local(local)
    return EmailAddress(local, domain.lower(), _ascii_domain(domain))


def _check_local(local: str) -> None:
    if not local:
        raise InvalidInputError("nothing before the '@'")
    if len(local) > _MAX_LOCAL:
        raise InvalidInputError(f"the part before the '@' has at most {_MAX_LOCAL} characters, not {len(local)}")
    if not _LOCAL_CHARACTERS.issuperset(local):
        character = next(c for c in local if c not in _LOCAL_CHARACTERS)
        what = "a non-ASCII letter" if not character.isascii() else "a character addresses cannot hold"
        raise InvalidInputError(f"the part before the '@' holds {character!r}, {what}")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidInputError("the part before the '@' neither starts nor ends with a dot, nor has two in a row")


@lru_cache(maxsize=256)
def _ascii_domain(domain: str) -> str:
    """The domain checked, in IDNA form; remembered (a roster's addresses share a few domains)."""
    if not domain:
        raise InvalidInputError("nothing after the '@'")
    if domain.startswith("["):
        raise InvalidInputError("address literals ([192.0.2.1]) are not accepted: give a domain name")
    labels = domain.lower().split(".")
    if len(labels) < 2:
        raise InvalidInputError(f"the domain {domain!r} has no dot: a full domain name such as example.org is needed")
    encoded = [_ascii_label(label, domain) for label in labels]
    if encoded[-1].isdigit():
        raise InvalidInputError(f"the domain {domain!r} ends in a number, not a top-level domain")
    ascii_domain = ".".join(encoded)
    if len(ascii_domain) > _MAX_DOMAIN:
        raise InvalidInputError(f"the domain has at most {_MAX_DOMAIN} characters, not {len(ascii_domain)}")
    return ascii_domain


def _ascii_label(label: str, domain: str) -> str:
    if not label:
        raise InvalidInputError(f"the domain {domain!r} has an empty label (two dots in a row, or a dot at an end)")
    if not label.isascii():
        try:
            label = label.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidInputError(
                f"{label!r} in the domain {domain!r} is not a valid internationalised name"
            ) from None
    if len(label) > _MAX_LABEL:
        raise InvalidInputError(f"a label of the domain has at most {_MAX_LABEL} characters: {label[:20]!r}...")
    if not _LABEL_CHARACTERS.issuperset(label):
        character = next(c for c in label if c not in _LABEL_CHARACTERS)
        raise InvalidInputError(f"the domain {domain!r} holds {character!r}: only letters, digits and '-' are allowed")
    if label.startswith("-") or label.endswith("-"):
        raise InvalidInputError(f"a label of the domain {domain!r} starts or ends with '-'")
    return label
