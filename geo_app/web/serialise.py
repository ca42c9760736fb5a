"""GeoDataFrame → GeoJSON dicts for the API."""
from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import shapely


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def feature_collection(gdf: gpd.GeoDataFrame, properties: list[str]) -> dict[str, Any]:
    """A FeatureCollection (EPSG:4326, lon/lat) with the listed columns as properties."""
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    features = []
    for row in gdf.itertuples(index=False):
        geom = getattr(row, gdf.geometry.name)
        features.append(
            {
                "type": "Feature",
                "geometry": None if geom is None else shapely.geometry.mapping(geom),
                "properties": {p: _clean(getattr(row, p)) for p in properties},
            }
        )
    return {"type": "FeatureCollection", "features": features}
