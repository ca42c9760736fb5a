from __future__ import annotations

from flask import Blueprint, jsonify

from ..app_db import get_session
from ..services.boundaries import health
from .access import public

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    return jsonify(health(get_session()))
