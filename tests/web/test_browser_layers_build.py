"""``geo-app layers build`` of one kabupaten (Mukomuko's demo set) opened from disk in Chromium: the
overview has the served map's layers, on and off as served, its data written once into the page, and
works without a server (desa, boundaries, names, a click's popup, the search, the TPS layer); a
kecamatan page holds that kecamatan's desa. The province's build: tests/web/test_browser_rollup.py."""

from __future__ import annotations

import csv
import io
import re

import pytest

from geo_app.services import layers as layer_service
from tests.web.conftest import ARTIFACTS, MAP_JS, wait_idle

pytest.importorskip("playwright.sync_api", reason="install the test extra: pip install -e '.[test]'")

#: what a page holds besides its data (the shell: scripts' calls, layer control, legend texts)
SHELL_MAX_BYTES = 100 * 1024


def registered(html: str) -> dict[str, bool]:
    """The page's data layers by key, with whether each is on at the start."""
    return {k: v == "true" for k, v in re.findall(r'GeoMap\.register\(map_\w+, "(\w+)", \w+, (true|false)\);', html)}


def open_from_disk(page, path, errors: list[str]) -> None:
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    # the page's own files only (tiles blocked: offline)
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
    page.goto(path.as_uri() + "#base=none", wait_until="load")
    wait_idle(page)


def test_one_kabupaten_build_opens_from_disk_with_the_served_layers(demo_app, demo_client, page, tmp_path):
    out = tmp_path / "layers"
    assert not layer_service.run_build(demo_app, out, {}).skipped
    html = (out / "overview.html").read_text(encoding="utf-8")
    # the data once: one data object the layers name, the rest of the page is the shell
    written = re.findall(r"GeoMap\.pageData\(map_\w+, (.*)\);", html)
    assert len(written) == 1 and '"inline"' not in html
    assert len(html.encode()) - len(written[0].encode()) < SHELL_MAX_BYTES
    served = registered(demo_client.get("/map?peta_dasar=none").get_data(as_text=True))
    assert registered(html) == served and "kabupaten" not in served
    desa_rows = list(csv.DictReader(io.StringIO((out / "coverage_desa.csv").read_text(encoding="utf-8"))))

    errors: list[str] = []
    open_from_disk(page, out / "overview.html", errors)
    on = page.evaluate(
        f"() => {{ const map = {MAP_JS}, layers = GeoMap.layers(map), out = {{}};"
        " Object.keys(layers).forEach(k => { out[k] = map.hasLayer(layers[k]); }); return out; }"
    )
    assert on == served
    codes = page.eval_on_selector_all("path.desa-polygon", "els => els.map(e => e.dataset.code)")
    assert sorted(codes) == sorted(r["code"] for r in desa_rows) and len(codes) == 151
    kecamatan = page.eval_on_selector_all("path.kecamatan-outline", "els => els.length")
    assert kecamatan == len({r["kecamatan_code"] for r in desa_rows}) == 15
    assert page.eval_on_selector_all("path.kabupaten-outline", "els => els.length") == 0
    counts = page.eval_on_selector_all(
        ".status-legend .legend-row[data-status] .count", "els => els.map(e => Number(e.textContent))"
    )
    assert sum(counts) == 151

    # a click on a desa opens its popup
    target = page.evaluate(
        f"""() => {{ const map = {MAP_JS}, box = map.getContainer().getBoundingClientRect(), size = map.getSize();
            for (const el of document.querySelectorAll("path.desa-polygon")) {{
              const r = el.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
              if (x < box.left + 60 || y < box.top + 60 || x > box.left + size.x - 400 || y > box.top + size.y - 60) continue;
              if (document.elementFromPoint(x, y) === el) return [x, y, el.dataset.code];
            }}
            return null; }}"""
    )
    assert target, "no desa to click in the view"
    page.mouse.click(target[0], target[1])
    page.wait_for_function(
        f"(code) => {{ const map = {MAP_JS}; return !!map._popup && map.hasLayer(map._popup) && map._popup._geoCode === code; }}",
        arg=target[2],
    )
    row = next(r for r in desa_rows if r["code"] == target[2])
    assert row["name"] in page.inner_text(".leaflet-popup.desa-popup")

    # the search reads the same desa data
    other = next(r for r in desa_rows if r["code"] != target[2])
    page.fill(".geo-search .search-input", other["name"])
    page.wait_for_selector(f'.geo-search .search-tip[data-code="{other["code"]}"]')
    page.click(f'.geo-search .search-tip[data-code="{other["code"]}"]')
    page.wait_for_function(
        f"(code) => {{ const map = {MAP_JS}; return !!map._popup && map._popup._geoCode === code; }}",
        arg=other["code"],
    )

    # the TPS layer switched on: every TPS of the kabupaten, as the server counts them
    total = demo_client.get("/api/map/points/tps?bbox=-180,-90,180,90&zoom=10").json["total"]
    page.evaluate(f"() => {{ const map = {MAP_JS}; map.addLayer(GeoMap.layers(map).tps); }}")
    page.wait_for_function(f"() => GeoMap.layers({MAP_JS}).tps.drawn > 0")
    assert page.evaluate(f"() => GeoMap.layers({MAP_JS}).tps.total") == total > 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "layers-build-overview.png"))
    assert errors == []

    # a kecamatan page: that kecamatan's desa
    code = "17.06.10"
    open_from_disk(page, out / f"kecamatan-{code}.html", errors)
    drawn = page.eval_on_selector_all("path.desa-polygon", "els => els.map(e => e.dataset.code)")
    assert sorted(drawn) == sorted(r["code"] for r in desa_rows if r["kecamatan_code"] == code) and drawn
    assert errors == []
