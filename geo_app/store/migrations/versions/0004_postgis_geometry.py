"""On PostgreSQL, area geometries become PostGIS columns with GiST indexes (issue 14).

``geometry`` and ``upstream_geometry`` of kabupaten, kecamatan and desa change from ``bytea`` (WKB) to
``geometry(Geometry, 4326)``, converted in place with ``ST_GeomFromWKB``; the three ``geometry``
columns get a GiST index, so bounding-box queries and point-in-desa placement run in the database.
The application still reads and writes WKB (``geo_app/store/geometry.py``). SQLite: nothing changes.

PostGIS must be installed on the server (Debian: ``postgresql-15-postgis-3``). The extension is created
here when missing; that needs a superuser unless someone already ran ``CREATE EXTENSION postgis``.

Revision ID: 0004_postgis_geometry
Revises: 0003_kabupaten_upstream
Create Date: 2026-11-29

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_postgis_geometry"
down_revision: str | Sequence[str] | None = "0003_kabupaten_upstream"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("kabupaten", "geometry"),
    ("kabupaten", "upstream_geometry"),
    ("kecamatan", "geometry"),
    ("kecamatan", "upstream_geometry"),
    ("desa", "geometry"),
)
INDEXED = ("kabupaten", "kecamatan", "desa")


def _ensure_postgis(bind) -> None:
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).scalar():
        return
    if not bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).scalar():
        raise RuntimeError(
            "PostGIS is not installed on this PostgreSQL server: install it (Debian: apt-get install "
            "postgresql-15-postgis-3) and run the upgrade again"
        )
    if not bind.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
        raise RuntimeError(
            "PostGIS is not enabled in this database and this user may not enable it: as a superuser run "
            '"CREATE EXTENSION postgis;" in the database, then run the upgrade again'
        )
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _ensure_postgis(bind)
    for table, column in COLUMNS:
        op.execute(
            f"ALTER TABLE {table} ALTER COLUMN {column} TYPE geometry(Geometry, 4326) "
            f"USING ST_GeomFromWKB({column}, 4326)"
        )
    for table in INDEXED:
        op.execute(f"CREATE INDEX ix_{table}_geometry_gist ON {table} USING gist (geometry)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in INDEXED:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_geometry_gist")
    for table, column in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE bytea USING ST_AsBinary({column})")
