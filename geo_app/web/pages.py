"""HTML pages: landing page and maps."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from ..errors import ValidationError
from ..maps.assets import render_map_page
from ..maps.overview import BASE_MAPS, build_overview_map
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
    base = request.args.get("peta_dasar", "osm")
    if base not in BASE_MAPS:
        raise ValidationError(f"peta_dasar harus salah satu dari {', '.join(BASE_MAPS)}, bukan {base!r}")
    m = build_overview_map(desa_frame(session), kecamatan_frame(session), base=base)
    return render_map_page(m)
