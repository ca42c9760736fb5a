"""Which desa a point belongs to, given the real polygons' overlaps and gaps (FACTS.md).

One rule, used by imports, the records API and coverage (issue 10):

* a point covered by its **declared** desa (inside it, on its border, or in an overlap that includes
  it) belongs to that desa: it is consistent;
* otherwise a point covered by one or more desa gets the one it lies deepest in (largest distance
  to that desa's boundary), ties by code;
* a point covered by no desa (a gap) gets the nearest desa within ``tolerance_m``, ties by code;
* farther than that it gets no desa (outside the kabupaten; imports refuse such a row).

A record whose declared desa differs from the desa its point gets is a ``location_mismatch``.
All distances in EPSG:32747.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

METRIC_CRS = "EPSG:32747"
DEFAULT_TOLERANCE_M = 500.0


def _check(points: gpd.GeoDataFrame, desa: gpd.GeoDataFrame) -> None:
    if points.crs is None or desa.crs is None:
        raise ValueError("points and desa need a CRS")
    if "code" not in desa:
        raise ValueError("desa needs a 'code' column")
    if not points.geometry.geom_type.isin(["Point"]).all():
        raise ValueError("only point geometries can be placed")


def choose_desa(covering: Sequence[str], nearest: str | None, declared: str | None = None) -> tuple[str | None, str]:
    """THE placement rule for one point: (desa code, how) from the desa covering it (deepest
    first), the nearest desa within the tolerance (or None) and the declared desa (or None).

    ``how``: inside | overlap (covered by several desa) | nearest | outside.
    """
    if declared is not None and declared in covering:
        return declared, "inside" if len(covering) == 1 else "overlap"
    if covering:
        return covering[0], "inside" if len(covering) == 1 else "overlap"
    if nearest is not None:
        return nearest, "nearest"
    return None, "outside"


def is_consistent(declared: str | None, placed: str | None) -> bool:
    """A point agrees with its declared desa when the placement rule gives that desa."""
    return declared is None or placed == declared


def candidates(
    points: gpd.GeoSeries | gpd.GeoDataFrame, desa: gpd.GeoDataFrame, tolerance_m: float = DEFAULT_TOLERANCE_M
) -> tuple[list[list[str]], list[str | None], np.ndarray]:
    """Per point: the desa covering it (deepest first, then by code), the nearest desa within the
    tolerance when none covers it, and the distance to that nearest desa (NaN otherwise)."""
    if isinstance(points, gpd.GeoSeries):
        points = gpd.GeoDataFrame(geometry=points)
    _check(points, desa)
    if tolerance_m < 0:
        raise ValueError("tolerance_m must be >= 0")
    pts = points[[points.geometry.name]].to_crs(METRIC_CRS)
    pts = pts.set_axis(pd.RangeIndex(len(pts)), axis=0)
    polys = desa[["code", desa.geometry.name]].to_crs(METRIC_CRS).reset_index(drop=True)
    n = len(pts)
    covering: list[list[str]] = [[] for _ in range(n)]
    nearest: list[str | None] = [None] * n
    distance = np.full(n, np.nan)
    if n == 0 or len(polys) == 0:
        return covering, nearest, distance
    # "intersects" for a point is "covered by": inside or on the boundary
    hits = gpd.sjoin(pts, polys, how="inner", predicate="intersects")
    if not hits.empty:
        boundary = polys.geometry.boundary.to_numpy()[hits["index_right"].to_numpy()]
        depth = (
            gpd.GeoSeries(pts.geometry.to_numpy()[hits.index.to_numpy()]).distance(gpd.GeoSeries(boundary)).to_numpy()
        )
        ranked = pd.DataFrame({"pt": hits.index.to_numpy(), "code": hits["code"].to_numpy(), "depth": depth})
        ranked = ranked.sort_values(["pt", "depth", "code"], ascending=[True, False, True])
        for pt, code in zip(ranked["pt"].tolist(), ranked["code"].tolist()):
            covering[pt].append(code)
    missing = [i for i in range(n) if not covering[i]]
    if missing and tolerance_m > 0:
        near = gpd.sjoin_nearest(pts.loc[missing], polys, how="inner", max_distance=tolerance_m, distance_col="dist")
        if not near.empty:
            near = near.reset_index(names="pt").sort_values(["pt", "dist", "code"]).drop_duplicates("pt")
            for pt, code, dist in zip(near["pt"].tolist(), near["code"].tolist(), near["dist"].tolist()):
                nearest[pt] = code
                distance[pt] = dist
    return covering, nearest, distance


def assign_desa(
    points: gpd.GeoSeries | gpd.GeoDataFrame,
    desa: gpd.GeoDataFrame,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    declared: Sequence[str | None] | None = None,
) -> pd.DataFrame:
    """For each point (same index): ``desa_code`` (None when outside), ``placement``
    (inside | overlap | nearest | outside), ``distance_m`` to the chosen desa (0 when covered) and
    ``consistent`` (the point agrees with ``declared[i]``; True where nothing is declared)."""
    index = points.index
    covering, nearest, distance = candidates(points, desa, tolerance_m)
    declared = list(declared) if declared is not None else [None] * len(covering)
    if len(declared) != len(covering):
        raise ValueError("declared must have one entry per point")
    codes, hows, dists, ok = [], [], [], []
    for cov, near, dist, dec in zip(covering, nearest, distance, declared):
        dec = dec if isinstance(dec, str) else None
        code, how = choose_desa(cov, near, dec)
        codes.append(code)
        hows.append(how)
        dists.append(0.0 if cov else (float(dist) if code is not None else np.nan))
        ok.append(is_consistent(dec, code))
    return pd.DataFrame(
        {
            "desa_code": pd.Series(codes, dtype=object),
            "placement": pd.Series(hows, dtype=object),
            "distance_m": np.asarray(dists, dtype=float),
            "consistent": np.asarray(ok, dtype=bool),
        },
    ).set_axis(index, axis=0)


def locate_points(
    lon: np.ndarray,
    lat: np.ndarray,
    desa: gpd.GeoDataFrame,
    prefer: Sequence[str | None] | None = None,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> np.ndarray:
    """The desa code each (lon, lat) point (EPSG:4326) gets by the placement rule (``prefer`` is the
    declared desa per point), ``None`` where a point is missing or outside."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    out = np.full(len(lon), None, dtype=object)
    ok = np.flatnonzero(~(np.isnan(lon) | np.isnan(lat)))
    if len(ok) == 0 or len(desa) == 0:
        return out
    pts = gpd.GeoSeries(gpd.points_from_xy(lon[ok], lat[ok]), crs="EPSG:4326")
    declared = None if prefer is None else [np.asarray(prefer, dtype=object)[i] for i in ok]
    out[ok] = assign_desa(pts, desa, tolerance_m, declared)["desa_code"].to_numpy(dtype=object)
    return out
