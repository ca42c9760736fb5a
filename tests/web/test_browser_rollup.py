"""Issue 14, maps that roll up: the province overview in Chromium (10 kabupaten/kota, 1,513 desa and the
province demo set). Zoomed out it draws the kabupaten by their share of uncovered desa and asks for no
desa; zoomed in it loads the desa of the view only. The bytes of the first view are judged against the
scale issue's budgets, as the app serves them (gzip)."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from geo_app.maps.remote import ROLLUP_DESA_MIN_ZOOM, ROLLUP_KABUPATEN_MAX_ZOOM, ROLLUP_KECAMATAN_MAX_ZOOM
from tests.conftest import _fold_wal, copy_database, make_app
from tests.web.conftest import ARTIFACTS, MAP_JS, record, serve

pytest.importorskip("playwright.sync_api", reason="install the test extra: pip install -e '.[test]'")

LAPTOP = {"width": 1366, "height": 768}
SHELL_BUDGET_GZIP = 60 * 1024
FIRST_VIEW_BUDGET_GZIP = 400 * 1024


@pytest.fixture(scope="module")
def province_app(province_demo_template, tmp_path_factory, boundary_source):
    root = tmp_path_factory.mktemp("browser-rollup")
    db_path = root / "province.sqlite"
    copy_database(province_demo_template.path, db_path)
    _fold_wal(db_path)
    app = make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source, KABUPATEN="17")
    yield app
    app.extensions["geo_app.engine"].dispose()


@pytest.fixture(scope="module")
def province_server(province_app):
    with serve(province_app) as url:
        yield url


@pytest.fixture
def laptop(browser):
    context = browser.new_context(viewport=LAPTOP, service_workers="block")
    yield context.new_page()
    context.close()


def wait_rollup(page, what: str) -> None:
    """Wait until no map request is in flight or scheduled and ``what`` (a JS expression) holds."""
    page.wait_for_function(f"() => {{ const map = {MAP_JS}; return !!map && GeoMap.pending(map) === 0 && ({what}); }}")


def count(page, selector: str) -> int:
    return page.evaluate("(s) => document.querySelectorAll(s).length", selector)


def check_kabupaten_outlines(page, kabupaten: int) -> None:
    """Every kabupaten outlined (no fill, in the outline pane above the desa fills, taking no clicks); a
    click on the outline where it runs over a desa opens that desa's popup."""
    page.wait_for_function("(n) => document.querySelectorAll('path.kabupaten-outline').length === n", arg=kabupaten)
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('path.kabupaten-outline')].map(p => {
            const pane = p.closest('.leaflet-pane');
            const desa = document.querySelector('path.desa-polygon');
            const under = desa ? Number(getComputedStyle(desa.closest('.leaflet-pane')).zIndex) : null;
            return {code: p.dataset.code, fill: p.getAttribute('fill'), events: getComputedStyle(p).pointerEvents,
                    pane: pane.classList.contains('leaflet-geo-outlines-pane'),
                    above: Number(getComputedStyle(pane).zIndex) > under}; })"""
    )
    assert len({d["code"] for d in drawn}) == kabupaten
    assert all(d["fill"] == "none" and d["events"] == "none" and d["pane"] and d["above"] for d in drawn), drawn
    # a point of a kabupaten outline, inside the map and over a desa (not a control)
    target = page.evaluate(
        f"""() => {{ const map = {MAP_JS}, box = map.getContainer().getBoundingClientRect(), size = map.getSize();
            let found = null;
            GeoMap.layers(map).kabupaten.eachLayer(l => {{
              if (found || !l.options.className.includes("kabupaten-outline")) return;
              for (const ll of l.getLatLngs().flat(3)) {{
                const p = map.latLngToContainerPoint(ll);
                if (p.x < 60 || p.y < 60 || p.x > size.x - 60 || p.y > size.y - 60) continue;
                const el = document.elementFromPoint(box.left + p.x, box.top + p.y);
                if (el && el.classList.contains("desa-polygon")) {{
                  found = [box.left + p.x, box.top + p.y, el.dataset.code]; break; }}
              }}
            }});
            return found; }}"""
    )
    assert target, "no point of a kabupaten outline over a desa in the view"
    x, y, code = target
    page.mouse.click(x, y)
    page.wait_for_function(
        f"""(code) => {{ const map = {MAP_JS}; return !!map._popup && map.hasLayer(map._popup)
            && map._popup._geoCode === code && !!document.querySelector('.leaflet-popup.desa-popup'); }}""",
        arg=code,
    )


def served_gzip_bytes(app, urls: list[str]) -> int:
    """What the app sends for ``urls`` to a browser accepting gzip (body bytes as served)."""
    client = app.test_client()
    total = 0
    for url in urls:
        parts = urlsplit(url)
        resp = client.get(parts.path, query_string=parts.query, headers={"Accept-Encoding": "gzip"})
        assert resp.status_code == 200, url
        assert resp.headers.get("Content-Encoding") == "gzip", url
        total += len(resp.get_data())
    return total


def test_province_overview_rolls_up_and_loads_desa_by_view(province_app, province_server, laptop):
    page = laptop
    visit = record(page)
    page.goto(f"{province_server}/map?peta_dasar=none", wait_until="load")
    wait_rollup(page, "document.querySelectorAll('path[data-rollup=\"kabupaten\"]').length > 0")
    coverage = province_app.test_client().get("/api/coverage").json["desa"]
    kabupaten = {r["kabupaten_code"] for r in coverage}
    # the first view: fitted to the whole province, the ten kabupaten drawn, no desa asked for
    zoom = page.evaluate(f"() => {MAP_JS}.getZoom()")
    assert round(zoom) <= ROLLUP_KABUPATEN_MAX_ZOOM
    drawn = page.eval_on_selector_all('path[data-rollup="kabupaten"]', "els => els.map(e => e.dataset.code)")
    assert sorted(drawn) == sorted(kabupaten) and len(drawn) == 10
    assert count(page, "path.desa-polygon") == 0 and visit.local("/api/map/desa") == []
    # the kabupaten outlines read the fills' source: one request for both
    assert count(page, "path.kabupaten-outline") == 10 and len(visit.local("/api/map/kabupaten")) == 1
    inside = page.evaluate(
        f"""() => {{ const v = {MAP_JS}.getBounds(); let n = 0;
            GeoMap.layers({MAP_JS}).kabupaten_rollup.eachLayer(l => {{ if (v.contains(l.getBounds())) n += 1; }});
            return n; }}"""
    )
    assert inside == 10  # every kabupaten fits the first view
    shares = page.eval_on_selector_all(".status-legend [data-legend=shares] .legend-row", "els => els.length")
    assert shares >= 3
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "province-overview.png"))

    # the bytes of the first view, gzip as served: the shell, and the shell with its data
    first_view = visit.local("/api/map/") + visit.local("/map")
    shell = served_gzip_bytes(province_app, visit.local("/map"))
    data = served_gzip_bytes(province_app, [u for u in first_view if "/api/map/" in u])
    print(f"province overview first view: shell {shell} B gzip, data {data} B gzip, {len(first_view)} requests")
    assert shell <= SHELL_BUDGET_GZIP
    assert shell + data <= FIRST_VIEW_BUDGET_GZIP

    # a click on a kabupaten zooms to it
    target = page.evaluate(
        f"""() => {{ const map = {MAP_JS}, box = map.getContainer().getBoundingClientRect();
            let best = null;
            GeoMap.layers(map).kabupaten_rollup.eachLayer(l => {{
              if (l.feature.properties.code === "17.06") best = l; }});
            const p = map.latLngToContainerPoint(L.latLng(best.feature.properties.label_lat,
                                                          best.feature.properties.label_lon));
            return [box.left + p.x, box.top + p.y]; }}"""
    )
    page.mouse.click(*target)
    page.wait_for_function(f"(z) => {MAP_JS}.getZoom() > z + 0.5", arg=zoom)
    wait_rollup(page, "true")
    centre = page.evaluate(f"() => {{ const c = {MAP_JS}.getCenter(); return [c.lng, c.lat]; }}")
    row = next(
        f for f in province_app.test_client().get("/api/map/kabupaten?zoom=8").json["features"] if f["id"] == "17.06"
    )
    minx, miny, maxx, maxy = row["properties"]["bounds"]
    assert minx <= centre[0] <= maxx and miny <= centre[1] <= maxy

    # middle zoom: the kecamatan roll-up, no kabupaten, still no desa
    page.evaluate(f"() => {MAP_JS}.setZoom({ROLLUP_KECAMATAN_MAX_ZOOM}, {{animate: false}})")
    wait_rollup(page, "document.querySelectorAll('path[data-rollup=\"kecamatan\"]').length > 0")
    assert count(page, 'path[data-rollup="kabupaten"]') == 0
    assert count(page, "path.desa-polygon") == 0 and visit.local("/api/map/desa") == []

    # zoomed in past the threshold: the desa of the view only, as many as the server sent
    page.evaluate(f"() => {MAP_JS}.setZoom({ROLLUP_DESA_MIN_ZOOM}, {{animate: false}})")
    wait_rollup(page, "document.querySelectorAll('path.desa-polygon').length > 0")
    assert count(page, 'path[data-rollup="kecamatan"]') == 0
    last = visit.local("/api/map/desa")[-1]
    sent = province_app.test_client().get(urlsplit(last).path + "?" + urlsplit(last).query).json["count"]
    desa = count(page, "path.desa-polygon")
    assert desa == sent and 0 < desa < len(coverage)
    # zoomed in, where one kabupaten ends is still drawn, as finely as the desa, and a desa takes the click
    check_kabupaten_outlines(page, len(kabupaten))
    assert any(urlsplit(u).query.endswith(f"zoom={ROLLUP_DESA_MIN_ZOOM}") for u in visit.local("/api/map/kabupaten"))
    page.screenshot(path=str(ARTIFACTS / "province-zoomed-in.png"))
    assert visit.clean(), (visit.console_errors, visit.page_errors, visit.local_failures)
    assert visit.non_tile_external() == []


def test_province_overview_from_disk_rolls_up_and_hands_over_to_the_desa(province_app, laptop, tmp_path):
    """The ``layers build`` index (data inline, no server): kabupaten first, and past the thresholds the
    kecamatan then the desa, the roll-up areas going as the inline data does not change with the zoom."""
    from geo_app.app_db import get_session
    from geo_app.maps.assets import app_registry
    from geo_app.services import coverage as coverage_service
    from geo_app.services import layers_build, map_data

    with province_app.app_context():
        result = coverage_service.get_coverage(get_session())
        prep = map_data.PreparedMap(result, get_session())
        html = layers_build._standalone_page(
            prep,
            map_data.MapView(settings=result.settings),
            result.desa.total_bounds,
            "id",
            app_registry(province_app),
            tmp_path,
            "Peta provinsi",
            1500,
            rollup=True,
        )
    (tmp_path / "index.html").write_text(html, encoding="utf-8")
    # each data set once in the page (the layers drawing it name it; it was three times): the rest is the shell
    written = re.findall(r"GeoMap\.pageData\(map_\w+, (.*)\);", html)
    assert len(written) == 1 and '"inline"' not in html
    assert len(html.encode()) - len(written[0].encode()) < 100 * 1024
    data = json.loads(written[0])
    assert len(data["desa"]["features"]) == len(result.desa) > 1000
    assert {"kecamatan", "kabupaten", "legend", "tps", "incidents", "meetings", "heat"} <= set(data)
    page = laptop
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    # the page's own files only (tiles blocked: offline)
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
    page.goto(
        (tmp_path / "index.html").as_uri()
        + "#layers=kabupaten_rollup,kecamatan_rollup,desa,kecamatan,kabupaten&base=none",
        wait_until="load",
    )
    wait_rollup(page, "document.querySelectorAll('path[data-rollup=\"kabupaten\"]').length === 10")
    assert count(page, "path.desa-polygon") == 0
    links = page.evaluate(
        f"() => {{ const out = []; GeoMap.layers({MAP_JS}).kabupaten_rollup.eachLayer(l => out.push(l.feature.properties.url)); return out; }}"
    )
    assert sorted(links) == sorted(f"{code}/overview.html" for code in coverage_service.kabupaten_names(result))
    page.evaluate(f"() => {MAP_JS}.setView([-3.8, 102.3], {ROLLUP_KECAMATAN_MAX_ZOOM}, {{animate: false}})")
    wait_rollup(page, "document.querySelectorAll('path[data-rollup=\"kecamatan\"]').length > 0")
    assert count(page, 'path[data-rollup="kabupaten"]') == 0 and count(page, "path.desa-polygon") == 0
    page.evaluate(f"() => {MAP_JS}.setZoom({ROLLUP_DESA_MIN_ZOOM}, {{animate: false}})")
    wait_rollup(page, "document.querySelectorAll('path.desa-polygon').length > 0")
    assert count(page, 'path[data-rollup="kecamatan"]') == 0
    check_kabupaten_outlines(page, 10)
    page.screenshot(path=str(ARTIFACTS / "province-from-disk-zoomed-in.png"))
    assert errors == []
