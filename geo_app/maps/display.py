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
