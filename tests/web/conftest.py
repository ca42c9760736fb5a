"""Chromium for the browser tests (tests/web/test_browser*.py): Debian's Chromium driven by Playwright's
Python package.

Nothing is installed here: `.ci/run` installs `chromium` with apt-get and the `test` extra brings
`playwright` (no browser download: Playwright launches /usr/bin/chromium). Every request a page makes
is recorded; anything not for 127.0.0.1 is aborted before it leaves the machine, and only base-map tile
requests are allowed to have been attempted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

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
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="install the test extra: pip install -e '.[test]'"
    )
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install -y chromium chromium-driver (.ci/run does)")
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@contextmanager
def serve(app) -> Iterator[str]:
    """The app on http://127.0.0.1:<free port>, served from a thread while the block runs."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def live_server(app):
    """The ``app`` fixture's app on a free port for the duration of a test."""
    with serve(app) as url:
        yield url


@dataclass
class Visit:
    requests: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    local_failures: list[str] = field(default_factory=list)

    def non_tile_external(self) -> list[str]:
        return [u for u in self.external if urlsplit(u).hostname not in TILE_HOSTS]

    def local(self, path: str) -> list[str]:
        """Requests to this machine whose path starts with ``path``."""
        return [u for u in self.requests if urlsplit(u).hostname == "127.0.0.1" and urlsplit(u).path.startswith(path)]

    def clean(self) -> bool:
        return not (self.console_errors or self.page_errors or self.local_failures)


def record(page) -> Visit:
    """Record what ``page`` asks for and logs from now on; only 127.0.0.1 is let through."""
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
        # a map data request the page itself aborted (the view moved on) is not a failure
        if urlsplit(req.url).hostname == "127.0.0.1" and "ERR_ABORTED" not in (req.failure or ""):
            visit.local_failures.append(f"failed {req.url}: {req.failure}")

    page.route("**/*", route)
    page.on("request", lambda req: visit.requests.append(req.url))
    page.on("console", on_console)
    page.on("pageerror", lambda exc: visit.page_errors.append(str(exc)))
    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    return visit


#: the page's Leaflet map (the shell's ``map_<id>`` global)
MAP_JS = 'window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)]'


def wait_idle(page, what: str = "true") -> None:
    """Wait until the map stands still (no zoom or pan animation: its moveend, which schedules the data
    requests, has fired), its data is up to date for its view (no request in flight or scheduled), the
    desa drawn and ``what`` (a JS expression) true."""
    page.wait_for_function(
        f"""() => {{ const map = {MAP_JS};
            return !!map && !map._animatingZoom && !(map._panAnim && map._panAnim._inProgress)
                   && GeoMap.pending(map) === 0
                   && document.querySelectorAll("path.desa-polygon").length > 0 && ({what}); }}"""
    )


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP, service_workers="block")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def browse(page):
    """Open a URL with every request recorded and nothing but 127.0.0.1 let through; waits for the desa."""

    def _browse(url: str) -> Visit:
        visit = record(page)
        page.goto(url, wait_until="load")
        wait_idle(page)
        return visit

    return _browse
