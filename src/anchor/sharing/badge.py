"""The badge picture: the achievement's title (and the issuer's name) on a round badge, as PNG and as SVG.

Drawn here, with nothing fetched: the PNG with Pillow and the font Pillow ships (Aileron, Latin script; a
letter it lacks shows as a box), the SVG as text that the viewer's own fonts render (any script). Both are
deterministic: the same texts give the same bytes.
"""

from __future__ import annotations

import io
import textwrap
from functools import lru_cache
from typing import Final
from xml.sax.saxutils import escape, quoteattr

#: Width and height of the PNG, in pixels.
SIZE: Final = 600
_FILL: Final = "#1f3a68"
_RING: Final = "#d4a62a"
_TEXT: Final = "#ffffff"
#: Most characters of the title on one line, and most lines shown.
_WRAP: Final = 22
_MAX_LINES: Final = 4


def _lines(text: str, width: int, most: int) -> list[str]:
    """``text`` on at most ``most`` lines of about ``width`` characters, cut with an ellipsis if longer."""
    lines = textwrap.wrap(" ".join(text.split()), width, break_long_words=True) or [""]
    if len(lines) > most:
        lines = lines[:most]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return lines


@lru_cache(maxsize=32)
def badge_png(title: str, issuer: str) -> bytes:
    """A PNG badge showing ``title`` and ``issuer`` (not baked: see :func:`anchor.sharing.baking.bake_png`).

    Kept for the next call (drawing takes tens of milliseconds; a batch's learners share a few courses).
    """
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, SIZE - 8, SIZE - 8), fill=_FILL, outline=_RING, width=18)
    heading = ImageFont.load_default(30)
    big = ImageFont.load_default(40)
    small = ImageFont.load_default(24)
    centre = SIZE // 2
    draw.text((centre, 120), "Micro-credential", font=heading, fill=_RING, anchor="mm")
    lines = _lines(title, _WRAP, _MAX_LINES)
    top = centre - 25 * (len(lines) - 1) - 20
    for number, line in enumerate(lines):
        draw.text((centre, top + 50 * number), line, font=big, fill=_TEXT, anchor="mm")
    for number, line in enumerate(_lines(issuer, 34, 2)):
        draw.text((centre, 440 + 30 * number), line, font=small, fill=_TEXT, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def badge_svg(title: str, issuer: str) -> str:
    """An SVG badge showing ``title`` and ``issuer`` (text escaped; not baked)."""
    lines = _lines(title, _WRAP, _MAX_LINES)
    top = 300 - 25 * (len(lines) - 1) - 20
    spans = "".join(
        f'<text x="300" y="{top + 50 * number}" font-size="40">{escape(line)}</text>'
        for number, line in enumerate(lines)
    )
    issuers = "".join(
        f'<text x="300" y="{440 + 30 * number}" font-size="24">{escape(line)}</text>'
        for number, line in enumerate(_lines(issuer, 34, 2))
    )
    label = quoteattr(f"{title} ({issuer})")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 600 600" '
        f'role="img" aria-label={label}>'
        f"<title>{escape(title)}</title>"
        f'<circle cx="300" cy="300" r="283" fill="{_FILL}" stroke="{_RING}" stroke-width="18"/>'
        f'<g font-family="sans-serif" text-anchor="middle" dominant-baseline="middle" fill="{_TEXT}">'
        f'<text x="300" y="120" font-size="30" fill="{_RING}">Micro-credential</text>'
        f"{spans}{issuers}</g></svg>\n"
    )
