"""The real Mukomuko boundaries, read through GEO_APP_BOUNDARY_SOURCE."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import select

from geo_app.app_db import get_session
from geo_app.services.boundaries import import_boundaries, kecamatan_summary
from geo_app.store.adapter import desa_frame, from_wkb, kabupaten_frame, kecamatan_frame
from geo_app.store.db import data_version
from geo_app.store.models import Kecamatan
from tests.conftest import snapshot


def test_counts_and_hierarchy(app):
    with app.app_context():
        session = get_session()
        desa = desa_frame(session)
        kec = kecamatan_frame(session)
        kab = kabupaten_frame(session)
    assert len(kab) == 1 and kab.iloc[0]["code"] == "17.06" and kab.iloc[0]["name"] == "Kabupaten Mukomuko"
    assert len(kec) == 15
    assert sorted(kec["code"]) == [f"17.06.{i:02d}" for i in range(1, 16)]
    assert len(desa) == 151
    assert (desa["kind"] == "desa").sum() == 148
    kelurahan = desa[desa["kind"] == "kelurahan"]
    assert len(kelurahan) == 3 and set(kelurahan["kecamatan_code"]) == {"17.06.02"}
    assert (desa["kecamatan_code"] == desa["code"].str[:8]).all()
    per_kec = desa.groupby("kecamatan_name").size()
    assert per_kec["Teramang Jaya"] == 13
    # desa counts per kecamatan as published with the DPT (FACTS.md)
    published = {
        "Penarik": 14,
        "Ipuh": 16,
        "Kota Mukomuko": 9,
        "Lubuk Pinang": 7,
        "Pondok Suguh": 11,
        "XIV Koto": 8,
        "Air Rami": 12,
        "Teramang Jaya": 13,
        "Air Manjunto": 8,
        "Selagan Raya": 12,
        "Sungai Rumbai": 9,
        "Teras Terunjam": 8,
        "V Koto": 10,
        "Air Dikit": 7,
        "Malin Deman": 7,
    }
    assert per_kec.to_dict() == published


def test_area_within_one_percent(app):
    with app.app_context():
        desa = desa_frame(get_session())
    total = desa["area_km2"].sum()
    assert abs(total - 4143) / 4143 < 0.01
    # independent check: recompute in UTM 47S from the stored geometry
    assert desa.to_crs("EPSG:32747").area.sum() / 1e6 == pytest.approx(total, rel=1e-6)


def test_representative_points_inside_own_polygon(app):
    with app.app_context():
        desa = desa_frame(get_session())
    points = gpd.points_from_xy(desa["rep_lon"], desa["rep_lat"], crs="EPSG:4326")
    inside = [poly.contains(pt) for poly, pt in zip(desa.geometry, points)]
    assert all(inside), desa.loc[[not i for i in inside], "code"].tolist()


def test_air_buluh_belongs_to_ipuh_by_code(app):
    """Its point lies outside the coarse upstream Ipuh polygon, yet the stored hierarchy is consistent."""
    with app.app_context():
        session = get_session()
        desa = desa_frame(session)
        ipuh = session.get(Kecamatan, "17.06.05")
    air_buluh = desa.set_index("code").loc["17.06.05.2004"]
    assert air_buluh["name"] == "Air Buluh" and air_buluh["kecamatan_name"] == "Ipuh"
    point = shapely.Point(air_buluh["rep_lon"], air_buluh["rep_lat"])
    assert not from_wkb(ipuh.upstream_geometry).contains(point)  # the upstream quirk is kept
    assert from_wkb(ipuh.geometry).buffer(1e-9).contains(point)  # derived polygon nests


def test_repeated_import_changes_nothing(app):
    before = snapshot(app)
    with app.app_context():
        session = get_session()
        version = data_version(session)
        report = import_boundaries(session, app.config["GEO_APP_SETTINGS"])
        assert data_version(session) == version
    assert report.counts.changed is False
    assert report.counts.unchanged == {"kabupaten": 1, "kecamatan": 15, "desa": 151}
    assert snapshot(app) == before


def test_bigstyle_shapefile_gives_same_codes_names_and_derived_kecamatan(empty_app, bigstyle_shapefile):
    runner = empty_app.test_cli_runner()
    result = runner.invoke(args=["boundaries", "import", str(bigstyle_shapefile), "--preset", "big"])
    assert result.exit_code == 0, result.output
    assert "desa: 151 baru/new" in result.output
    with empty_app.app_context():
        session = get_session()
        desa = desa_frame(session)
        kec = kecamatan_frame(session)
        upstream = list(session.scalars(select(Kecamatan.upstream_geometry)))
    big = gpd.read_file(bigstyle_shapefile)
    assert sorted(zip(desa["code"], desa["name"])) == sorted(zip(big["KDEPUM"], big["NAMOBJ"]))
    assert len(kec) == 15 and all(g is None for g in upstream)
    assert dict(zip(kec["code"], kec["name"]))["17.06.13"] == "Air Manjunto"
    # derived kecamatan cover exactly their desa
    for _, k in kec.iterrows():
        members = desa[desa["kecamatan_code"] == k["code"]]
        assert shapely.union_all(members.geometry.to_numpy()).symmetric_difference(k.geometry).area < 1e-10


def test_list_command(runner):
    result = runner.invoke(args=["boundaries", "list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert any(line.startswith("17.06.08") and "Teramang Jaya" in line and " 13 " in line for line in lines)
    assert "15 kecamatan, 151 desa/kelurahan" in lines[-1]


def test_kecamatan_summary_counts_kelurahan(app):
    with app.app_context():
        rows = {r["code"]: r for r in kecamatan_summary(get_session())}
    assert rows["17.06.02"]["kelurahan_count"] == 3 and rows["17.06.02"]["desa_count"] == 9
