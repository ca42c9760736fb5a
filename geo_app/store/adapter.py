"""The one place where database rows become GeoDataFrames and back, always in EPSG:4326."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..geo import WGS84
from .db import bump_version
from .models import Desa, Kabupaten, Kecamatan, utcnow


def to_wkb(geom: shapely.Geometry | None) -> bytes | None:
    return None if geom is None else shapely.to_wkb(geom, output_dimension=2)


def from_wkb(data: bytes | None) -> shapely.Geometry | None:
    return None if data is None else shapely.from_wkb(data)


def _frame(rows: list[dict], columns: list[str]) -> gpd.GeoDataFrame:
    geoms = [from_wkb(r.pop("geometry")) for r in rows]
    df = pd.DataFrame(rows, columns=[c for c in columns if c != "geometry"])
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=WGS84), crs=WGS84)


_AREA_COLS = ["code", "name", "area_km2", "rep_lon", "rep_lat", "geometry"]


def kabupaten_frame(session: Session) -> gpd.GeoDataFrame:
    rows = session.execute(select(*[getattr(Kabupaten, c) for c in _AREA_COLS]).order_by(Kabupaten.code)).mappings()
    return _frame([dict(r) for r in rows], _AREA_COLS)


def kecamatan_frame(session: Session) -> gpd.GeoDataFrame:
    cols = _AREA_COLS + ["kabupaten_code"]
    rows = session.execute(select(*[getattr(Kecamatan, c) for c in cols]).order_by(Kecamatan.code)).mappings()
    return _frame([dict(r) for r in rows], cols)


def desa_frame(
    session: Session, kecamatan: str | None = None, code: str | None = None, kabupaten: str | None = None
) -> gpd.GeoDataFrame:
    """All desa (or those of one kecamatan or kabupaten, or the one with ``code``) with their kecamatan and
    kabupaten names, ordered by code."""
    cols = [getattr(Desa, c) for c in _AREA_COLS] + [
        Desa.kind,
        Desa.kecamatan_code,
        Kecamatan.name.label("kecamatan_name"),
        Kecamatan.kabupaten_code,
        Kabupaten.name.label("kabupaten_name"),
    ]
    stmt = (
        select(*cols)
        .join(Kecamatan, Kecamatan.code == Desa.kecamatan_code)
        .join(Kabupaten, Kabupaten.code == Kecamatan.kabupaten_code)
        .order_by(Desa.code)
    )
    if kecamatan:
        stmt = stmt.where(Desa.kecamatan_code == kecamatan)
    if kabupaten:
        stmt = stmt.where(Kecamatan.kabupaten_code == kabupaten)
    if code is not None:
        stmt = stmt.where(Desa.code == code)
    rows = [dict(r) for r in session.execute(stmt).mappings()]
    return _frame(rows, _AREA_COLS + ["kind", "kecamatan_code", "kecamatan_name", "kabupaten_code", "kabupaten_name"])


@dataclass
class SaveCounts:
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.inserted.values()) or any(self.updated.values()) or any(self.removed.values())


def _row_values(row: pd.Series, extra: list[str], geom_cols: list[str]) -> dict:
    values = {
        "code": row["code"],
        "name": str(row["name"]),
        "area_km2": float(row["area_km2"]),
        "rep_lon": float(row["rep_lon"]),
        "rep_lat": float(row["rep_lat"]),
    }
    for c in extra:
        values[c] = row[c]
    for c in geom_cols:
        # a source without e.g. upstream kecamatan polygons keeps the stored ones
        if row.get(c) is not None:
            values[c] = to_wkb(row[c])
    return values


def _upsert(
    session: Session,
    model,
    frame: gpd.GeoDataFrame,
    extra: list[str],
    geom_cols: list[str],
    counts: SaveCounts,
    label: str,
) -> list:
    """Insert new codes, update changed ones in place, leave equal ones alone.

    Returns the existing rows of this kabupaten that the new data no longer has; the caller
    deletes them in child-before-parent order.
    """
    kab_prefix = f"{frame.iloc[0]['code'][:5]}.%" if model is not Kabupaten else frame.iloc[0]["code"]
    existing = {obj.code: obj for obj in session.scalars(select(model).where(model.code.like(kab_prefix)))}
    ins = upd = same = 0
    for _, row in frame.iterrows():
        values = _row_values(row, extra, geom_cols)
        obj = existing.pop(values["code"], None)
        if obj is None:
            session.add(model(**values, updated_at=utcnow()))
            ins += 1
            continue
        diff = {k: v for k, v in values.items() if getattr(obj, k) != v}
        for k, v in diff.items():
            setattr(obj, k, v)
        if diff:
            obj.updated_at = utcnow()
            upd += 1
        else:
            same += 1
    counts.inserted[label], counts.updated[label], counts.unchanged[label] = ins, upd, same
    counts.removed[label] = len(existing)
    return list(existing.values())


def save_boundaries(
    session: Session, kabupaten: gpd.GeoDataFrame, kecamatan: gpd.GeoDataFrame, desa: gpd.GeoDataFrame
) -> SaveCounts:
    """Write a prepared boundary set for one kabupaten, updating in place (caller owns the transaction)."""
    counts = SaveCounts()
    _upsert(session, Kabupaten, kabupaten, [], ["geometry", "upstream_geometry"], counts, "kabupaten")
    session.flush()
    stale_kec = _upsert(
        session, Kecamatan, kecamatan, ["kabupaten_code"], ["geometry", "upstream_geometry"], counts, "kecamatan"
    )
    session.flush()
    stale_desa = _upsert(session, Desa, desa, ["kind", "kecamatan_code"], ["geometry"], counts, "desa")
    session.flush()
    for obj in stale_desa + stale_kec:
        session.delete(obj)
        session.flush()
    if counts.changed:
        bump_version(session, "boundaries")
        session.flush()
    return counts
