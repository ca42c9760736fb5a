"""Issue 14, maps that roll up: ``/api/map/kabupaten`` (and the kecamatan roll-up figures) on the province
with its demo set. The figures compared come from the coverage API of the same service."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from geo_app.i18n import SHARE_RAMP, t
from geo_app.maps.display import escape
from tests.conftest import TEST_ADMIN, _fold_wal, copy_database, login_as, make_app

RAMP_COLOURS = [c for _, c in SHARE_RAMP]


@pytest.fixture(scope="module")
def province(province_demo_template, tmp_path_factory, boundary_source):
    """A client on a copy of the province with its demo set (read-only tests share it)."""
    root = tmp_path_factory.mktemp("map-rollup")
    db_path = root / "province.sqlite"
    copy_database(province_demo_template.path, db_path)
    _fold_wal(db_path)
    app = make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source, KABUPATEN="17")
    client = app.test_client()
    login_as(client, TEST_ADMIN)
    yield client
    app.extensions["geo_app.engine"].dispose()


def expected_colour(share: float) -> str:
    return next(c for bound, c in SHARE_RAMP if share <= bound + 1e-12)


def test_kabupaten_rollup_adds_up_to_the_coverage(province):
    client = province
    coverage = client.get("/api/coverage").json
    statuses = Counter(r["status"] for r in coverage["desa"])
    per_kab = Counter(r["kabupaten_code"] for r in coverage["desa"])
    unc_per_kab = Counter(r["kabupaten_code"] for r in coverage["desa"] if r["status"] == "uncovered")

    resp = client.get("/api/map/kabupaten", query_string={"zoom": 8})
    assert resp.status_code == 200
    body = resp.json
    feats = body["features"]
    assert len(feats) == len(per_kab) == 10
    assert sum(f["properties"]["uncovered_count"] for f in feats) == statuses["uncovered"]
    assert sum(f["properties"]["desa_count"] for f in feats) == len(coverage["desa"])
    for f in feats:
        p = f["properties"]
        assert p["desa_count"] == per_kab[p["code"]]
        assert p["uncovered_count"] == unc_per_kab[p["code"]]
        assert p["share_uncovered"] == pytest.approx(p["uncovered_count"] / p["desa_count"], abs=1e-4)
        assert p["color"] == expected_colour(p["share_uncovered"])
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
        minx, miny, maxx, maxy = p["bounds"]
        assert minx <= p["label_lon"] <= maxx and miny <= p["label_lat"] <= maxy
        assert p["url"].startswith(f"/kabupaten/{p['code']}")
        assert p["name"] in p["popup_html"] and "<script" not in p["popup_html"]
    # the shares differ across the province: the ramp is used, not one colour
    assert len({f["properties"]["color"] for f in feats}) > 1
    # a closer zoom draws finer outlines of the same kabupaten
    fine = client.get("/api/map/kabupaten", query_string={"zoom": 11}).json["features"]
    assert [f["id"] for f in fine] == [f["id"] for f in feats]
    assert len(str(fine)) > len(str(feats))


def test_kecamatan_rollup_shares(province):
    client = province
    coverage = client.get("/api/coverage").json
    unc = Counter(r["kecamatan_code"] for r in coverage["desa"] if r["status"] == "uncovered")
    feats = client.get("/api/map/kecamatan", query_string={"zoom": 9}).json["features"]
    assert len(feats) == len({r["kecamatan_code"] for r in coverage["desa"]})
    for f in feats:
        p = f["properties"]
        assert p["uncovered_count"] == unc[p["code"]]
        assert p["share_uncovered"] == pytest.approx(p["uncovered_count"] / p["desa_count"], abs=1e-4)
        assert p["color"] == expected_colour(p["share_uncovered"])


def test_kabupaten_rollup_of_one_kabupaten_and_bad_input(province):
    client = province
    one = client.get("/api/map/kabupaten", query_string={"zoom": 8, "kabupaten": "17.06"}).json["features"]
    assert [f["id"] for f in one] == ["17.06"]
    for bad in ("", "abc", "21", "-1", "8.5"):
        resp = client.get("/api/map/kabupaten", query_string={"zoom": bad})
        assert resp.status_code == 400, bad
        assert "zoom" in resp.get_data(as_text=True)
    assert client.get("/api/map/kabupaten").status_code == 400
    assert client.get("/api/map/kabupaten", query_string={"zoom": 8, "kabupaten": "99.99"}).status_code == 400
    assert client.get("/api/map/kabupaten", query_string={"zoom": 8, "lang": "fr"}).status_code == 400


def test_kabupaten_rollup_is_cached_by_version(province):
    client = province
    first = client.get("/api/map/kabupaten", query_string={"zoom": 8, "lang": "en"})
    popup = first.json["features"][0]["properties"]["popup_html"]
    assert escape(t("desa_uncovered", "en")) in popup and escape(t("desa_uncovered", "id")) not in popup
    again = client.get(
        "/api/map/kabupaten", query_string={"zoom": 8, "lang": "en"}, headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304


def test_overview_of_a_kabupaten_opens_on_it_and_does_not_roll_up(province):
    """``/map?kabupaten=``: the shell's area is that kabupaten's and its desa data keeps to it."""
    client = province
    kab = client.get("/api/map/kabupaten", query_string={"zoom": 8, "kabupaten": "17.06"}).json["features"][0]
    page = client.get("/map", query_string={"kabupaten": "17.06"}).get_data(as_text=True)
    assert "RollupLayer" not in page
    opens = re.search(r"GeoMap\.prepare\(\w+, \{\"bounds\": ?\[([^\]]+)\]", page)
    assert opens, "the shell names the area it opens on"
    area = [float(v) for v in opens.group(1).split(",")]
    assert area == pytest.approx(kab["properties"]["bounds"], abs=0.02)
    whole = client.get("/map").get_data(as_text=True)
    assert "RollupLayer" in whole
    minx, miny, maxx, maxy = kab["properties"]["bounds"]
    bbox = f"{minx - 1},{miny - 1},{maxx + 1},{maxy + 1}"
    desa = client.get("/api/map/desa", query_string={"zoom": 9, "bbox": bbox, "kabupaten": "17.06"}).json
    every = client.get("/api/map/desa", query_string={"zoom": 9, "bbox": bbox}).json
    assert desa["count"] == kab["properties"]["desa_count"] < every["count"]
    assert {f["properties"]["code"][:5] for f in desa["features"]} == {"17.06"}
    legend = client.get("/api/map/legend", query_string={"kabupaten": "17.06"}).json
    assert legend["total"] == kab["properties"]["desa_count"]
    assert legend["counts"]["uncovered"] == kab["properties"]["uncovered_count"]
