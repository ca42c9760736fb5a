"""``/api/map/...``: the data of the map pages by bounding box and zoom, on the real desa and the demo set.

What the endpoints answer is checked against the stored data read another way (the boundary polygons,
``/api/coverage``, the desa rows of the coverage), not against the service that built it."""

from __future__ import annotations

import html
import json

import geopandas as gpd
import pytest
import shapely

from geo_app.analysis import aggregate
from geo_app.analysis.coverage.inputs import METRIC_CRS
from geo_app.app_db import get_session
from geo_app.i18n import STATUS_COLORS
from geo_app.ingest.vector import PRESETS
from geo_app.services.boundaries import import_boundaries
from geo_app.services.coverage import get_coverage
from geo_app.services.map_data import reasons_by_code
from geo_app.store.adapter import desa_frame, kecamatan_frame

KABUPATEN = "100.9,-3.4,101.9,-2.2"
PENARIK, PENARIK_KEC = "17.06.10.2001", "17.06.10"
ENDPOINTS_WITH_BBOX = ["/api/map/desa", "/api/map/points/tps", "/api/map/points/incidents", "/api/map/heat"]


def _get(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
    return response


@pytest.mark.parametrize("path", ENDPOINTS_WITH_BBOX)
@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("bbox=nan,-3,102,-2&zoom=10", "bbox"),
        ("bbox=101,-3,inf,-2&zoom=10", "bbox"),
        ("bbox=101,-3,102&zoom=10", "bbox"),
        ("bbox=101,-95,102,-2&zoom=10", "bbox"),
        ("bbox=102,-3,101,-2&zoom=10", "bbox"),
        ("bbox=101,-3,102,-2&zoom=1.5", "zoom"),
        ("bbox=101,-3,102,-2&zoom=21", "zoom"),
        ("bbox=101,-3,102,-2&zoom=-1", "zoom"),
        ("bbox=101,-3,102,-2", "zoom"),
        ("zoom=10", "bbox"),
        (f"bbox={KABUPATEN}&zoom=10&date=kemarin", "date"),
        (f"bbox={KABUPATEN}&zoom=10&kecamatan=Atlantis", "kecamatan"),
        (f"bbox={KABUPATEN}&zoom=10&lang=fr", "lang"),
    ],
)
def test_bad_parameters_are_400_naming_them(demo_client, path, query, names):
    response = demo_client.get(f"{path}?{query}")
    assert response.status_code == 400, (path, query)
    body = response.get_json()
    assert body["error"] == "invalid_input" and names in body["message"], body


def test_other_bad_requests(demo_client):
    assert demo_client.get("/api/map/kecamatan?zoom=zehn").status_code == 400
    unknown = demo_client.get(f"/api/map/points/voters?bbox={KABUPATEN}&zoom=10")
    assert unknown.status_code == 400 and "tps, incidents, meetings" in unknown.get_json()["message"]


def test_desa_in_bbox_are_the_stored_desa_that_intersect_it(demo_client, demo_app):
    with demo_app.app_context():
        desa = desa_frame(get_session())
    everything = _get(demo_client, f"/api/map/desa?bbox={KABUPATEN}&zoom=10").get_json()
    assert {f["id"] for f in everything["features"]} == set(desa["code"]) and len(desa) == 151
    # a box around one kecamatan's desa reaches into its neighbours: exactly those that touch the box
    box = desa[desa["kecamatan_code"] == PENARIK_KEC].total_bounds
    sub = ",".join(f"{v:.5f}" for v in box)
    got = _get(demo_client, f"/api/map/desa?bbox={sub}&zoom=12").get_json()
    expected = set(desa.loc[desa.intersects(shapely.box(*[float(v) for v in sub.split(",")])), "code"])
    assert {f["properties"]["code"] for f in got["features"]} == expected
    assert 14 < len(expected) < 151
    # a tiny box at a desa's label point finds that desa; the sea finds none
    penarik = desa[desa["code"] == PENARIK].iloc[0]
    x, y = penarik["rep_lon"], penarik["rep_lat"]
    tiny = _get(demo_client, f"/api/map/desa?bbox={x - 1e-4},{y - 1e-4},{x + 1e-4},{y + 1e-4}&zoom=16").get_json()
    assert [f["id"] for f in tiny["features"]] == [PENARIK]
    sea = _get(demo_client, "/api/map/desa?bbox=100.0,-4.0,100.2,-3.8&zoom=12").get_json()
    assert sea["features"] == []
    # the view's kecamatan keeps only its desa
    kec = _get(demo_client, f"/api/map/desa?bbox={KABUPATEN}&zoom=10&kecamatan=Penarik").get_json()
    assert {f["properties"]["kecamatan_code"] for f in kec["features"]} == {PENARIK_KEC}
    assert len(kec["features"]) == int((desa["kecamatan_code"] == PENARIK_KEC).sum())


def test_desa_properties_match_coverage_and_the_map_popup(demo_client, demo_app):
    features = _get(demo_client, f"/api/map/desa?bbox={KABUPATEN}&zoom=11").get_json()["features"]
    coverage = {d["code"]: d for d in _get(demo_client, "/api/coverage").get_json()["desa"]}
    with demo_app.app_context():
        result = get_coverage(get_session())
        reasons = reasons_by_code(result, "id")
    for f in features:
        p = f["properties"]
        row = coverage[p["code"]]
        assert (p["name"], p["kecamatan_code"], p["status"]) == (row["name"], row["kecamatan_code"], row["status"])
        assert p["color"] == STATUS_COLORS[row["status"]] and p["status_label"]
        assert p["url"] == f"/desa/{p['code']}"
        # the popup: name, status and reasons of the desa, and the link to its page
        assert p["popup_html"].startswith(f'<div class="map-popup"><b>{html.escape(row["name"])}</b>')
        assert f"<td>{p['status_label']}</td>" in p["popup_html"]
        assert all(html.escape(r) in p["popup_html"] for r in reasons.get(p["code"], []))
        assert f'href="{p["url"]}"' in p["popup_html"]
        assert (p["label_lon"], p["label_lat"]) == (round(row["rep_lon"], 5), round(row["rep_lat"], 5))
        assert shapely.geometry.shape(f["geometry"]).contains(shapely.Point(p["label_lon"], p["label_lat"]))
    english = _get(demo_client, f"/api/map/desa?bbox={KABUPATEN}&zoom=11&lang=en").get_json()["features"]
    assert {f["properties"]["status_label"] for f in english} >= {"Covered"}


@pytest.mark.parametrize("zoom", [5, 8, 10, 12, 14, 17])
def test_simplified_desa_stay_valid_and_lighter_when_zoomed_out(demo_client, demo_app, zoom):
    with demo_app.app_context():
        stored = desa_frame(get_session()).set_index("code")
    body = _get(demo_client, f"/api/map/desa?bbox={KABUPATEN}&zoom={zoom}").get_data()
    features = json.loads(body)["features"]
    assert len(features) == 151
    shapes = gpd.GeoSeries([shapely.geometry.shape(f["geometry"]) for f in features], crs="EPSG:4326")
    assert shapes.is_valid.all() and not shapes.is_empty.any()
    assert set(shapes.geom_type) <= {"Polygon", "MultiPolygon"}
    for f in features:  # RFC 7946 winding
        geom = shapely.geometry.shape(f["geometry"])
        polys = [geom] if geom.geom_type == "Polygon" else list(geom.geoms)
        assert all(shapely.is_ccw(p.exterior) for p in polys)
    # the border moves by about a pixel at most: the area changes by no more than perimeter x 1.5 pixels
    metric = shapes.to_crs(METRIC_CRS)
    original = gpd.GeoSeries(stored.loc[[f["id"] for f in features]].geometry, crs="EPSG:4326").to_crs(METRIC_CRS)
    pixel = aggregate.metres_per_pixel(zoom, -2.6)
    change = abs(metric.area.to_numpy() - original.area.to_numpy())
    assert (change <= original.length.to_numpy() * 1.5 * pixel).all(), zoom
    if zoom <= 10:  # far fewer vertices than the stored polygons when zoomed out
        assert (
            sum(shapely.get_num_coordinates(shapes.to_numpy()))
            < 0.5 * shapely.get_num_coordinates(stored.geometry.to_numpy()).sum()
        )


def test_kecamatan_outlines(demo_client, demo_app):
    body = _get(demo_client, "/api/map/kecamatan?zoom=10").get_json()
    with demo_app.app_context():
        kec = kecamatan_frame(get_session()).set_index("code")
        summary = get_coverage(get_session()).summary
    assert {f["id"] for f in body["features"]} == set(kec.index) and len(body["features"]) == 15
    assert sum(f["properties"]["desa_count"] for f in body["features"]) == 151
    assert sum(f["properties"]["uncovered_count"] for f in body["features"]) == summary["status_counts"]["uncovered"]
    for f in body["features"]:
        shape = shapely.geometry.shape(f["geometry"])
        stored = kec.loc[f["id"]].geometry
        assert shape.is_valid and not shape.is_empty
        # the outline covers the stored kecamatan (small slivers between desa aside)
        overlap = shapely.area(shapely.intersection(shape, stored)) / stored.area
        assert overlap > 0.97, (f["id"], overlap)


def test_legend_counts_the_view(demo_client):
    legend = _get(demo_client, "/api/map/legend").get_json()
    summary = _get(demo_client, "/api/coverage").get_json()["summary"]
    assert legend["counts"] == summary["status_counts"] and legend["total"] == 151
    penarik = _get(demo_client, f"/api/map/legend?kecamatan={PENARIK_KEC}").get_json()
    rows = _get(demo_client, f"/api/coverage?kecamatan={PENARIK_KEC}").get_json()["desa"]
    assert penarik["total"] == len(rows) == sum(penarik["counts"].values())
    assert [s["color"] for s in legend["statuses"]] == list(STATUS_COLORS.values())


def test_points_of_the_demo_are_sent_one_by_one_with_their_popups(demo_client):
    incidents = _get(demo_client, f"/api/map/points/incidents?bbox={KABUPATEN}&zoom=10").get_json()
    listed = _get(demo_client, "/api/incidents?per_page=500").get_json()
    assert incidents["mode"] == "points" and incidents["total"] == len(incidents["features"]) > 0
    by_id = {r["id"]: r for r in listed["items"]}
    for f in incidents["features"]:
        p = f["properties"]
        record = by_id[f["id"]]
        assert p["symbol"] == f"incident-{record['severity']}" and p["severity"] == record["severity"]
        assert p["approximate"] == (record["lon"] is None)  # no own point: at its desa's label point
        assert '<div class="map-popup">' in p["popup_html"]
    tps = _get(demo_client, f"/api/map/points/tps?bbox={KABUPATEN}&zoom=10").get_json()
    assert tps["mode"] == "points" and tps["total"] == 327
    meetings = _get(demo_client, f"/api/map/points/meetings?bbox={KABUPATEN}&zoom=10").get_json()
    assert meetings["total"] == len(meetings["features"]) > 0
    assert {f["properties"]["symbol"] for f in meetings["features"]} == {"meeting"}


def test_heat_weights_are_the_severity_weights(demo_client):
    heat = _get(demo_client, f"/api/map/heat?bbox={KABUPATEN}&zoom=10").get_json()
    points = _get(demo_client, f"/api/map/points/incidents?bbox={KABUPATEN}&zoom=10").get_json()
    weights = _get(demo_client, "/api/coverage").get_json()["settings"]["severity_weights"]
    expected = sum(weights[f["properties"]["severity"]] for f in points["features"])
    assert sum(w for _, _, w in heat["points"]) == pytest.approx(expected)
    assert heat["max"] == max(w for _, _, w in heat["points"])
    assert all(-3.5 < lat < -2 and 100.5 < lon < 102 for lat, lon, _ in heat["points"])


def test_conditional_by_data_version(demo_client):
    url = f"/api/map/desa?bbox={KABUPATEN}&zoom=9"
    first = _get(demo_client, url)
    etag = first.headers["ETag"]
    again = demo_client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.get_data()
    other = demo_client.get(f"/api/map/desa?bbox={KABUPATEN}&zoom=10", headers={"If-None-Match": etag})
    assert other.status_code == 200


HOSTILE = "<script>alert(1)</script>{{7*7}}"


@pytest.fixture
def hostile(app, client, bigstyle_shapefile, tmp_path):
    """Penarik and its kecamatan renamed to a script and a template (a BIG-style boundary file), and one
    rakor, TPS and incident there with the same text in every field a popup shows."""
    big = gpd.read_file(bigstyle_shapefile)
    big.loc[big["KDEPUM"] == PENARIK, "NAMOBJ"] = f"desa {HOSTILE}"
    big.loc[big["KDCPUM"] == PENARIK_KEC, "WADMKC"] = f"kec {HOSTILE}"
    path = tmp_path / "hostile.gpkg"
    big.to_file(path, layer="desa", driver="GPKG", engine="pyogrio")
    with app.app_context():
        import_boundaries(get_session(), app.config["GEO_APP_SETTINGS"], path, mapping=PRESETS["big"])
    posted = [
        client.post(
            "/api/meetings",
            json={
                "title": f"judul {HOSTILE}",
                "date": "2024-11-20",
                "level": "desa",
                "desa_code": PENARIK,
                "venue": f"tempat {HOSTILE}",
                "lat": -2.6,
                "lon": 101.52,
            },
        ),
        client.post(
            "/api/polling-stations",
            json={"desa_code": PENARIK, "number": 1, "voters": 200, "address": f"alamat {HOSTILE}"},
        ),
        client.post(
            "/api/incidents",
            json={
                "occurred_at": "2024-11-20T10:00",
                "category": "hoax",
                "severity": "high",
                "desa_code": PENARIK,
                "description": f"uraian {HOSTILE}",
            },
        ),
    ]
    assert [r.status_code for r in posted] == [201, 201, 201], [r.get_json() for r in posted]


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_hostile_names_and_texts_are_escaped_in_popups(client, hostile):
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&#123;&#123;7*7&#125;&#125;"
    desa = _get(client, f"/api/map/desa?bbox={KABUPATEN}&zoom=11").get_json()
    penarik = next(f["properties"] for f in desa["features"] if f["id"] == PENARIK)
    assert f"desa {escaped}" in penarik["popup_html"] and f"kec {escaped}" in penarik["popup_html"]
    # names travel as data (the page inserts them as text); only popup_html is HTML, and it is escaped
    assert penarik["name"] == f"desa {HOSTILE}"
    found = set()
    for kind, field in (("meetings", "judul"), ("tps", "alamat"), ("incidents", "uraian")):
        body = _get(client, f"/api/map/points/{kind}?bbox={KABUPATEN}&zoom=12").get_json()
        popups = [f["properties"]["popup_html"] for f in body["features"]]
        assert any(f"{field} {escaped}" in p for p in popups), kind
        found.add(kind)
    for url in (
        f"/api/map/desa?bbox={KABUPATEN}&zoom=11",
        f"/api/map/points/meetings?bbox={KABUPATEN}&zoom=12",
        f"/api/map/points/tps?bbox={KABUPATEN}&zoom=12",
        f"/api/map/points/incidents?bbox={KABUPATEN}&zoom=12",
    ):
        body = _get(client, url).get_json()
        for f in body["features"]:
            html = f["properties"].get("popup_html", "")
            assert "<script>" not in html and "{{" not in html, url
    kec = _get(client, "/api/map/kecamatan?zoom=10").get_json()
    assert any(f["properties"]["name"] == f"kec {HOSTILE}" for f in kec["features"])
    assert found == {"meetings", "tps", "incidents"}


def test_the_security_preset_is_a_view_parameter(demo_client):
    """``preset`` changes the requirement, hence which desa are insecure: the map data follows it as the
    coverage API does."""
    for preset in ("pilkada-2020", "pemilu-2019"):
        legend = _get(demo_client, f"/api/map/legend?preset={preset}").get_json()
        summary = _get(demo_client, f"/api/coverage?preset={preset}").get_json()["summary"]
        assert legend["counts"] == summary["status_counts"], preset
    bad = demo_client.get("/api/map/legend?preset=pemilu-1955")
    assert bad.status_code == 400 and "preset" in bad.get_json()["message"]


def test_desa_as_topojson(demo_client):
    url = f"/api/map/desa?bbox={KABUPATEN}&zoom=11"
    geo = _get(demo_client, url).get_json()
    topo_response = _get(demo_client, url + "&format=topojson")
    topo = topo_response.get_json()
    assert topo["type"] == "Topology" and topo["count"] == len(geo["features"]) == 151
    objects = topo["objects"]["desa"]["geometries"]
    assert [o["id"] for o in objects] == [f["id"] for f in geo["features"]]
    assert [o["properties"] for o in objects] == [f["properties"] for f in geo["features"]]
    assert len(topo_response.get_data()) < 0.85 * len(json.dumps(geo, separators=(",", ":")))
    bad = demo_client.get(url + "&format=kml")
    assert bad.status_code == 400 and "topojson" in bad.get_json()["message"]
