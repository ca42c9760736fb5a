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
import shapely

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


def place_points(
    lon: np.ndarray | Sequence[float],
    lat: np.ndarray | Sequence[float],
    desa: gpd.GeoDataFrame,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    declared: Sequence[str | None] | np.ndarray | None = None,
    covering_pairs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``choose_desa`` for many (lon, lat) points (EPSG:4326) at once: one spatial join for the desa
    covering each point, depths only where several desa cover one, one nearest-join for the points in
    gaps. Same rule and ties as ``candidates`` + ``choose_desa`` (imports place a whole file this way).

    ``covering_pairs`` (columns ``point``: position in ``lon``/``lat``, ``code``: a desa of ``desa``)
    replaces the spatial join when the database has done it (PostGIS, ``store.spatial.covering_desa``).

    Returns, per point (RangeIndex): ``desa_code`` (None when outside), ``placement``
    (inside | overlap | nearest | outside), ``distance_m`` (0 when covered, the distance to the nearest
    desa in a gap, NaN when outside) and ``covering`` (how many desa cover the point)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if len(lat) != len(lon):
        raise ValueError("lon and lat must have the same length")
    pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    return _place(pts, desa, tolerance_m, declared, covering_pairs)


def _pair_positions(pairs: pd.DataFrame, poly_codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(desa positions, point positions) of precomputed covering pairs, checked against the frames."""
    missing = {"point", "code"} - set(pairs.columns)
    if missing:
        raise ValueError(f"covering_pairs needs the column(s) {', '.join(sorted(missing))}")
    position = pd.Series(np.arange(len(poly_codes)), index=pd.Index(poly_codes, dtype=object))
    poly_idx = position.reindex(pairs["code"].to_numpy(dtype=object)).to_numpy()
    pt_idx = pairs["point"].to_numpy()
    if np.isnan(poly_idx.astype(float)).any():
        raise ValueError("covering_pairs names a desa the desa frame does not have")
    if len(pt_idx) and (pt_idx.min() < 0 or pt_idx.max() >= n):
        raise ValueError("covering_pairs names a point position out of range")
    return poly_idx.astype(np.int64), pt_idx.astype(np.int64)


def _place(
    points: gpd.GeoSeries,
    desa: gpd.GeoDataFrame,
    tolerance_m: float,
    declared: Sequence[str | None] | np.ndarray | None,
    covering_pairs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    n = len(points)
    if tolerance_m < 0:
        raise ValueError("tolerance_m must be >= 0")
    if desa.crs is None:
        raise ValueError("points and desa need a CRS")
    if "code" not in desa:
        raise ValueError("desa needs a 'code' column")
    if declared is None:
        wanted = np.full(n, None, dtype=object)
    else:
        wanted = np.asarray(list(declared), dtype=object)
        if len(wanted) != n:
            raise ValueError("declared must have one entry per point")
        wanted = np.array([d if isinstance(d, str) else None for d in wanted], dtype=object)
    codes = np.full(n, None, dtype=object)
    how = np.full(n, "outside", dtype=object)
    distance = np.full(n, np.nan)
    covering = np.zeros(n, dtype=np.int64)
    if n and len(desa):
        pts = points.reset_index(drop=True).to_crs(METRIC_CRS)
        polys = desa[["code", desa.geometry.name]].to_crs(METRIC_CRS).reset_index(drop=True)
        poly_codes = polys["code"].to_numpy(dtype=object)
        # "intersects" for a point is "covered by": inside or on the boundary. The tree holds the points
        # and each desa polygon queries it once (prepared): several times quicker than point by point.
        if covering_pairs is None:
            poly_idx, pt_idx = shapely.STRtree(pts.to_numpy()).query(polys.geometry.to_numpy(), predicate="intersects")
        else:
            poly_idx, pt_idx = _pair_positions(covering_pairs, poly_codes, n)
        covering = np.bincount(pt_idx, minlength=n).astype(np.int64)
        if len(pt_idx):
            hit_codes = poly_codes[poly_idx]
            depth = np.zeros(len(pt_idx))
            several = covering[pt_idx] > 1  # depth only decides between several covering desa
            if several.any():
                boundary = polys.geometry.boundary.to_numpy()
                depth[several] = shapely.distance(pts.to_numpy()[pt_idx[several]], boundary[poly_idx[several]])
            # deepest first, then by code; the declared desa wins when it covers the point
            order = np.lexsort((hit_codes.astype(str), -depth, pt_idx))
            pt_sorted, code_sorted = pt_idx[order], hit_codes[order]
            firsts = np.flatnonzero(np.r_[True, pt_sorted[1:] != pt_sorted[:-1]])
            codes[pt_sorted[firsts]] = code_sorted[firsts]
            is_declared = code_sorted == wanted[pt_sorted]
            codes[pt_sorted[is_declared]] = code_sorted[is_declared]
            covered = covering > 0
            how[covered] = np.where(covering[covered] == 1, "inside", "overlap")
            distance[covered] = 0.0
        missing = np.flatnonzero(covering == 0)
        if len(missing) and tolerance_m > 0:
            gap = gpd.GeoDataFrame(geometry=pts.iloc[missing].set_axis(missing, axis=0))
            near = gpd.sjoin_nearest(gap, polys, how="inner", max_distance=tolerance_m, distance_col="dist")
            if not near.empty:
                near = near.reset_index(names="pt").sort_values(["pt", "dist", "code"]).drop_duplicates("pt")
                where = near["pt"].to_numpy()
                codes[where] = near["code"].to_numpy(dtype=object)
                how[where] = "nearest"
                distance[where] = near["dist"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "desa_code": pd.Series(codes, dtype=object),
            "placement": pd.Series(how, dtype=object),
            "distance_m": distance,
            "covering": covering,
        }
    )


def assign_desa(
    points: gpd.GeoSeries | gpd.GeoDataFrame,
    desa: gpd.GeoDataFrame,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    declared: Sequence[str | None] | None = None,
) -> pd.DataFrame:
    """For each point (same index): ``desa_code`` (None when outside), ``placement``
    (inside | overlap | nearest | outside), ``distance_m`` to the chosen desa (0 when covered) and
    ``consistent`` (the point agrees with ``declared[i]``; True where nothing is declared)."""
    if isinstance(points, gpd.GeoSeries):
        points = gpd.GeoDataFrame(geometry=points)
    _check(points, desa)
    index = points.index
    if declared is not None and len(list(declared)) != len(points):
        raise ValueError("declared must have one entry per point")
    placed = _place(points.geometry, desa, tolerance_m, declared)
    wanted = [None] * len(points) if declared is None else [d if isinstance(d, str) else None for d in declared]
    ok = [is_consistent(dec, code) for dec, code in zip(wanted, placed["desa_code"].tolist())]
    return pd.DataFrame(
        {
            "desa_code": placed["desa_code"],
            "placement": placed["placement"],
            "distance_m": placed["distance_m"].to_numpy(dtype=float),
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
