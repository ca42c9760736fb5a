"""Small unit tests with hand-built data: the upstream dump parser, lat/lon checks, settings, codes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from geo_app.config import UPSTREAM_BOUNDARY_SOURCE, load_settings
from geo_app.errors import InputFileError, ValidationError
from geo_app.geo import check_lat_lon
from geo_app.ingest.fetch import boundary_files
from geo_app.ingest.vector import PRESETS, normalise_code, resolve_mapping
from geo_app.ingest.wilayah import parse_dump, path_to_geometry, read_dump

# Paths are [lat, lng] as upstream writes them (FACTS.md). A square with a hole, depth 3:
SQUARE_WITH_HOLE = (
    "[[[-2.5,101.2],[-2.5,101.3],[-2.4,101.3],[-2.4,101.2],[-2.5,101.2]],"
    "[[-2.48,101.22],[-2.42,101.22],[-2.42,101.28],[-2.48,101.22]]]"
)
# two triangles, depth 4
TWO_TRIANGLES = (
    "[[[[-2.6,101.1],[-2.6,101.15],[-2.55,101.15],[-2.6,101.1]]],"
    "[[[-2.7,101.0],[-2.7,101.05],[-2.65,101.05],[-2.7,101.0]]]]"
)


def dump(*rows: str) -> str:
    return (
        "-- wilayah_boundaries dump\n"
        "INSERT INTO wilayah_boundaries(kode,nama,lat,lng,path) VALUES\n" + ",\n".join(rows) + ";\n"
    )


def row(code: str, name: str, path: str, lat: float = -2.45, lng: float = 101.25) -> str:
    return f"('{code}','{name}',{lat},{lng},'{path}')"


def test_depth3_polygon_in_lat_lng_order_becomes_lon_lat():
    gdf = parse_dump(dump(row("17.06.08.2006", "Koto Baru", SQUARE_WITH_HOLE)), "kel.sql")
    assert gdf.crs.to_epsg() == 4326
    assert list(gdf["code"]) == ["17.06.08.2006"] and list(gdf["name"]) == ["Koto Baru"]
    geom = gdf.geometry.iloc[0]
    assert geom.geom_type == "Polygon" and len(geom.interiors) == 1
    assert geom.exterior.coords[0] == (101.2, -2.5)  # x = longitude, y = latitude
    assert geom.bounds == (101.2, -2.5, 101.3, -2.4)
    assert geom.interiors[0].coords[1] == (101.22, -2.42)
    assert (gdf["lat"].iloc[0], gdf["lng"].iloc[0]) == (-2.45, 101.25)


def test_depth4_multipolygon():
    geom = parse_dump(dump(row("17.06.15.2001", "Pulau", TWO_TRIANGLES)), "kel.sql").geometry.iloc[0]
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    assert [g.exterior.coords[0] for g in geom.geoms] == [(101.1, -2.6), (101.0, -2.7)]
    assert geom.bounds == (101.0, -2.7, 101.15, -2.55)


def test_escaped_quotes_in_names_and_code_prefix():
    text = dump(
        row("17.06.08.2006", "Koto ''Baru''", SQUARE_WITH_HOLE),
        row("17.05.01.2001", "Lain ''Kabupaten", TWO_TRIANGLES),
    )
    gdf = parse_dump(text, "kel.sql")
    assert list(gdf["name"]) == ["Koto 'Baru'", "Lain 'Kabupaten"]
    only = parse_dump(text, "kel.sql", code_prefix="17.06.")
    assert list(only["code"]) == ["17.06.08.2006"]
    with pytest.raises(InputFileError, match=r"^kel\.sql: no wilayah_boundaries rows with code 17\.07\.\* found$"):
        parse_dump(text, "kel.sql", code_prefix="17.07.")


def test_swapped_coordinates_are_rejected_naming_the_row():
    swapped = "[[[101.2,-2.5],[101.3,-2.5],[101.3,-2.4],[101.2,-2.5]]]"  # [lng, lat]: not upstream's order
    with pytest.raises(ValidationError, match=r"^kel\.sql: row 17\.06\.08\.2006: latitude and longitude look swapped"):
        parse_dump(dump(row("17.06.08.2006", "Koto Baru", swapped)), "kel.sql")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("[[-2.5,101.2],[-2.5,101.3]]", r"path has nesting depth 2, expected 3 \(polygon\) or 4 \(multipolygon\)"),
        ("[[[-2.5,101.2],[-2.5,101.3],[-2.4", r"path is not valid JSON"),
        (
            "[[[-2.5,101.2,7],[-2.5,101.3,7],[-2.4,101.3,7],[-2.5,101.2,7]]]",
            r"point 1 of ring 1 is not a \[lat, lng\] pair",
        ),
        ('[[[-2.5,101.2],[-2.5,"x"],[-2.4,101.3],[-2.5,101.2]]]', r"point 2 of ring 1 is not a \[lat, lng\] pair"),
        ('[[["a",101.2],[-2.5,101.3],[-2.4,101.3],[-2.5,101.2]]]', r"point 1 of ring 1 is not a \[lat, lng\] pair"),
        ("[[[-2.5,101.2],[-2.5,101.3]]]", r"polygon 1 cannot be built \(.*4 coordinates.*\)"),
    ],
)
def test_malformed_paths_name_the_row(path, message):
    with pytest.raises(InputFileError, match=r"^kel\.sql: row 17\.06\.08\.2006: " + message):
        parse_dump(dump(row("17.06.08.2006", "Koto Baru", path)), "kel.sql")


def test_no_rows_and_missing_dump(tmp_path):
    with pytest.raises(InputFileError, match=r"^empty\.sql: no wilayah_boundaries rows found$"):
        parse_dump("-- nothing here\n", "empty.sql")
    missing = tmp_path / "kel.sql"
    with pytest.raises(InputFileError, match=r"kel\.sql: file not found$"):
        read_dump(missing)


def test_read_dump_from_file(tmp_path):
    path = tmp_path / "wilayah_boundaries_kel_17.06.sql"
    path.write_text(dump(row("17.06.08.2006", "Koto Baru", SQUARE_WITH_HOLE)), encoding="utf-8")
    gdf = read_dump(path, code_prefix="17.06.")
    assert list(gdf["code"]) == ["17.06.08.2006"]
    assert gdf.geometry.iloc[0].equals(
        path_to_geometry(
            [
                [[-2.5, 101.2], [-2.5, 101.3], [-2.4, 101.3], [-2.4, 101.2], [-2.5, 101.2]],
                [[-2.48, 101.22], [-2.42, 101.22], [-2.42, 101.28], [-2.48, 101.22]],
            ],
            "x",
        )
    )


# --- geo.check_lat_lon ------------------------------------------------------------------------


def test_check_lat_lon_accepts_mukomuko():
    check_lat_lon(-2.58, 101.12, "TPS 1")  # no exception


def test_check_lat_lon_swapped():
    with pytest.raises(
        ValidationError, match=r"^baris 3: latitude and longitude look swapped \(lintang=101\.12, bujur=-2\.58\)"
    ):
        check_lat_lon(101.12, -2.58, "baris 3")


@pytest.mark.parametrize(("lat", "lon"), [(math.nan, 101.1), (-2.5, math.nan), (None, 101.1)])
def test_check_lat_lon_missing(lat, lon):
    with pytest.raises(ValidationError, match=r"^rakor 7: latitude/longitude is missing or not a number$"):
        check_lat_lon(lat, lon, "rakor 7")


def test_check_lat_lon_outside_indonesia():
    with pytest.raises(
        ValidationError, match=r"^insiden 2: coordinates lintang=48\.85, bujur=2\.35 are not in Indonesia$"
    ):
        check_lat_lon(48.85, 2.35, "insiden 2")


# --- config.load_settings -----------------------------------------------------------------------


def test_defaults_without_environment():
    settings = load_settings(environ={})
    assert settings["BOUNDARY_SOURCE"] == UPSTREAM_BOUNDARY_SOURCE
    assert settings["KABUPATEN"] == "17.06" and settings["FETCH_TIMEOUT"] == 30.0
    assert settings["DATABASE_URL"].startswith("sqlite:///") and settings["DATABASE_URL"].endswith("geo_app.sqlite")


def test_environment_overrides_and_casts():
    environ = {
        "GEO_APP_DATABASE_URL": "sqlite:////tmp/x.sqlite",
        "GEO_APP_FETCH_TIMEOUT": "2.5",
        "GEO_APP_AUTO_IMPORT_BOUNDARIES": "yes",
        "GEO_APP_KABUPATEN": "",  # empty means unset
        "GEO_APP_BOUNDARY_SOURCE": "https://example.org/mirror",
        "OTHER_FETCH_TIMEOUT": "9",
    }
    settings = load_settings(environ=environ)
    assert settings["DATABASE_URL"] == "sqlite:////tmp/x.sqlite"
    assert settings["FETCH_TIMEOUT"] == 2.5 and isinstance(settings["FETCH_TIMEOUT"], float)
    assert settings["AUTO_IMPORT_BOUNDARIES"] is True
    assert settings["KABUPATEN"] == "17.06"
    assert settings["BOUNDARY_SOURCE"] == "https://example.org/mirror"  # URLs are kept as they are
    # explicit overrides (create_app(config)) beat the environment
    assert load_settings({"FETCH_TIMEOUT": 5.0}, environ=environ)["FETCH_TIMEOUT"] == 5.0


def test_relative_local_source_is_resolved_against_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={"GEO_APP_BOUNDARY_SOURCE": "../shared/data/wilayah_boundaries"})
    assert settings["BOUNDARY_SOURCE"] == str((tmp_path.parent / "shared" / "data" / "wilayah_boundaries").resolve())
    assert Path(settings["BOUNDARY_SOURCE"]).is_absolute()
    home = load_settings({"BOUNDARY_SOURCE": "~/mirror"}, environ={})
    assert home["BOUNDARY_SOURCE"] == str(Path("~/mirror").expanduser().resolve())


def test_process_environment_is_read(monkeypatch):
    monkeypatch.setenv("GEO_APP_SHAPEFILE_DIR", "/tmp/cache-for-test")
    assert load_settings()["SHAPEFILE_DIR"] == "/tmp/cache-for-test"


# --- codes and column mappings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "parts", "expected"),
    [
        ("1706082006", 4, "17.06.08.2006"),
        (" 17.06.08.2006 ", 4, "17.06.08.2006"),
        (1706082006, 4, "17.06.08.2006"),
        (1706082006.0, 4, "17.06.08.2006"),
        ("170608", 3, "17.06.08"),
        (170608, 3, "17.06.08"),
        ("17.06.08.20x6", 4, "17.06.08.20x6"),  # left for validation to reject, as written
        ("17060820061", 4, "17060820061"),  # one digit too many: not guessed at
        (None, 4, ""),
        (math.nan, 4, ""),
    ],
)
def test_normalise_code(value, parts, expected):
    assert normalise_code(value, parts) == expected


def test_resolve_mapping():
    assert resolve_mapping("big") == PRESETS["big"]
    mixed = resolve_mapping("big", desa_name="WADMKD", kecamatan_code=None)
    assert mixed.desa_name == "WADMKD" and mixed.desa_code == "KDEPUM" and mixed.kecamatan_code == "KDCPUM"
    plain = resolve_mapping(None, desa_code="KODE", desa_name="NAMA")
    assert (plain.desa_code, plain.desa_name, plain.kecamatan_code) == ("KODE", "NAMA", None)
    with pytest.raises(ValidationError, match=r"--desa-code-col, --desa-name-col \(or --preset big\)$"):
        resolve_mapping(None)
    with pytest.raises(ValidationError, match=r"^unknown column preset 'rbi'; known: big$"):
        resolve_mapping("rbi", desa_code="KODE", desa_name="NAMA")


@pytest.mark.parametrize("code", ["1706", "17.6", "17.06.08", ""])
def test_boundary_files_rejects_bad_kabupaten_codes(code):
    with pytest.raises(ValidationError, match=r"is not of the form PP\.KK \(e\.g\. 17\.06\)$"):
        boundary_files(code)


def test_boundary_files_layout():
    files = boundary_files("17.06")
    assert files.all() == [
        "db/kab/wilayah_boundaries_kab_17.sql",
        "db/kec/wilayah_boundaries_kec_17.sql",
        "db/kel/17/wilayah_boundaries_kel_17.06.sql",
    ]
