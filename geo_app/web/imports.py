"""Uploading record files (CSV, XLSX, GeoJSON) from the browser and the API; import batches and rollback."""

from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    get_flashed_messages,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from ..app_db import current_settings as _settings
from ..app_db import get_session
from ..errors import GeoAppError, InputFileError, ValidationError
from ..i18n import N_, localize, msg, reason_of
from ..records import parse
from ..services import audit, pending_uploads
from ..services.records_import import import_records
from .access import role
from .auth import actor
from .locale import current_lang

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
#: record kinds as the import page names them (msgids; ``_kind_titles`` gives the page's language)
KIND_TITLES = {"meetings": N_("Rakor"), "tps": N_("TPS"), "incidents": N_("Insiden")}


def _kind_titles() -> dict[str, str]:
    return {kind: _(title) for kind, title in KIND_TITLES.items()}


def _kind(slug: str) -> str:
    if slug not in KIND_SLUGS:
        raise ValidationError(
            msg(
                "jenis data %(kind)r tidak dikenal; pilihan: %(choices)s", kind=slug, choices="meetings, tps, incidents"
            ),
            details={"kind": "unknown"},
        )
    return KIND_SLUGS[slug]


def _flag(name: str) -> bool:
    raw = request.values.get(name)
    try:
        return parse.parse_bool(raw, default=False)
    except ValueError as exc:
        raise ValidationError(
            msg("%(field)s: %(reason)s", field=name, reason=reason_of(exc)), details={name: str(exc)}
        ) from None


def _upload() -> tuple[bytes, str]:
    """The uploaded bytes and their name: a multipart ``file`` field, or the raw body with ?filename=."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        return upload.read(), upload.filename
    if request.files:
        raise InputFileError(msg("pilih berkas untuk diunggah"))
    data = request.get_data(cache=False)
    name = request.args.get("filename", "")
    if not data:
        raise InputFileError(msg("tidak ada berkas: kirim field 'file' (multipart) atau isi body dengan ?filename="))
    if not name:
        raise InputFileError(msg("isi body perlu ?filename=nama.csv|.xlsx|.geojson"))
    return data, name


def _run(kind: str, upload: tuple[bytes, str] | None = None, dry_run: bool | None = None):
    data, name = upload or _upload()
    return import_records(
        get_session(),
        _settings(),
        kind,
        data,
        name,
        dry_run=_flag("dry_run") if dry_run is None else dry_run,
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
    """Upload form, results, batches. A dry run keeps the file on the server (``pending_uploads``) and
    offers "import now" with its token, so the file is not chosen again."""
    result = error = kept = None
    status = 200
    form = {
        "kind": request.values.get("kind", "tps"),
        "dry_run": request.values.get("dry_run"),
        "skip_invalid": request.values.get("skip_invalid"),
    }
    if request.method == "POST":
        try:
            token = request.form.get("upload_token", "")
            if token:  # "import now" after a dry run: the kept file, for this user only
                kept, data = pending_uploads.fetch(get_session(), token, actor())
                form["kind"] = kept.kind
                result = _run(kept.kind, (data, kept.filename), dry_run=False)
                pending_uploads.discard(get_session(), token)
                kept = None
            else:
                kind = _kind(form["kind"])
                data, name = _upload()
                if _flag("dry_run"):
                    kept = pending_uploads.keep(
                        get_session(), actor(), kind, name, data, skip_invalid=_flag("skip_invalid")
                    )
                result = _run(kind, (data, name))
        except InputFileError as exc:  # unreadable: nothing worth keeping
            if kept is not None:
                pending_uploads.discard(get_session(), kept.token)
                kept = None
            error, status = exc, exc.status_code
        except GeoAppError as exc:  # shown on the form, with the rows at fault
            error, status = exc, exc.status_code
    return render_template(
        "imports.html",
        result=result,
        error=error,
        form=form,
        kept=kept,
        kinds=_kind_titles(),
        batches=audit.list_batches(get_session())[:50],
        rolled_back=get_flashed_messages(category_filter=["rolled_back"]),
    ), status


@bp.route("/impor/batch/<batch>/batalkan", methods=["GET", "POST"])
@role("editor")
def rollback_page(batch: str):
    """Confirmation page first (GET, or a POST without ``konfirmasi=ya``); works without JavaScript."""
    info = audit.get_batch(get_session(), batch)  # 404 for an unknown batch
    if request.method == "GET" or request.form.get("konfirmasi") != "ya":
        return render_template("imports_rollback.html", batch=info, kinds=_kind_titles())
    counts = audit.rollback_batch(get_session(), batch, actor=actor())
    flash(
        _(
            "%(batch)s: %(deleted)s dihapus, %(restored)s dikembalikan ke nilai sebelumnya",
            batch=localize(info["label"], current_lang()),
            deleted=counts["deleted"],
            restored=counts["restored"],
        ),
        "rolled_back",
    )
    return redirect(url_for("imports.import_page"), code=303)
