"""Security headers on every response, in one place.

The Content-Security-Policy allows scripts only from this site and inline scripts that carry the
request's nonce: templates write ``nonce="{{ csp_nonce() }}"``, and map pages (rendered once and
cached) carry :data:`NONCE_PLACEHOLDER` on their own script tags, replaced here per response. Inline
event handlers, ``javascript:`` URLs and scripts from elsewhere do not run. Styles may be inline
(folium and Leaflet position every element with style attributes). Images may come from the tile
hosts of the ``TILE_HOSTS`` setting.
"""

from __future__ import annotations

import re
import secrets

from flask import Flask, Response, g, request

from .assets import NONCE_PLACEHOLDER

_HOST = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?$")


def content_security_policy(nonce: str, tile_hosts: list[str]) -> str:
    images = " ".join(["'self'", "data:", *tile_hosts])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


def tile_hosts(setting: str) -> list[str]:
    """The ``TILE_HOSTS`` setting as a list of https origins; anything else is refused at start."""
    hosts = [h.strip().rstrip("/") for h in (setting or "").split(",") if h.strip()]
    bad = [h for h in hosts if not _HOST.match(h)]
    if bad:
        raise ValueError(f"GEO_APP_TILE_HOSTS: not an https origin: {', '.join(bad)}")
    return hosts


def register(app: Flask) -> None:
    hosts = tile_hosts(app.config.get("TILE_HOSTS", ""))
    app.jinja_env.globals["csp_nonce"] = lambda: g.get("csp_nonce", "")

    @app.before_request
    def _make_nonce() -> None:
        g.csp_nonce = secrets.token_urlsafe(18)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        nonce = g.get("csp_nonce") or secrets.token_urlsafe(18)
        if response.mimetype == "text/html" and not response.direct_passthrough:
            body = response.get_data()
            if NONCE_PLACEHOLDER.encode() in body:
                response.set_data(body.replace(NONCE_PLACEHOLDER.encode(), nonce.encode()))
        headers = response.headers
        if response.status_code != 304:
            # a 304's headers replace the stored ones: a new nonce would block the cached page's scripts
            headers.setdefault("Content-Security-Policy", content_security_policy(nonce, hosts))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        headers.setdefault("Referrer-Policy", "same-origin")
        revalidated = "private" in headers.get("Cache-Control", "")  # geo_app/web/caching.py: private, no-cache
        if g.get("identity") is not None and request.blueprint != "assets" and not revalidated:
            headers["Cache-Control"] = "no-store"  # nothing a logged-in user saw stays in a shared cache
        if response.status_code >= 400:
            headers["Cache-Control"] = "no-store"  # errors are never cached
        return response
