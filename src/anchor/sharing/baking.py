"""Baked badges: the receipt inside a PNG or SVG image, as Open Badges 3.0 "Baking" specifies.

* PNG: one ``iTXt`` chunk with keyword ``openbadgecredential``, compression flag 0 (no compression), empty
  language tag and translated keyword, and the credential's JSON (UTF-8) as its text; we place it right
  after ``IHDR``.
* SVG: one ``<openbadges:credential>`` element, namespace ``https://purl.imsglobal.org/ob/v3p0``, the first
  child of the root ``<svg>``, holding the credential's JSON in a CDATA section.

The credential baked is the receipt: the credential with its ``proof`` (the issuer's Data Integrity proof and
the anchoring proof), so the image alone verifies.

Unbaking is strict and bounded, because the image comes from anyone: a PNG of at most :data:`MAX_BADGE_BYTES`
(an SVG :data:`MAX_SVG_BYTES`); a PNG
is read chunk by chunk with every length and CRC checked, ``IHDR`` first, ``IEND`` last with nothing after it;
exactly one credential (two ``openbadgecredential`` chunks, one in a ``tEXt``/``zTXt`` chunk besides, or an
Open Badges 2.0 ``openbadges`` chunk or our keyword in another case besides, could show two readers two
credentials, so all are refused), uncompressed; an SVG is parsed with ``defusedxml``
(no DTD, no entity, nothing external) and must hold exactly one credential element with text only. The JSON
itself is then read by the verifier's strict parser, like a receipt file.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, Final, Literal

from anchor.credentials import MAX_CREDENTIAL_BYTES
from anchor.errors import InvalidInputError

#: Largest image unbaked (a badge is a few kilobytes plus the receipt; the receipt itself is at most 1 MiB).
MAX_BADGE_BYTES: Final = 10 << 20
#: Largest SVG unbaked: a receipt's 1 MiB and as much again for the picture. Parsing XML costs about 2 µs an
#: element in Python, so an SVG is held to less than a PNG (whose chunks are only checksummed).
MAX_SVG_BYTES: Final = 2 * MAX_CREDENTIAL_BYTES
#: The 8 bytes every PNG file starts with.
PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
#: The ``iTXt`` keyword of an Open Badges 3.0 credential.
PNG_KEYWORD: Final = "openbadgecredential"
#: The XML namespace of the ``credential`` element in an SVG (Open Badges 3.0).
OB3_NAMESPACE: Final = "https://purl.imsglobal.org/ob/v3p0"
SVG_NAMESPACE: Final = "http://www.w3.org/2000/svg"

#: A PNG chunk's length is at most 2**31 - 1 (PNG specification, 5.3).
_MAX_CHUNK: Final = (1 << 31) - 1
_CHUNK_TYPE: Final = re.compile(rb"[A-Za-z]{4}")
_TEXT_CHUNKS: Final = (b"iTXt", b"tEXt", b"zTXt")
#: Keywords (lower case) a reader may take for a baked badge besides ours: Open Badges 2.0's, and ours in
#: another case (PNG keywords are case-sensitive, but a lenient reader may not compare them so).
_OTHER_BADGE_KEYWORDS: Final = frozenset({"openbadges", PNG_KEYWORD})
#: Characters XML 1.0 does not allow in a document (a JSON string may hold them escaped, never raw); compiled
#: when first baking (20 ms: not on the verifier's start-up path).
_NOT_XML: Final = "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"

BadgeKind = Literal["png", "svg"]


def badge_kind(data: bytes | bytearray | memoryview) -> BadgeKind | None:
    """``png`` or ``svg`` when ``data`` looks like that image (PNG signature, or markup), else None (JSON...)."""
    head = bytes(data[:64])
    if head.startswith(PNG_SIGNATURE):
        return "png"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    return "svg" if text.startswith(b"<") else None


def unbake(data: bytes | bytearray | memoryview) -> bytes:
    """The credential JSON (UTF-8 bytes) baked into the PNG or SVG image ``data``; InvalidInputError if none.

    The JSON is not parsed here: the caller reads it with the strict parser it reads receipt files with.
    """
    kind = badge_kind(data)
    if kind is None:
        raise InvalidInputError("not a PNG or SVG image")
    limit = MAX_BADGE_BYTES if kind == "png" else MAX_SVG_BYTES
    if len(data) > limit:
        raise InvalidInputError(f"the {kind.upper()} image is larger than {limit >> 20} MiB")
    return unbake_png(bytes(data)) if kind == "png" else unbake_svg(bytes(data))


# ------------------------------------------------------------------------------------------------- PNG


def png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Every ``(type, data)`` chunk of the PNG file ``data``, each length and CRC checked; InvalidInputError else.

    ``IHDR`` must come first and ``IEND`` last, with nothing after it.
    """
    if not data.startswith(PNG_SIGNATURE):
        raise InvalidInputError("not a PNG image (no PNG signature)")
    position = len(PNG_SIGNATURE)
    number = 0
    while True:
        if position + 8 > len(data):
            raise InvalidInputError(f"the PNG is truncated: chunk {number} has no complete header (no IEND chunk)")
        length, kind = struct.unpack_from(">I4s", data, position)
        if not _CHUNK_TYPE.fullmatch(kind):
            raise InvalidInputError(f"PNG chunk {number} has an invalid type {kind!r}")
        name = kind.decode("ascii")
        if length > _MAX_CHUNK:
            raise InvalidInputError(f"PNG chunk {number} ({name}) declares a length of {length} bytes (over 2**31-1)")
        end = position + 8 + length + 4
        if end > len(data):
            raise InvalidInputError(
                f"the PNG is truncated: chunk {number} ({name}) declares {length} bytes, "
                f"{max(0, len(data) - position - 12)} are there"
            )
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(kind + body) != crc:
            raise InvalidInputError(f"PNG chunk {number} ({name}) fails its CRC check: the image is damaged or altered")
        if number == 0 and kind != b"IHDR":
            raise InvalidInputError(f"the PNG's first chunk is {name}, not IHDR")
        yield kind, body
        position = end
        number += 1
        if kind == b"IEND":
            if position != len(data):
                raise InvalidInputError(f"the PNG has {len(data) - position} bytes after its IEND chunk")
            return


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _keyword(kind: bytes, body: bytes) -> str:
    """The keyword of a text chunk (Latin-1, 1-79 bytes, before the first NUL)."""
    keyword, separator, _ = body.partition(b"\x00")
    if not separator or not 1 <= len(keyword) <= 79:
        raise InvalidInputError(f"a PNG {kind.decode()} chunk has no valid keyword")
    return keyword.decode("latin-1")


def _itxt_text(body: bytes) -> bytes:
    """The text of an ``openbadgecredential`` iTXt chunk: uncompressed, UTF-8, at most a receipt's size."""
    rest = body[len(PNG_KEYWORD) + 1 :]
    if len(rest) < 2:
        raise InvalidInputError("the PNG's openbadgecredential chunk is truncated (no compression fields)")
    flag, method = rest[0], rest[1]
    if flag != 0 or method != 0:
        raise InvalidInputError(
            f"the PNG's openbadgecredential chunk is compressed (flag {flag}, method {method}): "
            "Open Badges 3.0 baking does not allow compression"
        )
    parts = rest[2:].split(b"\x00", 2)
    if len(parts) != 3:
        raise InvalidInputError("the PNG's openbadgecredential chunk is truncated (no language tag or keyword)")
    text = parts[2]
    if len(text) > MAX_CREDENTIAL_BYTES:
        raise InvalidInputError(f"the baked credential is larger than {MAX_CREDENTIAL_BYTES} bytes")
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInputError(
            f"the baked credential is not UTF-8 text: {error.reason} at byte {error.start}"
        ) from None
    return text


def unbake_png(data: bytes) -> bytes:
    """The credential JSON of a baked PNG (see the module doc); InvalidInputError for any other PNG."""
    found: list[bytes] = []
    others: list[str] = []  # keywords another reader may take for a baked badge
    for kind, body in png_chunks(data):
        if kind not in _TEXT_CHUNKS:
            continue
        keyword = _keyword(kind, body)
        if keyword != PNG_KEYWORD:
            if keyword.lower() in _OTHER_BADGE_KEYWORDS:
                others.append(keyword)
            continue
        if kind != b"iTXt":
            raise InvalidInputError(
                f"the PNG carries an {PNG_KEYWORD} {kind.decode()} chunk: Open Badges 3.0 bakes into iTXt only"
            )
        found.append(_itxt_text(body))
    if not found:
        raise InvalidInputError(f"the PNG carries no credential (no iTXt chunk with keyword {PNG_KEYWORD})")
    if len(found) > 1:
        raise InvalidInputError(f"the PNG carries {len(found)} {PNG_KEYWORD} chunks: a baked badge holds exactly one")
    if others:
        raise InvalidInputError(
            f"the PNG carries a text chunk with keyword {others[0]!r} besides its {PNG_KEYWORD} chunk: another "
            "reader could show that as the badge's credential, so a badge with two is refused"
        )
    return _json_text(found[0])


def bake_png(image: bytes, receipt: Mapping[str, Any]) -> bytes:
    """``image`` (a PNG) with ``receipt`` baked in, replacing a credential baked before."""
    chunks = [
        (kind, body)
        for kind, body in png_chunks(image)
        if not (kind in _TEXT_CHUNKS and _keyword(kind, body) == PNG_KEYWORD)
    ]
    text = _receipt_text(receipt).encode("utf-8")
    baked = _chunk(b"iTXt", PNG_KEYWORD.encode("latin-1") + b"\x00\x00\x00\x00\x00" + text)
    ihdr, *rest = chunks
    return PNG_SIGNATURE + _chunk(*ihdr) + baked + b"".join(_chunk(kind, body) for kind, body in rest)


# ------------------------------------------------------------------------------------------------- SVG


def unbake_svg(data: bytes) -> bytes:
    """The credential JSON of a baked SVG (see the module doc); InvalidInputError for any other SVG.

    Parsed as a stream (no tree is built: an SVG of millions of empty elements costs no memory), with no DTD,
    entity or external reference allowed.
    """
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import DefusedXMLParser

    target = _CredentialFinder()
    parser = DefusedXMLParser(target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(data)
        parser.close()
    except DefusedXmlException as error:
        raise InvalidInputError(f"the SVG is refused: {type(error).__name__} (no DTD or entities allowed)") from None
    except ParseError as error:
        raise InvalidInputError(f"the SVG is not well-formed XML: {error}") from None
    if target.root != f"{{{SVG_NAMESPACE}}}svg":
        raise InvalidInputError(f"the XML's root element is {target.root!r}, not an SVG <svg>")
    if target.found == 0:
        raise InvalidInputError(f"the SVG carries no credential (no <openbadges:credential> of {OB3_NAMESPACE})")
    if target.found > 1:
        raise InvalidInputError(f"the SVG carries {target.found} credential elements: a baked badge holds exactly one")
    if target.markup:
        raise InvalidInputError(
            "the SVG's credential element holds markup or a verify attribute (a JWT): only the credential's JSON "
            "is supported"
        )
    text = "".join(target.text).strip().encode("utf-8")
    if len(text) > MAX_CREDENTIAL_BYTES:
        raise InvalidInputError(f"the baked credential is larger than {MAX_CREDENTIAL_BYTES} bytes")
    return _json_text(text)


class _CredentialFinder:
    """An XML parser target that keeps only what :func:`unbake_svg` needs: the root's name, how many credential
    elements there are, and the text of the first (at most a receipt's size)."""

    def __init__(self) -> None:
        self.root: str | None = None
        self.found = 0
        self.markup = False
        self.text: list[str] = []
        self._size = 0
        self._inside = False

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self.root is None:
            self.root = tag
        if self._inside:
            self.markup = True
        if tag == f"{{{OB3_NAMESPACE}}}credential":
            self.found += 1
            self._inside = True
            self.markup = self.markup or "verify" in attrib

    def end(self, tag: str) -> None:
        if tag == f"{{{OB3_NAMESPACE}}}credential":
            self._inside = False

    def data(self, text: str) -> None:
        if self._inside and self.found == 1 and self._size <= MAX_CREDENTIAL_BYTES:
            self.text.append(text)
            self._size += len(text)

    def close(self) -> None:
        return None


def bake_svg(svg: str, receipt: Mapping[str, Any]) -> bytes:
    """The SVG document ``svg`` (made by anchor: an ``<svg ...>`` root in the SVG namespace) with ``receipt``
    baked in as the root's first child; UTF-8 bytes."""
    start = re.search(r"<svg\b[^>]*>", svg)
    if start is None:
        raise InvalidInputError("the SVG has no <svg> root element to bake into")
    text = _receipt_text(receipt)
    if re.search(_NOT_XML, text):
        text = _receipt_text(receipt, ascii_only=True)  # characters XML cannot carry raw, escaped by JSON
    cdata = "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"
    element = f'<openbadges:credential xmlns:openbadges="{OB3_NAMESPACE}">{cdata}</openbadges:credential>'
    return (svg[: start.end()] + element + svg[start.end() :]).encode("utf-8")


# ------------------------------------------------------------------------------------------------- shared


def _receipt_text(receipt: Mapping[str, Any], *, ascii_only: bool = False) -> str:
    text = json.dumps(receipt, ensure_ascii=ascii_only, separators=(",", ":"))
    if len(text.encode("utf-8")) > MAX_CREDENTIAL_BYTES:
        raise InvalidInputError(f"the receipt is larger than {MAX_CREDENTIAL_BYTES} bytes: too large to bake")
    return text


def _json_text(text: bytes) -> bytes:
    """``text`` if it is a JSON object's text (the strict parse comes later); a JWT is named as unsupported."""
    if not text.lstrip().startswith(b"{"):
        raise InvalidInputError(
            "the baked credential is not a JSON object (a compact JWS / VC-JWT is not supported: anchor bakes "
            "the credential with its proofs)"
        )
    return text


def read_receipt_or_badge(stream: BinaryIO) -> bytes:
    """What a verifier reads of ``stream``: a receipt's 1 MiB, or an image's :data:`MAX_BADGE_BYTES`, plus one
    byte (so that a larger input is seen to be larger and refused, never read whole)."""
    data = stream.read(MAX_CREDENTIAL_BYTES + 1)
    if len(data) > MAX_CREDENTIAL_BYTES and badge_kind(data) is not None:
        data += stream.read(MAX_BADGE_BYTES - len(data) + 1)
    return data
