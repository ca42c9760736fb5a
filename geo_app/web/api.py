"""JSON/GeoJSON API for boundaries."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..errors import NotFound
from ..services.boundaries import require_boundaries
from ..store.adapter import desa_frame, kecamatan_frame
from ..store.db import get_session
from .access import role
from .serialise import feature_collection

bp = Blueprint("api", __name__, url_prefix="/api")

DESA_PROPERTIES = ["code", "name", "kind", "kecamatan_code", "kecamatan_name", "area_km2", "rep_lon", "rep_lat"]
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
def kecamatan_list():
    session = get_session()
    require_boundaries(session)
    kec = kecamatan_frame(session)
    counts = desa_frame(session)["kecamatan_code"].value_counts()
    kec = kec.assign(
        kind="kecamatan",
        kecamatan_code=kec["code"],
        kecamatan_name=kec["name"],
        desa_count=[int(counts.get(c, 0)) for c in kec["code"]],
    )
    return jsonify(feature_collection(kec, KECAMATAN_PROPERTIES))


@bp.get("/desa")
@role("viewer")
def desa_list():
    session = get_session()
    require_boundaries(session)
    return jsonify(feature_collection(desa_frame(session), DESA_PROPERTIES))


@bp.get("/desa/<code>")
@role("viewer")
def desa_detail(code: str):
    session = get_session()
    require_boundaries(session)  # an empty database is a 503, not "this desa does not exist"
    row = desa_frame(session, code=code)
    if row.empty:
        raise NotFound(f"desa {code!r} tidak ditemukan / not found")
    return jsonify(feature_collection(row, DESA_PROPERTIES)["features"][0])
