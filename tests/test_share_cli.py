"""``anchor share`` and ``anchor batch run --share`` end to end on anvil, and ``anchor verify`` of baked badges.

A did:web issuer signs and anchors a batch; ``batch run --share`` writes one folder per learner; the baked
PNG and SVG verify VALID on the command line (signature, anchoring and all); a badge re-baked with a changed
credential is TAMPERED; bad images (two credential chunks, a truncated chunk, an external entity, 50 MB) exit 2
with the reason, never a traceback and never VALID.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

from click.testing import Result

from anchor.credentials.examples import issuer_for_country
from anchor.sharing.badge import badge_png, badge_svg
from anchor.sharing.baking import PNG_KEYWORD, bake_png, bake_svg, unbake

from support.local_issuer import issued_on_a_local_chain

ISSUER = issuer_for_country("FI")
DID = "did:web:osaamismerkit.example"
FILES = {
    "receipt.json",
    "badge.png",
    "badge.svg",
    "qr.png",
    "qr.svg",
    "verification-link.txt",
    "linkedin-link.txt",
    "how-to-verify.html",
}


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_share_a_batch_and_verify_its_badges(tmp_path: Path) -> None:
    with issued_on_a_local_chain(tmp_path, ISSUER, DID, 3) as anchor:
        share = tmp_path / "share"
        ran = anchor("batch", "run", "--dev-account", "1", "--share", share, "--base-url", "https://verify.example/")
        assert ran.exit_code == 0, ran.output
        assert "3 learner folder(s) to share" in ran.output
        folders = sorted(share.iterdir())
        assert len(folders) == 3
        for folder in folders:
            assert {path.name for path in folder.iterdir()} == FILES
            assert (folder / "verification-link.txt").read_text().startswith("https://verify.example/#r=")
        did_json = tmp_path / "did.json"
        assert anchor("did", "document", "--out", did_json).exit_code == 0

        def verify(*paths: Path) -> Result:
            return anchor("--home", tmp_path / "home", "verify", *paths, "--did-document", did_json)

        # the badges themselves verify, with the issuer's signature (their receipt carries both proofs)
        badge = folders[0] / "badge.png"
        receipt = json.loads(unbake(badge.read_bytes()))
        assert [proof["type"] for proof in receipt["proof"]] == ["DataIntegrityProof", "AnchorMerkleProof"]
        verdict = verify(badge)
        assert verdict.exit_code == 0, verdict.output
        assert "Signed by the issuer" in verdict.output
        assert verdict.output.rstrip().endswith("VALID")
        every = verify(*(folder / name for folder in folders for name in ("badge.png", "badge.svg")))
        assert every.exit_code == 0, every.output
        assert "6 receipts: 6 valid, 0 invalid, 0 error" in every.output

        # anchor deliver: each learner's folder (or e-mail) carries the baked badge and the verification link
        delivered = anchor("deliver", "--batch", "1", "--to-dir", tmp_path / "all", "--base-url", "https://v.example/")
        assert delivered.exit_code == 0, delivered.output
        for folder in sorted((tmp_path / "all").iterdir()):
            names = {path.name for path in folder.iterdir()}
            assert {"badge.png", "verification-link.txt"} < names
            (receipt_file,) = folder.glob("*.json")
            assert json.loads(unbake((folder / "badge.png").read_bytes())) == json.loads(receipt_file.read_text())
            assert (folder / "verification-link.txt").read_text().startswith("https://v.example/#r=")
            assert (folder / "badge.png").stat().st_mode & 0o777 == 0o600
        assert verify(next((tmp_path / "all").iterdir()) / "badge.png").exit_code == 0

        # anchor share on one receipt file
        out = tmp_path / "one"
        shared = anchor("share", folders[1] / "receipt.json", "--out", out)
        assert shared.exit_code == 0, shared.output
        assert {path.name for path in out.iterdir()} == FILES
        assert verify(out / "badge.svg").exit_code == 0

        # a badge re-baked with a changed credential: the image is well formed, the credential is not the issuer's
        changed = json.loads(json.dumps(receipt))
        changed["credentialSubject"]["identifier"][0]["identityHash"] = "Someone Else"
        forged = tmp_path / "forged.png"
        forged.write_bytes(bake_png(badge.read_bytes(), changed))
        forged_svg = tmp_path / "forged.svg"
        forged_svg.write_bytes(bake_svg(badge_svg("t", "i"), changed))
        for path in (forged, forged_svg):
            tampered = verify(path)
            assert tampered.exit_code == 1, tampered.output
            assert "TAMPERED" in tampered.output

        # bad images: refused with their reason, exit 2
        image = badge_png("t", "i")
        at = 8 + 25  # after IHDR
        text = json.dumps(receipt).encode()
        itxt = _chunk(b"iTXt", PNG_KEYWORD.encode() + b"\x00\x00\x00\x00\x00" + text)
        bad = {
            "two.png": (image[:at] + itxt + itxt + image[at:], "2 openbadgecredential chunks"),
            "truncated.png": (bake_png(image, receipt)[: at + 2000], "the PNG is truncated: chunk 1 (iTXt)"),
            "entity.svg": (
                b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
                "no DTD or entities allowed",
            ),
            "huge.png": (
                bake_png(image, receipt)[:-12] + _chunk(b"zTXt", b"x\x00\x00" + b"\x00" * (50 << 20)),
                "10 MiB",
            ),
        }
        for name, (content, reason) in bad.items():
            path = tmp_path / name
            path.write_bytes(content)
            result = verify(path)
            assert result.exit_code == 2, (name, result.output)
            assert "not a usable baked badge" in result.output, name
            assert reason in result.output, (name, result.output)
            assert "Traceback" not in result.output

        # anchor share refuses what is not a receipt
        refused = anchor("share", badge, "--out", tmp_path / "nothing")
        assert refused.exit_code == 2
        assert "error:" in refused.output
