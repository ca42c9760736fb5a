"""Map data by request for the map pages (a shell that fetches its data): ``/api/map/...``.

Every endpoint reads the view parameters the map pages read (``date``, ``window_days``,
``incident_window_days``, ``kecamatan``, ``category``, ``peta_dasar``, ``lang``; see
``services.map_data.parse_view``) plus, where it applies, ``bbox=minlon,minlat,maxlon,maxlat`` and
``zoom`` (0..20). A bad value is a 400 naming the parameter.

- ``/api/map/desa``: desa in the bbox, simplified for the zoom, status, colour, popup, label point
  (``format=topojson``: the same as TopoJSON, shared borders written once);
- ``/api/map/kecamatan``: kecamatan outlines for the zoom with label point, counts, share of uncovered
  desa and its roll-up colour;
- ``/api/map/kabupaten``: kabupaten outlines for the zoom with label point, counts, share of uncovered
  desa, roll-up colour (``i18n.SHARE_RAMP``), bounds and popup (the province overview's roll-up);
- ``/api/map/points/<kind>`` (tps, incidents, meetings): records in the bbox, one by one when few
  (``MAP_POINTS_THRESHOLD``), else grid clusters whose counts add up to ``total``;
- ``/api/map/heat``: incidents in the bbox aggregated and weighted by severity;
- ``/api/map/legend``: desa per status in the view.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request, url_for

from .. import geojson
from ..app_db import current_settings, get_session
from ..config import setting
from ..errors import ValidationError
from ..i18n import LANGS
from ..services import coverage as coverage_service
from ..services import map_data as service
from ..services.layers import LruCache
from .access import role
from .caching import conditional_by_version

bp = Blueprint("map_data", __name__, url_prefix="/api/map")

JSON = "application/json"


def _coverage_cache() -> coverage_service.CoverageCache:
    return current_app.extensions.setdefault("geo_app.coverage_cache", coverage_service.CoverageCache())


def map_data_cache() -> LruCache:
    """Prepared map data of this app, per data version and coverage settings."""
    return current_app.extensions.setdefault("geo_app.map_data_cache", LruCache(maxsize=8))


def _lang() -> str:
    raw = request.args.get("lang")
    if raw is not None:
        if raw not in LANGS:
            raise ValidationError(
                f"lang: {raw!r} tidak dikenal / unknown; pilihan / choose: {', '.join(LANGS)}",
                details={"lang": "unknown language"},
            )
        return raw
    from .pages import current_lang

    return current_lang()


@bp.before_request
def _check_lang() -> None:
    _lang()  # a bad ?lang= is a 400 on every endpoint, also those without text


def _prepared():
    return service.load(get_session(), request.args, _coverage_cache(), map_data_cache())


def _bbox_zoom():
    return service.parse_area(request.args)


def _json(body: dict[str, Any], mimetype: str = JSON) -> Response:
    return Response(geojson.dumps(body), mimetype=mimetype)


@bp.get("/desa")
@role("viewer")
@conditional_by_version
def desa():
    bbox, zoom = _bbox_zoom()
    view, prep = _prepared()
    q = view.query()
    fmt = (request.args.get("format") or "geojson").strip().lower()
    body = service.desa_collection(
        prep, view, bbox, zoom, _lang(), desa_url=lambda code: url_for("pages.desa_page", code=code, **q), fmt=fmt
    )
    return _json(body, geojson.MEDIA_TYPE if fmt == "geojson" else JSON)


@bp.get("/kecamatan")
@role("viewer")
@conditional_by_version
def kecamatan():
    zoom = service.parse_zoom(request.args)
    _view, prep = _prepared()
    return _json(service.kecamatan_collection(prep, zoom), geojson.MEDIA_TYPE)


@bp.get("/kabupaten")
@role("viewer")
@conditional_by_version
def kabupaten():
    zoom = service.parse_zoom(request.args)
    view, prep = _prepared()
    q = view.query(kabupaten=None, kecamatan=None)
    body = service.kabupaten_collection(
        prep, view, zoom, _lang(), kabupaten_url=lambda code: url_for("pages.kabupaten_page", code=code, **q)
    )
    return _json(body, geojson.MEDIA_TYPE)


@bp.get("/points/<kind>")
@role("viewer")
@conditional_by_version
def points(kind: str):
    if kind not in service.POINT_KINDS:
        raise ValidationError(
            f"kind: {kind!r} tidak dikenal / unknown; pilihan / choose: {', '.join(service.POINT_KINDS)}",
            details={"kind": "unknown kind"},
        )
    bbox, zoom = _bbox_zoom()
    view, prep = _prepared()
    threshold = int(setting(current_settings(), "MAP_POINTS_THRESHOLD"))
    return _json(service.points_response(prep, kind, view, bbox, zoom, _lang(), threshold=threshold))


@bp.get("/heat")
@role("viewer")
@conditional_by_version
def heat():
    bbox, zoom = _bbox_zoom()
    view, prep = _prepared()
    return _json(service.heat_response(prep, view, bbox, zoom))


@bp.get("/legend")
@role("viewer")
@conditional_by_version
def legend():
    view, prep = _prepared()
    return _json(service.legend(prep, view, _lang()))
