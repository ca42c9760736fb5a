"""The pages in a real browser: Debian's Chromium driven by Playwright (fixtures in tests/web/conftest.py).

The app is served on 127.0.0.1 (a free port) from the ``app`` fixture's database with the real
boundaries. The map pages are a shell whose layers fetch ``/api/map/...`` for the view; every request
the page makes is recorded, anything not for 127.0.0.1 is aborted before it leaves the machine, and
only base-map tile requests are allowed to have been attempted.

To check another page, open it with ``browse(url)`` (``live_server`` + ``page`` fixtures) and assert on
the returned ``Visit``. tests/web/test_browser_map.py has the map at scale (100,000 incidents), on a
phone and the click test.
"""

from __future__ import annotations

import re

import pytest

from geo_app.app_db import get_session
from geo_app.store.adapter import kecamatan_frame
from tests.web.conftest import ARTIFACTS, MAP_JS, wait_idle

pytest.importorskip("playwright.sync_api", reason="install the test extra: pip install -e '.[test]'")

DESA_CODE = r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$"


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
NAME_LAYERS = ["Nama kecamatan", "Nama desa"]
OVERVIEW_OVERLAYS = ["Desa/Kelurahan", "Batas kecamatan", *NAME_LAYERS, *RECORD_LAYERS]


def _kecamatan_names(app) -> list[str]:
    with app.app_context():
        return sorted(kecamatan_frame(get_session())["name"])


def test_overview_map_offline_without_base_map(app, live_server, browse, page):
    visit = browse(f"{live_server}/map?peta_dasar=none")
    wait_idle(page, "document.querySelectorAll('path.kecamatan-outline').length > 0")
    state = page.evaluate(MAP_STATE_JS)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview-map.png"), full_page=True)

    assert state["maps"] == 1
    assert state["desaCodes"] == 151
    assert state["desaPaths"] == 151 and state["emptyPaths"] == 0
    assert state["kecamatanPaths"] == 15
    assert state["baseLayers"] == ["OpenStreetMap", "Tanpa peta dasar"]
    assert state["overlays"] == OVERVIEW_OVERLAYS
    assert sorted(state["kecamatanLabels"]) == _kecamatan_names(app)
    assert state["fullscreen"] == 1 and state["search"] == 1
    assert state["scale"] and state["scale"][0].endswith(("km", " m"))
    assert state["tiles"] == 0
    # with no base map the page asks for nothing outside the machine at all
    assert visit.external == []
    assert visit.clean(), (visit.console_errors, visit.page_errors, visit.local_failures)
    assert any("/assets/leaflet/" in u for u in visit.requests)
    # the page is a shell: the desa came by request, for the view (bbox and zoom), once
    assert len(visit.local("/api/map/desa")) == 1 and "bbox=" in visit.local("/api/map/desa")[0]
    assert page.title().startswith("Peta cakupan")


def test_overview_map_without_internet_drops_the_base_map_and_says_so(live_server, browse, page):
    """Tiles that cannot load (here: blocked, as offline) switch the map to "no base map" with a notice."""
    visit = browse(f"{live_server}/map")
    page.wait_for_selector(".geo-notice[data-notice='no-tiles']")
    assert page.evaluate("() => document.querySelectorAll('img.leaflet-tile').length") == 0
    checked = page.locator(".leaflet-control-layers-base input:checked + span").inner_text().strip()
    assert checked == "Tanpa peta dasar"
    assert "Peta dasar tidak dapat dimuat" in page.locator(".geo-notice").inner_text()
    state = page.evaluate(MAP_STATE_JS)
    assert state["desaPaths"] == 151
    assert visit.external, "the OpenStreetMap layer should have asked for tiles"
    assert visit.non_tile_external() == []
    assert visit.clean(), (visit.console_errors, visit.page_errors, visit.local_failures)
    # the automatic switch is not written into the link (online, the link still opens with tiles)
    assert "base=" not in page.evaluate("() => location.hash")


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
    wait_idle(page, "document.querySelectorAll('path.kecamatan-outline').length > 0")
    state = page.evaluate(MAP_STATE_JS)
    desa_labels = page.eval_on_selector_all(".map-label.desa", "els => els.map(e => e.textContent)")
    page.screenshot(path=str(ARTIFACTS / f"kecamatan-{code}.png"))

    assert state["maps"] == 1
    assert state["desaCodes"] == state["desaPaths"] == len(own) and state["emptyPaths"] == 0
    assert state["kecamatanPaths"] == len(kecamatan)
    assert sorted(desa_labels) == sorted(own["name"])
    assert state["overlays"] == OVERVIEW_OVERLAYS
    # zoomed in: the view is about the kecamatan, not the whole kabupaten
    zoom = page.evaluate(f"() => {MAP_JS}.getZoom()")
    assert zoom >= 11
    assert visit.external == [] and visit.clean()


# --- the overview with the demo set (issue 5) --------------------------------------------------------

RECORDS_STATE_JS = f"""
() => {{
  const map = {MAP_JS};
  const fills = {{}};
  document.querySelectorAll("path.desa-polygon").forEach(p => {{
    const f = p.getAttribute("fill"); fills[f] = (fills[f] || 0) + 1; }});
  return {{
    tpsMarkers: document.querySelectorAll(".tps-marker").length,
    incidentMarkers: document.querySelectorAll(".incidents-marker").length,
    meetingMarkers: document.querySelectorAll(".meetings-marker").length,
    clusters: document.querySelectorAll(".geo-cluster").length,
    legend: Object.fromEntries([...document.querySelectorAll(".status-legend [data-status]")]
      .map(e => [e.dataset.status, Number(e.querySelector(".count").textContent)])),
    symbols: [...document.querySelectorAll(".status-legend [data-symbol]")].map(e => e.dataset.symbol),
    fills: fills,
    heat: document.querySelectorAll("canvas.leaflet-heatmap-layer").length,
  }};
}}
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
    wait_idle(page, "document.querySelector('.status-legend .count').textContent !== '…'")
    state = page.evaluate(MAP_STATE_JS)
    start = page.evaluate(RECORDS_STATE_JS)
    # at the start the map answers "where are the gaps": desa in status colours, no marker in the way
    assert state["maps"] == 1 and state["desaPaths"] == 151 and state["desaCodes"] == 151
    assert state["overlays"] == OVERVIEW_OVERLAYS
    assert start["tpsMarkers"] == start["incidentMarkers"] == start["meetingMarkers"] == start["clusters"] == 0
    assert start["legend"] == demo_loaded["status_counts"]
    # the fill colours follow the status counts (one colour per status)
    from geo_app.i18n import STATUS_COLORS

    assert {STATUS_COLORS[s]: n for s, n in demo_loaded["status_counts"].items() if n} == start["fills"]

    for name in RECORD_LAYERS:  # every record layer switched on in the layer control
        page.locator(".leaflet-control-layers-overlays label").filter(has_text=re.compile(f"^ ?{name}$")).click()
    wait_idle(page, "document.querySelectorAll('.meetings-marker').length > 0")
    records = page.evaluate(RECORDS_STATE_JS)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview-demo.png"))
    # few enough points in view: one marker each (the demo is far below the clustering threshold)
    assert records["clusters"] == 0
    assert records["tpsMarkers"] == demo_loaded["tps"] == 327
    assert records["incidentMarkers"] == demo_loaded["incidents"] > 0
    assert records["meetingMarkers"] == demo_loaded["meetings"] > 0
    assert records["heat"] == 1
    # a legend line for every symbol shown, and the heat ramp
    assert {"tps:secured", "tps:short", "incidents:high", "meetings:meeting", "heat"} <= set(records["symbols"])
    # the link holds the layers switched on (written 150 ms after the last change: wait for it)
    page.wait_for_function("() => /layers=[^&]*meetings/.test(location.hash)")
    hash_layers = re.search(r"layers=([\w,]*)", page.evaluate("() => location.hash")).group(1).split(",")
    assert {"desa", "tps", "incidents", "heat", "meetings"} <= set(hash_layers)
    assert visit.external == [] and visit.clean(), (visit.console_errors, visit.local_failures)


def test_dashboard_and_kecamatan_page_with_demo_set(app, demo_loaded, live_server, browse, page):
    code = max(demo_loaded["kecamatan"], key=lambda k: k["desa_count"])["code"]
    # the kecamatan page embeds its map in an iframe: open the map itself, then the page
    visit = browse(f"{live_server}/map/kecamatan/{code}?peta_dasar=none")
    state = page.evaluate(MAP_STATE_JS)
    own = next(k for k in demo_loaded["kecamatan"] if k["code"] == code)
    assert state["desaPaths"] == own["desa_count"]
    assert state["overlays"] == OVERVIEW_OVERLAYS
    assert visit.external == [] and visit.console_errors == [] and visit.page_errors == []

    page.goto(f"{live_server}/?peta_dasar=none", wait_until="load")
    frame = page.frame_locator("iframe.map")
    frame.locator("path.desa-polygon").first.wait_for()
    assert frame.locator("path.desa-polygon").count() == 151
    page.screenshot(path=str(ARTIFACTS / "dashboard-demo.png"), full_page=True)
    assert page.locator("table.gaps tbody tr").count() == 10
    assert visit.non_tile_external() == []
    assert visit.clean(), (visit.console_errors, visit.page_errors, visit.local_failures)


def _open_popups(page, needle: str) -> list[dict]:
    """Open every bound popup whose content holds ``needle``; its text and the elements it made."""
    return page.evaluate(
        """(needle) => {
      const map = MAP;
      const found = [], seen = new Set();
      const visit = layer => {
        if (seen.has(L.stamp(layer))) return;
        seen.add(L.stamp(layer));
        const popup = layer.getPopup && layer.getPopup();
        if (popup && typeof popup.getContent() === "string" && popup.getContent().includes(needle)) {
          layer.openPopup();
          const el = document.querySelector(".leaflet-popup-content");
          found.push({text: el.textContent, elements: el.querySelectorAll("script, img").length});
        }
        if (layer.eachLayer) layer.eachLayer(visit);
      };
      map.eachLayer(visit);
      return found;
    }""".replace("MAP", MAP_JS),
        needle,
    )


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
    # the layers in the link (#layers=...) are on when the page opens
    visit = browse(f"{live_server}/map/desa/17.06.10.2001?peta_dasar=none#layers=desa,incidents,meetings")
    wait_idle(page, "document.querySelectorAll('.incidents-marker').length > 0")
    found = _open_popups(page, "pwned")
    assert len(found) == 2
    for item in found:
        assert "<script>window.__pwned = 1</script>" in item["text"] and item["elements"] == 0
    assert page.evaluate("() => window.__pwned || 0") == 0
    assert visit.clean() and visit.external == []


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
    visit = browse(f"{live_server}/map/kecamatan/17.06.10?peta_dasar=none#layers=desa,desa_names,incidents")
    wait_idle(page, "document.querySelectorAll('.incidents-marker').length > 0")
    labels = page.eval_on_selector_all(".map-label.desa", "els => els.map(e => e.textContent)")
    assert f"Penarik {text}" in labels
    page.locator(".leaflet-control-search input").press_sequentially("Penarik {{", delay=20)
    page.wait_for_function("() => document.querySelectorAll('.search-tip').length > 0")
    assert f"Penarik {text} — Penarik" in [t.strip() for t in page.locator(".search-tip").all_inner_texts()]
    popups = [p["text"] for p in _open_popups(page, "uraian")]
    assert popups and all(f"uraian {text}" in p and f"Penarik {text}" in p for p in popups)
    assert not any("49" in p or "&#123;" in p for p in popups)
    # the desa's own popup (a click on the desa) shows the name as typed too
    page.locator(".search-tip").first.click()
    page.wait_for_selector(".desa-popup .leaflet-popup-content")
    desa_popup = page.locator(".desa-popup .leaflet-popup-content").inner_text()
    assert f"Penarik {text}" in desa_popup and "49" not in desa_popup.replace("17.06", "")
    assert visit.clean() and visit.external == []
