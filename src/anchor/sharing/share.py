"""``anchor share``: everything a learner needs to show one credential, written to one folder.

========================  ===============================================================================
``receipt.json``          the receipt as issued (the credential with its proofs)
``badge.png``             the badge, the receipt baked in (Open Badges 3.0, :mod:`anchor.sharing.baking`)
``badge.svg``             the same as SVG
``qr.png``, ``qr.svg``    a QR code of the verification link (left out, with a note, if the link is too long)
``verification-link.txt`` the link to the verification page that carries the receipt (:func:`receipt_link`)
``linkedin-link.txt``     LinkedIn's "add to profile" link for the certification form
``how-to-verify.html``    a short plain-language page: how anyone can check the credential
========================  ===============================================================================

Every file holds the learner's personal data: the folder is 0700 and the files 0600.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Final

from anchor.credentials import (
    credential_id,
    credential_title,
    issuer_name,
    learner_name,
    parse_credential,
    valid_from,
)
from anchor.credentials.receipt import split_receipt
from anchor.errors import InvalidInputError
from anchor.files import learner_folder_name, private_directory, write_private_bytes
from anchor.sharing.badge import badge_png, badge_svg
from anchor.sharing.baking import bake_png, bake_svg
from anchor.sharing.links import linkedin_link, qr_codes
from anchor.verifier.archive import stored_receipts
from anchor.verifier.links import receipt_link

#: The verification page links point to by default (where ``anchor serve`` runs).
DEFAULT_BASE_URL: Final = "http://127.0.0.1:8000/"


@dataclass
class Shared:
    """What :func:`share` wrote."""

    folder: Path
    files: list[str] = field(default_factory=list)
    link: str = ""
    linkedin: str = ""
    notes: list[str] = field(default_factory=list)
    """What was left out, and why (a link too long for a QR code)."""


def read_receipt(data: bytes, source: str) -> dict[str, Any]:
    """The receipt in ``data`` (strict JSON, one anchoring proof); InvalidInputError naming ``source`` else."""
    document = parse_credential(data, source=source)
    split_receipt(document)
    return dict(document)


def share_files(receipt: Mapping[str, Any], base_url: str = DEFAULT_BASE_URL) -> tuple[dict[str, bytes], Shared]:
    """The files of the module doc for ``receipt`` (by name, in memory), and what they say."""
    credential, _ = split_receipt(dict(receipt))
    title, issuer = credential_title(credential), issuer_name(credential)
    link = receipt_link(receipt, base_url)
    linkedin = linkedin_link(credential, link)
    shared = Shared(Path(), link=link, linkedin=linkedin)
    files: dict[str, bytes] = {
        "receipt.json": (json.dumps(receipt, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
        "badge.png": bake_png(badge_png(title, issuer), receipt),
        "badge.svg": bake_svg(badge_svg(title, issuer), receipt),
    }
    try:
        files["qr.png"], files["qr.svg"] = qr_codes(link)
    except InvalidInputError as error:
        shared.notes.append(f"no QR code: {error}")
    files["verification-link.txt"] = (link + "\n").encode("ascii")
    files["linkedin-link.txt"] = (linkedin + "\n").encode("ascii")
    files["how-to-verify.html"] = explainer_page(receipt, link, linkedin, base_url, qr="qr.png" in files).encode()
    shared.files = list(files)
    return files, shared


def delivery_files(receipt: Mapping[str, Any], base_url: str = DEFAULT_BASE_URL) -> dict[str, bytes]:
    """What ``anchor deliver`` sends each learner besides the receipt: the baked PNG badge and the link."""
    credential, _ = split_receipt(dict(receipt))
    image = badge_png(credential_title(credential), issuer_name(credential))
    link = receipt_link(receipt, base_url)
    return {"badge.png": bake_png(image, receipt), "verification-link.txt": (link + "\n").encode("ascii")}


def share(receipt: Mapping[str, Any], out: Path, base_url: str = DEFAULT_BASE_URL) -> Shared:
    """Write the files of the module doc for ``receipt`` into folder ``out`` (made 0700; files 0600)."""
    files, shared = share_files(receipt, base_url)
    private_directory(out)
    for name, content in files.items():
        write_private_bytes(out / name, content)
    shared.folder = out
    return shared


def share_receipts(paths: Iterable[Path], out: Path, base_url: str = DEFAULT_BASE_URL) -> list[Shared]:
    """:func:`share` each receipt of ``paths`` into a folder of its own under ``out``, one per learner: a
    receipt file, each ``*.json`` file of a batch's folder, each receipt of an archive (``*.tar``).

    A folder is named by :func:`~anchor.files.learner_folder_name` (safe on any file system); two that would
    be the same, or differ only in case or Unicode form (one folder on macOS or Windows), get ``-2``, ``-3``...
    """
    done: list[Shared] = []
    used: set[str] = set()
    for receipt_file in (receipt for path in paths for receipt in stored_receipts(path)):
        receipt = read_receipt(receipt_file.read(), receipt_file.source)
        credential, _ = split_receipt(receipt)
        base = learner_folder_name(_learner(credential), credential_id(credential))
        name, number = base, 1
        while unicodedata.normalize("NFC", name).casefold() in used:
            number += 1
            name = f"{base}-{number}"
        used.add(unicodedata.normalize("NFC", name).casefold())
        done.append(share(receipt, out / name, base_url))
    return done


def _learner(credential: Mapping[str, Any]) -> str:
    """The learner's name, or empty when the credential names them only by hashed identifiers."""
    try:
        return learner_name(credential)
    except InvalidInputError:
        return ""


def explainer_page(receipt: Mapping[str, Any], link: str, linkedin: str, base_url: str, *, qr: bool) -> str:
    """The plain-language page of how to verify (no script; every text from the credential escaped)."""
    credential, _ = split_receipt(dict(receipt))
    title = escape(credential_title(credential))
    issuer = escape(issuer_name(credential))
    learner = escape(_learner(credential) or "the learner")
    issued = valid_from(credential).date().isoformat()
    proofs = receipt.get("proof")
    signed = any(isinstance(item, dict) and item.get("type") == "DataIntegrityProof" for item in proofs or [])
    signed_text = "signed and " if isinstance(proofs, list) and signed else ""
    page = escape(base_url, quote=True)
    qr_image = '<p><img src="qr.png" alt="QR code of the verification link" width="240"></p>' if qr else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self'; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<title>{title}: how to verify</title>
<style>body{{font-family:sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}
code{{background:#eee;padding:0 .2rem}}</style>
</head>
<body>
<h1>{title}</h1>
<p><img src="badge.png" alt="The badge of {title}" width="200"></p>
<p>{issuer} awarded this micro-credential to {learner} on {issued}.</p>
<h2>How to check that it is real</h2>
<p>The badge carries the whole credential, {signed_text}recorded by {issuer} on a public blockchain.
Anyone can check it in one of these ways; each says VALID only if the credential is unchanged, was
recorded by its issuer and has not been withdrawn.</p>
<ol>
<li>Open the <a href="{escape(link, quote=True)}" rel="noreferrer">verification link</a>
(or scan the QR code). The credential travels inside the link and is checked by the page.</li>
<li>Drop the file <code>badge.png</code> or <code>badge.svg</code> onto the verification page at
<a href="{page}" rel="noreferrer">{escape(base_url)}</a>.</li>
<li>With the <code>anchor</code> tool: <code>anchor verify badge.png</code> (or <code>receipt.json</code>).</li>
</ol>
{qr_image}
<h2>Show it on LinkedIn</h2>
<p><a href="{escape(linkedin, quote=True)}" rel="noreferrer">Add it to your LinkedIn profile</a>: the form is
filled in for you, and you confirm it there.</p>
<p><strong>Note:</strong> the badge, the link and the QR code carry everything the credential says about you
(your name and your result). Share them only with whom you choose.</p>
</body>
</html>
"""
