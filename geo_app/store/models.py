"""SQLAlchemy 2.x models. Geometry is WKB (EPSG:4326) in Python: a BLOB on SQLite, PostGIS on PostgreSQL
(see ``geometry.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from datetime import date as _date
from datetime import time as _time

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .geometry import wkb_geometry


class Base(DeclarativeBase):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC)


class AreaMixin:
    """Columns every administrative area has."""

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    geometry: Mapped[bytes] = mapped_column(wkb_geometry())  # WKB, EPSG:4326, lon/lat
    area_km2: Mapped[float] = mapped_column(Float)  # computed in EPSG:32747
    rep_lon: Mapped[float] = mapped_column(Float)  # representative point, inside the polygon
    rep_lat: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Kabupaten(AreaMixin, Base):
    """``geometry`` is the union of its kecamatan (so of its desa); the upstream polygon is kept aside."""

    __tablename__ = "kabupaten"
    upstream_geometry: Mapped[bytes | None] = mapped_column(wkb_geometry(), nullable=True)


class Kecamatan(AreaMixin, Base):
    """``geometry`` is the dissolve of its desa (consistent hierarchy); the upstream polygon is kept aside."""

    __tablename__ = "kecamatan"
    kabupaten_code: Mapped[str] = mapped_column(ForeignKey("kabupaten.code"), index=True)
    upstream_geometry: Mapped[bytes | None] = mapped_column(wkb_geometry(), nullable=True)


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


# --- records: meetings (rakor), polling stations (TPS), incidents ---------------------------------


class RecordMixin:
    """Columns every record kind has: location, provenance, soft delete."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)  # point given by the user (EPSG:4326)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    # the desa the point falls in (or nearest within tolerance); differs from desa_code => mismatch
    point_desa_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    location_mismatch: Mapped[bool] = mapped_column(Boolean, default=False)
    placement: Mapped[str | None] = mapped_column(String(16), nullable=True)  # inside|overlap|nearest|desa
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    source_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    import_batch: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


meeting_desa = Table(
    "meeting_desa",
    Base.metadata,
    Column("meeting_id", ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True),
    Column("desa_code", ForeignKey("desa.code"), primary_key=True),
)


class Meeting(RecordMixin, Base):
    """A coordination meeting (rapat koordinasi, rakor)."""

    __tablename__ = "meeting"
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    date: Mapped[_date] = mapped_column(Date, index=True)
    start_time: Mapped[_time | None] = mapped_column(Time, nullable=True)  # WIB
    level: Mapped[str] = mapped_column(String(12))  # kabupaten | kecamatan | desa
    # the kabupaten that held it: its host kecamatan's, or given (a kabupaten-level rakor without a host
    # kecamatan belongs to a kabupaten only through this); NULL only for rows migration 0006 could not place
    host_kabupaten_code: Mapped[str | None] = mapped_column(ForeignKey("kabupaten.code"), nullable=True, index=True)
    host_kecamatan_code: Mapped[str | None] = mapped_column(ForeignKey("kecamatan.code"), nullable=True, index=True)
    host_desa_code: Mapped[str | None] = mapped_column(ForeignKey("desa.code"), nullable=True, index=True)
    venue: Mapped[str | None] = mapped_column(String(200), nullable=True)
    organiser: Mapped[str | None] = mapped_column(String(200), nullable=True)
    agencies: Mapped[list] = mapped_column(JSON, default=list)
    reaches_all_desa: Mapped[bool] = mapped_column(Boolean, default=False)
    reached_desa: Mapped[list[Desa]] = relationship(secondary=meeting_desa, order_by="Desa.code", lazy="selectin")


class PollingStation(RecordMixin, Base):
    """A TPS (tempat pemungutan suara); natural key: desa + number."""

    __tablename__ = "polling_station"
    __table_args__ = (UniqueConstraint("desa_code", "number", name="uq_tps_desa_number"),)
    desa_code: Mapped[str] = mapped_column(ForeignKey("desa.code"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    voters: Mapped[int] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(String(200), nullable=True)
    vulnerability: Mapped[str] = mapped_column(String(20), default="tidak_rawan")
    police: Mapped[int] = mapped_column(Integer, default=0)
    tni: Mapped[int] = mapped_column(Integer, default=0)
    linmas: Mapped[int] = mapped_column(Integer, default=0)


class Incident(RecordMixin, Base):
    """An incident reported to Bawaslu or the police."""

    __tablename__ = "incident"
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # naive, WIB (UTC+7)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # naive, WIB
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), default="reported")
    desa_code: Mapped[str | None] = mapped_column(ForeignKey("desa.code"), nullable=True, index=True)
    description: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(24), nullable=True)  # bawaslu|public|police|media|other


class AuditEntry(Base):
    """Who changed what and when, with the record before and after (nothing is lost)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80), default="system")
    action: Mapped[str] = mapped_column(String(16))  # create|update|delete|restore|import|rollback
    kind: Mapped[str] = mapped_column(String(16))  # meetings|tps|incidents|boundaries|batch
    record_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    batch: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    before: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict | None] = mapped_column(JSON, nullable=True)


# --- access: users, API tokens, failed logins ----------------------------------------------------------


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10))  # viewer | editor | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # carried in the session cookie; logout, password/role change and disabling bump it, so every
    # cookie issued before stops working at once
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ApiToken(Base):
    """A bearer token for scripts, owned by a user: it works only while its user is active, with at
    most the user's current role, until it expires or is revoked. Only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # null only for tokens made before tokens had owners; such a token does not authenticate
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), nullable=True, index=True
    )
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LoginFailure(Base):
    """Failed logins, to slow down guessing (per username and per client address)."""

    __tablename__ = "login_failure"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    remote_addr: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class PendingUpload(Base):
    """A file kept between an import page's dry run and its "import now" (services/pending_uploads.py).

    In the database, not on a host's disk, so any worker or host behind a load balancer finds it.
    Only the token's hash is stored."""

    __tablename__ = "pending_upload"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    skip_invalid: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
