"""Map data with many incidents: clusters whose counts add up to what the database holds in the box,
individual incidents once zoomed in, records read once per render.

The demo set plus 3,000 synthetic incidents (``services.synthetic``, imported like a file); the
expected numbers come from the database rows and the incident window, not from the map data service."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from geo_app.app_db import get_session
from geo_app.services import coverage as coverage_service
from geo_app.services import map_data
from geo_app.services.layers import LruCache
from geo_app.services.synthetic import import_synthetic_incidents
from geo_app.store.adapter import desa_frame
from geo_app.store.models import Incident
from tests.conftest import TEST_ADMIN, _fold_wal, app_on_copy, copy_database, login_as, make_app

SYNTHETIC = 3000
KABUPATEN = (100.9, -3.4, 101.9, -2.2)


@pytest.fixture(scope="module")
def busy_template(demo_template, tmp_path_factory, boundary_source):
    """The demo set plus 3,000 synthetic incidents, built once."""
    root = tmp_path_factory.mktemp("busy")
    db = root / "busy.sqlite"
    copy_database(demo_template, db)
    app = make_app(db, root / "shapefiles", BOUNDARY_SOURCE=boundary_source)
    with app.app_context():
        result = import_synthetic_incidents(get_session(), app.config["GEO_APP_SETTINGS"], SYNTHETIC, seed=11)
        assert result.inserted == SYNTHETIC
    app.extensions["geo_app.engine"].dispose()
    _fold_wal(db)
    return db


@pytest.fixture
def busy_app(busy_template, tmp_path, boundary_source):
    with app_on_copy(busy_template, tmp_path, boundary_source) as app:
        yield app


def stored_incidents(app) -> dict[int, tuple[float, float, str, str | None]]:
    """Incidents the default view counts, read from the database: id → (lon, lat, severity, desa), at
    their own point or their desa's label point; in the 30 days up to 27 Nov 2024, not dismissed."""
    settings = coverage_service.coverage_settings()
    first, last = settings.incident_window
    start = datetime.combine(first, datetime.min.time())
    end = datetime.combine(last, datetime.min.time()) + timedelta(days=1)
    with app.app_context():
        session = get_session()
        rep = desa_frame(session).set_index("code")[["rep_lon", "rep_lat"]]
        rows = session.execute(
            select(
                Incident.id,
                Incident.lon,
                Incident.lat,
                Incident.desa_code,
                Incident.occurred_at,
                Incident.status,
                Incident.severity,
            ).where(Incident.deleted_at.is_(None))
        ).all()
    out = {}
    for rid, lon, lat, desa, occurred, status, severity in rows:
        if not (start <= occurred < end) or status in settings.excluded_statuses:
            continue
        if lon is None or lat is None:
            if desa is None:
                continue
            lon, lat = rep.loc[desa, "rep_lon"], rep.loc[desa, "rep_lat"]
        out[rid] = (float(lon), float(lat), severity, desa)
    return out


def in_box(points: dict[int, tuple[float, float, str]], box) -> set[int]:
    minx, miny, maxx, maxy = box
    return {i for i, (x, y, *_) in points.items() if minx <= x <= maxx and miny <= y <= maxy}


def _prepared(app):
    with app.app_context():
        view, result = map_data.load_view(get_session(), {}, coverage_service.CoverageCache())
        return view, map_data.prepared_map(get_session(), result)


def test_clusters_add_up_to_the_incidents_in_the_box(busy_app):
    stored = stored_incidents(busy_app)
    view, prep = _prepared(busy_app)
    assert len(stored) > 1500  # more than the default threshold: the kabupaten is clustered
    boxes = [KABUPATEN, (101.0, -2.9, 101.3, -2.5), (101.15, -2.75, 101.2, -2.7)]
    for box in boxes:
        expected = in_box(stored, box)
        for zoom in (8, 10, 12):
            body = map_data.points_response(prep, "incidents", view, box, zoom, threshold=100)
            assert body["total"] == len(expected), (box, zoom)
            if len(expected) <= 100:
                assert body["mode"] == "points" and {f["id"] for f in body["features"]} == expected
                continue
            assert body["mode"] == "clusters"
            counts = [f["properties"]["count"] for f in body["features"]]
            assert sum(counts) == len(expected) and min(counts) >= 1
            for f in body["features"]:  # every cluster sits inside its members' bounds, inside the box
                x, y = f["geometry"]["coordinates"]
                b = f["properties"]["bounds"]
                assert b[0] - 1e-3 <= x <= b[2] + 1e-3 and b[1] - 1e-3 <= y <= b[3] + 1e-3
                assert box[0] - 1e-3 <= b[0] and b[2] <= box[2] + 1e-3
            by_severity = {}
            for f in body["features"]:
                for sev, n in f["properties"]["severity"].items():
                    by_severity[sev] = by_severity.get(sev, 0) + n
            want = {}
            for i in expected:
                want[stored[i][2]] = want.get(stored[i][2], 0) + 1
            assert by_severity == want


def test_api_clusters_the_kabupaten_and_lists_a_desa(busy_app):
    client = busy_app.test_client()
    login_as(client, TEST_ADMIN)
    stored = stored_incidents(busy_app)
    bbox = ",".join(map(str, KABUPATEN))
    body = client.get(f"/api/map/points/incidents?bbox={bbox}&zoom=10").get_json()
    assert body["mode"] == "clusters" and body["total"] == len(in_box(stored, KABUPATEN))
    assert sum(f["properties"]["count"] for f in body["features"]) == body["total"]
    # zoomed into the busiest cluster's bounds: one feature per incident, with its popup
    busiest = max(body["features"], key=lambda f: f["properties"]["count"])
    b = busiest["properties"]["bounds"]
    box = (b[0] - 1e-3, b[1] - 1e-3, b[0] + 0.01, b[1] + 0.01)
    inside = client.get(f"/api/map/points/incidents?bbox={','.join(map(str, box))}&zoom=16").get_json()
    expected = in_box(stored, box)
    assert 0 < len(expected) <= 1500
    assert inside["mode"] == "points" and {f["id"] for f in inside["features"]} == expected
    assert all(f["properties"]["popup_html"].startswith('<div class="map-popup">') for f in inside["features"])
    # the heat layer is fed from the same incidents: its weights add up to their severity weights
    heat = client.get(f"/api/map/heat?bbox={bbox}&zoom=10").get_json()
    weights = coverage_service.coverage_settings().severity_weights
    assert sum(w for *_, w in heat["points"]) == pytest.approx(
        sum(weights[stored[i][2]] for i in in_box(stored, KABUPATEN)), rel=1e-6
    )
    assert len(heat["points"]) < body["total"]  # aggregated, not one point per incident


def test_category_and_kecamatan_filter_the_points(busy_app):
    view, prep = _prepared(busy_app)
    everything = map_data.points_response(prep, "incidents", view, KABUPATEN, 16, threshold=10**6)
    by_id = {f["id"]: f["properties"] for f in everything["features"]}
    hoax = map_data.points_response(
        prep, "incidents", map_data.MapView(category="hoax"), KABUPATEN, 16, threshold=10**6
    )
    assert {f["id"] for f in hoax["features"]} == {i for i, p in by_id.items() if p["category"] == "hoax"}
    kec = map_data.MapView(kecamatan="17.06.10")
    penarik = map_data.points_response(prep, "incidents", kec, KABUPATEN, 16, threshold=10**6)
    with busy_app.app_context():
        desa_kec = dict(desa_frame(get_session())[["code", "kecamatan_code"]].to_numpy())
    stored = stored_incidents(busy_app)
    expected = {i for i, (*_, desa) in stored.items() if desa_kec.get(desa) == "17.06.10"}
    assert {f["id"] for f in penarik["features"]} == expected and 0 < len(expected) < everything["total"]
    assert {desa_kec[f["properties"]["desa_code"]] for f in penarik["features"]} == {"17.06.10"}


def test_records_are_read_once_per_data_version(busy_app, monkeypatch):
    """The coverage and every map layer of a render share one read of each record table."""
    from geo_app.services import coverage as cs

    reads = []
    real = cs.incidents_frame

    def counting(*args, **kwargs):
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cs, "incidents_frame", counting)
    monkeypatch.setattr(map_data, "incidents_frame", counting)
    cache = cs.CoverageCache()
    maps = LruCache()
    with busy_app.app_context():
        session = get_session()
        view, result = map_data.load_view(session, {}, cache)
        for frame in (map_data.visible_incidents, map_data.visible_tps, map_data.visible_meetings):
            frame(session, result, view)
        prep = map_data.prepared_map(session, result, maps)
        map_data.points_response(prep, "incidents", view, KABUPATEN, 10)
        map_data.heat_response(prep, view, KABUPATEN, 10)
        map_data.visible_incidents(session, result, map_data.MapView(kecamatan="17.06.10"))
    assert len(reads) == 1


def test_points_without_their_own_point_sit_at_their_desa(busy_app):
    view, prep = _prepared(busy_app)
    stored = stored_incidents(busy_app)
    body = map_data.points_response(prep, "incidents", view, KABUPATEN, 18, threshold=10**6)
    with busy_app.app_context():
        rep = desa_frame(get_session())[["rep_lon", "rep_lat"]].to_numpy()
    approximate = [f for f in body["features"] if f["properties"]["approximate"]]
    assert approximate and len(body["features"]) == len(stored)
    for f in approximate:
        x, y = f["geometry"]["coordinates"]
        assert np.isclose(rep, [x, y], atol=1e-5).all(axis=1).any()


def test_mixed_mode_sends_sparse_cells_one_by_one_and_still_adds_up(busy_app):
    view, prep = _prepared(busy_app)
    stored = stored_incidents(busy_app)
    body = map_data.points_response(prep, "incidents", view, KABUPATEN, 13, threshold=100, few_per_cell=3)
    clusters = [f for f in body["features"] if "count" in f["properties"]]
    singles = [f for f in body["features"] if "count" not in f["properties"]]
    assert body["mode"] == "mixed" and clusters and singles
    assert sum(f["properties"]["count"] for f in clusters) + len(singles) == body["total"] == len(stored)
    assert all(f["properties"]["count"] > 3 for f in clusters)
    assert {f["id"] for f in singles} <= set(stored)


def test_standalone_data_aggregates_many_records_and_keeps_few(busy_app):
    """What a page of ``geo-app layers build`` carries: every level of a clustered kind adds up to the
    records of the view, and at most ``max_points`` of them travel one by one."""
    view, prep = _prepared(busy_app)
    stored = stored_incidents(busy_app)
    with busy_app.app_context():
        bounds = tuple(float(v) for v in desa_frame(get_session()).total_bounds)
    data = map_data.standalone_sources(prep, view, bounds, "id", threshold=500, max_points=1500)
    assert set(data) == {"desa", "kecamatan", "legend", "tps", "incidents", "meetings", "heat"}
    assert len(data["desa"]["features"]) == 151 and data["desa"]["features"][0]["properties"]["url"] is None
    assert data["meetings"]["mode"] == "points"  # few: one by one at every zoom
    levels = data["incidents"]["levels"]
    assert [lv["min_zoom"] for lv in levels] == sorted(lv["min_zoom"] for lv in levels) and levels[-1]["max_zoom"] == 20
    for level in levels:
        features = level["data"]["features"]
        singles = [f for f in features if "count" not in f["properties"]]
        assert sum(f["properties"].get("count", 1) for f in features) == len(stored)
        assert len(singles) <= 1500
    assert any("count" not in f["properties"] for f in levels[-1]["data"]["features"])
    weights = coverage_service.coverage_settings().severity_weights
    for level in data["heat"]["levels"]:
        total = sum(w for *_, w in level["data"]["points"])
        assert total == pytest.approx(sum(weights[s[2]] for s in stored.values()), rel=1e-6)


def test_a_new_record_reuses_the_simplified_shapes(busy_app):
    """After a write the coverage and points are prepared afresh, the desa shapes (cleaned, simplified
    per zoom) are not: they depend on the boundaries only."""
    from geo_app.services.records import create_record

    maps, coverage = LruCache(), coverage_service.CoverageCache()
    with busy_app.app_context():
        session = get_session()
        _view, result = map_data.load_view(session, {}, coverage)
        first = map_data.prepared_map(session, result, maps)
        first.desa_geometries(10)
        create_record(
            session,
            busy_app.config["GEO_APP_SETTINGS"],
            "incidents",
            {
                "occurred_at": "20/11/2024 10:00",
                "category": "hoaks",
                "severity": "tinggi",
                "desa": "Penarik",
                "description": "baru",
            },
            actor=TEST_ADMIN,
        )
        _view, after = map_data.load_view(session, {}, coverage)
        second = map_data.prepared_map(session, after, maps)
        week = map_data.prepared_map(session, map_data.load_view(session, {"window_days": "7"}, coverage)[1], maps)
    assert second is not first and second.result is after
    assert second.geometry is first.geometry is week.geometry
    assert second.desa_geometries(10) is first.desa_geometries(10)
    body = map_data.points_response(second, "incidents", map_data.MapView(), KABUPATEN, 10, threshold=10**6)
    assert body["total"] == len(stored_incidents(busy_app))


def test_a_deep_zoom_over_a_wide_box_is_capped_and_still_adds_up(busy_app):
    """zoom 20 over the whole kabupaten would be a cell per incident: the cells grow until at most
    ``max_clusters`` remain, and their counts still add up to every incident in the box."""
    stored = stored_incidents(busy_app)
    view, prep = _prepared(busy_app)
    expected = in_box(stored, KABUPATEN)
    uncapped = map_data.points_response(prep, "incidents", view, KABUPATEN, 20, threshold=100, max_clusters=10**9)
    assert len(uncapped["features"]) > 500
    body = map_data.points_response(prep, "incidents", view, KABUPATEN, 20, threshold=100, max_clusters=50)
    assert body["mode"] == "clusters" and body["total"] == len(expected)
    assert len(body["features"]) <= 50 and body["cell_px"] > map_data.CLUSTER_CELL_PX
    assert sum(f["properties"]["count"] for f in body["features"]) == len(expected)
