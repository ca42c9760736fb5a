"""Coverage roll-up: the result object, the per-kecamatan table, the kabupaten summary, the gap list."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .inputs import WGS84, _codes
from .settings import FLAGS, FORCES, STATUSES, CoverageSettings


@dataclass
class CoverageResult:
    """Output of ``compute_coverage``.

    ``desa``: one row per desa (GeoDataFrame, EPSG:4326) ordered by code, with ``status`` and
    ``flags``; ``kecamatan``: roll-up per kecamatan; ``summary``: kabupaten figures (JSON-ready);
    ``tps``: one row per TPS with its requirement, shortfall and the desa its point is placed in;
    ``meetings``: every rakor with its venue, the desa it reaches, in window or planned.
    """

    desa: gpd.GeoDataFrame
    kecamatan: pd.DataFrame
    summary: dict[str, Any]
    tps: pd.DataFrame
    meetings: pd.DataFrame
    settings: CoverageSettings
    #: the record frames it was computed from (``meetings``, ``tps``, ``incidents`` as the store gives
    #: them), kept so that maps and pages showing the records do not read them again
    records: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)
    _gaps: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def gaps(self) -> pd.DataFrame:
        """Desa whose status is not ``covered`` or that carry a flag, highest priority first (ties by
        code), with ``plan`` (for uncovered desa: ``planned`` or ``none``) and the reasons spelled
        out in Bahasa Indonesia (``reasons_id``) and English (``reasons_en``). ``rank`` is
        kabupaten-wide. Built once per result (results are cached); do not modify it."""
        if self._gaps is None:
            self._gaps = self._build_gaps()
        return self._gaps

    def _build_gaps(self) -> pd.DataFrame:
        from ...i18n import reason_texts  # the texts live with the translations

        listed = (self.desa["status"] != "covered").to_numpy() | (self.desa["flags"].map(len) > 0).to_numpy()
        gaps = self.desa[listed].sort_values("priority_rank", kind="stable").copy()
        gaps.insert(0, "rank", np.arange(1, len(gaps) + 1))
        gaps["plan"] = plan_of(gaps)
        texts = [
            (reason_texts(r, self.settings, "id"), reason_texts(r, self.settings, "en"))
            for r in gaps.itertuples(index=False)
        ]
        gaps["reasons_id"] = [t[0] for t in texts]
        gaps["reasons_en"] = [t[1] for t in texts]
        return gaps


def plan_of(frame: pd.DataFrame) -> np.ndarray:
    """For the gap list: uncovered desa with a planned rakor → ``planned``, without → ``none``;
    desa that are reached → ``reached``."""
    uncovered = frame["status"].to_numpy() == "uncovered"
    planned = frame["planned_meeting_date"].notna().to_numpy()
    return np.where(uncovered, np.where(planned, "planned", "none"), "reached").astype(object)


def _share(num, den):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            np.asarray(den) > 0, np.asarray(num, dtype=float) / np.where(np.asarray(den) > 0, den, 1), np.nan
        )


def _share_or_none(num: int, den: int) -> float | None:
    """A share for JSON: ``None`` when there is nothing to divide by."""
    return num / den if den else None


def rollup(out: pd.DataFrame, kec: pd.DataFrame) -> pd.DataFrame:
    """Per kecamatan: desa reached, TPS secured, voters in uncovered desa, incidents, personnel
    required/assigned/short per force, desa per status and per flag (``no_data`` counted apart)."""
    status = out["status"].to_numpy()
    flags = out["flags"].tolist()
    cols = {
        "kecamatan_code": out["kecamatan_code"].to_numpy(dtype=object),
        "desa_count": 1,
        "desa_reached": out["reached"].to_numpy(dtype=np.int64),
        "desa_no_tps": (out["tps_count"].to_numpy() == 0).astype(np.int64),
        "desa_planned": (out["planned_meeting_date"].notna() & (status == "uncovered")).to_numpy(dtype=np.int64),
        "tps_count": out["tps_count"].to_numpy(),
        "tps_secured": out["tps_secured"].to_numpy(),
        "voters": out["voters"].to_numpy(),
        "voters_uncovered": np.where(status == "uncovered", out["voters"].to_numpy(), 0),
        "incidents_count": out["incidents_count"].to_numpy(),
        "incident_weight": out["incident_weight"].to_numpy(),
        "unresolved_count": out["unresolved_count"].to_numpy(),
        "unresolved_weight": out["unresolved_weight"].to_numpy(),
        **{f"required_{f}": out[f"required_{f}"].to_numpy() for f in FORCES},
        **{f"assigned_{f}": out[f"assigned_{f}"].to_numpy() for f in FORCES},
        **{f"short_{f}": out[f"shortfall_{f}"].to_numpy() for f in FORCES},
        "shortfall_total": out["shortfall_total"].to_numpy(),
        **{f"status_{s}": (status == s).astype(np.int64) for s in STATUSES},
        **{f"flag_{f}": np.array([f in fl for fl in flags], dtype=np.int64) for f in FLAGS},
    }
    df = pd.DataFrame(cols)
    sums = df.groupby("kecamatan_code", sort=True).sum().reindex(kec["code"].to_numpy(), fill_value=0)
    table = pd.DataFrame({"code": kec["code"].to_numpy(dtype=object), "name": kec["name"].to_numpy(dtype=object)})
    for col in ("kabupaten_code", "kabupaten_name"):  # several kabupaten: pages and exports group by them
        if col in kec.columns:
            table[col] = kec[col].to_numpy(dtype=object)
    for col in sums.columns:
        table[col] = sums[col].to_numpy()
    table["share_desa_reached"] = _share(table["desa_reached"], table["desa_count"])
    table["share_tps_secured"] = _share(table["tps_secured"], table["tps_count"])
    for c in ("rep_lon", "rep_lat"):
        table[c] = kec[c].to_numpy(float)
    if isinstance(kec, gpd.GeoDataFrame) and kec.geometry.name in kec.columns:
        table = gpd.GeoDataFrame(table, geometry=kec.geometry.to_numpy(), crs=kec.crs or WGS84)
    return table


def summary(out, kec_table, meetings_out, tps_out, incidents, inc_rows, settings) -> dict[str, Any]:
    counted, unresolved, weight = inc_rows["counted"], inc_rows["unresolved"], inc_rows["weight"]
    no_desa = np.array([c is None for c in _codes(incidents["desa_code"])], dtype=bool)
    desa_count = len(out)
    reached = int(out["reached"].sum())
    tps_count = int(out["tps_count"].sum())
    tps_secured = int(out["tps_secured"].sum())
    has_point = tps_out["location_matches"].notna().to_numpy()
    flags = out["flags"].tolist()
    m_first, m_last = settings.meeting_window
    i_first, i_last = settings.incident_window
    return {
        "reference_date": settings.reference_date.isoformat(),
        "preset": settings.preset,
        "meeting_window_start": m_first.isoformat(),
        "meeting_window_end": m_last.isoformat(),
        "incident_window_start": i_first.isoformat(),
        "incident_window_end": i_last.isoformat(),
        "desa_count": desa_count,
        "kecamatan_count": len(kec_table),
        "desa_reached": reached,
        "share_desa_reached": _share_or_none(reached, desa_count),
        "desa_without_tps": int((out["tps_count"] == 0).sum()),
        "desa_uncovered_planned": int(((out["status"] == "uncovered") & out["planned_meeting_date"].notna()).sum()),
        "desa_uncovered_unplanned": int(((out["status"] == "uncovered") & out["planned_meeting_date"].isna()).sum()),
        "tps_count": tps_count,
        "tps_secured": tps_secured,
        "share_tps_secured": _share_or_none(tps_secured, tps_count),
        "voters": int(out["voters"].sum()),
        "voters_uncovered": int(out.loc[out["status"] == "uncovered", "voters"].sum()),
        "personnel_required": {f: int(out[f"required_{f}"].sum()) for f in FORCES},
        "personnel_assigned": {f: int(out[f"assigned_{f}"].sum()) for f in FORCES},
        "shortfall": {f: int(out[f"shortfall_{f}"].sum()) for f in FORCES},
        "meetings_total": len(meetings_out),
        "meetings_in_window": int(meetings_out["in_window"].sum()),
        "meetings_planned": int(meetings_out["planned"].sum()),
        # kabupaten incident totals include incidents not tied to any desa; kecamatan rows cannot
        "incidents_in_window": int(counted.sum()),
        "incident_weight": float(weight[counted].sum()),
        "unresolved_count": int((counted & unresolved).sum()),
        "unresolved_weight": float(weight[counted & unresolved].sum()),
        "incidents_without_desa": int((counted & no_desa).sum()),
        "tps_with_point": int(has_point.sum()),
        "tps_location_mismatch": int(
            (has_point & ~tps_out["location_matches"].fillna(True).to_numpy(dtype=bool)).sum()
        ),
        "status_counts": {s: int((out["status"] == s).sum()) for s in STATUSES},
        "flag_counts": {f: sum(f in fl for fl in flags) for f in FLAGS},
        "settings": settings.to_dict(),
    }
