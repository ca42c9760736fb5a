"""Issue 14: kabupaten as a level of the boundary API (/api/kabupaten, ?kabupaten= on kecamatan and desa),
on the province database and on the single-kabupaten one."""

from __future__ import annotations

import pytest
import shapely

from geo_app.app_db import get_session
from geo_app.store.adapter import desa_frame, kabupaten_frame
from tests.conftest import TEST_ADMIN, _fold_wal, copy_database, login_as, make_app


@pytest.fixture(scope="module")
def province_client(province_template, tmp_path_factory, boundary_source):
    root = tmp_path_factory.mktemp("province-api")
    db_path = root / "province.sqlite"
    copy_database(province_template.path, db_path)
    _fold_wal(db_path)  # kept for the module (PostgreSQL: not dropped after the first test)
    app = make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source, KABUPATEN="17")
    with app.app_context():
        session = get_session()
        stored = desa_frame(session), kabupaten_frame(session)
    client = app.test_client()
    login_as(client, TEST_ADMIN)
    yield client, stored
    app.extensions["geo_app.engine"].dispose()


def test_api_kabupaten_lists_the_province(province_client):
    client, (desa, kab) = province_client
    r = client.get("/api/kabupaten")
    assert r.status_code == 200
    features = r.json["features"]
    props = {f["properties"]["code"]: f["properties"] for f in features}
    assert sorted(props) == sorted(kab["code"])
    for code, p in props.items():
        mine = desa[desa["kabupaten_code"] == code]
        assert p["kind"] == "kabupaten"
        assert p["desa_count"] == len(mine)
        assert p["kecamatan_count"] == mine["kecamatan_code"].nunique()
        assert p["kelurahan_count"] == int((mine["kind"] == "kelurahan").sum())
        # the kabupaten is the union of its desa: its area is their area less their overlaps
        assert p["area_km2"] == pytest.approx(mine["area_km2"].sum(), rel=5e-3)
    assert sum(p["desa_count"] for p in props.values()) == len(desa) == 1513
    assert props["17.71"]["name"] == "Kota Bengkulu" and props["17.06"]["kecamatan_count"] == 15
    for f in features:
        assert shapely.geometry.shape(f["geometry"]).contains(
            shapely.Point(f["properties"]["rep_lon"], f["properties"]["rep_lat"])
        )


@pytest.mark.parametrize("value", ["17.71", "Kota Bengkulu", "kota  bengkulu"])
def test_kabupaten_filter_by_code_or_name(province_client, value):
    client, (desa, _) = province_client
    kec = client.get("/api/kecamatan", query_string={"kabupaten": value})
    assert kec.status_code == 200
    assert sorted(f["properties"]["code"] for f in kec.json["features"]) == sorted(
        desa.loc[desa["kabupaten_code"] == "17.71", "kecamatan_code"].unique()
    )
    assert all(f["properties"]["kabupaten_code"] == "17.71" for f in kec.json["features"])
    rows = client.get("/api/desa", query_string={"kabupaten": value})
    assert rows.status_code == 200
    assert sorted(f["properties"]["code"] for f in rows.json["features"]) == sorted(
        desa.loc[desa["kabupaten_code"] == "17.71", "code"]
    )


def test_kabupaten_filter_mukomuko_by_short_name(province_client):
    client, (desa, _) = province_client
    rows = client.get("/api/desa?kabupaten=Mukomuko").json["features"]
    assert len(rows) == (desa["kabupaten_code"] == "17.06").sum() == 151
    unfiltered = client.get("/api/kecamatan").json["features"]
    assert len(unfiltered) == 129


@pytest.mark.parametrize("path", ["/api/kecamatan", "/api/desa"])
def test_unknown_kabupaten_is_400_naming_it(province_client, path):
    client, _ = province_client
    r = client.get(path, query_string={"kabupaten": "Bengkulu Barat"})
    assert r.status_code == 400 and r.is_json
    assert "'Bengkulu Barat' tidak dikenal" in r.json["message"] and "17.71 Kota Bengkulu" in r.json["message"]
    assert r.json["details"] == {"kabupaten": "tidak dikenal / unknown"}


def test_api_kabupaten_on_the_single_kabupaten_database(client):
    r = client.get("/api/kabupaten")
    assert r.status_code == 200
    (feature,) = r.json["features"]
    p = feature["properties"]
    assert (p["code"], p["name"], p["kecamatan_count"], p["desa_count"], p["kelurahan_count"]) == (
        "17.06",
        "Kabupaten Mukomuko",
        15,
        151,
        3,
    )
    assert len(client.get("/api/desa?kabupaten=17.06").json["features"]) == 151
    assert client.get("/api/desa?kabupaten=17.71").status_code == 400  # not in this database
