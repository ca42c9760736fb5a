"""Small geo helpers used at the edges: CRS checks, metric areas, representative points.

Areas and distances are computed in UTM zone 47S (EPSG:32747), which covers Mukomuko;
never in degrees.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .errors import ValidationError
from .i18n import msg_as

WGS84 = "EPSG:4326"
METRIC_CRS = "EPSG:32747"

# A generous box around Indonesia, to tell lat/lon order and wild values apart.
LAT_RANGE = (-11.5, 6.5)
LON_RANGE = (94.0, 141.5)


def require_crs(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise ValidationError(f"{what}: the data has no coordinate reference system (CRS); add a .prj or set one")
    return gdf


def to_wgs84(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Reproject to EPSG:4326 after checking that a CRS is declared."""
    require_crs(gdf, what)
    return gdf if gdf.crs.equals(WGS84) else gdf.to_crs(WGS84)


def area_km2(geoms: gpd.GeoSeries) -> np.ndarray:
    """Area of each geometry in km², measured in EPSG:32747."""
    if geoms.crs is None:
        raise ValidationError("area_km2 needs geometries with a CRS")
    return geoms.to_crs(METRIC_CRS).area.to_numpy() / 1e6


def representative_points(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Points guaranteed inside their polygon (unlike centroids, see FACTS.md)."""
    return geoms.representative_point()


def polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygonal parts of a (repaired) geometry as a (Multi)Polygon."""
    if geom is None or geom.is_empty:
        return shapely.Polygon()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    polys: list = []
    for p in parts:
        polys.extend(shapely.get_parts(p) if p.geom_type == "MultiPolygon" else [p])
    if not polys:
        return shapely.Polygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def check_lat_lon(lat: float, lon: float, where: str) -> None:
    """Reject NaN, swapped and out-of-range coordinates with a message that says which.

    The message is a ``Message`` (pages show it in their language; ``where`` may be one too, e.g.
    ``msg("lokasi")``) whose ``str`` is the English text the API and the CLI always gave."""
    if lat is None or lon is None or np.isnan(lat) or np.isnan(lon):
        raise ValidationError(
            msg_as(
                f"{where}: latitude/longitude is missing or not a number",
                "%(where)s: lintang/bujur kosong atau bukan angka",
                where=where,
            )
        )
    lat_ok = LAT_RANGE[0] <= lat <= LAT_RANGE[1]
    lon_ok = LON_RANGE[0] <= lon <= LON_RANGE[1]
    if lat_ok and lon_ok:
        return
    if LAT_RANGE[0] <= lon <= LAT_RANGE[1] and LON_RANGE[0] <= lat <= LON_RANGE[1]:
        raise ValidationError(
            msg_as(
                f"{where}: latitude and longitude look swapped (lintang={lat}, bujur={lon}); "
                "in Mukomuko latitude is about -2.x and longitude about 101.x",
                "%(where)s: lintang dan bujur tampaknya tertukar (lintang=%(lat)s, bujur=%(lon)s); di Indonesia "
                "lintang antara %(lat_min)s dan %(lat_max)s, bujur antara %(lon_min)s dan %(lon_max)s",
                where=where,
                lat=lat,
                lon=lon,
                lat_min=f"{LAT_RANGE[0]:g}",
                lat_max=f"{LAT_RANGE[1]:g}",
                lon_min=f"{LON_RANGE[0]:g}",
                lon_max=f"{LON_RANGE[1]:g}",
            )
        )
    raise ValidationError(
        msg_as(
            f"{where}: coordinates lintang={lat}, bujur={lon} are not in Indonesia",
            "%(where)s: koordinat lintang=%(lat)s, bujur=%(lon)s tidak berada di Indonesia",
            where=where,
            lat=lat,
            lon=lon,
        )
    )
