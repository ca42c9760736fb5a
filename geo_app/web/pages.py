"""HTML pages: landing page and maps."""
from __future__ import annotations

from flask import Blueprint, render_template

from ..maps.overview import build_overview_map
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
    m = build_overview_map(desa_frame(session), kecamatan_frame(session))
    return m.get_root().render()
