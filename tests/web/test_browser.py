"""The pages in a real browser: Debian's Chromium driven by Playwright's Python package.

Nothing is installed here: `.ci/run` installs `chromium` with apt-get and the `test` extra brings
`playwright` (no browser download: Playwright launches /usr/bin/chromium). The app is served on
127.0.0.1 (a free port) from the ``app`` fixture's database with the real boundaries. Every request
the page makes is recorded; anything not for 127.0.0.1 is aborted before it leaves the machine, and
only base-map tile requests are allowed to have been attempted.

To check another page, open it with ``browse(url)`` (``live_server`` + ``page`` fixtures) and assert on
the returned ``Visit``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from geo_app.app_db import get_session
from geo_app.store.adapter import kecamatan_frame

playwright_api = pytest.importorskip("playwright.sync_api", reason="install the test extra: pip install -e '.[test]'")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: base-map tiles are the one external resource the pages may ask for
TILE_HOSTS = {
    "tile.openstreetmap.org",
    "a.tile.openstreetmap.org",
    "b.tile.openstreetmap.org",
    "c.tile.openstreetmap.org",
}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESA_CODE = r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install -y chromium chromium-driver (.ci/run does)")
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    """The app on http://127.0.0.1:<free port>, served from a thread for the duration of a test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@dataclass
class Visit:
    requests: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    local_failures: list[str] = field(default_factory=list)

    def non_tile_external(self) -> list[str]:
        return [u for u in self.external if urlsplit(u).hostname not in TILE_HOSTS]


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def browse(page):
    """Open a URL with every request recorded and nothing but 127.0.0.1 let through."""

    def _browse(url: str) -> Visit:
        visit = Visit()

        def route(r):
            if urlsplit(r.request.url).hostname == "127.0.0.1":
                r.continue_()
            else:
                visit.external.append(r.request.url)
                r.abort("blockedbyclient")

        def on_console(msg):
            if msg.type == "error":
                source = msg.location.get("url", "") if msg.location else ""
                # a blocked tile is expected offline; it must not hide any other error
                if urlsplit(source).hostname not in TILE_HOSTS:
                    visit.console_errors.append(f"{msg.text} ({source})")

        def on_response(resp):
            if urlsplit(resp.url).hostname == "127.0.0.1" and resp.status >= 400:
                visit.local_failures.append(f"{resp.status} {resp.url}")

        def on_failed(req):
            if urlsplit(req.url).hostname == "127.0.0.1":
                visit.local_failures.append(f"failed {req.url}: {req.failure}")

        page.route("**/*", route)
        page.on("request", lambda req: visit.requests.append(req.url))
        page.on("console", on_console)
        page.on("pageerror", lambda exc: visit.page_errors.append(str(exc)))
        page.on("response", on_response)
        page.on("requestfailed", on_failed)
        page.goto(url, wait_until="load")
        page.wait_for_function("() => document.querySelectorAll('path.desa-polygon').length > 0")
        return visit

    return _browse


MAP_STATE_JS = """
() => {
  const maps = Object.keys(window).filter(k => k.startsWith("map_") && window[k] instanceof L.Map);
  const map = window[maps[0]];
  const codes = new Set();
  map.eachLayer(l => { const p = l.feature && l.feature.properties;
                        if (p && /%s/.test(p.code)) codes.add(p.code); });
  const paths = [...document.querySelectorAll("path.desa-polygon")];
  return {
    maps: maps.length,
    desaCodes: codes.size,
    desaPaths: paths.length,
    emptyPaths: paths.filter(p => !p.getAttribute("d") || p.getAttribute("d") === "M0 0").length,
    kecamatanPaths: document.querySelectorAll("path.kecamatan-outline").length,
    baseLayers: [...document.querySelectorAll(".leaflet-control-layers-base label")].map(l => l.textContent.trim()),
    overlays: [...document.querySelectorAll(".leaflet-control-layers-overlays label")].map(l => l.textContent.trim()),
    kecamatanLabels: [...document.querySelectorAll(".map-label.kecamatan")].map(e => e.textContent),
    tiles: document.querySelectorAll("img.leaflet-tile").length,
    fullscreen: document.querySelectorAll("a[title='Layar penuh']").length,
    scale: [...document.querySelectorAll(".leaflet-control-scale-line")].map(e => e.textContent),
    search: document.querySelectorAll(".leaflet-control-search input").length,
  };
}
""".replace("%s", DESA_CODE)


RECORD_LAYERS = ["TPS", "Insiden", "Peta panas insiden", "Rakor"]
OVERVIEW_OVERLAYS = ["Desa/Kelurahan", "Batas kecamatan", "Nama kecamatan", *RECORD_LAYERS]


def _kecamatan_names(app) -> list[str]:
    with app.app_context():
        return sorted(kecamatan_frame(get_session())["name"])


def test_overview_map_offline_without_base_map(app, live_server, browse, page):
    visit = browse(f"{live_server}/map?peta_dasar=none")
    state = page.evaluate(MAP_STATE_JS)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview-map.png"), full_page=True)

    assert state["maps"] == 1
    assert state["desaCodes"] == 151
    assert state["desaPaths"] == 151 and state["emptyPaths"] == 0
    assert state["kecamatanPaths"] == 15
    assert state["baseLayers"] == ["OpenStreetMap", "Tanpa peta dasar / no base map"]
    assert state["overlays"] == OVERVIEW_OVERLAYS
    assert sorted(state["kecamatanLabels"]) == _kecamatan_names(app)
    assert state["fullscreen"] == 1 and state["search"] == 1
    assert state["scale"] and state["scale"][0].endswith(("km", " m"))
    assert state["tiles"] == 0
    # with no base map the page asks for nothing outside the machine at all
    assert visit.external == []
    assert visit.console_errors == [] and visit.page_errors == [] and visit.local_failures == []
    assert any("/assets/leaflet/" in u for u in visit.requests)


def test_overview_map_with_tiles_requests_only_tiles(live_server, browse, page):
    visit = browse(f"{live_server}/map")
    page.wait_for_function("() => document.querySelectorAll('img.leaflet-tile').length > 0")
    state = page.evaluate(MAP_STATE_JS)
    assert state["desaPaths"] == 151
    assert visit.external, "the OpenStreetMap layer should have asked for tiles"
    assert visit.non_tile_external() == []
    assert visit.console_errors == [] and visit.page_errors == [] and visit.local_failures == []

    # switching to "no base map" removes the tile layer
    page.get_by_text("Tanpa peta dasar / no base map").click()
    page.wait_for_function("() => document.querySelectorAll('img.leaflet-tile').length === 0")


def test_desa_search_lists_same_name_in_each_kecamatan(app, live_server, browse, page):
    with app.app_context():
        from geo_app.store.adapter import desa_frame

        desa = desa_frame(get_session())
    counts = desa["name"].value_counts()
    repeated = counts[counts > 1].index[0]
    expected = sorted(f"{repeated} — {k}" for k in desa.loc[desa["name"] == repeated, "kecamatan_name"])

    visit = browse(f"{live_server}/map?peta_dasar=none")
    page.locator(".leaflet-control-search input").press_sequentially(repeated, delay=20)
    page.wait_for_function("() => document.querySelectorAll('.search-tip').length > 0")
    tips = sorted(t.strip() for t in page.locator(".search-tip").all_inner_texts())
    assert [t for t in tips if t.startswith(repeated + " —")] == expected
    assert visit.console_errors == [] and visit.page_errors == []


def test_kecamatan_map_shows_its_desa_with_labels(app, live_server, browse, page):
    with app.app_context():
        from geo_app.store.adapter import desa_frame

        kecamatan = kecamatan_frame(get_session())
        # the kecamatan with the most desa: the densest labels
        desa = desa_frame(get_session())
        code = desa["kecamatan_code"].value_counts().idxmax()
        own = desa[desa["kecamatan_code"] == code]

    visit = browse(f"{live_server}/map/kecamatan/{code}?peta_dasar=none")
    state = page.evaluate(MAP_STATE_JS)
    desa_labels = page.eval_on_selector_all(".map-label.desa", "els => els.map(e => e.textContent)")
    page.screenshot(path=str(ARTIFACTS / f"kecamatan-{code}.png"))

    assert state["maps"] == 1
    assert state["desaCodes"] == state["desaPaths"] == len(own) and state["emptyPaths"] == 0
    assert state["kecamatanPaths"] == len(kecamatan)
    assert sorted(desa_labels) == sorted(own["name"])
    assert state["overlays"] == ["Desa/Kelurahan", "Batas kecamatan", "Nama desa", *RECORD_LAYERS]
    # zoomed in: the view is about the kecamatan, not the whole kabupaten
    zoom = page.evaluate("() => window[Object.keys(window).find(k => k.startsWith('map_'))].getZoom()")
    assert zoom >= 11
    assert visit.external == [] and visit.console_errors == [] and visit.page_errors == []
    assert visit.local_failures == []


# --- the overview with the demo set (issue 5) --------------------------------------------------------

RECORDS_STATE_JS = """
() => {
  const map = window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)];
  const clusters = Object.keys(window).filter(k => window[k] instanceof L.MarkerClusterGroup).map(k => window[k]);
  const fills = {};
  document.querySelectorAll("path.desa-polygon").forEach(p => {
    const f = p.getAttribute("fill"); fills[f] = (fills[f] || 0) + 1; });
  return {
    tpsInClusters: clusters.reduce((n, c) => n + c.getLayers().length, 0),
    incidentMarkers: document.querySelectorAll("i.incident-marker").length,
    meetingMarkers: document.querySelectorAll("i.meeting-marker").length,
    legend: Object.fromEntries([...document.querySelectorAll(".status-legend [data-status]")]
      .map(e => [e.dataset.status, Number(e.querySelector(".count").textContent)])),
    fills: fills,
    heat: document.querySelectorAll("canvas.leaflet-heatmap-layer").length,
  };
}
"""


@pytest.fixture
def demo_loaded(app):
    """The live server's database with the demo set; returns the coverage the pages should show."""
    from geo_app.services import coverage as coverage_service
    from geo_app.services import layers as layer_service
    from geo_app.services.demo import load_demo

    with app.app_context():
        session = get_session()
        load_demo(session, app.config["GEO_APP_SETTINGS"])
        view, result = layer_service.load_view(session, {})
        return {
            "status_counts": result.summary["status_counts"],
            "tps": result.summary["tps_count"],
            "incidents": len(layer_service.visible_incidents(session, result, view)),
            # a meeting without a venue point (kabupaten level, no host) has no marker
            "meetings": int(layer_service.visible_meetings(session, result, view)["venue_lon"].notna().sum()),
            "kecamatan": coverage_service.rows(result.kecamatan, ["code", "desa_count"]),
        }


def test_overview_with_demo_set_shows_every_layer(app, demo_loaded, live_server, browse, page):
    visit = browse(f"{live_server}/map?peta_dasar=none")
    page.wait_for_function("() => document.querySelectorAll('i.meeting-marker').length > 0")
    state = page.evaluate(MAP_STATE_JS)
    records = page.evaluate(RECORDS_STATE_JS)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview-demo.png"))

    assert state["maps"] == 1 and state["desaPaths"] == 151 and state["desaCodes"] == 151
    assert state["overlays"] == OVERVIEW_OVERLAYS
    assert records["tpsInClusters"] == demo_loaded["tps"] == 327
    assert records["incidentMarkers"] == demo_loaded["incidents"] > 0
    assert records["meetingMarkers"] == demo_loaded["meetings"] > 0
    assert records["legend"] == demo_loaded["status_counts"]
    # the fill colours follow the status counts (one colour per status)
    from geo_app.i18n import STATUS_COLORS

    assert {STATUS_COLORS[s]: n for s, n in demo_loaded["status_counts"].items() if n} == records["fills"]
    assert records["heat"] == 0  # off at start
    page.get_by_text("Peta panas insiden").click()
    page.wait_for_function("() => document.querySelectorAll('canvas.leaflet-heatmap-layer').length === 1")
    # a TPS popup opens from a marker once the clusters are spread out
    page.evaluate("""() => { const m = window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)];
                             m.setZoom(15); }""")
    assert visit.external == []
    assert visit.console_errors == [] and visit.page_errors == [] and visit.local_failures == []


def test_dashboard_and_kecamatan_page_with_demo_set(app, demo_loaded, live_server, browse, page):
    code = max(demo_loaded["kecamatan"], key=lambda k: k["desa_count"])["code"]
    # the kecamatan page embeds its map in an iframe: open the map itself, then the page
    visit = browse(f"{live_server}/map/kecamatan/{code}?peta_dasar=none")
    state = page.evaluate(MAP_STATE_JS)
    own = next(k for k in demo_loaded["kecamatan"] if k["code"] == code)
    assert state["desaPaths"] == own["desa_count"]
    assert state["overlays"] == ["Desa/Kelurahan", "Batas kecamatan", "Nama desa", *RECORD_LAYERS]
    assert visit.external == [] and visit.console_errors == [] and visit.page_errors == []

    page.goto(f"{live_server}/?peta_dasar=none", wait_until="load")
    frame = page.frame_locator("iframe.map")
    frame.locator("path.desa-polygon").first.wait_for()
    assert frame.locator("path.desa-polygon").count() == 151
    page.screenshot(path=str(ARTIFACTS / "dashboard-demo.png"), full_page=True)
    assert page.locator("table.gaps tbody tr").count() == 10
    assert visit.non_tile_external() == []
    assert visit.console_errors == [] and visit.page_errors == [] and visit.local_failures == []


def test_user_text_in_a_popup_shows_as_text(app, demo_loaded, live_server, browse, page):
    """A <script> in an incident description and in a rakor venue opens as plain text in the popups."""
    from geo_app.services.records import create_record

    evil = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    with app.app_context():
        settings = app.config["GEO_APP_SETTINGS"]
        create_record(
            get_session(),
            settings,
            "incidents",
            {
                "occurred_at": "20/11/2024 10:00",
                "category": "intimidasi",
                "severity": "tinggi",
                "desa_code": "17.06.10.2001",
                "description": evil,
            },
            actor="test",
        )
        create_record(
            get_session(),
            settings,
            "meetings",
            {
                "title": "Rakor desa",
                "date": "15/11/2024",
                "level": "desa",
                "desa_code": "17.06.10.2001",
                "venue": evil,
                "agencies": "kades",
            },
            actor="test",
        )
    visit = browse(f"{live_server}/map/desa/17.06.10.2001?peta_dasar=none")
    texts = page.evaluate("""() => {
      const map = window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)];
      const found = [], seen = new Set();
      const visit = layer => {
        if (seen.has(L.stamp(layer))) return;
        seen.add(L.stamp(layer));
        if (layer.getPopup && layer.getPopup() && typeof layer.getPopup().getContent() === "string"
            && layer.getPopup().getContent().includes("pwned")) {
          layer.openPopup && map.addLayer(layer) && layer.openPopup();
          const el = document.querySelector(".leaflet-popup-content");
          found.push({text: el.textContent, scripts: el.querySelectorAll("script, img").length});
        }
        if (layer.eachLayer) layer.eachLayer(visit);
      };
      map.eachLayer(visit);
      return {found: found, pwned: window.__pwned || 0};
    }""")
    assert len(texts["found"]) == 2
    for item in texts["found"]:
        assert "<script>window.__pwned = 1</script>" in item["text"] and item["scripts"] == 0
    assert texts["pwned"] == 0
    assert visit.console_errors == [] and visit.page_errors == [] and visit.external == []


def test_template_text_in_names_and_records_shows_as_typed(app, live_server, browse, page):
    """Jinja syntax in a desa name and an incident description shows as typed in the label, the search
    box and the popup: not run as a template (no 49), not shown as &#123;."""
    from geo_app.services.records import create_record
    from geo_app.store.db import bump_version
    from geo_app.store.models import Desa

    text = "{{7*7}} {% if %} {# c #}"
    with app.app_context():
        session = get_session()
        session.get(Desa, "17.06.10.2001").name = f"Penarik {text}"
        bump_version(session, "boundaries")
        session.commit()
        create_record(
            session,
            app.config["GEO_APP_SETTINGS"],
            "incidents",
            {
                "occurred_at": "20/11/2024 10:00",
                "category": "hoaks",
                "severity": "tinggi",
                "desa_code": "17.06.10.2001",
                "description": f"uraian {text}",
            },
            actor="test",
        )
    visit = browse(f"{live_server}/map/kecamatan/17.06.10?peta_dasar=none")
    labels = page.eval_on_selector_all(".map-label.desa", "els => els.map(e => e.textContent)")
    assert f"Penarik {text}" in labels
    page.locator(".leaflet-control-search input").press_sequentially("Penarik {{", delay=20)
    page.wait_for_function("() => document.querySelectorAll('.search-tip').length > 0")
    assert f"Penarik {text} — Penarik" in [t.strip() for t in page.locator(".search-tip").all_inner_texts()]
    popups = page.evaluate("""() => {
      const map = window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)];
      const found = [];
      const visit = layer => {
        const popup = layer.getPopup && layer.getPopup();
        if (popup && typeof popup.getContent() === "string" && popup.getContent().includes("uraian")) {
          layer.openPopup();
          found.push(document.querySelector(".leaflet-popup-content").textContent);
        }
        if (layer.eachLayer) layer.eachLayer(visit);
      };
      map.eachLayer(visit);
      return found;
    }""")
    assert popups and all(f"uraian {text}" in p and f"Penarik {text}" in p for p in popups)
    assert not any("49" in p or "&#123;" in p for p in popups)
    assert visit.console_errors == [] and visit.page_errors == [] and visit.external == []
