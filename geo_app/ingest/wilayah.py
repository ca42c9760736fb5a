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


def _ring(coords: list, where: str, number: int) -> list[tuple[float, float]]:
    """One ring, [lat, lng] points turned into (lon, lat); a malformed point is named."""
    out = []
    for i, point in enumerate(coords, start=1):
        try:
            lat, lng = point
            out.append((float(lng), float(lat)))
        except (TypeError, ValueError):
            raise InputFileError(f"{where}: point {i} of ring {number} is not a [lat, lng] pair: {point!r}") from None
    return out


def path_to_geometry(path: list, where: str) -> shapely.Geometry:
    """Turn an upstream ``path`` (lat/lng order) into a shapely (Multi)Polygon in lon/lat order."""
    depth = _depth(path)
    if depth == 3:
        polygons = [path]
    elif depth == 4:
        polygons = path
    else:
        raise InputFileError(f"{where}: path has nesting depth {depth}, expected 3 (polygon) or 4 (multipolygon)")
    shells = []
    for rings in polygons:
        parts = [_ring(r, where, n) for n, r in enumerate(rings, start=1)]
        if not shells:  # one point tells whether the order is [lat, lng] as upstream writes it
            lon, lat = parts[0][0]
            check_lat_lon(lat, lon, where)
        try:
            shells.append(shapely.Polygon(parts[0], parts[1:]))
        except (ValueError, shapely.errors.GEOSException) as exc:  # e.g. a ring of fewer than 4 points
            raise InputFileError(f"{where}: polygon {len(shells) + 1} cannot be built ({exc})") from None
    return shells[0] if len(shells) == 1 else shapely.MultiPolygon(shells)


def dump_codes(text: str) -> list[str]:
    """The codes of every row of a dump, in file order (which kabupaten a province's file lists)."""
    return [m["kode"] for m in _ROW.finditer(text)]


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
