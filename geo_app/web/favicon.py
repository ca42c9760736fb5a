"""The site icon, drawn here: a white map pin on the header's maroon. ``/favicon.svg`` for pages that link
it, ``/favicon.ico`` (16 and 32 px) for browsers that ask for it by themselves (the map pages, files opened
directly), so no page logs a 404 for it."""

from __future__ import annotations

import io
from functools import lru_cache

from flask import Blueprint, Response

from .access import public

bp = Blueprint("favicon", __name__)

MAROON = "#7a1f1f"
SVG = f"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="6" fill="{MAROON}"/>
<path d="M16 4a8.5 8.5 0 0 0-8.5 8.5C7.5 19 16 28 16 28s8.5-9 8.5-15.5A8.5 8.5 0 0 0 16 4z" fill="#fff"/>
<circle cx="16" cy="12.5" r="3.2" fill="{MAROON}"/>
</svg>
"""
MAX_AGE = 86400


@lru_cache(maxsize=1)
def ico_bytes() -> bytes:
    """The same pin as a 16/32 px ICO, drawn with Pillow at 4x and scaled down (smooth edges)."""
    from PIL import Image, ImageDraw

    scale = 4
    size = 32 * scale
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=6 * scale, fill=MAROON)
    cx, top, r = 16 * scale, 4 * scale, 8.5 * scale
    draw.ellipse((cx - r, top, cx + r, top + 2 * r), fill="white")
    draw.polygon([(cx - r * 0.86, top + r * 1.5), (cx + r * 0.86, top + r * 1.5), (cx, 28 * scale)], fill="white")
    hole = 3.2 * scale
    draw.ellipse((cx - hole, 12.5 * scale - hole, cx + hole, 12.5 * scale + hole), fill=MAROON)
    out = io.BytesIO()
    image.resize((32, 32), Image.LANCZOS).save(out, format="ICO", sizes=[(16, 16), (32, 32)])
    return out.getvalue()


def _cached(response: Response) -> Response:
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    return response


@bp.get("/favicon.ico")
@public
def favicon_ico():
    return _cached(Response(ico_bytes(), mimetype="image/vnd.microsoft.icon"))


@bp.get("/favicon.svg")
@public
def favicon_svg():
    return _cached(Response(SVG, mimetype="image/svg+xml"))
