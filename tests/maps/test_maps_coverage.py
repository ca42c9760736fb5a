"""What the coverage map draws, on the real boundaries with the demo set: the data the map pages fetch
(``/api/map/...``, drawn by the shell's layers): status colours and legend counts, TPS/incident/rakor
popups, escaping of user text, the kecamatan and category filters."""

from __future__ import annotations

import re

import pytest

from geo_app.app_db import get_session
from geo_app.i18n import STATUS_COLORS
from geo_app.services import layers as layer_service
from geo_app.services.records import create_record
from tests.conftest import TEST_ADMIN

EVIL = '<script>alert("x")</script> & "q"'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;q&quot;"
#: the whole kabupaten at a zoom where the demo's records are drawn one by one
AREA = "bbox=100,-4,103,-1&zoom=12"


@pytest.fixture
def view_data(demo_app):
    """(view, result) of the default view, read through the service."""
    with demo_app.app_context():
        return layer_service.load_view(get_session(), {})


def _features(client, path: str, query: str = "") -> list[dict]:
    body = client.get(f"/api/map/{path}?{AREA}&{query}").get_json()
    return [f["properties"] for f in body["features"]]


def test_desa_filled_by_status_and_legend_counts(demo_client, view_data):
    _view, result = view_data
    desa = _features(demo_client, "desa")
    status = dict(zip(result.desa["code"], result.desa["status"]))
    assert len(desa) == 151 and {d["code"] for d in desa} == set(status)
    # every desa its status and the colour of its status (the palette of i18n.STATUS_COLORS)
    assert all(d["status"] == status[d["code"]] and d["color"] == STATUS_COLORS[d["status"]] for d in desa)
    legend = demo_client.get("/api/map/legend").get_json()
    assert legend["counts"] == result.summary["status_counts"] and sum(legend["counts"].values()) == 151


def test_gap_popup_gives_status_and_reasons(demo_client, view_data):
    _view, result = view_data
    gap = result.gaps().iloc[0]
    props = next(d for d in _features(demo_client, "desa") if d["code"] == gap["code"])
    assert "Belum terjangkau rakor" in props["popup_html"] or "Rawan insiden" in props["popup_html"]
    assert gap["reasons_id"][0] in props["popup_html"]
    assert f'href="/desa/{gap["code"]}"' in props["popup_html"]


def test_tps_popups_show_personnel_against_requirement(demo_client, view_data):
    _view, result = view_data
    tps = _features(demo_client, "points/tps")
    assert len(tps) == 327
    short = result.tps[~result.tps["secured"]]
    assert sum(p["secured"] is False for p in tps) == len(short) > 0
    rawan = [p for p in tps if p["vulnerability"] == "rawan"]
    assert len(rawan) == 1 and "Polri 2/2" in rawan[0]["popup_html"] and "Linmas 2/2" in rawan[0]["popup_html"]
    assert all(re.search(r"Polri \d+/[12], TNI \d+/0, Linmas \d+/2", p["popup_html"]) for p in tps)


def test_incident_and_meeting_popups(demo_app, demo_client, view_data):
    view, result = view_data
    incidents = _features(demo_client, "points/incidents")
    assert len(incidents) == result.summary["incidents_in_window"] > 0
    assert {p["severity"] for p in incidents} == {"high", "medium", "low"}
    meetings = _features(demo_client, "points/meetings")
    with demo_app.app_context():
        located = layer_service.visible_meetings(get_session(), result, view)["venue_lon"].notna().sum()
    assert len(meetings) == located
    teramang = [p for p in meetings if "Teramang Jaya" in p["popup_html"] and "11/11/2024" in p["popup_html"]]
    assert len(teramang) == 1
    assert "Sekretaris daerah" in teramang[0]["popup_html"]
    assert "semua desa di kecamatan Teramang Jaya" in teramang[0]["popup_html"]
    heat = demo_client.get(f"/api/map/heat?{AREA}").get_json()
    assert heat["total"] == len(incidents) and heat["max"] > 0


def test_user_text_in_popups_is_escaped(demo_app, demo_client):
    settings = demo_app.config["GEO_APP_SETTINGS"]
    desa = "17.06.10.2001"
    with demo_app.app_context():
        session = get_session()
        for kind, payload in (
            (
                "incidents",
                {"occurred_at": "20/11/2024 10:00", "category": "hoaks", "severity": "tinggi", "description": EVIL},
            ),
            ("meetings", {"title": "Rakor desa", "date": "15/11/2024", "level": "desa", "venue": EVIL}),
            ("tps", {"number": 99, "voters": 100, "address": EVIL}),
        ):
            create_record(session, settings, kind, {**payload, "desa_code": desa}, actor=TEST_ADMIN)
    for path in ("points/incidents", "points/meetings", "points/tps"):
        popups = [p["popup_html"] for p in _features(demo_client, path)]
        assert any(ESCAPED in p for p in popups), path
        assert not any("<script>" in p for p in popups), path


def test_kecamatan_and_category_filters(demo_client, view_data):
    _view, result = view_data
    query = "kecamatan=Penarik&category=Politik%20uang&lang=en"
    desa = _features(demo_client, "desa", query)
    assert {d["kecamatan_code"] for d in desa} == {"17.06.10"} and len(desa) == 14
    tps = _features(demo_client, "points/tps", query)
    assert {p["desa_code"][:8] for p in tps} == {"17.06.10"}
    assert len(tps) == int(result.desa.loc[result.desa["kecamatan_code"] == "17.06.10", "tps_count"].sum())
    every = _features(demo_client, "points/incidents")
    incidents = _features(demo_client, "points/incidents", query)
    expected = [p for p in every if p["category"] == "money_politics" and p["desa_code"][:8] == "17.06.10"]
    assert sorted(p["id"] for p in incidents) == sorted(p["id"] for p in expected)
    assert len(_features(demo_client, "points/meetings", query)) < len(_features(demo_client, "points/meetings"))
    assert all("<th>Voters</th>" in p["popup_html"] for p in tps)  # lang=en: the popups in English
    legend = demo_client.get(f"/api/map/legend?{query}").get_json()
    assert sum(legend["counts"].values()) == 14
