"""Boundary use cases: fetch, import (upstream dumps or any vector file), list."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..errors import BoundariesMissing, NotFound, ValidationError
from ..ingest.boundaries import BoundarySet, prepare_boundaries
from ..ingest.fetch import boundary_files, cache_root, fetch_boundaries, is_cached
from ..ingest.vector import ColumnMapping, read_desa_file
from ..ingest.wilayah import read_dump
from ..store.adapter import SaveCounts, desa_frame, kecamatan_frame, save_boundaries
from ..store.db import data_version, transaction
from ..store.models import Desa, Kabupaten, Kecamatan


@dataclass
class ImportReport:
    source: str
    counts: SaveCounts
    repairs: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"Sumber / source: {self.source}"]
        for level in ("kabupaten", "kecamatan", "desa"):
            out.append(
                f"{level}: {self.counts.inserted.get(level, 0)} baru/new, {self.counts.updated.get(level, 0)} diperbarui/updated, "
                f"{self.counts.unchanged.get(level, 0)} tetap/unchanged, {self.counts.removed.get(level, 0)} dihapus/removed"
            )
        out.extend(f"diperbaiki/repaired: {r}" for r in self.repairs)
        return out


def fetch(settings: dict[str, Any], source: str | None = None, kabupaten: str | None = None) -> list[Path]:
    return fetch_boundaries(
        source or settings["BOUNDARY_SOURCE"],
        settings["SHAPEFILE_DIR"],
        kabupaten or settings["KABUPATEN"],
        timeout=float(settings["FETCH_TIMEOUT"]),
    )


def load_upstream(settings: dict[str, Any], kabupaten: str) -> BoundarySet:
    """Read the cached upstream dumps (fetching them first if missing) into a boundary set."""
    if not is_cached(settings["SHAPEFILE_DIR"], kabupaten):
        fetch(settings, kabupaten=kabupaten)
    root = cache_root(settings["SHAPEFILE_DIR"])
    files = boundary_files(kabupaten)
    kab = read_dump(root / files.kab, code_prefix=kabupaten)
    kec = read_dump(root / files.kec, code_prefix=kabupaten + ".")
    desa = read_dump(root / files.kel, code_prefix=kabupaten + ".")
    return prepare_boundaries(desa, kabupaten, kecamatan_upstream=kec, kabupaten_upstream=kab)


def _known_names(session: Session) -> dict[str, str]:
    names = dict(session.execute(select(Kecamatan.code, Kecamatan.name)).all())
    names.update(dict(session.execute(select(Kabupaten.code, Kabupaten.name)).all()))
    return names


def import_boundaries(
    session: Session,
    settings: dict[str, Any],
    path: str | Path | None = None,
    mapping: ColumnMapping | None = None,
    kabupaten: str | None = None,
) -> ImportReport:
    """Import boundaries in one transaction: all of it lands, or nothing changes."""
    kabupaten = kabupaten or settings["KABUPATEN"]
    if path is None:
        boundary_set = load_upstream(settings, kabupaten)
        source = settings["BOUNDARY_SOURCE"]
    else:
        if mapping is None:
            raise ValueError("mapping is required with a path")
        desa = read_desa_file(path, mapping)
        try:
            boundary_set = prepare_boundaries(desa, kabupaten, known_names=_known_names(session))
        except ValidationError as exc:  # the rows are named; say which file they are in
            raise ValidationError(f"{path}: {exc.message}", details=exc.details) from None
        source = str(path)
    with transaction(session):
        counts = save_boundaries(session, boundary_set.kabupaten, boundary_set.kecamatan, boundary_set.desa)
    return ImportReport(source=source, counts=counts, repairs=boundary_set.repairs)


def has_boundaries(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Desa)) > 0


def ensure_boundaries(session: Session, settings: dict[str, Any]) -> ImportReport | None:
    """On first start: fetch and import the upstream boundaries if the database has none."""
    if has_boundaries(session):
        return None
    return import_boundaries(session, settings)


def require_boundaries(session: Session) -> None:
    if not has_boundaries(session):
        raise BoundariesMissing(
            "Batas wilayah belum diimpor / no boundaries imported yet: run `geo-app boundaries import`"
        )


def kecamatan_summary(session: Session) -> list[dict[str, Any]]:
    """Each kecamatan with its desa count, kelurahan count and area (km²)."""
    stmt = (
        select(
            Kecamatan.code,
            Kecamatan.name,
            Kecamatan.area_km2,
            func.count(Desa.code).label("desa_count"),
            func.sum(case((Desa.kind == "kelurahan", 1), else_=0)).label("kelurahan_count"),
        )
        .join(Desa, Desa.kecamatan_code == Kecamatan.code, isouter=True)
        .group_by(Kecamatan.code, Kecamatan.name, Kecamatan.area_km2)
        .order_by(Kecamatan.code)
    )
    return [dict(r) for r in session.execute(stmt).mappings()]


# --- reads for the views (one call per endpoint) ----------------------------------------------------------


def kecamatan_list(session: Session) -> gpd.GeoDataFrame:
    """Every kecamatan with its desa count, as the boundary API lists them."""
    require_boundaries(session)
    kec = kecamatan_frame(session)
    counts = desa_frame(session)["kecamatan_code"].value_counts()
    return kec.assign(
        kind="kecamatan",
        kecamatan_code=kec["code"],
        kecamatan_name=kec["name"],
        desa_count=[int(counts.get(c, 0)) for c in kec["code"]],
    )


def desa_list(session: Session) -> gpd.GeoDataFrame:
    require_boundaries(session)
    return desa_frame(session)


def desa_detail(session: Session, code: str) -> gpd.GeoDataFrame:
    """The one-row frame of desa ``code``; an empty database is a 503, not "this desa does not exist"."""
    require_boundaries(session)
    row = desa_frame(session, code=code)
    if row.empty:
        raise NotFound(f"desa {code!r} tidak ditemukan / not found")
    return row


def places(session: Session) -> dict[str, Any]:
    """Kecamatan and desa for the record forms' pickers and for showing names instead of codes."""
    desa = desa_frame(session)
    kecamatan = dict(zip(desa["kecamatan_code"], desa["kecamatan_name"]))
    groups = [
        {
            "code": kec,
            "name": kecamatan[kec],
            "desa": [{"code": c, "name": n} for c, n in zip(rows["code"], rows["name"])],
        }
        for kec, rows in desa.groupby("kecamatan_code", sort=True)
    ]
    return {
        "kecamatan": sorted(kecamatan.items(), key=lambda kv: kv[1]),
        "kecamatan_names": kecamatan,
        "desa_groups": groups,
        "desa_names": dict(zip(desa["code"], desa["name"])),
        "desa_kecamatan": dict(zip(desa["code"], desa["kecamatan_code"])),
    }


Point = tuple[float, float]


def representative_points(session: Session) -> tuple[dict[str, Point], dict[str, Point]]:
    """``code -> (lon, lat)`` of each desa's and each kecamatan's representative point (records without a
    point of their own are drawn there)."""

    def points(frame) -> dict[str, Point]:
        return {c: (float(x), float(y)) for c, x, y in zip(frame["code"], frame["rep_lon"], frame["rep_lat"])}

    return points(desa_frame(session)), points(kecamatan_frame(session))


def health(session: Session) -> dict[str, Any]:
    """``/healthz``: the database answers; how many desa it holds and its data version."""
    desa = session.scalar(select(func.count()).select_from(Desa))
    return {"status": "ok", "desa": desa, "data_version": data_version(session)}


def current_data_version(session: Session) -> str:
    """Changes whenever any stored data changes (pages show it; caches key on it)."""
    return data_version(session)
