"""Map data by view: bounding boxes, zoom-dependent simplification and precision, grid aggregation.

Pure functions over numpy arrays and shapely geometries (no Flask, no SQLAlchemy). The map data
service (``services.map_data``) and ``geo-app layers build`` use them so that a map shows, at any
zoom, what a screen can show: polygons simplified to about one pixel, coordinates rounded to the
precision a pixel needs, and points aggregated into grid cells whose counts add up exactly.

The grid is laid in web-mercator pixels of the zoom (what Leaflet draws): a cell of ``cell_px``
pixels is the same size on the screen at every zoom, and cells are anchored at the world origin, so
panning does not move them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from ..errors import ValidationError

#: zoom levels a map may ask for (Leaflet's usual range)
MIN_ZOOM, MAX_ZOOM = 0, 20
TILE_PX = 256
EARTH_CIRCUMFERENCE_M = 40_075_016.686
#: web mercator stops here (as every tiled map does)
MAX_MERCATOR_LAT = 85.05112878

BBox = tuple[float, float, float, float]


# --- parameters ----------------------------------------------------------------------------------


def parse_bbox(raw: str | None, name: str = "bbox") -> BBox:
    """``minlon,minlat,maxlon,maxlat`` in degrees → a tuple; anything else is a ValidationError naming
    the parameter: not four numbers, NaN or infinite, outside ±180/±90, or min greater than max."""
    if raw is None or not str(raw).strip():
        raise ValidationError(
            f"{name}: wajib / required, as minlon,minlat,maxlon,maxlat", details={name: "missing bounding box"}
        )
    parts = str(raw).split(",")
    if len(parts) != 4:
        raise ValidationError(
            f"{name}: expected 4 numbers minlon,minlat,maxlon,maxlat, got {len(parts)} in {raw!r}",
            details={name: "not four numbers"},
        )
    values = []
    for part in parts:
        try:
            value = float(part.strip())
        except ValueError:
            raise ValidationError(f"{name}: {part.strip()!r} is not a number", details={name: "not a number"}) from None
        if not math.isfinite(value):
            raise ValidationError(f"{name}: {part.strip()!r} is not a finite number", details={name: "not finite"})
        values.append(value)
    minx, miny, maxx, maxy = values
    if not (-180.0 <= minx <= 180.0 and -180.0 <= maxx <= 180.0):
        raise ValidationError(
            f"{name}: longitude must be between -180 and 180, got {minx:g}, {maxx:g}",
            details={name: "longitude out of range"},
        )
    if not (-90.0 <= miny <= 90.0 and -90.0 <= maxy <= 90.0):
        raise ValidationError(
            f"{name}: latitude must be between -90 and 90, got {miny:g}, {maxy:g}",
            details={name: "latitude out of range"},
        )
    if minx > maxx or miny > maxy:
        raise ValidationError(
            f"{name}: minimum greater than maximum ({minx:g},{miny:g},{maxx:g},{maxy:g}); "
            "order is minlon,minlat,maxlon,maxlat",
            details={name: "min greater than max"},
        )
    return minx, miny, maxx, maxy


def parse_zoom(raw: str | None, name: str = "zoom") -> int:
    """A whole zoom level 0..20 (what Leaflet reports); anything else is a ValidationError."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        raise ValidationError(
            f"{name}: wajib / required, a whole number {MIN_ZOOM}..{MAX_ZOOM}", details={name: "missing zoom"}
        )
    if not (text.isdigit() or (text[0] in "+-" and text[1:].isdigit())):
        raise ValidationError(
            f"{name}: expected a whole number {MIN_ZOOM}..{MAX_ZOOM}, got {text!r}", details={name: "not an integer"}
        )
    zoom = int(text)
    if not MIN_ZOOM <= zoom <= MAX_ZOOM:
        raise ValidationError(
            f"{name}: must be between {MIN_ZOOM} and {MAX_ZOOM}, got {zoom}", details={name: "out of range"}
        )
    return zoom


# --- what a pixel is at a zoom ---------------------------------------------------------------------


def metres_per_pixel(zoom: int, lat: float = 0.0) -> float:
    """Ground size of one screen pixel at ``zoom`` and latitude ``lat`` (web mercator, 256 px tiles)."""
    return EARTH_CIRCUMFERENCE_M * math.cos(math.radians(lat)) / (TILE_PX * 2**zoom)


def simplify_tolerance_m(zoom: int, lat: float = 0.0) -> float:
    """Simplification tolerance for ``zoom``: about one pixel, in metres."""
    return metres_per_pixel(zoom, lat)


def coordinate_decimals(zoom: int) -> int:
    """Decimals of a degree that keep a coordinate within half a pixel at ``zoom`` (at most 6)."""
    half_pixel_deg = 360.0 / (TILE_PX * 2**zoom) / 2.0
    return int(min(6, max(0, math.ceil(-math.log10(half_pixel_deg)))))


# --- geometries ---------------------------------------------------------------------------------------


def clean_coverage(geoms: Sequence | np.ndarray) -> np.ndarray:
    """Polygons (metres) made into a valid polygonal coverage: neighbours share their border vertex by
    vertex, so a topology-preserving simplification keeps shared borders shared. Boundary files often
    have tiny overlaps and unmatched vertices; where cleaning fails or empties a polygon the input
    polygon is kept."""
    arr = np.asarray(geoms, dtype=object)
    if not len(arr):
        return arr
    try:
        cleaned = shapely.coverage_clean(arr)
    except Exception:  # noqa: BLE001 - GEOS refuses some inputs; the input is a usable fallback
        return arr.copy()
    bad = shapely.is_empty(cleaned) | ~shapely.is_valid(cleaned) | shapely.is_missing(cleaned)
    cleaned[bad] = arr[bad]
    return cleaned


def simplify_coverage(geoms: Sequence | np.ndarray, tolerance: float) -> np.ndarray:
    """Simplify a coverage (``clean_coverage`` output) so shared borders stay shared; a polygon whose
    result is empty or invalid is simplified on its own (topology preserved) instead."""
    arr = np.asarray(geoms, dtype=object)
    if not len(arr) or tolerance <= 0:
        return arr.copy()
    try:
        out = shapely.coverage_simplify(arr, tolerance)
    except Exception:  # noqa: BLE001 - not a coverage after all: simplify one by one
        out = shapely.simplify(arr, tolerance, preserve_topology=True)
    bad = shapely.is_empty(out) | ~shapely.is_valid(out)
    if bad.any():
        out[bad] = shapely.simplify(arr[bad], tolerance, preserve_topology=True)
        still = shapely.is_empty(out) | ~shapely.is_valid(out)
        out[still] = arr[still]
    return out


def quantise(geoms: Sequence | np.ndarray, decimals: int) -> np.ndarray:
    """Coordinates rounded to ``decimals``; identical vertices stay identical, so shared borders stay
    shared. Where rounding makes a polygon cross itself, it is snapped to the same grid with the
    crossing noded (``set_precision``); one that would still be invalid, empty or lose its area gets
    more decimals (up to 6)."""
    arr = np.asarray(geoms, dtype=object)
    out = np.empty(len(arr), dtype=object)
    todo = np.ones(len(arr), dtype=bool)
    dims = shapely.get_dimensions(arr)
    for d in range(decimals, 7):
        idx = np.flatnonzero(todo)
        if not len(idx):
            break
        rounded = shapely.transform(arr[idx], lambda xy, d=d: np.round(xy, d))
        bad = shapely.is_empty(rounded) | ~shapely.is_valid(rounded)
        if bad.any():
            rounded[bad] = shapely.set_precision(arr[idx[bad]], 10.0**-d)
        ok = ~shapely.is_empty(rounded) & shapely.is_valid(rounded) & (shapely.get_dimensions(rounded) == dims[idx])
        out[idx[ok]] = rounded[ok]
        todo[idx[ok]] = False
    out[todo] = arr[todo]
    return out


# --- points -------------------------------------------------------------------------------------------


def bbox_mask(lon: np.ndarray, lat: np.ndarray, bbox: BBox) -> np.ndarray:
    """Points inside ``bbox`` (edges included); NaN coordinates are outside."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    minx, miny, maxx, maxy = bbox
    with np.errstate(invalid="ignore"):
        return (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)


def mercator_pixels(lon: np.ndarray, lat: np.ndarray, zoom: int) -> tuple[np.ndarray, np.ndarray]:
    """Global web-mercator pixel coordinates at ``zoom`` (x to the east, y to the south)."""
    scale = TILE_PX * 2.0**zoom
    lat = np.clip(np.asarray(lat, dtype=float), -MAX_MERCATOR_LAT, MAX_MERCATOR_LAT)
    x = (np.asarray(lon, dtype=float) + 180.0) / 360.0 * scale
    s = np.sin(np.radians(lat))
    y = (0.5 - np.log((1 + s) / (1 - s)) / (4 * np.pi)) * scale
    return x, y


@dataclass(frozen=True)
class Cells:
    """Grid cells holding at least one point. ``members``: for each input point, its cell's row."""

    lon: np.ndarray  # weighted centre of the members
    lat: np.ndarray
    count: np.ndarray  # points per cell; sums to the number of points
    weight: np.ndarray  # sum of the members' weights
    bounds: np.ndarray  # (n, 4): minlon, minlat, maxlon, maxlat of the members
    members: np.ndarray

    def __len__(self) -> int:
        return len(self.count)


def grid_cells(
    lon: np.ndarray, lat: np.ndarray, zoom: int, cell_px: int = 64, weights: np.ndarray | None = None
) -> Cells:
    """Aggregate points into square cells of ``cell_px`` screen pixels at ``zoom``.

    Every point falls in exactly one cell, so the counts add up to the number of points. The centre
    of a cell is the mean of its members weighted by ``weights`` (plain mean when all weights are 0
    or not given), so a cell's marker sits where its points are, not at the cell's corner.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.shape != lat.shape:
        raise ValueError("lon and lat differ in length")
    if np.isnan(lon).any() or np.isnan(lat).any():
        raise ValueError("grid_cells needs located points (no NaN)")
    w = np.ones(len(lon)) if weights is None else np.asarray(weights, dtype=float)
    if not len(lon):
        empty = np.array([], dtype=float)
        return Cells(empty, empty, np.array([], dtype=np.int64), empty, np.zeros((0, 4)), np.array([], dtype=np.int64))
    px, py = mercator_pixels(lon, lat, zoom)
    ix = np.floor(px / cell_px).astype(np.int64)
    iy = np.floor(py / cell_px).astype(np.int64)
    keys = np.stack([ix, iy], axis=1)
    _, members = np.unique(keys, axis=0, return_inverse=True)
    members = members.reshape(-1)
    n = int(members.max()) + 1
    count = np.bincount(members, minlength=n).astype(np.int64)
    weight = np.bincount(members, weights=w, minlength=n)
    # centre: weighted mean where the cell's weights are positive, else the plain mean
    wsum = np.where(weight > 0, weight, 1.0)
    use_w = weight > 0
    c_lon = np.where(
        use_w, np.bincount(members, weights=lon * w, minlength=n) / wsum, np.bincount(members, weights=lon) / count
    )
    c_lat = np.where(
        use_w, np.bincount(members, weights=lat * w, minlength=n) / wsum, np.bincount(members, weights=lat) / count
    )
    bounds = np.empty((n, 4))
    bounds[:, 0] = np.inf
    bounds[:, 1] = np.inf
    bounds[:, 2] = -np.inf
    bounds[:, 3] = -np.inf
    np.minimum.at(bounds[:, 0], members, lon)
    np.minimum.at(bounds[:, 1], members, lat)
    np.maximum.at(bounds[:, 2], members, lon)
    np.maximum.at(bounds[:, 3], members, lat)
    return Cells(c_lon, c_lat, count, weight, bounds, members)


# --- TopoJSON: shared borders written once ----------------------------------------------------------------


def _rings(geom) -> list[list]:
    """Polygons of ``geom`` as lists of rings (exterior first), each a list of coordinate tuples without
    the closing repeat."""
    polys = [geom] if geom.geom_type == "Polygon" else list(getattr(geom, "geoms", []))
    out = []
    for poly in polys:
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        rings = [poly.exterior, *poly.interiors]
        out.append([list(map(tuple, shapely.get_coordinates(r)[:-1])) for r in rings])
    return out


def topology(
    geoms: Sequence | np.ndarray,
    properties: Sequence[dict],
    ids: Sequence | None = None,
    decimals: int = 6,
    name: str = "features",
) -> dict:
    """Polygons as a TopoJSON ``Topology`` (one object ``name``): a border two polygons share is one arc,
    written once and referenced by both (reversed by one of them), coordinates quantised to ``decimals``
    and delta-encoded. The polygons should be a coverage with identical shared vertices (what
    ``simplify_coverage`` and ``quantise`` give); where they are not, the arcs simply are not shared.

    Arcs are cut at junctions: vertices where more than two distinct edges meet (three polygons, or the
    end of a shared stretch); a ring without one is a single closed arc."""
    step = 10.0**-decimals
    shapes = [
        [[[(round(x / step), round(y / step)) for x, y in ring] for ring in poly] for poly in _rings(g)]
        if g is not None and not shapely.is_empty(g)
        else []
        for g in geoms
    ]
    neighbours: dict[tuple[int, int], set] = {}
    for polys in shapes:
        for poly in polys:
            for ring in poly:
                n = len(ring)
                for i, v in enumerate(ring):
                    neighbours.setdefault(v, set()).update((ring[i - 1], ring[(i + 1) % n]))
    junction = {v for v, near in neighbours.items() if len(near) > 2}
    arcs: list[list[tuple[int, int]]] = []
    index: dict[tuple, int] = {}

    def arc_id(points: list[tuple[int, int]]) -> int:
        key = tuple(points)
        if key in index:
            return index[key]
        back = tuple(reversed(points))
        if back in index:
            return ~index[back]
        index[key] = len(arcs)
        arcs.append(points)
        return index[key]

    def ring_arcs(ring: list[tuple[int, int]]) -> list[int]:
        cuts = [i for i, v in enumerate(ring) if v in junction]
        if not cuts:  # one closed arc, started at its smallest vertex so a shared ring matches
            start = ring.index(min(ring))
            loop = ring[start:] + ring[:start]
            forward = [*loop, loop[0]]
            back = [loop[0], *reversed(loop[1:]), loop[0]]
            if tuple(back) in index:
                return [~index[tuple(back)]]
            return [arc_id(forward)]
        rotated = ring[cuts[0] :] + ring[: cuts[0]]
        cut = [i - cuts[0] for i in cuts]
        out = []
        for a, b in zip(cut, [*cut[1:], len(rotated)]):
            out.append(arc_id(rotated[a : b + 1] if b < len(rotated) else [*rotated[a:], rotated[0]]))
        return out

    objects = []
    for i, (polys, props) in enumerate(zip(shapes, properties)):
        coords = [[ring_arcs(ring) for ring in poly] for poly in polys]
        obj: dict = {"properties": props}
        if ids is not None:
            obj["id"] = ids[i]
        if not coords:
            obj["type"] = None
        elif len(coords) == 1:
            obj.update(type="Polygon", arcs=coords[0])
        else:
            obj.update(type="MultiPolygon", arcs=coords)
        objects.append(obj)
    encoded = []
    for points in arcs:
        deltas = [list(points[0])]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            deltas.append([x1 - x0, y1 - y0])
        encoded.append(deltas)
    return {
        "type": "Topology",
        "transform": {"scale": [step, step], "translate": [0, 0]},
        "objects": {name: {"type": "GeometryCollection", "geometries": objects}},
        "arcs": encoded,
    }
