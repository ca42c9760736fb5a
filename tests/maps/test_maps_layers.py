"""Map layers on the real boundaries: what the overview contains, escaping, base-map choice, size."""

from __future__ import annotations

import json
import re

import folium
import pytest

from geo_app.app_db import get_session
from geo_app.maps.assets import remote_links
from geo_app.maps.layers import DesaLabels, DesaPolygons, DesaSearch, KecamatanLabels
from geo_app.store.adapter import desa_frame, kecamatan_frame
from tests.conftest import find_elements, snapshot

#: issue 5: the overview page for the demo set stays under 1.5 MB
OVERVIEW_BUDGET_BYTES = 1_500_000
EVIL = '<script>alert("x")</script> & "q"'


@pytest.fixture
def frames(app):
    with app.app_context():
        session = get_session()
        return desa_frame(session), kecamatan_frame(session)


def test_labels_lie_inside_their_polygon(frames):
    from shapely.geometry import Point

    _desa, kecamatan = frames
    labels = KecamatanLabels(kecamatan)
    markers = find_elements(labels, folium.Marker)
    for (_, row), marker in zip(kecamatan.iterrows(), markers):
        lat, lon = marker.location
        assert row.geometry.buffer(1e-4).contains(Point(lon, lat)), row["name"]


def test_search_label_tells_same_named_desa_apart(frames):
    desa, _ = frames
    layer = DesaPolygons(desa)
    labels = [f["properties"]["label"] for f in layer.geojson.data["features"]]
    repeated = desa["name"].value_counts()
    assert (repeated > 1).any(), "the real data has desa names that repeat across kecamatan"
    assert len(set(labels)) == len(labels) == len(desa)


def test_user_text_is_escaped_in_tooltips_labels_and_search(frames):
    desa, kecamatan = frames
    desa, kecamatan = desa.copy(), kecamatan.copy()
    desa.loc[desa.index[0], "name"] = EVIL
    desa.loc[desa.index[0], "kecamatan_name"] = EVIL
    kecamatan.loc[kecamatan.index[0], "name"] = EVIL
    m = folium.Map()
    desa_layer = DesaPolygons(desa).add_to(m)
    labels = KecamatanLabels(kecamatan).add_to(m)
    DesaSearch(desa_layer).add_to(m)
    html = m.get_root().render()
    assert "<script>alert" not in html
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;q&quot;"
    props = desa_layer.geojson.data["features"][0]["properties"]
    assert props["name"] == escaped and props["label"] == f"{escaped} — {escaped}"
    assert escaped in find_elements(labels, folium.Marker)[0].icon.options["html"]
    desa_labels = DesaLabels(desa)
    assert escaped in find_elements(desa_labels, folium.Marker)[0].icon.options["html"]


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


def test_geojson_properties_are_json_safe(frames):
    desa, _ = frames
    layer = DesaPolygons(desa)
    json.dumps(layer.geojson.data)  # what folium embeds
    assert set(layer.geojson.data["features"][0]["properties"]) == {"name", "kecamatan_name", "code", "label"}


def test_kecamatan_map_page(app, client, frames):
    desa, kecamatan = frames
    code = kecamatan["code"].iloc[-1]
    resp = client.get(f"/map/kecamatan/{code}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert remote_links(html) == []
    own = desa[desa["kecamatan_code"] == code]
    # a shell: its layers (desa names among them) ask for this kecamatan's desa by request
    assert '"params":{"kecamatan":"' + code + '"' in html and "new GeoMap.LabelLayer(" in html
    body = client.get(f"/api/map/desa?kecamatan={code}&bbox=100,-4,103,-1&zoom=12").get_json()
    assert sorted(f["properties"]["name"] for f in body["features"]) == sorted(own["name"]) and len(own) > 0


def test_kecamatan_map_unknown_code_is_404_and_escaped(client):
    resp = client.get("/map/kecamatan/%3Cscript%3E99")
    assert resp.status_code == 404
    assert b"&lt;script&gt;99" in resp.data and b"<script>99" not in resp.data


def test_outlines_drop_only_small_holes(frames):
    import shapely

    from geo_app.geo import METRIC_CRS
    from geo_app.maps.display import drop_small_holes

    _desa, kecamatan = frames

    def holes(gdf):
        out = []
        for geom in gdf.geometry.to_crs(METRIC_CRS):
            for poly in getattr(geom, "geoms", [geom]):
                out += [shapely.Polygon(r).area for r in poly.interiors]
        return out

    before, after = holes(kecamatan), holes(drop_small_holes(kecamatan, 1_000_000))
    assert any(a < 1_000_000 for a in before), "the dissolved kecamatan have small gaps between desa"
    assert sorted(after) == pytest.approx(sorted(a for a in before if a >= 1_000_000), rel=1e-6)

    def outer(g):
        rings = shapely.get_exterior_ring(shapely.get_parts(g.to_crs(METRIC_CRS).geometry.to_numpy()))
        return shapely.area(shapely.polygons(rings)).sum()

    assert outer(drop_small_holes(kecamatan)) == pytest.approx(outer(kecamatan), rel=1e-6)
