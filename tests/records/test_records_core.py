"""Unit tests of the record core: parsing, desa lookup, validation rules, placement on hand-made shapes."""

from __future__ import annotations

from datetime import date, datetime, time

import geopandas as gpd
import pytest
import shapely

from geo_app.analysis.placement import assign_desa
from geo_app.app_db import get_session
from geo_app.errors import RecordInvalid
from geo_app.records import parse
from geo_app.records.desa_lookup import DesaLookup, DesaLookupError
from geo_app.records.schema import RecordContext, clean_record
from geo_app.store.adapter import desa_frame

# --- parsing as Indonesian spreadsheets write values -------------------------------------------------


@pytest.mark.parametrize("raw, expected", [("-2,5613", -2.5613), ("101.25", 101.25), (" 3 ", 3.0), (7, 7.0)])
def test_parse_float_decimal_comma(raw, expected):
    assert parse.parse_float(raw) == expected


@pytest.mark.parametrize("raw, expected", [("1.234", 1234), ("512", 512), (512.0, 512), ("12,0", 12)])
def test_parse_int_thousands_and_excel_floats(raw, expected):
    assert parse.parse_int(raw) == expected


def test_parse_int_rejects_fraction_and_range():
    with pytest.raises(ValueError, match="bukan bilangan bulat"):
        parse.parse_int(2.5)
    with pytest.raises(ValueError, match="maksimal 600"):
        parse.parse_int("601", maximum=600)


def test_parse_dates_day_first():
    assert parse.parse_date("11/11/2024") == date(2024, 11, 11)
    assert parse.parse_date("05/10/2024") == date(2024, 10, 5)  # dd/mm, not mm/dd
    assert parse.parse_date("2024-10-05") == date(2024, 10, 5)
    with pytest.raises(ValueError, match="bukan tanggal"):
        parse.parse_date("31/02/2024")


def test_parse_datetime_converts_to_wib():
    assert parse.parse_datetime("15/10/2024 10:30") == datetime(2024, 10, 15, 10, 30)
    assert parse.parse_datetime("2024-10-15T03:30:00Z") == datetime(2024, 10, 15, 10, 30)
    assert parse.parse_datetime("15/10/2024") == datetime(2024, 10, 15, 0, 0)
    assert parse.parse_time("09.00 WIB") == time(9, 0)


def test_parse_bool_indonesian():
    assert parse.parse_bool("ya") is True and parse.parse_bool("Tidak") is False
    with pytest.raises(ValueError, match="ya/tidak"):
        parse.parse_bool("mungkin")


# --- desa lookup -------------------------------------------------------------------------------------


@pytest.fixture
def ctx(app):
    with app.app_context():
        return RecordContext(desa=desa_frame(get_session()))


def test_kecamatan_spelling_variants(ctx):
    lookup: DesaLookup = ctx.lookup
    assert lookup.kecamatan("Air Majunto") == "17.06.13"
    assert lookup.kecamatan("AIR  MANJUTO") == "17.06.13"
    assert lookup.kecamatan("Kec. Teramang Jaya") == "17.06.08"
    with pytest.raises(DesaLookupError, match="Teramang Jaya"):
        lookup.kecamatan("Teramang Jya")


def test_repeated_desa_name_needs_kecamatan(ctx):
    with pytest.raises(DesaLookupError, match=r"beberapa kecamatan \(Selagan Raya, Teramang Jaya\)"):
        ctx.lookup.desa_by_name("Pondok Baru")
    code = ctx.lookup.desa_by_name("pondok  baru", "Teramang Jaya")
    assert code.startswith("17.06.08.") and ctx.lookup.names[code] == "Pondok Baru"


def test_unknown_desa_gets_suggestions(ctx):
    with pytest.raises(DesaLookupError, match=r"mungkin / did you mean: Penarik \(Kec\. Penarik\)"):
        ctx.lookup.desa_by_name("Pnarik")


# --- validation rules ----------------------------------------------------------------------------------


def test_meeting_reaching_all_desa_of_host(ctx):
    values = clean_record(
        "meetings",
        {
            "title": "Rakor",
            "date": "11/11/2024",
            "level": "kecamatan",
            "kecamatan": "Teramang Jaya",
            "reached_desa": "semua",
            "agencies": "Camat; Panwaslu; kepala desa; Dinas X",
        },
        ctx,
    )
    assert values["host_kecamatan_code"] == "17.06.08" and values["reaches_all_desa"] is True
    assert values["agencies"] == ["camat", "panwascam", "kades", "Dinas X"]


def test_meeting_errors_are_per_field(ctx):
    with pytest.raises(RecordInvalid) as info:
        clean_record("meetings", {"title": "", "date": "32/13/2024", "level": "provinsi", "reached_desa": "semua"}, ctx)
    errors = info.value.errors
    assert set(errors) == {"title", "date", "level"}
    assert "wajib" in errors["title"] and "provinsi" in errors["level"]


def test_desa_in_other_kecamatan_is_rejected(ctx):
    with pytest.raises(RecordInvalid, match="kecamatan: desa 17.06.10.2001 ada di kecamatan 17.06.10"):
        clean_record(
            "meetings",
            {
                "title": "Rakor",
                "date": "01/11/2024",
                "level": "desa",
                "kecamatan": "Ipuh",
                "desa_code": "17.06.10.2001",
            },
            ctx,
        )


def test_tps_needs_a_desa_and_checks_class(ctx):
    with pytest.raises(RecordInvalid) as info:
        clean_record("tps", {"number": "1", "voters": "300", "vulnerability": "sangat rawan"}, ctx)
    assert set(info.value.errors) == {"desa", "vulnerability"}


def test_incident_reported_before_occurring(ctx):
    with pytest.raises(RecordInvalid, match="reported_at"):
        clean_record(
            "incidents",
            {
                "occurred_at": "10/10/2024 10:00",
                "reported_at": "09/10/2024",
                "category": "politik uang",
                "severity": "tinggi",
                "desa": "Penarik",
                "description": "x",
            },
            ctx,
        )


def test_content_hash_is_stable_and_ignores_notes(ctx):
    raw = {
        "occurred_at": "10/10/2024 10:00",
        "category": "hoaks",
        "severity": "rendah",
        "desa": "Penarik",
        "description": "Hoaks di grup WA",
    }
    a = clean_record("incidents", raw, ctx)
    b = clean_record("incidents", {**raw, "notes": "catatan"}, ctx)
    c = clean_record("incidents", {**raw, "severity": "tinggi"}, ctx)
    assert a["content_hash"] == b["content_hash"] != c["content_hash"]


# --- placement on hand-made squares with known answers -------------------------------------------------


def _square(x0: float, y0: float, size: float) -> shapely.Polygon:
    return shapely.box(x0, y0, x0 + size, y0 + size)


@pytest.fixture
def squares():
    # two 1 km squares in UTM 47S that overlap by 100 m, and a third 2 km away
    metric = gpd.GeoDataFrame(
        {"code": ["A", "B", "C"]},
        geometry=[
            _square(700_000, 9_700_000, 1000),
            _square(700_900, 9_700_000, 1000),
            _square(704_000, 9_700_000, 1000),
        ],
        crs="EPSG:32747",
    )
    return metric.to_crs("EPSG:4326")


def _pts(xy):
    return gpd.GeoSeries(gpd.points_from_xy(*zip(*xy)), crs="EPSG:32747").to_crs("EPSG:4326")


def test_placement_rules_known_answers(squares):
    points = _pts(
        [
            (700_500, 9_700_500),  # inside A only
            (700_920, 9_700_500),  # overlap: 80 m inside A, 20 m inside B -> deeper in A
            (702_200, 9_700_500),  # gap: 300 m from B, 1800 m from C
            (703_000, 9_700_500),  # 1100 m from B, 1000 m from C -> too far for 500 m
        ]
    )
    out = assign_desa(points, squares, tolerance_m=500)
    assert out["desa_code"].tolist() == ["A", "A", "B", None]
    assert out["placement"].tolist() == ["inside", "overlap", "nearest", "outside"]
    assert out["distance_m"].iloc[2] == pytest.approx(300, abs=1)


def test_overlap_picks_the_deeper_polygon_and_ties_by_code(squares):
    # 970 m: 30 m from A's east edge, 70 m from B's west edge -> B; 950 m: exactly in the middle -> A (code)
    out = assign_desa(_pts([(700_970, 9_700_500), (700_950, 9_700_500)]), squares)
    assert out["desa_code"].tolist() == ["B", "A"]


def test_placement_tolerance_is_configurable(squares):
    out = assign_desa(_pts([(703_000, 9_700_500)]), squares, tolerance_m=1500)
    assert out["desa_code"].tolist() == ["C"] and out["placement"].tolist() == ["nearest"]


# --- audit trail and soft delete ---------------------------------------------------------------------


def test_every_write_is_audited_and_delete_is_soft(app):
    from geo_app.services import records as service
    from geo_app.services.audit import history

    settings = app.config["GEO_APP_SETTINGS"]
    with app.app_context():
        session = get_session()
        tps = service.create_record(
            session, settings, "tps", {"desa": "Penarik", "number": "3", "voters": "410"}, actor="ani"
        )
        service.update_record(session, settings, "tps", tps["id"], {"police": "1", "linmas": "2"}, actor="budi")
        service.delete_record(session, "tps", tps["id"], actor="budi")
        assert service.list_records(session, settings, "tps", {}).total == 0
        service.restore_record(session, "tps", tps["id"], actor="admin")
        assert service.get_record(session, "tps", tps["id"])["police"] == 1
        entries = history(session, kind="tps", record_id=tps["id"])
    assert [(e["action"], e["actor"]) for e in reversed(entries)] == [
        ("create", "ani"),
        ("update", "budi"),
        ("delete", "budi"),
        ("restore", "admin"),
    ]
    update = next(e for e in entries if e["action"] == "update")
    assert update["before"] == {"police": 0, "linmas": 0} and update["after"] == {"police": 1, "linmas": 2}
    delete = next(e for e in entries if e["action"] == "delete")
    assert delete["before"]["voters"] == 410 and "deleted_at" not in delete["before"]
