"""JSON/GeoJSON API for boundaries: kabupaten, kecamatan and desa (``?kabupaten=`` code or name filters
kecamatan and desa)."""

from __future__ import annotations

from flask import Blueprint, request

from ..app_db import get_session
from ..services import boundaries as boundary_service
from .access import role
from .caching import conditional_by_version
from .geodata import geojson_response
from .serialise import feature_collection

bp = Blueprint("api", __name__, url_prefix="/api")

KABUPATEN_PROPERTIES = [
    "code",
    "name",
    "kind",
    "kecamatan_count",
    "desa_count",
    "kelurahan_count",
    "area_km2",
    "rep_lon",
    "rep_lat",
]
DESA_PROPERTIES = [
    "code",
    "name",
    "kind",
    "kecamatan_code",
    "kecamatan_name",
    "kabupaten_code",
    "kabupaten_name",
    "area_km2",
    "rep_lon",
    "rep_lat",
]
KECAMATAN_PROPERTIES = [
    "code",
    "name",
    "kind",
    "kecamatan_code",
    "kecamatan_name",
    "kabupaten_code",
    "area_km2",
    "desa_count",
]


@bp.get("/kecamatan")
@role("viewer")
@conditional_by_version
def kecamatan_list():
    return geojson_response(
        lambda: feature_collection(
            boundary_service.kecamatan_list(get_session(), request.args.get("kabupaten")), KECAMATAN_PROPERTIES
        )
    )


@bp.get("/desa")
@role("viewer")
@conditional_by_version
def desa_list():
    return geojson_response(
        lambda: feature_collection(
            boundary_service.desa_list(get_session(), request.args.get("kabupaten")), DESA_PROPERTIES
        )
    )


@bp.get("/desa/<code>")
@role("viewer")
@conditional_by_version
def desa_detail(code: str):
    row = boundary_service.desa_detail(get_session(), code)
    return geojson_response(lambda: feature_collection(row, DESA_PROPERTIES)["features"][0])


@bp.get("/kabupaten")
@role("viewer")
@conditional_by_version
def kabupaten_list():
    """Each kabupaten/kota with its kecamatan, desa and kelurahan counts and area (km²)."""
    return geojson_response(
        lambda: feature_collection(boundary_service.kabupaten_list(get_session()), KABUPATEN_PROPERTIES)
    )
