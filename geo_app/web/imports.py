"""Uploading record files (CSV, XLSX, GeoJSON) from the browser and the API; import batches and rollback."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from ..app_db import current_settings as _settings
from ..app_db import get_session
from ..errors import GeoAppError, InputFileError, ValidationError
from ..records import parse
from ..services import audit
from ..services.records_import import import_records
from .access import role
from .auth import actor

bp = Blueprint("imports", __name__)

#: URL slugs (English API names and the Indonesian page names) → record kind.
KIND_SLUGS = {
    "meetings": "meetings",
    "rakor": "meetings",
    "tps": "tps",
    "polling-stations": "tps",
    "incidents": "incidents",
    "insiden": "incidents",
}
KIND_TITLES = {"meetings": "Rakor", "tps": "TPS", "incidents": "Insiden"}


def _kind(slug: str) -> str:
    if slug not in KIND_SLUGS:
        raise ValidationError(
            f"jenis data {slug!r} tidak dikenal / unknown kind; pilihan: meetings, tps, incidents",
            details={"kind": "unknown"},
        )
    return KIND_SLUGS[slug]


def _flag(name: str) -> bool:
    raw = request.values.get(name)
    try:
        return parse.parse_bool(raw, default=False)
    except ValueError as exc:
        raise ValidationError(f"{name}: {exc}", details={name: str(exc)}) from None


def _upload() -> tuple[bytes, str]:
    """The uploaded bytes and their name: a multipart ``file`` field, or the raw body with ?filename=."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        return upload.read(), upload.filename
    if request.files:
        raise InputFileError("pilih berkas untuk diunggah / choose a file to upload")
    data = request.get_data(cache=False)
    name = request.args.get("filename", "")
    if not data:
        raise InputFileError(
            "tidak ada berkas: kirim field 'file' (multipart) atau isi body dengan ?filename= / "
            "no file: send a multipart 'file' field or a body with ?filename="
        )
    if not name:
        raise InputFileError("isi body perlu ?filename=nama.csv|.xlsx|.geojson / a raw body needs ?filename=")
    return data, name


def _run(kind: str):
    data, name = _upload()
    return import_records(
        get_session(),
        _settings(),
        kind,
        data,
        name,
        dry_run=_flag("dry_run"),
        skip_invalid=_flag("skip_invalid"),
        actor=actor(),
    )


# --- API ---------------------------------------------------------------------------------------------


@bp.post("/api/import/<slug>")
@role("editor")
def api_import(slug: str):
    result = _run(_kind(slug))
    body = result.to_dict()
    if result.rejects_data:
        body["rejects_csv"] = result.rejects_data.decode("utf-8-sig")
    return jsonify(body), 200 if result.dry_run or not result.changed else 201


@bp.get("/api/import-batches")
@role("editor")
def api_batches():
    return jsonify(audit.list_batches(get_session()))


@bp.post("/api/import-batches/<batch>/rollback")
@role("editor")
def api_rollback(batch: str):
    return jsonify({"batch": batch, **audit.rollback_batch(get_session(), batch, actor=actor())})


# --- browser -----------------------------------------------------------------------------------------


@bp.route("/impor", methods=["GET", "POST"])
@role("editor")
def import_page():
    result = error = None
    status = 200
    form = {
        "kind": request.values.get("kind", "tps"),
        "dry_run": request.values.get("dry_run"),
        "skip_invalid": request.values.get("skip_invalid"),
    }
    if request.method == "POST":
        try:
            result = _run(_kind(form["kind"]))
        except GeoAppError as exc:  # shown on the form, with the rows at fault
            error, status = exc, exc.status_code
    return render_template(
        "imports.html",
        result=result,
        error=error,
        form=form,
        kinds=KIND_TITLES,
        batches=audit.list_batches(get_session())[:50],
    ), status


@bp.post("/impor/batch/<batch>/batalkan")
@role("editor")
def rollback_page(batch: str):
    audit.rollback_batch(get_session(), batch, actor=actor())
    return redirect(url_for("imports.import_page"), code=303)
