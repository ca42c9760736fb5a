"""Coverage rules (issue 10), each in one place: reach, windows, the plan ahead, security,
incidents, statuses and flags. Pure functions over (Geo)DataFrames: no Flask, no SQLAlchemy.

* **Window** (``settings.window``): N calendar days ending on and including the reference date.
* **Reach** (``meeting_reach``): a rakor reaches the desa it lists, the desa it is held in (its
  venue desa: the recorded host desa, else the desa its venue point lies in by the placement rule),
  and, when it is a kecamatan-level rakor recorded as reaching all (``semua``), every desa of its
  kecamatan. In the window it counts for coverage; dated after the reference date it is planned.
* **Security**: requirements are personnel per TPS by vulnerability class (a preset). A TPS must have
  the whole personnel its class puts at every TPS (the ratio rounded down); a desa must have the sum
  of its TPS' ratios rounded up. With ``tni_counts_as_police`` TNI beyond their own requirement count
  toward the police requirement. Linmas stay per TPS.
* **Incidents**: ``dismissed`` ones are left out; ``closed`` count in totals but are not unresolved.
  ``at_risk``: unresolved weight in the incident window >= threshold. ``follow_up``: an unresolved
  incident on a later day than the desa's last rakor in the window.
* **Status** (one per desa, the first that holds): uncovered > at_risk > insecure > no_data > covered;
  ``flags`` lists every condition that holds (``FLAGS``).
* **Priority** (gap list order): ``w_uncovered*[uncovered] + w_voters*voters/1000 +
  w_incident*incident_weight + w_shortfall*missing personnel``; ties by code.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from ..placement import DEFAULT_TOLERANCE_M, assign_desa
from .inputs import (
    INCIDENT_COLUMNS,
    MEETING_COLUMNS,
    TPS_COLUMNS,
    WGS84,
    _check_ids,
    _choice,
    _codes,
    _datetimes,
    _fail,
    _frame,
    _labels,
    _numbers,
    _obj,
    _prepare_desa,
    _prepare_kecamatan,
    _unknown_codes,
    project,
)
from .rollup import CoverageResult, rollup, summary
from .settings import FLAGS, FORCES, INCIDENT_STATUSES, MEETING_LEVELS, SEVERITIES, CoverageSettings

_EPS = 1e-9


def meeting_reach(
    level: str | None,
    host_kecamatan_code: str | None,
    venue_desa_code: str | None,
    reaches_all_desa: bool,
    listed: Iterable[str] | None,
    desa_of_kecamatan: Mapping[str, Sequence[str]],
) -> list[str]:
    """THE reach rule: the desa codes one rakor reaches (sorted).

    Listed desa; the venue desa (always); every desa of the host kecamatan for a kecamatan-level
    rakor recorded as reaching all (``semua``). The host kecamatan falls back to the venue desa's
    (its code prefix). Used by coverage, the map layers, the record pages and the import warning.
    """
    reached = {c for c in (listed or ()) if c}
    if venue_desa_code:
        reached.add(venue_desa_code)
    kec = host_kecamatan_code or (venue_desa_code[:8] if venue_desa_code else None)
    if level == "kecamatan" and reaches_all_desa and kec:
        reached.update(desa_of_kecamatan.get(kec, ()))
    return sorted(reached)


def reaches_only_venue(reached: Sequence[str], venue_desa_code: str | None) -> bool:
    """A rakor that reaches no desa other than its venue (accepted, with a warning)."""
    return not (set(reached) - {venue_desa_code})


def in_window(days: pd.Series, bounds: tuple) -> np.ndarray:
    """Calendar days (normalised timestamps) inside the window's (first, last) days."""
    first, last = pd.Timestamp(bounds[0]), pd.Timestamp(bounds[1])
    return ((days >= first) & (days <= last)).to_numpy(dtype=bool, copy=True)


def compute_coverage(
    desa: gpd.GeoDataFrame,
    kecamatan: pd.DataFrame,
    meetings: pd.DataFrame | None = None,
    tps: pd.DataFrame | None = None,
    incidents: pd.DataFrame | None = None,
    settings: CoverageSettings | None = None,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> CoverageResult:
    """Coverage of every desa at ``settings.reference_date`` (see the module docstring for the rules).

    Frames (``None`` means no records of that kind):

    * ``desa``: GeoDataFrame with a CRS; code, name, kecamatan_code, rep_lon, rep_lat (EPSG:4326),
      optional kind, kecamatan_name, kabupaten_code, kabupaten_name, area_km2 (kept in ``desa``).
    * ``kecamatan``: code, name, rep_lon, rep_lat (or a geometry to compute them), optional
      kabupaten_code, kabupaten_name (kept in the per-kecamatan table).
    * ``meetings``: id, title, date, level, host_kecamatan_code, host_desa_code, reaches_all_desa,
      reached_desa_codes (list of codes), lon, lat (NaN allowed).
    * ``tps``: id, desa_code, number, voters, vulnerability, police, tni, linmas, lon, lat.
    * ``incidents``: id, occurred_at (naive WIB), severity, status, category, desa_code (None allowed).

    ``tolerance_m``: the placement tolerance for points in gaps between desa (as for imports).
    """
    settings = settings or CoverageSettings()
    desa = _prepare_desa(desa)
    kec = _prepare_kecamatan(kecamatan, desa)
    meetings = _frame(meetings, "meetings", MEETING_COLUMNS)
    tps = _frame(tps, "tps", TPS_COLUMNS)
    incidents = _frame(incidents, "incidents", INCIDENT_COLUMNS)

    n = len(desa)
    desa_codes = pd.Index(desa["code"].to_numpy(dtype=object))
    kec_codes = pd.Index(kec["code"].to_numpy(dtype=object))
    desa_kec = desa["kecamatan_code"].to_numpy(dtype=object)

    meet = _meetings(meetings, desa, desa_codes, kec, kec_codes, desa_kec, settings, tolerance_m)
    tps_out, per_tps = _tps(tps, desa, desa_codes, settings, tolerance_m)
    inc, inc_rows = _incidents(incidents, desa_codes, meet["last_meeting_date"], settings)

    reached = meet["meetings_count"] > 0
    uncovered = ~reached
    no_data = per_tps["tps_count"] == 0
    insecure = per_tps["insecure"]
    at_risk = inc["unresolved_weight"] >= settings.at_risk_threshold
    follow_up = inc["follow_up"]
    mismatch = per_tps["tps_location_mismatch"] > 0
    conditions = {
        "uncovered": uncovered,
        "at_risk": at_risk,
        "insecure": insecure,
        "no_data": no_data,
        "follow_up": follow_up,
        "location_mismatch": mismatch,
    }
    status = np.select(
        [uncovered, at_risk, insecure, no_data], ["uncovered", "at_risk", "insecure", "no_data"], "covered"
    ).astype(object)
    on = np.column_stack([conditions[f] for f in FLAGS]) if n else np.zeros((0, len(FLAGS)), dtype=bool)
    flags = [[f for f, hit in zip(FLAGS, r) if hit] for r in on.tolist()]
    shortfall_total = per_tps["shortfall_police"] + per_tps["shortfall_tni"] + per_tps["shortfall_linmas"]
    pw = settings.priority_weights
    priority = (
        pw["uncovered"] * uncovered
        + pw["voters_per_1000"] * per_tps["voters"] / 1000.0
        + pw["incident_weight"] * inc["incident_weight"]
        + pw["shortfall_person"] * shortfall_total
    )
    priority = np.round(priority.astype(float), 6)
    order = np.lexsort((desa_codes.to_numpy(dtype=str), -priority))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)

    base_cols = [
        c
        for c in (
            "code",
            "name",
            "kind",
            "kecamatan_code",
            "kecamatan_name",
            "kabupaten_code",
            "kabupaten_name",
            "area_km2",
            "rep_lon",
            "rep_lat",
        )
        if c in desa.columns
    ]
    per_tps = {k: v for k, v in per_tps.items() if k != "insecure"}
    computed = pd.DataFrame(
        {
            "status": status,
            "flags": flags,
            "priority": priority,
            "priority_rank": rank,
            "reached": reached,
            "meetings_count": meet["meetings_count"],
            "last_meeting_date": meet["last_meeting_date"],
            "planned_meeting_date": meet["planned_meeting_date"],
            "nearest_venue_km": meet["nearest_venue_km"],
            **per_tps,
            "shortfall_total": shortfall_total,
            **{k: v for k, v in inc.items() if k != "follow_up"},
        }
    )
    if "kecamatan_name" not in desa.columns:
        base_cols.append("kecamatan_name")
        desa = desa.assign(
            kecamatan_name=pd.Series(kec["name"].to_numpy(), index=kec_codes).reindex(desa_kec).to_numpy()
        )
    table = pd.concat([desa[base_cols], computed, desa[[desa.geometry.name]]], axis=1)
    out = gpd.GeoDataFrame(table, geometry=desa.geometry.name, crs=WGS84)

    kec_table = rollup(out, kec)
    summ = summary(out, kec_table, meet["table"], tps_out, incidents, inc_rows, settings)
    return CoverageResult(
        desa=out, kecamatan=kec_table, summary=summ, tps=tps_out, meetings=meet["table"], settings=settings
    )


def _meetings(meetings, desa, desa_codes, kec, kec_codes, desa_kec, settings, tolerance_m):
    """Reach of every rakor → per desa: rakor in the window, last date, nearest venue, planned date."""
    n = len(desa)
    name = "meetings"
    if len(meetings):
        _check_ids(meetings, name)
    level = _choice(meetings, name, "level", MEETING_LEVELS) if len(meetings) else np.array([], dtype=object)
    day = _datetimes(meetings, name, "date").dt.normalize()
    host_desa = _codes(meetings["host_desa_code"])
    host_kec = _codes(meetings["host_kecamatan_code"])
    _unknown_codes(name, "host_desa_code", meetings["id"], host_desa, desa_codes, "desa")
    _unknown_codes(name, "host_kecamatan_code", meetings["id"], host_kec, kec_codes, "kecamatan")
    lon = _numbers(meetings, name, "lon", integer=False, allow_nan=True)
    lat = _numbers(meetings, name, "lat", integer=False, allow_nan=True)
    reaches_all = meetings["reaches_all_desa"].astype(object).where(meetings["reaches_all_desa"].notna(), False)
    bad_flag = ~reaches_all.map(lambda v: isinstance(v, (bool, np.bool_)) or v in (0, 1)).to_numpy(dtype=bool)
    if bad_flag.any():
        _fail(
            f"{name}: reaches_all_desa must be true or false",
            _labels(name, meetings["id"], bad_flag, meetings["reaches_all_desa"]),
        )
    reaches_all = reaches_all.to_numpy(dtype=bool)
    lists = meetings["reached_desa_codes"].to_numpy(dtype=object)
    for i, v in enumerate(lists):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            lists[i] = []
        elif isinstance(v, str) or not hasattr(v, "__len__"):
            _fail(
                f"{name}: reached_desa_codes must be a list of desa codes",
                [f"{name} id {meetings['id'].iloc[i]} ({v!r})"],
            )
    unknown = [
        f"{name} id {meetings['id'].iloc[i]} ({c!r})" for i, v in enumerate(lists) for c in v if c not in desa_codes
    ]
    if unknown:
        _fail(f"{name}: reached_desa_codes has an unknown desa code", unknown)

    # venue desa: the recorded host desa, else the desa the venue point lies in (placement rule)
    venue_desa = host_desa.copy()
    has_point = ~(np.isnan(lon) | np.isnan(lat))
    todo = np.flatnonzero((venue_desa == None) & has_point)  # noqa: E711 (object array)
    if len(todo):
        pts = gpd.GeoSeries(gpd.points_from_xy(lon[todo], lat[todo]), crs=WGS84)
        venue_desa[todo] = assign_desa(pts, desa, tolerance_m)["desa_code"].to_numpy(dtype=object)
    venue_pos = desa_codes.get_indexer(venue_desa)
    eff_kec = host_kec.copy()
    fill = (eff_kec == None) & (venue_pos >= 0)  # noqa: E711
    eff_kec[fill] = desa_kec[venue_pos[fill]]
    needs_host = (level == "kecamatan") & reaches_all & (eff_kec == None)  # noqa: E711
    if needs_host.any():
        _fail(
            f"{name}: reaches_all_desa needs a host kecamatan or host desa", _labels(name, meetings["id"], needs_host)
        )

    # venue point: recorded, else the venue desa's representative point, else the host kecamatan's
    venue_lon, venue_lat = lon.copy(), lat.copy()
    source = np.where(has_point, "recorded", None).astype(object)
    use_desa = ~has_point & (venue_pos >= 0)
    venue_lon[use_desa] = desa["rep_lon"].to_numpy(float)[venue_pos[use_desa]]
    venue_lat[use_desa] = desa["rep_lat"].to_numpy(float)[venue_pos[use_desa]]
    source[use_desa] = "host_desa"
    kec_pos = kec_codes.get_indexer(eff_kec)
    use_kec = ~has_point & ~use_desa & (kec_pos >= 0)
    venue_lon[use_kec] = kec["rep_lon"].to_numpy(float)[kec_pos[use_kec]]
    venue_lat[use_kec] = kec["rep_lat"].to_numpy(float)[kec_pos[use_kec]]
    source[use_kec] = "host_kecamatan"
    venue_x, venue_y = project(venue_lon, venue_lat)

    by_kec: dict[str, list[str]] = {}
    for code, k in zip(desa_codes, desa_kec):
        by_kec.setdefault(k, []).append(code)
    reach = [
        meeting_reach(lv, hk, vd, bool(ra), ls, by_kec)
        for lv, hk, vd, ra, ls in zip(level, eff_kec, venue_desa, reaches_all, lists)
    ]
    window = in_window(day, settings.meeting_window)
    planned = (day > pd.Timestamp(settings.reference_date)).to_numpy(dtype=bool)
    lens = np.array([len(r) for r in reach], dtype=np.int64)
    pm = np.repeat(np.arange(len(reach)), lens).astype(np.int64)
    pd_ = desa_codes.get_indexer([c for r in reach for c in r]).astype(np.int64) if lens.sum() else pm.copy()
    day_ns = day.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    nat = np.iinfo(np.int64).min

    inw = window[pm] if len(pm) else np.array([], dtype=bool)
    wm, wd = pm[inw], pd_[inw]
    count = np.bincount(wd, minlength=n).astype(np.int64)
    last = np.full(n, nat, dtype=np.int64)
    np.maximum.at(last, wd, day_ns[wm])
    last_meeting = pd.Series(last.astype("datetime64[ns]")).where(count > 0).to_numpy(dtype="datetime64[ns]")
    desa_x, desa_y = project(desa["rep_lon"].to_numpy(float), desa["rep_lat"].to_numpy(float))
    dist = np.hypot(desa_x[wd] - venue_x[wm], desa_y[wd] - venue_y[wm]) / 1000.0
    nearest = np.full(n, np.inf)
    np.fmin.at(nearest, wd, dist)
    nearest[np.isinf(nearest)] = np.nan

    pl = planned[pm] if len(pm) else np.array([], dtype=bool)
    plm, pld = pm[pl], pd_[pl]
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, pld, day_ns[plm])
    has_plan = np.bincount(pld, minlength=n) > 0
    planned_date = pd.Series(np.where(has_plan, first, nat).astype("datetime64[ns]")).where(has_plan)

    table = pd.DataFrame(
        {
            "id": meetings["id"].to_numpy(),
            "title": _obj(meetings["title"].to_numpy(dtype=object)),
            "date": day.to_numpy(dtype="datetime64[ns]"),
            "level": _obj(level),
            "host_kecamatan_code": _obj(eff_kec),
            "host_desa_code": _obj(host_desa),
            "venue_desa_code": _obj(venue_desa),
            "venue_lon": venue_lon,
            "venue_lat": venue_lat,
            "venue_source": _obj(source),
            "in_window": window,
            "planned": planned,
            "reached_codes": pd.Series(reach, dtype=object),
            "reached_desa_count": lens,
            "reaches_only_venue": np.array([reaches_only_venue(r, v) for r, v in zip(reach, venue_desa)], dtype=bool),
        }
    )
    return {
        "meetings_count": count,
        "last_meeting_date": last_meeting,
        "nearest_venue_km": nearest,
        "planned_meeting_date": planned_date.to_numpy(dtype="datetime64[ns]"),
        "table": table,
    }


def tps_requirement(vulnerability: np.ndarray, settings: CoverageSettings) -> dict[str, np.ndarray]:
    """Personnel per TPS (ratios, may be fractional) for each TPS's class."""
    return {
        f: pd.Series(vulnerability, dtype=object)
        .map({cls: req[f] for cls, req in settings.requirements.items()})
        .to_numpy(dtype=float)
        if len(vulnerability)
        else np.array([], dtype=float)
        for f in FORCES
    }


def shortfall(required: Mapping[str, np.ndarray], assigned: Mapping[str, np.ndarray], tni_counts: bool):
    """THE security comparison, for a TPS or a desa: missing personnel per force (whole numbers).
    TNI beyond their own requirement count toward police when ``tni_counts``."""
    short_tni = np.maximum(required["tni"] - assigned["tni"], 0)
    spare_tni = np.maximum(assigned["tni"] - required["tni"], 0) if tni_counts else 0
    return {
        "police": np.maximum(required["police"] - assigned["police"] - spare_tni, 0),
        "tni": short_tni,
        "linmas": np.maximum(required["linmas"] - assigned["linmas"], 0),
    }


def _tps(tps, desa, desa_codes, settings, tolerance_m):
    n = len(desa)
    name = "tps"
    if len(tps):
        _check_ids(tps, name)
    codes = _codes(tps["desa_code"])
    missing = np.array([c is None for c in codes], dtype=bool)
    if missing.any():
        _fail(f"{name}: desa_code is missing", _labels(name, tps["id"], missing))
    pos = desa_codes.get_indexer(codes) if len(codes) else np.array([], dtype=np.int64)
    if (pos < 0).any():
        _fail(f"{name}: desa_code is not a known desa code", _labels(name, tps["id"], pos < 0, codes))
    vuln = (
        _choice(
            tps,
            name,
            "vulnerability",
            tuple(settings.requirements),
            hint="a new class needs its requirement (setting requirement.<class>.<force>)",
        )
        if len(tps)
        else np.array([], dtype=object)
    )
    voters = _numbers(tps, name, "voters", integer=True).astype(np.int64)
    number = _numbers(tps, name, "number", integer=True).astype(np.int64)
    assigned = {f: _numbers(tps, name, f, integer=True).astype(np.int64) for f in FORCES}
    lon = _numbers(tps, name, "lon", integer=False, allow_nan=True)
    lat = _numbers(tps, name, "lat", integer=False, allow_nan=True)

    ratio = tps_requirement(vuln, settings)
    # at each TPS: the whole personnel its class puts at every TPS; the fraction is shared in the desa
    at_tps = {f: np.floor(ratio[f] + _EPS).astype(np.int64) for f in FORCES}
    tps_short = shortfall(at_tps, assigned, settings.tni_counts_as_police)
    below = np.zeros(len(tps), dtype=bool)
    for f in FORCES:
        below |= tps_short[f] > 0
    out = pd.DataFrame(
        {
            "id": tps["id"].to_numpy(),
            "desa_code": _obj(codes),
            "number": number,
            "voters": voters,
            "vulnerability": _obj(vuln),
        }
    )
    for f in FORCES:
        out[f] = assigned[f]
        out[f"required_{f}"] = ratio[f]
        out[f"shortfall_{f}"] = tps_short[f]
    out["secured"] = ~below

    def per_desa(values, dtype=np.int64):
        return np.bincount(pos, weights=values, minlength=n).astype(dtype) if len(pos) else np.zeros(n, dtype)

    required = {f: np.ceil(np.round(per_desa(ratio[f], float), 6) - _EPS).clip(0).astype(np.int64) for f in FORCES}
    got = {f: per_desa(assigned[f]) for f in FORCES}
    desa_short = shortfall(required, got, settings.tni_counts_as_police)
    tps_below = per_desa(below)

    out["lon"] = lon
    out["lat"] = lat
    has_point = ~(np.isnan(lon) | np.isnan(lat))
    located = np.full(len(tps), None, dtype=object)
    consistent = np.ones(len(tps), dtype=bool)
    idx = np.flatnonzero(has_point)
    if len(idx):
        pts = gpd.GeoSeries(gpd.points_from_xy(lon[idx], lat[idx]), crs=WGS84)
        placed = assign_desa(pts, desa, tolerance_m, declared=list(codes[idx]))
        located[idx] = placed["desa_code"].to_numpy(dtype=object)
        consistent[idx] = placed["consistent"].to_numpy(dtype=bool)
    out["located_desa_code"] = _obj(located)
    matches = pd.array(np.where(has_point, consistent, False), dtype="boolean")
    matches[~has_point] = pd.NA
    out["location_matches"] = matches

    result: dict[str, np.ndarray] = {
        "tps_count": per_desa(np.ones(len(tps))),
        "voters": per_desa(voters),
        "tps_secured": per_desa(~below),
        "tps_below_requirement": tps_below,
    }
    for f in FORCES:
        result[f"required_{f}"] = required[f]
        result[f"assigned_{f}"] = got[f]
    for f in FORCES:
        result[f"shortfall_{f}"] = desa_short[f]
    result["insecure"] = (tps_below > 0) | (sum(desa_short[f] for f in FORCES) > 0)
    result["tps_location_mismatch"] = per_desa(has_point & ~consistent)
    return out, result


def _incidents(incidents, desa_codes, last_meeting, settings):
    n = len(desa_codes)
    name = "incidents"
    if len(incidents):
        _check_ids(incidents, name)
    occurred = _datetimes(incidents, name, "occurred_at")
    severity = _choice(incidents, name, "severity", SEVERITIES) if len(incidents) else np.array([], dtype=object)
    status = _choice(incidents, name, "status", INCIDENT_STATUSES) if len(incidents) else np.array([], dtype=object)
    codes = _codes(incidents["desa_code"])
    pos = desa_codes.get_indexer(codes) if len(codes) else np.array([], dtype=np.int64)
    unknown = np.array([c is not None for c in codes], dtype=bool) & (pos < 0)
    if unknown.any():
        _fail(f"{name}: desa_code is not a known desa code", _labels(name, incidents["id"], unknown, codes))

    day = occurred.dt.normalize()
    counted = in_window(day, settings.incident_window)
    counted = counted & ~pd.Series(status, dtype=object).isin(settings.excluded_statuses).to_numpy(dtype=bool)
    weight = (
        pd.Series(severity, dtype=object).map(dict(settings.severity_weights)).to_numpy(dtype=float)
        if len(incidents)
        else np.array([], dtype=float)
    )
    unresolved = pd.Series(status, dtype=object).isin(settings.unresolved_statuses).to_numpy(dtype=bool)

    sel = counted & (pos >= 0)
    p = pos[sel]
    out: dict[str, np.ndarray] = {}
    for sev in SEVERITIES:
        out[f"incidents_{sev}"] = np.bincount(p, weights=(severity[sel] == sev), minlength=n).astype(np.int64)
    out["incidents_count"] = np.bincount(p, minlength=n).astype(np.int64)
    out["incident_weight"] = np.bincount(p, weights=weight[sel], minlength=n).astype(float)
    out["unresolved_count"] = np.bincount(p, weights=unresolved[sel], minlength=n).astype(np.int64)
    out["unresolved_weight"] = np.bincount(p, weights=weight[sel] * unresolved[sel], minlength=n).astype(float)
    occ_ns = occurred.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    latest = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(latest, p, occ_ns[sel])
    has = out["incidents_count"] > 0
    out["last_incident_at"] = pd.Series(latest.astype("datetime64[ns]")).where(has).to_numpy(dtype="datetime64[ns]")
    # follow_up: an unresolved incident on a later calendar day than the desa's last rakor
    meet_day = last_meeting[p]
    inc_day = day.to_numpy(dtype="datetime64[ns]")[sel]
    after = ~np.isnat(meet_day) & (inc_day > meet_day) & unresolved[sel]
    out["follow_up"] = np.bincount(p, weights=after, minlength=n) > 0
    out["unresolved_after_last_meeting"] = np.bincount(p, weights=after, minlength=n).astype(np.int64)
    return out, {"counted": counted, "unresolved": unresolved, "weight": weight}
