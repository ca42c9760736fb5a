"""SQLAlchemy 2.x models. Geometry is stored as WKB (EPSG:4326) so SQLite and PostgreSQL both work."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, Float, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class AreaMixin:
    """Columns every administrative area has."""

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    geometry: Mapped[bytes] = mapped_column(LargeBinary)  # WKB, EPSG:4326, lon/lat
    area_km2: Mapped[float] = mapped_column(Float)  # computed in EPSG:32747
    rep_lon: Mapped[float] = mapped_column(Float)  # representative point, inside the polygon
    rep_lat: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Kabupaten(AreaMixin, Base):
    __tablename__ = "kabupaten"


class Kecamatan(AreaMixin, Base):
    """``geometry`` is the dissolve of its desa (consistent hierarchy); the upstream polygon is kept aside."""

    __tablename__ = "kecamatan"
    kabupaten_code: Mapped[str] = mapped_column(ForeignKey("kabupaten.code"), index=True)
    upstream_geometry: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class Desa(AreaMixin, Base):
    __tablename__ = "desa"
    kind: Mapped[str] = mapped_column(String(10))  # "desa" | "kelurahan"
    kecamatan_code: Mapped[str] = mapped_column(ForeignKey("kecamatan.code"), index=True)


class DataVersion(Base):
    """One counter per data area; bumped on every write so caches keyed on it go stale."""

    __tablename__ = "data_version"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
