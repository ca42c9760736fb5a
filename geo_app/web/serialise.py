"""GeoDataFrame → GeoJSON dicts for the API."""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd

from .. import geojson


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
    return geojson.frame_collection(gdf[[*properties, gdf.geometry.name]])


# --- records (rakor, TPS, insiden) -----------------------------------------------------------------

Point = tuple[float, float]


def display_point(
    record: dict[str, Any], desa_points: dict[str, Point], kecamatan_points: dict[str, Point] | None = None
) -> tuple[Point | None, str | None]:
    """Where a record is drawn: its own point, else its desa's representative point, else (a meeting
    held for a whole kecamatan) the host kecamatan's; returns the point and which one was used."""
    if record.get("lon") is not None and record.get("lat") is not None:
        return (float(record["lon"]), float(record["lat"])), "point"
    desa = record.get("desa_code") or record.get("host_desa_code")
    if desa and desa in desa_points:
        return desa_points[desa], "desa"
    kec = record.get("host_kecamatan_code")
    if kec and kecamatan_points and kec in kecamatan_points:
        return kecamatan_points[kec], "kecamatan"
    return None, None


def records_feature_collection(
    records: list[dict[str, Any]],
    desa_points: dict[str, Point],
    kecamatan_points: dict[str, Point] | None = None,
    **members: Any,
) -> dict[str, Any]:
    """Record dicts as a FeatureCollection (lon/lat order); every field is a property, plus
    ``point_source``. Extra keyword arguments become foreign members (e.g. paging totals)."""
    features = []
    for rec in records:
        point, source = display_point(rec, desa_points, kecamatan_points)
        features.append(
            geojson.feature(
                None if point is None else geojson.point(point[0], point[1]),
                {**{k: _clean(v) for k, v in rec.items()}, "point_source": source},
                rec.get("id"),
            )
        )
    return geojson.feature_collection(features, **members)


def rep_points(frame) -> dict[str, Point]:
    """``code -> (rep_lon, rep_lat)`` from a desa or kecamatan frame."""
    return {c: (float(x), float(y)) for c, x, y in zip(frame["code"], frame["rep_lon"], frame["rep_lat"])}
