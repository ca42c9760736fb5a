"""Which desa a point belongs to, given the real polygons' overlaps and gaps (FACTS.md).

Rules: a point inside exactly one desa gets it; inside several (overlap), the desa it lies deepest
in (largest distance to that desa's boundary), ties by code; inside none (gap), the nearest desa
within ``tolerance_m``, ties by code; farther than that, no desa (outside the kabupaten).
All distances in EPSG:32747.
"""

from __future__ import annotations

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


def assign_desa(
    points: gpd.GeoSeries | gpd.GeoDataFrame, desa: gpd.GeoDataFrame, tolerance_m: float = DEFAULT_TOLERANCE_M
) -> pd.DataFrame:
    """For each point (same index): ``desa_code`` (None when outside), ``placement``
    (inside | overlap | nearest | outside) and ``distance_m`` to the chosen desa (0 inside)."""
    if isinstance(points, gpd.GeoSeries):
        points = gpd.GeoDataFrame(geometry=points)
    _check(points, desa)
    if tolerance_m < 0:
        raise ValueError("tolerance_m must be >= 0")
    pts = points[[points.geometry.name]].to_crs(METRIC_CRS)
    pts = pts.set_axis(pd.RangeIndex(len(pts)), axis=0)
    polys = desa[["code", desa.geometry.name]].to_crs(METRIC_CRS).reset_index(drop=True)

    out = pd.DataFrame(
        {"desa_code": pd.Series([None] * len(pts), dtype=object), "placement": "outside", "distance_m": np.nan}
    )
    hits = gpd.sjoin(pts, polys, how="inner", predicate="within")
    if not hits.empty:
        counts = hits.index.value_counts()
        single = hits[hits.index.map(counts) == 1]
        out.loc[single.index, "desa_code"] = single["code"].to_numpy()
        out.loc[single.index, "placement"] = "inside"
        out.loc[single.index, "distance_m"] = 0.0
        multi = hits[hits.index.map(counts) > 1]
        if not multi.empty:
            boundary = polys.geometry.boundary.to_numpy()[multi["index_right"].to_numpy()]
            depth = (
                gpd.GeoSeries(pts.geometry.to_numpy()[multi.index.to_numpy()])
                .distance(gpd.GeoSeries(boundary))
                .to_numpy()
            )
            ranked = pd.DataFrame({"pt": multi.index.to_numpy(), "code": multi["code"].to_numpy(), "depth": depth})
            ranked = ranked.sort_values(["pt", "depth", "code"], ascending=[True, False, True])
            best = ranked.drop_duplicates("pt")
            out.loc[best["pt"].to_numpy(), "desa_code"] = best["code"].to_numpy()
            out.loc[best["pt"].to_numpy(), "placement"] = "overlap"
            out.loc[best["pt"].to_numpy(), "distance_m"] = 0.0
    missing = out.index[out["placement"] == "outside"]
    if len(missing) and tolerance_m > 0:
        near = gpd.sjoin_nearest(pts.loc[missing], polys, how="inner", max_distance=tolerance_m, distance_col="dist")
        if not near.empty:
            near = near.reset_index(names="pt").sort_values(["pt", "dist", "code"]).drop_duplicates("pt")
            out.loc[near["pt"].to_numpy(), "desa_code"] = near["code"].to_numpy()
            out.loc[near["pt"].to_numpy(), "placement"] = "nearest"
            out.loc[near["pt"].to_numpy(), "distance_m"] = near["dist"].to_numpy()
    out.index = points.index
    return out
