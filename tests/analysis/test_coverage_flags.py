"""Issue 10: statuses and flags, reach, windows, the plan ahead, placement and security presets,
each pinned on the real desa polygons with tiny hand-built records (see tests/test_coverage_rules.py)."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geo_app.analysis.coverage import CoverageSettings
from geo_app.analysis.placement import assign_desa
from tests.analysis.test_coverage_rules import (
    NENGGALO,
    PASAR_BANTAL,
    PENARIK_DESA,
    TERAMANG,
    frames,  # noqa: F401 (fixture)
    incident,
    meeting,
    row,
    run,
    tps,
)


def test_reached_desa_without_tps_is_no_data_and_unreached_is_uncovered(frames):  # noqa: F811
    result = run(frames, meetings=[meeting(1, "2024-11-11", "desa", TERAMANG, PASAR_BANTAL)])
    assert row(result, PASAR_BANTAL)["status"] == "no_data"
    assert list(row(result, PASAR_BANTAL)["flags"]) == ["no_data"]
    assert row(result, NENGGALO)["status"] == "uncovered"
    assert list(row(result, NENGGALO)["flags"]) == ["uncovered", "no_data"]
    assert result.summary["desa_without_tps"] == 151
    assert result.kecamatan.set_index("code").loc[TERAMANG, "desa_no_tps"] == 13


def test_unreached_short_tps_is_uncovered_and_flagged_insecure(frames):  # noqa: F811
    result = run(frames, stations=[tps(1, PASAR_BANTAL, police=0, linmas=1)])
    r = row(result, PASAR_BANTAL)
    assert r["status"] == "uncovered"
    assert list(r["flags"]) == ["uncovered", "insecure"]
    gaps = result.gaps().set_index("code")
    assert any("kurang personel" in line for line in gaps.loc[PASAR_BANTAL, "reasons_id"])


def test_closed_incident_after_last_rakor_raises_no_flag(frames):  # noqa: F811
    m = [meeting(1, "2024-11-01", "desa", TERAMANG, PASAR_BANTAL), meeting(2, "2024-11-01", "desa", TERAMANG, NENGGALO)]
    stations = [tps(1, PASAR_BANTAL), tps(2, NENGGALO)]
    incs = [
        incident(1, "2024-11-10 10:00", "low", "closed", PASAR_BANTAL),
        incident(2, "2024-11-10 10:00", "low", "dismissed", PASAR_BANTAL),
        incident(3, "2024-11-10 10:00", "low", "reported", NENGGALO),
    ]
    result = run(frames, meetings=m, stations=stations, incidents=incs)
    assert row(result, PASAR_BANTAL)["status"] == "covered" and list(row(result, PASAR_BANTAL)["flags"]) == []
    assert row(result, NENGGALO)["status"] == "covered"  # weight 1 < threshold 3: not at_risk
    assert list(row(result, NENGGALO)["flags"]) == ["follow_up"]
    assert NENGGALO in set(result.gaps()["code"])


def test_venue_desa_of_a_listless_kecamatan_rakor_is_reached(frames):  # noqa: F811
    result = run(frames, meetings=[meeting(1, "2024-11-11", "kecamatan", "17.06.10", PENARIK_DESA)])
    assert set(result.desa.loc[result.desa["reached"], "code"]) == {PENARIK_DESA}
    assert bool(result.meetings.loc[0, "reaches_only_venue"]) is True
    assert list(result.meetings.loc[0, "reached_codes"]) == [PENARIK_DESA]


def test_planned_rakor_fills_planned_meeting_date(frames):  # noqa: F811
    m = [
        meeting(1, "2024-12-03", "desa", TERAMANG, PASAR_BANTAL),
        meeting(2, "2024-12-10", "kecamatan", TERAMANG, reaches_all=True),
    ]
    result = run(frames, meetings=m, stations=[tps(1, PASAR_BANTAL), tps(2, NENGGALO)])
    assert row(result, PASAR_BANTAL)["status"] == "uncovered"
    assert str(row(result, PASAR_BANTAL)["planned_meeting_date"].date()) == "2024-12-03"
    assert str(row(result, NENGGALO)["planned_meeting_date"].date()) == "2024-12-10"
    assert row(result, PENARIK_DESA)["planned_meeting_date"] is None or str(
        row(result, PENARIK_DESA)["planned_meeting_date"]
    ) in ("NaT", "None")
    gaps = result.gaps().set_index("code")
    assert gaps.loc[PASAR_BANTAL, "plan"] == "planned" and gaps.loc[PENARIK_DESA, "plan"] == "none"
    assert any("direncanakan 03/12/2024" in x for x in gaps.loc[PASAR_BANTAL, "reasons_id"])  # dd/mm/yyyy (issue 12)
    assert result.summary["meetings_planned"] == 2 and result.summary["meetings_in_window"] == 0


@pytest.mark.parametrize("day, counts", [("2024-09-29", True), ("2024-09-28", False), ("2024-11-27", True)])
def test_sixty_day_window_is_sixty_calendar_days(frames, day, counts):  # noqa: F811
    result = run(frames, meetings=[meeting(1, day, "desa", TERAMANG, PASAR_BANTAL)], window_days="60")
    assert bool(row(result, PASAR_BANTAL)["reached"]) is counts
    assert (result.summary["meeting_window_start"], result.summary["meeting_window_end"]) == (
        "2024-09-29",
        "2024-11-27",
    )
    assert result.summary["incident_window_start"] == "2024-10-29"


def test_tps_on_its_own_border_is_not_a_mismatch(frames):  # noqa: F811
    desa, _ = frames
    geom = desa.set_index("code").loc[PASAR_BANTAL, "geometry"]
    on_border = shapely.get_coordinates(geom.exterior if geom.geom_type == "Polygon" else geom.geoms[0].exterior)[0]
    lon, lat = float(on_border[0]), float(on_border[1])
    result = run(frames, stations=[tps(1, PASAR_BANTAL, lon=lon, lat=lat)])
    assert result.tps.loc[0, "located_desa_code"] == PASAR_BANTAL
    assert bool(result.tps.loc[0, "location_matches"]) is True
    assert result.summary["tps_location_mismatch"] == 0
    placed = assign_desa(gpd.GeoSeries([shapely.Point(lon, lat)], crs="EPSG:4326"), desa, declared=[PASAR_BANTAL])
    assert placed["consistent"].tolist() == [True] and placed["desa_code"].tolist() == [PASAR_BANTAL]


def test_tni_count_toward_police_by_default(frames):  # noqa: F811
    m = [meeting(1, "2024-11-11", "desa", TERAMANG, PASAR_BANTAL)]
    stations = [tps(1, PASAR_BANTAL, police=0, tni=1, linmas=2)]
    result = run(frames, meetings=m, stations=stations)
    assert row(result, PASAR_BANTAL)["status"] == "covered"
    assert bool(result.tps.loc[0, "secured"]) is True
    off = run(frames, meetings=m, stations=stations, tni_counts_as_police="tidak")
    assert row(off, PASAR_BANTAL)["status"] == "insecure"
    assert row(off, PASAR_BANTAL)["shortfall_police"] == 1


def test_presets_are_ratios_rounded_up_per_desa(frames):  # noqa: F811
    m = [meeting(1, "2024-11-11", "desa", TERAMANG, PASAR_BANTAL)]
    stations = [tps(i, PASAR_BANTAL, number=i, police=0) for i in range(1, 7)]  # 6 TPS, no police
    result = run(frames, meetings=m, stations=stations, preset="pilkada-2020")
    r = row(result, PASAR_BANTAL)
    assert r["required_police"] == 2  # 6 x 0.2 = 1.2, rounded up
    assert r["shortfall_police"] == 2 and r["status"] == "insecure"
    assert r["tps_below_requirement"] == 0  # 0.2 per TPS puts nobody at each TPS
    ok = run(
        frames, meetings=m, stations=[*stations[:5], tps(6, PASAR_BANTAL, number=6, police=2)], preset="pilkada-2020"
    )
    assert row(ok, PASAR_BANTAL)["status"] == "covered"
    assert row(run(frames, meetings=m, stations=stations, preset="pemilu-2019"), PASAR_BANTAL)["required_police"] == 3
    with pytest.raises(Exception, match=r"^preset: unknown security preset 'x'"):
        CoverageSettings().with_overrides({"preset": "x"})
    assert dict(CoverageSettings().with_overrides({"requirement.rawan.police": "2/10"}).requirements["rawan"])[
        "police"
    ] == pytest.approx(0.2)


def test_kecamatan_rollup_has_personnel_required_assigned_short(frames):  # noqa: F811
    stations = [tps(1, PASAR_BANTAL, police=0, linmas=2), tps(2, NENGGALO, police=2, tni=1, linmas=3)]
    result = run(frames, stations=stations)
    k = result.kecamatan.set_index("code").loc[TERAMANG]
    assert (k["required_police"], k["assigned_police"], k["short_police"]) == (2, 2, 1)
    assert (k["assigned_tni"], k["assigned_linmas"], k["short_linmas"]) == (1, 5, 0)
    assert k["status_uncovered"] == 13 and k["desa_no_tps"] == 11


def test_preset_on_the_command_line_and_the_api(demo_app):
    runner = demo_app.test_cli_runner()
    base = runner.invoke(args=["coverage", "--format", "json"])
    ratio = runner.invoke(args=["coverage", "--format", "json", "--preset", "pilkada-2020"])
    import json

    a, b = json.loads(base.output), json.loads(ratio.output)
    assert a["settings"]["preset"] == "mukomuko-2024" and b["settings"]["preset"] == "pilkada-2020"
    assert a["summary"]["personnel_required"]["police"] == 328  # 326 x 1 + 1 rawan x 2
    assert b["summary"]["personnel_required"]["police"] < 328
    bad = runner.invoke(args=["coverage", "--preset", "pemilu-2099"])
    assert bad.exit_code != 0 and "preset: unknown security preset 'pemilu-2099'" in bad.output
    client = demo_app.test_client()
    assert client.get("/api/coverage?preset=pemilu-2019").get_json()["settings"]["preset"] == "pemilu-2019"
    resp = client.get("/api/coverage?preset=nope")
    assert resp.status_code == 400 and resp.get_json()["message"].startswith("preset: unknown security preset")


def test_demo_personnel_totals_and_flags_everywhere(demo_app):
    client = demo_app.test_client()
    body = client.get("/api/coverage").get_json()
    assert body["summary"]["personnel_assigned"] == {"police": 240, "tni": 104, "linmas": 654}
    assert all(isinstance(d["flags"], list) and "planned_meeting_date" in d for d in body["desa"])
    assert body["summary"]["status_counts"]["insecure"] > 0
    short = [d for d in body["desa"] if d["shortfall_total"] > 0]
    over = [d for d in body["desa"] if d["assigned_police"] + d["assigned_tni"] > d["required_police"]]
    assert short and over
    csv_text = client.get("/api/coverage?format=csv").get_data(as_text=True)
    assert "flags" in csv_text.splitlines()[0] and "planned_meeting_date" in csv_text.splitlines()[0]
    geo = client.get("/api/coverage?format=geojson").get_json()
    assert all("flags" in f["properties"] for f in geo["features"])
    gaps = client.get("/api/gaps").get_json()["gaps"]
    assert all("flags" in g and "plan" in g for g in gaps)
    # the gap list's CSV headers are in the page's language (issue 12): Tanda, or Flags in English
    assert "Tanda" in client.get("/gaps.csv").get_data(as_text=True).splitlines()[0].lstrip("\ufeff")
    english = client.application.test_client().get("/gaps.csv?lang=en")  # its own session: this one stays Indonesian
    assert "Flags" in english.get_data(as_text=True).splitlines()[0].lstrip("\ufeff")
    # the map's desa popups (data by request since issue 11) show the flags and the planned rakor
    desa = client.get("/api/map/desa?bbox=100,-4,103,-1&zoom=10").get_json()["features"]
    popups = " ".join(f["properties"]["popup_html"] for f in desa)
    assert len(desa) == 151 and "Tanda" in popups and "Rakor terencana" in popups
    mism = [m for m in client.get("/api/mismatches").get_json().get("items", []) if m.get("kind") == "tps"]
    assert len(mism) == body["summary"]["tps_location_mismatch"]


def test_pages_show_flags_plan_and_no_tps_count(demo_app):
    client = demo_app.test_client()
    body = client.get("/api/coverage").get_json()
    flagged = next(d for d in body["desa"] if d["flags"])
    html = client.get(f"/desa/{flagged['code']}").get_data(as_text=True)
    assert 'id="desa-flags"' in html and f'data-flag="{flagged["flags"][0]}"' in html
    gaps_html = client.get("/gaps").get_data(as_text=True)
    assert 'data-plan="none"' in gaps_html and "belum terjangkau, belum ada rencana" in gaps_html
    dash = client.get("/").get_data(as_text=True)
    assert 'id="desa-without-tps"' in dash


def test_rakor_reaching_only_its_venue_is_saved_with_a_warning(client):
    body = {"title": "Rakor Penarik", "date": "2024-11-11", "level": "kecamatan", "desa_code": PENARIK_DESA}
    resp = client.post("/api/meetings", json=body)
    assert resp.status_code == 201
    assert resp.json["warnings"] and "only its venue desa" in resp.json["warnings"][0]
    listed = client.post(
        "/api/meetings",
        json={**body, "title": "Rakor dengan daftar", "reached_desa": "Pasar Bantal"},  # in Teramang Jaya
    )
    assert listed.status_code == 201, listed.json  # a name from another kecamatan, unambiguous
    assert "warnings" not in listed.json and listed.json["reached_desa_codes"] == [PASAR_BANTAL]
    ambiguous = client.post("/api/meetings", json={**body, "title": "Rakor 3", "reached_desa": "Pondok Baru"})
    assert ambiguous.status_code == 400 and "reached_desa" in ambiguous.json["details"]


def test_import_report_warns_about_rakor_reaching_only_its_venue(runner, tmp_path):
    path = tmp_path / "rakor.csv"
    path.write_text(
        "judul;tanggal;tingkat;kode_desa;desa_terjangkau\n"
        f"Rakor A;11/11/2024;kecamatan;{PENARIK_DESA};\n"
        f"Rakor B;12/11/2024;kecamatan;{PENARIK_DESA};semua\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["import", "meetings", str(path)])
    assert result.exit_code == 0, result.output
    assert "baris 2" in result.output and "only its venue desa" in result.output
    assert "baris 3" not in result.output


def test_readme_worked_example(frames):  # noqa: F811
    m = [
        meeting(1, "2024-09-28", "kecamatan", TERAMANG, listed=[PASAR_BANTAL]),
        meeting(2, "2024-12-03", "kecamatan", TERAMANG, listed=[PASAR_BANTAL]),
    ]
    stations = [tps(1, PASAR_BANTAL, 1, police=0, tni=1), tps(2, PASAR_BANTAL, 2, police=0, tni=0)]
    inc = [incident(1, "2024-11-20 10:00", "low", "closed", PASAR_BANTAL)]
    result = run(frames, meetings=m, stations=stations, incidents=inc)
    r = row(result, PASAR_BANTAL)
    assert r["status"] == "uncovered" and list(r["flags"]) == ["uncovered", "insecure"]
    assert str(r["planned_meeting_date"].date()) == "2024-12-03"
    assert result.tps["secured"].tolist() == [True, False]
    assert (r["required_police"], r["assigned_police"], r["assigned_tni"], r["shortfall_police"]) == (2, 0, 1, 1)
    assert r["priority"] == pytest.approx(10 + 0.6 * 2 + 1 + 1)
    assert result.gaps().set_index("code").loc[PASAR_BANTAL, "plan"] == "planned"
