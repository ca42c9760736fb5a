"""Coverage map layers on the real boundaries with the demo set: status colours and legend counts,
TPS/incident/rakor popups, escaping of user text, the kecamatan and category filters."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import folium
import pytest
from folium import plugins

from geo_app.app_db import get_session
from geo_app.i18n import STATUS_COLORS
from geo_app.maps.layers import (
    CoverageDesaPolygons,
    IncidentHeat,
    IncidentMarkers,
    MeetingMarkers,
    StatusLegend,
    TpsCluster,
)
from geo_app.maps.overview import build_coverage_map
from geo_app.services import layers as layer_service
from tests.conftest import find_elements

EVIL = '<script>alert("x")</script> & "q"'


@pytest.fixture
def view_data(demo_app):  # noqa: F811
    """(view, result, layers) of the default view, read through the service."""
    with demo_app.app_context():
        session = get_session()
        view, result = layer_service.load_view(session, {})
        return view, result, layer_service.map_layers(session, result, view, "id")


def _points(layer) -> list[list]:
    return json.loads(layer.markers.points_json)


def test_desa_filled_by_status_and_legend_counts(view_data):
    _view, result, layers = view_data
    m = build_coverage_map(layers)
    [desa] = find_elements(m, CoverageDesaPolygons)
    html = m.get_root().render()
    features = desa.geojson.data["features"]
    assert len(features) == 151
    status = dict(zip(result.desa["code"], result.desa["status"]))
    # folium writes the per-feature styles as a lookup; every desa gets its status colour
    for f in features:
        assert desa.feature_style(f, {})["fillColor"] == STATUS_COLORS[status[f["properties"]["code"]]]
    [legend] = find_elements(m, StatusLegend)
    assert legend.counts == result.summary["status_counts"] and sum(legend.counts.values()) == 151
    shown = dict(re.findall(r'data-status="(\w+)">.*?<span class="count">(\d+)</span>', legend.html))
    assert {k: int(v) for k, v in shown.items()} == result.summary["status_counts"]
    assert 'L.control({position: "bottomright"})' in html
    layer_names = [c.layer_name for c in m._children.values() if isinstance(c, folium.map.Layer)]
    assert layer_names[2:] == [
        "Desa/Kelurahan",
        "Batas kecamatan",
        "Nama kecamatan",
        "TPS",
        "Insiden",
        "Peta panas insiden",
        "Rakor",
    ]


def test_gap_popup_gives_status_and_reasons(view_data):
    _view, result, layers = view_data
    gap = result.gaps().iloc[0]
    layer = CoverageDesaPolygons(layers.desa, reasons=layers.reasons, desa_url=lambda c: f"/desa/{c}")
    props = next(f["properties"] for f in layer.geojson.data["features"] if f["properties"]["code"] == gap["code"])
    assert "Belum terjangkau rakor" in props["popup"] or "Rawan insiden" in props["popup"]
    assert gap["reasons_id"][0] in props["popup"]
    assert f'href="/desa/{gap["code"]}"' in props["popup"]


def test_tps_popups_show_personnel_against_requirement(view_data):
    _view, result, layers = view_data
    [cluster] = find_elements(build_coverage_map(layers), TpsCluster)
    assert isinstance(cluster, plugins.MarkerCluster)
    points = _points(cluster)
    assert len(points) == 327
    short = result.tps[~result.tps["secured"]]
    assert sum(p[3] == "red" for p in points) == len(short) > 0
    rawan = [p for p in points if "rawan</td>" in p[4] and "tidak rawan" not in p[4]]
    assert len(rawan) == 1 and "Polri 2/2" in rawan[0][4] and "Linmas 2/2" in rawan[0][4]
    assert all(re.search(r"Polri \d+/[12], TNI \d+/0, Linmas \d+/2", p[4]) for p in points)


def test_incident_and_meeting_popups(view_data):
    _view, result, layers = view_data
    incidents = IncidentMarkers(layers.incidents)
    assert len(_points(incidents)) == len(layers.incidents) == result.summary["incidents_in_window"]
    colours = {p[5].split("severity-")[1]: p[3] for p in _points(incidents)}
    assert colours == {"high": "darkred", "medium": "orange", "low": "beige"}
    meetings = MeetingMarkers(layers.meetings)
    teramang = [p for p in _points(meetings) if "Teramang Jaya" in p[4] and "11/11/2024" in p[4]]  # dd/mm/yyyy
    assert len(teramang) == 1
    assert "Sekretaris daerah" in teramang[0][4] and "semua desa di kecamatan Teramang Jaya" in teramang[0][4]
    heat = IncidentHeat(layers.incidents, layers.severity_weights)
    assert len(heat.data) == len(layers.incidents) and {round(w, 3) for *_, w in heat.data} <= {1.0, 0.333, 0.111}


def test_user_text_in_popups_is_escaped(view_data):
    _view, _result, layers = view_data
    incidents = layers.incidents.copy()
    incidents.loc[incidents.index[0], "description"] = EVIL
    meetings = layers.meetings.copy()
    meetings.loc[meetings.index[0], "venue"] = EVIL
    tps = layers.tps.copy()
    tps.loc[tps.index[0], "address"] = EVIL
    desa = layers.desa.copy()
    desa.loc[desa.index[0], "name"] = EVIL
    m = build_coverage_map(replace(layers, incidents=incidents, meetings=meetings, tps=tps, desa=desa))
    html = m.get_root().render()
    assert "<script>alert" not in html
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;q&quot;"
    assert escaped in _points(find_elements(m, IncidentMarkers)[0])[0][4]
    assert escaped in _points(find_elements(m, MeetingMarkers)[0])[0][4]
    assert any(escaped in p[4] for p in _points(find_elements(m, TpsCluster)[0]))
    # in the page the JSON carries no raw < > & at all
    assert "\\u0026lt;script\\u0026gt;" in html


def test_kecamatan_and_category_filters(demo_app):  # noqa: F811
    with demo_app.app_context():
        session = get_session()
        view, result = layer_service.load_view(session, {"kecamatan": "Penarik", "category": "Politik uang"})
        layers = layer_service.map_layers(session, result, view, "en")
        everything = layer_service.map_layers(session, result, replace(view, kecamatan=None, category=None), "en")
    assert view.kecamatan == "17.06.10" and view.category == "money_politics"
    assert view.query() == {"kecamatan": "17.06.10", "category": "money_politics"}
    assert set(layers.desa["kecamatan_code"]) == {"17.06.10"} and len(layers.desa) == 14
    assert set(layers.tps["desa_code"].str[:8]) == {"17.06.10"}
    assert len(layers.tps) == int(result.desa.loc[result.desa["kecamatan_code"] == "17.06.10", "tps_count"].sum())
    assert set(layers.incidents["category"]) <= {"money_politics"}
    expected = everything.incidents[
        (everything.incidents["category"] == "money_politics")
        & (everything.incidents["desa_code"].str[:8] == "17.06.10")
    ]
    assert list(layers.incidents["id"]) == list(expected["id"])
    assert len(layers.meetings) < len(everything.meetings)
    m = build_coverage_map(layers, labels="desa", lang="en")
    html = m.get_root().render()
    assert "Polling stations (TPS)" in html and "Desa coverage status" in html
