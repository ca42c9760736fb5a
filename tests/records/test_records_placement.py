"""Placement and desa lookup on the real Mukomuko polygons (FACTS.md: overlaps, gaps, repeated names).

Every expected desa is computed here from the data with plain shapely, independently of
geo_app.analysis.placement.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import select

from geo_app.app_db import get_session
from geo_app.errors import RecordInvalid
from geo_app.ingest.wilayah import read_dump
from geo_app.records.schema import clean_record
from geo_app.services.records import mismatches, record_context
from geo_app.services.records_import import import_records
from geo_app.store.models import PollingStation

METRIC = "EPSG:32747"
TO_LONLAT = Transformer.from_crs(METRIC, "EPSG:4326", always_xy=True)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield record_context(get_session(), app.config["GEO_APP_SETTINGS"])


@pytest.fixture
def metric_desa(ctx):
    return ctx.desa.to_crs(METRIC).set_index("code").geometry


def lonlat(point: shapely.Point) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(point.x, point.y)
    return float(lon), float(lat)


def tps(lon=None, lat=None, **extra) -> dict:
    return {"number": 1, "voters": 300, "lat": lat, "lon": lon, **extra}


def nearest(metric_desa, point) -> tuple[str, float]:
    dist = metric_desa.distance(point)
    ranked = sorted(zip(dist.to_numpy(), dist.index))
    return ranked[0][1], float(ranked[0][0])


def test_point_inside_one_desa(ctx, metric_desa):
    p = metric_desa["17.06.08.2006"].representative_point()
    lon, lat = lonlat(p)
    values = clean_record("tps", tps(lon, lat), ctx)
    assert (values["desa_code"], values["placement"], values["location_mismatch"]) == ("17.06.08.2006", "inside", False)


def test_point_in_a_gap_goes_to_the_nearest_desa(ctx, metric_desa, boundary_source):
    """The largest gap between the desa polygons and the upstream kabupaten outline (FACTS.md: ~24 km²)."""
    kab = read_dump(Path(boundary_source) / "db/kab/wilayah_boundaries_kab_17.sql", code_prefix="17.06")
    outline = kab.to_crs(METRIC).geometry.iloc[0]
    gaps = outline.difference(shapely.union_all(metric_desa.to_numpy()))
    piece = max(shapely.get_parts(gaps), key=lambda g: g.area)
    point = shapely.get_point(shapely.maximum_inscribed_circle(piece), 0)
    assert not metric_desa.contains(point).any()
    code, distance = nearest(metric_desa, point)
    assert 10 < distance < 500
    lon, lat = lonlat(point)
    values = clean_record("tps", tps(lon, lat), ctx)
    assert (values["desa_code"], values["placement"]) == (code, "nearest")
    # the tolerance is a setting: below the distance, the same point is outside
    ctx.tolerance_m = distance / 2
    ctx._placed.clear()
    with pytest.raises(RecordInvalid, match=r"di luar Kabupaten Mukomuko"):
        clean_record("tps", tps(lon, lat), ctx)


def test_point_in_a_hole_between_desa(ctx, metric_desa):
    """Holes inside the dissolved kabupaten: slivers no desa covers."""
    union = shapely.union_all(metric_desa.to_numpy())
    holes = shapely.Polygon(union.exterior).difference(union)
    piece = max(shapely.get_parts(holes), key=lambda g: g.area)
    point = shapely.get_point(shapely.maximum_inscribed_circle(piece), 0)
    assert not metric_desa.contains(point).any()
    code, _ = nearest(metric_desa, point)
    values = clean_record("tps", tps(*lonlat(point)), ctx)
    assert (values["desa_code"], values["placement"]) == (code, "nearest")


def test_point_outside_the_kabupaten_is_rejected(ctx, metric_desa):
    union = shapely.union_all(metric_desa.to_numpy())
    ring = union.buffer(2000).difference(union.buffer(800))
    point = ring.representative_point()
    _, distance = nearest(metric_desa, point)
    assert distance > 500
    lon, lat = lonlat(point)
    with pytest.raises(RecordInvalid, match=r"di luar Kabupaten Mukomuko.*outside Kabupaten Mukomuko") as info:
        clean_record(
            "incidents",
            {
                "occurred_at": "01/10/2024",
                "category": "apk",
                "severity": "low",
                "description": "x",
                "lat": lat,
                "lon": lon,
            },
            ctx,
        )
    assert set(info.value.errors) == {"lat"}


def test_point_in_an_overlap_goes_to_the_desa_it_lies_deepest_in(ctx, metric_desa):
    geoms = metric_desa.to_numpy()
    codes = list(metric_desa.index)
    tree = shapely.STRtree(geoms)
    overlaps = []
    for i, g in enumerate(geoms):
        for j in tree.query(g, predicate="intersects"):
            if j > i:
                inter = g.intersection(geoms[j])
                if inter.area > 0:
                    overlaps.append((inter.area, codes[i], codes[j], inter))
    assert overlaps, "FACTS.md: the desa polygons overlap (~0.27 km²)"
    _, a, b, piece = max(overlaps, key=lambda t: t[0])
    piece = max(shapely.get_parts(piece), key=lambda g: g.area)
    point = shapely.get_point(shapely.maximum_inscribed_circle(piece), 0)
    inside = [c for c in codes if metric_desa[c].contains(point)]
    assert set(inside) >= {a, b}
    # the rule of placement.py, computed independently: deepest (distance to boundary), ties by code
    expected = sorted(inside, key=lambda c: (-metric_desa[c].boundary.distance(point), c))[0]
    values = clean_record("tps", tps(*lonlat(point)), ctx)
    assert (values["desa_code"], values["placement"]) == (expected, "overlap")


def test_swapped_coordinates_are_rejected_saying_so(ctx):
    with pytest.raises(RecordInvalid, match=r"look swapped \(lintang=101\.2, bujur=-2\.6\)"):
        clean_record("tps", tps(lon=-2.6, lat=101.2, desa_code="17.06.08.2006"), ctx)


def test_ambiguous_desa_name_needs_its_kecamatan(ctx):
    with pytest.raises(RecordInvalid, match=r"'Pondok Baru' ada di beberapa kecamatan \(Selagan Raya, Teramang Jaya\)"):
        clean_record("tps", tps(desa="Pondok Baru"), ctx)
    assert clean_record("tps", tps(desa="Pondok Baru", kecamatan="Selagan Raya"), ctx)["desa_code"] == "17.06.09.2005"
    assert clean_record("tps", tps(desa="pondok  BARU", kecamatan="teramang jaya"), ctx)["desa_code"] == "17.06.08.2003"


def test_misspelt_kecamatan_air_majunto(ctx):
    assert ctx.lookup.kecamatan("Air Majunto") == "17.06.13"
    assert ctx.lookup.kecamatan("Kec. Air Manjuto") == "17.06.13"
    values = clean_record("tps", tps(desa="Tirta Mulya", kecamatan="Air Majunto"), ctx)
    assert values["desa_code"] == "17.06.13.2005"  # not Tirta Mulya in Ipuh (17.06.05.2030)


def test_unknown_desa_name_gets_suggestions(ctx):
    with pytest.raises(RecordInvalid, match=r"desa 'Pondok Lunag' tidak dikenal.*Pondok Lunang \(Kec\. Air Dikit\)"):
        clean_record("tps", tps(desa="Pondok Lunag"), ctx)
    with pytest.raises(RecordInvalid, match=r"kecamatan 'Air Dikitt' tidak dikenal.*Air Dikit"):
        clean_record("tps", tps(desa="Sari Bulan", kecamatan="Air Dikitt"), ctx)


def test_point_and_desa_disagreeing_are_kept_flagged_and_listed(app, tmp_path):
    with app.app_context():
        session = get_session()
        ctx = record_context(session, app.config["GEO_APP_SETTINGS"])
        metric = ctx.desa.to_crs(METRIC).set_index("code").geometry
        lon, lat = lonlat(metric["17.06.05.2006"].representative_point())  # Pasar Ipuh
        path = tmp_path / "tps.csv"
        comma = lambda v: repr(v).replace(".", ",")  # noqa: E731 - decimal commas as Excel writes them here
        path.write_text(
            f"kode_desa;no_tps;jumlah_dpt;lintang;bujur\n17.06.02.1009;1;250;{comma(lat)};{comma(lon)}\n",
            encoding="utf-8-sig",
        )
        result = import_records(session, app.config["GEO_APP_SETTINGS"], "tps", path)
        assert result.inserted == 1
        row = session.scalars(select(PollingStation)).one()
        assert (row.desa_code, row.point_desa_code, row.location_mismatch) == ("17.06.02.1009", "17.06.05.2006", True)
        listed = mismatches(session)
        assert [(m["kind"], m["id"], m["desa_code"], m["point_desa_code"]) for m in listed] == [
            ("tps", row.id, "17.06.02.1009", "17.06.05.2006")
        ]


def test_desa_code_checked_against_names_given_with_it(ctx):
    ok = clean_record("tps", tps(desa_code="17.06.08.2003", desa="Pondok Baru", kecamatan="Teramang Jaya"), ctx)
    assert ok["desa_code"] == "17.06.08.2003"
    # a spelling the lookup does not know is not an error: the code decides
    assert (
        clean_record("tps", tps(desa_code="17.06.11.2007", desa="Lubuk Sanai 2"), ctx)["desa_code"] == "17.06.11.2007"
    )
    with pytest.raises(
        RecordInvalid,
        match=r"kecamatan: desa 17\.06\.08\.2003 ada di kecamatan 17\.06\.08 \(Teramang "
        r"Jaya\), bukan 17\.06\.09 \(Selagan Raya\)",
    ) as info:
        clean_record("tps", tps(desa_code="17.06.08.2003", desa="Pondok Baru", kecamatan="Selagan Raya"), ctx)
    assert set(info.value.errors) == {"kecamatan"}
    with pytest.raises(
        RecordInvalid,
        match=r"desa: kode 17\.06\.08\.2006 adalah Desa Teramang Jaya, bukan Pondok Baru "
        r"\(17\.06\.08\.2003\)",
    ):
        clean_record(
            "incidents",
            {
                "occurred_at": "01/10/2024",
                "category": "apk",
                "severity": "low",
                "description": "x",
                "desa_code": "17.06.08.2006",
                "desa": "Pondok Baru",
            },
            ctx,
        )
