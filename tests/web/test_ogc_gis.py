"""Issue 15: layers a GIS desk opens. GDAL (the library under QGIS) reads the running service through
OGC API – Features (``OAPIF:``), every GeoJSON URL of the API, the GeoPackage and shapefile downloads,
and the layers build's QGIS project.

The service runs in a forked process: pyogrio holds the GIL while GDAL reads, so a server thread in
the test process could not answer GDAL's requests.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import xml.etree.ElementTree as ET
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pyogrio
import pytest
import shapely
from werkzeug.serving import make_server

from geo_app.geojson import exterior_is_ccw
from geo_app.i18n import STATUS_COLORS
from geo_app.services.users import create_token, create_user
from geo_app.store.db import data_version
from tests.conftest import copy_database, make_app

try:
    from geo_app.app_db import get_session
except ImportError:  # pragma: no cover
    from geo_app.store.db import get_session

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
GEOJSON_CLASS = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"
HTML_CLASS = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html"
COLLECTIONS = ("kabupaten", "kecamatan", "desa", "coverage", "tps", "incidents", "rakor")


@pytest.fixture
def gis_app(tmp_path, demo_template, boundary_source):
    """The demo set with production access (no anonymous viewing), a viewer ``vera`` and her token."""
    db_path = tmp_path / "gis.sqlite"
    copy_database(demo_template, db_path)
    app = make_app(db_path, tmp_path / "shp", BOUNDARY_SOURCE=boundary_source, ALLOW_ANONYMOUS_VIEW=False)
    with app.app_context():
        create_user(get_session(), "vera", "vera-password-123", "viewer")
        app.config["TEST_TOKEN"] = create_token(get_session(), "qgis", "viewer", "vera")["token"]
    yield app
    app.extensions["geo_app.engine"].dispose()


def _serve(server, app) -> None:
    app.extensions["geo_app.engine"].dispose(close=False)  # the child opens its own connections
    server.serve_forever()


@pytest.fixture
def served(gis_app):
    """The app on http://127.0.0.1:<free port> in a forked child process."""
    server = make_server("127.0.0.1", 0, gis_app, threaded=True)
    proc = multiprocessing.get_context("fork").Process(target=_serve, args=(server, gis_app), daemon=True)
    proc.start()
    base = f"http://127.0.0.1:{server.server_port}"
    pyogrio.set_gdal_config_options({"CPL_VSIL_CURL_NON_CACHED": f"/vsicurl/{base}", "GDAL_HTTP_MAX_RETRY": "0"})
    try:
        yield base
    finally:
        proc.terminate()
        proc.join()
        server.server_close()
        pyogrio.set_gdal_config_options(
            {"GDAL_HTTP_HEADERS": None, "CPL_VSIL_CURL_NON_CACHED": None, "GDAL_HTTP_MAX_RETRY": None}
        )


@contextmanager
def bearer(token: str | None, via: str = "auth"):
    """GDAL sends ``token``: as ``GDAL_HTTP_AUTH=BEARER`` (the OAPIF driver sets its own Accept header,
    which replaces ``GDAL_HTTP_HEADERS``) or as ``GDAL_HTTP_HEADERS`` (enough for /vsicurl and GeoJSON)."""
    options = {"GDAL_HTTP_HEADERS": None, "GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None}
    if token and via == "headers":
        options["GDAL_HTTP_HEADERS"] = f"Authorization: Bearer {token}"
    elif token:
        options |= {"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": token}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({k: None for k in options})


def _auth(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.config['TEST_TOKEN']}"}


def _json(app, url: str):
    resp = app.test_client().get(url, headers=_auth(app))
    assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True)[:300])
    return json.loads(resp.get_data())


def api_counts(app) -> dict[str, int]:
    """Feature counts as the JSON API reports them."""
    return {
        "kabupaten": 1,
        "kecamatan": len(_json(app, "/api/kecamatan")["features"]),
        "desa": len(_json(app, "/api/desa")["features"]),
        "coverage": _json(app, "/api/coverage")["count"],
        "tps": _json(app, "/api/polling-stations")["total"],
        "incidents": _json(app, "/api/incidents")["total"],
        "rakor": _json(app, "/api/meetings")["total"],
    }


def _is_4326(crs) -> bool:
    text = str(crs)
    return "4326" in text or "CRS84" in text


def test_oapif_reads_every_collection_with_counts_bbox_and_paging(gis_app, served):
    counts = api_counts(gis_app)
    assert counts["desa"] == counts["coverage"] > 100 and counts["tps"] > 100
    source = f"OAPIF:{served}/ogc"
    with bearer(gis_app.config["TEST_TOKEN"]):
        layers = {name for name, _ in pyogrio.list_layers(source)}
        assert layers == set(COLLECTIONS)
        for name in COLLECTIONS:
            frame = pyogrio.read_dataframe(source, layer=name)
            assert len(frame) == counts[name], name
            assert _is_4326(frame.crs), (name, frame.crs)
        # paging: a small page size makes GDAL follow the next links
        paged = pyogrio.read_dataframe(source, layer="rakor", PAGE_SIZE=5)
        assert len(paged) == counts["rakor"] and paged["id"].is_unique
        # bbox filter, answered by the server: the desa of one kecamatan's box
        kec = pyogrio.read_dataframe(source, layer="kecamatan")
        box = tuple(float(v) for v in kec.geometry.iloc[0].bounds)
        desa = pyogrio.read_dataframe(source, layer="desa")
        expected = int(desa.geometry.intersects(shapely.box(*box)).sum())
        within = pyogrio.read_dataframe(source, layer="desa", bbox=box)
        assert 0 < len(within) == expected < counts["desa"]
        bbox_q = ",".join(map(str, box))
        assert _json(gis_app, f"/ogc/collections/desa/items?bbox={bbox_q}")["numberMatched"] == expected
    with bearer(None), pytest.raises(pyogrio.errors.DataSourceError):
        pyogrio.read_dataframe(source, layer="desa")
    anonymous = gis_app.test_client()
    for path in ("/ogc", "/ogc/collections", "/ogc/collections/desa/items", "/ogc/collections/tps/items/1"):
        assert anonymous.get(path).status_code == 401, path


def _rels(doc) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for link in doc["links"]:
        assert link["href"].startswith("http") and link["rel"] and link.get("type")
        out.setdefault(link["rel"], []).append(link)
    return out


def test_landing_conformance_collections_meet_core_requirements(gis_app):
    # /req/core/root-success: links to the API definition, conformance and collections
    landing = _json(gis_app, "/ogc")
    rels = _rels(landing)
    assert {"self", "alternate", "conformance", "data"} <= set(rels)
    assert "service-desc" in rels or "service-doc" in rels
    api = _json(gis_app, "/ogc/api")
    assert api["openapi"].startswith("3.0") and "/ogc/collections/desa/items" in api["paths"]
    # /req/core/conformance-success; the classes claimed
    conformance = _json(gis_app, "/ogc/conformance")
    assert {CORE, GEOJSON_CLASS, HTML_CLASS} <= set(conformance["conformsTo"])
    # /req/core/fc-md-success, fc-md-links, fc-md-items, fc-md-extent
    collections = _json(gis_app, "/ogc/collections")
    assert "self" in _rels(collections)
    assert [c["id"] for c in collections["collections"]] == list(COLLECTIONS)
    for coll in collections["collections"]:
        rels = _rels(coll)
        assert {"self", "items"} <= set(rels)
        assert any(link["type"] == "application/geo+json" for link in rels["items"])
        minx, miny, maxx, maxy = coll["extent"]["spatial"]["bbox"][0]
        assert 100 < minx < maxx < 103 and -4 < miny < maxy < -1
        assert coll["itemType"] == "feature"
        assert _json(gis_app, f"/ogc/collections/{coll['id']}")["id"] == coll["id"]
    temporal = {c["id"]: c["extent"].get("temporal") for c in collections["collections"]}
    assert temporal["rakor"]["interval"][0][0] and temporal["desa"] is None
    # /req/core/fc-response, fc-links, fc-numberMatched/Returned; /req/geojson/content
    resp = gis_app.test_client().get("/ogc/collections/tps/items?limit=7&offset=7", headers=_auth(gis_app))
    assert resp.mimetype == "application/geo+json"
    page = json.loads(resp.get_data())
    assert page["type"] == "FeatureCollection" and page["numberReturned"] == len(page["features"]) == 7
    assert page["numberMatched"] == api_counts(gis_app)["tps"]
    rels = _rels(page)
    assert {"self", "alternate", "next", "prev", "collection"} <= set(rels)
    assert "offset=14" in rels["next"][0]["href"] and "offset=0" in rels["prev"][0]["href"]
    first = page["features"][0]
    # /req/core/f-success: one feature by its id, with self and collection links
    one = _json(gis_app, f"/ogc/collections/tps/items/{first['id']}")
    assert one["type"] == "Feature" and one["id"] == first["id"] and {"self", "collection"} <= set(_rels(one))
    missing = gis_app.test_client().get("/ogc/collections/tps/items/999999", headers=_auth(gis_app))
    assert missing.status_code == 404
    assert gis_app.test_client().get("/ogc/collections/nope/items", headers=_auth(gis_app)).status_code == 404


def test_items_filters_match_the_json_api(gis_app):
    kec = _json(gis_app, "/api/kecamatan")["features"][3]["properties"]["code"]
    for coll, api, total in (
        ("tps", "/api/polling-stations", "total"),
        ("incidents", "/api/incidents", "total"),
        ("rakor", "/api/meetings", "total"),
        ("coverage", "/api/coverage", "count"),
    ):
        ogc = _json(gis_app, f"/ogc/collections/{coll}/items?kecamatan={kec}&limit=1")
        assert ogc["numberMatched"] == _json(gis_app, f"{api}?kecamatan={kec}")[total] > 0, coll
    gaps = _json(gis_app, "/ogc/collections/coverage/items?status=uncovered&window_days=30")
    assert gaps["numberMatched"] == _json(gis_app, "/api/coverage?status=uncovered&window_days=30")["count"]
    assert {f["properties"]["status"] for f in gaps["features"]} <= {"uncovered"}
    # datetime: an interval, open ends, an instant (a day)
    meetings = _json(gis_app, "/api/meetings?date_from=2024-11-01&date_to=2024-11-20")["total"]
    got = _json(gis_app, "/ogc/collections/rakor/items?datetime=2024-11-01/2024-11-20")["numberMatched"]
    assert got == meetings > 0
    later = _json(gis_app, "/ogc/collections/rakor/items?datetime=2024-11-21/..")["numberMatched"]
    earlier = _json(gis_app, "/ogc/collections/rakor/items?datetime=../2024-10-31T23:59:59%2B07:00")["numberMatched"]
    assert earlier + got + later == api_counts(gis_app)["rakor"]
    incidents = _json(gis_app, "/api/incidents?date_from=2024-11-01&date_to=2024-11-30")["total"]
    got = _json(gis_app, "/ogc/collections/incidents/items?datetime=2024-10-31T17:00:00Z/2024-11-30")["numberMatched"]
    assert got == incidents > 0


@pytest.mark.parametrize(
    "url,param",
    [
        ("/ogc/collections/desa/items?bbox=1,2,3", "bbox"),
        ("/ogc/collections/desa/items?bbox=a,b,c,d", "bbox"),
        ("/ogc/collections/desa/items?limit=0", "limit"),
        ("/ogc/collections/desa/items?limit=ten", "limit"),
        ("/ogc/collections/desa/items?offset=-1", "offset"),
        ("/ogc/collections/rakor/items?datetime=yesterday", "datetime"),
        ("/ogc/collections/rakor/items?datetime=2024-12-01/2024-11-01", "datetime"),
        ("/ogc/collections/desa/items?datetime=2024-11-01", "datetime"),
        ("/ogc/collections/desa/items?colour=red", "colour"),
        ("/ogc/collections/tps/items?class=dangerous", "class"),
        ("/ogc/collections/coverage/items?window_days=abc", "window_days"),
        ("/ogc/collections/desa/items?f=xml", "f"),
        ("/ogc/collections/desa/items?crs=EPSG:3857", "crs"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(gis_app, url, param):
    resp = gis_app.test_client().get(url, headers=_auth(gis_app))
    assert resp.status_code == 400
    assert resp.is_json and param in resp.json["message"].split(":")[0], resp.json


def test_html_encoding_escapes_record_text(gis_app):
    client = gis_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = _auth(gis_app)["Authorization"]
    with gis_app.app_context():
        editor = create_user(get_session(), "edi", "edi-password-123", "editor")
        token = create_token(get_session(), "e", "editor", "edi")["token"]
    assert editor
    made = client.post(
        "/api/meetings",
        json={
            "title": "<script>alert(1)</script> & co",
            "date": "2024-11-02",
            "level": "desa",
            "desa_code": "17.06.08.2006",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    page = client.get(f"/ogc/collections/rakor/items/{made.json['id']}?f=html")
    html = page.get_data(as_text=True)
    assert page.mimetype == "text/html"
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    listing = client.get(
        "/ogc/collections/rakor/items?limit=1000", headers={"Accept": "text/html,application/xhtml+xml"}
    )
    assert listing.mimetype == "text/html" and "&lt;script&gt;" in listing.get_data(as_text=True)
    landing = client.get("/ogc?f=html&x=%3Cb%3E")
    assert landing.status_code == 200 and "<b>" not in landing.get_data(as_text=True)


GEOJSON_URLS = (
    "/api/kecamatan",
    "/api/desa",
    "/api/desa/17.06.08.2006",
    "/api/coverage?format=geojson",
    "/api/coverage/kecamatan?format=geojson",
    "/api/gaps?format=geojson",
    "/api/polling-stations?format=geojson&per_page=500",
    "/api/incidents?format=geojson",
    "/api/meetings?format=geojson",
    "/api/mismatches?format=geojson",
    "/ogc/collections/coverage/items?limit=10000",
    "/ogc/collections/desa/items/17.06.08.2006",
)


def _check_standard(body: dict) -> int:
    """RFC 7946: no crs member, exterior rings counterclockwise, 6 decimals at most; returns polygons seen."""
    assert "crs" not in body
    features = body["features"] if body["type"] == "FeatureCollection" else [body]
    polygons = 0
    for feature in features:
        geom = feature["geometry"]
        if geom is None:
            continue
        shape = shapely.geometry.shape(geom)
        coords = shapely.get_coordinates(shape)
        assert (abs(coords * 1e6 - (coords * 1e6).round()) < 1e-6).all()
        if shape.geom_type in ("Polygon", "MultiPolygon"):
            polygons += 1
            assert exterior_is_ccw(shape), feature.get("id")
    return polygons


def test_every_geojson_url_is_standard_and_opens_in_gdal(gis_app, served):
    token = gis_app.config["TEST_TOKEN"]
    polygons = 0
    for url in GEOJSON_URLS:
        resp = gis_app.test_client().get(url, headers=_auth(gis_app))
        assert resp.status_code == 200 and resp.mimetype == "application/geo+json", url
        polygons += _check_standard(json.loads(resp.get_data()))
        with bearer(token, via="headers"):
            frame = pyogrio.read_dataframe(f"{served}{url}")
        assert _is_4326(frame.crs), url
        body = json.loads(resp.get_data())
        assert len(frame) == (len(body["features"]) if body["type"] == "FeatureCollection" else 1), url
    assert polygons > 300


def test_data_responses_are_conditional_and_range_aware(gis_app):
    client = gis_app.test_client()
    url = "/api/coverage?format=geojson"
    full = client.get(url, headers=_auth(gis_app))
    etag = full.headers["ETag"]
    assert full.headers["Accept-Ranges"] == "bytes" and int(full.headers["Content-Length"]) == len(full.get_data())
    again = client.get(url, headers={**_auth(gis_app), "If-None-Match": etag})
    assert again.status_code == 304 and not again.get_data()
    part = client.get(url, headers={**_auth(gis_app), "Range": "bytes=0-99"})
    assert part.status_code == 206 and part.get_data() == full.get_data()[:100]
    assert part.headers["Content-Range"] == f"bytes 0-99/{len(full.get_data())}"
    other = client.get(url + "&window_days=30", headers={**_auth(gis_app), "If-None-Match": etag})
    assert other.status_code == 200 and other.headers["ETag"] != etag
    # a write changes the data version, so the ETag
    with gis_app.app_context():
        before = data_version(get_session())
    _add_incident(gis_app, "x")
    with gis_app.app_context():
        assert data_version(get_session()) != before
    assert client.get(url, headers={**_auth(gis_app), "If-None-Match": etag}).status_code == 200
    # logged-in users: kept privately, revalidated on every use (never in a shared cache)
    ogc = client.get("/ogc/collections/desa/items", headers=_auth(gis_app))
    assert ogc.headers["Cache-Control"] == "private, no-cache"
    assert (
        client.get(
            "/ogc/collections/desa/items", headers={**_auth(gis_app), "If-None-Match": ogc.headers["ETag"]}
        ).status_code
        == 304
    )


FORMULA = '=HYPERLINK("http://x","klik") Ümlaut'


def _add_incident(app, description: str) -> None:
    """An incident posted through the API by a new editor."""
    with app.app_context():
        create_user(get_session(), "edi", "edi-password-123", "editor")
        token = create_token(get_session(), "e", "editor", "edi")["token"]
    made = app.test_client().post(
        "/api/incidents",
        json={
            "occurred_at": "2024-11-20 10:00",
            "category": "intimidation",
            "severity": "high",
            "desa_code": "17.06.08.2006",
            "description": description,
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert made.status_code == 201, made.get_data(as_text=True)


def test_geopackage_download_holds_every_layer_and_the_settings(gis_app, tmp_path):
    _add_incident(gis_app, FORMULA)
    counts = api_counts(gis_app)
    resp = gis_app.test_client().get("/api/export.gpkg?window_days=30", headers=_auth(gis_app))
    assert resp.status_code == 200 and resp.mimetype == "application/geopackage+sqlite3"
    assert "attachment" in resp.headers["Content-Disposition"] and resp.headers["ETag"]
    path = tmp_path / "dl.gpkg"
    path.write_bytes(resp.get_data())
    layers = dict(pyogrio.list_layers(path))
    assert set(layers) == {"coverage_desa", "coverage_kecamatan", "tps", "incidents", "rakor", "gaps", "metadata"}
    expected = {"coverage_desa": counts["desa"], "coverage_kecamatan": counts["kecamatan"], "tps": counts["tps"]}
    expected |= {"incidents": counts["incidents"], "rakor": counts["rakor"]}
    expected["gaps"] = len(_json(gis_app, "/api/gaps?window_days=30")["gaps"])
    for name, n in expected.items():
        frame = pyogrio.read_dataframe(path, layer=name)
        assert len(frame) == n and _is_4326(frame.crs), name
        assert frame.crs.to_epsg() == 4326
    desa = pyogrio.read_dataframe(path, layer="coverage_desa")
    assert (
        set(desa["status"]) <= set(STATUS_COLORS) | {"no_data"} and "flags" in desa.columns or "reasons" in desa.columns
    )
    incidents = pyogrio.read_dataframe(path, layer="incidents")
    assert FORMULA in set(incidents["description"])  # stored literally
    meta = pyogrio.read_dataframe(path, layer="metadata", read_geometry=False)
    values = dict(zip(meta["key"], meta["value"]))
    with gis_app.app_context():
        assert values["data_version"] == data_version(get_session())
    assert json.loads(values["settings"])["meeting_window_days"] == 30
    info = pyogrio.read_info(path, layer="coverage_desa")
    assert "meeting_window_days" in json.dumps(info.get("layer_metadata") or {})


def test_shapefile_zip_opens_with_short_names_and_utf8(gis_app, tmp_path):
    _add_incident(gis_app, FORMULA)
    counts = api_counts(gis_app)
    resp = gis_app.test_client().get("/api/export-shp.zip", headers=_auth(gis_app))
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    path = tmp_path / "dl.zip"
    path.write_bytes(resp.get_data())
    with zipfile.ZipFile(io.BytesIO(resp.get_data())) as zf:
        names = zf.namelist()
        assert all(zf.read(n) == b"UTF-8" or not n.endswith(".cpg") for n in names)
        fields = zf.read("pilkada_mukomuko/fields.csv").decode()
    for layer, n in (("coverage_desa", counts["desa"]), ("tps", counts["tps"]), ("incidents", counts["incidents"])):
        assert f"pilkada_mukomuko/{layer}.cpg" in names
        frame = pyogrio.read_dataframe(f"/vsizip/{path}/pilkada_mukomuko/{layer}.shp")
        assert len(frame) == n and frame.crs.to_epsg() == 4326
        assert all(len(c) <= 10 for c in frame.columns)
    assert "incidents,descriptio,description" in fields and "coverage_desa,shortfal01,shortfall_tni" in fields
    incidents = pyogrio.read_dataframe(f"/vsizip/{path}/pilkada_mukomuko/incidents.shp")
    assert FORMULA in set(incidents["descriptio"])


def test_gap_list_page_links_the_downloads(gis_app):
    html = gis_app.test_client().get("/gaps?window_days=30", headers=_auth(gis_app)).get_data(as_text=True)
    assert 'id="download-gpkg" href="/api/export.gpkg?window_days=30"' in html
    assert 'id="download-shp"' in html


def test_layers_build_writes_geopackage_and_a_qgis_project_by_relative_path(gis_app, tmp_path):
    out = tmp_path / "layers"
    result = gis_app.test_cli_runner().invoke(args=["layers", "build", "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"layers.gpkg", "layers.qgs", "layers-shp.zip", "styles/coverage_desa.qml"} <= set(manifest["files"])
    gpkg_layers = {name for name, _ in pyogrio.list_layers(out / "layers.gpkg")}
    project = ET.parse(out / "layers.qgs").getroot()
    sources = [el.text for el in project.iter("datasource")]
    assert len(sources) == 6
    for source in sources:
        rel, _, layer = source.partition("|layername=")
        assert not Path(rel).is_absolute() and (out / rel).resolve() == (out / "layers.gpkg").resolve()
        assert layer in gpkg_layers
        frame = pyogrio.read_dataframe(out / rel, layer=layer)
        assert frame.crs.to_epsg() == 4326 and len(frame) > 0
    assert project.find("properties/Paths/Absolute").text == "false"
    # the status categories: the web map's colours and labels, in the project and the QML files
    for root in (project, ET.parse(out / "styles" / "coverage_desa.qml").getroot()):
        renderer = next(r for r in root.iter("renderer-v2") if r.get("type") == "categorizedSymbol")
        assert renderer.get("attr") == "status"
        values = [c.get("value") for c in renderer.iter("category")]
        assert values == list(STATUS_COLORS)
        colours = [o.get("value") for o in renderer.iter("Option") if o.get("name") == "color"]
        for hex_colour, rgba in zip(STATUS_COLORS.values(), colours):
            h = hex_colour.lstrip("#")
            assert rgba == f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},255"
        labels = [c.get("label") for c in renderer.iter("category")]
        assert all(labels) and labels != values
    # the build's GeoJSON files are standard too
    for name in ("coverage_desa.geojson", "coverage_kecamatan.geojson"):
        body = json.loads((out / name).read_text())
        _check_standard(body)
        assert len(pyogrio.read_dataframe(out / name)) == len(body["features"])
