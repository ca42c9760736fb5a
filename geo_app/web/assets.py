"""``/assets/``: the front-end files of :mod:`geo_app.maps.assets`, served from the table resolved at
start (never a path joined from the request), and map pages rendered with links to them."""

from __future__ import annotations

import re

import folium
from flask import Blueprint, abort, current_app, jsonify, send_file, url_for

from ..errors import AssetMissing
from ..maps.assets import CACHE_MAX_AGE, PACKAGES, app_registry, render_offline
from .access import public

#: Put on every script tag of a map page when it is rendered (and cached); each response replaces it
#: with its own Content-Security-Policy nonce (geo_app/web/headers.py).
NONCE_PLACEHOLDER = "csp-nonce-placeholder-5b1f"


def render_map_page(m: folium.Map) -> str:
    """Render a map for the current request with links to this app's ``/assets/``; its script tags
    carry the nonce placeholder (data is HTML-escaped, so no ``<script`` tag can come from data)."""
    html = render_offline(m, app_registry(current_app), url_for("assets.index"))
    return re.sub(r"<script(?=[\s>])", f'<script nonce="{NONCE_PLACEHOLDER}"', html)


def create_blueprint():
    """``/assets/<key>/<version>/<file>``: installed files only, cached for a year."""
    bp = Blueprint("assets", __name__, url_prefix="/assets")

    @bp.get("/")
    @public
    def index():
        # what is installed, without server paths
        status = app_registry(current_app).status()
        return jsonify({k: {f: v for f, v in info.items() if f != "root"} for k, info in status.items()})

    @bp.get("/<key>/<version>/<path:filename>", merge_slashes=False)  # "//etc" is a 404, not a redirect
    @public
    def serve(key: str, version: str, filename: str):
        # only an exact entry of the table resolved at start is served; anything else is a 404
        # (a missing package too: its details name server paths, which visitors must not see)
        registry = app_registry(current_app)
        try:
            path = registry.served_files(key).get(filename) if key in PACKAGES else None
            installed = registry.locate(key)[1] if path is not None else None
        except AssetMissing:
            path = installed = None
        if path is None or installed != version:
            abort(404)
        response = send_file(path, max_age=CACHE_MAX_AGE, conditional=True)
        response.cache_control.public = True
        response.cache_control.immutable = True
        return response

    return bp
