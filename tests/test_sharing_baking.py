"""Baked badges (issue 12, "A badge that carries its proof"): Open Badges 3.0 baking, strict unbaking, the
badge's files, and independent readers (Pillow, pypng, openbadges-bakery, libxml2, zxing-cpp).

No chain here: the verifier's refusals of bad images happen before any RPC request (verified on a chain in
tests/test_share_cli.py and tests/test_baked_verify_browser.py).
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import png
import pytest
import zxingcpp
from lxml import etree
from openbadges_bakery import png_bakery, svg_bakery
from PIL import Image

from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.receipt import AnchorProof, make_receipt
from anchor.errors import InvalidInputError
from anchor.files import learner_folder_name
from anchor.sharing.badge import badge_png, badge_svg
from anchor.sharing.baking import (
    MAX_BADGE_BYTES,
    MAX_SVG_BYTES,
    OB3_NAMESPACE,
    PNG_KEYWORD,
    PNG_SIGNATURE,
    bake_png,
    bake_svg,
    png_chunks,
    read_receipt_or_badge,
    unbake,
)
from anchor.sharing.links import linkedin_link, qr_codes
from anchor.sharing.share import share, share_receipts
from anchor.verifier import Verdict, Verifier, receipt_from_link

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def receipt_of(credential: dict[str, Any], index: int = 0) -> dict[str, Any]:
    proof = AnchorProof(
        chain_id=31337,
        registry=REGISTRY,
        batch_id=1,
        issuer_id=1,
        index=index,
        digest="0x" + "11" * 32,
        merkle_proof=tuple("0x" + f"{n:02x}" * 32 for n in range(12)),
        root="0x" + "33" * 32,
        transaction_hash="0x" + "44" * 32,
        block_number=5,
        anchored_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    return make_receipt(credential, proof)


@pytest.fixture(scope="module")
def receipt() -> dict[str, Any]:
    return receipt_of(next(generate_credentials(1, seed=11, issuer=issuer_for_country("DE"))))


@pytest.fixture(scope="module")
def small_png() -> bytes:
    """A tiny PNG (8x8): the byte-by-byte tests stay quick."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 60, 100)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def baked_png(receipt: dict[str, Any]) -> bytes:
    return bake_png(badge_png("Grundlagen der Wasserstofftechnik", "TH Mainfranken"), receipt)


@pytest.fixture(scope="module")
def baked_svg(receipt: dict[str, Any]) -> bytes:
    return bake_svg(badge_svg("Grundlagen der Wasserstofftechnik", "TH Mainfranken"), receipt)


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def credential_chunk(text: bytes, *, kind: bytes = b"iTXt", flags: bytes = b"\x00\x00") -> bytes:
    if kind == b"iTXt":
        return chunk(kind, PNG_KEYWORD.encode() + b"\x00" + flags + b"\x00\x00" + text)
    return chunk(kind, PNG_KEYWORD.encode() + b"\x00" + text)


def insert_after_ihdr(image: bytes, extra: bytes) -> bytes:
    at = len(PNG_SIGNATURE) + 8 + 13 + 4  # IHDR is always 13 bytes
    return image[:at] + extra + image[at:]


def refused(data: bytes) -> str:
    with pytest.raises(InvalidInputError) as caught:
        unbake(data)
    return str(caught.value)


# ---------------------------------------------------------------------------------------------- round trips


def test_png_and_svg_carry_the_receipt_exactly(receipt: dict[str, Any], baked_png: bytes, baked_svg: bytes) -> None:
    assert json.loads(unbake(baked_png)) == receipt
    assert json.loads(unbake(baked_svg)) == receipt


def test_the_png_chunk_is_as_open_badges_3_specifies(receipt: dict[str, Any], baked_png: bytes) -> None:
    chunks = list(png_chunks(baked_png))
    assert chunks[0][0] == b"IHDR"
    kind, body = chunks[1]  # right after IHDR, before the image data
    assert kind == b"iTXt"
    keyword, rest = body.split(b"\x00", 1)
    assert keyword == b"openbadgecredential"
    assert rest[:2] == b"\x00\x00"  # compression flag and method: none
    language, translated, text = rest[2:].split(b"\x00", 2)
    assert (language, translated) == (b"", b"")
    assert json.loads(text) == receipt
    assert [kind for kind, _ in chunks].count(b"iTXt") == 1


def test_rebaking_replaces_the_credential(receipt: dict[str, Any], baked_png: bytes) -> None:
    other = receipt_of(next(generate_credentials(1, seed=99, issuer=issuer_for_country("PL"))))
    again = bake_png(baked_png, other)
    assert json.loads(unbake(again)) == other
    assert sum(1 for kind, _ in png_chunks(again) if kind == b"iTXt") == 1


def test_a_credential_text_holding_the_cdata_end_survives_the_svg(receipt: dict[str, Any]) -> None:
    tricky = json.loads(json.dumps(receipt))
    tricky["credentialSubject"]["achievement"]["description"] = "a ]]> b ]]]]> <svg/> & </openbadges:credential>"
    baked = bake_svg(badge_svg("t", "i"), tricky)
    assert json.loads(unbake(baked)) == tricky


# ---------------------------------------------------------------------------------------------- independent readers


def test_pillow_reads_our_itxt_chunk(receipt: dict[str, Any], baked_png: bytes) -> None:
    with Image.open(io.BytesIO(baked_png)) as image:
        image.load()
        assert image.size == (600, 600)
        assert json.loads(image.text[PNG_KEYWORD]) == receipt


def test_pypng_checks_every_crc_and_finds_one_credential_chunk(receipt: dict[str, Any], baked_png: bytes) -> None:
    chunks = list(png.Reader(bytes=baked_png).chunks())  # pypng raises on a bad CRC
    texts = [bytes(body) for kind, body in chunks if bytes(kind) == b"iTXt"]
    assert len(texts) == 1
    assert json.loads(texts[0].split(b"\x00", 5)[5]) == receipt
    width, height, _, _ = png.Reader(bytes=baked_png).read()
    assert (width, height) == (600, 600)


def test_openbadges_bakery_2_knows_only_open_badges_2(
    receipt: dict[str, Any], baked_png: bytes, baked_svg: bytes
) -> None:
    # openbadges-bakery 2.0.0 reads the OB 2.0 `openbadges` keyword and <openbadges:assertion> only
    assert png_bakery.unbake(io.BytesIO(baked_png)) is None
    with pytest.raises(IndexError):
        svg_bakery.unbake(io.BytesIO(baked_svg))
    # where it applies: an OB 2.0 assertion baked by it into our badge is what it shows, so ours refuses the
    # image (two readers would show two credentials)...
    both = png_bakery.bake(io.BytesIO(baked_png), '{"type": "Assertion"}').read()
    assert json.loads(png_bakery.unbake(io.BytesIO(both))) == {"type": "Assertion"}
    assert "keyword 'openbadges' besides" in refused(both)
    # ...and an OB 2.0 badge it baked is refused by us, clearly: it carries no OB 3.0 credential
    ob2 = png_bakery.bake(io.BytesIO(badge_png("t", "i")), json.dumps(receipt)).read()
    assert "no iTXt chunk with keyword openbadgecredential" in refused(ob2)


def test_a_credential_chunk_in_another_case_besides_ours_is_refused(baked_png: bytes) -> None:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt("OpenBadgeCredential", '{"type": ["VerifiableCredential"]}')
    with Image.open(io.BytesIO(baked_png)) as image:
        out = io.BytesIO()
        image.save(out, format="PNG", pnginfo=info)
    again = bake_png(out.getvalue(), json.loads(unbake(baked_png)))  # ours added back, the other kept
    assert "keyword 'OpenBadgeCredential' besides" in refused(again)


def pillow_baked(receipt: dict[str, Any], *, zip_text: bool = False) -> bytes:
    """A PNG baked by Pillow's own iTXt writer (another implementation of the chunk)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt(PNG_KEYWORD, json.dumps(receipt), zip=zip_text)
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 160, 40)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def lxml_baked(receipt: dict[str, Any]) -> bytes:
    """An SVG baked with libxml2 (lxml): the element and its CDATA made by another XML writer."""
    svg = etree.Element("{http://www.w3.org/2000/svg}svg", nsmap={None: "http://www.w3.org/2000/svg"})
    credential = etree.SubElement(svg, f"{{{OB3_NAMESPACE}}}credential", nsmap={"openbadges": OB3_NAMESPACE})
    credential.text = etree.CDATA(json.dumps(receipt))
    etree.SubElement(svg, "{http://www.w3.org/2000/svg}circle", r="10")
    return bytes(etree.tostring(svg, xml_declaration=True, encoding="UTF-8"))


def test_we_read_badges_baked_by_pillow_and_libxml2(receipt: dict[str, Any]) -> None:
    assert json.loads(unbake(pillow_baked(receipt))) == receipt
    assert json.loads(unbake(lxml_baked(receipt))) == receipt
    # Pillow compresses the text when asked: Open Badges 3.0 does not allow it, and we say so
    assert "does not allow compression" in refused(pillow_baked(receipt, zip_text=True))


def test_libxml2_finds_the_credential_element(receipt: dict[str, Any], baked_svg: bytes) -> None:
    root = etree.fromstring(baked_svg, etree.XMLParser(resolve_entities=False, no_network=True))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    first = root[0]
    assert first.tag == f"{{{OB3_NAMESPACE}}}credential"
    assert first.prefix == "openbadges"
    assert json.loads(first.text) == receipt


def test_a_qr_decoder_reads_the_verification_link_back(receipt: dict[str, Any], tmp_path: Path) -> None:
    shared = share(receipt, tmp_path / "out")
    with Image.open(tmp_path / "out" / "qr.png") as image:
        found = zxingcpp.read_barcodes(image.convert("L"))
    assert [item.text for item in found] == [shared.link]
    assert json.loads(receipt_from_link(found[0].text)) == receipt
    svg = etree.fromstring((tmp_path / "out" / "qr.svg").read_bytes())
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"


def test_a_link_too_long_for_a_qr_code_is_named() -> None:
    with pytest.raises(InvalidInputError, match="more than a QR code holds"):
        qr_codes("https://verifier.example/#r=" + "A" * 4000)


# ---------------------------------------------------------------------------------------------- the shared folder


def test_share_writes_every_file_private(receipt: dict[str, Any], tmp_path: Path) -> None:
    shared = share(receipt, tmp_path / "out")
    names = {path.name for path in (tmp_path / "out").iterdir()}
    assert names == {
        "receipt.json",
        "badge.png",
        "badge.svg",
        "qr.png",
        "qr.svg",
        "verification-link.txt",
        "linkedin-link.txt",
        "how-to-verify.html",
    }
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o700
    assert {(tmp_path / "out" / name).stat().st_mode & 0o777 for name in names} == {0o600}
    assert json.loads((tmp_path / "out" / "receipt.json").read_text(encoding="utf-8")) == receipt
    assert (tmp_path / "out" / "verification-link.txt").read_text().strip() == shared.link


def test_the_linkedin_link_fills_the_certification_form(receipt: dict[str, Any]) -> None:
    link = linkedin_link(receipt, "https://verifier.example/#r=abc")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.linkedin.com", "/profile/add")
    query = {key: values[0] for key, values in parse_qs(parts.query, strict_parsing=True).items()}
    assert query == {
        "startTask": "CERTIFICATION_NAME",
        "name": "Grundlagen der Wasserstofftechnik",
        "organizationName": "Technische Hochschule Mainfranken",
        "issueYear": receipt["validFrom"][:4],
        "issueMonth": str(int(receipt["validFrom"][5:7])),
        "certUrl": "https://verifier.example/#r=abc",  # the fragment kept inside the parameter
        "certId": receipt["id"],
    }
    with pytest.raises(InvalidInputError, match="not an http"):
        linkedin_link(receipt, "javascript:alert(1)")


def test_the_page_escapes_the_credential_and_runs_no_script(receipt: dict[str, Any]) -> None:
    hostile = json.loads(json.dumps(receipt))
    hostile["credentialSubject"]["achievement"]["name"] = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    files, _ = share_files_of(hostile)
    page = files["how-to-verify.html"].decode()
    assert "<script" not in page.lower()
    assert "<img src=x" not in page  # the text stays text: no element, no attribute broken out of
    assert '"&gt;' not in page
    assert "&quot;&gt;&lt;img" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "anchor verify badge.png" in page
    svg = etree.fromstring(files["badge.svg"])  # the CDATA holds "<script>" as text, never as an element
    assert [node.tag for node in svg.iter() if "script" in str(node.tag).lower() or "img" in str(node.tag)] == []
    assert svg.find("{http://www.w3.org/2000/svg}title").text == hostile["credentialSubject"]["achievement"]["name"]
    assert json.loads(unbake(files["badge.svg"])) == hostile


def share_files_of(receipt: dict[str, Any]) -> tuple[dict[str, bytes], Any]:
    from anchor.sharing.share import share_files

    return share_files(receipt)


def test_one_folder_per_learner_even_when_names_collide(tmp_path: Path) -> None:
    credentials = list(generate_credentials(3, seed=5, issuer=issuer_for_country("DE")))
    for credential in credentials:  # the same learner name in three cases, ids with the same tail
        credential["credentialSubject"]["identifier"][0]["identityHash"] = "Ægir ../Ø"
    credentials[1]["credentialSubject"]["identifier"][0]["identityHash"] = "ægir ../ø"
    credentials[0]["id"] = "urn:example:a:course-000001"
    credentials[1]["id"] = "urn:example:b:course-000001"
    credentials[2]["id"] = "urn:example:c:course-000001"
    paths = []
    for number, credential in enumerate(credentials):
        path = tmp_path / f"{number}.json"
        path.write_text(json.dumps(receipt_of(credential, number)), encoding="utf-8")
        paths.append(path)
    shared = share_receipts(paths, tmp_path / "share")
    folders = [item.folder.name for item in shared]
    assert len({name.casefold() for name in folders}) == 3, folders
    assert folders[0] == learner_folder_name("Ægir ../Ø", "urn:example:a:course-000001")
    assert all("/" not in name and ".." not in name and not name.startswith(".") for name in folders)
    for item, credential in zip(shared, credentials, strict=True):
        assert json.loads(unbake((item.folder / "badge.png").read_bytes()))["id"] == credential["id"]


# ---------------------------------------------------------------------------------------------- bad images


def test_two_credential_chunks_are_refused(small_png: bytes, receipt: dict[str, Any]) -> None:
    text = json.dumps(receipt).encode()
    other = json.dumps({**receipt, "id": "urn:uuid:00000000-0000-4000-8000-000000000000"}).encode()
    twice = insert_after_ihdr(small_png, credential_chunk(text) + credential_chunk(other))
    assert "2 openbadgecredential chunks" in refused(twice)
    # the same credential twice too: a reader must never have to choose
    assert "2 openbadgecredential chunks" in refused(insert_after_ihdr(small_png, credential_chunk(text) * 2))
    # nor one in iTXt and one in tEXt (Pillow, for one, would show the later one)
    mixed = insert_after_ihdr(small_png, credential_chunk(text) + credential_chunk(other, kind=b"tEXt"))
    assert "tEXt chunk" in refused(mixed)


def test_a_compressed_or_non_utf8_or_jwt_credential_is_refused(small_png: bytes) -> None:
    packed = zlib.compress(b'{"a": 1}')
    assert "compressed" in refused(insert_after_ihdr(small_png, credential_chunk(packed, flags=b"\x01\x00")))
    assert "not UTF-8" in refused(insert_after_ihdr(small_png, credential_chunk(b'{"a": "\xff"}')))
    assert "compact JWS" in refused(insert_after_ihdr(small_png, credential_chunk(b"eyJhbGciOi.eyJpc3Mi.c2ln")))


def test_every_truncation_of_a_baked_png_is_refused(small_png: bytes, receipt: dict[str, Any]) -> None:
    baked = bake_png(small_png, receipt)
    for end in range(len(PNG_SIGNATURE), len(baked)):
        with pytest.raises(InvalidInputError):
            unbake(baked[:end])
    message = refused(baked[: len(baked) // 2])
    assert "truncated" in message
    assert "iTXt" in message  # the chunk cut is named


def test_every_flipped_byte_of_a_baked_png_is_refused(small_png: bytes, receipt: dict[str, Any]) -> None:
    baked = bake_png(small_png, receipt)
    for position in range(len(baked)):
        changed = bytearray(baked)
        changed[position] ^= 0x20
        with pytest.raises(InvalidInputError):
            unbake(bytes(changed))
    changed = bytearray(baked)
    changed[len(baked) // 2] ^= 0x01
    assert "fails its CRC check" in refused(bytes(changed))


def test_bytes_after_iend_are_refused(baked_png: bytes) -> None:
    assert "after its IEND" in refused(baked_png + json.dumps({"id": "x"}).encode())


def test_an_image_over_the_cap_is_refused_without_reading_it_whole(tmp_path: Path, baked_png: bytes) -> None:
    huge = tmp_path / "huge.png"
    with huge.open("wb") as stream:
        stream.write(baked_png[:-12])  # up to IEND
        stream.write(chunk(b"tEXt", b"padding\x00" + b"x" * (50 << 20)))
        stream.write(baked_png[-12:])
    assert huge.stat().st_size > 50 << 20
    with huge.open("rb") as stream:
        data = read_receipt_or_badge(stream)
    assert len(data) == MAX_BADGE_BYTES + 1
    assert "larger than 10 MiB" in refused(data)


def test_an_svg_over_its_cap_is_refused(baked_svg: bytes) -> None:
    padded = baked_svg.replace(b"</svg>", b"<g/>" * (MAX_SVG_BYTES // 4) + b"</svg>")
    assert "the SVG image is larger than 2 MiB" in refused(padded)
    assert json.loads(unbake(baked_svg.replace(b"</svg>", b"<g/>" * 100_000 + b"</svg>")))["type"]


SVG_XXE = b"""<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY leak SYSTEM "file:///etc/hostname">]>
<svg xmlns="http://www.w3.org/2000/svg"><openbadges:credential xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"
>&leak;</openbadges:credential></svg>"""
SVG_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;">]>
<svg xmlns="http://www.w3.org/2000/svg"><title>&c;</title></svg>"""


@pytest.mark.parametrize("document", [SVG_XXE, SVG_LAUGHS], ids=["external-entity", "entity-expansion"])
def test_an_svg_with_a_dtd_or_entity_is_refused(document: bytes) -> None:
    message = refused(document)
    assert "no DTD or entities allowed" in message


def test_svgs_without_exactly_one_ob3_credential_are_refused(receipt: dict[str, Any], baked_svg: bytes) -> None:
    text = baked_svg.decode()
    start = text.index("<openbadges:credential")
    end = text.index("</openbadges:credential>") + len("</openbadges:credential>")
    element = text[start:end]
    assert "2 credential elements" in refused((text[:end] + element + text[end:]).encode())
    ob2 = text.replace(OB3_NAMESPACE, "http://openbadges.org")
    assert "carries no credential" in refused(ob2.encode())
    nested = text.replace("<![CDATA[", "<g/><![CDATA[", 1)
    assert "holds markup" in refused(nested.encode())
    assert "not an SVG" in refused(b'<html xmlns="http://www.w3.org/1999/xhtml"/>')
    assert "not well-formed" in refused(baked_svg[:-20])


def test_the_verifier_reports_a_bad_badge_as_unusable_never_valid(small_png: bytes, receipt: dict[str, Any]) -> None:
    text = json.dumps(receipt).encode()
    twice = insert_after_ihdr(small_png, credential_chunk(text) * 2)
    with Verifier(["http://127.0.0.1:9"], [REGISTRY]) as verifier:  # never reached: refused before any request
        for bad in (twice, bake_png(small_png, receipt)[:-30], SVG_XXE):
            result = verifier.verify(bad)
            assert result.verdict is Verdict.ERROR
            check = result.check("receipt")
            assert (check.code, check.state.value) == ("bad-badge", "failed")
            assert check.reason.startswith("not a usable baked badge: ")
