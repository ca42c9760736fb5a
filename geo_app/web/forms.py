"""Browser pages to list, add, edit and delete rakor, TPS and insiden (Bahasa Indonesia or English).

Thin views: the form is read into canonical record fields here and validated by the same service as
the API and the imports; errors come back per field and the form is shown again with what the user
typed. Every form is rendered through ``templates/records/_form.html`` (one place for a later CSRF token).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..app_db import current_settings as _settings
from ..app_db import get_session
from ..errors import Conflict, RecordInvalid, ValidationError
from ..i18n import N_, localize, msg, status_label, vocab_labels
from ..records import parse, vocab
from ..services import records as service
from ..services.boundaries import places
from .access import role
from .auth import actor
from .locale import current_lang
from .records_api import with_coverage_changes

bp = Blueprint("forms", __name__)

#: URL segment (Indonesian) -> record kind of the service layer.
SLUGS = {"rakor": "meetings", "tps": "tps", "insiden": "incidents"}
_SLUG_RULE = "<any(rakor, tps, insiden):slug>"
#: Page titles per kind (msgids; ``_titles`` gives them in the page's language).
TITLES = {
    "meetings": {"plural": N_("Rapat koordinasi (rakor)"), "one": N_("rakor")},
    "tps": {"plural": N_("Tempat pemungutan suara (TPS)"), "one": N_("TPS")},
    "incidents": {"plural": N_("Insiden"), "one": N_("insiden")},
}
#: labels of the vulnerability classes a setting may add (``VULNERABILITY_CLASSES``), as msgids
CLASS_LABELS = {"tidak_rawan": N_("Tidak rawan"), "rawan": N_("Rawan"), "sangat_rawan": N_("Sangat rawan")}


def _titles(kind: str) -> dict[str, str]:
    return {key: _(text) for key, text in TITLES[kind].items()}


#: Form fields per kind, in canonical names; ``kecamatan`` of TPS/insiden only filters the desa picker.
FIELDS = {
    "meetings": [
        "title",
        "date",
        "start_time",
        "level",
        "kabupaten",
        "kecamatan",
        "desa_code",
        "venue",
        "organiser",
        "lat",
        "lon",
        "agencies",
        "agencies_other",
        "reached_desa",
        "reaches_all_desa",
        "notes",
        "source_url",
    ],
    "tps": [
        "kecamatan",
        "desa_code",
        "number",
        "voters",
        "address",
        "vulnerability",
        "police",
        "tni",
        "linmas",
        "lat",
        "lon",
        "notes",
    ],
    "incidents": [
        "occurred_at",
        "reported_at",
        "category",
        "severity",
        "status",
        "kecamatan",
        "desa_code",
        "lat",
        "lon",
        "description",
        "source",
        "source_url",
        "notes",
    ],
}
LIST_FIELDS = {"agencies", "reached_desa"}
BOOL_FIELDS = {"reaches_all_desa"}
#: Errors the validator reports under a field the form shows under another name.
ERROR_FIELDS = {"desa": "desa_code"}
LIST_FILTERS = {
    "meetings": ["kabupaten", "kecamatan", "desa", "date_from", "date_to", "level", "mismatch"],
    "tps": ["kabupaten", "kecamatan", "desa", "class", "mismatch"],
    "incidents": [
        "kabupaten",
        "kecamatan",
        "desa",
        "date_from",
        "date_to",
        "category",
        "severity",
        "status",
        "mismatch",
    ],
}
PER_PAGE = 50
#: Coverage changes listed one by one after a save; more are counted.
MAX_LISTED_CHANGES = 12


def _vulnerability_classes() -> dict[str, str]:
    classes = _settings()["VULNERABILITY_CLASSES"]
    return {c: _(CLASS_LABELS.get(c, c.replace("_", " ").capitalize())) for c in classes}


def _places() -> dict[str, Any]:
    return places(get_session())


def _vocab() -> dict[str, Any]:
    return {
        "levels": vocab_labels(vocab.MEETING_LEVELS, current_lang()),
        "agencies": vocab_labels(vocab.AGENCIES, current_lang()),
        "categories": vocab_labels(vocab.INCIDENT_CATEGORIES, current_lang()),
        "severities": vocab_labels(vocab.SEVERITIES, current_lang()),
        "statuses": vocab_labels(vocab.STATUSES, current_lang()),
        "sources": vocab_labels(vocab.SOURCES, current_lang()),
        "classes": _vulnerability_classes(),
    }


# --- form values <-> record fields -------------------------------------------------------------------


def read_form(kind: str) -> dict[str, Any]:
    """What the user submitted, as strings (lists for multi-value fields), to validate and to show again."""
    values: dict[str, Any] = {}
    for name in FIELDS[kind]:
        if name in LIST_FIELDS:
            values[name] = [v for v in request.form.getlist(name) if v.strip()]
        elif name in BOOL_FIELDS:
            values[name] = bool(request.form.get(name))
        else:
            values[name] = request.form.get(name, "")
    return values


def to_payload(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """Form values -> canonical input fields for ``clean_record``."""
    payload = {k: v for k, v in values.items() if k != "agencies_other"}
    if kind == "meetings":
        extra = [a.strip() for a in values.get("agencies_other", "").replace(";", ",").split(",") if a.strip()]
        payload["agencies"] = list(values.get("agencies", [])) + extra
    else:
        payload.pop("kecamatan", None)
    return payload


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def record_to_values(kind: str, record: dict[str, Any], desa_kecamatan: dict[str, str]) -> dict[str, Any]:
    """A stored record as form values, the inverse of ``read_form`` + ``to_payload``."""
    values: dict[str, Any] = {
        name: _text(record.get(name)) for name in FIELDS[kind] if name not in LIST_FIELDS | BOOL_FIELDS
    }
    if kind == "meetings":
        # the kabupaten choice only when it says more than the host kecamatan (the form's blank "follows
        # the host kecamatan"), so moving the host to another kabupaten moves the rakor with it
        values["kabupaten"] = "" if record.get("host_kecamatan_code") else _text(record.get("host_kabupaten_code"))
        values["kecamatan"] = _text(record.get("host_kecamatan_code"))
        values["desa_code"] = _text(record.get("host_desa_code"))
        values["start_time"] = _text(record.get("start_time"))[:5]
        stored = record.get("agencies") or []
        values["agencies"] = [k for k in vocab.AGENCIES if k in stored]
        values["agencies_other"] = ", ".join(a for a in stored if a not in vocab.AGENCIES)
        values["reached_desa"] = list(record.get("reached_desa_codes") or [])
        values["reaches_all_desa"] = bool(record.get("reaches_all_desa"))
    else:
        values["kecamatan"] = desa_kecamatan.get(record.get("desa_code") or "", "")
    return values


def _check_picker(kind: str, values: dict[str, Any], places: dict[str, Any]) -> dict[str, str]:
    """TPS/insiden: the kecamatan only filters the desa list, so a desa from another one (no JS) is an error."""
    if kind == "meetings" or not values.get("kecamatan") or not values.get("desa_code"):
        return {}
    actual = places["desa_kecamatan"].get(values["desa_code"])
    if actual and actual != values["kecamatan"]:
        return {
            "desa_code": msg(
                "desa ini ada di Kecamatan %(actual)s, bukan %(chosen)s",
                actual=places["kecamatan_names"][actual],
                chosen=places["kecamatan_names"].get(values["kecamatan"], values["kecamatan"]),
            )
        }
    return {}


def _form_errors(kind: str, errors: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Per-field messages placed at the form's fields, and the rest (fields the form does not show)."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for field, reason in errors.items():
        target = ERROR_FIELDS.get(field, field)
        if target in FIELDS[kind]:
            by_field[target] = (
                msg("%(first)s; %(then)s", first=by_field[target], then=reason) if target in by_field else reason
            )
        else:
            general.append(msg("%(field)s: %(reason)s", field=field, reason=reason))
    return by_field, general


# --- views ---------------------------------------------------------------------------------------------


def _render_form(
    kind: str,
    slug: str,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    record: dict[str, Any] | None = None,
    places: dict[str, Any] | None = None,
    status: int = 200,
    duplicate: dict[str, Any] | None = None,
):
    return render_template(
        "records/form.html",
        kind=kind,
        slug=slug,
        titles=_titles(kind),
        values=values,
        errors=errors or {},
        general_errors=general or [],
        record=record,
        places=places or _places(),
        vocab=_vocab(),
        duplicate=duplicate,
    ), status


def flash_coverage_changes(changes: list[dict[str, str]]) -> None:
    """One message per desa whose coverage status a save changed: "Arah Tiga (Kec. …): A → B"."""
    lang = current_lang()
    for change in changes[:MAX_LISTED_CHANGES]:
        before, after = status_label(change["before"], lang), status_label(change["after"], lang)
        flash(f"{change['name']} (Kec. {change['kecamatan']}): {before} → {after}", "coverage")  # names as stored
    if len(changes) > MAX_LISTED_CHANGES:
        more = len(changes) - MAX_LISTED_CHANGES
        flash(_("… dan %(n)s desa lagi", n=more), "coverage")


@bp.get(f"/{_SLUG_RULE}")
@role("viewer")
def list_page(slug: str):
    kind = SLUGS[slug]
    filters = {k: v for k, v in request.args.items() if k in LIST_FILTERS[kind] and v.strip()}
    try:
        page_no = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page_no = 1
    error, status = None, 200
    try:
        page = service.list_records(get_session(), _settings(), kind, filters, min(page_no, 1_000_000), PER_PAGE)
    except ValidationError as exc:
        page, error, status = service.Page([], 0, 1, PER_PAGE), exc.message, 400
    pages = max(1, -(-page.total // page.per_page))
    return render_template(
        "records/list.html",
        kind=kind,
        slug=slug,
        titles=_titles(kind),
        page=page,
        pages=pages,
        filters=filters,
        filter_names=LIST_FILTERS[kind],
        error=error,
        places=_places(),
        vocab=_vocab(),
    ), status


@bp.app_template_global()
def records_page_url(slug: str, page: int, filters: dict[str, str]) -> str:
    """A list page URL keeping the current filters (for the previous/next links)."""
    return url_for("forms.list_page", slug=slug, page=page, **filters)


@bp.route(f"/{_SLUG_RULE}/baru", methods=["GET", "POST"])
@role("viewer", write="editor")
def create_page(slug: str):
    kind = SLUGS[slug]
    places = _places()
    if request.method == "GET":
        defaults: dict[str, Any] = {
            n: ([] if n in LIST_FIELDS else False if n in BOOL_FIELDS else "") for n in FIELDS[kind]
        }
        # kabupaten: valid without a host kecamatan (the host fields start empty); choosing a host
        # kecamatan switches the level to kecamatan in the browser (records/_form.html picker_script)
        defaults.update({"level": "kabupaten"} if kind == "meetings" else {})
        defaults.update({"vulnerability": "tidak_rawan"} if kind == "tps" else {})
        defaults.update({"status": "reported"} if kind == "incidents" else {})
        return _render_form(kind, slug, defaults, places=places)
    values = read_form(kind)
    picker = _check_picker(kind, values, places)
    allow_duplicate = _confirmed("allow_duplicate")
    try:
        if picker:
            raise RecordInvalid(picker)
        payload = to_payload(kind, values)
        record, changes = with_coverage_changes(
            lambda: service.create_record(
                get_session(), _settings(), kind, payload, actor=actor(), allow_duplicate=allow_duplicate
            )
        )
    except RecordInvalid as exc:
        errors, general = _form_errors(kind, exc.errors)
        return _render_form(kind, slug, values, errors, general, places=places, status=400)
    except service.LikelyDuplicate as exc:  # shown as a warning with a "save anyway" box
        return _render_form(kind, slug, values, places=places, status=409, duplicate=exc.details)
    except Conflict as exc:
        return _render_form(kind, slug, values, general=[exc.message], places=places, status=409)
    flash(_("%(what)s disimpan (id %(id)s).", what=_titles(kind)["one"].capitalize(), id=record["id"]), "ok")
    for warning in record.get("warnings", []):  # e.g. a rakor reaching no desa but its venue
        flash(_("Peringatan: %(warning)s", warning=localize(warning, current_lang())), "warning")
    flash_coverage_changes(changes)
    return redirect(url_for("forms.list_page", slug=slug), code=303)


def _confirmed(name: str) -> bool:
    """A confirmation checkbox or hidden field of a form (``ya``/``1``/``true``); anything else is no."""
    try:
        return parse.parse_bool(request.form.get(name), default=False)
    except ValueError:
        return False


@bp.route(f"/{_SLUG_RULE}/<int:record_id>/ubah", methods=["GET", "POST"])
@role("viewer", write="editor")
def edit_page(slug: str, record_id: int):
    kind = SLUGS[slug]
    session = get_session()
    places = _places()
    record = service.get_record(session, kind, record_id)
    initial = record_to_values(kind, record, places["desa_kecamatan"])
    if request.method == "GET":
        return _render_form(kind, slug, initial, record=record, places=places)
    values = read_form(kind)
    picker = _check_picker(kind, values, places)
    # send only what the user changed, so e.g. a desa that followed the point keeps following it
    before, after = to_payload(kind, initial), to_payload(kind, values)
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    allow_duplicate = _confirmed("allow_duplicate")
    try:
        if picker:
            raise RecordInvalid(picker)
        _done, changes = with_coverage_changes(
            lambda: service.update_record(
                session, _settings(), kind, record_id, changed, actor=actor(), allow_duplicate=allow_duplicate
            )
        )
    except RecordInvalid as exc:
        errors, general = _form_errors(kind, exc.errors)
        return _render_form(kind, slug, values, errors, general, record=record, places=places, status=400)
    except service.LikelyDuplicate as exc:  # as on create: a warning with a "save anyway" box
        return _render_form(kind, slug, values, record=record, places=places, status=409, duplicate=exc.details)
    except Conflict as exc:
        return _render_form(kind, slug, values, general=[exc.message], record=record, places=places, status=409)
    flash(_("%(what)s %(id)s diperbarui.", what=_titles(kind)["one"].capitalize(), id=record_id), "ok")
    flash_coverage_changes(changes)
    return redirect(url_for("forms.list_page", slug=slug), code=303)


@bp.route(f"/{_SLUG_RULE}/<int:record_id>/hapus", methods=["GET", "POST"])
@role("editor")
def delete_page(slug: str, record_id: int):
    """A confirmation page first (GET, or a POST without ``konfirmasi=ya``); works without JavaScript."""
    kind = SLUGS[slug]
    session = get_session()
    record = service.get_record(session, kind, record_id)  # 404 for an unknown or deleted id
    if request.method == "GET" or not _confirmed("konfirmasi"):
        return render_template(
            "records/confirm_delete.html",
            kind=kind,
            slug=slug,
            titles=_titles(kind),
            record=record,
            places=_places(),
            vocab=_vocab(),
        )
    _done, changes = with_coverage_changes(lambda: service.delete_record(session, kind, record_id, actor=actor()))
    flash(str(record_id), "deleted")
    flash_coverage_changes(changes)
    return redirect(url_for("forms.list_page", slug=slug), code=303)


@bp.post(f"/{_SLUG_RULE}/<int:record_id>/pulihkan")
@role("admin")
def restore_page(slug: str, record_id: int):
    _done, changes = with_coverage_changes(
        lambda: service.restore_record(get_session(), SLUGS[slug], record_id, actor=actor())
    )
    flash(_("%(what)s %(id)s dipulihkan.", what=_titles(SLUGS[slug])["one"].capitalize(), id=record_id), "ok")
    flash_coverage_changes(changes)
    return redirect(url_for("forms.list_page", slug=slug), code=303)
