"""Prepare geometries for display: simplified (topology-preserving) and rounded to 5 decimals (~1 m)."""
from __future__ import annotations

import html

import geopandas as gpd
import shapely

from ..geo import METRIC_CRS, WGS84

DISPLAY_TOLERANCE_M = 15.0
DISPLAY_GRID_DEG = 1e-5


def simplify_for_display(gdf: gpd.GeoDataFrame, tolerance_m: float = DISPLAY_TOLERANCE_M) -> gpd.GeoDataFrame:
    """Simplify in metres (EPSG:32747), back to EPSG:4326, coordinates snapped to a 1e-5° grid."""
    out = gdf.copy()
    metric = out.geometry.to_crs(METRIC_CRS).simplify(tolerance_m, preserve_topology=True)
    geoms = metric.to_crs(WGS84)
    out[out.geometry.name] = shapely.set_precision(geoms.to_numpy(), DISPLAY_GRID_DEG)
    return out.set_crs(WGS84, allow_override=True)


def escape(value: object) -> str:
    """HTML-escape any text that came from data or a user before it reaches a popup or tooltip."""
    return html.escape("" if value is None else str(value), quote=True)


def drop_small_holes(gdf: gpd.GeoDataFrame, min_area_m2: float = 1_000_000.0) -> gpd.GeoDataFrame:
    """Fill interior rings smaller than ``min_area_m2`` (measured in EPSG:32747).

    Kecamatan dissolved from desa keep the small gaps between desa as holes; drawn as outlines they
    show as stray dots. Display only: stored geometries keep them.
    """
    out = gdf.copy()
    metric = out.geometry.to_crs(METRIC_CRS)

    def fill(geom):
        if geom is None or geom.is_empty:
            return geom
        polys = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        kept = [
            shapely.Polygon(p.exterior, [r for r in p.interiors if shapely.Polygon(r).area >= min_area_m2])
            for p in polys
        ]
        return kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)

    filled = gpd.GeoSeries([fill(g) for g in metric], index=out.index, crs=METRIC_CRS)
    out[out.geometry.name] = filled.to_crs(WGS84).to_numpy()
    return out.set_crs(WGS84, allow_override=True)
