"""Bad boundary input through the CLI: one clear ``Error: ...`` line naming the file/row/column,
a non-zero exit, and the database (which holds the real boundaries) exactly as it was.

The bad files are built once per module from the real BIG-style shapefile (../shared/data).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geo_app.app_db import get_session
from geo_app.ingest.fetch import boundary_files
from geo_app.ingest.vector import PRESETS
from geo_app.services.boundaries import import_boundaries
from geo_app.store.adapter import desa_frame
from tests.conftest import copy_database, make_app, snapshot

ROW = 6  # 1-based feature number of the row the bad files spoil (index 5)
ROW_CODE = "17.06.01.2013"
ROW_NAME = "Sumber Makmur"


@pytest.fixture(scope="module")
def big(bigstyle_shapefile) -> gpd.GeoDataFrame:
    big = gpd.read_file(bigstyle_shapefile)
    assert (big.loc[ROW - 1, "KDEPUM"], big.loc[ROW - 1, "NAMOBJ"]) == (ROW_CODE, ROW_NAME)
    return big


@pytest.fixture(scope="module")
def bad(tmp_path_factory, big, bigstyle_shapefile) -> dict[str, Path]:
    """Name → path of a spoilt copy of the BIG shapefile's desa."""
    root = tmp_path_factory.mktemp("bad")
    out: dict[str, Path] = {}
    i = ROW - 1

    def write(name: str, gdf: gpd.GeoDataFrame, ext: str = "gpkg") -> None:
        out[name] = root / f"{name}.{ext}"
        gdf.to_file(out[name])

    g = big.copy()
    g.loc[i, "KDEPUM"] = big.loc[i - 1, "KDEPUM"]
    write("duplicate", g)
    g = big.copy()
    g.loc[i, "KDCPUM"] = "17.06.09"
    write("kecamatan_mismatch", g)
    g = big.copy()
    g.loc[i, "KDEPUM"] = "17.05.01.2013"  # Bengkulu Utara, not Mukomuko
    g.loc[i, "KDCPUM"] = "17.05.01"
    write("other_kabupaten", g)
    g = big.copy()
    g.loc[i, "KDEPUM"] = "17.06.01.20x3"
    write("malformed_code", g)
    g = big.copy()
    g.loc[i, "NAMOBJ"] = "  "
    write("empty_name", g)
    g = big.copy()
    g.loc[i, "geometry"] = None
    write("null_geometry", g, "shp")
    g = big.copy()
    g.loc[i, "geometry"] = shapely.Polygon()
    write("empty_geometry", g)
    g = big.copy()
    g.loc[i, "geometry"] = big.geometry[i].boundary
    write("line_geometry", g, "geojson")
    g = big.copy()
    g.loc[i, "geometry"] = big.geometry[i].representative_point()
    write("point_geometry", g)

    # a bow-tie over the desa's bounding box: self-intersecting, repairable into two triangles
    x0, y0, x1, y1 = big.geometry[i].bounds
    g = big.copy()
    g.loc[i, "geometry"] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    write("bowtie", g, "shp")

    for missing in (".dbf", ".shx"):
        folder = root / f"without{missing}"
        folder.mkdir()
        for part in bigstyle_shapefile.parent.glob(bigstyle_shapefile.stem + ".*"):
            if part.suffix.lower() != missing:
                shutil.copy(part, folder / part.name)
        out[f"without{missing}"] = folder / bigstyle_shapefile.name

    # shapefiles cut off in the middle of their geometry or attribute records
    for ext, size in ((".shp", 4096), (".dbf", 2048)):
        folder = root / f"truncated{ext}"
        folder.mkdir()
        for part in bigstyle_shapefile.parent.glob(bigstyle_shapefile.stem + ".*"):
            shutil.copy(part, folder / part.name)
        cut = (folder / bigstyle_shapefile.name).with_suffix(ext)
        cut.write_bytes(cut.read_bytes()[:size])
        out[f"truncated_{ext[1:]}"] = folder / bigstyle_shapefile.name

    out["not_a_zip"] = root / "desa.zip"
    out["not_a_zip"].write_text("this is not a zip archive")
    out["garbage_gpkg"] = root / "garbage.gpkg"
    out["garbage_gpkg"].write_bytes(b"\x00\x01 not a geopackage" * 10)
    return out


def assert_fails(app, args: list[str], pattern: str) -> str:
    """Run the CLI; it must fail with exactly one ``Error:`` line matching ``pattern`` and change nothing."""
    before = snapshot(app)
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: "), lines[0]
    assert re.fullmatch(pattern, lines[0].removeprefix("Error: ")), lines[0]
    assert snapshot(app) == before
    return lines[0]


ROW_LABEL = re.escape(f"row {ROW} ({ROW_CODE} {ROW_NAME})")

# name of the bad file → what the one error line must say after "<path>: "
FILE_ERRORS = {
    "duplicate": r"duplicate desa code \(column KDEPUM\): row 5 \(17\.06\.01\.2009 [^)]+\); row 6 \(17\.06\.01\.2009 Sumber Makmur\)",
    "kecamatan_mismatch": r"kecamatan code \(column KDCPUM\) does not fit the desa code \(column KDEPUM\): "
    + ROW_LABEL
    + r": kecamatan 17\.06\.09",
    "other_kabupaten": r"desa code \(column KDEPUM\) does not belong to kabupaten 17\.06: row 6 \(17\.05\.01\.2013 Sumber Makmur\)",
    "malformed_code": r"desa code \(column KDEPUM\) is not a Kemendagri desa code like 17\.06\.08\.2006: "
    r"row 6 \(17\.06\.01\.20x3 Sumber Makmur\)",
    "empty_name": r"desa name \(column NAMOBJ\) is empty: row 6 \(17\.06\.01\.2013\)",
    "null_geometry": r"empty or missing geometry: " + ROW_LABEL,
    "empty_geometry": r"empty or missing geometry: " + ROW_LABEL,
    "line_geometry": r"geometry is not a polygon: " + ROW_LABEL + ": LineString",
    "point_geometry": r"geometry is not a polygon: " + ROW_LABEL + ": Point",
    "without.dbf": r"shapefile is incomplete, BATAS_DESA_MUKOMUKO\.dbf is missing",
    "without.shx": r"shapefile is incomplete, BATAS_DESA_MUKOMUKO\.shx is missing",
    "truncated_shp": r"shapefile is truncated, BATAS_DESA_MUKOMUKO\.shp has 4096 bytes but its header declares \d+",
    "truncated_dbf": r"shapefile is truncated, BATAS_DESA_MUKOMUKO\.dbf has 2048 bytes but its header declares \d+",
    "not_a_zip": r"not a zip archive",
    "garbage_gpkg": r"cannot be read as a vector file \(.+\)",
}


@pytest.mark.parametrize("name", sorted(FILE_ERRORS))
def test_bad_file_is_rejected_and_changes_nothing(name, bad, app):
    path = bad[name]
    assert_fails(
        app, ["boundaries", "import", str(path), "--preset", "big"], re.escape(f"{path}: ") + FILE_ERRORS[name]
    )


def test_missing_file(app, tmp_path):
    path = tmp_path / "nowhere" / "BATAS_DESA.shp"
    assert_fails(app, ["boundaries", "import", str(path), "--preset", "big"], re.escape(f"{path}: file not found"))


def test_unknown_columns_are_named_with_the_columns_the_file_has(app, bigstyle_shapefile):
    line = assert_fails(
        app,
        [
            "boundaries",
            "import",
            str(bigstyle_shapefile),
            "--desa-code-col",
            "KODE",
            "--desa-name-col",
            "NAMOBJ",
            "--kecamatan-name-col",
            "NAMA_KEC",
        ],
        re.escape(f"{bigstyle_shapefile}: unknown column(s) KODE, NAMA_KEC; the file has: ") + ".+",
    )
    for column in ("NAMOBJ", "KDEPUM", "KDCPUM", "WADMKC"):
        assert column in line.split("the file has:")[1]


def test_columns_are_required_without_preset(app, bigstyle_shapefile):
    assert_fails(
        app,
        ["boundaries", "import", str(bigstyle_shapefile), "--desa-name-col", "NAMOBJ"],
        re.escape("say which columns hold the desa code and name: --desa-code-col (or --preset big)"),
    )


def test_explicit_column_overrides_the_preset(app, bigstyle_shapefile):
    """--preset big with another --kecamatan-code-col: that column is used, and named in the error."""
    assert_fails(
        app,
        ["boundaries", "import", str(bigstyle_shapefile), "--preset", "big", "--kecamatan-code-col", "KDPKAB"],
        re.escape(f"{bigstyle_shapefile}: kecamatan code (column KDPKAB) does not fit the desa code (column KDEPUM): ")
        + r"row 1 \(17\.06\.01\.2005 Suka Pindah\): kecamatan 17\.06; .+; and 131 more",
    )


@pytest.fixture
def app_with_source(tmp_path, template_db):
    """An app holding the real boundaries (empty download cache) whose boundary source is ``source``."""
    apps = []

    def build(source: str):
        db_path = tmp_path / f"app{len(apps)}.sqlite"
        copy_database(template_db, db_path)
        apps.append(make_app(db_path, tmp_path / f"cache{len(apps)}", BOUNDARY_SOURCE=source))
        return apps[-1]

    yield build
    for a in apps:
        a.extensions["geo_app.engine"].dispose()


def test_unreachable_url_source(app_with_source):
    app = app_with_source("http://127.0.0.1:9")
    assert_fails(
        app,
        ["boundaries", "import"],
        re.escape(f"boundary source http://127.0.0.1:9/{boundary_files('17.06').kab} is unreachable (") + ".+",
    )
    assert not Path(app.config["SHAPEFILE_DIR"]).exists()


def test_source_folder_lacking_a_file(app_with_source, boundary_source, tmp_path):
    files = boundary_files("17.06")
    partial = tmp_path / "partial_mirror"
    for rel in (files.kab, files.kel):
        (partial / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(boundary_source) / rel, partial / rel)
    app = app_with_source(str(partial))
    assert_fails(app, ["boundaries", "import"], re.escape(f"boundary source {partial}: {files.kec} is missing"))
    assert not Path(app.config["SHAPEFILE_DIR"]).exists()


def test_source_that_is_not_a_folder(app_with_source, tmp_path):
    app = app_with_source(str(tmp_path / "no_such_mirror"))
    assert_fails(
        app,
        ["boundaries", "import"],
        re.escape(f"boundary source {tmp_path / 'no_such_mirror'} is not a folder or an http(s) URL"),
    )


def test_bowtie_is_repaired_reported_and_imported(app, bad, big):
    result = app.test_cli_runner().invoke(args=["boundaries", "import", str(bad["bowtie"]), "--preset", "big"])
    assert result.exit_code == 0, result.output
    repaired = [line for line in result.output.splitlines() if line.startswith("diperbaiki/repaired:")]
    assert len(repaired) == 1
    assert re.fullmatch(
        r"diperbaiki/repaired: " + ROW_LABEL + r": repaired invalid polygon \(Self-intersection\[[-\d. ]+\]\)",
        repaired[0],
    ), repaired[0]
    assert "desa: 0 baru/new, 1 diperbarui/updated, 150 tetap/unchanged, 0 dihapus/removed" in result.output
    with app.app_context():
        stored = desa_frame(get_session()).set_index("code").geometry[ROW_CODE]
    x0, y0, x1, y1 = big.geometry[ROW - 1].bounds
    assert stored.is_valid and stored.geom_type == "MultiPolygon" and len(stored.geoms) == 2
    # the two triangles of the bow-tie each cover a quarter of the box
    assert stored.area == pytest.approx((x1 - x0) * (y1 - y0) / 2, rel=1e-9)


def test_failure_while_writing_rolls_everything_back(app, bad, big, monkeypatch):
    """An error after rows were written (here: bumping the data version) leaves no trace."""
    import geo_app.store.adapter as adapter

    def boom(session, name):
        raise RuntimeError("disk full")

    monkeypatch.setattr(adapter, "bump_version", boom)
    before = snapshot(app)
    with app.app_context(), pytest.raises(RuntimeError, match="disk full"):
        import_boundaries(get_session(), app.config["GEO_APP_SETTINGS"], path=bad["bowtie"], mapping=PRESETS["big"])
    assert snapshot(app) == before


# --- hostile files (issue: safety under bad input) ------------------------------------------------------


def _zip_with(path, members: dict[str, bytes], compression=None):
    import zipfile

    with zipfile.ZipFile(path, "w", compression=compression or zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_with_parent_paths_is_refused(app, runner, tmp_path):
    bad = _zip_with(tmp_path / "desa.zip", {"../../evil.shp": b"x", "desa.dbf": b"y"})
    before = snapshot(app)
    result = runner.invoke(args=["boundaries", "import", str(bad), "--preset", "big"])
    assert result.exit_code != 0
    assert "unsafe path in zip archive: '../../evil.shp'" in result.output
    assert snapshot(app) == before
    assert not (tmp_path.parent / "evil.shp").exists()


def test_zip_bomb_is_refused_before_unpacking(app, runner, tmp_path):
    bomb = _zip_with(tmp_path / "bomb.zip", {"desa.shp": b"\0" * (64 * 1024 * 1024)})
    assert bomb.stat().st_size < 200_000
    before = snapshot(app)
    result = runner.invoke(args=["boundaries", "import", str(bomb), "--preset", "big"])
    assert result.exit_code != 0 and "zip bomb" in result.output
    assert snapshot(app) == before


def test_geojson_with_a_million_coordinates_is_refused(app, runner, tmp_path):
    import json

    import numpy as np

    angles = np.linspace(0, 2 * np.pi, 1_000_000, endpoint=False)
    ring = np.column_stack([101.2 + 0.05 * np.cos(angles), -2.6 + 0.05 * np.sin(angles)]).round(7).tolist()
    ring.append(ring[0])
    feature = {
        "type": "Feature",
        "properties": {"KODE": "17.06.10.2001", "NAMA": "Penarik"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    path = tmp_path / "huge.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    before = snapshot(app)
    result = runner.invoke(
        args=["boundaries", "import", str(path), "--desa-code-col", "KODE", "--desa-name-col", "NAMA"]
    )
    assert result.exit_code != 0
    assert "more than 200,000 vertices" in result.output and "1,000,001 vertices" in result.output
    assert snapshot(app) == before
