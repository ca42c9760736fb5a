"""HTTP like a real service (issue 11): compressed responses, ETag/304 from the data version,
Cache-Control, cached GIS downloads, and gunicorn workers that agree on the data."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import brotli
import pytest

from geo_app import create_app
from geo_app.app_db import get_session
from geo_app.maps.assets import app_registry
from geo_app.services.users import create_token, create_user
from geo_app.web.caching import matching_tag, response_cache
from tests.conftest import TEST_ADMIN, get_closed, login_as

DESA = "17.06.08.2006"
INCIDENT = {
    "occurred_at": "2024-11-20 10:00",
    "category": "intimidation",
    "severity": "high",
    "desa_code": DESA,
    "description": "Intimidasi pemilih di dekat TPS",
}


def _without_nonce(html: bytes) -> bytes:
    """The page with its per-response CSP nonce blanked (the only part that differs between two answers)."""
    return re.sub(rb'nonce="[^"]*"', b'nonce=""', html)


def _incidents_at(body: dict, code: str) -> int:
    return next(row["incidents_count"] for row in body["desa"] if row["code"] == code)


# --- compression -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/map", "/api/coverage", "/api/desa", "/gaps.csv"])
def test_gzip_when_the_client_accepts_it(demo_client, path):
    plain = demo_client.get(path)
    packed = demo_client.get(path, headers={"Accept-Encoding": "gzip"})
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"]
    body = gzip.decompress(packed.get_data())
    assert int(packed.headers["Content-Length"]) == len(packed.get_data()) < len(body) / 2
    if path == "/map":
        assert _without_nonce(body) == _without_nonce(plain.get_data())
    else:
        assert body == plain.get_data()
    assert packed.mimetype == plain.mimetype


def test_brotli_preferred_when_offered_and_geojson_is_compressed(demo_client):
    plain = demo_client.get("/api/coverage?format=geojson")
    packed = demo_client.get("/api/coverage?format=geojson", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.mimetype == "application/geo+json" and packed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(packed.get_data()) == plain.get_data()


def test_compressed_files_are_not_compressed_again(demo_client):
    for path, mimetype in (
        ("/gaps.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("/gaps/print/17.06.08.png", "image/png"),
        ("/api/export-shp.zip", "application/zip"),
    ):
        resp = demo_client.get(path, headers={"Accept-Encoding": "gzip, br"})
        assert resp.status_code == 200 and resp.mimetype == mimetype, path
        assert "Content-Encoding" not in resp.headers, path


def test_versioned_assets_are_compressed_and_stay_immutable(demo_app, demo_client):
    _root, version = app_registry(demo_app).locate("leaflet")
    url = f"/assets/leaflet/{version}/leaflet.js"
    plain = get_closed(demo_client, url)
    for _ in range(2):  # the second answer comes from the compressed copy kept for the file
        packed = get_closed(demo_client, url, headers={"Accept-Encoding": "gzip"})
        assert packed.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(packed.get_data()) == plain.get_data()
        assert packed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert packed.headers["ETag"] != plain.headers["ETag"]  # another representation


def test_a_range_request_is_answered_uncompressed(demo_client):
    full = demo_client.get("/api/desa").get_data()
    part = demo_client.get("/api/desa", headers={"Range": "bytes=0-99", "Accept-Encoding": "gzip"})
    assert part.status_code == 206 and "Content-Encoding" not in part.headers
    assert part.get_data() == full[:100]


# --- ETag and 304 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/map", "/map/kecamatan/17.06.08", f"/map/desa/{DESA}", "/api/coverage"])
def test_matching_if_none_match_gets_304_without_rendering(demo_app, demo_client, path):
    first = demo_client.get(path)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and re.fullmatch(r'"[0-9a-f]{40}"', etag)
    map_cache = demo_app.extensions.get("geo_app.map_cache")
    renders = map_cache.renders if map_cache else 0
    coverage_cache = demo_app.extensions["geo_app.coverage_cache"]
    looked_up = coverage_cache.hits + coverage_cache.misses
    bare = etag.strip('"')
    for sent in (etag, f"W/{etag}", f'"other", {etag}', f'"{bare}:gzip"', "*"):
        again = demo_client.get(path, headers={"If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again.get_data() == b""
        assert again.headers["Cache-Control"] == "private, no-cache"
        # a new nonce would replace the stored policy and block the cached page's scripts
        assert "Content-Security-Policy" not in again.headers
    # answered from the ETag alone ("*" runs the view once: it must know the page exists)
    assert (map_cache.renders if map_cache else 0) == renders
    assert coverage_cache.hits + coverage_cache.misses <= looked_up + 1
    assert demo_client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_the_304_keeps_the_tag_of_the_compressed_body(demo_client):
    packed = demo_client.get("/api/coverage", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["ETag"].endswith(':gzip"')
    again = demo_client.get(
        "/api/coverage", headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}
    )
    assert again.status_code == 304 and again.headers["ETag"] == packed.headers["ETag"]


def test_a_repeated_request_is_answered_from_the_stored_answer(demo_app, demo_client, monkeypatch):
    """The second /map of the same view and caller: no view, no page cache lookup; another caller
    (another user, or after a write) is never sent an answer stored for someone else."""
    from geo_app.web import pages

    first = demo_client.get("/map")
    stored = response_cache(demo_app)
    assert len(first.get_data()) <= stored.max_body
    calls = []
    real = pages.map_cache
    monkeypatch.setattr(pages, "map_cache", lambda: calls.append(1) or real())
    hits = stored.hits
    again = demo_client.get("/map")
    assert calls == [] and stored.hits == hits + 1
    assert _without_nonce(again.get_data()) == _without_nonce(first.get_data())
    assert again.headers["ETag"] == first.headers["ETag"] and again.headers["Cache-Control"] == "private, no-cache"
    # the nonce is still this response's own
    nonce = re.search(r"'nonce-([\w-]+)'", again.headers["Content-Security-Policy"]).group(1)
    assert f'nonce="{nonce}"'.encode() in again.get_data() or b"<script" not in again.get_data()
    with demo_app.app_context():
        create_user(get_session(), "vera", "vera-password-123", "viewer")
    viewer = demo_app.test_client()
    login_as(viewer, "vera")
    assert viewer.get("/map").headers["ETag"] != first.headers["ETag"] and stored.hits == hits + 1
    assert demo_client.post("/api/incidents", json=INCIDENT).status_code == 201
    assert demo_client.get("/map").headers["ETag"] != first.headers["ETag"] and stored.hits == hits + 1


def test_each_browser_session_gets_its_own_csrf_token_on_a_page(demo_app):
    """Pages made from base.html carry the session's CSRF token: under @conditional_by_version the token
    exists before the ETag is worked out, so a stored answer is never sent to another session."""
    from flask import render_template_string

    from geo_app.web.access import role
    from geo_app.web.caching import conditional_by_version

    @demo_app.get("/test-page-with-form")
    @role("viewer")
    @conditional_by_version
    def page_with_form():
        return render_template_string('<meta name="csrf-token" content="{{ csrf_token() }}">')

    tokens = []
    for _ in range(2):
        browser = demo_app.test_client()
        login_as(browser, TEST_ADMIN)
        page = browser.get("/test-page-with-form")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
        with browser.session_transaction() as sess:
            assert sess["csrf_token"] == token
        again = browser.get("/test-page-with-form", headers={"If-None-Match": page.headers["ETag"]})
        assert again.status_code == 304  # stable for the session
        tokens.append(token)
    assert tokens[0] != tokens[1]


def test_etag_follows_parameters_language_and_role(demo_app, demo_client):
    base = demo_client.get("/map").headers["ETag"]
    assert demo_client.get("/map?window_days=30").headers["ETag"] != base
    assert demo_client.get("/map?lang=en").headers["ETag"] != base  # kept in the session from here on
    assert demo_client.get("/map").headers["ETag"] != base
    demo_client.get("/map?lang=id")
    assert demo_client.get("/map").headers["ETag"] == base
    anonymous = demo_app.test_client()  # the test apps let visitors read
    assert anonymous.get("/map").headers["ETag"] != base


def test_etag_changes_when_a_record_is_written(demo_client):
    before = demo_client.get("/api/coverage")
    page = demo_client.get("/map")
    made = demo_client.post("/api/incidents", json=INCIDENT)
    assert made.status_code == 201, made.get_data(as_text=True)
    after = demo_client.get("/api/coverage", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert _incidents_at(after.json, DESA) == _incidents_at(before.json, DESA) + 1
    assert demo_client.get("/map", headers={"If-None-Match": page.headers["ETag"]}).status_code == 200


def test_errors_and_bad_parameters_get_no_etag(demo_client):
    for path in ("/map/desa/99.99.99.9999", "/api/coverage?window_days=-3", "/map?peta_dasar=nope"):
        resp = demo_client.get(path, headers={"If-None-Match": "*"})
        assert resp.status_code in (400, 404), path
        assert "ETag" not in resp.headers and resp.headers["Cache-Control"] == "no-store", path


def test_matching_tag_parses_lists_weak_tags_and_codings():
    assert matching_tag('"a", W/"b"', "b") == ("b", True)
    assert matching_tag('"x:br"', "x") == ("x:br", False)
    assert matching_tag('"x:other"', "x") is None
    assert matching_tag(" * ", "x") == ("*", False)
    assert matching_tag("", "x") is None and matching_tag('"y"', "x") is None


# --- Cache-Control -------------------------------------------------------------------------------------


def test_cache_control_fits_the_response(demo_client, demo_app):
    for path in ("/map", "/api/coverage", "/api/kecamatan", "/gaps.csv", "/ogc/collections/desa/items"):
        assert demo_client.get(path).headers["Cache-Control"] == "private, no-cache", path
    # pages with forms, and the dashboard, are not kept at all
    for path in ("/rakor/baru", "/"):
        assert demo_client.get(path).headers["Cache-Control"] == "no-store", path
    _root, version = app_registry(demo_app).locate("leaflet")
    asset = get_closed(demo_client, f"/assets/leaflet/{version}/leaflet.css")
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    missing = demo_client.get(f"/assets/leaflet/{version}/nope.js")
    assert missing.status_code == 404 and missing.headers["Cache-Control"] == "no-store"


def test_ogc_items_vary_by_negotiated_format(demo_client):
    as_json = demo_client.get("/ogc/collections/desa/items")
    as_html = demo_client.get("/ogc/collections/desa/items", headers={"Accept": "text/html"})
    assert as_json.mimetype == "application/geo+json" and as_html.mimetype == "text/html"
    assert as_json.headers["ETag"] != as_html.headers["ETag"] and "Accept" in as_json.headers["Vary"]
    again = demo_client.get("/ogc/collections/desa/items", headers={"If-None-Match": as_json.headers["ETag"]})
    assert again.status_code == 304


# --- cached GIS downloads -----------------------------------------------------------------------------


def test_gis_downloads_are_built_once_per_data_version_and_settings(demo_app, demo_client):
    from geo_app.web.gis import export_cache

    with demo_app.app_context():
        cache = export_cache()
    first = demo_client.get("/api/export.gpkg")
    builds = cache.builds
    again = demo_client.get("/api/export.gpkg")  # no If-None-Match: the body is sent, not rebuilt
    assert again.status_code == 200 and again.get_data() == first.get_data()
    assert cache.builds == builds
    # another app on the same database (another worker) finds the file and does not build it
    other_app = create_app({**demo_app.config["GEO_APP_SETTINGS"], "TESTING": True})
    try:
        other = other_app.test_client()
        login_as(other, TEST_ADMIN)
        assert other.get("/api/export.gpkg").get_data() == first.get_data()
        with other_app.app_context():
            assert export_cache().builds == 0 and export_cache() is not cache
    finally:
        other_app.extensions["geo_app.engine"].dispose()
    assert demo_client.get("/api/export.gpkg?window_days=30").status_code == 200
    assert cache.builds == builds + 1
    assert demo_client.post("/api/incidents", json=INCIDENT).status_code == 201
    changed = demo_client.get("/api/export.gpkg")
    assert cache.builds == builds + 2 and changed.get_data() != first.get_data()
    zipped = demo_client.get("/api/export-shp.zip")
    assert demo_client.get("/api/export-shp.zip").get_data() == zipped.get_data() and cache.builds == builds + 3


# --- gunicorn: two workers, one database ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, token: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        con.request("GET", path, headers={"Authorization": f"Bearer {token}", **headers})
        resp = con.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        con.close()


def _post(port: int, path: str, token: str, body: dict) -> tuple[int, dict[str, str], bytes]:
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        data = json.dumps(body)
        con.request(
            "POST", path, body=data, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        )
        resp = con.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        con.close()


def _answers_by_worker(port: int, path: str, token: str, rounds: int = 40, **headers: str) -> dict[str, tuple]:
    """Ask many times in parallel until two workers have answered; the last (status, headers, body) of each."""
    seen: dict[str, tuple] = {}
    with ThreadPoolExecutor(8) as pool:
        for _ in range(rounds):
            for status, got, body in pool.map(lambda _i: _get(port, path, token, **headers), range(8)):
                seen[got["x-worker-pid"]] = (status, got, body)
            if len(seen) >= 2:
                break
    return seen


@pytest.fixture
def gunicorn_server(app, tmp_path, boundary_source):
    """``geo-app serve`` with two gunicorn workers on a copy of the boundaries database; yields
    (port, editor token, process)."""
    with app.app_context():
        token = create_token(get_session(), "http-test", "editor", TEST_ADMIN)["token"]
    app.extensions["geo_app.engine"].dispose()
    port = _free_port()
    env = {
        **os.environ,
        "GEO_APP_DATABASE_URL": app.config["DATABASE_URL"],
        "GEO_APP_SHAPEFILE_DIR": str(tmp_path / "shapefiles"),
        "GEO_APP_BOUNDARY_SOURCE": boundary_source,
        "GEO_APP_SECRET_KEY": "http-test-secret",
        "GEO_APP_DEMO_ON_EMPTY": "0",
        "GEO_APP_WORKER_PID_HEADER": "1",
        "GEO_APP_ALLOW_ANONYMOUS_VIEW": "0",
        # gunicorn's own variable: a worker takes one connection at a time, so a busy worker leaves
        # the next one to the other (otherwise one fast worker may answer everything)
        "GUNICORN_CMD_ARGS": "--worker-connections 1",
    }
    log = (tmp_path / "serve.log").open("w")
    geo_app = Path(sys.executable).with_name("geo-app")
    proc = subprocess.Popen(
        [str(geo_app), "serve", "--port", str(port), "--workers", "2", "--threads", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the workers are stopped with it
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"geo-app serve exited {proc.returncode}: {(tmp_path / 'serve.log').read_text()[-2000:]}")
            try:
                if _get(port, "/healthz", token)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"geo-app serve did not answer: {(tmp_path / 'serve.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield port, token, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def test_serve_runs_gunicorn_and_workers_agree_on_the_data(gunicorn_server):
    port, token, _proc = gunicorn_server
    _status, headers, _body = _get(port, "/healthz", token)
    assert "gunicorn" in headers["server"].lower()
    # both workers compute and cache the coverage and the overview map of the data as it is
    before = _answers_by_worker(port, "/api/coverage", token)
    assert len(before) == 2, f"only worker {list(before)} answered"
    assert {status for status, _h, _b in before.values()} == {200}
    assert len({h["etag"] for _s, h, _b in before.values()}) == 1  # same data, same ETag, whichever worker
    old_tag = next(iter(before.values()))[1]["etag"]
    assert {_incidents_at(json.loads(b), DESA) for _s, _h, b in before.values()} == {0}
    maps_before = _answers_by_worker(port, "/map", token)
    assert len(maps_before) == 2 and len({h["etag"] for _s, h, _b in maps_before.values()}) == 1
    old_map_tag = next(iter(maps_before.values()))[1]["etag"]
    # a write through one worker ...
    status, headers, body = _post(port, "/api/incidents", token, INCIDENT)
    assert status == 201, body
    writer = headers["x-worker-pid"]
    # ... is in the map data served by the other one, whose caches hold the old version
    after = _answers_by_worker(port, "/api/coverage", token, **{"If-None-Match": old_tag})
    assert len(after) == 2 and writer in after
    for pid, (status, headers, body) in after.items():
        assert status == 200, pid  # the old ETag no longer matches on either worker
        assert _incidents_at(json.loads(body), DESA) == 1, pid
        assert headers["etag"] != old_tag
    maps_after = _answers_by_worker(port, "/map", token, **{"If-None-Match": old_map_tag})
    assert len(maps_after) == 2
    assert {status for status, _h, _b in maps_after.values()} == {200}
    assert len({h["etag"] for _s, h, _b in maps_after.values()} | {old_map_tag}) == 2
