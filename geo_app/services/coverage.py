"""Coverage use case shared by ``/api/coverage``, ``/api/gaps`` and ``geo-app coverage``.

Loads the boundaries and records through the storage adapter, runs the pure analysis
(``geo_app.analysis.coverage``) and caches the result per data version and settings: a repeated
request does no recomputation, and any write to records or boundaries (which bumps the data
version) makes the next request compute afresh. Also turns results into JSON rows, CSV and GeoJSON.
"""

from __future__ import annotations

import csv
import io
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from .. import geojson
from ..analysis.coverage import FLAGS, STATUSES, CoverageResult, CoverageSettings, compute_coverage
from ..analysis.placement import DEFAULT_TOLERANCE_M
from ..errors import ValidationError
from ..i18n import msg, msg_as
from ..records.desa_lookup import find_kabupaten
from ..spreadsheet_formulas import neutralise
from ..store.adapter import desa_frame, kecamatan_frame
from ..store.db import data_version
from ..store.records import incidents_frame, meetings_frame, tps_frame
from .boundaries import require_boundaries

FORMATS = ("json", "csv", "geojson")

DESA_COLUMNS = [
    "code",
    "name",
    "kind",
    "kecamatan_code",
    "kecamatan_name",
    "status",
    "flags",
    "priority",
    "priority_rank",
    "reached",
    "meetings_count",
    "last_meeting_date",
    "planned_meeting_date",
    "nearest_venue_km",
    "tps_count",
    "voters",
    "tps_secured",
    "tps_below_requirement",
    "required_police",
    "required_tni",
    "required_linmas",
    "assigned_police",
    "assigned_tni",
    "assigned_linmas",
    "shortfall_police",
    "shortfall_tni",
    "shortfall_linmas",
    "shortfall_total",
    "tps_location_mismatch",
    "incidents_count",
    "incidents_low",
    "incidents_medium",
    "incidents_high",
    "incident_weight",
    "unresolved_count",
    "unresolved_weight",
    "unresolved_after_last_meeting",
    "last_incident_at",
    "rep_lon",
    "rep_lat",
]
KECAMATAN_COLUMNS = [
    "code",
    "name",
    "desa_count",
    "desa_reached",
    "share_desa_reached",
    "desa_no_tps",
    "desa_planned",
    "tps_count",
    "tps_secured",
    "share_tps_secured",
    "voters",
    "voters_uncovered",
    "required_police",
    "required_tni",
    "required_linmas",
    "assigned_police",
    "assigned_tni",
    "assigned_linmas",
    "short_police",
    "short_tni",
    "short_linmas",
    "shortfall_total",
    "incidents_count",
    "incident_weight",
    "unresolved_count",
    "unresolved_weight",
    *[f"status_{s}" for s in STATUSES],
    *[f"flag_{f}" for f in FLAGS],
    "rep_lon",
    "rep_lat",
]
GAP_COLUMNS = ["rank", *DESA_COLUMNS[:9], "plan", "reasons_id", "reasons_en", *DESA_COLUMNS[9:]]
#: the columns a desa or kecamatan row gains when several kabupaten are loaded (after ``kind``/``name``)
KABUPATEN_ROW_COLUMNS = ["kabupaten_code", "kabupaten_name"]
#: the per-kabupaten roll-up (``kabupaten_table``): sums of the kecamatan rows and shares
KABUPATEN_COLUMNS = [
    "code",
    "name",
    "kecamatan_count",
    "desa_count",
    "desa_reached",
    "share_desa_reached",
    "status_uncovered",
    "share_desa_uncovered",
    "status_at_risk",
    "status_insecure",
    "status_no_data",
    "status_covered",
    "desa_no_tps",
    "desa_planned",
    "tps_count",
    "tps_secured",
    "share_tps_secured",
    "voters",
    "voters_uncovered",
    "shortfall_total",
    "incidents_count",
    "unresolved_count",
    "rep_lon",
    "rep_lat",
]


class CoverageCache:
    """A small thread-safe LRU of results keyed by (data version, settings)."""

    def __init__(self, maxsize: int = 16) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[tuple[str, str], CoverageResult] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: tuple[str, str], compute: Callable[[], CoverageResult]) -> CoverageResult:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        result = compute()  # outside the lock: a slow computation does not block cache hits
        with self._lock:
            self.misses += 1
            self._items[key] = result
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return result


def load_inputs(session: Session) -> dict[str, pd.DataFrame]:
    """Boundaries and live (not deleted) records as the frames ``compute_coverage`` takes."""
    require_boundaries(session)
    desa = desa_frame(session)
    kecamatan = kecamatan_frame(session)
    kab_names = dict(zip(desa["kabupaten_code"], desa["kabupaten_name"]))
    kecamatan["kabupaten_name"] = kecamatan["kabupaten_code"].map(kab_names)
    return {
        "desa": desa,
        "kecamatan": kecamatan,
        "meetings": meetings_frame(session, desa),
        "tps": tps_frame(session, desa),
        "incidents": incidents_frame(session, desa),
    }


def coverage_settings(
    overrides: Mapping[str, Any] | None = None, base: CoverageSettings | None = None
) -> CoverageSettings:
    """Defaults (or ``base``) with per-request / per-call overrides given as strings."""
    return (base or CoverageSettings()).with_overrides(overrides)


def get_coverage(
    session: Session,
    settings: CoverageSettings | None = None,
    cache: CoverageCache | None = None,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> CoverageResult:
    """The coverage result for the stored data, from ``cache`` when the data and settings are unchanged."""
    settings = settings or CoverageSettings()
    key = (data_version(session), f"{settings.cache_key()}|{tolerance_m:g}")

    def compute() -> CoverageResult:
        frames = load_inputs(session)
        result = compute_coverage(
            frames["desa"],
            frames["kecamatan"],
            frames["meetings"],
            frames["tps"],
            frames["incidents"],
            settings,
            tolerance_m,
        )
        # the maps show these records: they are read once, here (services.map_data uses them)
        result.records = {k: frames[k] for k in ("meetings", "tps", "incidents")}
        return result

    return cache.get_or_compute(key, compute) if cache is not None else compute()


# --- filters ----------------------------------------------------------------------------------------


def parse_format(value: str | None, allowed: tuple[str, ...] = FORMATS) -> str:
    fmt = (value or allowed[0]).strip().lower()
    if fmt not in allowed:
        raise ValidationError(
            msg_as(
                f"format: {value!r} tidak dikenal / unknown; pilihan / choose: {', '.join(allowed)}",
                "format: %(value)r tidak dikenal; pilihan: %(choices)s",
                value=value,
                choices=", ".join(allowed),
            ),
            details={"format": "unknown format"},
        )
    return fmt


def parse_statuses(value: str | None) -> list[str] | None:
    """``uncovered,at_risk`` → list; ``None``/empty → no filter."""
    if value is None or not str(value).strip():
        return None
    items = [s.strip().lower() for s in str(value).split(",") if s.strip()]
    unknown = [s for s in items if s not in STATUSES]
    if unknown:
        raise ValidationError(
            msg_as(
                f"status: {', '.join(map(repr, unknown))} tidak dikenal / unknown; pilihan / choose: {', '.join(STATUSES)}",
                "status: %(value)s tidak dikenal; pilihan: %(choices)s",
                value=", ".join(map(repr, unknown)),
                choices=", ".join(STATUSES),
            ),
            details={"status": "unknown status"},
        )
    return items


def resolve_kecamatan(result: CoverageResult, value: str | None) -> str | None:
    """A kecamatan code from a code or a name (any case); ``None``/empty → no filter."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    kec = result.kecamatan
    if text in set(kec["code"]):
        return text
    by_name = kec[kec["name"].str.casefold() == text.casefold()]
    if len(by_name) == 1:
        return str(by_name["code"].iloc[0])
    example = kec["code"].iloc[0] if len(kec) else "17.06.08"
    raise ValidationError(
        msg_as(
            f"kecamatan: {text!r} tidak dikenal / unknown; pakai kode seperti / use a code like {example}",
            "kecamatan: %(value)r tidak dikenal; pakai kode seperti %(example)s",
            value=text,
            example=example,
        ),
        details={"kecamatan": "unknown kecamatan"},
    )


def kabupaten_names(result: CoverageResult) -> dict[str, str]:
    """``code -> name`` of the kabupaten the result covers, in code order (the code's first five
    characters stand in for a result computed from desa without kabupaten columns)."""
    desa = result.desa
    if "kabupaten_code" not in desa.columns:
        return {c: c for c in sorted({str(code)[:5] for code in desa["code"]})}
    names = desa["kabupaten_name"] if "kabupaten_name" in desa.columns else desa["kabupaten_code"]
    return dict(sorted(zip(desa["kabupaten_code"], names)))


def several_kabupaten(result: CoverageResult) -> bool:
    """More than one kabupaten loaded: tables and exports then carry a kabupaten column."""
    return len(kabupaten_names(result)) > 1


def resolve_kabupaten(result: CoverageResult, value: str | None) -> str | None:
    """A kabupaten code from a code (``17.71``) or a name in any case, with or without "Kabupaten"
    (``Mukomuko``, ``kota bengkulu``); ``None``/empty → no filter. Unknown: a 400 listing the loaded ones."""
    return match_kabupaten(kabupaten_names(result), value)


def match_kabupaten(known: Mapping[str, str], value: str | None) -> str | None:
    """``resolve_kabupaten`` over ``known`` (``code -> name``): for a caller that has the kabupaten
    without a coverage result (a GIS download served from the file cache), with the same 400."""
    text = " ".join(str(value or "").split())
    if not text:
        return None
    code = find_kabupaten(known, text)
    if code is not None:
        return code
    raise ValidationError(
        msg(
            "kabupaten: %(value)r tidak dikenal; pilihan: %(choices)s",
            value=text,
            choices=", ".join(f"{c} {n}" for c, n in known.items()),
        ),
        details={"kabupaten": "unknown kabupaten"},
    )


def check_kecamatan_in_kabupaten(result: CoverageResult, kecamatan: str | None, kabupaten: str | None) -> None:
    """A kecamatan and a kabupaten given together must agree (a 400 naming both otherwise)."""
    if not kecamatan or not kabupaten:
        return
    row = result.kecamatan[result.kecamatan["code"] == kecamatan]
    kab = str(row["kabupaten_code"].iloc[0]) if "kabupaten_code" in row.columns and len(row) else kecamatan[:5]
    if kab != kabupaten:
        names = kabupaten_names(result)
        raise ValidationError(
            msg(
                "kecamatan %(kec)s ada di %(kab)s, bukan di %(other)s",
                kec=kecamatan,
                kab=names.get(kab, kab),
                other=names.get(kabupaten, kabupaten),
            ),
            details={"kecamatan": "not in that kabupaten"},
        )


def _kabupaten_of(frame: pd.DataFrame) -> pd.Series:
    return frame["kabupaten_code"] if "kabupaten_code" in frame.columns else frame["code"].astype(str).str.slice(0, 5)


def filter_desa(
    frame: pd.DataFrame,
    kecamatan: str | None = None,
    statuses: list[str] | None = None,
    kabupaten: str | None = None,
) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    if kabupaten:
        mask &= (_kabupaten_of(frame) == kabupaten).to_numpy()
    if kecamatan:
        mask &= (frame["kecamatan_code"] == kecamatan).to_numpy()
    if statuses:
        mask &= frame["status"].isin(statuses).to_numpy()
    return frame[mask]


def filter_kecamatan(
    result: CoverageResult, kecamatan: str | None = None, kabupaten: str | None = None
) -> pd.DataFrame:
    """The per-kecamatan rows of one kecamatan, of one kabupaten, or all."""
    table = result.kecamatan
    if kecamatan:
        return table[table["code"] == kecamatan]
    if kabupaten:
        return table[(_kabupaten_of(table) == kabupaten).to_numpy()]
    return table


def desa_columns(result: CoverageResult, columns: list[str] | None = None) -> list[str]:
    """``columns`` (``DESA_COLUMNS`` by default; ``GAP_COLUMNS`` works too) with ``kabupaten_code`` and
    ``kabupaten_name`` after ``kind`` when several kabupaten are loaded; unchanged for one."""
    columns = list(columns or DESA_COLUMNS)
    if not several_kabupaten(result):
        return columns
    at = columns.index("kind") + 1
    return [*columns[:at], *KABUPATEN_ROW_COLUMNS, *columns[at:]]


def kecamatan_columns(result: CoverageResult) -> list[str]:
    """``KECAMATAN_COLUMNS``, with the kabupaten code and name after ``name`` when several are loaded."""
    if not several_kabupaten(result):
        return list(KECAMATAN_COLUMNS)
    return [*KECAMATAN_COLUMNS[:2], *KABUPATEN_ROW_COLUMNS, *KECAMATAN_COLUMNS[2:]]


def kabupaten_table(result: CoverageResult) -> pd.DataFrame:
    """One row per kabupaten: the sums of its kecamatan rows (desa, reached, per status, TPS, voters,
    shortfall, incidents), the shares recomputed from the sums (``share_desa_uncovered``: uncovered desa
    over all), and the mean of its kecamatan's representative points. In code order."""
    kec = result.kecamatan
    names = kabupaten_names(result)
    codes = _kabupaten_of(kec).to_numpy(dtype=object)
    summed = [
        c
        for c in KABUPATEN_COLUMNS
        if c in kec.columns and not c.startswith("share_") and c not in ("code", "name", "rep_lon", "rep_lat")
    ]
    frame = pd.DataFrame({c: kec[c].to_numpy() for c in summed})
    frame["kabupaten"] = codes
    sums = frame.groupby("kabupaten", sort=True).sum()
    table = pd.DataFrame({"code": sums.index.to_numpy(dtype=object)})
    table["name"] = [names.get(c, c) for c in table["code"]]
    table["kecamatan_count"] = pd.Series(codes).value_counts().reindex(table["code"]).to_numpy()
    for c in summed:
        table[c] = sums[c].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        desa = table["desa_count"].to_numpy(dtype=float)
        tps = table["tps_count"].to_numpy(dtype=float)
        table["share_desa_reached"] = np.where(desa > 0, table["desa_reached"] / np.where(desa > 0, desa, 1), np.nan)
        table["share_desa_uncovered"] = np.where(
            desa > 0, table["status_uncovered"] / np.where(desa > 0, desa, 1), np.nan
        )
        table["share_tps_secured"] = np.where(tps > 0, table["tps_secured"] / np.where(tps > 0, tps, 1), np.nan)
    reps = pd.DataFrame(
        {"kabupaten": codes, "rep_lon": kec["rep_lon"].to_numpy(), "rep_lat": kec["rep_lat"].to_numpy()}
    )
    means = reps.groupby("kabupaten", sort=True).mean()
    table["rep_lon"] = means["rep_lon"].reindex(table["code"]).to_numpy()
    table["rep_lat"] = means["rep_lat"].reindex(table["code"]).to_numpy()
    return table[[c for c in KABUPATEN_COLUMNS if c in table.columns]]


# --- serialisation ------------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """A JSON-ready Python value: NaN/NaT → None, numpy scalars → Python, dates → ISO text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_clean(v) for v in value]
    if isinstance(value, pd.Timestamp):
        if value.hour == value.minute == value.second == 0 and value.microsecond == 0:
            return value.date().isoformat()
        return value.isoformat(timespec="minutes")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def rows(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    cols = [c for c in columns if c in frame.columns]
    data = {c: frame[c].tolist() for c in cols}
    out = []
    for i in range(len(frame)):
        rec = {c: _clean(data[c][i]) for c in cols}
        for c in ("nearest_venue_km",):
            if rec.get(c) is not None:
                rec[c] = round(rec[c], 3)
        for c in ("share_desa_reached", "share_tps_secured", "share_desa_uncovered"):
            if rec.get(c) is not None:
                rec[c] = round(rec[c], 4)
        out.append(rec)
    return out


def to_csv(records: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for rec in records:
        writer.writerow([neutralise(rec.get(c)) for c in columns])
    return buf.getvalue()


def to_geojson(frame: gpd.GeoDataFrame, columns: list[str], **members: Any) -> dict[str, Any]:
    """Polygons (EPSG:4326, lon/lat) with the listed columns as properties."""
    props = rows(frame, columns)
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs="EPSG:4326")
    return geojson.feature_collection(geojson.frame_features(frame, props, id_field="code"), **members)


def summary_for(result: CoverageResult, kecamatan: str | None = None, kabupaten: str | None = None) -> dict[str, Any]:
    """The summary of everything loaded, or the one kecamatan's roll-up row when filtered, or the one
    kabupaten's (``kabupaten_table``) when filtered by kabupaten alone."""
    if kecamatan:
        row = result.kecamatan[result.kecamatan["code"] == kecamatan]
        return rows(row, kecamatan_columns(result))[0]
    if kabupaten:
        table = kabupaten_table(result)
        return rows(table[table["code"] == kabupaten], KABUPATEN_COLUMNS)[0]
    return {k: _clean(v) for k, v in result.summary.items() if k != "settings"}


# --- command line -----------------------------------------------------------------------------------

_TABLE_COLUMNS = [  # (header, column, width)
    ("Kode", "code", 13),
    ("Desa", "name", 20),
    ("Kecamatan", "kecamatan_name", 14),
    ("Status", "status", 9),
    ("Tanda/flags", "flags", 24),
    ("Prioritas", "priority", 9),
    ("TPS", "tps_count", 4),
    ("Pemilih", "voters", 7),
    ("Rakor", "meetings_count", 5),
    ("Kurang", "shortfall_total", 6),
    ("Insiden", "incidents_count", 7),
]


def _table(records: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    def cell(value: Any, width: int) -> str:
        if isinstance(value, list):
            value = ",".join(value)
        text = "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
        return text[:width].ljust(width) if not isinstance(value, (int, float)) else text.rjust(width)

    lines = [" ".join(h.ljust(w) if i < 4 else h.rjust(w) for i, (h, _, w) in enumerate(_TABLE_COLUMNS))]
    for rec in records:
        lines.append(" ".join(cell(rec.get(c), w) for _, c, w in _TABLE_COLUMNS))
    counts = summary.get("status_counts") or {s: summary.get(f"status_{s}", 0) for s in STATUSES}
    lines.append(
        f"{len(records)} desa; belum terjangkau/uncovered {counts['uncovered']}, rawan insiden/at_risk "
        f"{counts['at_risk']}, kurang personel/insecure {counts['insecure']}, tanpa data TPS/no_data "
        f"{counts['no_data']}, aman/covered {counts['covered']}; "
        f"pemilih di desa belum terjangkau / voters uncovered: {summary.get('voters_uncovered', 0):,}"
    )
    return "\n".join(lines)


def cli_output(
    session: Session,
    fmt: str,
    overrides: Mapping[str, Any],
    kecamatan: str | None = None,
    status: str | None = None,
    cache: CoverageCache | None = None,
    kabupaten: str | None = None,
) -> str:
    """What ``geo-app coverage`` prints: a table (highest priority first) or csv/json/geojson (by code);
    with several kabupaten loaded the rows name their kabupaten."""
    import json

    fmt = parse_format(fmt, ("table", *FORMATS))
    statuses = parse_statuses(status)
    result = get_coverage(session, coverage_settings(overrides), cache)
    kec = resolve_kecamatan(result, kecamatan)
    kab = resolve_kabupaten(result, kabupaten)
    check_kecamatan_in_kabupaten(result, kec, kab)
    desa = filter_desa(result.desa, kec, statuses, kab)
    summary = summary_for(result, kec, kab)
    columns = desa_columns(result)
    if fmt == "table":
        return _table(rows(desa.sort_values("priority_rank"), columns), summary)
    if fmt == "csv":
        return to_csv(rows(desa, columns), columns).rstrip("\n")
    if fmt == "geojson":
        body = to_geojson(desa, columns, settings=result.settings.to_dict(), summary=summary)
    else:
        body = {
            "settings": result.settings.to_dict(),
            "summary": summary,
            "count": len(desa),
            "desa": rows(desa, columns),
        }
    return json.dumps(body, ensure_ascii=False)


def parse_set_options(values: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``--set key=value`` options as a dict, refusing text without ``=``."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--set: expected KEY=VALUE, got {item!r}", details={"--set": "not KEY=VALUE"})
        out[key.strip()] = value.strip()
    return out
