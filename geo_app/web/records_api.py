"""JSON API for rakor, TPS and insiden: list (JSON or GeoJSON), create, read, update, soft delete, restore.

Thin views: the body and query string are parsed here, everything else is in
``geo_app.services.records``; errors are typed and answered by ``geo_app.web.errors``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from ..app_db import current_settings as _settings
from ..app_db import get_session
from ..errors import RecordInvalid, ValidationError
from ..ingest.records_file import KIND_FIELDS
from ..records import parse, vocab
from ..services import records as service
from ..services.boundaries import representative_points
from ..services.coverage import CoverageCache
from . import NUL_MESSAGE, has_nul
from .access import role
from .auth import actor
from .geodata import geojson_response
from .serialise import records_feature_collection

bp = Blueprint("records_api", __name__, url_prefix="/api")

#: URL segment -> record kind of the service layer.
RESOURCES = {"meetings": "meetings", "polling-stations": "tps", "incidents": "incidents"}
_RESOURCE_RULE = '<any(meetings, "polling-stations", incidents):resource>'

#: Input fields a body may carry per kind: the canonical fields a record file may have too.
INPUT_FIELDS = {kind: frozenset(fields) for kind, fields in KIND_FIELDS.items()}
#: Output names accepted back as input, so a client can send a record it read (GET) with changes.
OUTPUT_ALIASES = {
    "meetings": {
        "host_kabupaten_code": "kabupaten",
        "host_kecamatan_code": "kecamatan",
        "host_desa_code": "desa_code",
        "reached_desa_codes": "reached_desa",
    },
    "tps": {},
    "incidents": {},
}
#: Computed or bookkeeping fields: ignored in a body rather than rejected.
READ_ONLY = {
    "id",
    "created_at",
    "updated_at",
    "deleted_at",
    "point_desa_code",
    "location_mismatch",
    "placement",
    "content_hash",
    "point_source",
    "kind",
    "coverage_changes",  # in write responses: a client may send such an answer back
    "deleted",
    "warnings",
}
#: Request switches a body may carry besides the record's fields (also accepted in the query string).
CONTROL_FIELDS = {"allow_duplicate"}
LIST_FIELDS = {"agencies", "reached_desa"}
_SCALARS = (str, int, float, bool, type(None))
MAX_PAGE = 1_000_000


def _kind(resource: str) -> str:
    return RESOURCES[resource]


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} bukan angka JSON yang sah / not valid JSON")


def json_body(kind: str) -> dict[str, Any]:
    """The request body as canonical input fields; 400 for bad JSON, a non-object, unknown or non-scalar fields."""
    data = request.get_data(cache=True)
    if not data.strip():
        raise ValidationError("badan permintaan kosong; kirim objek JSON / empty body: send a JSON object")
    try:
        text = data.decode("utf-8-sig")  # RFC 8259: JSON is UTF-8
    except UnicodeDecodeError:
        raise ValidationError("badan permintaan bukan UTF-8 / body is not UTF-8 text") from None
    try:
        body = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"JSON tidak sah / invalid JSON: {exc.msg} (baris {exc.lineno}, kolom {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise ValidationError(f"JSON tidak sah / invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValidationError(
            f"badan permintaan harus objek JSON, bukan {type(body).__name__} / body must be a JSON object"
        )
    if has_nul(body):  # keys too: a NUL never reaches a column (PostgreSQL text cannot hold it)
        raise ValidationError(NUL_MESSAGE, details={"body": "nul"})
    payload: dict[str, Any] = {}
    errors: dict[str, str] = {}
    aliases = OUTPUT_ALIASES[kind]
    for name, value in body.items():
        if name in READ_ONLY or name in CONTROL_FIELDS:
            continue
        field = aliases.get(name, name)
        if field not in INPUT_FIELDS[kind]:
            errors[name] = f"field tidak dikenal / unknown field; pilihan: {', '.join(sorted(INPUT_FIELDS[kind]))}"
        elif field in LIST_FIELDS and isinstance(value, list):
            if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
                errors[name] = "harus daftar teks / must be a list of strings"
            else:
                payload[field] = value
        elif not isinstance(value, _SCALARS):
            errors[name] = "harus teks, angka atau true/false / must be a string, number or boolean"
        else:
            payload[field] = value
    if errors:
        raise RecordInvalid(errors)
    return payload


def control_flag(name: str) -> bool:
    """A switch such as ``allow_duplicate``: from the query string, else from the JSON body; 400 when
    it is not a yes/no value."""
    raw: Any = request.args.get(name)
    if raw is None and request.is_json:
        body = request.get_json(silent=True)
        raw = body.get(name) if isinstance(body, dict) else None
    try:
        return parse.parse_bool(raw, default=False)
    except ValueError as exc:
        raise ValidationError(f"{name}: {exc}", details={name: str(exc)}) from None


T = TypeVar("T")


def coverage_cache() -> CoverageCache:
    """The app's coverage cache (the pages use the same one), so the after-save result is reused."""
    return current_app.extensions.setdefault("geo_app.coverage_cache", CoverageCache())


def with_coverage_changes(write: Callable[[], T]) -> tuple[T, list[dict[str, str]]]:
    """Run a record write and say which desa changed coverage status (default settings), before → after."""
    session, cache = get_session(), coverage_cache()
    before = service.coverage_statuses(session, cache)
    out = write()
    return out, service.coverage_changes(before, service.coverage_statuses(session, cache))


def _int_arg(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return parse.parse_int(raw, minimum=1, maximum=maximum)
    except ValueError as exc:
        raise ValidationError(f"{name}: {exc}", details={name: str(exc)}) from None


def _format_arg() -> str:
    fmt = (request.args.get("format") or "json").strip().lower()
    if fmt not in {"json", "geojson"}:
        raise ValidationError(
            "format harus json atau geojson / format must be json or geojson",
            details={"format": f"{fmt!r} tidak dikenal / unknown"},
        )
    return fmt


def _list_args() -> tuple[dict[str, str], int, int, str]:
    """Filters (blank values dropped), page, per_page and format from the query string."""
    fmt = _format_arg()
    page = _int_arg("page", 1, MAX_PAGE)
    per_page = _int_arg("per_page", 50, service.MAX_PER_PAGE)
    filters = {k: v for k, v in request.args.items() if k not in {"page", "per_page", "format"} and v.strip()}
    return filters, page, per_page, fmt


def _page_url(page: int) -> str:
    args = request.args.to_dict()
    args["page"] = str(page)
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def _geojson(records: list[dict[str, Any]], **members: Any) -> dict[str, Any]:
    return records_feature_collection(records, *representative_points(get_session()), **members)


@bp.get(f"/{_RESOURCE_RULE}")
@role("viewer")
def list_records(resource: str):
    kind = _kind(resource)
    filters, page_no, per_page, fmt = _list_args()
    page = service.list_records(get_session(), _settings(), kind, filters, page_no, per_page)
    pages = max(1, -(-page.total // page.per_page))
    links = {
        "next": _page_url(page.page + 1) if page.page < pages else None,
        "prev": _page_url(min(page.page - 1, pages)) if page.page > 1 else None,
    }
    meta = {"total": page.total, "page": page.page, "per_page": page.per_page, "pages": pages, **links}
    if fmt == "geojson":
        body = _geojson(page.items, **meta)
    else:
        body = {**meta, "items": page.items}
    resp = geojson_response(lambda: body) if fmt == "geojson" else jsonify(body)
    link_header = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url)
    if link_header:
        resp.headers["Link"] = link_header
    return resp


@bp.post(f"/{_RESOURCE_RULE}")
@role("editor")
def create_record(resource: str):
    kind = _kind(resource)
    payload, allow = json_body(kind), control_flag("allow_duplicate")
    record, changes = with_coverage_changes(
        lambda: service.create_record(get_session(), _settings(), kind, payload, actor=actor(), allow_duplicate=allow)
    )
    resp = jsonify({**record, "coverage_changes": changes})
    resp.status_code = 201
    resp.headers["Location"] = url_for(".get_record", resource=resource, record_id=record["id"])
    return resp


@bp.get(f"/{_RESOURCE_RULE}/<int:record_id>")
@role("viewer")
def get_record(resource: str, record_id: int):
    return jsonify(service.get_record(get_session(), _kind(resource), record_id))


@bp.route(f"/{_RESOURCE_RULE}/<int:record_id>", methods=["PUT", "PATCH"])
@role("editor")
def update_record(resource: str, record_id: int):
    kind = _kind(resource)
    session = get_session()
    service.get_record(session, kind, record_id)  # 404 before 400: an unknown id is the bigger problem
    payload, allow = json_body(kind), control_flag("allow_duplicate")
    record, changes = with_coverage_changes(
        lambda: service.update_record(
            session, _settings(), kind, record_id, payload, actor=actor(), allow_duplicate=allow
        )
    )
    return jsonify({**record, "coverage_changes": changes})


@bp.delete(f"/{_RESOURCE_RULE}/<int:record_id>")
@role("editor")
def delete_record(resource: str, record_id: int):
    """204 as before; with ``Prefer: return=representation`` (RFC 7240) a 200 with the deleted record and
    the ``coverage_changes`` the delete made, as create and update give them."""
    kind, session = _kind(resource), get_session()
    if not _wants_representation():
        service.delete_record(session, kind, record_id, actor=actor())
        return Response(status=204)
    record = service.get_record(session, kind, record_id)
    _done, changes = with_coverage_changes(lambda: service.delete_record(session, kind, record_id, actor=actor()))
    resp = jsonify({**record, "deleted": True, "coverage_changes": changes})
    resp.headers["Preference-Applied"] = "return=representation"
    return resp


def _wants_representation() -> bool:
    """The ``Prefer`` header asks for ``return=representation`` (parameters after ``;`` aside)."""
    preferences = ",".join(request.headers.getlist("Prefer")).split(",")
    return any(p.split(";")[0].replace(" ", "").lower() == "return=representation" for p in preferences)


@bp.post(f"/{_RESOURCE_RULE}/<int:record_id>/restore")
@role("admin")
def restore_record(resource: str, record_id: int):
    kind = _kind(resource)
    record, changes = with_coverage_changes(
        lambda: service.restore_record(get_session(), kind, record_id, actor=actor())
    )
    return jsonify({**record, "coverage_changes": changes})


def _labelled(options: dict[str, str] | tuple[str, ...]) -> list[dict[str, str]]:
    if isinstance(options, dict):
        return [{"key": k, "label": v} for k, v in options.items()]
    return [{"key": k, "label": k.replace("_", " ").capitalize()} for k in options]


@bp.get("/vocab")
@role("viewer")
def vocabulary():
    """Controlled vocabularies with their Indonesian labels, for clients building forms."""
    classes = tuple(_settings()["VULNERABILITY_CLASSES"])
    return jsonify(
        {
            "levels": _labelled(vocab.MEETING_LEVELS),
            "agencies": _labelled(vocab.AGENCIES),
            "categories": _labelled(vocab.INCIDENT_CATEGORIES),
            "severities": _labelled(vocab.SEVERITIES),
            "statuses": _labelled(vocab.STATUSES),
            "sources": _labelled(vocab.SOURCES),
            "vulnerability_classes": _labelled(classes),
        }
    )


@bp.get("/locate")
@role("viewer")
def locate():
    """Where ``?lat=&lon=`` falls: the desa and kecamatan by the placement rule, or ``placement: outside``."""
    return jsonify(service.locate(get_session(), _settings(), request.args.get("lat"), request.args.get("lon")))


@bp.get("/mismatches")
@role("viewer")
def mismatch_list():
    """Records whose point lies in another desa than the one they name."""
    fmt = _format_arg()
    items = service.mismatches(get_session())
    if fmt == "geojson":
        return geojson_response(lambda: _geojson(items, total=len(items)))
    return jsonify({"total": len(items), "items": items})
