"""Coverage-gap API: ``/api/coverage`` (per desa), ``/api/coverage/kecamatan``, ``/api/coverage/kabupaten``,
``/api/gaps``.

Query parameters: ``format`` (json|csv|geojson), ``kabupaten`` and ``kecamatan`` (code or name; unknown:
a 400 listing the loaded ones), ``status`` (comma-separated), ``limit`` (gaps only). With several
kabupaten loaded, desa and kecamatan rows carry ``kabupaten_code`` and ``kabupaten_name``. Everything else is a coverage setting (``date``,
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

_VIEW_PARAMS = {"format", "kabupaten", "kecamatan", "status", "limit"}


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


def _places(result) -> tuple[str | None, str | None]:
    """The ``kecamatan`` and ``kabupaten`` filters as codes (checked to agree)."""
    kecamatan = service.resolve_kecamatan(result, request.args.get("kecamatan"))
    kabupaten = service.resolve_kabupaten(result, request.args.get("kabupaten"))
    service.check_kecamatan_in_kabupaten(result, kecamatan, kabupaten)
    return kecamatan, kabupaten


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
    kecamatan, kabupaten = _places(result)
    desa = service.filter_desa(result.desa, kecamatan, statuses, kabupaten)
    settings = result.settings.to_dict()
    cols = service.desa_columns(result)
    if fmt == "csv":
        return _csv_response(service.to_csv(service.rows(desa, cols), cols), "coverage")
    if fmt == "geojson":
        return geojson_response(
            lambda: service.to_geojson(
                desa, cols, settings=settings, summary=service.summary_for(result, kecamatan, kabupaten)
            )
        )
    return jsonify(
        {
            "settings": settings,
            "summary": service.summary_for(result, kecamatan, kabupaten),
            "count": len(desa),
            "desa": service.rows(desa, cols),
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
    kecamatan, kabupaten = _places(result)
    table = service.filter_kecamatan(result, kecamatan, kabupaten)
    cols = service.kecamatan_columns(result)
    summary = service.summary_for(result, kabupaten=kabupaten)
    if fmt == "csv":
        return _csv_response(service.to_csv(service.rows(table, cols), cols), "coverage_kecamatan")
    if fmt == "geojson":
        return geojson_response(
            lambda: service.to_geojson(table, cols, settings=result.settings.to_dict(), summary=summary)
        )
    return jsonify(
        {
            "settings": result.settings.to_dict(),
            "summary": summary,
            "count": len(table),
            "kecamatan": service.rows(table, cols),
        }
    )


@bp.get("/coverage/kabupaten")
@role("viewer")
@conditional_by_version
def coverage_kabupaten():
    """The per-kabupaten roll-up (desa, per status, share uncovered, TPS, voters, ...); json or csv."""
    fmt = service.parse_format(request.args.get("format"), ("json", "csv"))
    for name in ("status", "kecamatan"):
        if request.args.get(name):
            raise ValidationError(
                f"{name}: not a filter of the kabupaten roll-up; use /api/coverage?{name}=...",
                details={name: "not supported here"},
            )
    result = _result()
    kabupaten = service.resolve_kabupaten(result, request.args.get("kabupaten"))
    table = service.kabupaten_table(result)
    if kabupaten:
        table = table[table["code"] == kabupaten]
    cols = service.KABUPATEN_COLUMNS
    if fmt == "csv":
        return _csv_response(service.to_csv(service.rows(table, cols), cols), "coverage_kabupaten")
    return jsonify(
        {
            "settings": result.settings.to_dict(),
            "summary": service.summary_for(result),
            "count": len(table),
            "kabupaten": service.rows(table, cols),
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
    kecamatan, kabupaten = _places(result)
    table = service.filter_desa(result.gaps(), kecamatan, statuses, kabupaten)
    if limit:
        table = table.head(limit)
    cols = service.desa_columns(result, service.GAP_COLUMNS)
    records = service.rows(table, cols)
    if fmt == "csv":
        return _csv_response(service.to_csv(records, cols), "gaps")
    if fmt == "geojson":
        return geojson_response(
            lambda: service.to_geojson(
                table,
                cols,
                settings=result.settings.to_dict(),
                summary=service.summary_for(result, kecamatan, kabupaten),
            )
        )
    return jsonify(
        {
            "settings": result.settings.to_dict(),
            "summary": service.summary_for(result, kecamatan, kabupaten),
            "count": len(records),
            "gaps": records,
        }
    )
