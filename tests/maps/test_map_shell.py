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
from geo_app.maps.display import script_json
from geo_app.maps.remote import (
    POINT_SYMBOLS,
    ROLLUP_DESA_MIN_ZOOM,
    ROLLUP_KABUPATEN_MAX_ZOOM,
    SYMBOL_INK,
    RemotePointLayer,
    source_spec,
)
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


def _layers(html: str) -> dict[str, tuple[str, dict, dict, str]]:
    """The data layers of a page by key: (script class, source spec, options, shown at the start), in
    the page's order."""
    decoder = json.JSONDecoder()
    out = {}
    for m in re.finditer(r"new GeoMap\.(\w+)\(\s*map_\w+, ", html):
        spec, end = decoder.raw_decode(html, m.end())
        if not html.startswith(", ", end):
            continue  # a control (one argument), not a layer
        options, end = decoder.raw_decode(html, end + 2)
        register = re.compile(r'\);\s*GeoMap\.register\(map_\w+, "(\w+)", \w+, (true|false)\);').match(html, end)
        if register:
            out[register.group(1)] = (m.group(1), spec, options, register.group(2))
    return out


def test_rollup_shell_outlines_the_kabupaten_at_every_zoom(registry):
    """Several kabupaten: thin kabupaten outlines at every zoom, after (above) the desa, from the source
    the kabupaten fills and names read (one request serves the three); one kabupaten: no such layer."""
    html = _page(MapShell(bounds=BOUNDS, sources=MapSources.endpoints("/api/map"), rollup=True), registry)
    layers = _layers(html)
    js, spec, options, shown = layers["kabupaten"]
    assert js == "OutlineLayer" and shown == "true"
    assert spec == {"url": "/api/map/kabupaten", "params": {}, "view": "zoom"}  # no zoom range
    assert options["className"] == "kabupaten-outline" and options["weight"] <= 2 and "casing" in options
    assert layers["kabupaten_rollup"][1] == spec and layers["kabupaten_names"][1] == spec
    assert layers["kabupaten_rollup"][2]["maxZoom"] == ROLLUP_KABUPATEN_MAX_ZOOM
    assert list(layers).index("kabupaten") > list(layers).index("desa")
    assert layers["desa"][1]["min_zoom"] == ROLLUP_DESA_MIN_ZOOM
    single = _layers(_page(MapShell(bounds=BOUNDS, sources=MapSources.endpoints("/api/map")), registry))
    assert "kabupaten" not in single and "kabupaten_rollup" not in single


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
    written = re.findall(r"GeoMap\.pageData\(map_\w+, (.*)\);", html)
    assert len(written) == 1 and "\\u003cscript" in written[0] and "<script" not in written[0]
    # parsed back, the strings are exactly the data; each data set once (desa and kecamatan were one
    # object), the layers name theirs
    data = json.loads(written[0])
    assert sorted(data) == ["desa", "heat", "incidents", "legend", "tps"]  # meetings: the same object as tps
    assert data["desa"]["features"][0]["properties"]["name"] == PAYLOAD
    assert html.count(script_json(PAYLOAD)[1:-1]) == 3  # in the desa, the TPS and the incidents, once each
    desa = re.search(r"new GeoMap\.DesaLayer\(\s*map_\w+, (\{.*?\}), \{", html).group(1)
    assert json.loads(desa) == {"data": "desa"}
    assert '"inline"' not in html
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
