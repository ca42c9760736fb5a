"""Security headers: a Content-Security-Policy with a per-response nonce, nosniff, framing only by
this site, no referrer to other sites, and nothing a logged-in user saw kept in a shared cache."""

from __future__ import annotations

import re

import pytest

from geo_app.maps.assets import app_registry
from geo_app.web.assets import NONCE_PLACEHOLDER
from geo_app.web.headers import tile_hosts
from tests.conftest import get_closed

PAGES = [
    "/",
    "/map",
    "/gaps",
    "/gaps/print",
    "/rakor",
    "/rakor/baru",
    "/impor",
    "/login",
    "/api/desa",
    "/healthz",
    "/kecamatan/17.06.08",
    "/desa/17.06.08.2001",
    "/map/kecamatan/17.06.08",
    "/no-such-page",
]


def _csp(response) -> dict[str, str]:
    return {
        d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else ""
        for d in (p.strip() for p in response.headers["Content-Security-Policy"].split(";"))
    }


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_headers(client, path):
    response = client.get(path)
    assert response.status_code < 500
    csp = _csp(response)
    assert re.fullmatch(r"'self' 'nonce-[\w-]{20,}'", csp["script-src"])
    assert csp["frame-ancestors"] == "'self'" and csp["object-src"] == "'none'"
    assert csp["img-src"] == "'self' data: https://tile.openstreetmap.org"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    # the client is logged in: nothing it sees is kept in a shared cache; map pages and data may be kept
    # by the browser but are revalidated every time (ETag, tests/web/test_http.py), the rest not kept
    revalidated = path in ("/map", "/map/kecamatan/17.06.08", "/api/desa")
    assert response.headers["Cache-Control"] == ("private, no-cache" if revalidated else "no-store")


def test_refusals_carry_the_headers_too(secure_app):
    response = secure_app.test_client().get("/api/desa")
    assert response.status_code == 401 and "nonce-" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/map", "/", "/rakor/baru", "/gaps/print", "/map/kecamatan/17.06.08"])
def test_every_script_tag_carries_this_responses_nonce(client, path):
    first, second = client.get(path), client.get(path)
    nonces = []
    for response in (first, second):
        html = response.get_data(as_text=True)
        nonce = re.search(r"'nonce-([\w-]+)'", response.headers["Content-Security-Policy"]).group(1)
        tags = re.findall(r"<script\b[^>]*>", html)
        assert all(f'nonce="{nonce}"' in tag for tag in tags), [t for t in tags if nonce not in t][:3]
        assert NONCE_PLACEHOLDER not in html
        # no inline event handlers (they would not run under the policy)
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html)
        nonces.append(nonce)
    assert nonces[0] != nonces[1]  # a cached map page still gets a fresh nonce


def test_assets_stay_cacheable_and_anonymous_pages_are_not_no_store(app):
    client = app.test_client()
    _root, version = app_registry(app).locate("leaflet")
    asset = get_closed(client, f"/assets/leaflet/{version}/leaflet.js")
    assert "immutable" in asset.headers["Cache-Control"] and asset.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/api/kecamatan").headers.get("Cache-Control") != "no-store"


def test_tile_hosts_setting_accepts_https_origins_only():
    assert tile_hosts("https://tile.openstreetmap.org, https://tiles.example.go.id:8443") == [
        "https://tile.openstreetmap.org",
        "https://tiles.example.go.id:8443",
    ]
    for bad in ("http://tile.example", "https://x.example/path", "'unsafe-inline'", "https://a.example; script-src *"):
        with pytest.raises(ValueError, match="GEO_APP_TILE_HOSTS"):
            tile_hosts(bad)
