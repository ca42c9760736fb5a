"""HTML pages for planners: dashboard, maps, gap list (CSV/XLSX, print view), kecamatan and desa pages.

Every page reads the same view parameters (``date``, ``window_days``, ``incident_window_days``,
``kecamatan``, ``category``, ``peta_dasar``; see ``services.layers.parse_view``) and keeps them in its
links, so a view can be shared. ``?lang=en`` switches to English and is kept in the session cookie.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
from flask import Blueprint, Response, current_app, render_template, request, url_for

from ..app_db import get_session
from ..errors import NotFound, ValidationError
from ..i18n import flag_label, format_date, gettext, msg, status_label, t, vocab_labels
from ..maps.shell import MapShell, MapSources, build_map_shell
from ..records.vocab import AGENCIES, INCIDENT_CATEGORIES, MEETING_LEVELS
from ..records.vocab import STATUSES as INCIDENT_STATUS_LABELS
from ..services import brief as brief_service
from ..services import coverage as coverage_service
from ..services import layers as layer_service
from ..services.boundaries import current_data_version, has_boundaries, kecamatan_summary
from . import export
from .access import role
from .assets import render_map_page
from .caching import conditional_by_version
from .locale import current_lang, page_area

bp = Blueprint("pages", __name__)

GAP_SORTS = {  # sort key → (column, needs the status order)
    "rank": "rank",
    "name": "name",
    "kabupaten": "kabupaten_name",
    "kecamatan": "kecamatan_name",
    "status": "status_order",
    "priority": "priority",
    "voters": "voters",
    "tps": "tps_count",
    "shortfall": "shortfall_total",
    "incidents": "incidents_count",
    "meetings": "meetings_count",
}


# --- language and shared helpers ---------------------------------------------------------------------


def _coverage_cache() -> coverage_service.CoverageCache:
    return current_app.extensions.setdefault("geo_app.coverage_cache", coverage_service.CoverageCache())


def map_cache() -> layer_service.HtmlCache:
    """Rendered map pages of this app (per data version, parameters, language)."""
    return current_app.extensions.setdefault("geo_app.map_cache", layer_service.HtmlCache())


def png_cache() -> layer_service.HtmlCache:
    return current_app.extensions.setdefault("geo_app.png_cache", layer_service.HtmlCache(maxsize=64))


def _view():
    return layer_service.load_view(get_session(), request.args, _coverage_cache())


def _map_shell(
    view,
    bounds,
    *,
    title: str,
    back: tuple[str, str],
    highlight: str | None = None,
    search_bounds=None,
    rollup: bool = False,
):
    """A map page as a shell (geo_app/maps/shell.py): its data comes from ``/api/map/...`` with this
    view's parameters (the base map aside: it changes no data) and the page language; ``rollup``: the
    province overview (kabupaten and kecamatan by share of uncovered desa until zoomed in)."""
    lang = current_lang()
    params = {k: v for k, v in view.query().items() if k != "peta_dasar"}
    params["lang"] = lang
    api = url_for("map_data.desa").rsplit("/", 1)[0]
    shell = MapShell(
        bounds=tuple(float(v) for v in bounds),
        sources=MapSources.endpoints(api, params),
        lang=lang,
        base=view.base,
        title=title,
        back=back,
        highlight=highlight,
        search_bounds=None if search_bounds is None else tuple(float(v) for v in search_bounds),
        icon=url_for("favicon.favicon_svg"),
        rollup=rollup,
    )
    return build_map_shell(shell)


def _cached_map(kind: str, ident: str, view, build) -> str:
    session_ = get_session()
    prefix = url_for("assets.index")
    key = layer_service.page_key(session_, kind, ident, view, current_lang(), prefix)
    return map_cache().get_or_render(key, lambda: render_map_page(build()))


def _kecamatan_row(result, code: str) -> dict[str, Any]:
    rows = result.kecamatan[result.kecamatan["code"] == code]
    if rows.empty:
        raise NotFound(msg("Kecamatan dengan kode %(code)r tidak ditemukan", code=code))
    return coverage_service.rows(rows, coverage_service.kecamatan_columns(result))[0]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dict("records")


def _severity_counts(incidents: pd.DataFrame) -> dict[str, int]:
    counts = incidents["severity"].value_counts() if len(incidents) else {}
    return {s: int(counts.get(s, 0)) for s in ("high", "medium", "low")}


def _common(view, result) -> dict[str, Any]:
    """What every page needs for its view form and links (with several kabupaten loaded: the kabupaten
    choice, and the kecamatan choice narrowed to the chosen kabupaten)."""
    several = coverage_service.several_kabupaten(result)
    kecamatan = coverage_service.filter_kecamatan(result, kabupaten=view.kabupaten)
    return {
        "view": view,
        "q": view.query(),
        "settings": result.settings,
        "several_kabupaten": several,
        "kabupaten_options": list(coverage_service.kabupaten_names(result).items()) if several else [],
        "kecamatan_options": list(zip(kecamatan["code"], kecamatan["name"])),
        "category_options": list(INCIDENT_CATEGORIES),
        "data_version": current_data_version(get_session()),
    }


# --- maps ----------------------------------------------------------------------------------------------


@bp.get("/map")
@role("viewer")
@conditional_by_version
def overview_map():
    view, result = _view()
    title = f"{t('map.title', current_lang())} — {page_area().brand(current_lang())}"
    back = (url_for("pages.index", **view.query()), t("map.back_home", current_lang()))
    # several kabupaten and no narrower view: the overview rolls up (one kabupaten: as it always was)
    rollup = coverage_service.several_kabupaten(result) and not view.kabupaten and not view.kecamatan
    # the map data of a kabupaten view keeps to it: the map opens on it
    shown = coverage_service.filter_desa(result.desa, kabupaten=view.kabupaten)
    bounds = shown.total_bounds if len(shown) else result.desa.total_bounds
    html = _cached_map(
        "overview",
        "",
        view,
        lambda: _map_shell(view, bounds, title=title, back=back, rollup=rollup),
    )
    return Response(html, mimetype="text/html")


@bp.get("/map/kecamatan/<code>")
@role("viewer")
@conditional_by_version
def kecamatan_map(code: str):
    view, result = _view()
    row = _kecamatan_row(result, code)
    view = replace(view, kecamatan=code)
    lang = current_lang()
    own = result.desa[result.desa["kecamatan_code"] == code]
    title = f"{t('map.title', lang)} — {t('kecamatan', lang)} {row['name']}"
    back = (url_for("pages.kecamatan_page", code=code, **view.query()), t("map.back_kecamatan", lang))
    html = _cached_map("kecamatan", code, view, lambda: _map_shell(view, own.total_bounds, title=title, back=back))
    return Response(html, mimetype="text/html")


def _desa_row(result, code: str):
    rows = result.desa[result.desa["code"] == code]
    if rows.empty:
        raise NotFound(msg("Desa dengan kode %(code)r tidak ditemukan", code=code))
    return rows


@bp.get("/map/desa/<code>")
@role("viewer")
@conditional_by_version
def desa_map(code: str):
    view, result = _view()
    own = _desa_row(result, code)
    kec_code = str(own["kecamatan_code"].iloc[0])
    view = replace(view, kecamatan=kec_code)
    lang = current_lang()
    title = f"{t('map.title', lang)} — {t('desa', lang)} {own['name'].iloc[0]}, {own['kecamatan_name'].iloc[0]}"
    back = (url_for("pages.desa_page", code=code, **view.query()), t("map.back_desa", lang))
    kecamatan = result.desa[result.desa["kecamatan_code"] == kec_code]

    def build():
        return _map_shell(
            view, own.total_bounds, title=title, back=back, highlight=code, search_bounds=kecamatan.total_bounds
        )

    html = _cached_map("desa", code, view, build)
    return Response(html, mimetype="text/html")


# --- dashboard -------------------------------------------------------------------------------------------


@bp.get("/")
@role("viewer")
def index():
    session_ = get_session()
    if not has_boundaries(session_):
        return render_template("pages/dashboard.html", ready=False, kecamatan=[], q={})
    view, result = _view()
    summary = coverage_service.summary_for(result, view.kecamatan, view.kabupaten)
    incidents = _in_kabupaten(layer_service.visible_incidents(session_, result, view), result, view.kabupaten)
    gaps = coverage_service.filter_desa(result.gaps(), view.kecamatan, kabupaten=view.kabupaten).head(10)
    reasons_col = "reasons_en" if current_lang() == "en" else "reasons_id"
    areas = {k["code"]: k for k in kecamatan_summary(session_)}
    kec_table = coverage_service.filter_kecamatan(result, kabupaten=view.kabupaten)
    kec_rows = coverage_service.rows(kec_table, coverage_service.KECAMATAN_COLUMNS)
    for row in kec_rows:
        row["area_km2"] = areas.get(row["code"], {}).get("area_km2")
    several = coverage_service.several_kabupaten(result)
    kab_rows = (
        coverage_service.rows(coverage_service.kabupaten_table(result), coverage_service.KABUPATEN_COLUMNS)
        if several
        else []
    )
    return render_template(
        "pages/dashboard.html",
        ready=True,
        summary=summary,
        severity=_severity_counts(incidents),
        gaps=_records(gaps),
        reasons_col=reasons_col,
        kecamatan=kec_rows,
        kabupaten=kab_rows,
        **_common(view, result),
    )


def _in_kabupaten(frame: pd.DataFrame, result, kabupaten: str | None) -> pd.DataFrame:
    """Records (with ``desa_code``) of the desa of ``kabupaten``; all of them without one."""
    if not kabupaten:
        return frame
    codes = set(coverage_service.filter_desa(result.desa, kabupaten=kabupaten)["code"])
    return frame[frame["desa_code"].isin(codes).to_numpy()]


# --- gap list ---------------------------------------------------------------------------------------------


def _gap_table():
    """Gaps of the view, filtered by status and sorted; the parameters are checked first."""
    view, result = _view()
    statuses = request.args.getlist("status")
    statuses = coverage_service.parse_statuses(",".join(statuses)) if any(s.strip() for s in statuses) else None
    if statuses and "covered" in statuses:
        raise ValidationError(
            msg("status: desa yang aman bukan celah; pilihan: %(choices)s", choices="uncovered, at_risk, insecure"),
            details={"status": "covered is not a gap"},
        )
    sort = (request.args.get("sort") or "rank").strip()
    key = sort.lstrip("-")
    if key not in GAP_SORTS:
        raise ValidationError(
            msg(
                "sort: %(value)r tidak dikenal; pilihan: %(choices)s (awali dengan - untuk urutan turun)",
                value=sort,
                choices=", ".join(GAP_SORTS),
            ),
            details={"sort": "unknown sort key"},
        )
    table = coverage_service.filter_desa(result.gaps(), view.kecamatan, statuses, view.kabupaten).copy()
    table["status_order"] = table["status"].map({s: i for i, s in enumerate(coverage_service.STATUSES)})
    table = table.sort_values([GAP_SORTS[key], "rank"], ascending=[not sort.startswith("-"), True], kind="stable")
    return view, result, table, statuses or [], sort


def _export_rows(table: pd.DataFrame, lang: str, several_kabupaten: bool = False) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the gap-list exports; a kabupaten/kota column after the kecamatan when
    several kabupaten are loaded (one kabupaten: the columns as they always were)."""
    reasons = "reasons_en" if lang == "en" else "reasons_id"
    headers = [
        t("rank", lang),
        t("code", lang),
        t("desa", lang),
        t("kecamatan", lang),
        t("status", lang),
        t("priority", lang),
        t("tps", lang),
        t("voters", lang),
        t("meetings", lang),
        t("shortfall", lang),
        t("incidents", lang),
        t("reasons", lang),
        t("flags", lang),
        t("planned_meeting", lang),
    ]
    rows = [
        [
            int(r.rank),
            r.code,
            r.name,
            r.kecamatan_name,
            status_label(r.status, lang),
            float(r.priority),
            int(r.tps_count),
            int(r.voters),
            int(r.meetings_count),
            int(r.shortfall_total),
            int(r.incidents_count),
            "; ".join(getattr(r, reasons)),
            ", ".join(flag_label(f, lang) for f in r.flags),
            format_date(r.planned_meeting_date, lang, missing=""),
        ]
        for r in table.itertuples(index=False)
    ]
    if several_kabupaten:
        at = headers.index(t("kecamatan", lang)) + 1
        headers.insert(at, t("kabupaten", lang))
        for row, name in zip(rows, table["kabupaten_name"].tolist()):
            row.insert(at, name)
    return headers, rows


@bp.get("/gaps")
@role("viewer")
def gaps_page():
    view, result, table, statuses, sort = _gap_table()
    base_q = dict(view.query())
    filter_q = {**base_q, "status": statuses} if statuses else base_q
    return render_template(
        "pages/gaps.html",
        gaps=_records(table),
        statuses=statuses,
        sort=sort,
        sorts=list(GAP_SORTS),
        filter_q=filter_q,
        reasons_col="reasons_en" if current_lang() == "en" else "reasons_id",
        **_common(view, result),
    )


@bp.get("/gaps.csv")
@role("viewer")
@conditional_by_version
def gaps_csv():
    view, result, table, statuses, sort = _gap_table()
    headers, rows = _export_rows(table, current_lang(), coverage_service.several_kabupaten(result))
    headers, rows = export.with_info_columns(headers, rows, _export_info(view, result, statuses, sort))
    return export.csv_response(headers, rows, _export_name(result, "csv"), current_lang())


def _export_info(view, result, statuses: list[str], sort: str, full: bool = False) -> list[tuple[str, str]]:
    """Which date, settings and data version made a gap-list export (``export.export_info``)."""
    from urllib.parse import urlencode

    from ..services.audit import format_wib

    query = urlencode({**view.query(), **({"status": statuses} if statuses else {}), "sort": sort}, doseq=True)
    lang = current_lang()
    info = export.export_info(result.settings, current_data_version(get_session()), query, format_wib(), lang)
    if full:
        info.append((export.settings_label(lang), result.settings.cache_key()))
    return info


def _export_name(result, ext: str) -> str:
    """``celah_cakupan_<reference date>.<ext>``: the file keeps its date when saved."""
    return f"celah_cakupan_{result.settings.reference_date.isoformat()}.{ext}"


@bp.get("/gaps.xlsx")
@role("viewer")
@conditional_by_version
def gaps_xlsx():
    view, result, table, statuses, sort = _gap_table()
    headers, rows = _export_rows(table, current_lang(), coverage_service.several_kabupaten(result))
    info = _export_info(view, result, statuses, sort, full=True)
    return export.xlsx_response(
        headers, rows, _export_name(result, "xlsx"), sheet=gettext("Celah", current_lang()), info=info
    )


@bp.get("/gaps/print")
@role("viewer")
def gaps_print():
    view, result, table, statuses, _sort = _gap_table()
    table = table.sort_values("rank")
    table = table.assign(planned_day=[brief_service.day_text(d) for d in table["planned_meeting_date"]])
    sections = []
    kab_names = coverage_service.kabupaten_names(result) if coverage_service.several_kabupaten(result) else {}
    for code, name in zip(result.kecamatan["code"], result.kecamatan["name"]):
        own = table[table["kecamatan_code"] == code]
        if len(own):
            kabupaten = kab_names.get(str(own["kabupaten_code"].iloc[0])) if kab_names else None
            sections.append({"code": code, "name": name, "kabupaten": kabupaten, "gaps": _records(own)})
    filter_q = {**view.query(), "status": statuses} if statuses else view.query()
    lang = current_lang()
    return render_template(
        "pages/print.html",
        sections=sections,
        filter_q=filter_q,
        caption=brief_service.settings_lines(result.settings, current_data_version(get_session()), lang),
        png_size=brief_service.PRINT_PNG_PX,
        reasons_col="reasons_en" if current_lang() == "en" else "reasons_id",
        **_common(view, result),
    )


@bp.get("/gaps/print/<code>.png")
@role("viewer")
def gaps_print_png(code: str):
    _view_, result = _view()
    _kecamatan_row(result, code)
    lang = current_lang()
    key = ("png", code, current_data_version(get_session()), result.settings.cache_key(), lang)
    png = png_cache().get_or_render(key, lambda: brief_service.print_png(get_session(), result, code, lang))
    response = Response(png, mimetype="image/png")
    response.cache_control.max_age = 300
    return response


# --- the A4 brief per kecamatan (PDF) -------------------------------------------------------------------


def _brief_response(code: str | None) -> Response:
    """One kecamatan's brief, or every kecamatan's (``code`` None; those of the view's kabupaten when one
    is chosen), for the view's date and settings; cached per data version, settings and language."""
    view, result = _view()
    if code is not None:
        _kecamatan_row(result, code)
    kabupaten = view.kabupaten if code is None else None
    lang = current_lang()
    key = ("pdf", code, kabupaten, current_data_version(get_session()), result.settings.cache_key(), lang)
    cache = current_app.extensions.setdefault("geo_app.pdf_cache", layer_service.HtmlCache(maxsize=20))
    pdf = cache.get_or_render(
        key, lambda: brief_service.brief_pdf(get_session(), result, code, lang, kabupaten=kabupaten)
    )
    response = Response(pdf, mimetype="application/pdf")
    filename = brief_service.brief_filename(code, result.settings, kabupaten)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/kecamatan/<code>/brief.pdf")
@role("viewer")
def kecamatan_brief_pdf(code: str):
    return _brief_response(code)


@bp.get("/brief.pdf")
@role("viewer")
def brief_pdf():
    return _brief_response(None)


# --- kecamatan and desa pages -------------------------------------------------------------------------------


@bp.get("/kecamatan/<code>")
@role("viewer")
def kecamatan_page(code: str):
    view, result = _view()
    row = _kecamatan_row(result, code)
    view = replace(view, kecamatan=code, kabupaten=view.kabupaten and row.get("kabupaten_code", code[:5]))
    desa = result.desa[result.desa["kecamatan_code"] == code].sort_values("priority_rank")
    reasons = layer_service.reasons_by_code(result, current_lang())
    return render_template(
        "pages/kecamatan.html",
        kec=row,
        desa=_records(desa.drop(columns="geometry")),
        reasons=reasons,
        **_common(view, result),
    )


@bp.get("/desa/<code>")
@role("viewer")
def desa_page(code: str):
    view, result = _view()
    own = _desa_row(result, code)
    row = coverage_service.rows(own, coverage_service.desa_columns(result))[0]
    kec_code = row["kecamatan_code"]
    view = replace(view, kecamatan=kec_code, kabupaten=view.kabupaten and row.get("kabupaten_code", code[:5]))
    session_ = get_session()
    meetings = layer_service.meetings_reaching(layer_service.visible_meetings(session_, result, view), code, kec_code)
    tps = layer_service.visible_tps(session_, result, view)
    incidents = layer_service.visible_incidents(session_, result, view)
    reasons = layer_service.reasons_by_code(result, current_lang()).get(code, [])
    return render_template(
        "pages/desa.html",
        desa=row,
        reasons=reasons,
        meetings=_records(meetings),
        tps=_records(tps[tps["desa_code"] == code]),
        incidents=_records(incidents[incidents["desa_code"] == code]),
        agencies=vocab_labels(AGENCIES, current_lang()),
        levels=vocab_labels(MEETING_LEVELS, current_lang()),
        incident_statuses=vocab_labels(INCIDENT_STATUS_LABELS, current_lang()),
        **_common(view, result),
    )


@bp.get("/kabupaten/<code>")
@role("viewer")
def kabupaten_page(code: str):
    """One kabupaten/kota: its figures, its kecamatan with their counts and links, its top gaps."""
    view, result = _view()
    if code not in coverage_service.kabupaten_names(result):
        raise NotFound(msg("Kabupaten dengan kode %(code)r tidak ditemukan", code=code))
    view = replace(view, kabupaten=code, kecamatan=None)
    table = coverage_service.kabupaten_table(result)
    row = coverage_service.rows(table[table["code"] == code], coverage_service.KABUPATEN_COLUMNS)[0]
    areas = {k["code"]: k for k in kecamatan_summary(get_session())}
    kec_rows = coverage_service.rows(
        coverage_service.filter_kecamatan(result, kabupaten=code), coverage_service.KECAMATAN_COLUMNS
    )
    for kec in kec_rows:
        kec["area_km2"] = areas.get(kec["code"], {}).get("area_km2")
    gaps = coverage_service.filter_desa(result.gaps(), kabupaten=code).head(10)
    return render_template(
        "pages/kabupaten.html",
        kab=row,
        kecamatan=kec_rows,
        gaps=_records(gaps),
        reasons_col="reasons_en" if current_lang() == "en" else "reasons_id",
        **_common(view, result),
    )
