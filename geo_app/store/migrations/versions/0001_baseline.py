"""Baseline: the schema of the last release made with create_all (geo_app/store/models.py at b13096f)

A database created by that release has exactly these tables and no alembic_version; it is stamped with
this revision at start and upgraded from here. Never edit this file: change the schema in a new revision.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-29

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001_baseline"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _area_columns() -> list[sa.Column]:
    """models.AreaMixin; create_all puts a mixin's columns after the table's own."""
    return [
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("geometry", sa.LargeBinary(), nullable=False),
        sa.Column("area_km2", sa.Float(), nullable=False),
        sa.Column("rep_lon", sa.Float(), nullable=False),
        sa.Column("rep_lat", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    ]


def _record_columns() -> list[sa.Column]:
    """models.RecordMixin."""
    return [
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("point_desa_code", sa.String(length=16), nullable=True),
        sa.Column("location_mismatch", sa.Boolean(), nullable=False),
        sa.Column("placement", sa.String(length=16), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("import_batch", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    ]


def _indexes(table: str, *columns: str) -> None:
    """``index=True`` columns: non-unique ix_<table>_<column>, as create_all names them."""
    for column in columns:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("batch", sa.String(length=40), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    _indexes("audit_log", "at", "batch", "record_id")
    op.create_table(
        "data_version",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table("kabupaten", *_area_columns())
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _indexes("login_failure", "at", "remote_addr", "username")
    op.create_table(
        "kecamatan",
        sa.Column("kabupaten_code", sa.String(length=16), nullable=False),
        sa.Column("upstream_geometry", sa.LargeBinary(), nullable=True),
        *_area_columns(),
        sa.ForeignKeyConstraint(["kabupaten_code"], ["kabupaten.code"]),
    )
    _indexes("kecamatan", "kabupaten_code")
    op.create_table(
        "desa",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("kecamatan_code", sa.String(length=16), nullable=False),
        *_area_columns(),
        sa.ForeignKeyConstraint(["kecamatan_code"], ["kecamatan.code"]),
    )
    _indexes("desa", "kecamatan_code")
    op.create_table(
        "incident",
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),  # naive, WIB
        sa.Column("reported_at", sa.DateTime(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("desa_code", sa.String(length=16), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=24), nullable=True),
        *_record_columns(),
        sa.UniqueConstraint("external_id"),
        sa.UniqueConstraint("content_hash"),
        sa.ForeignKeyConstraint(["desa_code"], ["desa.code"]),
    )
    _indexes("incident", "desa_code", "import_batch", "occurred_at")
    op.create_table(
        "meeting",
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=True),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("host_kecamatan_code", sa.String(length=16), nullable=True),
        sa.Column("host_desa_code", sa.String(length=16), nullable=True),
        sa.Column("venue", sa.String(length=200), nullable=True),
        sa.Column("organiser", sa.String(length=200), nullable=True),
        sa.Column("agencies", sa.JSON(), nullable=False),
        sa.Column("reaches_all_desa", sa.Boolean(), nullable=False),
        *_record_columns(),
        sa.UniqueConstraint("external_id"),
        sa.UniqueConstraint("content_hash"),
        sa.ForeignKeyConstraint(["host_kecamatan_code"], ["kecamatan.code"]),
        sa.ForeignKeyConstraint(["host_desa_code"], ["desa.code"]),
    )
    _indexes("meeting", "date", "host_desa_code", "host_kecamatan_code", "import_batch")
    op.create_table(
        "polling_station",
        sa.Column("desa_code", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("voters", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("vulnerability", sa.String(length=20), nullable=False),
        sa.Column("police", sa.Integer(), nullable=False),
        sa.Column("tni", sa.Integer(), nullable=False),
        sa.Column("linmas", sa.Integer(), nullable=False),
        *_record_columns(),
        sa.UniqueConstraint("desa_code", "number", name="uq_tps_desa_number"),
        sa.ForeignKeyConstraint(["desa_code"], ["desa.code"]),
    )
    _indexes("polling_station", "desa_code", "import_batch")
    op.create_table(
        "meeting_desa",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("desa_code", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("meeting_id", "desa_code"),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["desa_code"], ["desa.code"]),
    )


def downgrade() -> None:
    """Drops every table (and so every row): only for throw-away databases."""
    for table in (
        "meeting_desa",
        "polling_station",
        "meeting",
        "incident",
        "desa",
        "kecamatan",
        "login_failure",
        "kabupaten",
        "data_version",
        "audit_log",
        "api_token",
        "app_user",
    ):
        op.drop_table(table)
