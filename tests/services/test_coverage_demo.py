"""Coverage on the demo set, through the storage adapter, the API and the CLI (issue 4).

Expected totals are read from ../shared/data/FACTS.md; the desa left out of the demo rakor are
worked out from the generated meetings, not from the analysis.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
import shapely
from sqlalchemy import select

from geo_app.app_db import get_session
from geo_app.services.coverage import CoverageCache, get_coverage, load_inputs, to_csv
from geo_app.services.demo import build_demo
from geo_app.services.records import delete_record
from geo_app.store.models import Meeting
from tests.conftest import SHARED_DATA, app_on_copy, snapshot

PENARIK_DESA = "17.06.10.2001"
TERAMANG = "17.06.08"


def facts() -> tuple[int, int]:
    text = (SHARED_DATA / "FACTS.md").read_text(encoding="utf-8")
    dpt = int(re.search(r"DPT \(final voter list\) ([\d,]+) voters", text).group(1).replace(",", ""))
    tps = int(re.search(r"- (\d+) TPS \(polling stations\)", text).group(1))
    return dpt, tps


@pytest.fixture(scope="module")
def demo_result(demo_template, boundary_source, tmp_path_factory):
    with app_on_copy(demo_template, tmp_path_factory.mktemp("res"), boundary_source) as app:
        with app.app_context():
            session = get_session()
            return get_coverage(session), load_inputs(session)


def test_totals_agree_with_facts(demo_result):
    result, _ = demo_result
    dpt, tps = facts()
    assert result.summary["tps_count"] == tps == 327
    assert result.summary["voters"] == dpt == 139_976
    assert int(result.desa["voters"].sum()) == dpt and len(result.tps) == tps


def test_desa_left_out_of_demo_meetings_are_uncovered(demo_result):
    result, frames = demo_result
    demo = build_demo(frames["desa"])  # the generator is deterministic: same meetings as stored
    reached: set[str] = set()
    for m in demo.meetings:
        listed = m.get("reached_desa")
        if listed == "semua":  # recorded as reaching every desa of its kecamatan
            reached |= set(frames["desa"].loc[frames["desa"]["kecamatan_code"] == m["kecamatan"], "code"])
        elif listed:
            reached |= set(listed)
        if m["level"] == "desa":
            reached.add(m["desa_code"])
    left_out = set(frames["desa"]["code"]) - reached
    assert len(left_out) == 12  # the demo leaves 12 desa unreached on purpose
    has_tps = set(frames["tps"]["desa_code"])
    assert left_out <= has_tps
    uncovered = set(result.desa.loc[result.desa["status"] == "uncovered", "code"])
    assert uncovered == left_out
    assert result.summary["voters_uncovered"] == int(
        frames["tps"].loc[frames["tps"]["desa_code"].isin(left_out), "voters"].sum()
    )
    # the real Teramang Jaya rakor (11 Nov 2024) reached all 13 of its desa
    teramang = result.desa[result.desa["kecamatan_code"] == TERAMANG]
    assert len(teramang) == 13 and teramang["reached"].all()


def test_penarik_rawan_tps_is_judged_against_the_rawan_requirement(demo_result, demo_app):
    result, frames = demo_result
    rawan = result.tps[result.tps["vulnerability"] == "rawan"]
    assert rawan["desa_code"].tolist() == [PENARIK_DESA]  # the only rawan TPS (FACTS.md)
    r = rawan.iloc[0]
    assert (r["required_police"], r["required_tni"], r["required_linmas"]) == (2, 0, 2)
    assert (r["police"], r["linmas"], r["secured"]) == (2, 2, True)
    # the same TPS counted as tidak_rawan would need only 1 police; raise the rawan requirement and
    # only the rawan TPS's verdict changes
    client = demo_app.test_client()
    base = {d["code"]: d for d in client.get("/api/coverage?kecamatan=17.06.10").get_json()["desa"]}
    raised = {
        d["code"]: d
        for d in client.get("/api/coverage?kecamatan=17.06.10&requirement.rawan.police=3").get_json()["desa"]
    }
    # the desa's required police rise by 1; its spare police may still cover that, the TPS is short
    assert raised[PENARIK_DESA]["required_police"] == base[PENARIK_DESA]["required_police"] + 1
    assert raised[PENARIK_DESA]["tps_below_requirement"] == base[PENARIK_DESA]["tps_below_requirement"] + 1
    assert "insecure" in raised[PENARIK_DESA]["flags"]
    assert {c: d["shortfall_police"] for c, d in raised.items() if c != PENARIK_DESA} == {
        c: d["shortfall_police"] for c, d in base.items() if c != PENARIK_DESA
    }


def test_tps_desa_membership_agrees_with_a_plain_shapely_loop(demo_result):
    result, frames = demo_result
    desa = frames["desa"]
    polygons = list(zip(desa["code"], desa.geometry))
    tps = result.tps
    assert tps["lon"].notna().all()
    loop = []
    for lon, lat in zip(tps["lon"], tps["lat"]):
        point = shapely.Point(lon, lat)
        hits = [code for code, poly in polygons if poly.contains(point)]
        loop.append(hits[0] if len(hits) == 1 else tuple(hits))
    assert loop == tps["located_desa_code"].tolist()
    # and the demo points lie in the desa they are recorded for
    assert loop == tps["desa_code"].tolist()
    assert result.summary["tps_location_mismatch"] == 0


def test_api_coverage_formats_and_filters(demo_app):
    client = demo_app.test_client()
    body = client.get("/api/coverage").get_json()
    assert body["count"] == 151 and body["summary"]["tps_count"] == 327
    assert body["settings"]["reference_date"] == "2024-11-27" and body["settings"]["meeting_window_days"] == 60
    statuses = {d["status"] for d in body["desa"]}
    assert statuses <= {"uncovered", "at_risk", "insecure", "covered"}

    kec = client.get("/api/coverage?kecamatan=Teramang Jaya").get_json()
    assert kec["count"] == 13 and {d["kecamatan_code"] for d in kec["desa"]} == {TERAMANG}
    assert kec["summary"]["code"] == TERAMANG and kec["summary"]["desa_count"] == 13

    unc = client.get("/api/coverage?status=uncovered").get_json()
    assert unc["count"] == body["summary"]["status_counts"]["uncovered"] == 12
    assert all(d["flags"][0] == "uncovered" and d["meetings_count"] == 0 for d in unc["desa"])

    resp = client.get("/api/coverage?format=csv&status=uncovered")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [r["code"] for r in table] == [d["code"] for d in unc["desa"]]
    assert {r["status"] for r in table} == {"uncovered"}

    geo = client.get("/api/coverage?format=geojson&kecamatan=17.06.08").get_json()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 13
    assert geo["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert geo["features"][0]["properties"]["kecamatan_code"] == TERAMANG


def test_api_settings_parameters_change_the_result(demo_app):
    client = demo_app.test_client()
    # before any kecamatan rakor of the demo (they start on 7 Oct 2024) nothing is reached
    early = client.get("/api/coverage?date=2024-10-06").get_json()
    assert early["summary"]["desa_reached"] == 0 and early["summary"]["status_counts"]["uncovered"] == 151
    assert early["settings"]["reference_date"] == "2024-10-06"
    # a 1-day window on election day: only meetings held that day count
    narrow = client.get("/api/coverage?window_days=0").get_json()
    default = client.get("/api/coverage").get_json()
    assert narrow["summary"]["desa_reached"] < default["summary"]["desa_reached"]
    wide = client.get("/api/coverage?incident_window_days=90").get_json()
    assert wide["summary"]["incidents_in_window"] > default["summary"]["incidents_in_window"]


def test_api_kecamatan_rollup_and_gaps(demo_app):
    client = demo_app.test_client()
    kec = client.get("/api/coverage/kecamatan").get_json()
    assert kec["count"] == 15
    assert sum(k["desa_count"] for k in kec["kecamatan"]) == 151
    assert sum(k["voters"] for k in kec["kecamatan"]) == 139_976
    assert sum(k["status_uncovered"] for k in kec["kecamatan"]) == 12
    for k in kec["kecamatan"]:
        assert k["share_desa_reached"] == round(k["desa_reached"] / k["desa_count"], 4)
    gaps = client.get("/api/gaps").get_json()
    # gaps: every desa not covered, and covered desa that carry a flag (follow_up, location_mismatch)
    flagged_covered = sum(1 for d in client.get("/api/coverage?status=covered").get_json()["desa"] if d["flags"])
    assert gaps["count"] == 151 - kec["summary"]["status_counts"]["covered"] + flagged_covered
    ranks = [g["priority"] for g in gaps["gaps"]]
    assert ranks == sorted(ranks, reverse=True) and [g["rank"] for g in gaps["gaps"]] == list(
        range(1, gaps["count"] + 1)
    )
    first = gaps["gaps"][0]
    assert first["status"] != "covered" and first["reasons_id"] and first["reasons_en"]
    assert len(first["reasons_id"]) == len(first["reasons_en"]) == len(first["flags"])
    unc = [g for g in gaps["gaps"] if g["status"] == "uncovered"]
    assert all(g["reasons_id"][0].startswith("Belum dijangkau rakor dari 29/09/2024 sampai 27/11/2024") for g in unc)
    assert all(
        g["reasons_en"][0].startswith("No coordination meeting reached it from 29/09/2024 to 27/11/2024") for g in unc
    )
    assert all(g["plan"] in ("none", "planned") for g in unc)
    top = client.get("/api/gaps?limit=3&status=uncovered").get_json()
    assert [g["code"] for g in top["gaps"]] == [g["code"] for g in unc[:3]]
    csv_text = client.get("/api/gaps?format=csv").get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("rank,code,name,")


@pytest.mark.parametrize(
    "url, message",
    [
        ("/api/coverage?window_days=abc", "window_days: expected a whole number of days from 0 to 3650, got 'abc'"),
        ("/api/coverage?date=2024-02-30", "date: expected a date as YYYY-MM-DD, got '2024-02-30'"),
        (
            "/api/coverage?status=lost",
            "status: 'lost' tidak dikenal / unknown; pilihan / choose: uncovered, at_risk, insecure, no_data, covered",
        ),
        ("/api/coverage?kecamatan=Atlantis", "kecamatan: 'Atlantis' tidak dikenal / unknown"),
        ("/api/coverage?format=xml", "format: 'xml' tidak dikenal / unknown; pilihan / choose: json, csv, geojson"),
        ("/api/coverage?colour=red", "colour: unknown coverage setting"),
        (
            "/api/coverage/kecamatan?incident_window_days=-3",
            "incident_window_days: expected a whole number of days from 0 to 3650, got -3",
        ),
        ("/api/gaps?status=covered", "status: covered desa are not gaps"),
        ("/api/gaps?limit=0", "limit: expected a whole number >= 1, got '0'"),
        ("/api/gaps?format=kml", "format: 'kml' tidak dikenal / unknown; pilihan / choose: json, csv, geojson"),
    ],
)
def test_api_bad_parameters_are_400_and_change_nothing(demo_app, url, message):
    before = snapshot(demo_app)
    resp = demo_app.test_client().get(url)
    assert resp.status_code == 400
    assert resp.get_json()["message"].startswith(message)
    assert snapshot(demo_app) == before


def test_results_are_cached_per_data_version_and_settings(demo_app):
    client = demo_app.test_client()
    first = client.get("/api/coverage").get_json()
    cache: CoverageCache = demo_app.extensions["geo_app.coverage_cache"]
    assert (cache.hits, cache.misses) == (0, 1)
    client.get("/api/gaps")
    client.get("/api/coverage/kecamatan")
    assert (cache.hits, cache.misses) == (2, 1)
    client.get("/api/coverage?window_days=30")
    assert cache.misses == 2
    # a write bumps the data version: the next request computes afresh and sees it
    with demo_app.app_context():
        session = get_session()
        teramang_rakor = session.scalar(select(Meeting.id).where(Meeting.external_id == "demo-rakor-001"))
        delete_record(session, "meetings", teramang_rakor)
    after = client.get("/api/coverage").get_json()
    assert cache.misses == 3
    teramang = {d["code"]: d for d in after["desa"] if d["kecamatan_code"] == TERAMANG}
    before = {d["code"]: d for d in first["desa"] if d["kecamatan_code"] == TERAMANG}
    assert all(d["meetings_count"] == before[c]["meetings_count"] - 1 for c, d in teramang.items())
    assert after["summary"]["status_counts"]["uncovered"] > first["summary"]["status_counts"]["uncovered"]


def test_cli_coverage(demo_app):
    runner = demo_app.test_cli_runner()
    out = runner.invoke(args=["coverage", "--status", "uncovered", "--format", "json"])
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert body["count"] == 12 and {d["status"] for d in body["desa"]} == {"uncovered"}
    table = runner.invoke(args=["coverage", "--kecamatan", "17.06.08"])
    assert table.exit_code == 0, table.output
    lines = table.output.strip().splitlines()
    assert lines[0].split()[:4] == ["Kode", "Desa", "Kecamatan", "Status"]
    assert len(lines) == 1 + 13 + 1 and lines[-1].startswith("13 desa;")
    csv_out = runner.invoke(args=["coverage", "--format", "csv", "--date", "2024-10-06"])
    rows = list(csv.DictReader(io.StringIO(csv_out.output)))
    assert len(rows) == 151 and {r["status"] for r in rows} == {"uncovered"}
    geo = json.loads(runner.invoke(args=["coverage", "--format", "geojson", "--kecamatan", "Air Dikit"]).output)
    assert len(geo["features"]) == 7
    args = ["coverage", "--format", "json", "--kecamatan", "17.06.10"]
    base = {d["code"]: d for d in json.loads(runner.invoke(args=args).output)["desa"]}
    custom = {
        d["code"]: d
        for d in json.loads(runner.invoke(args=[*args, "--set", "requirement.rawan.police=3"]).output)["desa"]
    }
    assert custom[PENARIK_DESA]["required_police"] == base[PENARIK_DESA]["required_police"] + 1
    assert "insecure" in custom[PENARIK_DESA]["flags"] and "insecure" not in base[PENARIK_DESA]["flags"]


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["coverage", "--window-days", "x"],
            "Error: window_days: expected a whole number of days from 0 to 3650, got 'x'",
        ),
        (["coverage", "--status", "bad"], "Error: status: 'bad' tidak dikenal / unknown"),
        (["coverage", "--kecamatan", "17.06.99"], "Error: kecamatan: '17.06.99' tidak dikenal / unknown"),
        (
            ["coverage", "--set", "requirement.rawan.police"],
            "Error: --set: expected KEY=VALUE, got 'requirement.rawan.police'",
        ),
        (
            ["coverage", "--set", "priority_weight.fame=2"],
            "Error: priority_weight.fame: unknown priority weight 'fame'",
        ),
    ],
)
def test_cli_bad_options(demo_app, args, message):
    before = snapshot(demo_app)
    out = demo_app.test_cli_runner().invoke(args=args)
    assert out.exit_code != 0
    assert message in out.output
    assert snapshot(demo_app) == before


def test_coverage_on_boundaries_without_records(app):
    body = app.test_client().get("/api/coverage").get_json()
    assert body["count"] == 151 and body["summary"]["tps_count"] == 0
    # nothing reached and no TPS: every desa is uncovered and flagged no_data (issue 10)
    assert body["summary"]["status_counts"]["uncovered"] == 151 and body["summary"]["share_tps_secured"] is None
    assert body["summary"]["desa_without_tps"] == 151


def test_coverage_without_boundaries_is_503(empty_app):
    resp = empty_app.test_client().get("/api/coverage")
    assert resp.status_code == 503 and resp.get_json()["error"] == "boundaries_missing"


def test_csv_cells_cannot_become_formulas():
    text = to_csv(
        [{"name": '=HYPERLINK("http://x")', "n": -3, "reasons": ["+a", "b"]}, {"name": "@SUM(A1)", "n": None}],
        ["name", "n", "reasons"],
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ['\'=HYPERLINK("http://x")', "-3", "'+a; b"]
    assert rows[2] == ["'@SUM(A1)", "", ""]
