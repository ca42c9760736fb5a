"""Rows of meetings, TPS and incidents ↔ dicts and (Geo)DataFrames.

Frames for the analysis carry a display point for every record: its own point when it has one,
else its desa's representative point (``point_source`` says which).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Desa, Incident, Meeting, PollingStation, meeting_desa, utcnow

MODELS = {"meetings": Meeting, "tps": PollingStation, "incidents": Incident}

#: Columns each kind stores (besides id and timestamps); order is the export order.
FIELDS = {
    "meetings": [
        "external_id",
        "title",
        "date",
        "start_time",
        "level",
        "host_kecamatan_code",
        "host_desa_code",
        "venue",
        "organiser",
        "agencies",
        "reaches_all_desa",
        "reached_desa_codes",
        "lon",
        "lat",
        "point_desa_code",
        "location_mismatch",
        "placement",
        "notes",
        "source_url",
        "synthetic",
        "content_hash",
    ],
    "tps": [
        "desa_code",
        "number",
        "voters",
        "address",
        "vulnerability",
        "police",
        "tni",
        "linmas",
        "lon",
        "lat",
        "point_desa_code",
        "location_mismatch",
        "placement",
        "notes",
        "synthetic",
    ],
    "incidents": [
        "external_id",
        "occurred_at",
        "reported_at",
        "category",
        "severity",
        "status",
        "desa_code",
        "description",
        "source",
        "source_url",
        "lon",
        "lat",
        "point_desa_code",
        "location_mismatch",
        "placement",
        "notes",
        "synthetic",
        "content_hash",
    ],
}


def apply_values(session: Session, obj: Any, kind: str, values: dict[str, Any]) -> bool:
    """Set cleaned values on a row; returns whether anything changed."""
    changed = False
    for key in FIELDS[kind]:
        if key == "reached_desa_codes" or key not in values:
            continue
        if getattr(obj, key) != values[key]:
            setattr(obj, key, values[key])
            changed = True
    if kind == "meetings" and "reached_desa_codes" in values:
        current = [d.code for d in obj.reached_desa] if obj.id is not None else []
        wanted = list(values["reached_desa_codes"])
        if current != wanted:
            obj.reached_desa = [session.get(Desa, code) for code in wanted]
            changed = True
    if changed:
        obj.updated_at = utcnow()
    return changed


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return value


def to_dict(obj: Any, kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": obj.id}
    for key in FIELDS[kind]:
        if key == "reached_desa_codes":
            out[key] = [d.code for d in obj.reached_desa]
        else:
            out[key] = _jsonable(getattr(obj, key))
    out["created_at"] = _jsonable(obj.created_at)
    out["updated_at"] = _jsonable(obj.updated_at)
    if obj.deleted_at is not None:
        out["deleted_at"] = _jsonable(obj.deleted_at)
    return out


def to_raw(obj: Any, kind: str) -> dict[str, Any]:
    """A stored record back as canonical input fields, so an update can merge a partial payload."""
    raw = {k: v for k, v in to_dict(obj, kind).items() if k in FIELDS[kind]}
    if kind == "meetings":
        raw["kecamatan"] = raw.pop("host_kecamatan_code")
        raw["desa_code"] = raw.pop("host_desa_code")
        raw["reached_desa"] = raw.pop("reached_desa_codes")
    for k in ("point_desa_code", "location_mismatch", "placement", "content_hash"):
        raw.pop(k, None)
    return raw


# --- frames for the analysis ------------------------------------------------------------------------


def _display_points(df: pd.DataFrame, desa_col: str, desa: pd.DataFrame) -> pd.DataFrame:
    rep = desa.set_index("code")[["rep_lon", "rep_lat"]]
    has_point = df["lon"].notna() & df["lat"].notna()
    fallback = rep.reindex(df[desa_col])
    df["point_source"] = np.where(has_point, "point", np.where(df[desa_col].notna(), "desa", None))
    df["display_lon"] = np.where(has_point, df["lon"], fallback["rep_lon"].to_numpy())
    df["display_lat"] = np.where(has_point, df["lat"], fallback["rep_lat"].to_numpy())
    return df


def _rows(session: Session, model, columns: list[str]) -> pd.DataFrame:
    stmt = select(*[getattr(model, c) for c in ["id", *columns]]).where(model.deleted_at.is_(None)).order_by(model.id)
    return pd.DataFrame(session.execute(stmt).all(), columns=["id", *columns])


def _float(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    for c in cols:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df


def meetings_frame(session: Session, desa: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "title",
        "date",
        "start_time",
        "level",
        "host_kecamatan_code",
        "host_desa_code",
        "venue",
        "organiser",
        "agencies",
        "reaches_all_desa",
        "lon",
        "lat",
        "synthetic",
        "source_url",
        "location_mismatch",
    ]
    df = _float(_rows(session, Meeting, cols), ["lon", "lat"])
    links = pd.DataFrame(
        session.execute(select(meeting_desa.c.meeting_id, meeting_desa.c.desa_code)).all(),
        columns=["meeting_id", "desa_code"],
    )
    reached = links.sort_values("desa_code").groupby("meeting_id")["desa_code"].agg(list)
    df["reached_desa_codes"] = [reached.get(i, []) for i in df["id"]]
    df["date"] = pd.to_datetime(df["date"])
    df["reaches_all_desa"] = df["reaches_all_desa"].astype(bool)
    return _display_points(df, "host_desa_code", desa)


def tps_frame(session: Session, desa: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "desa_code",
        "number",
        "voters",
        "address",
        "vulnerability",
        "police",
        "tni",
        "linmas",
        "lon",
        "lat",
        "synthetic",
        "location_mismatch",
    ]
    df = _float(_rows(session, PollingStation, cols), ["lon", "lat"])
    for c in ("number", "voters", "police", "tni", "linmas"):
        df[c] = df[c].astype("int64")
    return _display_points(df, "desa_code", desa)


def incidents_frame(session: Session, desa: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "occurred_at",
        "reported_at",
        "category",
        "severity",
        "status",
        "desa_code",
        "description",
        "source",
        "source_url",
        "lon",
        "lat",
        "synthetic",
        "location_mismatch",
    ]
    df = _float(_rows(session, Incident, cols), ["lon", "lat"])
    df["occurred_at"] = pd.to_datetime(df["occurred_at"])
    df["reported_at"] = pd.to_datetime(df["reported_at"])
    return _display_points(df, "desa_code", desa)
