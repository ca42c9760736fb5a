"""The A4 brief per kecamatan (PDF) and the data of the static maps: one use case for
``GET /kecamatan/<code>/brief.pdf``, ``GET /brief.pdf``, ``geo-app coverage brief`` and the print
view's PNG maps.

It selects from a coverage result (same view parameters as the gap list) what a kecamatan's page shows:
its desa with status and reasons, its TPS, the rakor planned after the reference date that reach it,
the neighbouring kecamatan; the drawing is ``maps/static.py`` and ``maps/brief.py``.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
from sqlalchemy.orm import Session

from ..analysis.coverage import CoverageResult, CoverageSettings
from ..errors import NotFound, ValidationError
from ..i18n import DEFAULT_LANG, t
from ..maps.brief import Brief, BriefRow, render_pdf
from ..maps.static import StaticMap, kecamatan_png
from ..store.db import data_version
from . import coverage as coverage_service
from . import layers as layer_service

WIB = ZoneInfo("Asia/Jakarta")
#: the print view's map: inches and dots per inch, so its pixel size (for the page's img) is known
PRINT_PNG_IN, PRINT_PNG_DPI = (7.2, 3.1), 110
PRINT_PNG_PX = (round(PRINT_PNG_IN[0] * PRINT_PNG_DPI), round(PRINT_PNG_IN[1] * PRINT_PNG_DPI))


def day_text(value) -> str:
    """dd/mm/yyyy, or "" for no date."""
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%d/%m/%Y")


def settings_lines(
    settings: CoverageSettings, version: str, lang: str = DEFAULT_LANG, now: datetime | None = None
) -> list[str]:
    """What made the map: reference date (dd/mm/yyyy), when (WIB), windows, preset, data version."""
    now = (now or datetime.now(WIB)).astimezone(WIB)
    first = f"{t('reference_date', lang)}: {day_text(settings.reference_date)} · {t('brief.made', lang)} {now:%d/%m/%Y %H:%M} WIB"
    second = (
        f"{t('window_days', lang)}: {settings.meeting_window_days} · "
        f"{t('incident_window_days', lang)}: {settings.incident_window_days} · "
        f"{t('brief.preset', lang)}: {settings.preset} · {t('brief.data_version', lang)}: {version}"
    )
    return [first, second]


def kecamatan_codes(result: CoverageResult) -> list[str]:
    return [str(c) for c in result.kecamatan["code"]]


def _kecamatan_name(result: CoverageResult, code: str) -> str:
    rows = result.kecamatan[result.kecamatan["code"] == code]
    if rows.empty:
        raise NotFound(f"Kecamatan dengan kode {code!r} tidak ditemukan / no such kecamatan")
    return str(rows["name"].iloc[0])


def _kecamatan_polygons(session: Session, result: CoverageResult) -> gpd.GeoDataFrame:
    kec = result.kecamatan
    if isinstance(kec, gpd.GeoDataFrame):
        return kec
    from ..store.adapter import kecamatan_frame  # a result computed without kecamatan polygons

    return kecamatan_frame(session)


def static_map(
    session: Session,
    result: CoverageResult,
    code: str,
    tps: pd.DataFrame | None = None,
    polygons: gpd.GeoDataFrame | None = None,
) -> StaticMap:
    """What the static map of kecamatan ``code`` shows (``tps``: the view's TPS, loaded when not given)."""
    _kecamatan_name(result, code)
    desa = result.desa[result.desa["kecamatan_code"] == code].copy()
    desa["planned"] = desa["planned_meeting_date"].notna().to_numpy()
    polygons = _kecamatan_polygons(session, result) if polygons is None else polygons
    if tps is None:
        tps = layer_service.visible_tps(
            session, result, layer_service.MapView(settings=result.settings, kecamatan=code)
        )
    own_tps = tps[tps["desa_code"].isin(set(desa["code"]))]
    points = pd.DataFrame(
        {
            "lon": own_tps["display_lon"] if "display_lon" in own_tps else own_tps["lon"],
            "lat": own_tps["display_lat"] if "display_lat" in own_tps else own_tps["lat"],
            "secured": own_tps["secured"].fillna(False).astype(bool),
        }
    )
    meetings = result.meetings
    codes = set(desa["code"])
    planned = meetings[
        meetings["planned"].astype(bool)
        & meetings["venue_lon"].notna()
        & pd.Series(
            [
                hk == code or bool(codes & set(reached))
                for hk, reached in zip(meetings["host_kecamatan_code"], meetings["reached_codes"])
            ],
            index=meetings.index,
            dtype=bool,
        )
    ]
    return StaticMap(
        desa=desa,
        outline=polygons[polygons["code"] == code],
        neighbours=polygons[polygons["code"] != code],
        tps=points,
        planned=pd.DataFrame({"lon": planned["venue_lon"], "lat": planned["venue_lat"], "date": planned["date"]}),
    )


def _rows(result: CoverageResult, code: str, lang: str) -> list[BriefRow]:
    """Every desa of the kecamatan, highest priority first, with its reasons (none for a covered desa)."""
    desa = result.desa[result.desa["kecamatan_code"] == code].sort_values(["priority_rank", "code"])
    reasons = layer_service.reasons_by_code(result, lang)
    return [
        BriefRow(
            code=str(r.code),
            name=str(r.name),
            status=str(r.status),
            reasons=list(reasons.get(r.code, [])),
            short=int(r.shortfall_total),
        )
        for r in desa.itertuples(index=False)
    ]


def kecamatan_briefs(
    session: Session, result: CoverageResult, codes: list[str] | None = None, lang: str = DEFAULT_LANG
) -> list[Brief]:
    """The brief of each kecamatan in ``codes`` (all, in code order, when None); unknown code → NotFound."""
    codes = kecamatan_codes(result) if codes is None else codes
    names = {code: _kecamatan_name(result, code) for code in codes}
    info = settings_lines(result.settings, data_version(session), lang)
    polygons = _kecamatan_polygons(session, result)
    tps = layer_service.visible_tps(session, result, layer_service.MapView(settings=result.settings))
    briefs = []
    for code in codes:
        rows = _rows(result, code, lang)
        map_data = static_map(session, result, code, tps=tps, polygons=polygons)
        # a name with no room on the map shows its number in the table
        map_data.desa["ref"] = map_data.desa["code"].map({row.code: str(i) for i, row in enumerate(rows, 1)})
        briefs.append(Brief(code=code, name=names[code], map=map_data, rows=rows, info=info, lang=lang))
    return briefs


#: one drawing at a time per process: matplotlib's state is not thread-safe, and a burst of brief or
#: print-map requests (each seconds of CPU, a new date defeats the cache) then queues instead of
#: taking every core of the machine
_DRAWING = threading.Lock()


def brief_pdf(
    session: Session,
    result: CoverageResult,
    code: str | None = None,
    lang: str = DEFAULT_LANG,
    kabupaten: str | None = None,
) -> bytes:
    """The PDF of one kecamatan (``code``), of every kecamatan of ``kabupaten`` (a code), or of every
    kecamatan (both ``None``)."""
    codes = [code] if code is not None else None
    if code is None and kabupaten:
        codes = [str(c) for c in coverage_service.filter_kecamatan(result, kabupaten=kabupaten)["code"]]
    briefs = kecamatan_briefs(session, result, codes, lang)
    if code:
        title = f"{t('brief.title', lang)} {briefs[0].name}"
    elif kabupaten:
        title = f"{t('brief.title', lang)} — {coverage_service.kabupaten_names(result).get(kabupaten, kabupaten)}"
    else:
        title = t("brief.title", lang)
    with _DRAWING:
        pdf, _pages = render_pdf(briefs, title=title)
    return pdf


def brief_filename(code: str | None, settings: CoverageSettings, kabupaten: str | None = None) -> str:
    """A download name of ASCII letters, digits, dots and dashes: ``ringkasan_17.06.08_2024-11-27.pdf``
    (``ringkasan_17.71_...`` for the kecamatan of one kabupaten)."""
    part = re.sub(r"[^0-9A-Za-z.-]+", "_", code or kabupaten).strip("._") if code or kabupaten else "semua-kecamatan"
    return f"ringkasan_{part or 'kecamatan'}_{settings.reference_date.isoformat()}.pdf"


def print_png(session: Session, result: CoverageResult, code: str, lang: str = DEFAULT_LANG) -> bytes:
    """The print view's map of one kecamatan: the brief's map drawing, with its title and settings."""
    name = _kecamatan_name(result, code)
    caption = settings_lines(result.settings, data_version(session), lang)
    map_data = static_map(session, result, code)
    gaps = result.gaps()
    map_data.desa["ref"] = map_data.desa["code"].map(dict(zip(gaps["code"], gaps["rank"].astype(str))))
    with _DRAWING:
        return kecamatan_png(
            map_data,
            title=f"{t('kecamatan', lang)} {name}",
            caption=caption,
            lang=lang,
            size_in=PRINT_PNG_IN,
            dpi=PRINT_PNG_DPI,
        )


def write_brief(
    session: Session,
    out: Path | str,
    overrides: Mapping[str, Any],
    kecamatan: str | None = None,
    lang: str = DEFAULT_LANG,
    cache: coverage_service.CoverageCache | None = None,
) -> tuple[Path, int]:
    """``geo-app coverage brief``: the brief of one kecamatan (code or name) or of all, for the settings
    given as text (``--date``, ``--set``, ...), written to ``out`` through a temporary file (a failed run
    leaves no file). Returns the path and the number of pages."""
    given = {k: v for k, v in overrides.items() if v not in (None, "")}
    result = coverage_service.get_coverage(session, coverage_service.coverage_settings(given), cache)
    code = coverage_service.resolve_kecamatan(result, kecamatan)
    briefs = kecamatan_briefs(session, result, None if code is None else [code], lang)
    pdf, pages = render_pdf(
        briefs, title=f"{t('brief.title', lang)} {briefs[0].name}" if code else t("brief.title", lang)
    )
    path = Path(out).expanduser()
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as fh:
            tmp = fh.name
            fh.write(pdf)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise ValidationError(f"--out {path}: {exc.strerror or exc}", details={"out": "not writable"}) from None
    return path, pages
