"""OGC API – Features Part 1 (Core, GeoJSON, HTML) under ``/ogc``, for QGIS, ArcGIS and GDAL (``OAPIF:``).

Thin views: parameters are parsed and collections loaded in ``geo_app.services.ogc``; here the
documents are encoded as JSON/GeoJSON (``f=json``, ``Accept: application/(geo+)json``, the default)
or HTML (``f=html``, or a browser's ``Accept: text/html``). Same roles as the JSON API: a viewer
token or session (401 without one unless anonymous viewing is on).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for

from .. import geojson
from ..errors import ValidationError
from ..services import coverage as coverage_service
from ..services import ogc as service
from .access import role
from .caching import conditional_by_version
from .geodata import conditional, get_session
from .locale import page_area

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"


def _format(geo: bool = False) -> str:
    """``json`` or ``html`` from ``f`` or the Accept header; a bad ``f`` is a 400."""
    raw = request.args.get("f")
    if raw is not None and raw.strip():
        value = raw.strip().lower()
        if value in ("json", "geojson"):
            return "json"
        if value == "html":
            return "html"
        raise ValidationError("f: harus json atau html / must be json or html", details={"f": f"unknown {raw!r}"})
    offered = [geojson.MEDIA_TYPE, JSON, HTML] if geo else [JSON, HTML]
    best = request.accept_mimetypes.best_match(offered, default=JSON)
    return "html" if best == HTML else "json"


def _url(endpoint: str, **values: Any) -> str:
    return url_for(endpoint, _external=True, **values)


def _self_links(endpoint: str, fmt: str, json_type: str = JSON, **values: Any) -> list[dict[str, str]]:
    args = {k: v for k, v in request.args.items() if k != "f"}
    json_link = {"href": _url(endpoint, **values, **args, f="json"), "type": json_type, "title": "JSON"}
    html_link = {"href": _url(endpoint, **values, **args, f="html"), "type": HTML, "title": "HTML"}
    if fmt == "html":
        return [{**html_link, "rel": "self"}, {**json_link, "rel": "alternate"}]
    return [{**json_link, "rel": "self"}, {**html_link, "rel": "alternate"}]


def _cache() -> coverage_service.CoverageCache:
    return current_app.extensions.setdefault("geo_app.coverage_cache", coverage_service.CoverageCache())


def _app_settings() -> dict[str, Any]:
    return current_app.config["GEO_APP_SETTINGS"]


def _answer(doc: dict[str, Any], fmt: str, title: str, json_type: str = JSON, **page: Any) -> Response:
    """The document as JSON, or the HTML page showing it; conditional and range-aware either way."""
    if fmt == "html":

        def html() -> bytes:
            return render_template("ogc/page.html", title=title, doc=doc, **page).encode("utf-8")

        return conditional(html, "text/html", date.today(), "html", page_area().title())
    # the landing page and the API definition name the loaded area: another import changes their ETag
    return conditional(lambda: geojson.dumps(doc), json_type, date.today(), "json", page_area().title())


@bp.get("")
@bp.get("/")
@role("viewer")
def landing():
    fmt = _format()
    doc = {
        "title": page_area().title(),
        "description": "OGC API – Features: batas wilayah, cakupan koordinasi, TPS, insiden dan rakor / "
        "boundaries, coordination coverage, polling stations, incidents and meetings.",
        "links": [
            *_self_links("ogc.landing", fmt),
            {"href": _url("ogc.api_definition"), "rel": "service-desc", "type": OPENAPI, "title": "OpenAPI"},
            {"href": _url("ogc.api_definition", f="html"), "rel": "service-doc", "type": HTML, "title": "API"},
            {"href": _url("ogc.conformance"), "rel": "conformance", "type": JSON, "title": "Conformance"},
            {"href": _url("ogc.collections"), "rel": "data", "type": JSON, "title": "Collections"},
        ],
    }
    return _answer(doc, fmt, doc["title"])


@bp.get("/conformance")
@role("viewer")
def conformance():
    fmt = _format()
    doc = {"conformsTo": CONFORMANCE, "links": _self_links("ogc.conformance", fmt)}
    return _answer(doc, fmt, "Conformance")


def _collection_doc(coll: service.Collection, bbox: list[float], temporal: list | None) -> dict[str, Any]:
    items = "ogc.items"
    extent: dict[str, Any] = {"spatial": {"bbox": [bbox], "crs": CRS84}}
    if temporal is not None:
        extent["temporal"] = {"interval": [temporal], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return {
        "id": coll.id,
        "title": coll.title,
        "description": coll.description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": extent,
        "links": [
            {"href": _url("ogc.collection", cid=coll.id), "rel": "self", "type": JSON, "title": coll.title},
            {"href": _url("ogc.collection", cid=coll.id, f="html"), "rel": "alternate", "type": HTML},
            {
                "href": _url(items, cid=coll.id, f="json"),
                "rel": "items",
                "type": geojson.MEDIA_TYPE,
                "title": "GeoJSON",
            },
            {"href": _url(items, cid=coll.id, f="html"), "rel": "items", "type": HTML, "title": "HTML"},
        ],
    }


@bp.get("/collections")
@role("viewer")
def collections():
    fmt = _format()
    session = get_session()
    bbox = service.spatial_extent(session)
    colls = [
        _collection_doc(c, bbox, service.temporal_extent(session, _app_settings(), c))
        for c in service.COLLECTIONS.values()
    ]
    doc = {"links": _self_links("ogc.collections", fmt), "collections": colls}
    return _answer(doc, fmt, "Collections")


@bp.get("/collections/<cid>")
@role("viewer")
def collection(cid: str):
    fmt = _format()
    coll = service.collection(cid)
    session = get_session()
    doc = _collection_doc(
        coll, service.spatial_extent(session), service.temporal_extent(session, _app_settings(), coll)
    )
    return _answer(doc, fmt, coll.title)


def _feature(cid: str, found: service.Item, links: bool = False) -> dict[str, Any]:
    out = geojson.feature(geojson.geometry(found.geometry), found.properties, found.id)
    if links:
        out["links"] = [
            *_self_links("ogc.item", "json", geojson.MEDIA_TYPE, cid=cid, fid=found.id),
            {"href": _url("ogc.collection", cid=cid), "rel": "collection", "type": JSON},
        ]
    return out


@bp.get("/collections/<cid>/items")
@role("viewer")
@conditional_by_version(key=lambda: _format(geo=True), vary="Accept")
def items(cid: str):
    fmt = _format(geo=True)
    page = service.items_page(get_session(), _app_settings(), cid, request.args, _cache())
    query = page.query
    args = {k: v for k, v in request.args.items() if k not in ("offset", "f")}
    args["limit"] = str(query.limit)
    links = _self_links("ogc.items", fmt, geojson.MEDIA_TYPE, cid=cid)
    f = "html" if fmt == "html" else "json"
    if query.offset + len(page.items) < page.matched:
        nxt = _url("ogc.items", cid=cid, **args, offset=query.offset + query.limit, f=f)
        links.append({"href": nxt, "rel": "next", "type": HTML if fmt == "html" else geojson.MEDIA_TYPE})
    if query.offset > 0:
        prev = _url("ogc.items", cid=cid, **args, offset=max(0, query.offset - query.limit), f=f)
        links.append({"href": prev, "rel": "prev", "type": HTML if fmt == "html" else geojson.MEDIA_TYPE})
    links.append({"href": _url("ogc.collection", cid=cid), "rel": "collection", "type": JSON})
    doc = geojson.feature_collection(
        [_feature(cid, i) for i in page.items],
        links=links,
        numberMatched=page.matched,
        numberReturned=len(page.items),
        timeStamp=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    )
    if fmt == "html":
        return _answer(doc, fmt, service.collection(cid).title, features=doc["features"])
    body = geojson.dumps(doc)
    return conditional(lambda: body, geojson.MEDIA_TYPE, date.today())


@bp.get("/collections/<cid>/items/<fid>")
@role("viewer")
@conditional_by_version(key=lambda: _format(geo=True), vary="Accept")
def item(cid: str, fid: str):
    fmt = _format(geo=True)
    found = service.item(get_session(), _app_settings(), cid, fid, request.args, _cache())
    doc = _feature(cid, found, links=True)
    if fmt == "html":
        return _answer(doc, fmt, f"{service.collection(cid).title} {found.id}", features=[doc])
    return _answer(doc, fmt, str(found.id), geojson.MEDIA_TYPE)


@bp.get("/api")
@role("viewer")
def api_definition():
    """A small OpenAPI 3.0 document of these paths (service-desc)."""
    fmt = _format()
    param = {
        "bbox": {"name": "bbox", "in": "query", "schema": {"type": "array", "items": {"type": "number"}}},
        "limit": {
            "name": "limit",
            "in": "query",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": service.MAX_LIMIT,
                "default": service.DEFAULT_LIMIT,
            },
        },
        "offset": {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
        "datetime": {"name": "datetime", "in": "query", "schema": {"type": "string"}},
        "f": {"name": "f", "in": "query", "schema": {"type": "string", "enum": ["json", "html"]}},
    }
    paths: dict[str, Any] = {
        "/ogc": {"get": {"summary": "Landing page", "responses": {"200": {"description": "landing page"}}}},
        "/ogc/conformance": {"get": {"summary": "Conformance", "responses": {"200": {"description": "classes"}}}},
        "/ogc/collections": {"get": {"summary": "Collections", "responses": {"200": {"description": "list"}}}},
    }
    for coll in service.COLLECTIONS.values():
        filters = [{"name": n, "in": "query", "schema": {"type": "string"}} for n in coll.filters]
        paths[f"/ogc/collections/{coll.id}/items"] = {
            "get": {
                "summary": coll.title,
                "parameters": [*param.values(), *filters],
                "responses": {"200": {"description": "GeoJSON FeatureCollection"}},
            }
        }
        paths[f"/ogc/collections/{coll.id}/items/{{featureId}}"] = {
            "get": {
                "summary": f"{coll.title}: one feature",
                "parameters": [{"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "GeoJSON Feature"}, "404": {"description": "not found"}},
            }
        }
    doc = {
        "openapi": "3.0.3",
        "info": {"title": f"{page_area().title()} – OGC API Features", "version": "1.0"},
        "servers": [{"url": request.host_url.rstrip("/")}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
    if fmt == "html":
        return _answer({"links": [], "openapi": json.dumps(doc, indent=1)}, fmt, "OpenAPI")
    return _answer(doc, fmt, "OpenAPI", OPENAPI)
