"""Issue 14: the whole province of Bengkulu (GEO_APP_KABUPATEN=17) from the shared mirror.

The province is imported once per session (``province_template`` in conftest); expected figures are
read from FACTS.md and from the raw upstream files, not from the importer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import shapely

from geo_app.app_db import get_session
from geo_app.config import load_settings
from geo_app.errors import ValidationError
from geo_app.ingest.fetch import fetch_boundaries, parse_kabupaten
from geo_app.ingest.wilayah import read_dump
from geo_app.services.boundaries import import_boundaries
from geo_app.store.adapter import desa_frame, from_wkb, kabupaten_frame, kecamatan_frame
from geo_app.store.db import data_version
from geo_app.store.models import Kabupaten
from tests.conftest import SHARED_DATA, _fold_wal, copy_database, make_app, snapshot

FACTS = (SHARED_DATA / "FACTS.md").read_text(encoding="utf-8")


def facts_province() -> tuple[int, int, int, dict[str, int]]:
    """Kabupaten, kecamatan and desa counts of the province and desa per kabupaten, as FACTS.md gives them."""
    m = re.search(
        r"\*\*([\d,]+) desa/kelurahan\*\* in \*\*(\d+) kecamatan\*\*\s+of \*\*(\d+) kabupaten/kota\*\*", FACTS
    )
    desa, kec, kab = int(m.group(1).replace(",", "")), int(m.group(2)), int(m.group(3))
    sentence = FACTS[FACTS.index("Desa/kelurahan per kabupaten/kota in the boundary mirror:") :].split("(1,513)")[0]
    per_kab = {code: int(n) for code, n in re.findall(r"(17\.\d{2}) (\d+)", sentence)}
    return kab, kec, desa, per_kab


@pytest.fixture(scope="module")
def province(province_template, tmp_path_factory, boundary_source):
    """An app on the province database, and its frames (read once for the module)."""
    root = tmp_path_factory.mktemp("province-read")
    db_path = root / "province.sqlite"
    copy_database(province_template.path, db_path)
    _fold_wal(db_path)  # kept for the module (PostgreSQL: not dropped after the first test)
    app = make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source, KABUPATEN="17")
    with app.app_context():
        session = get_session()
        frames = {
            "kabupaten": kabupaten_frame(session),
            "kecamatan": kecamatan_frame(session),
            "desa": desa_frame(session),
            "upstream": {k.code: from_wkb(k.upstream_geometry) for k in session.query(Kabupaten)},
        }
    yield app, frames
    app.extensions["geo_app.engine"].dispose()


def _province_app(template: Path, tmp_path: Path, boundary_source: str):
    db_path = tmp_path / "province.sqlite"
    copy_database(template, db_path)
    return make_app(db_path, tmp_path / "shapefiles", BOUNDARY_SOURCE=boundary_source, KABUPATEN="17")


# --- the selection ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "items"),
    [("17.06", ("17.06",)), ("17", ("17",)), (" 17.06 , 17.01 ", ("17.06", "17.01")), ("17,16.01", ("17", "16.01"))],
)
def test_selection_accepts_a_code_a_list_and_a_province(value, items):
    assert parse_kabupaten(value).items == items
    assert load_settings(environ={"GEO_APP_KABUPATEN": value})["KABUPATEN"] == ",".join(items)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("17.6", r"'17\.6' is neither a kabupaten code like 17\.06 nor a province code like 17"),
        ("99", r"99 is not a Kemendagri province code"),
        ("99.01", r"99\.01 is not in a Kemendagri province"),
        ("17.06;x", r"'17\.06;x' is neither a kabupaten code"),
        ("17.06,", r"'17\.06,' has an empty item"),
        ("17.00", r"17\.00 is not a kabupaten code"),
        ("17.06,17.06", r"17\.06 is listed twice"),
        ("17,17.06", r"17\.06 is already part of province 17"),
        ("1706", r"'1706' is neither"),
    ],
)
def test_selection_errors_name_the_setting(value, reason):
    with pytest.raises(ValidationError, match=r"^GEO_APP_KABUPATEN: " + reason):
        load_settings(environ={"GEO_APP_KABUPATEN": value})
    with pytest.raises(ValidationError, match=r"^--kabupaten: " + reason):
        parse_kabupaten(value, "--kabupaten")


def test_bad_kabupaten_option_fails_without_writing(app, runner):
    before = snapshot(app)
    for args in (["boundaries", "import", "--kabupaten", "17.6"], ["boundaries", "fetch", "--kabupaten", "99"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1
        assert result.output.startswith("Error: --kabupaten: "), result.output
    assert snapshot(app) == before
    assert not Path(app.config["SHAPEFILE_DIR"]).exists()


# --- the fetch -------------------------------------------------------------------------------------------


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_fetch_province_copies_every_file_it_needs(tmp_path, boundary_source):
    source = Path(boundary_source)
    written = fetch_boundaries(boundary_source, tmp_path, "17")
    root = tmp_path / "wilayah_boundaries"
    # what the mirror holds for province 17: its kabupaten and kecamatan files, one desa file per kabupaten
    expected = sorted(
        str(p.relative_to(source)) for p in (source / "db").rglob("*.sql") if re.search(r"_17(\.\d{2})?\.sql$", p.name)
    )
    assert _files(root) == expected and len(expected) == 12
    assert sorted(str(p.relative_to(root)) for p in written) == expected
    for rel in expected:
        assert (root / rel).read_bytes() == (source / rel).read_bytes()


def test_fetch_a_list_copies_its_desa_files_only(tmp_path, boundary_source):
    fetch_boundaries(boundary_source, tmp_path, "17.06,17.01")
    assert _files(tmp_path / "wilayah_boundaries") == [
        "db/kab/wilayah_boundaries_kab_17.sql",
        "db/kec/wilayah_boundaries_kec_17.sql",
        "db/kel/17/wilayah_boundaries_kel_17.01.sql",
        "db/kel/17/wilayah_boundaries_kel_17.06.sql",
    ]


def test_fetch_of_an_unknown_kabupaten_names_it_and_writes_nothing(tmp_path, boundary_source):
    with pytest.raises(
        ValidationError, match=r"^--kabupaten: kabupaten 17\.99 is not in db/kab/wilayah_boundaries_kab_17\.sql"
    ):
        fetch_boundaries(boundary_source, tmp_path, parse_kabupaten("17.06,17.99", "--kabupaten"))
    assert not (tmp_path / "wilayah_boundaries").exists()


# --- the import ------------------------------------------------------------------------------------------


def test_province_counts_match_facts(province_template, province):
    _, frames = province
    kab, kec, desa, per_kab = facts_province()
    assert (len(frames["kabupaten"]), len(frames["kecamatan"]), len(frames["desa"])) == (kab, kec, desa)
    assert frames["desa"]["kabupaten_code"].value_counts().sort_index().to_dict() == per_kab
    # kecamatan per kabupaten as the upstream kecamatan file lists them (raw text, not the parser)
    raw = (SHARED_DATA / "wilayah_boundaries" / "db/kec/wilayah_boundaries_kec_17.sql").read_text(encoding="utf-8")
    upstream_kec = sorted(set(re.findall(r"\('(17\.\d{2}\.\d{2})'", raw)))
    assert sorted(frames["kecamatan"]["code"]) == upstream_kec
    counts = province_template.report.counts
    assert counts.inserted == {"kabupaten": kab, "kecamatan": kec, "desa": desa}
    assert frames["kabupaten"].set_index("code").loc["17.71", "name"] == "Kota Bengkulu"
    assert frames["kabupaten"].set_index("code").loc["17.06", "name"] == "Kabupaten Mukomuko"


def test_every_desa_lies_in_its_kecamatan_and_kabupaten(province):
    _, frames = province
    desa, kec, kab = frames["desa"], frames["kecamatan"].set_index("code"), frames["kabupaten"].set_index("code")
    assert (desa["kecamatan_code"] == desa["code"].str[:8]).all()
    assert (desa["kabupaten_code"] == desa["code"].str[:5]).all()
    assert (kec["kabupaten_code"] == kec.index.str[:5]).all()
    grown = {
        level: {c: shapely.buffer(g, 1e-9) for c, g in f.geometry.items()} for level, f in (("kec", kec), ("kab", kab))
    }
    outside = [
        code
        for code, k8, k5, geom in zip(desa["code"], desa["kecamatan_code"], desa["kabupaten_code"], desa.geometry)
        if not (grown["kec"][k8].covers(geom) and grown["kab"][k5].covers(geom))
    ]
    assert outside == []
    points = shapely.points(desa["rep_lon"].to_numpy(), desa["rep_lat"].to_numpy())
    assert shapely.contains(desa.geometry.to_numpy(), points).all()
    assert desa.geometry.is_valid.all() and kec.geometry.is_valid.all() and kab.geometry.is_valid.all()


def test_desa_outside_their_upstream_kabupaten_outline_are_reported(province_template, province):
    _, frames = province
    desa = frames["desa"]
    raw_kab = read_dump(SHARED_DATA / "wilayah_boundaries" / "db/kab/wilayah_boundaries_kab_17.sql").set_index("code")
    assert set(frames["upstream"]) == set(raw_kab.index)  # every kabupaten keeps its upstream polygon
    for code, geom in frames["upstream"].items():
        assert geom.equals_exact(raw_kab.geometry[code], 1e-12), code
    points = shapely.points(desa["rep_lon"].to_numpy(), desa["rep_lat"].to_numpy())
    outlines = [raw_kab.geometry[k] for k in desa["kabupaten_code"]]
    outside = sorted(desa.loc[~shapely.contains(outlines, points), "code"])
    reported = sorted(re.match(r"desa (\S+) ", n).group(1) for n in province_template.report.notes)
    assert reported == outside and outside  # Kota Bengkulu has two (measured 17.71.03.1001, 17.71.03.1013)
    assert all("17.71" in n and "Kota Bengkulu" in n for n in province_template.report.notes)


def test_invalid_upstream_polygons_are_repaired_and_reported(province_template, province):
    """Every desa polygon GEOS finds invalid in the raw files is repaired and named with its file and row.

    FACTS.md counts ten invalid polygons; read as the upstream readers draw them (the rings after the first
    are holes), one is invalid (17.03.25.2005 Suka Baru, a self-intersecting ring). The nine others FACTS
    counts (3 in 17.03 with Suka Baru, 2 in 17.04, 3 in 17.05, 2 in 17.08, plus Talang Kabu 17.05.14.2003
    whose holes sit in a multipolygon) are desa with enclaves: their holes are kept, and another desa fills
    each hole exactly, as checked below.
    """
    _, frames = province
    folder = SHARED_DATA / "wilayah_boundaries" / "db/kel/17"
    invalid = []
    for path in sorted(folder.glob("*.sql")):
        raw = read_dump(path)
        for row_number, (code, name, geom) in enumerate(zip(raw["code"], raw["name"], raw.geometry), start=1):
            if not geom.is_valid:
                invalid.append((path.name, row_number, code, name))
    assert invalid  # the mirror has at least one
    repairs = province_template.report.repairs
    assert len(repairs) == len(invalid)
    for (file, row_number, code, name), line in zip(invalid, repairs):
        assert line.startswith(f"{file} row {row_number} ({code} {name}): repaired invalid polygon ("), line
    stored = frames["desa"].set_index("code")
    for _, _, code, _ in invalid:
        assert stored.geometry[code].is_valid and stored.geometry[code].area > 0
    # the desa with holes keep them, and each hole is another desa's land
    desa = frames["desa"]
    holed = 0
    for code, geom in zip(desa["code"], desa.geometry):
        for poly in shapely.get_parts(geom):
            for ring in poly.interiors:
                hole = shapely.Polygon(ring)
                others = desa[(desa["code"] != code) & desa.intersects(hole)]
                assert shapely.union_all(others.geometry.to_numpy()).intersection(hole).area == pytest.approx(
                    hole.area, rel=1e-3
                ), code
                holed += 1
    assert holed >= 9


def test_second_import_changes_nothing(province_template, tmp_path, boundary_source):
    app = _province_app(province_template.path, tmp_path, boundary_source)
    try:
        before = snapshot(app)
        with app.app_context():
            session = get_session()
            version = data_version(session)
            report = import_boundaries(session, app.config["GEO_APP_SETTINGS"])
            assert data_version(session) == version
        assert report.counts.changed is False
        assert report.counts.unchanged == province_template.report.counts.inserted
        assert report.counts.updated == {"kabupaten": 0, "kecamatan": 0, "desa": 0}
        assert report.repairs == province_template.report.repairs and report.notes == province_template.report.notes
        assert snapshot(app) == before
    finally:
        app.extensions["geo_app.engine"].dispose()


def test_mukomuko_rows_are_the_same_as_in_a_single_kabupaten_import(app, province):
    """GEO_APP_KABUPATEN=17.06 (the default template) and the province give Mukomuko the same rows."""
    _, frames = province
    with app.app_context():
        session = get_session()
        single = {
            "kabupaten": kabupaten_frame(session),
            "kecamatan": kecamatan_frame(session),
            "desa": desa_frame(session),
        }
    for level, frame in single.items():
        mine = frames[level][frames[level]["code"].str.startswith("17.06")].reset_index(drop=True)
        assert len(mine) == len(frame) > 0
        columns = [c for c in frame.columns if c != "geometry"]
        assert mine[columns].equals(frame[columns]), level
        assert all(shapely.to_wkb(a) == shapely.to_wkb(b) for a, b in zip(mine.geometry, frame.geometry)), level


def test_list_command_rolls_up_by_kabupaten(province):
    app, frames = province
    result = app.test_cli_runner().invoke(args=["boundaries", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1].startswith("129 kecamatan, 1513 desa/kelurahan")
    per_kab = frames["desa"]["kabupaten_code"].value_counts()
    for code, name in zip(frames["kabupaten"]["code"], frames["kabupaten"]["name"]):
        assert any(line.startswith(f"{code} {name}: ") and f" {per_kab[code]} desa/kelurahan" in line for line in lines)


def test_a_list_of_two_kabupaten_imports_both(empty_app, boundary_source):
    result = empty_app.test_cli_runner().invoke(args=["boundaries", "import", "--kabupaten", "17.06,17.71"])
    assert result.exit_code == 0, result.output
    assert "kabupaten/kota: 2 (17.06, 17.71)" in result.output
    assert "desa: 218 baru/new" in result.output  # 151 + 67 (FACTS.md)
    with empty_app.app_context():
        assert sorted(kabupaten_frame(get_session())["code"]) == ["17.06", "17.71"]


def test_a_file_with_a_province_or_a_list(empty_app, bigstyle_shapefile):
    """From a vector file, a province code means the kabupaten of it the file holds; a listed kabupaten the
    file lacks is refused, naming it, and nothing is written."""
    runner = empty_app.test_cli_runner()
    base = ["boundaries", "import", str(bigstyle_shapefile), "--preset", "big"]
    before = snapshot(empty_app)
    refused = runner.invoke(args=[*base, "--kabupaten", "17.06,17.01"])
    assert refused.exit_code == 1
    assert (
        f"Error: {bigstyle_shapefile}: no desa of kabupaten 17.01 (--kabupaten 17.06,17.01) in the file"
        in refused.output
    )
    refused = runner.invoke(args=[*base, "--kabupaten", "16"])
    assert refused.exit_code == 1 and "no desa code of province 16 (--kabupaten)" in refused.output
    assert snapshot(empty_app) == before
    result = runner.invoke(args=[*base, "--kabupaten", "17"])
    assert result.exit_code == 0, result.output
    assert "desa: 151 baru/new" in result.output
