"""Parse the ``cahyadsn/wilayah_boundaries`` MySQL dumps into GeoDataFrames.

Each row is ``(kode, nama, lat, lng, path)`` where ``path`` is JSON in **[lat, lng]** order:
depth 3 is one polygon (a list of rings), depth 4 a list of polygons (FACTS.md).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import shapely

from ..errors import InputFileError
from ..geo import WGS84, check_lat_lon

_ROW = re.compile(
    r"\(\s*'(?P<kode>[^']*)'\s*,\s*'(?P<nama>(?:[^']|'')*)'\s*,\s*(?P<lat>-?[\d.]+)\s*,"
    r"\s*(?P<lng>-?[\d.]+)\s*,\s*'(?P<path>[^']*)'\s*\)"
)


def _depth(value) -> int:
    depth = 0
    while isinstance(value, list) and value:
        value = value[0]
        depth += 1
    return depth


def _ring(coords: list, where: str) -> list[tuple[float, float]]:
    return [(float(lng), float(lat)) for lat, lng in coords]


def path_to_geometry(path: list, where: str) -> shapely.Geometry:
    """Turn an upstream ``path`` (lat/lng order) into a shapely (Multi)Polygon in lon/lat order."""
    depth = _depth(path)
    if depth == 3:
        polygons = [path]
    elif depth == 4:
        polygons = path
    else:
        raise InputFileError(f"{where}: path has nesting depth {depth}, expected 3 (polygon) or 4 (multipolygon)")
    first = polygons[0][0][0]
    check_lat_lon(float(first[0]), float(first[1]), where)
    shells = []
    for rings in polygons:
        shells.append(shapely.Polygon(_ring(rings[0], where), [_ring(r, where) for r in rings[1:]]))
    return shells[0] if len(shells) == 1 else shapely.MultiPolygon(shells)


def parse_dump(text: str, source: str, code_prefix: str | None = None) -> gpd.GeoDataFrame:
    """Rows of one dump as a GeoDataFrame (code, name, lat, lng, geometry), EPSG:4326.

    ``code_prefix`` keeps only rows whose code starts with it (the kecamatan file covers a province).
    """
    records = []
    for m in _ROW.finditer(text):
        code = m["kode"]
        if code_prefix and not code.startswith(code_prefix):
            continue
        where = f"{source}: row {code}"
        try:
            path = json.loads(m["path"])
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{where}: path is not valid JSON ({exc.msg})") from None
        records.append(
            {
                "code": code,
                "name": m["nama"].replace("''", "'").strip(),
                "lat": float(m["lat"]),
                "lng": float(m["lng"]),
                "geometry": path_to_geometry(path, where),
            }
        )
    if not records:
        wanted = f" with code {code_prefix}*" if code_prefix else ""
        raise InputFileError(f"{source}: no wilayah_boundaries rows{wanted} found")
    return gpd.GeoDataFrame(records, geometry="geometry", crs=WGS84)


def read_dump(path: Path, code_prefix: str | None = None) -> gpd.GeoDataFrame:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read ({exc})") from None
    return parse_dump(text, path.name, code_prefix)
