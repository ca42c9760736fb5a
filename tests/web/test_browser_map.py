"""The map pages in Chromium at election-week scale, on a phone, and where a click lands.

One database for the module: the demo set plus 100,000 synthetic incidents (``services.synthetic``,
inserted in one batch, not through the importer: the import is measured elsewhere) and one incident
with hostile text. The map pages are a shell whose layers fetch ``/api/map/...`` for the view; the
figures a test compares with come from the store (the records and the coverage settings), for the same
bounding box the page asked for.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from sqlalchemy import insert

from geo_app.app_db import get_session
from geo_app.services import layers as layer_service
from geo_app.services.records import create_record
from geo_app.services.synthetic import synthetic_incidents
from geo_app.store.adapter import desa_frame
from geo_app.store.db import bump_version
from geo_app.store.models import Incident
from tests.conftest import TEST_ADMIN, copy_database, keep_database, make_app
from tests.web.conftest import ARTIFACTS, MAP_JS, record, serve, wait_idle

pytest.importorskip("playwright.sync_api", reason="install the test extra: pip install -e '.[test]'")

SYNTHETIC = 100_000
HOSTILE = '<img src=x onerror="window.__pwned = 1"> {{7*7}} <b>tebal</b>'
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
SHELL_BUDGET_GZIP = 60 * 1024


def _bulk_incidents(session, n: int) -> None:
    """``n`` synthetic incidents written in one executemany (every point lies inside its desa)."""
    frame = synthetic_incidents(desa_frame(session), n, seed=11)
    now = datetime.now(UTC)
    rows = [
        {
            "external_id": r.external_id,
            "content_hash": hashlib.sha256(r.external_id.encode()).hexdigest(),
            "occurred_at": r.occurred_at.to_pydatetime(),
            "reported_at": r.reported_at.to_pydatetime(),
            "category": r.category,
            "severity": r.severity,
            "status": r.status,
            "desa_code": r.desa_code,
            "description": r.description,
            "source": r.source,
            "lon": float(r.lon),
            "lat": float(r.lat),
            "point_desa_code": r.desa_code,
            "placement": "inside",
            "location_mismatch": False,
            "synthetic": True,
            "notes": r.notes,
            "created_at": now,
            "updated_at": now,
        }
        for r in frame.itertuples(index=False)
    ]
    session.execute(insert(Incident), rows)
    bump_version(session, "records")
    session.commit()


@pytest.fixture(scope="module")
def scale(demo_template, tmp_path_factory, boundary_source):
    """(app, hostile incident) on the demo set + 100,000 synthetic incidents, built once for the module."""
    root = tmp_path_factory.mktemp("scale")
    db_path = root / "scale.sqlite"
    copy_database(demo_template, db_path)
    keep_database(db_path)  # for the whole module (PostgreSQL: not dropped after the first test)
    app = make_app(db_path, root / "shp", BOUNDARY_SOURCE=boundary_source)
    with app.app_context():
        session = get_session()
        _bulk_incidents(session, SYNTHETIC)
        desa = _quiet_desa(app, session)
        row = desa_frame(session).set_index("code").loc[desa]
        hostile = create_record(
            session,
            app.config["GEO_APP_SETTINGS"],
            "incidents",
            {
                "occurred_at": "20/11/2024 10:00",
                "category": "intimidasi",
                "severity": "tinggi",
                "desa_code": desa,
                "lat": round(float(row["rep_lat"]), 6),
                "lon": round(float(row["rep_lon"]), 6),
                "description": HOSTILE,
            },
            actor=TEST_ADMIN,
        )
    yield app, {"desa": desa, "id": hostile["id"]}
    app.extensions["geo_app.engine"].dispose()


def _visible(app, session=None):
    """Incidents the map shows in the default view (window, statuses), with their drawn point."""
    session = session or get_session()
    view, result = layer_service.load_view(session, {})
    return layer_service.visible_incidents(session, result, view)


def _quiet_desa(app, session) -> str:
    """A desa with at least three incidents in the view whose surroundings are quiet: fitted into a
    1366x768 map (and the quarter the page asks for around it), the fewest incidents are in view."""
    visible = _visible(app, session)
    own = visible["desa_code"].value_counts()
    bounds = desa_frame(session).set_index("code").geometry.bounds
    best, fewest = None, None
    for code in own[own >= 3].index:
        minx, miny, maxx, maxy = bounds.loc[code]
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        half_w = max(maxx - minx, (maxy - miny) * LAPTOP["width"] / LAPTOP["height"]) * 0.6 * 1.5
        half_h = half_w * LAPTOP["height"] / LAPTOP["width"]
        n = len(_in_bbox(visible, [cx - half_w, cy - half_h, cx + half_w, cy + half_h]))
        if fewest is None or n < fewest:
            best, fewest = code, n
    return str(best)


@pytest.fixture(scope="module")
def scale_server(scale):
    app, _hostile = scale
    with serve(app) as url:
        yield url


@pytest.fixture
def laptop(browser):
    context = browser.new_context(viewport=LAPTOP, service_workers="block")
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, service_workers="block")
    yield context.new_page()
    context.close()


def _in_bbox(frame: pd.DataFrame, bbox: list[float]) -> pd.DataFrame:
    minx, miny, maxx, maxy = bbox
    lon, lat = frame["display_lon"], frame["display_lat"]
    return frame[(lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)]


def _last_bbox(visit, path: str) -> list[float]:
    url = visit.local(path)[-1]
    return [float(v) for v in parse_qs(urlsplit(url).query)["bbox"][0].split(",")]


LAYER_JS = f"""(key) => {{
  const layer = GeoMap.layers({MAP_JS})[key];
  const counts = [], points = [];
  layer.eachLayer(m => {{ if (m.geoCount !== undefined) counts.push(m.geoCount);
                         else if (m.geoProps) points.push(m.geoProps.id); }});
  return {{mode: layer.mode, total: layer.total, drawn: layer.drawn, clusterCounts: counts, pointIds: points,
           onMap: {MAP_JS}.hasLayer(layer)}};
}}"""


def _switch_on(page, name: str) -> None:
    page.locator(".leaflet-control-layers-overlays label").filter(has_text=re.compile(f"^ ?{name}$")).click()


# --- 100,000 incidents ---------------------------------------------------------------------------------


def test_shell_is_small_and_does_not_grow_with_the_records(scale, demo_app):
    """The overview is a shell: the same bytes for the demo set and for 100,000 more incidents."""
    app, _hostile = scale
    pages = {}
    for name, which in (("demo", demo_app), ("scale", app)):
        client = which.test_client()
        client.environ_base["HTTP_ACCEPT_ENCODING"] = "identity"
        body = client.get("/map").get_data(as_text=True)
        # without the per-response nonce and folium's random element ids
        pages[name] = re.sub(r"_[0-9a-f]{32}(?![0-9a-f])", "_id", re.sub(r'nonce="[^"]*"', "", body))
    assert len(gzip.compress(pages["scale"].encode())) <= SHELL_BUDGET_GZIP
    assert pages["scale"] == pages["demo"]
    assert "SYN-INC" not in pages["scale"] and "popup_html" not in pages["scale"]


def test_overview_with_100k_incidents_is_interactive_and_clusters_add_up(scale, scale_server, laptop):
    app, _hostile = scale
    page = laptop
    visit = record(page)
    page.goto(f"{scale_server}/map?peta_dasar=none", wait_until="load")
    wait_idle(page)
    # at the start no marker is on the map: the desa answer "where are the gaps"
    assert page.evaluate("() => document.querySelectorAll('.geo-point, .geo-cluster').length") == 0

    _switch_on(page, "Insiden")
    wait_idle(page, "document.querySelectorAll('.geo-cluster').length > 0")
    state = page.evaluate(LAYER_JS, "incidents")
    bbox = _last_bbox(visit, "/api/map/points/incidents")
    with app.app_context():
        in_view = _in_bbox(_visible(app), bbox)
    assert state["mode"] == "clusters" and len(in_view) > SYNTHETIC / 4
    # every incident in the view the page asked for is counted once: in a cluster or as a point
    assert state["total"] == len(in_view)
    assert sum(state["clusterCounts"]) + len(state["pointIds"]) == len(in_view)
    # the legend explains every symbol now shown: the incident severities and the cluster badge
    symbols = page.eval_on_selector_all(".status-legend [data-symbol]", "els => els.map(e => e.dataset.symbol)")
    assert {"incidents:high", "incidents:medium", "incidents:low", "cluster"} <= set(symbols)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview-100k-clusters.png"))

    # zoom with the wheel and pan by dragging: the map moves and asks for the new view's data
    before = page.evaluate(f"() => [{MAP_JS}.getZoom(), {MAP_JS}.getCenter().lng]")
    box = page.locator(".folium-map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -600)
    page.wait_for_function(f"(z) => {MAP_JS}.getZoom() > z", arg=before[0])
    wait_idle(page)  # the zoom animation is over (a drag during it is ignored)
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 200, cy - 40, steps=8)
    page.mouse.up()
    wait_idle(page)
    after = page.evaluate(f"() => [{MAP_JS}.getZoom(), {MAP_JS}.getCenter().lng]")
    assert after[0] > before[0] and after[1] != before[1]
    assert len(visit.local("/api/map/desa")) >= 2 and len(visit.local("/api/map/points/incidents")) >= 2

    # clicking a cluster (the largest one in view) zooms to its bounds
    zoom = after[0]
    target = page.evaluate(
        f"""() => {{ const map = {MAP_JS}, view = map.getBounds(), box = map.getContainer().getBoundingClientRect();
            let best = null;
            GeoMap.layers(map).incidents.eachLayer(m => {{
              if (m.geoCount && view.pad(-0.1).contains(m.getLatLng()) && (!best || m.geoCount > best.geoCount)) best = m; }});
            const p = map.latLngToContainerPoint(best.getLatLng());
            return [box.left + p.x, box.top + p.y]; }}"""
    )
    page.mouse.click(*target)
    page.wait_for_function(f"(z) => {MAP_JS}.getZoom() > z", arg=zoom)
    wait_idle(page)
    state = page.evaluate(LAYER_JS, "incidents")
    bbox = _last_bbox(visit, "/api/map/points/incidents")
    with app.app_context():
        in_view = _in_bbox(_visible(app), bbox)
    assert state["total"] == len(in_view) == sum(state["clusterCounts"]) + len(state["pointIds"])
    assert visit.clean(), (visit.console_errors, visit.page_errors, visit.local_failures)
    assert visit.external == []


def test_zooming_into_a_desa_shows_its_incidents_and_popups_show_text(scale, scale_server, laptop):
    app, hostile = scale
    page = laptop
    code = hostile["desa"]
    with app.app_context():
        visible = _visible(app)
        own = visible[visible["desa_code"] == code]
        west, south, east, north = desa_frame(get_session()).set_index("code").loc[[code]].total_bounds
    visit = record(page)
    page.goto(f"{scale_server}/map?peta_dasar=none#layers=desa,incidents", wait_until="load")
    wait_idle(page)
    page.evaluate(f"(b) => {MAP_JS}.fitBounds([[b[1], b[0]], [b[3], b[2]]])", [west, south, east, north])
    wait_idle(page, "document.querySelectorAll('.incidents-marker').length > 0")
    state = page.evaluate(LAYER_JS, "incidents")
    bbox = _last_bbox(visit, "/api/map/points/incidents")
    with app.app_context():
        in_view = _in_bbox(_visible(app), bbox)
    assert state["mode"] == "points" and state["clusterCounts"] == []
    assert sorted(state["pointIds"]) == sorted(in_view["id"].tolist())
    # every incident of the desa is there, one marker each
    assert set(own["id"]) <= set(state["pointIds"]) and len(own) >= 3

    # the hostile description: shown as typed, nothing of it runs or renders
    point = page.evaluate(
        f"""(id) => {{ const map = {MAP_JS}; let found = null;
            GeoMap.layers(map).incidents.eachLayer(m => {{ if (m.geoProps && m.geoProps.id === id) found = m; }});
            found.setZIndexOffset(10000);  // on top of the synthetic reports at the same place
            const p = map.latLngToContainerPoint(found.getLatLng());
            const box = map.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y]; }}""",
        hostile["id"],
    )
    page.mouse.click(*point)
    popup = page.locator(".leaflet-popup-content").last
    popup.wait_for()
    text = popup.inner_text()
    assert '<img src=x onerror="window.__pwned = 1"> {{7*7}} <b>tebal</b>' in text
    assert popup.locator("img").count() == 0 and popup.locator("b", has_text="tebal").count() == 0
    assert page.evaluate("() => window.__pwned === undefined")
    assert visit.clean(), (visit.console_errors, visit.page_errors, visit.local_failures)


# --- where a click lands -------------------------------------------------------------------------------


def test_a_click_on_a_desa_opens_its_popup(scale, scale_server, laptop):
    """At the starting zoom (1366x768), a click at each desa's representative point opens that desa's
    popup, for at least 95% of the desa drawn at least 12 px wide and high. Each click starts from the
    starting view (a popup near an edge pans the map); a point under a control counts as a miss."""
    page = laptop
    visit = record(page)
    page.goto(f"{scale_server}/map", wait_until="load")
    wait_idle(page, "document.querySelectorAll('.map-label.kecamatan').length > 0")
    start = page.evaluate(f"() => [{MAP_JS}.getCenter(), {MAP_JS}.getZoom()]")
    targets = page.evaluate(
        f"""() => {{ const map = {MAP_JS}, out = [];
            GeoMap.layers(map).desa.eachLayer(l => {{
              if (l.options.className !== "desa-polygon") return;  // the pattern drawn over some desa
              const p = l.feature.properties, r = l.getElement().getBoundingClientRect();
              if (r.width >= 12 && r.height >= 12) out.push({{code: p.code, lat: p.label_lat, lon: p.label_lon}});
            }});
            return out; }}"""
    )
    missed = []
    for target in targets:
        xy = page.evaluate(
            f"""([t, start]) => {{ const map = {MAP_JS}; map.closePopup(); map.setView(start[0], start[1], {{animate: false}});
                const box = map.getContainer().getBoundingClientRect(), p = map.latLngToContainerPoint([t.lat, t.lon]);
                return [box.left + p.x, box.top + p.y]; }}""",
            [target, start],
        )
        page.wait_for_function("() => !document.querySelector('.leaflet-popup')")  # the last one has faded
        if page.evaluate("([x, y]) => !!document.elementFromPoint(x, y).closest('.leaflet-control')", xy):
            missed.append((target["code"], "under a control"))
            continue
        page.mouse.click(*xy)
        code = page.evaluate(f"() => {{ const p = {MAP_JS}._popup; return p && p.isOpen() ? p._geoCode : null; }}")
        if code != target["code"]:
            missed.append((target["code"], code))
    assert len(targets) >= 100
    assert len(missed) <= 0.05 * len(targets), missed
    assert visit.clean(), (visit.console_errors, visit.page_errors, visit.local_failures)


# --- a phone -------------------------------------------------------------------------------------------


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_on_a_phone_the_controls_fold_and_the_search_opens_a_popup(scale, scale_server, phone):
    app, hostile = scale
    page = phone
    visit = record(page)
    page.goto(f"{scale_server}/map?peta_dasar=none", wait_until="load")
    wait_idle(page)
    control = page.locator(".leaflet-control-layers")
    assert "leaflet-control-layers-expanded" not in (control.get_attribute("class") or "")
    assert page.evaluate("() => document.querySelector('details.status-legend').open") is False
    assert _no_sideways_scroll(page)

    with app.app_context():
        desa = desa_frame(get_session()).set_index("code")
    names = []
    for code in (hostile["desa"], desa.index[0]):
        name = desa.loc[code, "name"]
        search = page.locator(".leaflet-control-search input")
        search.tap()
        search.fill("")
        search.press_sequentially(name, delay=15)
        tip = page.locator(f".search-tip[data-code='{code}']")
        tip.tap()
        page.wait_for_function(
            f"(c) => {{ const p = {MAP_JS}._popup; return p && p.isOpen() && p._geoCode === c; }}", arg=code
        )
        page.locator(".desa-popup .leaflet-popup-content", has_text=name).wait_for()
        # one search outline: the previous one is gone
        assert page.locator("path.search-outline").count() == 1
        names.append(name)
    assert len(names) == 2
    for path in (f"/map/kecamatan/{desa.loc[hostile['desa'], 'kecamatan_code']}", f"/map/desa/{hostile['desa']}"):
        page.goto(f"{scale_server}{path}?peta_dasar=none", wait_until="load")
        wait_idle(page)
        assert _no_sideways_scroll(page), path
    assert visit.clean(), (visit.console_errors, visit.page_errors, visit.local_failures)


def test_on_a_phone_the_desa_page_map_is_visible(scale, scale_server, phone):
    """The desa page's map at 390x844: in view, and mostly map (legend and layer control folded)."""
    _app, hostile = scale
    page = phone
    visit = record(page)
    page.goto(f"{scale_server}/desa/{hostile['desa']}?peta_dasar=none", wait_until="load")
    frame_el = page.locator("iframe.map")
    frame_el.scroll_into_view_if_needed()
    box = frame_el.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["height"] >= 250
    frame = page.frame_locator("iframe.map")
    frame.locator("path.desa-polygon").first.wait_for()
    # sample the frame on a grid: most points show the map itself, not a control on top of it
    free = frame.locator("body").evaluate(
        """() => { let free = 0, all = 0;
             for (let x = 5; x < innerWidth; x += 20) for (let y = 5; y < innerHeight; y += 20) {
               all++; const el = document.elementFromPoint(x, y);
               if (el && !el.closest(".leaflet-control")) free++; }
             return free / all; }"""
    )
    assert free >= 0.75, free
    page.screenshot(path=str(ARTIFACTS / "desa-page-phone.png"), full_page=True)
    assert visit.clean(), (visit.console_errors, visit.page_errors, visit.local_failures)


# --- the dashboard, links, titles ------------------------------------------------------------------------


def test_dashboard_frame_fits_the_kabupaten_and_loads_the_overview_once(scale, scale_server, laptop):
    page = laptop
    visit = record(page)
    page.goto(f"{scale_server}/", wait_until="load")
    frame = page.frame_locator("iframe.map")
    frame.locator("path.desa-polygon").first.wait_for()
    page.frame_locator("iframe.map").locator("body").evaluate(
        "() => new Promise(r => { const m = "
        + MAP_JS
        + "; const t = () => GeoMap.pending(m) ? setTimeout(t, 50) : r(); t(); })"
    )
    extent = frame.locator("body").evaluate(
        """() => { const r = [...document.querySelectorAll("path.desa-polygon")].map(p => p.getBoundingClientRect());
             const minX = Math.min(...r.map(b => b.left)), maxX = Math.max(...r.map(b => b.right));
             const minY = Math.min(...r.map(b => b.top)), maxY = Math.max(...r.map(b => b.bottom));
             return {w: (maxX - minX) / innerWidth, h: (maxY - minY) / innerHeight,
                     inside: minX >= -1 && minY >= -1 && maxX <= innerWidth + 1 && maxY <= innerHeight + 1}; }"""
    )
    # the whole kabupaten is in the frame and fills it in one direction
    assert extent["inside"] and max(extent["w"], extent["h"]) >= 0.85, extent
    assert len(visit.local("/map")) == 1 and len(visit.local("/api/map/desa")) == 1
    # inside the dashboard the map has no link back to the dashboard
    assert frame.locator(".geo-back").count() == 0
    assert visit.clean(), (visit.console_errors, visit.page_errors, visit.local_failures)


def test_points_appear_when_zoomed_in_unless_switched_by_hand(scale_server, laptop):
    page = laptop
    visit = record(page)
    page.goto(f"{scale_server}/map?peta_dasar=none", wait_until="load")
    wait_idle(page)
    on = f"() => {{ const m = {MAP_JS}, l = GeoMap.layers(m); return ['tps', 'incidents', 'meetings'].filter(k => m.hasLayer(l[k])); }}"
    assert page.evaluate(on) == []
    page.evaluate(f"() => {MAP_JS}.setView([-2.58, 101.12], 14)")
    wait_idle(page, "document.querySelectorAll('.tps-marker').length > 0")
    assert page.evaluate(on) == ["tps", "incidents", "meetings"]
    page.evaluate(f"() => {MAP_JS}.setZoom(11)")
    wait_idle(page)
    assert page.evaluate(on) == []
    # switched on by hand, a layer stays on whatever the zoom
    _switch_on(page, "Rakor")
    page.evaluate(f"() => {MAP_JS}.setZoom(14)")
    wait_idle(page)
    page.evaluate(f"() => {MAP_JS}.setZoom(10)")
    wait_idle(page)
    assert page.evaluate(on) == ["meetings"]
    assert visit.clean(), (visit.console_errors, visit.page_errors, visit.local_failures)


def test_the_view_is_in_the_link_and_comes_back(scale_server, laptop):
    page = laptop
    visit = record(page)
    page.goto(f"{scale_server}/map#map=13/-2.62/101.18&layers=desa,meetings&base=none", wait_until="load")
    wait_idle(page)
    state = page.evaluate(
        f"""() => {{ const map = {MAP_JS}, layers = GeoMap.layers(map);
            return {{zoom: map.getZoom(), lat: map.getCenter().lat, lng: map.getCenter().lng,
                     on: Object.keys(layers).filter(k => map.hasLayer(layers[k])),
                     tiles: document.querySelectorAll("img.leaflet-tile").length}}; }}"""
    )
    assert state["zoom"] == 13 and abs(state["lat"] + 2.62) < 1e-3 and abs(state["lng"] - 101.18) < 1e-3
    assert sorted(state["on"]) == ["desa", "meetings"] and state["tiles"] == 0
    assert visit.external == []

    # move, switch a layer: the link follows; "copy link" gives it; opening it gives the same view
    page.evaluate(f"() => {MAP_JS}.setView([-2.7, 101.3], 12)")
    _switch_on(page, "TPS")
    wait_idle(page)
    page.locator(".geo-copy-link").click()
    link = page.locator(".geo-copy-link").get_attribute("data-url")
    assert link.startswith(f"{scale_server}/map#map=12/-2.7/101.3") and "tps" in link
    assert page.title().startswith("Peta cakupan") and page.locator(".geo-back").get_attribute("href") == "/"
    page.goto("about:blank")
    page.goto(link, wait_until="load")
    wait_idle(page)
    again = page.evaluate(
        f"() => {{ const map = {MAP_JS}, layers = GeoMap.layers(map); return [map.getZoom(), "
        "Object.keys(layers).filter(k => map.hasLayer(layers[k])).sort()]; }"
    )
    assert again == [12, ["desa", "meetings", "tps"]]
    assert visit.clean(), (visit.console_errors, visit.page_errors, visit.local_failures)
