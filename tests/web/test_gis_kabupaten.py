"""GIS downloads of one kabupaten (``/api/export.gpkg?kabupaten=``, ``/api/export-shp.zip?kabupaten=``) and
titles and file names that name what is loaded (``services.boundaries.Area``): the province with its demo
set (``province_demo_template``, ``GEO_APP_KABUPATEN=17``) and Mukomuko alone (``demo_app``). The figures
compared are read from the service's own JSON API, never written into the test."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from pathlib import Path

import pyogrio
import pytest

from geo_app.app_db import get_session
from geo_app.ingest.fetch import PROVINCE_CODES, PROVINCE_NAMES
from geo_app.services.boundaries import Area, loaded_area
from geo_app.store.adapter import desa_frame, kabupaten_frame
from tests.conftest import TEST_ADMIN, _fold_wal, copy_database, login_as, make_app

RECORD_APIS = {"tps": "polling-stations", "incidents": "incidents", "rakor": "meetings"}


@pytest.fixture(scope="module")
def province(province_demo_template, tmp_path_factory, boundary_source):
    """The app and a logged-in client on a copy of the province with its demo set."""
    root = tmp_path_factory.mktemp("province-gis")
    db_path = root / "province.sqlite"
    copy_database(province_demo_template.path, db_path)
    _fold_wal(db_path)  # kept for the module (PostgreSQL: not dropped after the first test)
    app = make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source, KABUPATEN="17")
    client = app.test_client()
    login_as(client, TEST_ADMIN)
    yield app, client
    app.extensions["geo_app.engine"].dispose()


def _filename(response) -> str:
    found = re.search(r'filename="([^"]+)"', response.headers.get("Content-Disposition", ""))
    assert found, response.headers
    return found.group(1)


def _save(response, path: Path) -> Path:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    path.write_bytes(response.get_data())
    return path


def _all_ids(client, resource: str, **query) -> set[int]:
    ids: set[int] = set()
    page = 1
    while True:
        body = client.get(f"/api/{resource}", query_string={**query, "per_page": 500, "page": page}).json
        ids |= {item["id"] for item in body["items"]}
        if page >= body["pages"]:
            return ids
        page += 1


def _exports(app) -> list[str]:
    folder = Path(app.instance_path) / "cache" / "exports"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _metadata(path: Path) -> dict[str, str]:
    meta = pyogrio.read_dataframe(path, layer="metadata", read_geometry=False)
    return dict(zip(meta["key"], meta["value"]))


# --- the GeoPackage and shapefiles of one kabupaten -------------------------------------------------------


def test_geopackage_of_one_kabupaten_holds_only_its_desa_kecamatan_records_and_gaps(province, tmp_path):
    app, client = province
    code = "17.01"
    with app.app_context():
        kab = kabupaten_frame(get_session())
        name = dict(zip(kab["code"], kab["name"]))[code]
    resp = client.get("/api/export.gpkg", query_string={"kabupaten": code})
    assert _filename(resp) == "pilkada_bengkulu_selatan.gpkg"  # named after the kabupaten
    path = _save(resp, tmp_path / "kab.gpkg")

    coverage = client.get("/api/coverage", query_string={"kabupaten": code}).json["desa"]
    desa = pyogrio.read_dataframe(path, layer="coverage_desa")
    assert sorted(desa["code"]) == sorted(r["code"] for r in coverage) and len(desa) > 0
    assert set(desa["kabupaten_code"]) == {code} and set(desa["kabupaten_name"]) == {name}
    kec = pyogrio.read_dataframe(path, layer="coverage_kecamatan")
    expected_kec = client.get("/api/coverage/kecamatan", query_string={"kabupaten": code}).json["kecamatan"]
    assert sorted(kec["code"]) == sorted(r["code"] for r in expected_kec) and len(kec) > 0
    assert all(c.startswith(code + ".") for c in kec["code"])
    gaps = pyogrio.read_dataframe(path, layer="gaps")
    expected_gaps = client.get("/api/gaps", query_string={"kabupaten": code}).json["gaps"]
    assert list(gaps["code"]) == [g["code"] for g in expected_gaps]  # ranked as the gap list

    for layer, resource in RECORD_APIS.items():
        frame = pyogrio.read_dataframe(path, layer=layer)
        own = _all_ids(client, resource, kabupaten=code)
        everything = _all_ids(client, resource)
        assert own and own < everything, layer  # the filter has teeth: the province holds more
        assert set(frame["id"]) == own, layer
    tps = pyogrio.read_dataframe(path, layer="tps")
    incidents = pyogrio.read_dataframe(path, layer="incidents")
    assert all(c.startswith(code + ".") for c in [*tps["desa_code"], *incidents["desa_code"].dropna()])

    meta = _metadata(path)
    assert json.loads(meta["kabupaten"]) == [code]
    # the gap list of that kabupaten links this download
    gaps_page = client.get("/gaps", query_string={"kabupaten": code}).get_data(as_text=True)
    link = re.search(r'id="download-gpkg" href="([^"]+)"', gaps_page).group(1)
    assert client.get(html.unescape(link)).get_data() == resp.get_data()
    assert meta["title"] == "Peta Koordinasi Pilkada Bengkulu Selatan"
    assert json.loads(meta["summary"])["desa_count"] == len(coverage)


def test_kabupaten_by_name_is_the_same_cached_file_and_another_kabupaten_another(province, tmp_path):
    """The file cache key holds the kabupaten: two kabupaten, two files; the same one by its name, none."""
    app, client = province
    first = client.get("/api/export-shp.zip", query_string={"kabupaten": "17.71"})
    assert first.status_code == 200 and _filename(first) == "pilkada_kota_bengkulu.shp.zip"
    cache = app.extensions["geo_app.export_cache"]
    builds = cache.builds
    again = client.get("/api/export-shp.zip", query_string={"kabupaten": "kota bengkulu"})
    assert again.get_data() == first.get_data() and cache.builds == builds  # from the cache
    other = client.get("/api/export-shp.zip", query_string={"kabupaten": "Kaur"})
    assert _filename(other) == "pilkada_kaur.shp.zip" and cache.builds == builds + 1
    with zipfile.ZipFile(io.BytesIO(first.get_data())) as zf:
        names = zf.namelist()
        assert names and all(n.startswith("pilkada_kota_bengkulu/") for n in names)
    coverage = client.get("/api/coverage", query_string={"kabupaten": "17.71"}).json["desa"]
    zipped = _save(first, tmp_path / "kota.zip")
    frame = pyogrio.read_dataframe(f"/vsizip/{zipped}/pilkada_kota_bengkulu/coverage_desa.shp")
    assert sorted(frame["code"]) == sorted(r["code"] for r in coverage)


@pytest.mark.parametrize("url", ["/api/export.gpkg", "/api/export-shp.zip"])
def test_unknown_kabupaten_is_a_400_naming_the_loaded_ones_and_writes_no_file(province, url):
    app, client = province
    before = _exports(app)
    resp = client.get(url, query_string={"kabupaten": "17.99"})
    assert resp.status_code == 400 and "Content-Disposition" not in resp.headers
    message = resp.json["message"]
    same = client.get("/api/coverage", query_string={"kabupaten": "17.99"})
    assert same.status_code == 400 and same.json == resp.json  # the coverage API's message
    assert "17.99" in message and "17.71 Kota Bengkulu" in message
    assert _exports(app) == before  # nothing built


def test_province_download_titles_and_pages_name_the_province(province, tmp_path):
    app, client = province
    resp = client.get("/api/export.gpkg")
    assert _filename(resp) == "pilkada_provinsi_bengkulu.gpkg"
    path = _save(resp, tmp_path / "all.gpkg")
    assert _metadata(path)["title"] == "Peta Koordinasi Pilkada Provinsi Bengkulu"
    with app.app_context():
        assert sorted(pyogrio.read_dataframe(path, layer="coverage_desa")["code"]) == sorted(
            desa_frame(get_session())["code"]
        )
    page = client.get("/gaps?lang=id").get_data(as_text=True)
    assert "<title>Peta Koordinasi Pilkada Provinsi Bengkulu</title>" in page
    assert '<span class="brand">Peta Koordinasi Pilkada Provinsi Bengkulu</span>' in page
    assert "Peta Koordinasi Pilkada Provinsi Bengkulu</title>" in client.get("/rakor").get_data(as_text=True)
    page = client.get("/gaps?lang=en").get_data(as_text=True)
    assert "<title>Pilkada Coordination Map, Bengkulu Province</title>" in page
    assert '<span class="brand">Pilkada Coordination Map, Bengkulu Province</span>' in page
    assert "— Bengkulu Province Pilkada Coordination Map</title>" in client.get("/rakor").get_data(as_text=True)
    client.get("/?lang=id")
    assert client.get("/ogc", query_string={"f": "json"}).json["title"] == "Peta Koordinasi Pilkada Provinsi Bengkulu"
    assert "Provinsi Bengkulu" in client.get("/ogc/api").json["info"]["title"]


def test_loaded_area_follows_the_setting_and_the_kabupaten_table(province):
    """Several kabupaten of one province are the province only when GEO_APP_KABUPATEN names it whole."""
    app, _client = province
    with app.app_context():
        session = get_session()
        frame = kabupaten_frame(session)
        kab = dict(zip(frame["code"], frame["name"]))
        area = loaded_area(session, app.config["GEO_APP_SETTINGS"])
        assert area.province == "17" and area.codes == sorted(kab)
        assert (area.name(), area.short(), area.slug) == ("Provinsi Bengkulu", "Provinsi Bengkulu", "provinsi_bengkulu")
        listed = loaded_area(session, {"KABUPATEN": ",".join(sorted(kab))})
        assert listed.province is None and listed.name() == f"{len(kab)} kabupaten/kota"
        assert listed.slug == f"{len(kab)}_kabupaten_kota"
        one = loaded_area(session, {"KABUPATEN": "17"}, kabupaten="17.71")
        assert (one.name(), one.short(), one.name("en"), one.slug) == (
            "Kota Bengkulu",
            "Kota Bengkulu",
            "Bengkulu City",
            "kota_bengkulu",
        )


# --- Mukomuko alone: as before ---------------------------------------------------------------------------


def test_mukomuko_alone_keeps_its_names_and_refuses_another_kabupaten(demo_app, demo_client, tmp_path):
    resp = demo_client.get("/api/export.gpkg")
    assert _filename(resp) == "pilkada_mukomuko.gpkg"
    path = _save(resp, tmp_path / "m.gpkg")
    meta = _metadata(path)
    assert meta["title"] == "Peta Koordinasi Pilkada Mukomuko" and json.loads(meta["kabupaten"]) == ["17.06"]
    own = demo_client.get("/api/export.gpkg", query_string={"kabupaten": "17.06"})
    assert _filename(own) == "pilkada_mukomuko.gpkg"
    desa = pyogrio.read_dataframe(_save(own, tmp_path / "own.gpkg"), layer="coverage_desa")
    assert sorted(desa["code"]) == sorted(pyogrio.read_dataframe(path, layer="coverage_desa")["code"])
    refused = demo_client.get("/api/export-shp.zip", query_string={"kabupaten": "17.01"})
    assert refused.status_code == 400 and "17.06 Kabupaten Mukomuko" in refused.get_data(as_text=True)
    # as before: the pages' brand and title "... Kabupaten Mukomuko", the records' and imports' titles
    # "... Mukomuko"
    page = demo_client.get("/gaps?lang=id").get_data(as_text=True)
    assert "<title>Peta Koordinasi Pilkada Kabupaten Mukomuko</title>" in page
    assert '<span class="brand">Peta Koordinasi Pilkada Kabupaten Mukomuko</span>' in page
    assert "— Peta Koordinasi Pilkada Mukomuko</title>" in demo_client.get("/rakor").get_data(as_text=True)
    assert "— Peta Koordinasi Pilkada Mukomuko</title>" in demo_client.get("/impor").get_data(as_text=True)
    page = demo_client.get("/gaps?lang=en").get_data(as_text=True)
    assert "<title>Pilkada Coordination Map, Mukomuko Regency</title>" in page
    assert '<span class="brand">Pilkada Coordination Map, Mukomuko Regency</span>' in page
    assert "— Mukomuko Pilkada Coordination Map</title>" in demo_client.get("/rakor").get_data(as_text=True)
    demo_client.get("/?lang=id")
    assert demo_client.get("/ogc", query_string={"f": "json"}).json["title"] == "Peta Koordinasi Pilkada Mukomuko"
    with demo_app.app_context():
        area = loaded_area(get_session(), demo_app.config["GEO_APP_SETTINGS"])
    assert (area.name(), area.short(), area.slug, area.title()) == (
        "Kabupaten Mukomuko",
        "Mukomuko",
        "mukomuko",
        "Peta Koordinasi Pilkada Mukomuko",
    )
    assert html.escape(area.brand("en")) in page


# --- naming without a database -----------------------------------------------------------------------------


def test_area_names_kabupaten_kota_lists_and_nothing():
    two = Area((("17.06", "Kabupaten Mukomuko"), ("17.71", "Kota Bengkulu")))
    assert two.name() == "Kabupaten Mukomuko, Kota Bengkulu" and two.short() == "Mukomuko, Kota Bengkulu"
    assert two.name("en") == "Mukomuko Regency, Bengkulu City" and two.slug == "mukomuko_kota_bengkulu"
    # a name stored without the word (a vector file's WADMKK): the code says kabupaten or kota
    bare = Area((("17.06", "MUKO-MUKO"), ("17.71", "Bengkulu")))
    assert bare.name() == "Kabupaten MUKO-MUKO, Kota Bengkulu" and bare.slug == "muko_muko_kota_bengkulu"
    four = Area(tuple((f"17.0{i}", f"Kabupaten K{i}") for i in range(1, 5)))
    assert four.name() == "4 kabupaten/kota" and four.slug == "4_kabupaten_kota"
    assert Area().title() == "Peta Koordinasi Pilkada" and Area().slug == "wilayah"
    assert Area().brand("en") == "Pilkada Coordination Map"
    assert set(PROVINCE_NAMES) == set(PROVINCE_CODES)
