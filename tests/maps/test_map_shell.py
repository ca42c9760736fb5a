"""The map page shell (geo_app/maps/shell.py, remote.py) without a browser: what goes into the page,
what stays out of it, the symbols' inks against the status palette, the project's own assets.

The behaviour in a browser (data by request, clusters, clicks, phone) is in tests/web/test_browser*.py.
"""

from __future__ import annotations

import json
import re

import pytest

from geo_app.i18n import STATUS_COLORS
from geo_app.maps import assets
from geo_app.maps.assets import AssetPackage, AssetRegistry, remote_links, render_offline
from geo_app.maps.colour_vision import VISIONS, colour_difference
from geo_app.maps.remote import POINT_SYMBOLS, SYMBOL_INK, RemotePointLayer, source_spec
from geo_app.maps.shell import MapShell, MapSources, build_map_shell

BOUNDS = (101.02, -3.13, 101.87, -2.29)
PAYLOAD = "{{7*7}} <script>x</script> {% if %}"


@pytest.fixture(scope="module")
def registry() -> AssetRegistry:
    from geo_app.config import load_settings

    return AssetRegistry(load_settings()["NPM_ASSET_DIR"])


def _page(shell: MapShell, registry: AssetRegistry) -> str:
    return render_offline(build_map_shell(shell), registry, "/assets/")


def _sources(html: str) -> list[dict]:
    return [json.loads(m) for m in re.findall(r'(\{"url":"[^"]+","params":\{[^{}]*\},"view":"\w+"\})', html)]


def test_served_shell_names_its_endpoints_and_holds_no_data(registry):
    params = {"kecamatan": "17.06.10", "lang": "en"}
    html = _page(MapShell(bounds=BOUNDS, sources=MapSources.endpoints("/api/map", params), lang="en"), registry)
    assert remote_links(html) == []
    by_url = {s["url"]: s for s in _sources(html)}
    assert set(by_url) == {
        "/api/map/desa",
        "/api/map/kecamatan",
        "/api/map/legend",
        "/api/map/heat",
        "/api/map/points/tps",
        "/api/map/points/incidents",
        "/api/map/points/meetings",
    }
    assert all(s["params"] == params for s in by_url.values())
    # what each asks for besides the view parameters: bbox and zoom, zoom only, nothing
    assert by_url["/api/map/desa"]["view"] == "bbox" and by_url["/api/map/points/tps"]["view"] == "bbox"
    assert by_url["/api/map/kecamatan"]["view"] == "zoom" and by_url["/api/map/legend"]["view"] == "none"
    # only Leaflet, leaflet.heat, full screen and the shell's own files: no jQuery, Bootstrap, Font Awesome
    scripts = re.findall(r'<script[^>]+src="/assets/([\w.-]+)/', html)
    assert sorted(set(scripts)) == ["folium", "geo-app", "leaflet", "leaflet-fullscreen"]
    assert re.search(r'<link rel="stylesheet" href="/assets/geo-app/[0-9a-f]{12}/map/geomap.css"/>', html)
    assert '<link rel="icon" href="data:,">' in html


def test_layer_control_order_and_what_is_on_at_the_start(registry):
    shell = MapShell(bounds=BOUNDS, sources=MapSources.endpoints("/api/map"), highlight="17.06.10.2001")
    html = _page(shell, registry)
    overlays = re.search(r"overlays :  \{(.*?)\},", html, re.S).group(1)
    names = re.findall(r'"([^"]+)" :', overlays)
    assert names == [
        "Desa/Kelurahan",
        "Batas kecamatan",
        "Desa terpilih",
        "Nama kecamatan",
        "Nama desa",
        "TPS",
        "Insiden",
        "Peta panas insiden",
        "Rakor",
    ]
    shown = dict(re.findall(r'GeoMap\.register\(map_\w+, "(\w+)", \w+, (true|false)\);', html))
    # the gaps first: desa, boundaries and names on; points and heat off (on when switched or zoomed in)
    assert shown == {
        "desa": "true",
        "kecamatan": "true",
        "highlight": "true",
        "kecamatan_names": "true",
        "desa_names": "true",
        "tps": "false",
        "incidents": "false",
        "heat": "false",
        "meetings": "false",
    }
    assert '"autoLayers":["tps","incidents","meetings"]' in html
    # the view is set before any layer exists (no request for a view the page will not show)
    assert html.index("GeoMap.prepare(") < html.index("L.tileLayer(") < html.index("GeoMap.start(")


def test_inline_data_is_script_json_and_text_stays_text(registry):
    """A page opened from disk carries its data: strings reach the page as JSON that cannot close the
    script or open a Jinja tag; the title is escaped."""
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [101.5, -2.6]},
        "properties": {"code": "17.06.10.2001", "name": PAYLOAD, "popup_html": "&lt;b&gt;", "label_lon": 101.5},
    }
    data = {"type": "FeatureCollection", "features": [feature]}
    points = {"kind": "incidents", "mode": "points", "total": 1, "features": [feature]}
    inline = MapSources(
        desa=data,
        kecamatan=data,
        legend={"counts": {"covered": 1}},
        tps=points,
        incidents={"levels": [{"min_zoom": 0, "max_zoom": 12, "data": points}]},
        meetings=points,
        heat={"points": [[-2.6, 101.5, 1.0]], "max": 1.0},
    )
    html = _page(MapShell(bounds=BOUNDS, sources=inline, title=PAYLOAD), registry)
    assert "<script>x</script>" not in html and "{{" not in html and "{%" not in html
    assert "<title>&#123;&#123;7*7&#125;&#125; &lt;script&gt;x&lt;/script&gt;" in html
    specs = re.findall(r'\{"inline":.*?\}(?=, \{)', html)
    assert specs and all("\\u003cscript" in s for s in specs if "script" in s)
    # parsed back, the strings are exactly the data
    first = json.loads(re.search(r'new GeoMap\.DesaLayer\(\s*map_\w+, (\{"inline":.*?\}), \{"planned', html).group(1))
    assert first["inline"]["features"][0]["properties"]["name"] == PAYLOAD
    assert source_spec({"levels": []}) == {"inline": {"levels": []}}


def test_point_symbols_are_shapes_in_inks_no_status_colour():
    """Markers never look like a status: one near-black ink, far from every status colour for normal
    vision and simulated deuteranopia and protanopia; each kind has its own shape."""
    for status, colour in STATUS_COLORS.items():
        for vision in VISIONS:
            assert colour_difference(SYMBOL_INK, colour, vision) >= 20, (status, vision)
    shapes = {kind: {shape for shape, _fill, _mark in variants.values()} for kind, variants in POINT_SYMBOLS.items()}
    assert all(len(s) == 1 for s in shapes.values()) and len({next(iter(s)) for s in shapes.values()}) == 3
    layer = RemotePointLayer("incidents", "/api/map/points/incidents", lang="en")
    assert {v["label"] for v in layer.symbols.values()} == {
        "Incident, high severity",
        "Incident, medium severity",
        "Incident, low severity",
    }
    with pytest.raises(ValueError):
        RemotePointLayer("rumours", "/x")


def test_project_assets_are_versioned_by_content(tmp_path, registry):
    """The shell's own files are served under a version made of their bytes: an edited file gets a
    new URL, so the year-long immutable cache never serves an old copy."""
    package = AssetPackage("mine", "project", "geo_app", "geo_app", files=("*.js",))
    (tmp_path / "a.js").write_text("var a = 1;\n", encoding="utf-8")
    first = assets._content_version(tmp_path, package)
    (tmp_path / "a.js").write_text("var a = 2;\n", encoding="utf-8")
    assert assets._content_version(tmp_path, package) != first
    url = registry.project_url("asset:geo-app/map/geomap.js")
    assert re.fullmatch(r"geo-app/[0-9a-f]{12}/map/geomap\.js", url)
    assert registry.file("geo-app", "map/geomap.js").read_text(encoding="utf-8").lstrip().startswith("/*")
    assert not registry.served_files("geo-app").keys() - {"map/geomap.js", "map/geomap.css"}


def test_project_assets_are_served_immutable(client, registry):
    url = "/assets/" + registry.project_url("asset:geo-app/map/geomap.js")
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype in ("text/javascript", "application/javascript")
    assert "immutable" in response.headers["Cache-Control"]
    response.close()
    assert client.get(url.replace("/map/geomap.js", "/../shell.py")).status_code == 404
