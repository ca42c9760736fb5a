"""The boundary web surface on the real data: health, GeoJSON API, the Leaflet map, the landing page,
and what an empty database answers."""

from __future__ import annotations

import re

import pytest
import shapely
from sqlalchemy import update

from geo_app.app_db import get_session
from geo_app.geojson import standard
from geo_app.store.adapter import desa_frame, kecamatan_frame
from geo_app.store.db import transaction
from geo_app.store.models import Desa, Kecamatan
from tests.conftest import snapshot

DESA_CODE = re.compile(r"17\.06\.\d{2}\.[12]\d{3}")
MISSING = "Batas wilayah belum diimpor"


@pytest.fixture
def stored(app):
    """The stored boundaries, read through the adapter (not through the views under test)."""
    with app.app_context():
        session = get_session()
        return desa_frame(session), kecamatan_frame(session)


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.is_json
    assert r.json["status"] == "ok" and r.json["desa"] == 151
    assert r.json["data_version"] != "empty"


def test_api_kecamatan(client, stored):
    desa, kec = stored
    r = client.get("/api/kecamatan")
    assert r.status_code == 200 and r.is_json
    body = r.json
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 15
    for f in body["features"]:
        p = f["properties"]
        assert {"code", "name", "kind", "kecamatan_code", "kecamatan_name", "area_km2"} <= set(p)
        assert p["kind"] == "kecamatan" and p["kecamatan_code"] == p["code"] and p["kecamatan_name"] == p["name"]
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    props = {f["properties"]["code"]: f["properties"] for f in body["features"]}
    assert props["17.06.08"]["name"] == "Teramang Jaya" and props["17.06.08"]["desa_count"] == 13
    assert sum(p["desa_count"] for p in props.values()) == 151
    assert sum(p["area_km2"] for p in props.values()) == pytest.approx(desa["area_km2"].sum(), rel=1e-3)
    # GeoJSON order is lon/lat: Mukomuko lies near 101.x E, 2.x S
    geom = shapely.geometry.shape(body["features"][0]["geometry"])
    assert 100 < geom.centroid.x < 102 and -4 < geom.centroid.y < -1
    # the stored polygon as RFC 7946 writes it: exterior counterclockwise, 6 decimals (geo_app/geojson.py)
    stored = kec.set_index("code").geometry[body["features"][0]["properties"]["code"]]
    assert geom.equals_exact(standard(stored), 1e-9)


def test_api_desa(client, stored):
    desa, _ = stored
    r = client.get("/api/desa")
    assert r.status_code == 200 and r.is_json
    features = r.json["features"]
    assert len(features) == 151
    expected = {
        "code",
        "name",
        "kind",
        "kecamatan_code",
        "kecamatan_name",
        "kabupaten_code",
        "kabupaten_name",
        "area_km2",
        "rep_lon",
        "rep_lat",
    }
    assert all(set(f["properties"]) == expected for f in features)
    assert sorted(f["properties"]["code"] for f in features) == sorted(desa["code"])
    kinds = [f["properties"]["kind"] for f in features]
    assert kinds.count("desa") == 148 and kinds.count("kelurahan") == 3
    for f in features:  # the representative point served lies inside the polygon served
        p = f["properties"]
        assert shapely.geometry.shape(f["geometry"]).contains(shapely.Point(p["rep_lon"], p["rep_lat"])), p["code"]
        assert p["kecamatan_code"] == p["code"][:8]
        assert (p["kabupaten_code"], p["kabupaten_name"]) == ("17.06", "Kabupaten Mukomuko")


def test_api_desa_detail(client, stored):
    desa, _ = stored
    r = client.get("/api/desa/17.06.08.2006")
    assert r.status_code == 200 and r.is_json
    f = r.json
    assert f["type"] == "Feature"
    row = desa.set_index("code").loc["17.06.08.2006"]
    assert f["properties"]["code"] == "17.06.08.2006"
    assert f["properties"]["name"] == row["name"] and f["properties"]["kecamatan_name"] == "Teramang Jaya"
    assert shapely.geometry.shape(f["geometry"]).equals_exact(standard(row.geometry), 1e-9)


@pytest.mark.parametrize("code", ["99.99", "17.06.08.9999", "17.06.08"])
def test_api_desa_unknown_code_is_404_json(client, code):
    r = client.get(f"/api/desa/{code}")
    assert r.status_code == 404 and r.is_json
    assert r.json["error"] == "not_found"
    assert code in r.json["message"] and "tidak ditemukan" in r.json["message"]


def test_map_has_every_desa_and_tooltips(client, stored):
    desa, kec = stored
    r = client.get("/map")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    # the page is a shell: its desa and kecamatan layers fetch their data for the view
    assert "L.map(" in html and "new GeoMap.DesaLayer(" in html and '"url":"/api/map/kecamatan"' in html
    body = client.get("/api/map/desa?bbox=100,-4,103,-1&zoom=10").get_json()
    codes = [f["properties"]["code"] for f in body["features"]]
    assert len(codes) == 151 and sorted(codes) == sorted(desa["code"])
    assert all(re.fullmatch(DESA_CODE.pattern, c) for c in codes)
    names = {f["properties"][k] for f in body["features"] for k in ("name", "kecamatan_name")}
    for name in ("Teramang Jaya", "Air Manjunto", "Air Buluh"):
        assert name in names
    outlines = client.get("/api/map/kecamatan?zoom=10").get_json()
    assert {f["properties"]["code"] for f in outlines["features"]} == set(kec["code"])


def test_landing_page_lists_the_kecamatan(client, stored):
    _, kec = stored
    r = client.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    rows = re.findall(r"<tr><td>(17\.06\.\d{2})</td><td>([^<]+)</td><td class=\"num\">(\d+)</td>", html)
    assert len(rows) == 15
    assert sorted((code, name) for code, name, _ in rows) == sorted(zip(kec["code"], kec["name"]))
    assert dict((name, int(n)) for _, name, n in rows)["Teramang Jaya"] == 13
    assert MISSING not in html


def test_names_are_escaped_in_html(app, client):
    """A hostile name (e.g. from an imported file) reaches the landing page and the map only escaped."""
    hostile = '<img src=x onerror="alert(1)">'
    with app.app_context():
        session = get_session()
        with transaction(session):
            session.execute(update(Kecamatan).where(Kecamatan.code == "17.06.08").values(name=hostile))
            session.execute(update(Desa).where(Desa.code == "17.06.08.2006").values(name=hostile + "desa"))
    html = client.get("/").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert "<img src=x" not in client.get("/map").get_data(as_text=True)
    # the map's data: the name as stored (the page inserts it as text), the popup built from escaped parts
    body = client.get("/api/map/desa?bbox=100,-4,103,-1&zoom=10").get_json()
    own = next(f["properties"] for f in body["features"] if f["properties"]["code"] == "17.06.08.2006")
    assert own["name"] == hostile + "desa" and own["kecamatan_name"] == hostile
    assert "&lt;img src=x" in own["popup_html"] and "<img" not in own["popup_html"]
    # the API is JSON: the name comes back as it is stored
    assert client.get("/api/desa/17.06.08.2006").json["properties"]["kecamatan_name"] == hostile


@pytest.mark.parametrize("url", ["/api/desa", "/api/kecamatan", "/api/desa/17.06.08.2006"])
def test_empty_db_api_is_503_json(empty_app, url):
    r = empty_app.test_client().get(url)
    assert r.status_code == 503 and r.is_json
    assert r.json["error"] == "boundaries_missing"
    assert MISSING in r.json["message"] and "geo-app boundaries import" in r.json["message"]


def test_empty_db_map_is_503_html(empty_app):
    r = empty_app.test_client().get("/map")
    assert r.status_code == 503 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert re.search(r'<p class="error">' + MISSING + r"[^<]*geo-app boundaries import", html)


def test_empty_db_landing_page_and_health_say_so(empty_app):
    client = empty_app.test_client()
    r = client.get("/")
    assert r.status_code == 200 and MISSING in r.get_data(as_text=True)
    assert "<tr><td>17.06" not in r.get_data(as_text=True)
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["desa"] == 0


def test_reading_pages_changes_nothing(app, client):
    before = snapshot(app)
    for url in ("/", "/map", "/healthz", "/api/desa", "/api/kecamatan", "/api/desa/17.06.08.2006", "/api/desa/99.99"):
        client.get(url)
    assert snapshot(app) == before
