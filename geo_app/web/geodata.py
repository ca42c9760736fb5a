"""Data responses as GIS clients expect them: GeoJSON media type, Content-Length, a strong ETag from
the data version and the request, 304 on ``If-None-Match``, ``Accept-Ranges: bytes`` and 206 partial
content for ``Range`` requests (GDAL's ``/vsicurl`` reads larger documents in byte ranges).

Views under ``@conditional_by_version`` (``caching.py``) answer ``Cache-Control: private, no-cache``:
a client keeps the body privately and revalidates with ``If-None-Match`` (a 304 when nothing changed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Response, g, request

from .. import geojson
from ..app_db import get_session
from ..services import ogc as ogc_service


def etag_for(*parts: Any) -> str:
    """A strong ETag from the data version, the path, the query string and what else the body depends on."""
    version = ogc_service.data_version(get_session())
    raw = "\x1f".join(map(str, (version, date.today(), request.path, request.query_string.decode("latin-1"), *parts)))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:40]


def conditional(
    build: Callable[[], bytes], mimetype: str, *etag_parts: Any, headers: dict[str, str] | None = None
) -> Response:
    """``build()`` as the body of a conditional, range-aware response; not built at all on a 304.

    Under ``@conditional_by_version`` (``caching.py``) the ETag is the one it worked out already."""
    etag = g.get("http_etag") or etag_for(mimetype, *etag_parts)
    if request.if_none_match.contains(etag):
        resp = Response(status=304)
        resp.set_etag(etag)
        return resp
    body = build()
    resp = Response(body, mimetype=mimetype, headers=headers or {})
    resp.set_etag(etag)
    resp.headers["Content-Length"] = str(len(body))
    return resp.make_conditional(request, accept_ranges=True, complete_length=len(body))


def geojson_response(build: Callable[[], dict[str, Any]], *etag_parts: Any, **kwargs: Any) -> Response:
    return conditional(lambda: geojson.dumps(build()), geojson.MEDIA_TYPE, *etag_parts, **kwargs)
