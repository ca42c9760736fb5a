"""Map data arithmetic (``analysis.aggregate``): parameters, pixels, grid clusters, simplification.

Points and polygons are the real desa (boundary template); the clusters are checked against a plain
count of the same points."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from geo_app.analysis import aggregate
from geo_app.app_db import get_session
from geo_app.errors import ValidationError
from geo_app.services.synthetic import synthetic_incidents
from geo_app.store.adapter import desa_frame


@pytest.fixture(scope="module")
def desa(template_db, tmp_path_factory, boundary_source):
    from tests.conftest import app_on_copy

    with app_on_copy(template_db, tmp_path_factory.mktemp("aggregate"), boundary_source) as app:
        with app.app_context():
            return desa_frame(get_session())


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (None, "required"),
        ("", "required"),
        ("101,-3,102", "expected 4 numbers"),
        ("101,-3,102,-2,5", "expected 4 numbers"),
        ("a,-3,102,-2", "'a' is not a number"),
        ("nan,-3,102,-2", "not a finite number"),
        ("101,-3,inf,-2", "not a finite number"),
        ("101,-3,102,-infinity", "not a finite number"),
        ("-181,-3,102,-2", "longitude must be between -180 and 180"),
        ("101,-91,102,-2", "latitude must be between -90 and 90"),
        ("102,-3,101,-2", "minimum greater than maximum"),
        ("101,-2,102,-3", "minimum greater than maximum"),
    ],
)
def test_bbox_refused_with_the_reason(raw, why):
    with pytest.raises(ValidationError, match=why) as err:
        aggregate.parse_bbox(raw)
    assert err.value.message.startswith("bbox") and "bbox" in err.value.details


def test_bbox_accepted():
    assert aggregate.parse_bbox(" 101.1, -3.2 ,101.9,-2.25") == (101.1, -3.2, 101.9, -2.25)
    assert aggregate.parse_bbox("101,-3,101,-3") == (101.0, -3.0, 101.0, -3.0)  # a point is a box


@pytest.mark.parametrize("raw", [None, "", "1.5", "ten", "21", "-1", "1e1", "0x10", "nan"])
def test_zoom_refused(raw):
    with pytest.raises(ValidationError, match="^zoom"):
        aggregate.parse_zoom(raw)


def test_zoom_accepted_and_pixels():
    assert [aggregate.parse_zoom(z) for z in ("0", " 12 ", "+20")] == [0, 12, 20]
    # one pixel halves with each zoom level; 156.5 km at zoom 0 on the equator, cos(lat) narrower
    assert aggregate.metres_per_pixel(0) == pytest.approx(156_543.03, rel=1e-6)
    assert aggregate.metres_per_pixel(10, -2.6) == pytest.approx(156_543.03 * math.cos(math.radians(2.6)) / 1024)
    decimals = [aggregate.coordinate_decimals(z) for z in range(21)]
    assert decimals == sorted(decimals) and decimals[-1] == 6
    for z, d in enumerate(decimals):  # a rounding step stays within half a pixel of the zoom
        assert 10**-d / 2 <= 360 / (256 * 2**z) / 2


def test_grid_counts_add_up_and_members_lie_in_their_cell(desa):
    frame = synthetic_incidents(desa, 5000, seed=7)
    lon, lat = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    for zoom in (6, 9, 12, 15):
        cells = aggregate.grid_cells(lon, lat, zoom, cell_px=64)
        assert cells.count.sum() == len(lon) and (cells.count > 0).all()
        assert np.array_equal(np.bincount(cells.members, minlength=len(cells)), cells.count)
        # a member lies inside its cell's bounds; the centre lies inside them too
        b = cells.bounds[cells.members]
        assert ((lon >= b[:, 0]) & (lon <= b[:, 2]) & (lat >= b[:, 1]) & (lat <= b[:, 3])).all()
        inside = (cells.lon >= cells.bounds[:, 0] - 1e-12) & (cells.lon <= cells.bounds[:, 2] + 1e-12)
        assert inside.all()
        # one cell is at most cell_px screen pixels wide
        px, _ = aggregate.mercator_pixels(cells.bounds[:, [0, 2]].ravel(), np.zeros(2 * len(cells)), zoom)
        assert (np.diff(px.reshape(-1, 2), axis=1) <= 64 + 1e-6).all()
    fewer = [len(aggregate.grid_cells(lon, lat, z)) for z in (6, 9, 12, 15)]
    assert fewer == sorted(fewer) and fewer[0] < fewer[-1]


def test_weighted_centre():
    cells = aggregate.grid_cells(np.array([101.0, 101.001]), np.array([-3.0, -3.0]), 8, weights=np.array([3.0, 1.0]))
    assert len(cells) == 1 and cells.weight[0] == 4.0
    assert cells.lon[0] == pytest.approx(101.00025)
    none = aggregate.grid_cells(np.array([]), np.array([]), 8)
    assert len(none) == 0 and none.count.sum() == 0


def test_bbox_mask_edges_and_nan():
    lon = np.array([101.0, 101.5, 102.0, np.nan, 100.9])
    lat = np.array([-3.0, -2.5, -2.0, -2.5, -2.5])
    assert aggregate.bbox_mask(lon, lat, (101.0, -3.0, 102.0, -2.0)).tolist() == [True, True, True, False, False]


def test_simplified_coverage_keeps_every_desa_and_its_shared_borders(desa):
    """At every zoom every desa stays a valid, non-empty polygon near its own area, and neighbours still
    share their border exactly (the simplified polygons are a valid coverage: no gaps or overlaps opened
    between them)."""
    metric = desa.geometry.to_crs("EPSG:32747").to_numpy()
    cleaned = aggregate.clean_coverage(metric)
    assert shapely.coverage_is_valid(cleaned)
    assert np.allclose(shapely.area(cleaned), shapely.area(metric), rtol=0.01)
    vertices = []
    for zoom in range(0, 21, 2):
        tol = aggregate.simplify_tolerance_m(zoom, -2.6)
        out = aggregate.simplify_coverage(cleaned, tol)
        assert len(out) == len(desa)
        assert not shapely.is_empty(out).any() and shapely.is_valid(out).all(), zoom
        if zoom >= 8:  # from the zoom a kabupaten map opens at
            assert shapely.coverage_is_valid(out), zoom
        if zoom >= 10:  # each desa where it was: most of its area kept in place
            kept = shapely.area(shapely.intersection(out, cleaned)) / shapely.area(cleaned)
            assert kept.min() > 0.8, (zoom, kept.min())
        vertices.append(int(shapely.get_num_coordinates(out).sum()))
    assert vertices == sorted(vertices) and vertices[0] < vertices[-1] / 4


def test_quantise_keeps_geometries_valid(desa):
    """Rounding the polygons simplified for a zoom to that zoom's precision keeps them valid; the few
    that rounding would break keep more decimals."""
    import geopandas as gpd

    cleaned = aggregate.clean_coverage(desa.geometry.to_crs("EPSG:32747").to_numpy())
    for zoom in (8, 10, 12, 14):
        simple = aggregate.simplify_coverage(cleaned, aggregate.simplify_tolerance_m(zoom, -2.6))
        lonlat = gpd.GeoSeries(simple, crs="EPSG:32747").to_crs("EPSG:4326").to_numpy()
        decimals = aggregate.coordinate_decimals(zoom)
        out = aggregate.quantise(lonlat, decimals)
        assert shapely.is_valid(out).all() and not shapely.is_empty(out).any()
        coords = shapely.get_coordinates(out)
        exact = np.isclose(coords, np.round(coords, decimals), atol=1e-12).all(axis=1)
        assert exact.mean() > 0.9, (zoom, exact.mean())


def decode_topology(topo: dict, name: str) -> list:
    """A small TopoJSON reader (delta-decoded arcs stitched into rings), to check what was written."""
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        xy = np.cumsum(np.array(arc, dtype=float), axis=0)
        arcs.append([(x * sx + tx, y * sy + ty) for x, y in xy])

    def ring(refs):
        points = []
        for ref in refs:
            pts = arcs[ref] if ref >= 0 else list(reversed(arcs[~ref]))
            points.extend(pts if not points else pts[1:])
        return points

    out = []
    for g in topo["objects"][name]["geometries"]:
        polys = [g["arcs"]] if g["type"] == "Polygon" else g["arcs"]
        parts = [shapely.Polygon(ring(rings[0]), [ring(r) for r in rings[1:]]) for rings in polys]
        out.append(parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts))
    return out


def test_topology_writes_shared_borders_once_and_reads_back(desa):
    import geopandas as gpd

    zoom = 12
    cleaned = aggregate.clean_coverage(desa.geometry.to_crs("EPSG:32747").to_numpy())
    simple = aggregate.simplify_coverage(cleaned, aggregate.simplify_tolerance_m(zoom, -2.6))
    lonlat = gpd.GeoSeries(simple, crs="EPSG:32747").to_crs("EPSG:4326").to_numpy()
    decimals = aggregate.coordinate_decimals(zoom)
    geoms = aggregate.quantise(lonlat, decimals)
    props = [{"code": c} for c in desa["code"]]
    topo = aggregate.topology(geoms, props, list(desa["code"]), decimals=decimals, name="desa")
    back = decode_topology(topo, "desa")
    assert [g["id"] for g in topo["objects"]["desa"]["geometries"]] == list(desa["code"])
    for original, decoded in zip(geoms, back):
        assert decoded.is_valid and shapely.equals_exact(
            shapely.normalize(original), shapely.normalize(decoded), tolerance=10**-decimals / 2
        )
    ring_points = int(shapely.get_num_coordinates(geoms).sum())
    arc_points = sum(len(a) for a in topo["arcs"])
    referenced = [abs(r if r >= 0 else ~r) for g in topo["objects"]["desa"]["geometries"] for r in _refs(g)]
    shared = len(referenced) - len(set(referenced))
    assert shared > len(desa)  # most desa share borders with several neighbours: those arcs are used twice
    assert arc_points < 0.75 * ring_points  # each shared border written once (the coast and edges are not shared)


def _refs(geometry: dict) -> list[int]:
    polys = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
    return [ref for rings in polys for ring in rings for ref in ring]
