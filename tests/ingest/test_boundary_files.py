"""Boundary files in other formats/CRS/column names, fetching into the cache, and re-import in place.

Every file is built in a temporary folder from the real BIG-style shapefile (../shared/data), once per module.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import create_engine, inspect, select

from geo_app.app_db import get_session
from geo_app.ingest.fetch import boundary_files
from geo_app.store.adapter import desa_frame, from_wkb, kecamatan_frame
from geo_app.store.db import data_version
from geo_app.store.models import Kecamatan
from tests.conftest import copy_database, snapshot

KAB = "17.06"
CHANGED_GEOM = "17.06.08.2006"  # a desa of Teramang Jaya: its polygon grows by 50 m
CHANGED_NAME = "17.06.05.2004"  # Air Buluh (Ipuh): renamed


@pytest.fixture(scope="module")
def big(bigstyle_shapefile) -> gpd.GeoDataFrame:
    return gpd.read_file(bigstyle_shapefile)


def _renamed(big: gpd.GeoDataFrame, columns: dict[str, str], dotted: bool) -> gpd.GeoDataFrame:
    out = big.rename(columns=columns)[list(columns.values()) + ["geometry"]]
    if not dotted:
        for col in (columns["KDEPUM"], columns["KDCPUM"]):
            out[col] = out[col].str.replace(".", "", regex=False)
    return out


@pytest.fixture(scope="module")
def variants(tmp_path_factory, big) -> dict[str, tuple[Path, list[str]]]:
    """The same desa as GeoPackage, zipped shapefile and GeoJSON with other column names.

    Returns name → (path, CLI column options). GeoPackage and shapefile are in EPSG:32747;
    GeoJSON is EPSG:4326 by its specification.
    """
    root = tmp_path_factory.mktemp("variants")
    out: dict[str, tuple[Path, list[str]]] = {}

    cols = {"KDEPUM": "KODE_DESA", "NAMOBJ": "NAMA_DESA", "KDCPUM": "KODE_KEC", "WADMKC": "NAMA_KEC"}
    gpkg = root / "desa_utm.gpkg"
    _renamed(big, cols, dotted=False).to_crs("EPSG:32747").to_file(gpkg, layer="desa", driver="GPKG")
    out["gpkg"] = (gpkg, _options(cols))

    cols = {"KDEPUM": "KD_DESA", "NAMOBJ": "NM_DESA", "KDCPUM": "KD_KEC", "WADMKC": "NM_KEC"}
    shp_dir = root / "shp"
    shp_dir.mkdir()
    _renamed(big, cols, dotted=True).to_crs("EPSG:32747").to_file(shp_dir / "desa_utm.shp", engine="pyogrio")
    zipped = root / "desa_utm.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for part in sorted(shp_dir.iterdir()):
            zf.write(part, part.name)
    out["zip"] = (zipped, _options(cols))

    cols = {"KDEPUM": "kode", "NAMOBJ": "nama", "KDCPUM": "kode_kec", "WADMKC": "nama_kec"}
    geojson = root / "desa.geojson"
    _renamed(big, cols, dotted=False).to_file(geojson, driver="GeoJSON")
    out["geojson"] = (geojson, _options(cols))
    return out


def _options(cols: dict[str, str]) -> list[str]:
    return [
        "--desa-code-col",
        cols["KDEPUM"],
        "--desa-name-col",
        cols["NAMOBJ"],
        "--kecamatan-code-col",
        cols["KDCPUM"],
        "--kecamatan-name-col",
        cols["WADMKC"],
    ]


@pytest.fixture(scope="module")
def upstream_desa(template_db, tmp_path_factory, boundary_source) -> gpd.GeoDataFrame:
    """Desa of the upstream import (the pre-built template database), read once."""
    from tests.conftest import make_app

    root = tmp_path_factory.mktemp("upstream")
    db_path = root / "copy.sqlite"
    copy_database(template_db, db_path)
    app = make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source)
    with app.app_context():
        desa = desa_frame(get_session())
    app.extensions["geo_app.engine"].dispose()
    return desa.set_index("code")


@pytest.mark.parametrize("kind", ["gpkg", "zip", "geojson"])
def test_other_format_crs_and_columns(kind, variants, empty_app, upstream_desa):
    path, options = variants[kind]
    if kind != "geojson":
        assert gpd.read_file(f"/vsizip/{path}" if kind == "zip" else path).crs.to_epsg() == 32747
    result = empty_app.test_cli_runner().invoke(args=["boundaries", "import", str(path), *options])
    assert result.exit_code == 0, result.output
    assert "desa: 151 baru/new" in result.output and "kecamatan: 15 baru/new" in result.output
    with empty_app.app_context():
        session = get_session()
        desa = desa_frame(session).set_index("code")
        kec = kecamatan_frame(session)
    assert sorted(desa.index) == sorted(upstream_desa.index)
    assert (desa["name"] == upstream_desa.loc[desa.index, "name"]).all()
    assert (desa["kind"] == upstream_desa.loc[desa.index, "kind"]).all()
    assert desa["area_km2"].to_numpy() == pytest.approx(upstream_desa.loc[desa.index, "area_km2"].to_numpy(), rel=1e-6)
    # the desa came back to EPSG:4326 at the same place, not just with the same area
    here = desa.geometry.to_crs("EPSG:32747").centroid
    there = upstream_desa.loc[desa.index].geometry.to_crs("EPSG:32747").centroid
    assert here.distance(there).max() < 0.01  # metres
    assert dict(zip(kec["code"], kec["name"]))["17.06.08"] == "Teramang Jaya" and len(kec) == 15


def test_desa_only_file_into_upstream_db_keeps_upstream_kecamatan(app, variants, upstream_desa):
    """Only the desa columns: kecamatan names and the coarse upstream kecamatan polygons stay."""
    path, options = variants["gpkg"]
    with app.app_context():
        session = get_session()
        before_upstream = dict(session.execute(select(Kecamatan.code, Kecamatan.upstream_geometry)).all())
        before_names = dict(session.execute(select(Kecamatan.code, Kecamatan.name)).all())
    result = app.test_cli_runner().invoke(args=["boundaries", "import", str(path), *options[:4]])
    assert result.exit_code == 0, result.output
    desa_line = next(line for line in result.output.splitlines() if line.startswith("desa:"))
    assert desa_line.startswith("desa: 0 baru/new") and desa_line.endswith(" 0 dihapus/removed")
    with app.app_context():
        session = get_session()
        after_upstream = dict(session.execute(select(Kecamatan.code, Kecamatan.upstream_geometry)).all())
        after_names = dict(session.execute(select(Kecamatan.code, Kecamatan.name)).all())
        desa = desa_frame(session)  # the join to kecamatan still works for every desa
    assert len(before_upstream) == 15 and all(g is not None for g in before_upstream.values())
    assert after_upstream == before_upstream
    assert after_names == before_names
    assert len(desa) == 151


# --- fetch -----------------------------------------------------------------------------------


def _cache(app) -> Path:
    return Path(app.config["SHAPEFILE_DIR"]) / "wilayah_boundaries"


def _all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_fetch_copies_the_three_files(runner, app, boundary_source):
    result = runner.invoke(args=["boundaries", "fetch", "--source", boundary_source])
    assert result.exit_code == 0, result.output
    rels = boundary_files(KAB).all()
    assert _all_files(_cache(app)) == sorted(_cache(app) / rel for rel in rels)
    for rel in rels:
        assert (_cache(app) / rel).read_bytes() == (Path(boundary_source) / rel).read_bytes()
        assert str(_cache(app) / rel) in result.output


def test_failed_fetch_keeps_cached_files_and_leaves_no_partial_files(runner, app, boundary_source, tmp_path):
    assert runner.invoke(args=["boundaries", "fetch", "--source", boundary_source]).exit_code == 0
    cached = {p: p.read_bytes() for p in _all_files(_cache(app))}
    # a source with a changed kabupaten file and a changed kecamatan file, but no desa file
    broken = tmp_path / "broken_source"
    files = boundary_files(KAB)
    for rel in (files.kab, files.kec):
        (broken / rel).parent.mkdir(parents=True, exist_ok=True)
        (broken / rel).write_bytes((Path(boundary_source) / rel).read_bytes() + b"\n-- changed\n")
    before = snapshot(app)
    result = runner.invoke(args=["boundaries", "fetch", "--source", str(broken)])
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [f"Error: boundary source {broken}: {files.kel} is missing"]
    assert {p: p.read_bytes() for p in _all_files(_cache(app))} == cached
    assert snapshot(app) == before


def test_unreachable_url_fetch_writes_nothing(runner, app):
    before = snapshot(app)
    result = runner.invoke(args=["boundaries", "fetch", "--source", "http://127.0.0.1:9"])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: boundary source http://127.0.0.1:9/db/kab/")
    assert "unreachable" in lines[0]
    assert _all_files(Path(app.config["SHAPEFILE_DIR"])) == []
    assert snapshot(app) == before


def test_import_without_path_on_empty_db_fetches_then_imports(empty_app, boundary_source):
    assert _all_files(_cache(empty_app)) == []
    result = empty_app.test_cli_runner().invoke(args=["boundaries", "import"])
    assert result.exit_code == 0, result.output
    assert f"Sumber / source: {Path(boundary_source).resolve()}" in result.output
    assert "desa: 151 baru/new" in result.output and "kecamatan: 15 baru/new" in result.output
    assert _all_files(_cache(empty_app)) == sorted(_cache(empty_app) / rel for rel in boundary_files(KAB).all())


# --- re-import after a boundary change ---------------------------------------------------------


def _column_index(app, table: str, column: str) -> int:
    """Position of ``column`` in the rows ``snapshot`` returns (``SELECT *`` order)."""
    engine = create_engine(app.config["DATABASE_URL"])
    try:
        with engine.connect() as con:
            return [c["name"] for c in inspect(con).get_columns(table)].index(column)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def changed_shapefile(tmp_path_factory, big) -> Path:
    """The BIG shapefile with one desa buffered by 50 m (in EPSG:32747) and another renamed."""
    changed = big.copy()
    i = changed.index[changed["KDEPUM"] == CHANGED_GEOM][0]
    grown = gpd.GeoSeries([changed.geometry[i]], crs=big.crs).to_crs("EPSG:32747").buffer(50).to_crs(big.crs)
    changed.loc[i, "geometry"] = grown.iloc[0]
    j = changed.index[changed["KDEPUM"] == CHANGED_NAME][0]
    changed.loc[j, "NAMOBJ"] = "Air Buluh Baru"
    path = tmp_path_factory.mktemp("changed") / "BATAS_DESA_CHANGED.shp"
    changed.to_file(path)
    return path


def test_reimport_after_boundary_change_updates_in_place(app, changed_shapefile):
    before = snapshot(app)
    with app.app_context():
        version = data_version(get_session())
        old = desa_frame(get_session()).set_index("code")
    result = app.test_cli_runner().invoke(args=["boundaries", "import", str(changed_shapefile), "--preset", "big"])
    assert result.exit_code == 0, result.output
    assert "desa: 0 baru/new, 2 diperbarui/updated, 149 tetap/unchanged, 0 dihapus/removed" in result.output
    # only the kecamatan whose desa grew changes (renaming a desa leaves its kecamatan polygon alone)
    assert "kecamatan: 0 baru/new, 1 diperbarui/updated, 14 tetap/unchanged, 0 dihapus/removed" in result.output
    after = snapshot(app)
    code_at = _column_index(app, "desa", "code")
    changed_codes = {r[code_at] for r in set(after["desa"]) - set(before["desa"])}
    assert changed_codes == {CHANGED_GEOM, CHANGED_NAME}
    assert len(after["desa"]) == len(before["desa"]) == 151
    with app.app_context():
        session = get_session()
        new = desa_frame(session).set_index("code")
        kec = session.get(Kecamatan, "17.06.08")
        assert data_version(session) != version
        upstream_kept = from_wkb(kec.upstream_geometry)
    assert new.loc[CHANGED_NAME, "name"] == "Air Buluh Baru" and old.loc[CHANGED_NAME, "name"] == "Air Buluh"
    assert new.geometry[CHANGED_NAME].equals(old.geometry[CHANGED_NAME])
    grown, was = new.geometry[CHANGED_GEOM], old.geometry[CHANGED_GEOM]
    assert grown.contains(was) and not grown.equals(was)
    assert new.loc[CHANGED_GEOM, "area_km2"] > old.loc[CHANGED_GEOM, "area_km2"]
    # 50 m around the perimeter: area grows by about perimeter × 50 m
    perimeter_km = gpd.GeoSeries([was], crs="EPSG:4326").to_crs("EPSG:32747").length.iloc[0] / 1000
    grow = new.loc[CHANGED_GEOM, "area_km2"] - old.loc[CHANGED_GEOM, "area_km2"]
    assert grow == pytest.approx(perimeter_km * 0.05, rel=0.1)
    assert upstream_kept is not None and shapely.is_valid(upstream_kept)

    # importing the same file again changes nothing
    again = app.test_cli_runner().invoke(args=["boundaries", "import", str(changed_shapefile), "--preset", "big"])
    assert again.exit_code == 0 and "desa: 0 baru/new, 0 diperbarui/updated, 151 tetap/unchanged" in again.output
    assert snapshot(app) == after
