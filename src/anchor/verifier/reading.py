"""Reading a receipt's text faster: exactly what :func:`~anchor.credentials.parse_credential` returns, or it.

:func:`parse_receipt` is the verifier's strict parse. The reference (:func:`anchor.credentials.parse_credential`,
which stays the reference) first checks the bytes (size, byte order mark, UTF-8, nesting), then, for the usual
credential, decodes the text with Python hooks that refuse a duplicate key, an integer beyond ±(2**53-1) and a
float it forbids, and takes the value when the text is NFC (its fast path, ``_parse_plain``); anything else
goes to its walk, which refuses or explains. :func:`parse_receipt_fast` makes the same checks in the same way
but two: integers are decoded by the C decoder itself (a Python hook per integer costs more than the other
checks together), an integer beyond the range being seen in the bytes instead, as a run of 16 digits where a
number can start (so may a string or an integer within the range: then the reference decides, which is merely
slower); and a text with any float goes to the reference. Every integer token then has at most 15 digits,
where ``int()`` (the C decoder's) and the reference's hook give the same value. The bytes' checks are the
reference's on the same bytes (nesting: few enough brackets, counted in the bytes as the reference counts them
in the text). So the value it returns is the one the reference returns, and when it returns None the reference
decides; a Hypothesis property (tests/test_verify_pace.py) compares the two on generated and adversarial texts.

What it returns is also known to be plain JSON without floats, every integer within ±(2**53-1) and every
string NFC: :func:`~anchor.credentials.digest.plain_credential_digest` hashes such a credential without walking
it again (the session tells the integrity check which credentials these are).

Bytes only: a text given as ``str`` (rare on this path) goes to the reference. No msgspec here (start-up time of
``anchor verify``, tests/test_architecture.py): the issuer's intake has its own fast path through msgspec.
"""

from __future__ import annotations

import json
from typing import Any, Final

from anchor.credentials import parse_credential
from anchor.credentials.model import MAX_CREDENTIAL_BYTES
from anchor.credentials.strict_json import MAX_DEPTH, _nfc_object, _not_plain, _NotPlainError, _plain_object

__all__ = ["parse_receipt", "parse_receipt_fast"]

#: Every digit to "0", every other byte to "x": an integer beyond ±(2**53-1) shows as a run of 16 zeros.
_DIGITS_TO_ZERO: Final = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x78 for byte in range(256))
_SIXTEEN_DIGITS: Final = b"0" * 16
#: The bytes a number token can follow in JSON text: a minus sign, a bracket, a colon, a comma, white space.
_NUMBER_STARTS: Final = frozenset(b"-[{:, \t\r\n")


#: The reference's own hooks, but none for integers and none taking a float (see the module doc). No state.
_DECODER: Final = json.JSONDecoder(object_pairs_hook=_plain_object, parse_float=_not_plain, parse_constant=_not_plain)


def parse_receipt_fast(data: bytes) -> dict[str, Any] | None:
    """What :func:`~anchor.credentials.parse_credential` returns for ``data``, when provably the same (see the
    module doc); None when the reference must decide."""
    if type(data) is not bytes or len(data) > MAX_CREDENTIAL_BYTES or data.startswith(b"\xef\xbb\xbf"):
        return None
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH:
        return None
    if _long_integer(data):
        return None
    try:
        text = data.decode("utf-8")
        value = _DECODER.decode(text)
    except (_NotPlainError, ValueError, RecursionError):
        return None
    return _nfc_object(text, value)  # as the reference: an object, NFC text


def _long_integer(data: bytes) -> bool:
    """Whether ``data`` may hold an integer token of 16 digits or more: a run of 16 digits where a number can
    start (at the start, or after a ``-``, a bracket, a colon, a comma or white space). A run inside a string
    after another character (a hex salt's) is not one; a run after a ``.``, ``e`` or ``+`` is a float's (which the
    decoder's hook refuses)."""
    digits = data.translate(_DIGITS_TO_ZERO)
    at = digits.find(_SIXTEEN_DIGITS)
    while at != -1:  # the leftmost of a run of zeros starts the run
        if at == 0 or data[at - 1] in _NUMBER_STARTS:
            return True
        end = at + len(_SIXTEEN_DIGITS)
        while end < len(digits) and digits[end] == 0x30:
            end += 1
        at = digits.find(_SIXTEEN_DIGITS, end)
    return False


def parse_receipt(data: str | bytes | bytearray | memoryview) -> Any:
    """``data`` parsed as strict I-JSON: exactly :func:`~anchor.credentials.parse_credential`'s result or error
    (by :func:`parse_receipt_fast` when it may)."""
    if type(data) is bytes:
        fast = parse_receipt_fast(data)
        if fast is not None:
            return fast
    return parse_credential(data)
