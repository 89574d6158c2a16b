"""Links a learner shares: LinkedIn's "add to profile" form for a certification, and a QR code of a link.

LinkedIn's documented add-to-profile URL (``https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME``)
pre-fills the certification form from its query: ``name``, ``organizationName`` (an issuer without a LinkedIn
page id), ``issueYear``/``issueMonth``, ``expirationYear``/``expirationMonth``, ``certUrl`` and ``certId``. The
learner still confirms the form on LinkedIn; nothing is sent from here.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from anchor.credentials import credential_id, credential_title, issuer_name, valid_from, valid_until
from anchor.errors import InvalidInputError

LINKEDIN_ADD_TO_PROFILE: Final = "https://www.linkedin.com/profile/add"
#: Modules of space around a QR code (the standard's quiet zone), and pixels per module in the PNG.
QR_BORDER: Final = 4
QR_SCALE: Final = 4


def linkedin_link(credential: Mapping[str, Any], cert_url: str) -> str:
    """LinkedIn's add-to-profile link for ``credential``, whose credential URL is ``cert_url``."""
    if urlsplit(cert_url).scheme not in {"http", "https"}:
        raise InvalidInputError(f"the credential URL {cert_url!r} is not an http(s) URL")
    issued = valid_from(credential)
    fields: dict[str, str | int] = {
        "startTask": "CERTIFICATION_NAME",
        "name": credential_title(credential),
        "organizationName": issuer_name(credential),
        "issueYear": issued.year,
        "issueMonth": issued.month,
    }
    expires = valid_until(credential)
    if expires is not None:
        fields |= {"expirationYear": expires.year, "expirationMonth": expires.month}
    fields |= {"certUrl": cert_url, "certId": credential_id(credential)}
    return f"{LINKEDIN_ADD_TO_PROFILE}?{urlencode(fields)}"


def _qr(link: str) -> Any:
    import segno

    try:
        return segno.make(link, error="L", micro=False, boost_error=True)
    except segno.DataOverflowError:
        raise InvalidInputError(f"the link is {len(link)} characters: more than a QR code holds (2953 bytes)") from None


def qr_codes(link: str) -> tuple[bytes, bytes]:
    """A QR code of ``link`` as a PNG and as an SVG document (black on white, quiet zone included).

    Encoded once for both (choosing the mask pattern is most of the work: about 0.3 s for a 2 KiB link).
    """
    code = _qr(link)
    png, svg = io.BytesIO(), io.BytesIO()
    code.save(png, kind="png", scale=QR_SCALE, border=QR_BORDER)
    code.save(svg, kind="svg", scale=QR_SCALE, border=QR_BORDER, xmldecl=False, svgclass=None, lineclass=None)
    return png.getvalue(), svg.getvalue()
