"""The geometry column type: WKB in EPSG:4326 everywhere, a PostGIS ``geometry`` column on PostgreSQL.

Python always sees WKB bytes (lon/lat), so the adapter and the analysis do not care where the data
lives. On PostgreSQL the column is ``geometry(Geometry, 4326)`` with a GiST index (migration 0003):
values go in through ``ST_GeomFromWKB`` and come out through ``ST_AsBinary``, and spatial queries
(``&&`` bounding boxes, ``ST_Contains``) run in the database. SQLite keeps a BLOB of the same WKB.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import LargeBinary, func
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.types import TypeEngine, UserDefinedType

SRID = 4326


class PostGISGeometry(UserDefinedType):
    """PostGIS ``geometry(Geometry, 4326)`` exchanged as WKB bytes."""

    cache_ok = True

    def __init__(self, *_args: Any) -> None:
        # reflection passes the modifiers of "geometry(Geometry,4326)"; the type is always this one
        pass

    def get_col_spec(self, **_kw: Any) -> str:
        return f"geometry(Geometry,{SRID})"

    def bind_expression(self, bindvalue):
        return func.ST_GeomFromWKB(bindvalue, SRID)

    def column_expression(self, col):
        return func.ST_AsBinary(col, type_=LargeBinary())


# Reflection (alembic's comparison of models and database) knows the PostGIS type instead of warning.
ischema_names.setdefault("geometry", PostGISGeometry)


def wkb_geometry() -> TypeEngine:
    """The column type for area geometries: a BLOB of WKB, or a PostGIS geometry on PostgreSQL."""
    return LargeBinary().with_variant(PostGISGeometry(), "postgresql")
