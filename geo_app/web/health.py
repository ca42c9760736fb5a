from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import func, select

from ..store.db import data_version, get_session
from ..store.models import Desa
from .access import public

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    session = get_session()
    desa = session.scalar(select(func.count()).select_from(Desa))
    return jsonify({"status": "ok", "desa": desa, "data_version": data_version(session)})
