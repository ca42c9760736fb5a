"""Map pages on the real boundaries: label points, search names, base-map choice, size, outlines.

The names and popups as the browser shows them (as text) are checked in tests/web/test_browser*.py."""

from __future__ import annotations

import re

import pytest

from geo_app.app_db import get_session
from geo_app.maps.assets import remote_links
from geo_app.store.adapter import desa_frame, kecamatan_frame
from tests.conftest import snapshot

#: issue 11: the map page is a shell, 60 KB at most even before compression
OVERVIEW_BUDGET_BYTES = 60 * 1024


@pytest.fixture
def frames(app):
    with app.app_context():
        session = get_session()
        return desa_frame(session), kecamatan_frame(session)


def test_labels_lie_inside_their_polygon(client, frames):
    """The names are drawn at each kecamatan's and desa's label point, inside its own polygon."""
    from shapely.geometry import Point

    desa, kecamatan = frames
    for path, stored in (("kecamatan?zoom=10", kecamatan), ("desa?bbox=100,-4,103,-1&zoom=10", desa)):
        features = client.get(f"/api/map/{path}").get_json()["features"]
        assert len(features) == len(stored) > 0
        polygons = stored.set_index("code").geometry
        for f in features:
            p = f["properties"]
            assert polygons[p["code"]].buffer(1e-4).contains(Point(p["label_lon"], p["label_lat"])), p["name"]


def test_search_names_tell_same_named_desa_apart(client, frames):
    """The search lists "name — kecamatan": the desa data gives both, and the pairs are unique."""
    desa, _ = frames
    features = client.get("/api/map/desa?bbox=100,-4,103,-1&zoom=9").get_json()["features"]
    pairs = [(f["properties"]["name"], f["properties"]["kecamatan_name"]) for f in features]
    repeated = desa["name"].value_counts()
    assert (repeated > 1).any(), "the real data has desa names that repeat across kecamatan"
    assert len(set(pairs)) == len(pairs) == len(desa)


def test_map_page_is_local_only_and_within_budget(client):
    resp = client.get("/map")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert remote_links(html) == []
    assert len(resp.data) < OVERVIEW_BUDGET_BYTES
    external = set(re.findall(r"https?://([\w.-]+)", html))
    assert external <= {"tile.openstreetmap.org", "www.openstreetmap.org"}
    # simplified geometry: no coordinate carries more than 5 decimals
    assert not re.search(r"\[\d+\.\d{6,}, -?\d+\.\d+\]", html)


def _tiles_added_at_start(html: str) -> bool:
    tile_var = re.search(r"var (tile_layer_\w+) = L\.tileLayer\(", html).group(1)
    return f"{tile_var}.addTo(" in html


def test_map_without_base_map_adds_no_tile_layer_at_start(client):
    assert not _tiles_added_at_start(client.get("/map?peta_dasar=none").get_data(as_text=True))
    assert _tiles_added_at_start(client.get("/map").get_data(as_text=True))


def test_map_rejects_unknown_base_map_and_changes_nothing(app, client):
    before = snapshot(app)
    resp = client.get("/map?peta_dasar=%3Cb%3Esatelit")
    assert resp.status_code == 400
    assert b"peta_dasar" in resp.data and b"&lt;b&gt;satelit" in resp.data and b"<b>satelit" not in resp.data
    assert snapshot(app) == before
