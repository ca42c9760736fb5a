"""Coverage-gap rules (issue 4) on the real desa polygons with small hand-made records.

Every expected figure below is worked out by hand from the rules in geo_app/analysis/coverage.py.
"""

from __future__ import annotations

import math
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo_app.analysis.coverage import CoverageSettings, compute_coverage, locate_points
from geo_app.app_db import get_session
from geo_app.errors import ValidationError
from geo_app.store.adapter import desa_frame, kecamatan_frame
from tests.conftest import app_on_copy

TERAMANG = "17.06.08"  # 13 desa
PASAR_BANTAL, NENGGALO, PONDOK_BARU = "17.06.08.2001", "17.06.08.2002", "17.06.08.2003"
PENARIK_DESA, LUBUK_MUKTI = "17.06.10.2001", "17.06.10.2002"
AIR_DIKIT = "17.06.14"  # 7 desa
PONDOK_LUNANG = "17.06.14.2003"


@pytest.fixture(scope="module")
def frames(tmp_path_factory, template_db, boundary_source):
    """Desa and kecamatan frames of the real boundaries, read once through the storage adapter."""
    with app_on_copy(template_db, tmp_path_factory.mktemp("coverage"), boundary_source) as app:
        with app.app_context():
            session = get_session()
            return desa_frame(session), kecamatan_frame(session)


def meeting(mid, day, level="desa", kec=None, desa=None, reaches_all=False, listed=(), lon=math.nan, lat=math.nan):
    return {
        "id": mid,
        "title": f"Rakor {mid}",
        "date": pd.Timestamp(day),
        "level": level,
        "host_kecamatan_code": kec,
        "host_desa_code": desa,
        "reaches_all_desa": reaches_all,
        "reached_desa_codes": list(listed),
        "lon": lon,
        "lat": lat,
    }


def tps(tid, desa, number=1, voters=300, vuln="tidak_rawan", police=1, tni=0, linmas=2, lon=math.nan, lat=math.nan):
    return {
        "id": tid,
        "desa_code": desa,
        "number": number,
        "voters": voters,
        "vulnerability": vuln,
        "police": police,
        "tni": tni,
        "linmas": linmas,
        "lon": lon,
        "lat": lat,
    }


def incident(iid, at, severity="low", status="reported", desa=None, category="other"):
    return {
        "id": iid,
        "occurred_at": pd.Timestamp(at),
        "severity": severity,
        "status": status,
        "category": category,
        "desa_code": desa,
    }


MEETING_COLS = list(meeting(0, "2024-01-01"))
TPS_COLS = list(tps(0, "x"))
INCIDENT_COLS = list(incident(0, "2024-01-01"))


def run(frames, meetings=(), stations=(), incidents=(), settings=None, **overrides):
    desa, kec = frames
    settings = (settings or CoverageSettings()).with_overrides(overrides)
    return compute_coverage(
        desa,
        kec,
        pd.DataFrame(list(meetings), columns=MEETING_COLS),
        pd.DataFrame(list(stations), columns=TPS_COLS),
        pd.DataFrame(list(incidents), columns=INCIDENT_COLS),
        settings,
    )


def row(result, code):
    return result.desa.set_index("code").loc[code]


def statuses(result, codes):
    table = result.desa.set_index("code")
    return {c: table.loc[c, "status"] for c in codes}


# --- no records --------------------------------------------------------------------------------------


def test_no_records_everything_uncovered_and_empty_frames_equal_none(frames):
    # issue 10: without a rakor no desa is reached, so nothing shows as covered; no TPS is no_data
    result = run(frames)
    assert len(result.desa) == 151 and len(result.kecamatan) == 15
    assert result.summary["status_counts"] == {
        "uncovered": 151,
        "at_risk": 0,
        "insecure": 0,
        "no_data": 0,
        "covered": 0,
    }
    assert result.summary["flag_counts"]["no_data"] == 151
    assert result.summary["tps_count"] == 0 and result.summary["share_tps_secured"] is None
    assert result.summary["desa_reached"] == 0 and result.summary["share_desa_reached"] == 0.0
    assert len(result.gaps()) == 151
    again = compute_coverage(*frames)
    pd.testing.assert_frame_equal(
        pd.DataFrame(result.desa.drop(columns="geometry")), pd.DataFrame(again.desa.drop(columns="geometry"))
    )
    assert result.desa.crs.equals("EPSG:4326") and list(result.desa["code"]) == sorted(frames[0]["code"])


# --- reach rules -------------------------------------------------------------------------------------


def test_uncovered_applies_with_or_without_tps(frames):
    # issue 10: an unreached desa is uncovered whether or not TPS are recorded (was: covered)
    result = run(frames, stations=[tps(1, PASAR_BANTAL, voters=420)])
    assert row(result, PASAR_BANTAL)["status"] == "uncovered"
    assert list(row(result, PASAR_BANTAL)["flags"]) == ["uncovered"]
    assert row(result, NENGGALO)["status"] == "uncovered"
    assert list(row(result, NENGGALO)["flags"]) == ["uncovered", "no_data"]
    assert result.summary["status_counts"]["uncovered"] == 151
    assert result.summary["voters_uncovered"] == 420


def test_desa_level_meeting_reaches_its_host_and_listed_desa_only(frames):
    result = run(
        frames,
        meetings=[meeting(1, "2024-11-11", "desa", TERAMANG, PASAR_BANTAL, listed=[PENARIK_DESA])],
        stations=[tps(1, PASAR_BANTAL), tps(2, NENGGALO), tps(3, PENARIK_DESA)],
    )
    assert statuses(result, [PASAR_BANTAL, NENGGALO, PENARIK_DESA]) == {
        PASAR_BANTAL: "covered",
        NENGGALO: "uncovered",
        PENARIK_DESA: "covered",
    }
    assert row(result, PASAR_BANTAL)["meetings_count"] == 1
    assert row(result, PASAR_BANTAL)["last_meeting_date"] == pd.Timestamp("2024-11-11")
    assert result.summary["desa_reached"] == 2
    assert result.meetings.loc[0, "reached_desa_count"] == 2


def test_kecamatan_meeting_reaches_all_its_desa_only_when_recorded_so(frames):
    desa, _ = frames
    teramang = set(desa.loc[desa["kecamatan_code"] == TERAMANG, "code"])
    assert len(teramang) == 13
    result = run(
        frames,
        meetings=[
            meeting(1, "2024-11-11", "kecamatan", TERAMANG, reaches_all=True),
            meeting(2, "2024-11-12", "kecamatan", AIR_DIKIT, reaches_all=False, listed=[PONDOK_LUNANG]),
            # issue 10: the desa a rakor is held in is always reached (was: not by itself)
            meeting(3, "2024-11-13", "kecamatan", "17.06.10", PENARIK_DESA, reaches_all=False),
        ],
    )
    reached = set(result.desa.loc[result.desa["reached"], "code"])
    assert reached == teramang | {PONDOK_LUNANG, PENARIK_DESA}
    assert result.kecamatan.set_index("code").loc[TERAMANG, "share_desa_reached"] == 1.0
    assert result.kecamatan.set_index("code").loc[AIR_DIKIT, "share_desa_reached"] == pytest.approx(1 / 7)


def test_kecamatan_meeting_with_only_a_host_desa_reaches_that_desas_kecamatan(frames):
    result = run(frames, meetings=[meeting(1, "2024-11-11", "kecamatan", None, PONDOK_LUNANG, reaches_all=True)])
    desa = frames[0]
    assert set(result.desa.loc[result.desa["reached"], "code"]) == set(
        desa.loc[desa["kecamatan_code"] == AIR_DIKIT, "code"]
    )


def test_kabupaten_meeting_reaches_listed_desa_and_its_venue(frames):
    result = run(
        frames,
        meetings=[
            meeting(1, "2024-10-01", "kabupaten", TERAMANG, PASAR_BANTAL, reaches_all=True, listed=[NENGGALO]),
        ],
        stations=[tps(1, PASAR_BANTAL), tps(2, NENGGALO)],
    )
    # issue 10: the venue desa (Pasar Bantal) is reached as well; "semua" only counts for kecamatan level
    assert set(result.desa.loc[result.desa["reached"], "code"]) == {NENGGALO, PASAR_BANTAL}
    assert statuses(result, [PASAR_BANTAL, NENGGALO, PONDOK_BARU]) == {
        PASAR_BANTAL: "covered",
        NENGGALO: "covered",
        PONDOK_BARU: "uncovered",
    }


def test_a_meeting_that_reaches_a_desa_twice_counts_once(frames):
    result = run(
        frames,
        meetings=[
            meeting(1, "2024-11-01", "desa", TERAMANG, PASAR_BANTAL, listed=[PASAR_BANTAL, PASAR_BANTAL]),
            meeting(2, "2024-11-05", "kecamatan", TERAMANG, reaches_all=True, listed=[PASAR_BANTAL]),
        ],
    )
    assert row(result, PASAR_BANTAL)["meetings_count"] == 2
    assert row(result, PASAR_BANTAL)["last_meeting_date"] == pd.Timestamp("2024-11-05")
    assert row(result, NENGGALO)["meetings_count"] == 1


# --- windows -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, counts",
    [
        ("2024-09-28", False),  # day 61 counting 2024-11-27 as day 1 (issue 10: was counted)
        ("2024-09-29", True),  # day 60
        ("2024-09-29 23:30", True),  # the day counts, whatever the time
        ("2024-11-27", True),  # the reference date itself
        ("2024-11-28", False),  # after the reference date
    ],
)
def test_meeting_window_is_inclusive_and_ends_on_the_reference_date(frames, day, counts):
    result = run(frames, meetings=[meeting(1, day, "desa", TERAMANG, PASAR_BANTAL)], stations=[tps(1, PASAR_BANTAL)])
    assert bool(row(result, PASAR_BANTAL)["reached"]) is counts
    assert row(result, PASAR_BANTAL)["status"] == ("covered" if counts else "uncovered")
    assert result.summary["meetings_in_window"] == int(counts)


def test_window_and_date_overrides_move_the_boundaries(frames):
    m = [meeting(1, "2024-10-29", "desa", TERAMANG, PASAR_BANTAL), meeting(2, "2024-10-28", "desa", TERAMANG, NENGGALO)]
    result = run(frames, meetings=m, window_days="30")  # 2024-10-29 .. 2024-11-27
    assert list(result.desa.loc[result.desa["reached"], "code"]) == [PASAR_BANTAL]
    # reference date moved back: 2024-10-28 is the only day, so 2024-10-29 is planned
    result = run(frames, meetings=m, date="2024-10-28", window_days="1")
    assert list(result.desa.loc[result.desa["reached"], "code"]) == [NENGGALO]
    assert result.summary["meeting_window_start"] == result.summary["meeting_window_end"] == "2024-10-28"
    assert str(row(result, PASAR_BANTAL)["planned_meeting_date"].date()) == "2024-10-29"


@pytest.mark.parametrize(
    "at, counts",
    [
        ("2024-10-28 23:59", False),  # day 31 (issue 10: was counted)
        ("2024-10-29 00:00", True),  # day 30
        ("2024-11-27 23:59", True),  # late on the reference date (WIB)
        ("2024-11-28 00:00", False),  # after the reference date
    ],
)
def test_incident_window_is_inclusive_by_calendar_day(frames, at, counts):
    reach = [meeting(1, "2024-10-01", "desa", TERAMANG, PASAR_BANTAL)]
    result = run(
        frames, meetings=reach, stations=[tps(1, PASAR_BANTAL)], incidents=[incident(1, at, "high", desa=PASAR_BANTAL)]
    )
    r = row(result, PASAR_BANTAL)
    assert r["incidents_count"] == int(counts) and r["incidents_high"] == int(counts)
    assert r["status"] == ("at_risk" if counts else "covered")
    assert result.summary["incidents_in_window"] == int(counts)


# --- security ------------------------------------------------------------------------------------------


def test_requirements_by_vulnerability_class_and_shortfall_per_force(frames):
    stations = [
        tps(1, PASAR_BANTAL, 1, 300, "tidak_rawan", police=1, linmas=2),  # secured: 1 police + 2 Linmas
        tps(2, NENGGALO, 1, 300, "tidak_rawan", police=0, linmas=1),  # short 1 police, 1 Linmas
        tps(3, PENARIK_DESA, 1, 500, "rawan", police=1, linmas=2),  # rawan needs 2 police: short 1
        tps(4, PENARIK_DESA, 2, 500, "tidak_rawan", police=3, linmas=4),  # surplus here does not help TPS 3
        tps(5, LUBUK_MUKTI, 1, 400, "rawan", police=2, linmas=2),  # secured
    ]
    m = [meeting(1, "2024-11-01", "kabupaten", listed=[PASAR_BANTAL, NENGGALO, PENARIK_DESA, LUBUK_MUKTI])]
    result = run(frames, meetings=m, stations=stations)
    by_id = result.tps.set_index("id")
    assert by_id["required_police"].to_dict() == {1: 1, 2: 1, 3: 2, 4: 1, 5: 2}
    assert by_id["required_linmas"].to_dict() == {1: 2, 2: 2, 3: 2, 4: 2, 5: 2}
    assert by_id["secured"].to_dict() == {1: True, 2: False, 3: False, 4: True, 5: True}
    expected = {  # tps_count, tps_below, police, tni, linmas shortfall, status
        PASAR_BANTAL: (1, 0, 0, 0, 0, "covered"),
        NENGGALO: (1, 1, 1, 0, 1, "insecure"),
        # issue 10: TPS 3 is below (2 police at every rawan TPS) but the desa's 3 required police are
        # there in total (4), so the desa-level shortfall is 0; still insecure because a TPS is below
        PENARIK_DESA: (2, 1, 0, 0, 0, "insecure"),
        LUBUK_MUKTI: (1, 0, 0, 0, 0, "covered"),
    }
    for code, values in expected.items():
        r = row(result, code)
        got = (
            r["tps_count"],
            r["tps_below_requirement"],
            r["shortfall_police"],
            r["shortfall_tni"],
            r["shortfall_linmas"],
            r["status"],
        )
        assert got == values, code
    assert row(result, PENARIK_DESA)["voters"] == 1000
    assert result.summary["tps_count"] == 5 and result.summary["tps_secured"] == 3
    assert result.summary["share_tps_secured"] == pytest.approx(0.6)
    assert result.summary["shortfall"] == {"police": 1, "tni": 0, "linmas": 1}
    assert list(row(result, NENGGALO)["flags"]) == ["insecure"]


def test_requirement_override_adds_tni_and_a_new_class(frames):
    stations = [tps(1, PASAR_BANTAL, vuln="rawan", police=2, linmas=2), tps(2, NENGGALO, vuln="sangat_rawan", police=2)]
    overrides = {"requirement.rawan.tni": "1", "requirement.sangat_rawan.police": "4"}
    result = run(frames, stations=stations, **overrides)
    assert row(result, PASAR_BANTAL)["shortfall_tni"] == 1
    # a new class starts at 0 for every force: only the 4 police are required
    assert (row(result, NENGGALO)["shortfall_police"], row(result, NENGGALO)["shortfall_linmas"]) == (2, 0)
    with pytest.raises(
        ValidationError,
        match=r"tps: vulnerability must be one of rawan, tidak_rawan: tps id 2 \('sangat_rawan'\); "
        r"a new class needs its requirement \(setting requirement.<class>.<force>\)$",
    ):
        run(frames, stations=stations)


# --- incidents -----------------------------------------------------------------------------------------


def test_incident_counts_weights_and_unresolved(frames):
    inc = [
        incident(1, "2024-11-20 10:00", "low", "reported", PASAR_BANTAL),
        incident(2, "2024-11-21 10:00", "medium", "closed", PASAR_BANTAL),  # counts, not unresolved
        incident(3, "2024-11-22 10:00", "high", "dismissed", PASAR_BANTAL),  # left out entirely
        incident(4, "2024-11-23 08:15", "low", "verified", PASAR_BANTAL),
        incident(5, "2024-11-24 10:00", "medium", "forwarded", NENGGALO),  # 3 unresolved: at threshold
        incident(6, "2024-11-24 10:00", "high", "reported", None),  # no desa: kabupaten totals only
    ]
    reach = [meeting(9, "2024-11-25", "kabupaten", listed=[PASAR_BANTAL, NENGGALO])]
    result = run(frames, meetings=reach, stations=[tps(1, PASAR_BANTAL), tps(2, NENGGALO)], incidents=inc)
    r = row(result, PASAR_BANTAL)
    assert (r["incidents_low"], r["incidents_medium"], r["incidents_high"], r["incidents_count"]) == (2, 1, 0, 3)
    assert r["incident_weight"] == 5.0 and r["unresolved_count"] == 2 and r["unresolved_weight"] == 2.0
    assert r["last_incident_at"] == pd.Timestamp("2024-11-23 08:15")
    assert r["status"] == "covered"  # 2 < threshold 3, and no meeting to come after
    n = row(result, NENGGALO)
    assert (n["status"], list(n["flags"])) == ("at_risk", ["at_risk"])
    assert result.summary["incidents_in_window"] == 5
    assert result.summary["incident_weight"] == 1 + 3 + 1 + 3 + 9
    assert result.summary["unresolved_weight"] == 1 + 1 + 3 + 9
    assert result.summary["incidents_without_desa"] == 1
    # a higher threshold and other weights change the verdict
    stations = [tps(1, PASAR_BANTAL), tps(2, NENGGALO)]
    result = run(frames, meetings=reach, stations=stations, incidents=inc, at_risk_threshold="3.5")
    assert row(result, NENGGALO)["status"] == "covered"
    result = run(frames, meetings=reach, stations=stations, incidents=inc, **{"severity_weight.low": "1.5"})
    assert row(result, PASAR_BANTAL)["unresolved_weight"] == 3.0 and row(result, PASAR_BANTAL)["status"] == "at_risk"


def test_follow_up_is_an_unresolved_incident_after_the_last_reaching_meeting(frames):
    # issue 10: a flag, not at_risk; closed and dismissed incidents never raise it (was: any incident)
    m = [meeting(1, "2024-11-10", "desa", TERAMANG, PASAR_BANTAL), meeting(2, "2024-11-15", "desa", TERAMANG, NENGGALO)]
    inc = [
        incident(1, "2024-11-11 09:00", "low", "reported", PASAR_BANTAL),  # day after the meeting
        incident(2, "2024-11-15 20:00", "low", "reported", NENGGALO),  # same day: not "after"
        incident(3, "2024-11-16 09:00", "low", "dismissed", NENGGALO),  # dismissed: ignored
        incident(5, "2024-11-17 09:00", "low", "closed", NENGGALO),  # closed: ignored
        incident(4, "2024-11-20 09:00", "low", "reported", PONDOK_BARU),  # no meeting reached it
    ]
    stations = [tps(1, PONDOK_BARU), tps(2, PASAR_BANTAL), tps(3, NENGGALO)]
    result = run(frames, meetings=m, incidents=inc, stations=stations)
    assert list(row(result, PASAR_BANTAL)["flags"]) == ["follow_up"]
    assert row(result, PASAR_BANTAL)["status"] == "covered"
    assert row(result, PASAR_BANTAL)["unresolved_after_last_meeting"] == 1
    assert list(row(result, NENGGALO)["flags"]) == [] and row(result, NENGGALO)["status"] == "covered"
    assert list(row(result, PONDOK_BARU)["flags"]) == ["uncovered"]


# --- headline order and reasons ------------------------------------------------------------------------


def test_headline_follows_uncovered_then_at_risk_then_insecure(frames):
    bad_tps = dict(police=0, linmas=0)
    stations = [tps(1, PASAR_BANTAL, **bad_tps), tps(2, NENGGALO, **bad_tps), tps(3, PONDOK_BARU, **bad_tps)]
    inc = [incident(i, "2024-11-20", "high", "reported", code) for i, code in enumerate([PASAR_BANTAL, NENGGALO], 1)]
    m = [meeting(1, "2024-11-25", "desa", TERAMANG, NENGGALO), meeting(2, "2024-11-25", "desa", TERAMANG, PONDOK_BARU)]
    result = run(frames, meetings=m, stations=stations, incidents=inc)
    assert list(row(result, PASAR_BANTAL)["flags"]) == ["uncovered", "at_risk", "insecure"]
    assert list(row(result, NENGGALO)["flags"]) == ["at_risk", "insecure"]
    assert list(row(result, PONDOK_BARU)["flags"]) == ["insecure"]
    assert statuses(result, [PASAR_BANTAL, NENGGALO, PONDOK_BARU]) == {
        PASAR_BANTAL: "uncovered",
        NENGGALO: "at_risk",
        PONDOK_BARU: "insecure",
    }
    gaps = result.gaps()
    lines = gaps.set_index("code").loc[PASAR_BANTAL]
    # dates dd/mm/yyyy, as on every page and export (issue 12)
    assert lines["reasons_id"] == [
        "Belum dijangkau rakor dari 29/09/2024 sampai 27/11/2024 (1 TPS, 300 pemilih); belum ada rencana rakor",
        "1 insiden belum tuntas dengan bobot 9 (ambang 3) dalam 30 hari terakhir",
        "1 dari 1 TPS kurang personel pengamanan; desa kurang 1 Polri, 2 Linmas",
    ]
    assert lines["reasons_en"] == [
        "No coordination meeting reached it from 29/09/2024 to 27/11/2024 (1 TPS, 300 voters); nothing planned",
        "1 unresolved incidents weighing 9 (threshold 3) in the last 30 days",
        "1 of 1 TPS below the required security personnel; the desa is short of 1 police, 2 Linmas",
    ]


# --- distance ------------------------------------------------------------------------------------------


def _independent_km(desa, code, lon, lat):
    rep = desa.set_index("code").loc[code]
    pts = gpd.GeoSeries([shapely.Point(rep["rep_lon"], rep["rep_lat"]), shapely.Point(lon, lat)], crs="EPSG:4326")
    a, b = pts.to_crs("EPSG:32747")
    return a.distance(b) / 1000


def test_distance_to_nearest_reaching_venue_in_utm(frames):
    desa, kec = frames
    far, near = (101.10, -2.40), (101.35, -2.72)
    m = [
        meeting(1, "2024-11-01", "kabupaten", listed=[PASAR_BANTAL, NENGGALO], lon=far[0], lat=far[1]),
        meeting(2, "2024-11-02", "kabupaten", listed=[PASAR_BANTAL], lon=near[0], lat=near[1]),
        meeting(3, "2024-11-03", "desa", TERAMANG, PONDOK_BARU),  # no point: host desa rep point
        meeting(4, "2024-11-04", "kecamatan", AIR_DIKIT, reaches_all=True),  # host kecamatan rep point
        meeting(5, "2024-11-05", "kabupaten", listed=[PENARIK_DESA]),  # no point, no host: unknown
        meeting(6, "2024-08-01", "kabupaten", listed=[NENGGALO], lon=near[0], lat=near[1]),  # out of window
    ]
    result = run(frames, meetings=m)
    assert row(result, PASAR_BANTAL)["nearest_venue_km"] == pytest.approx(
        _independent_km(desa, PASAR_BANTAL, *near), rel=1e-9
    )
    assert row(result, NENGGALO)["nearest_venue_km"] == pytest.approx(_independent_km(desa, NENGGALO, *far), rel=1e-9)
    assert row(result, PONDOK_BARU)["nearest_venue_km"] == 0.0
    k = kec.set_index("code").loc[AIR_DIKIT]
    assert row(result, PONDOK_LUNANG)["nearest_venue_km"] == pytest.approx(
        _independent_km(desa, PONDOK_LUNANG, k["rep_lon"], k["rep_lat"]), rel=1e-9
    )
    assert bool(row(result, PENARIK_DESA)["reached"]) and math.isnan(row(result, PENARIK_DESA)["nearest_venue_km"])
    assert math.isnan(row(result, LUBUK_MUKTI)["nearest_venue_km"])
    assert result.meetings.set_index("id")["venue_source"].to_dict() == {
        1: "recorded",
        2: "recorded",
        3: "host_desa",
        4: "host_kecamatan",
        5: None,
        6: "recorded",
    }
    # sanity of the independent figure: Pasar Bantal's point is a few km from (101.35, -2.72)
    assert 1 < row(result, PASAR_BANTAL)["nearest_venue_km"] < 10


# --- priority ------------------------------------------------------------------------------------------


def test_priority_score_and_ties_broken_by_code(frames):
    # identical uncovered desa in different kecamatan tie; the lower code ranks first
    stations = [
        tps(1, PENARIK_DESA, voters=500),  # uncovered: 10 + 2*0.5 = 11
        tps(2, PASAR_BANTAL, voters=500),  # same: 11, code 17.06.08 < 17.06.10
        tps(3, NENGGALO, voters=2000, police=0, linmas=0),  # reached, insecure: 2*2 + 3 missing = 7
        tps(4, PONDOK_BARU, voters=250),  # reached, at_risk: 0.5 + one high incident 9 = 9.5
    ]
    m = [meeting(1, "2024-11-01", "kabupaten", listed=[NENGGALO, PONDOK_BARU])]
    inc = [incident(1, "2024-11-20", "high", "verified", PONDOK_BARU)]
    result = run(frames, meetings=m, stations=stations, incidents=inc)
    four = [PASAR_BANTAL, PENARIK_DESA, PONDOK_BARU, NENGGALO]
    gaps = result.gaps()
    # issue 10: every unreached desa is a gap now (priority 10 without voters), so the two reached
    # desa rank after the 149 unreached ones
    assert list(gaps["code"].head(2)) == [PASAR_BANTAL, PENARIK_DESA]
    mine = gaps[gaps["code"].isin(four)]
    assert list(mine["code"]) == four
    assert list(mine["rank"]) == [1, 2, 150, 151]
    assert list(mine["priority"]) == [11.0, 11.0, 9.5, 7.0]
    assert list(mine["status"]) == ["uncovered", "uncovered", "at_risk", "insecure"]
    assert gaps["code"].iloc[2] == "17.06.01.2005"  # ties among the 147 others by code (lowest code)
    # the weights are settings
    result = run(frames, meetings=m, stations=stations, incidents=inc, **{"priority_weight.uncovered": "0"})
    assert list(result.gaps()["code"].head(4)) == [PONDOK_BARU, NENGGALO, PASAR_BANTAL, PENARIK_DESA]


# --- roll-ups ------------------------------------------------------------------------------------------


def test_kecamatan_rollup_and_kabupaten_summary(frames):
    stations = [
        tps(1, PASAR_BANTAL, voters=400),  # reached, secured
        tps(2, NENGGALO, voters=350, police=0),  # reached, insecure
        tps(3, PONDOK_BARU, voters=300),  # unreached: uncovered
        tps(4, PONDOK_BARU, 2, voters=200),
        tps(5, PONDOK_LUNANG, voters=100),  # Air Dikit, unreached
    ]
    m = [meeting(1, "2024-11-01", "desa", TERAMANG, PASAR_BANTAL, listed=[NENGGALO])]
    inc = [
        incident(1, "2024-11-20", "medium", "reported", NENGGALO),
        incident(2, "2024-11-21", "low", "closed", PONDOK_LUNANG),
    ]
    result = run(frames, meetings=m, stations=stations, incidents=inc)
    k = result.kecamatan.set_index("code")
    t = k.loc[TERAMANG]
    assert (t["desa_count"], t["desa_reached"], t["tps_count"], t["tps_secured"]) == (13, 2, 4, 3)
    assert t["share_desa_reached"] == pytest.approx(2 / 13) and t["share_tps_secured"] == 0.75
    assert (t["voters"], t["voters_uncovered"], t["incident_weight"], t["unresolved_weight"]) == (1250, 500, 3.0, 3.0)
    # issue 10: the 11 unreached desa are uncovered with or without TPS (was: 1 uncovered, 11 covered)
    assert (t["status_uncovered"], t["status_at_risk"], t["status_insecure"], t["status_covered"]) == (11, 1, 0, 1)
    assert (t["desa_no_tps"], t["flag_no_data"], t["flag_insecure"]) == (10, 10, 1)
    a = k.loc[AIR_DIKIT]
    assert (a["desa_count"], a["desa_reached"], a["voters_uncovered"], a["incident_weight"]) == (7, 0, 100, 1.0)
    assert math.isnan(k.loc["17.06.01", "share_tps_secured"])  # no TPS there
    assert k["desa_count"].sum() == 151
    s = result.summary
    assert (s["desa_reached"], s["tps_count"], s["tps_secured"], s["voters"], s["voters_uncovered"]) == (
        2,
        5,
        4,
        1350,
        600,
    )
    assert s["share_tps_secured"] == 0.8 and s["share_desa_reached"] == pytest.approx(2 / 151)
    assert s["status_counts"] == {"uncovered": 149, "at_risk": 1, "insecure": 0, "no_data": 0, "covered": 1}
    assert s["desa_without_tps"] == 147
    assert isinstance(result.kecamatan, gpd.GeoDataFrame) and result.kecamatan.crs.equals("EPSG:4326")


# --- TPS points ----------------------------------------------------------------------------------------


def test_tps_points_located_in_desa_and_mismatch_counted(frames):
    desa, _ = frames
    reps = desa.set_index("code")
    inside = reps.loc[PASAR_BANTAL, ["rep_lon", "rep_lat"]].to_numpy(float)
    other = reps.loc[NENGGALO, ["rep_lon", "rep_lat"]].to_numpy(float)
    stations = [
        tps(1, PASAR_BANTAL, lon=inside[0], lat=inside[1]),
        tps(2, PASAR_BANTAL, 2, lon=other[0], lat=other[1]),  # its point lies in Nenggalo
        tps(3, PASAR_BANTAL, 3),  # no point
        tps(4, PASAR_BANTAL, 4, lon=100.0, lat=-2.5),
    ]  # in the sea, west of the coast
    result = run(frames, stations=stations)
    t = result.tps.set_index("id")
    assert t["located_desa_code"].to_dict() == {1: PASAR_BANTAL, 2: NENGGALO, 3: None, 4: None}
    assert t["location_matches"].tolist() == [True, False, pd.NA, False]
    assert result.summary["tps_with_point"] == 3 and result.summary["tps_location_mismatch"] == 2
    # independent check with a plain loop over the polygons
    for tid, code in t["located_desa_code"].items():
        lon, lat = t.loc[tid, "lon"], t.loc[tid, "lat"]
        if math.isnan(lon):
            continue
        hits = [c for c, g in zip(desa["code"], desa.geometry) if g.contains(shapely.Point(lon, lat))]
        assert hits == ([code] if code else [])


def test_point_in_an_overlap_prefers_the_declared_desa(frames):
    desa, _ = frames
    geoms = desa.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="overlaps")
    i, j = next((i, j) for i, j in zip(a, b) if i < j)
    point = shapely.intersection(geoms[i], geoms[j]).representative_point()
    codes = desa["code"].to_numpy()
    assert geoms[i].contains(point) and geoms[j].contains(point)
    lo, hi = sorted([codes[i], codes[j]])
    lon, lat = np.array([point.x, point.x]), np.array([point.y, point.y])
    # issue 10: one placement rule: undeclared, the desa the point lies deepest in; declared, the
    # declared desa when it covers the point (was: the lowest code)
    deepest = locate_points(lon, lat, desa)[0]
    assert deepest in (lo, hi) and list(locate_points(lon, lat, desa)) == [deepest, deepest]
    assert list(locate_points(lon, lat, desa, prefer=np.array([hi, "17.06.99.2999"], dtype=object))) == [hi, deepest]
    assert list(locate_points(lon, lat, desa, prefer=np.array([lo, None], dtype=object))) == [lo, deepest]


def test_desa_in_another_crs_gives_the_same_result(frames):
    desa, kec = frames
    m = [meeting(1, "2024-11-01", "kabupaten", listed=[NENGGALO], lon=101.35, lat=-2.72)]
    stations = [
        tps(
            1,
            NENGGALO,
            lon=desa.set_index("code").loc[NENGGALO, "rep_lon"],
            lat=desa.set_index("code").loc[NENGGALO, "rep_lat"],
        )
    ]
    a = run(frames, meetings=m, stations=stations)
    b = run((desa.to_crs("EPSG:32747"), kec), meetings=m, stations=stations)
    assert a.tps["located_desa_code"].tolist() == b.tps["located_desa_code"].tolist() == [NENGGALO]
    assert row(a, NENGGALO)["nearest_venue_km"] == row(b, NENGGALO)["nearest_venue_km"]


# --- settings ------------------------------------------------------------------------------------------


def test_settings_defaults_follow_facts():
    s = CoverageSettings()
    assert s.reference_date == date(2024, 11, 27)
    assert (s.meeting_window_days, s.incident_window_days, s.at_risk_threshold) == (60, 30, 3.0)
    assert dict(s.requirements["tidak_rawan"]) == {"police": 1, "tni": 0, "linmas": 2}
    assert dict(s.requirements["rawan"]) == {"police": 2, "tni": 0, "linmas": 2}
    assert dict(s.severity_weights) == {"low": 1.0, "medium": 3.0, "high": 9.0}
    assert s.unresolved_statuses == ("forwarded", "reported", "verified")
    assert s.with_overrides({"date": "", "window_days": None}) == s
    assert s.with_overrides({"window_days": "60"}).cache_key() == s.cache_key()
    assert s.with_overrides({"window_days": "61"}).cache_key() != s.cache_key()
    changed = s.with_overrides({"unresolved_statuses": "reported", "incident_window_days": "7", "weight.high": "5"})
    assert (changed.unresolved_statuses, changed.incident_window_days, changed.severity_weights["high"]) == (
        ("reported",),
        7,
        5.0,
    )


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("window_days", "abc", r"^window_days: expected a whole number of days from 0 to 3650, got 'abc'$"),
        ("window_days", "-1", r"^window_days: expected a whole number of days from 0 to 3650, got -1$"),
        (
            "incident_window_days",
            "4000",
            r"^incident_window_days: expected a whole number of days from 0 to 3650, got 4000$",
        ),
        ("incident_window_days", "2.5", r"^incident_window_days: expected a whole number of days"),
        ("date", "2024-13-01", r"^date: expected a date as YYYY-MM-DD, got '2024-13-01'$"),
        ("date", "27/11/2024", r"^date: expected a date as YYYY-MM-DD"),
        ("at_risk_threshold", "0", r"^at_risk_threshold: expected a number > 0, got '0'$"),
        ("at_risk_threshold", "many", r"^at_risk_threshold: expected a number, got 'many'$"),
        (
            "severity_weight.extreme",
            "4",
            r"^severity_weight.extreme: unknown severity 'extreme'; known: low, medium, high$",
        ),
        ("severity_weight.low", "-2", r"^severity_weight.low: expected a number >= 0, got '-2'$"),
        (
            "requirement.rawan.police",
            "x",
            r"^requirement.rawan.police: expected a number of personnel per TPS from 0 to 100 \(or a ratio",
        ),
        (
            "requirement.rawan.brimob",
            "1",
            r"^requirement.rawan.brimob: unknown force 'brimob'; known: police, tni, linmas$",
        ),
        (
            "requirement.Sangat Rawan.police",
            "1",
            r"^requirement.Sangat Rawan.police: class name 'Sangat Rawan' must be",
        ),
        ("unresolved_statuses", "reported,lost", r"^unresolved_statuses: unknown status 'lost'; known: reported"),
        (
            "unresolved_statuses",
            "reported,dismissed",
            r"^dismissed cannot be both unresolved and excluded$|unresolved_statuses: dismissed",
        ),
        ("priority_weight.fame", "1", r"^priority_weight.fame: unknown priority weight 'fame'"),
        ("colour", "red", r"^colour: unknown coverage setting; known: date, window_days"),
    ],
)
def test_settings_override_errors_name_the_field(key, value, message):
    with pytest.raises(ValidationError, match=message):
        CoverageSettings().with_overrides({key: value})


def test_settings_constructed_directly_are_checked():
    with pytest.raises(
        ValidationError, match=r"^meeting_window_days: expected a whole number of days from 0 to 3650, got -5$"
    ):
        CoverageSettings(meeting_window_days=-5)
    with pytest.raises(ValidationError, match=r"^requirement.rawan: expected exactly the forces police, tni, linmas$"):
        CoverageSettings(requirements={"rawan": {"police": 2}})
    with pytest.raises(ValidationError, match=r"^reference_date: expected a date, got '2024-11-27'$"):
        CoverageSettings(reference_date="2024-11-27")
    # a date whose window would leave the calendar pandas can hold is refused, not a 500
    with pytest.raises(
        ValidationError, match=r"^reference_date: expected a date from 1900-01-01 to 2200-12-31, got 0001-01-01$"
    ):
        CoverageSettings().with_overrides({"date": "0001-01-01"})


@pytest.mark.parametrize("path", ["/api/coverage", "/map", "/gaps", "/gaps.xlsx", "/gaps/print"])
def test_far_reference_dates_are_a_400_on_every_page(client, path):
    for day in ("0001-01-01", "1899-12-31", "9999-12-31"):
        assert client.get(path, query_string={"date": day}).status_code == 400, (path, day)


# --- bad input -----------------------------------------------------------------------------------------


def test_bad_frames_are_named(frames):
    desa, kec = frames
    with pytest.raises(ValidationError, match=r"^desa: the GeoDataFrame has no coordinate reference system"):
        compute_coverage(desa.set_crs(None, allow_override=True), kec)
    with pytest.raises(ValidationError, match=r"^desa: expected a GeoDataFrame, got DataFrame$"):
        compute_coverage(pd.DataFrame(desa.drop(columns="geometry")), kec)
    with pytest.raises(ValidationError, match=r"^desa: missing column\(s\) rep_lon, rep_lat$"):
        compute_coverage(desa.drop(columns=["rep_lon", "rep_lat"]), kec)
    with pytest.raises(ValidationError, match=r"^tps: missing column\(s\) vulnerability, linmas$"):
        compute_coverage(
            desa, kec, tps=pd.DataFrame(columns=[c for c in TPS_COLS if c not in ("vulnerability", "linmas")])
        )
    with pytest.raises(
        ValidationError, match=r"^desa: kecamatan_code not in the kecamatan frame: 17.06.01.2005 \(17.06.01\)"
    ):
        compute_coverage(desa, kec[kec["code"] != "17.06.01"])


@pytest.mark.parametrize(
    "kind, record, message",
    [
        (
            "meetings",
            meeting(7, "2024-11-01", "provinsi"),
            r"^meetings: level must be one of kabupaten, kecamatan, desa: meetings id 7 \('provinsi'\)$",
        ),
        ("meetings", meeting(7, None, "desa", desa=PASAR_BANTAL), r"^meetings: date is missing: meetings id 7$"),
        (
            "meetings",
            meeting(7, "2024-11-01", "kecamatan", reaches_all=True),
            r"^meetings: reaches_all_desa needs a host kecamatan or host desa: meetings id 7$",
        ),
        (
            "meetings",
            meeting(7, "2024-11-01", "kabupaten", listed=["17.06.99.2001"]),
            r"^meetings: reached_desa_codes has an unknown desa code: meetings id 7 \('17.06.99.2001'\)$",
        ),
        (
            "meetings",
            meeting(7, "2024-11-01", "desa", desa="17.06.08.9999"),
            r"^meetings: host_desa_code is not a known desa code: meetings id 7 \('17.06.08.9999'\)$",
        ),
        (
            "meetings",
            meeting(7, "2024-11-01", "kecamatan", kec="17.06.99"),
            r"^meetings: host_kecamatan_code is not a known kecamatan code: meetings id 7 \('17.06.99'\)$",
        ),
        ("tps", tps(8, "17.06.08.9999"), r"^tps: desa_code is not a known desa code: tps id 8 \('17.06.08.9999'\)$"),
        ("tps", tps(8, PASAR_BANTAL, voters=-3), r"^tps: voters must be a whole number >= 0: tps id 8 \(-3\)$"),
        ("tps", tps(8, PASAR_BANTAL, police="two"), r"^tps: police is not a number: tps id 8 \('two'\)$"),
        ("tps", tps(8, None), r"^tps: desa_code is missing: tps id 8$"),
        (
            "incidents",
            incident(9, "2024-11-01", "extreme", desa=PASAR_BANTAL),
            r"^incidents: severity must be one of low, medium, high: incidents id 9 \('extreme'\)$",
        ),
        (
            "incidents",
            incident(9, "2024-11-01", "low", "lost", desa=PASAR_BANTAL),
            r"^incidents: status must be one of reported, verified, forwarded, closed, dismissed: incidents id 9 \('lost'\)$",
        ),
        (
            "incidents",
            incident(9, "2024-11-01", "low", desa="nowhere"),
            r"^incidents: desa_code is not a known desa code: incidents id 9 \('nowhere'\)$",
        ),
    ],
)
def test_bad_records_are_named(frames, kind, record, message):
    args = {"meetings": (), "stations": (), "incidents": ()}
    args["stations" if kind == "tps" else kind] = [record]
    with pytest.raises(ValidationError, match=message):
        run(frames, **args)


def test_duplicate_ids_and_unparseable_dates_are_named(frames):
    desa, kec = frames
    with pytest.raises(ValidationError, match=r"^tps: duplicate id: tps id 4; tps id 4$"):
        run(frames, stations=[tps(4, PASAR_BANTAL), tps(4, NENGGALO)])
    bad = pd.DataFrame([incident(1, "2024-11-01", desa=PASAR_BANTAL)], columns=INCIDENT_COLS).astype(
        {"occurred_at": object}
    )
    bad.loc[0, "occurred_at"] = "sometime"
    with pytest.raises(
        ValidationError, match=r"^incidents: occurred_at is missing or not a date: incidents id 1 \('sometime'\)$"
    ):
        compute_coverage(desa, kec, incidents=bad)
