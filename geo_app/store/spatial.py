"""Spatial queries that run in the database on PostGIS (GiST indexes, migration 0004).

On SQLite the database stores plain WKB and cannot do this: callers check ``is_postgis`` and otherwise
do the same work on their in-memory frames (shapely STRtree / geopandas), with the same results.
Coordinates are lon/lat in EPSG:4326.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION
from sqlalchemy.orm import Session

from .geometry import SRID
from .models import Desa


def is_postgis(session: Session) -> bool:
    """True when the session's database is PostgreSQL (the geometry columns are PostGIS there)."""
    return session.get_bind().dialect.name == "postgresql"


def desa_codes_in_bbox(session: Session, bbox: Sequence[float]) -> list[str]:
    """Codes of the desa whose polygon intersects the box (minlon, minlat, maxlon, maxlat), by code.

    PostGIS: the GiST index answers ``&&`` and ``ST_Intersects`` refines it.
    """
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    if not is_postgis(session):
        raise NotImplementedError("desa_codes_in_bbox runs on PostGIS; on SQLite filter the desa frame")
    envelope = func.ST_MakeEnvelope(minx, miny, maxx, maxy, SRID)
    geometry = Desa.__table__.c.geometry
    query = (
        select(Desa.code).where(geometry.op("&&")(envelope), func.ST_Intersects(geometry, envelope)).order_by(Desa.code)
    )
    return list(session.scalars(query))


_COVERING = text(
    """
    WITH p AS (
        SELECT i, ST_SetSRID(ST_MakePoint(x, y), :srid) AS g
        FROM unnest(:lon, :lat) WITH ORDINALITY AS t(x, y, i)
    )
    SELECT p.i - 1 AS point, d.code
    FROM p JOIN desa d ON d.geometry && p.g AND ST_Intersects(d.geometry, p.g)
    ORDER BY p.i, d.code
    """
).bindparams(
    bindparam("lon", type_=ARRAY(DOUBLE_PRECISION)),
    bindparam("lat", type_=ARRAY(DOUBLE_PRECISION)),
)


def covering_desa(session: Session, lon: np.ndarray, lat: np.ndarray) -> pd.DataFrame:
    """Every (point position, desa code) pair where the desa covers the point (inside or on its border),
    computed by PostGIS with the GiST index: the first step of the placement rule
    (``geo_app.analysis.placement``), which then orders the covering desa by depth."""
    if not is_postgis(session):
        raise NotImplementedError("covering_desa runs on PostGIS; on SQLite use analysis.placement")
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.shape != lat.shape:
        raise ValueError("lon and lat must have the same length")
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.all():
        raise ValueError("lon/lat must be finite numbers")
    rows = session.execute(_COVERING, {"lon": lon.tolist(), "lat": lat.tolist(), "srid": SRID}).all()
    return pd.DataFrame(rows, columns=["point", "code"]).astype({"point": "int64", "code": object})
