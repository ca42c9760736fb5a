"""Issue 12 on a phone (390×844, touch) in Debian's Chromium: no page scrolls sideways, the header fits,
the reached-desa checklist works by touch, and "use my location" fills the point and names its desa.

Served like tests/web/test_browser.py (the app on 127.0.0.1, nothing else reachable), with the demo set
loaded so the tables are full. Screenshots go to test-artifacts/phone-*.png.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from geo_app.app_db import get_session
from geo_app.store.adapter import desa_frame
from tests.conftest import TEST_ADMIN

playwright_api = pytest.importorskip("playwright.sync_api", reason="install the test extra: pip install -e '.[test]'")

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}

#: the page's own width against the screen's, and the elements that stick out (for the failure message)
WIDTH_JS = """
() => {
  const root = document.documentElement;
  const scrolls = el => { for (let p = el.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p); if (/(auto|scroll|hidden)/.test(s.overflowX) && p !== root && p !== document.body) return true; }
    return false; };
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > root.clientWidth + 1 && !scrolls(e))
    .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '') + ' ' + Math.round(e.getBoundingClientRect().right));
  return {scrollWidth: Math.max(root.scrollWidth, document.body ? document.body.scrollWidth : 0),
          clientWidth: root.clientWidth, title: document.title, wide: wide};
}
"""

HEADER_JS = """
() => {
  const header = document.querySelector('header.site');
  if (!header) return null;
  const boxes = [...header.querySelectorAll('.brand, nav a, .who > *')].map(e => {
    const r = e.getBoundingClientRect(); return {text: e.textContent.trim(), l: r.left, r: r.right, t: r.top, b: r.bottom}; });
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.l < b.r - 1 && b.l < a.r - 1 && a.t < b.b - 1 && b.t < a.b - 1) overlaps.push(a.text + ' / ' + b.text); }
  return {overlaps: overlaps, outside: boxes.filter(b => b.l < 0 || b.r > innerWidth + 1).map(b => b.text),
          height: header.getBoundingClientRect().height};
}
"""


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install -y chromium chromium-driver (.ci/run does)")
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def served(demo_app):
    server = make_server("127.0.0.1", 0, demo_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="phone-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


class Phone:
    """A logged-in phone browser that records errors and refuses every request off 127.0.0.1."""

    def __init__(self, browser, base: str, **context) -> None:
        self.base = base
        self.context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, service_workers="block", **context
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.failures: list[str] = []
        self.page.route(
            "**/*", lambda r: r.continue_() if urlsplit(r.request.url).hostname == "127.0.0.1" else r.abort()
        )
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", self._console)
        self.page.on(
            "response", lambda r: r.status >= 400 and r.url.endswith("favicon.ico") and self.failures.append(r.url)
        )
        self.page.goto(f"{base}/login")
        self.page.fill("input[name=username]", TEST_ADMIN)
        self.page.fill("input[name=password]", "admin-test-password")
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("load")

    def _console(self, msg) -> None:
        source = (msg.location or {}).get("url", "")
        # base-map tiles are refused here on purpose (no network); any other error counts
        if msg.type == "error" and urlsplit(source).hostname in (None, "", "127.0.0.1"):
            self.errors.append(f"{msg.text} ({source})")

    def open(self, path: str) -> dict:
        self.page.goto(self.base + path, wait_until="load")
        return self.page.evaluate(WIDTH_JS)


def _pages(demo_app, demo_client) -> list[str]:
    with demo_app.app_context():
        desa = desa_frame(get_session())
    code = desa["code"].iloc[0]
    meeting = demo_client.get("/api/meetings").json["items"][0]["id"]
    tps = demo_client.get("/api/polling-stations").json["items"][0]["id"]
    return [
        "/",
        "/gaps",
        "/gaps/print",
        f"/kecamatan/{code[:8]}",
        f"/desa/{code}",
        "/map",
        f"/map/kecamatan/{code[:8]}",
        f"/map/desa/{code}",
        "/rakor",
        "/rakor/baru",
        f"/rakor/{meeting}/ubah",
        f"/rakor/{meeting}/hapus",
        "/tps",
        "/tps/baru",
        f"/tps/{tps}/ubah",
        "/insiden",
        "/insiden/baru",
        "/impor",
        "/tidak-ada",
    ]


def test_no_page_scrolls_sideways_on_a_phone(browser, served, demo_app, demo_client):
    phone = Phone(browser, served)
    ARTIFACTS.mkdir(exist_ok=True)
    widths = {}
    for path in _pages(demo_app, demo_client):
        state = phone.open(path)
        widths[path] = state["scrollWidth"]
        name = re.sub(r"[^a-z0-9]+", "-", path.strip("/").lower()) or "home"
        phone.page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=False)
        assert state["title"].strip(), f"{path}: no <title>"
        assert state["scrollWidth"] <= state["clientWidth"], f"{path}: {state}"
    print("page widths at 390 px:", widths)  # shown with -s
    # the login page too, logged out
    fresh = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = fresh.new_page()
    page.goto(f"{served}/login")
    assert page.evaluate(WIDTH_JS)["scrollWidth"] <= PHONE["width"]
    fresh.close()
    # the one error expected: the 404 of the page that does not exist, asked on purpose
    assert [e for e in phone.errors if "/tidak-ada" not in e] == [] and phone.failures == []
    phone.context.close()


def test_header_fits_without_overlap(browser, served):
    phone = Phone(browser, served)
    for path in ("/", "/rakor", "/impor"):
        phone.open(path)
        header = phone.page.evaluate(HEADER_JS)
        assert header["overlaps"] == [] and header["outside"] == [], (path, header)
        assert header["height"] < PHONE["height"] / 3  # the menu wraps, it does not fill the screen
    phone.context.close()


def test_tables_become_cards_or_scroll_in_their_box(browser, served):
    phone = Phone(browser, served)
    phone.open("/gaps")
    cards = phone.page.evaluate("""() => {
      const rows = [...document.querySelectorAll('table.gaps tbody tr')];
      return {rows: rows.length, blocks: rows.filter(r => getComputedStyle(r).display === 'block').length,
              labelled: rows.length ? getComputedStyle(rows[0].querySelector('td[data-label]'), '::before').content : ''};
    }""")
    assert cards["rows"] > 0 and cards["blocks"] == cards["rows"]
    assert cards["labelled"].strip('"').endswith(": ")
    phone.open("/")
    box = phone.page.evaluate("""() => { const t = document.querySelector('#kecamatan-table');
      return {overflow: getComputedStyle(t).overflowX, inner: t.scrollWidth, outer: t.clientWidth}; }""")
    assert box["overflow"] == "auto" and box["outer"] <= PHONE["width"]  # wider content scrolls inside the box
    phone.context.close()


def test_reached_desa_checklist_by_touch(browser, served, demo_app, demo_client):
    with demo_app.app_context():
        desa = desa_frame(get_session())
    host = desa["kecamatan_code"].value_counts().idxmax()
    own = desa[desa["kecamatan_code"] == host].sort_values("code")
    other = desa[desa["kecamatan_code"] != host].iloc[0]
    phone = Phone(browser, served)
    phone.open("/rakor/baru")
    page = phone.page
    page.fill("#f-title", "Rakor lewat telepon")
    page.fill("#f-date", "2024-11-20")
    page.select_option("#f-kecamatan", host)
    assert page.input_value("#f-level") == "kecamatan"
    first, second = own["code"].iloc[0], own["code"].iloc[1]
    page.locator(f"input[name=reached_desa][value='{first}']").tap()
    page.locator(f"input[name=reached_desa][value='{second}']").tap()
    # a desa of another kecamatan, found by typing in the filter box
    page.fill("#f-reached_desa-filter", other["name"].lower())
    visible = page.eval_on_selector_all(
        "#f-reached_desa label.check", "els => els.filter(e => e.checkVisibility()).map(e => e.textContent.trim())"
    )
    assert visible and all(other["name"].lower() in v.lower() for v in visible)
    page.locator(f"input[name=reached_desa][value='{other['code']}']").tap()
    assert page.text_content("#f-reached_desa .chosen-count").startswith("3 desa")
    assert page.evaluate(WIDTH_JS)["scrollWidth"] <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "phone-rakor-checklist.png"))
    page.click("form.record-form button[type=submit]")
    page.wait_for_load_state("load")
    saved = [
        m for m in demo_client.get("/api/meetings?per_page=500").json["items"] if m["title"] == "Rakor lewat telepon"
    ]
    assert len(saved) == 1
    assert saved[0]["reached_desa_codes"] == sorted([first, second, other["code"]])
    assert phone.errors == []
    phone.context.close()


@pytest.mark.parametrize("slug", ["tps", "insiden"])
def test_use_my_location_fills_the_point_and_names_its_desa(browser, served, demo_app, demo_client, slug):
    with demo_app.app_context():
        desa = desa_frame(get_session())
    target = desa.sort_values("area_km2" if "area_km2" in desa else "code").iloc[-1]
    lat, lon = float(target["rep_lat"]), float(target["rep_lon"])
    phone = Phone(browser, served, geolocation={"latitude": lat, "longitude": lon}, permissions=["geolocation"])
    phone.open(f"/{slug}/baru")
    page = phone.page
    page.locator(".locate-button").tap()
    page.wait_for_function("() => /Desa /.test(document.querySelector('.locate-result').textContent)")
    assert float(page.input_value("#f-lat")) == pytest.approx(lat, abs=1e-6)
    assert float(page.input_value("#f-lon")) == pytest.approx(lon, abs=1e-6)
    said = page.text_content(".locate-result")
    assert f"Desa {target['name']}, Kec. {target['kecamatan_name']}" in said and target["code"] in said
    # no desa was chosen: the one the point is in is chosen (and its kecamatan)
    assert page.input_value("#f-desa_code") == target["code"]
    assert page.input_value("#f-kecamatan") == target["kecamatan_code"]
    page.screenshot(path=str(ARTIFACTS / f"phone-locate-{slug}.png"))
    if slug == "tps":  # saved where the phone is
        page.fill("#f-number", "77")
        page.fill("#f-voters", "123")
        page.click("form.record-form button[type=submit]")
        page.wait_for_url(f"{served}/tps")
        [saved] = [t for t in demo_client.get("/api/polling-stations?per_page=500").json["items"] if t["number"] == 77]
        assert saved["desa_code"] == target["code"] and saved["lat"] == pytest.approx(lat, abs=1e-6)
        phone.open(f"/{slug}/baru")
    # typing a point by hand asks again: one in the sea is outside the kabupaten
    page.fill("#f-lat", "-2.5")
    page.fill("#f-lon", "100.5")
    page.locator("#f-lon").dispatch_event("change")
    page.wait_for_function("() => /luar Kabupaten/.test(document.querySelector('.locate-result').textContent)")
    assert phone.errors == []
    phone.context.close()
