"""HTML pages: landing page and maps."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from ..errors import NotFound, ValidationError
from ..maps.assets import render_map_page
from ..maps.overview import BASE_MAPS, build_kecamatan_map, build_overview_map
from ..services.boundaries import kecamatan_summary, require_boundaries
from ..store.adapter import desa_frame, kecamatan_frame
from ..store.db import get_session

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    session = get_session()
    return render_template("index.html", kecamatan=kecamatan_summary(session))


@bp.get("/map")
def overview_map():
    session = get_session()
    require_boundaries(session)
    m = build_overview_map(desa_frame(session), kecamatan_frame(session), base=_base_param())
    return render_map_page(m)


@bp.get("/map/kecamatan/<code>")
def kecamatan_map(code: str):
    session = get_session()
    require_boundaries(session)
    kecamatan = kecamatan_frame(session)
    if code not in set(kecamatan["code"]):
        raise NotFound(f"Kecamatan dengan kode {code!r} tidak ditemukan / no such kecamatan")
    m = build_kecamatan_map(desa_frame(session, kecamatan=code), kecamatan, code, base=_base_param())
    return render_map_page(m)


def _base_param() -> str:
    base = request.args.get("peta_dasar", "osm")
    if base not in BASE_MAPS:
        raise ValidationError(f"peta_dasar harus salah satu dari {', '.join(BASE_MAPS)}, bukan {base!r}")
    return base
