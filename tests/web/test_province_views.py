"""Issue 14: kabupaten as a level of the coverage pages, gap list, exports, coverage API and OGC
collections, on the province with its demo set (``province_demo_template``: 10 kabupaten/kota, 1,513 desa,
3,452 TPS). The figures compared are read from the service itself (the coverage API, the boundary API),
never written into the test."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections import Counter

import pytest
from openpyxl import load_workbook

from geo_app.app_db import get_session
from geo_app.store.adapter import desa_frame
from geo_app.store.models import PollingStation
from tests.conftest import TEST_ADMIN, _fold_wal, copy_database, login_as, make_app
from tests.services.test_demo_province import facts_province


@pytest.fixture(scope="module")
def province(province_demo_template, tmp_path_factory, boundary_source):
    """A client on a copy of the province with its demo set (read-only tests share it)."""
    root = tmp_path_factory.mktemp("province-views")
    db_path = root / "province.sqlite"
    copy_database(province_demo_template.path, db_path)
    _fold_wal(db_path)  # kept for the module (PostgreSQL: not dropped after the first test)
    app = make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source, KABUPATEN="17")
    with app.app_context():
        desa = desa_frame(get_session()).drop(columns="geometry").set_index("code")
    client = app.test_client()
    login_as(client, TEST_ADMIN)
    yield client, desa
    app.extensions["geo_app.engine"].dispose()


def kabupaten_of(desa) -> dict[str, str]:
    return dict(zip(desa["kabupaten_code"], desa["kabupaten_name"]))


def is_gap(row: dict) -> bool:
    return row["status"] != "covered" or bool(row["flags"])


def row_codes(page: str) -> list[str]:
    return re.findall(r'<tr data-code="([^"]+)" data-status=', page)


def test_gap_list_of_a_kabupaten_is_the_coverage_of_that_kabupaten(province):
    client, desa = province
    everything = client.get("/api/gaps").json["gaps"]
    listed = Counter()
    for code, name in kabupaten_of(desa).items():
        coverage = client.get("/api/coverage", query_string={"kabupaten": code}).json
        assert sorted(r["code"] for r in coverage["desa"]) == sorted(desa.index[desa["kabupaten_code"] == code])
        assert {(r["kabupaten_code"], r["kabupaten_name"]) for r in coverage["desa"]} == {(code, name)}
        expected = {r["code"] for r in coverage["desa"] if is_gap(r)}
        gaps = client.get("/api/gaps", query_string={"kabupaten": name}).json["gaps"]  # by name
        assert {g["code"] for g in gaps} == expected
        # the province-wide ranks, in their order: the kabupaten's slice of the whole list
        assert [g["code"] for g in gaps] == [g["code"] for g in everything if g["code"] in expected]
        assert coverage["summary"]["desa_count"] == len(coverage["desa"])
        assert coverage["summary"]["status_uncovered"] == sum(r["status"] == "uncovered" for r in coverage["desa"])
        listed[code] = len(gaps)
    assert sum(listed.values()) == len(everything)
    # the HTML list of one kabupaten (the one with the fewest gaps that has some) shows exactly those rows
    code = min((n, c) for c, n in listed.items() if n)[1]
    page = client.get("/gaps", query_string={"kabupaten": code}).get_data(as_text=True)
    expected = [g["code"] for g in client.get("/api/gaps", query_string={"kabupaten": code}).json["gaps"]]
    assert row_codes(page) == expected
    assert page.count('<td class="kabupaten"') == len(expected)


def test_gap_exports_carry_the_kabupaten_column(province):
    client, desa = province
    names = kabupaten_of(desa)
    rows = list(csv.reader(io.StringIO(client.get("/gaps.csv").data.decode("utf-8-sig")), delimiter=";"))
    header = rows[0]
    at = header.index("Kabupaten/Kota")
    assert header[at - 1] == "Kecamatan" and header[:3] == ["Peringkat", "Kode", "Desa"]
    body = [r for r in rows[1:] if r and r[1]]
    assert len(body) == len(client.get("/api/gaps").json["gaps"])
    assert all(r[at] == desa.loc[r[1], "kabupaten_name"] for r in body)
    assert len({r[at] for r in body}) == len(names)  # every kabupaten has gaps in the demo set
    # filtered: one kabupaten, by code, in CSV and XLSX; English headers in English
    city = "17.71"
    rows = list(
        csv.reader(io.StringIO(client.get(f"/gaps.csv?kabupaten={city}").data.decode("utf-8-sig")), delimiter=";")
    )
    codes = [r[1] for r in rows[1:] if r and r[1]]
    assert codes == [g["code"] for g in client.get(f"/api/gaps?kabupaten={city}").json["gaps"]]
    assert {r[at] for r in rows[1:] if r and r[1]} == {names[city]}
    sheet = load_workbook(io.BytesIO(client.get(f"/gaps.xlsx?kabupaten={city}").data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][at] == "Kabupaten/Kota" and [v[1] for v in values[1:]] == codes
    english = client.application.test_client()
    login_as(english, TEST_ADMIN)
    head = english.get("/gaps.csv?lang=en").data.decode("utf-8-sig").splitlines()[0].split(";")
    assert head[at] == "Kabupaten/kota"
    # the API's CSV and the kecamatan roll-up carry the kabupaten code and name too
    api_head = client.get("/api/gaps?format=csv").data.decode().splitlines()[0].split(",")
    assert api_head[api_head.index("kind") + 1 : api_head.index("kind") + 3] == ["kabupaten_code", "kabupaten_name"]
    kec = client.get(f"/api/coverage/kecamatan?kabupaten={city}").json
    assert {k["kabupaten_code"] for k in kec["kecamatan"]} == {city}
    assert sorted(k["code"] for k in kec["kecamatan"]) == sorted(
        f["properties"]["code"] for f in client.get(f"/api/kecamatan?kabupaten={city}").json["features"]
    )


URLS = [
    "/",
    "/gaps",
    "/gaps.csv",
    "/gaps.xlsx",
    "/gaps/print",
    "/api/coverage",
    "/api/coverage/kecamatan",
    "/api/coverage/kabupaten",
    "/api/gaps",
    "/ogc/collections/coverage/items",
]


@pytest.mark.parametrize("url", URLS)
def test_an_unknown_kabupaten_is_a_400_listing_the_known_ones(province, url):
    client, desa = province
    resp = client.get(url, query_string={"kabupaten": "<b>Bengkulu Barat"})
    assert resp.status_code == 400
    raw = resp.get_data(as_text=True)
    text = html.unescape(raw)
    assert "<b>Bengkulu Barat" in text
    if resp.mimetype == "text/html":
        assert "<b>Bengkulu" not in raw  # the value is shown as text
    for code, name in kabupaten_of(desa).items():
        assert f"{code} {name}" in text
    if resp.is_json:
        assert "kabupaten" in resp.json["details"]


@pytest.mark.parametrize("url", ["/", "/gaps", "/api/coverage", "/api/gaps", "/ogc/collections/coverage/items"])
def test_a_kecamatan_of_another_kabupaten_is_a_400(province, url):
    client, desa = province
    mukomuko_kec = desa[desa["kabupaten_code"] == "17.06"]["kecamatan_code"].iloc[0]
    resp = client.get(url, query_string={"kabupaten": "Kota Bengkulu", "kecamatan": mukomuko_kec})
    assert resp.status_code == 400
    assert "Kabupaten Mukomuko" in html.unescape(resp.get_data(as_text=True))


def test_dashboard_rolls_up_by_kabupaten_with_links_that_filter(province):
    client, desa = province
    page = client.get("/").get_data(as_text=True)
    table = page[page.index('id="kabupaten-table"') : page.index("</table>", page.index('id="kabupaten-table"'))]
    rows = re.findall(r'<tr data-code="(\d\d\.\d\d)"[^>]*>(.*?)</tr>', table, re.S)
    assert [code for code, _ in rows] == sorted(kabupaten_of(desa))
    kecamatan = client.get("/api/coverage/kecamatan").json["kecamatan"]
    for code, cells in rows:
        own = [k for k in kecamatan if k["kabupaten_code"] == code]
        numbers = [int(n.replace(".", "")) for n in re.findall(r'<td class="num">([\d.]+)</td>', cells)]
        desa_n, uncovered, at_risk, tps, voters = numbers[:5]
        assert desa_n == sum(k["desa_count"] for k in own) == int((desa["kabupaten_code"] == code).sum())
        assert uncovered == sum(k["status_uncovered"] for k in own)
        assert at_risk == sum(k["status_at_risk"] for k in own)
        assert (tps, voters) == (sum(k["tps_count"] for k in own), sum(k["voters"] for k in own))
        share = re.search(r'<td class="num">(\d+)%</td>', cells).group(1)
        assert int(share) == round(100 * uncovered / desa_n)
    # the roll-up's sums agree with the province summary
    summary = client.get("/api/coverage").json["summary"]
    rollup = client.get("/api/coverage/kabupaten").json["kabupaten"]
    for key in ("desa_count", "tps_count", "voters", "voters_uncovered"):
        assert sum(r[key] for r in rollup) == summary[key], key
    assert sum(r["status_uncovered"] for r in rollup) == summary["status_counts"]["uncovered"]
    # follow a kabupaten's link: the dashboard of that kabupaten only
    link = html.unescape(re.search(r'<a href="(/\?kabupaten=17\.71[^"]*)">', table).group(1))
    filtered = client.get(link).get_data(as_text=True)
    city = set(desa.index[desa["kabupaten_code"] == "17.71"])
    top = row_codes(filtered)
    assert top and set(top) <= city
    kec_table = filtered[filtered.index('id="kecamatan-table"') :]
    assert sorted(re.findall(r"<tr><td>(17\.\d\d\.\d\d)</td>", kec_table)) == sorted(
        {desa.loc[c, "kecamatan_code"] for c in city}
    )
    city_row = next(r for r in rollup if r["code"] == "17.71")
    assert f"{city_row['desa_reached']} / {city_row['desa_count']} desa" in filtered


def test_kabupaten_page_lists_its_kecamatan_with_counts_and_links(province):
    client, desa = province
    code = "17.04"
    page = client.get(f"/kabupaten/{code}").get_data(as_text=True)
    assert f"<h1>{desa[desa['kabupaten_code'] == code]['kabupaten_name'].iloc[0]}" in page
    kecamatan = client.get(f"/api/coverage/kecamatan?kabupaten={code}").json["kecamatan"]
    table = page[page.index('id="kecamatan-table"') :]
    for k in kecamatan:
        row = re.search(rf'<tr data-code="{re.escape(k["code"])}">(.*?)</tr>', table, re.S).group(1)
        assert f'href="/kecamatan/{k["code"]}?kabupaten={code}"' in row
        assert f"{k['desa_reached']} / {k['desa_count']}" in row and f"{k['tps_secured']} / {k['tps_count']}" in row
    assert len(re.findall(r'<tr data-code="\d\d\.\d\d\.\d\d">', table)) == len(kecamatan)
    gaps = [g["code"] for g in client.get(f"/api/gaps?kabupaten={code}&limit=10").json["gaps"]]
    assert row_codes(page) == gaps
    # the kecamatan page links back to its kabupaten, the desa page too
    kec = kecamatan[0]["code"]
    kec_page = client.get(f"/kecamatan/{kec}?kabupaten={code}").get_data(as_text=True)
    assert f'href="/kabupaten/{code}?kabupaten={code}"' in kec_page
    assert client.get("/kabupaten/17.99").status_code == 404


def test_ogc_collections_and_boundary_api_filter_by_kabupaten(province):
    client, desa = province
    code, name = "17.09", kabupaten_of(desa)["17.09"]
    own = sorted(desa.index[desa["kabupaten_code"] == code])
    items = client.get(f"/ogc/collections/desa/items?kabupaten={code}&limit=10000").json
    assert items["numberMatched"] == len(own) == len(items["features"])
    assert {f["properties"]["kabupaten_name"] for f in items["features"]} == {name}
    cov = client.get(f"/ogc/collections/coverage/items?kabupaten={name}&limit=10000").json
    assert sorted(f["id"] for f in cov["features"]) == own
    assert {f["properties"]["kabupaten_code"] for f in cov["features"]} == {code}
    kec = client.get(f"/ogc/collections/kecamatan/items?kabupaten={code}&limit=1000").json
    assert kec["numberMatched"] == desa[desa["kabupaten_code"] == code]["kecamatan_code"].nunique()
    tps = client.get(f"/ogc/collections/tps/items?kabupaten={code}&limit=10000").json
    every = client.get("/ogc/collections/tps/items?limit=10000").json["features"]
    own_tps = [t["id"] for t in every if desa.loc[t["properties"]["desa_code"], "kabupaten_code"] == code]
    assert sorted(f["id"] for f in tps["features"]) == sorted(own_tps) and own_tps
    # /api/desa features name their kabupaten
    features = client.get("/api/desa").json["features"]
    assert len(features) == len(desa)
    assert all(
        (f["properties"]["kabupaten_code"], f["properties"]["kabupaten_name"])
        == tuple(desa.loc[f["properties"]["code"], ["kabupaten_code", "kabupaten_name"]])
        for f in features
    )


def test_one_kabupaten_pages_and_exports_have_no_kabupaten_column(demo_client):
    page = demo_client.get("/").get_data(as_text=True)
    assert 'id="kabupaten-table"' not in page and 'name="kabupaten"' not in page
    assert 'class="kabupaten"' not in demo_client.get("/gaps").get_data(as_text=True)
    header = demo_client.get("/gaps.csv").data.decode("utf-8-sig").splitlines()[0].split(";")
    assert "Kabupaten/Kota" not in header
    row = demo_client.get("/api/gaps?limit=1").json["gaps"][0]
    assert "kabupaten_code" not in row and "kabupaten_name" not in row
    # the one kabupaten's page and filter still work
    assert demo_client.get("/kabupaten/17.06").status_code == 200
    assert len(demo_client.get("/api/gaps?kabupaten=Mukomuko").json["gaps"]) == len(
        demo_client.get("/api/gaps").json["gaps"]
    )


def test_serve_loads_the_province_demo_into_an_empty_province(
    province_template, tmp_path, boundary_source, monkeypatch
):
    """GEO_APP_DEMO_ON_EMPTY with GEO_APP_KABUPATEN=17: the first start fills every kabupaten/kota."""
    served = []
    monkeypatch.setattr("geo_app.cli.run_simple", lambda host, port, application, **kw: served.append(application))
    db_path = tmp_path / "serve.sqlite"
    copy_database(province_template.path, db_path)
    app = make_app(db_path, tmp_path / "shapefiles", BOUNDARY_SOURCE=boundary_source, KABUPATEN="17")
    try:
        app.config["GEO_APP_SETTINGS"]["DEMO_ON_EMPTY"] = True
        with app.app_context():
            result = app.test_cli_runner().invoke(args=["serve", "--dev"])
        assert result.exit_code == 0, result.output
        assert "data demo" in result.output and served == [app]
        facts = facts_province()
        with app.app_context():
            stations = get_session().query(PollingStation).all()
            kabupaten = set(desa_frame(get_session())["kabupaten_code"])
        assert len(stations) == facts["tps"] and sum(t.voters for t in stations) == facts["total"]
        assert {t.desa_code[:5] for t in stations} == kabupaten
    finally:
        app.extensions["geo_app.engine"].dispose()


def test_coverage_command_takes_the_kabupaten(province):
    client, desa = province
    app = client.application
    with app.app_context():
        out = app.test_cli_runner().invoke(args=["coverage", "--kabupaten", "Kota Bengkulu", "--format", "json"])
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert sorted(r["code"] for r in body["desa"]) == sorted(desa.index[desa["kabupaten_code"] == "17.71"])
    assert body["summary"]["code"] == "17.71" and body["summary"]["desa_count"] == body["count"]
    with app.app_context():
        bad = app.test_cli_runner().invoke(args=["coverage", "--kabupaten", "Atlantis"])
    assert bad.exit_code == 1 and "17.71 Kota Bengkulu" in bad.output


def test_brief_of_a_kabupaten_holds_its_kecamatan(province):
    client, desa = province
    from pypdf import PdfReader

    resp = client.get("/brief.pdf?kabupaten=Kota%20Bengkulu")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert 'filename="ringkasan_17.71_' in resp.headers["Content-Disposition"]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(resp.data)).pages)
    city = desa[desa["kabupaten_code"] == "17.71"]
    # one brief per kecamatan of the city (its heading: "Ringkasan kecamatan: Kecamatan <name> ..."), none else
    headed = re.findall(r"Ringkasan kecamatan: Kecamatan ([^\n(]+)", text)
    assert sorted(h.strip() for h in headed) == sorted(set(city["kecamatan_name"]))
