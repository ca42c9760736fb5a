"""Coverage-gap API: ``/api/coverage`` (per desa), ``/api/coverage/kecamatan``, ``/api/gaps``.

Query parameters: ``format`` (json|csv|geojson), ``kecamatan`` (code or name), ``status``
(comma-separated), ``limit`` (gaps only); everything else is a coverage setting (``date``,
``window_days``, ``incident_window_days``, ``at_risk_threshold``, ``severity_weight.high``,
``requirement.rawan.police``, ...). Unknown parameters are refused with a 400 naming them.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from ..app_db import get_session
from ..errors import ValidationError
from ..services import coverage as service
from .access import role
from .caching import conditional_by_version
from .geodata import geojson_response

bp = Blueprint("coverage_api", __name__, url_prefix="/api")

_VIEW_PARAMS = {"format", "kecamatan", "status", "limit"}


def _cache() -> service.CoverageCache:
    return current_app.extensions.setdefault("geo_app.coverage_cache", service.CoverageCache())


def _result():
    overrides = {k: v for k, v in request.args.items() if k not in _VIEW_PARAMS}
    settings = service.coverage_settings(overrides)
    return service.get_coverage(get_session(), settings, _cache())


def _csv_response(text: str, name: str) -> Response:
    return Response(
        text, mimetype="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}.csv"'}
    )


def _limit() -> int | None:
    raw = request.args.get("limit", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ValidationError(
            f"limit: expected a whole number >= 1, got {raw!r}", details={"limit": "not a positive number"}
        )
    return int(raw)


@bp.get("/coverage")
@role("viewer")
@conditional_by_version
def coverage():
    fmt = service.parse_format(request.args.get("format"))
    statuses = service.parse_statuses(request.args.get("status"))
    result = _result()
    kecamatan = service.resolve_kecamatan(result, request.args.get("kecamatan"))
    desa = service.filter_desa(result.desa, kecamatan, statuses)
    settings = result.settings.to_dict()
    if fmt == "csv":
        return _csv_response(service.to_csv(service.rows(desa, service.DESA_COLUMNS), service.DESA_COLUMNS), "coverage")
    if fmt == "geojson":
        return geojson_response(
            lambda: service.to_geojson(
                desa, service.DESA_COLUMNS, settings=settings, summary=service.summary_for(result, kecamatan)
            )
        )
    return jsonify(
        {
            "settings": settings,
            "summary": service.summary_for(result, kecamatan),
            "count": len(desa),
            "desa": service.rows(desa, service.DESA_COLUMNS),
        }
    )


@bp.get("/coverage/kecamatan")
@role("viewer")
@conditional_by_version
def coverage_kecamatan():
    fmt = service.parse_format(request.args.get("format"))
    if request.args.get("status"):
        raise ValidationError(
            "status: filters desa, not kecamatan; use /api/coverage?status=...",
            details={"status": "not supported here"},
        )
    result = _result()
    kecamatan = service.resolve_kecamatan(result, request.args.get("kecamatan"))
    table = result.kecamatan if not kecamatan else result.kecamatan[result.kecamatan["code"] == kecamatan]
    cols = service.KECAMATAN_COLUMNS
    if fmt == "csv":
        return _csv_response(service.to_csv(service.rows(table, cols), cols), "coverage_kecamatan")
    if fmt == "geojson":
        return geojson_response(
            lambda: service.to_geojson(
                table, cols, settings=result.settings.to_dict(), summary=service.summary_for(result)
            )
        )
    return jsonify(
        {
            "settings": result.settings.to_dict(),
            "summary": service.summary_for(result),
            "count": len(table),
            "kecamatan": service.rows(table, cols),
        }
    )


@bp.get("/gaps")
@role("viewer")
@conditional_by_version
def gaps():
    fmt = service.parse_format(request.args.get("format"))
    statuses = service.parse_statuses(request.args.get("status"))
    if statuses and "covered" in statuses:
        raise ValidationError(
            "status: covered desa are not gaps; choose from uncovered, at_risk, insecure",
            details={"status": "covered is not a gap"},
        )
    limit = _limit()
    result = _result()
    kecamatan = service.resolve_kecamatan(result, request.args.get("kecamatan"))
    table = service.filter_desa(result.gaps(), kecamatan, statuses)
    if limit:
        table = table.head(limit)
    records = service.rows(table, service.GAP_COLUMNS)
    if fmt == "csv":
        return _csv_response(service.to_csv(records, service.GAP_COLUMNS), "gaps")
    if fmt == "geojson":
        return geojson_response(
            lambda: service.to_geojson(
                table,
                service.GAP_COLUMNS,
                settings=result.settings.to_dict(),
                summary=service.summary_for(result, kecamatan),
            )
        )
    return jsonify(
        {
            "settings": result.settings.to_dict(),
            "summary": service.summary_for(result, kecamatan),
            "count": len(records),
            "gaps": records,
        }
    )
