"""Front-end assets: every folium link the project uses has a local file; pages carry no CDN link."""

from __future__ import annotations

import re

import folium
import pytest
from folium import plugins

from geo_app.errors import AssetMissing
from geo_app.maps import assets
from geo_app.maps.assets import CDN_MAP, PACKAGES, AssetRegistry, remote_links, render_offline, render_standalone
from tests.conftest import copy_database, get_closed


@pytest.fixture(scope="module")
def registry() -> AssetRegistry:
    from geo_app.config import load_settings

    return AssetRegistry(load_settings()["NPM_ASSET_DIR"])


def _every_plugin_map() -> folium.Map:
    """A map using every element whose files the registry claims to serve."""
    m = folium.Map(location=[-2.6, 101.2], zoom_start=9, tiles=None)
    cluster = plugins.MarkerCluster(name="TPS").add_to(m)
    folium.Marker([-2.6, 101.2], icon=folium.Icon(icon="flag", prefix="fa")).add_to(cluster)
    plugins.HeatMap([[-2.6, 101.2, 1.0], [-2.7, 101.3, 0.5]], name="Panas").add_to(m)
    plugins.Fullscreen().add_to(m)
    gj = folium.GeoJson(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"name": "A"},
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [[[101, -2.5], [101.1, -2.5], [101.1, -2.6], [101, -2.5]]],
                    },
                }
            ],
        }
    )
    gj.add_to(m)
    plugins.Search(layer=gj, search_label="name", geom_type="Polygon").add_to(m)
    return m


def test_every_mapped_cdn_file_is_installed(registry):
    status = registry.status()
    assert {k: v for k, v in status.items() if "error" in v} == {}
    for url, target in CDN_MAP.items():
        if target is None:
            continue
        key, rel = target
        assert PACKAGES[key].allows(rel), url
        assert registry.file(key, rel).stat().st_size > 0, url


def test_folium_plugins_render_with_local_links_only(registry):
    before = list(folium.Map.default_js)
    html = render_offline(_every_plugin_map(), registry, "/assets/")
    assert remote_links(html) == []
    linked = re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)
    # Map (4 js + 4 css) + cluster (1 + 2) + heat (1) + fullscreen (1 + 1) + search (1 + 1)
    assert len(linked) == 16 and len(set(linked)) == 16
    for url in linked:
        key, version, rel = url.removeprefix("/assets/").split("/", 2)
        assert registry.locate(key)[1] == version and registry.file(key, rel).is_file()
    # folium's class-level lists (shared by every map in the process) are untouched
    assert folium.Map.default_js == before and before[0][1].startswith("https://")


def test_remote_links_finds_scripts_and_styles_only():
    html = (
        '<script src="https://cdn.example/x.js"></script><link rel="stylesheet" href="//cdn.example/y.css">'
        '<script src="/assets/a.js"></script><a href="https://www.openstreetmap.org/copyright">OSM</a>'
    )
    assert remote_links(html) == ["https://cdn.example/x.js", "//cdn.example/y.css"]


def test_unknown_cdn_file_is_refused_naming_it(registry):
    m = folium.Map(tiles=None)
    plugins.Draw().add_to(m)
    with pytest.raises(AssetMissing, match=r"leaflet\.draw/1\.0\.2/leaflet\.draw\.js"):
        render_offline(m, registry, "/assets/")


def test_missing_npm_folder_names_package_and_setup_command(tmp_path):
    with pytest.raises(AssetMissing, match=r"'bootstrap' \(npm bootstrap@5\.2\.2\) tidak ditemukan.*make assets"):
        render_offline(_every_plugin_map(), AssetRegistry(tmp_path / "nowhere"), "/assets/")


def test_standalone_export_copies_assets_once(registry, tmp_path):
    html, written = render_standalone(_every_plugin_map(), registry, tmp_path)
    assert remote_links(html) == []
    linked = re.findall(r'(?:src|href)="(assets/[^"]+)"', html)
    assert linked and all((tmp_path / u).is_file() for u in linked)
    # images and fonts the stylesheets refer to are copied beside them
    fa_css = next(u for u in linked if u.endswith("all.min.css"))
    fonts = set(re.findall(r"url\(\.\./webfonts/([\w.-]+)\)", (tmp_path / fa_css).read_text()))
    assert fonts and all((tmp_path / fa_css).parent.parent.joinpath("webfonts", f).is_file() for f in fonts)
    assert written
    mtimes = {p: p.stat().st_mtime_ns for p in written}
    html2, written2 = render_standalone(_every_plugin_map(), registry, tmp_path)
    assert written2 == [] and all(p.stat().st_mtime_ns == t for p, t in mtimes.items())


def test_asset_route_serves_with_long_cache(client, registry):
    _root, version = registry.locate("leaflet")
    resp = get_closed(client, f"/assets/leaflet/{version}/leaflet.js")
    assert resp.status_code == 200
    assert resp.data == registry.file("leaflet", "leaflet.js").read_bytes()
    assert resp.cache_control.max_age == assets.CACHE_MAX_AGE and resp.cache_control.public
    assert resp.mimetype in {"text/javascript", "application/javascript"}
    css = get_closed(client, f"/assets/leaflet/{version}/images/layers.png")
    assert css.status_code == 200 and css.mimetype == "image/png"


@pytest.mark.parametrize(
    "path",
    [
        "/assets/leaflet/0.0.1/leaflet.js",  # another version than installed
        "/assets/leaflet/{v}/leaflet-src.js",  # installed, but not a declared file
        "/assets/leaflet/{v}/../jquery/data/jquery.js",
        "/assets/nope/1.0/x.js",
    ],
)
def test_asset_route_serves_declared_files_only(client, registry, path):
    resp = client.get(path.format(v=registry.locate("leaflet")[1]))
    assert resp.status_code == 404


def test_asset_route_and_map_name_setup_when_npm_assets_missing(tmp_path, template_db, boundary_source):

    from tests.conftest import make_app

    db = tmp_path / "a.sqlite"
    copy_database(template_db, db)
    app = make_app(db, tmp_path / "shp", BOUNDARY_SOURCE=boundary_source, NPM_ASSET_DIR=str(tmp_path / "none"))
    try:
        client = app.test_client()
        # a visitor gets a plain 404 without server paths; the page that needs the file names the set-up
        resp = get_closed(client, "/assets/bootstrap/5.2.2/css/bootstrap.min.css")
        assert resp.status_code == 404 and str(tmp_path).encode() not in resp.data
        page = client.get("/map")
        assert page.status_code == 500 and b"make assets" in page.data
        # files from PyPI packages are still served
        assert (
            get_closed(client, f"/assets/jquery/{AssetRegistry().locate('jquery')[1]}/jquery.min.js").status_code == 200
        )
    finally:
        app.extensions["geo_app.engine"].dispose()


def test_npm_specs_cover_npm_packages():
    specs = assets.npm_specs()
    assert specs == [p.dist for p in PACKAGES.values() if p.kind == "npm"]
    assert all(re.fullmatch(r"[@\w./-]+@\d+\.\d+\.\d+", s) for s in specs)


def test_asset_index_lists_versions_without_server_paths(client, registry):
    body = get_closed(client, "/assets/").get_json()
    assert set(body) == set(PACKAGES)
    assert body["leaflet"]["version"] == registry.locate("leaflet")[1]
    assert all("root" not in info and "error" not in info for info in body.values())


def test_assets_cli_lists_npm_specs_and_checks_without_a_database(tmp_path, monkeypatch):
    """`make assets` runs these before any database exists: they must not create one."""
    from click.testing import CliRunner

    from geo_app.cli import main

    monkeypatch.setenv("GEO_APP_DATABASE_URL", f"sqlite:///{tmp_path / 'never.sqlite'}")
    runner = CliRunner()
    specs = runner.invoke(main, ["assets", "npm-specs"])
    assert specs.exit_code == 0 and specs.output.split() == assets.npm_specs()
    missing = runner.invoke(main, ["assets", "check", "--npm-dir", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "bootstrap" in missing.output and "make assets" in missing.output
    assert not (tmp_path / "never.sqlite").exists()
