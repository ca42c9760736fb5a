"""``geo-app layers build`` with several kabupaten (issue 14): the province overview as ``index.html``
(it rolls up: each kabupaten links to its folder) and one folder per kabupaten with its overview and its
kecamatan pages, sharing the top folder's assets. One kabupaten: tests/services/test_layers_build.py."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pyogrio
import pytest

from geo_app.app_db import get_session
from geo_app.services import coverage as coverage_service
from geo_app.services import layers as layer_service
from tests.conftest import _fold_wal, copy_database, make_app


@pytest.fixture(scope="module")
def province_build(province_demo_template, tmp_path_factory, boundary_source):
    root = tmp_path_factory.mktemp("province-build")
    db_path = root / "province.sqlite"
    copy_database(province_demo_template.path, db_path)
    _fold_wal(db_path)
    app = make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source, KABUPATEN="17")
    with app.app_context():
        result = coverage_service.get_coverage(get_session())
        kabupaten = coverage_service.kabupaten_names(result)
        kecamatan = {
            code: coverage_service.filter_kecamatan(result, kabupaten=code)["code"].tolist() for code in kabupaten
        }
    out = root / "layers"
    report = layer_service.run_build(app, out, {})
    yield out, report, kabupaten, kecamatan
    app.extensions["geo_app.engine"].dispose()


def _links(html: str) -> list[str]:
    return [u for u in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html) if u != "data:,"]


def test_province_build_has_an_index_and_a_folder_per_kabupaten(province_build):
    out, report, kabupaten, kecamatan = province_build
    assert not report.skipped and len(kabupaten) == 10
    assert not (out / "overview.html").exists()  # the province's overview is the index
    index = (out / "index.html").read_text()
    assert all(link.startswith("assets/") and (out / link).is_file() for link in _links(index))
    assert "RollupLayer" in index
    for code in kabupaten:
        assert f"{code}/overview.html" in index  # each kabupaten of the roll-up links to its folder
        folder = out / code
        pages = sorted(p.name for p in folder.glob("*.html"))
        assert pages == sorted(["overview.html", *(f"kecamatan-{k}.html" for k in kecamatan[code])])
        html = (folder / "overview.html").read_text()
        links = _links(html)
        assert links and all(link.startswith("../assets/") and (folder / link).is_file() for link in links)
        assert "RollupLayer" not in html  # one kabupaten: the map as it always was
        # its own desa only
        own = set(re.findall(r'"code": ?"(\d\d\.\d\d)\.\d\d\.\d{4}"', html))
        assert own == {code}, (code, own)
    assert sum(len(v) for v in kecamatan.values()) == 129
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {f for f in manifest["files"] if f.endswith(".html")}
    expected = {"index.html"} | {
        f"{code}/{p}"
        for code in kabupaten
        for p in ["overview.html", *(f"kecamatan-{k}.html" for k in kecamatan[code])]
    }
    assert listed == expected


def test_each_kabupaten_folder_has_its_own_gis_files(province_build):
    """The top folder's GeoPackage holds the province (titled so); each kabupaten folder's GeoPackage,
    shapefiles and QGIS project hold that kabupaten's desa, kecamatan and records only."""
    out, _report, kabupaten, kecamatan = province_build
    manifest = set(json.loads((out / "manifest.json").read_text())["files"])
    everything = pyogrio.read_dataframe(out / "layers.gpkg", layer="coverage_desa")
    assert set(everything["kabupaten_code"]) == set(kabupaten)
    meta = pyogrio.read_dataframe(out / "layers.gpkg", layer="metadata", read_geometry=False)
    assert dict(zip(meta["key"], meta["value"]))["title"] == "Peta Koordinasi Pilkada Provinsi Bengkulu"
    tps_all = pyogrio.read_dataframe(out / "layers.gpkg", layer="tps")
    seen_desa, seen_tps = 0, 0
    for code, name in kabupaten.items():
        folder = out / code
        assert {f"{code}/layers.gpkg", f"{code}/layers-shp.zip", f"{code}/layers.qgs"} <= manifest
        desa = pyogrio.read_dataframe(folder / "layers.gpkg", layer="coverage_desa")
        assert sorted(desa["code"]) == sorted(everything.loc[everything["kabupaten_code"] == code, "code"])
        kec = pyogrio.read_dataframe(folder / "layers.gpkg", layer="coverage_kecamatan")
        assert sorted(kec["code"]) == sorted(kecamatan[code])
        tps = pyogrio.read_dataframe(folder / "layers.gpkg", layer="tps")
        assert len(tps) and all(c.startswith(code + ".") for c in tps["desa_code"])
        shp = pyogrio.read_dataframe(f"/vsizip/{folder / 'layers-shp.zip'}/layers/coverage_desa.shp")
        assert len(shp) == len(desa)
        project = ET.parse(folder / "layers.qgs").getroot()
        assert name.removeprefix("Kabupaten ") in project.get("projectname")
        seen_desa += len(desa)
        seen_tps += len(tps)
    assert seen_desa == len(everything) and seen_tps == len(tps_all)
