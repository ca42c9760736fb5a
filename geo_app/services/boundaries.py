"""Boundary use cases: fetch, import (upstream dumps or any vector file), list."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..errors import BoundariesMissing, ValidationError
from ..ingest.boundaries import BoundarySet, prepare_boundaries
from ..ingest.fetch import boundary_files, cache_root, fetch_boundaries, is_cached
from ..ingest.vector import ColumnMapping, read_desa_file
from ..ingest.wilayah import read_dump
from ..store.adapter import SaveCounts, save_boundaries
from ..store.db import transaction
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
