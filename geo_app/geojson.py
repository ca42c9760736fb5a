"""The one GeoJSON serialiser: RFC 7946 as GIS clients read it.

Every GeoJSON the service writes (API responses, OGC API – Features items, ``geo-app coverage
--format geojson``, ``geo-app layers build``, the folium layers' data, the map data endpoints) goes
through :func:`frame_collection` (``GeoDataFrame.to_geo_dict``), :func:`frame_features` or
:func:`feature` with :func:`geometry`/:func:`point`: coordinates in EPSG:4326 lon/lat rounded to 6 decimals (about 0.1 m),
polygon exterior rings counterclockwise and holes clockwise (the right-hand rule of RFC 7946
§3.1.6), and no ``crs`` member (RFC 7946 §4: the CRS is always WGS 84).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

PRECISION = 6
MEDIA_TYPE = "application/geo+json"


def standard(geom: Any) -> Any:
    """``geom`` rounded to 6 decimals with RFC 7946 winding (exterior rings counterclockwise)."""
    if geom is None or shapely.is_empty(geom):
        return geom
    rounded = shapely.transform(geom, lambda xy: np.round(xy, PRECISION))
    return shapely.orient_polygons(rounded, exterior_cw=False)


def geometry(geom: Any) -> dict[str, Any] | None:
    """A GeoJSON geometry object (or None) for a shapely geometry, standardised."""
    if geom is None or shapely.is_empty(geom):
        return None
    return shapely.geometry.mapping(standard(geom))


def mapping(geom: Any) -> dict[str, Any] | None:
    """A GeoJSON geometry object of a geometry the caller already standardised (the map data rounds to
    the precision of a zoom and orients once per zoom; see ``analysis.aggregate``)."""
    if geom is None or shapely.is_empty(geom):
        return None
    return shapely.geometry.mapping(geom)


def point(lon: float, lat: float, precision: int = PRECISION) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(float(lon), precision), round(float(lat), precision)]}


def feature(geom: dict[str, Any] | None, properties: dict[str, Any], fid: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "Feature"}
    if fid is not None:
        out["id"] = fid
    out["geometry"] = geom
    out["properties"] = properties
    return out


def frame_features(frame: Any, properties: Iterable[dict[str, Any]], id_field: str | None = None) -> list[dict]:
    """Features for the rows of a (Geo)DataFrame in EPSG:4326 with the given property dicts."""
    crs = getattr(frame, "crs", None)
    if crs is not None and not crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    geoms = frame.geometry.to_numpy() if isinstance(frame, gpd.GeoDataFrame) else [None] * len(frame)
    out = []
    for props, geom in zip(properties, geoms):
        out.append(feature(geometry(geom), props, props.get(id_field) if id_field else None))
    return out


def frame_collection(frame: gpd.GeoDataFrame, id_field: str | None = None, **members: Any) -> dict[str, Any]:
    """A FeatureCollection of every row of a GeoDataFrame, every other column a property
    (``GeoDataFrame.to_geo_dict``: NaN and None become null, numpy values plain JSON values; dates are
    written as ISO text), geometries standardised (EPSG:4326, 6 decimals, RFC 7946 winding)."""
    crs = frame.crs
    if crs is not None and not crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    geoms = frame.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    standardised = np.array(geoms, dtype=object)
    if present.any():
        rounded = shapely.transform(geoms[present], lambda xy: np.round(xy, PRECISION))
        standardised[present] = shapely.orient_polygons(rounded, exterior_cw=False)
    standardised[~present] = None
    out = frame.set_geometry(gpd.GeoSeries(standardised, index=frame.index, crs="EPSG:4326"))
    for col in out.columns:
        if col != out.geometry.name and pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = [None if pd.isna(v) else v.isoformat() for v in out[col]]
    features = out.to_geo_dict(na="null", show_bbox=False, drop_id=True)["features"]
    if id_field is not None:
        features = [{"type": "Feature", "id": f["properties"].get(id_field), **f} for f in features]
    return feature_collection(features, **members)


def feature_collection(features: list[dict[str, Any]], **members: Any) -> dict[str, Any]:
    members.pop("crs", None)
    return {"type": "FeatureCollection", **members, "features": features}


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON bytes of a GeoJSON object."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def exterior_is_ccw(geom: Any) -> bool:
    """True when every polygon of ``geom`` has a counterclockwise exterior and clockwise holes."""
    polys = [geom] if geom.geom_type == "Polygon" else list(getattr(geom, "geoms", []))
    for poly in polys:
        if poly.geom_type != "Polygon":
            continue
        if not shapely.is_ccw(poly.exterior):
            return False
        if any(shapely.is_ccw(r) for r in poly.interiors):
            return False
    return True
