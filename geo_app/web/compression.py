"""Response compression (issue 11): brotli or gzip for text the browser asks for compressed.

Flask-Compress does the work for HTML, JSON, GeoJSON (``application/geo+json``), CSV, JavaScript,
CSS and SVG when the request's ``Accept-Encoding`` names ``br`` or ``gzip``; every response says
``Vary: Accept-Encoding``. Files that are compressed already (PNG, XLSX, ZIP, GeoPackage) are
left alone: their media types are not in the list.

Two cases Flask-Compress does not handle the way this app needs:

- a ``206 Partial Content`` answer (GDAL reads GeoJSON in byte ranges) is a slice of the
  uncompressed body, and its ``Content-Range`` counts uncompressed bytes: it is never compressed;
- the versioned front-end files under ``/assets/`` are streamed from disk; they are compressed once
  per file and encoding and kept (their URLs carry the version, so a file never changes under a URL).
"""

from __future__ import annotations

import threading

from flask import Flask, Response, request
from flask_compress import Compress
from flask_compress.flask_compress import _choose_algorithm, _compress_data

#: media types worth compressing (the defaults of Flask-Compress, plus GeoJSON, CSV, JavaScript)
COMPRESSED_TYPES = (
    "text/html",
    "text/css",
    "text/plain",
    "text/csv",
    "text/xml",
    "text/javascript",
    "application/javascript",
    "application/x-javascript",
    "application/json",
    "application/geo+json",
    "application/problem+json",
    "application/schema+json",
    "application/vnd.oai.openapi+json",
    "application/xml",
    "image/svg+xml",
)

#: brotli first: browsers that offer both (all current ones) get the smaller body
ALGORITHMS = ("br", "gzip")


class AppCompress(Compress):
    """Flask-Compress with the two exceptions of this module's docstring."""

    def __init__(self, app: Flask | None = None) -> None:
        self._asset_bodies: dict[tuple[str, str, str], bytes] = {}
        self._asset_lock = threading.Lock()
        super().__init__(app)

    def after_request(self, response: Response | None) -> Response:
        if response is not None and (response.status_code == 206 or "Content-Range" in response.headers):
            _vary_accept_encoding(response)
            return response
        if response is not None and request.blueprint == "assets" and response.status_code == 200:
            return self._compress_asset(response)
        return super().after_request(response)

    def _compress_asset(self, response: Response) -> Response:
        _vary_accept_encoding(response)
        algorithm = _choose_algorithm(self.enabled_algorithms, request.headers.get("Accept-Encoding", ""))
        if algorithm is None or response.mimetype not in self.compress_mimetypes_set:
            return response
        response.direct_passthrough = False
        key = (request.path, algorithm, str(response.get_etag()[0]))
        with self._asset_lock:
            body = self._asset_bodies.get(key)
        if body is None:
            body = _compress_data(self.app, response.get_data(), algorithm)
            with self._asset_lock:
                self._asset_bodies[key] = body
        else:
            response.get_data()  # read (and later close) the file send_file opened
        response.set_data(body)
        response.headers["Content-Encoding"] = algorithm
        etag, weak = response.get_etag()
        if etag:
            response.set_etag(f"{etag}:{algorithm}", weak=weak)
        return response


def _vary_accept_encoding(response: Response) -> None:
    vary = response.headers.get("Vary", "")
    if "accept-encoding" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"


def register(app: Flask) -> None:
    """Compress responses of ``app``. Registered before the other after-request hooks, so it runs last
    (Flask runs them in reverse): the body is final (CSP nonce filled in) when it is compressed."""
    app.config.setdefault("COMPRESS_MIMETYPES", list(COMPRESSED_TYPES))
    app.config.setdefault("COMPRESS_ALGORITHM", list(ALGORITHMS))
    app.config.setdefault("COMPRESS_LEVEL", 6)  # gzip
    app.config.setdefault("COMPRESS_BR_LEVEL", 4)  # fast, and still smaller than gzip -6
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    app.config.setdefault("COMPRESS_STREAMS", False)  # streamed bodies: the asset files, handled above
    # the views answer If-None-Match themselves (geo_app/web/caching.py), before doing any work
    app.config.setdefault("COMPRESS_EVALUATE_CONDITIONAL_REQUEST", False)
    app.extensions["geo_app.compress"] = AppCompress(app)
