"""The planners' pages on the real boundaries with the demo set: dashboard, view parameters, language,
the map cache and size budget, the gap list with its downloads and print view, kecamatan and desa pages."""

from __future__ import annotations

import csv
import gzip
import io
import re
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from sqlalchemy import update

from geo_app.app_db import get_session
from geo_app.maps.assets import remote_links
from geo_app.services import coverage as coverage_service
from geo_app.services.records import create_record
from geo_app.store.adapter import desa_frame
from geo_app.store.db import transaction
from geo_app.store.models import Desa
from geo_app.store.records import incidents_frame, tps_frame
from geo_app.web import export
from tests.conftest import TEST_ADMIN, snapshot

#: issue 11: the overview page is a shell of at most 60 KB gzipped (its data comes by request)
OVERVIEW_BUDGET_GZIP = 60 * 1024
EVIL = '<script>alert("x")</script>'


def coverage(app, **overrides):
    with app.app_context():
        return coverage_service.get_coverage(get_session(), coverage_service.coverage_settings(overrides))


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- dashboard ---------------------------------------------------------------------------------------------


def test_dashboard_summary_matches_the_coverage(demo_app, demo_client):
    result = coverage(demo_app)
    s = result.summary
    html = demo_client.get("/").get_data(as_text=True)
    reached = re.search(
        r'id="card-reached">.*?class="big">(\d+)%</div>\s*<div class="sub">(\d+) / (\d+) desa', html, re.S
    )
    assert reached.groups() == (str(round(100 * s["desa_reached"] / s["desa_count"])), str(s["desa_reached"]), "151")
    tps = re.search(r'id="card-tps">.*?class="sub">(\d+) / (\d+) TPS', html, re.S)
    assert tps.groups() == (str(s["tps_secured"]), "327")
    voters = re.search(r'id="card-voters">.*?class="big">([\d.]+)</div>', html, re.S).group(1)
    assert int(voters.replace(".", "")) == s["voters_uncovered"] > 0
    # incidents by severity: counted here straight from the stored rows (the 30 calendar days ending on
    # the reference date, not dismissed)
    with demo_app.app_context():
        inc = incidents_frame(get_session(), desa_frame(get_session()))
    day = inc["occurred_at"].dt.normalize()
    inside = inc[
        (day >= pd.Timestamp("2024-10-29")) & (day <= pd.Timestamp("2024-11-27")) & (inc["status"] != "dismissed")
    ]
    shown = dict(re.findall(r'data-severity="(\w+)">[^<]*<b>(\d+)</b>', html))
    assert {k: int(v) for k, v in shown.items()} == {
        s: int((inside["severity"] == s).sum()) for s in ("high", "medium", "low")
    }
    assert sum(map(int, shown.values())) == s["incidents_in_window"] > 0
    # the ten highest-priority gaps, in order, and the embedded map with the same parameters
    codes = re.findall(r'<tr data-code="([\d.]+)" data-status', html)
    assert codes == list(result.gaps()["code"].head(10))
    assert re.search(r'<iframe class="map"[^>]+src="/map"', html)


def test_view_parameters_drive_tables_and_stay_in_links(demo_app, demo_client):
    params = "date=2024-11-10&window_days=20&incident_window_days=10&kecamatan=Penarik"
    html = demo_client.get(f"/?{params}").get_data(as_text=True)
    result = coverage(demo_app, date="2024-11-10", window_days="20", incident_window_days="10")
    expected = coverage_service.filter_desa(result.gaps(), "17.06.10").head(10)
    assert re.findall(r'<tr data-code="([\d.]+)" data-status', html) == list(expected["code"])
    assert result.summary["status_counts"] != coverage(demo_app).summary["status_counts"]
    main = html.split("</header>", 1)[1]  # the site header (base.html) links the plain pages
    links = re.findall(r'(?:href|src)="(/(?:map|gaps|kecamatan|desa)[^"]*)"', main)
    assert links and all(parse_qs(urlsplit(u.replace("&amp;", "&")).query).get("date") == ["2024-11-10"] for u in links)
    iframe = re.search(r'<iframe class="map"[^>]+src="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(iframe).query) == {
        "date": ["2024-11-10"],
        "window_days": ["20"],
        "incident_window_days": ["10"],
        "kecamatan": ["17.06.10"],
    }


@pytest.mark.parametrize(
    "url, name",
    [
        ("/?date=2024-13-01", "date"),
        ("/map?window_days=-1", "window_days"),
        ("/gaps?incident_window_days=tiga", "incident_window_days"),
        ("/?kecamatan=%3Cscript%3EAtlantis", "kecamatan"),
        ("/map?category=%3Cb%3Ehantu", "category"),
        ("/gaps?sort=%3Cb%3Ehuruf", "sort"),
        ("/gaps?status=covered", "status"),
        ("/gaps.csv?status=aman", "status"),
        ("/map?peta_dasar=satelit", "peta_dasar"),
        ("/?lang=fr", "lang"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(demo_app, demo_client, url, name):
    before = snapshot(demo_app)
    resp = demo_client.get(url)
    assert resp.status_code == 400 and resp.mimetype == "text/html"
    message = re.search(r'<p class="error">([^<]+)</p>', resp.get_data(as_text=True)).group(1)
    assert message.startswith(f"{name}:") or f"{name} " in message
    assert "<script>" not in resp.get_data(as_text=True).split("</header>")[1]
    assert snapshot(demo_app) == before


def test_unknown_kecamatan_and_desa_pages_are_404(demo_client):
    for url in ("/kecamatan/17.06.99", "/desa/17.06.10.9999", "/map/desa/x", "/gaps/print/17.06.99.png"):
        assert demo_client.get(url).status_code == 404, url


def test_language_switch_is_kept_in_the_session(demo_client):
    assert "Ringkasan kabupaten" in demo_client.get("/").get_data(as_text=True)
    english = demo_client.get("/?lang=en").get_data(as_text=True)
    assert "Regency summary" in english and "Ringkasan kabupaten" not in english
    assert "Coverage gap list" in demo_client.get("/gaps").get_data(as_text=True)
    overview = demo_client.get("/map").get_data(as_text=True)
    assert "Polling stations (TPS)" in overview and "Desa coverage status" in overview
    assert 'href="/gaps?lang=id"' in demo_client.get("/gaps").get_data(as_text=True)
    assert "Daftar celah cakupan" in demo_client.get("/gaps?lang=id").get_data(as_text=True)


# --- the overview map: size, cache, escaping ----------------------------------------------------------------


def test_overview_for_the_demo_set_is_local_and_within_budget(demo_client):
    demo_client.environ_base["HTTP_ACCEPT_ENCODING"] = "identity"
    resp = demo_client.get("/map")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and len(gzip.compress(resp.data)) < OVERVIEW_BUDGET_GZIP
    assert remote_links(html) == []
    # a shell: the layers name their endpoints (with the view's parameters); no record is in the page
    for path in ("desa", "kecamatan", "legend", "heat", "points/tps", "points/incidents", "points/meetings"):
        assert f'"url":"/api/map/{path}"' in html, path
    assert "popup_html" not in html and "Polri" not in html
    assert "<title>Peta cakupan" in html and '"back":{"url":"/"' in html
    assert not re.search(r"\[\d+\.\d{6,}, -?\d+\.\d+\]", html)


def _without_nonce(html: str) -> str:
    return re.sub(r'nonce="[^"]*"', 'nonce=""', html)


def _without_ids(html: str) -> str:
    """Without the nonce and folium's random element ids (a page built again has new ones)."""
    return re.sub(r"_[0-9a-f]{32}(?![0-9a-f])", "_id", _without_nonce(html))


def test_second_request_does_not_render_and_a_write_invalidates(demo_app, demo_client, monkeypatch):
    from geo_app.web import pages

    builds = []
    real = pages.build_map_shell
    monkeypatch.setattr(pages, "build_map_shell", lambda *a, **k: builds.append(1) or real(*a, **k))
    first = demo_client.get("/map?window_days=45").get_data(as_text=True)
    second = demo_client.get("/map?window_days=045").get_data(as_text=True)  # same view, other spelling
    # the same cached page; only each response's CSP nonce differs
    assert _without_nonce(first) == _without_nonce(second) and len(builds) == 1
    assert demo_app.extensions["geo_app.map_cache"].renders == 1
    demo_client.get("/map?window_days=44")
    assert len(builds) == 2

    # the records come by request: a write shows in the map's data for the same view at once
    api = "/api/map/points/incidents?window_days=45&bbox=100,-4,103,-1&zoom=10"
    before = demo_client.get(api).get_data(as_text=True)
    with demo_app.app_context():
        create_record(
            get_session(),
            demo_app.config["GEO_APP_SETTINGS"],
            "incidents",
            {
                "occurred_at": "20/11/2024 10:00",
                "category": "hoaks",
                "severity": "tinggi",
                "desa": "Penarik",
                "description": "Hoaks baru di grup WA",
            },
            actor=TEST_ADMIN,
        )
    after = demo_client.get(api).get_data(as_text=True)
    assert "Hoaks baru di grup WA" in after and "Hoaks baru di grup WA" not in before
    # the page is the same shell as before the write (it holds no record)
    third = demo_client.get("/map?window_days=45").get_data(as_text=True)
    assert _without_ids(third) == _without_ids(first) and "Hoaks baru" not in third


def test_user_text_shows_as_text_in_popups_and_pages(demo_app, demo_client):
    settings = demo_app.config["GEO_APP_SETTINGS"]
    with demo_app.app_context():
        session = get_session()
        create_record(
            session,
            settings,
            "incidents",
            {
                "occurred_at": "20/11/2024 10:00",
                "category": "intimidasi",
                "severity": "sedang",
                "desa_code": "17.06.10.2001",
                "description": EVIL + " di TPS 2",
            },
            actor=TEST_ADMIN,
        )
        create_record(
            session,
            settings,
            "meetings",
            {
                "title": "Rakor desa",
                "date": "15/11/2024",
                "level": "desa",
                "desa_code": "17.06.10.2001",
                "venue": EVIL + " Balai desa",
                "agencies": "kades, BPD",
            },
            actor=TEST_ADMIN,
        )
    for url in ("/map", "/map/kecamatan/17.06.10", "/map/desa/17.06.10.2001"):
        html = demo_client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "alert(" not in html, url  # a shell: no record in it
    # the popups come with the map data, built from escaped parts
    area = "bbox=101.0,-3.2,101.9,-2.2&zoom=12&kecamatan=17.06.10"
    for kind in ("incidents", "meetings"):
        body = demo_client.get(f"/api/map/points/{kind}?{area}").get_json()
        popups = [f["properties"]["popup_html"] for f in body["features"]]
        assert any("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in p for p in popups), kind
        assert not any("<script>alert" in p for p in popups), kind
    page = demo_client.get("/desa/17.06.10.2001").get_data(as_text=True)
    assert "<script>alert" not in page
    assert page.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") == 2  # venue and description


# --- gap list, downloads, print view ----------------------------------------------------------------------------


def _rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-code="([\d.]+)" data-status="(\w+)">', html)


def test_gap_list_sorts_and_filters(demo_app, demo_client):
    gaps = coverage(demo_app).gaps()
    assert [c for c, _ in _rows(demo_client.get("/gaps").get_data(as_text=True))] == list(gaps["code"])
    by_voters = [c for c, _ in _rows(demo_client.get("/gaps?sort=-voters").get_data(as_text=True))]
    voters = gaps.set_index("code")["voters"]
    assert sorted(by_voters) == sorted(gaps["code"]) and list(voters[by_voters]) == sorted(voters, reverse=True)
    by_name = [c for c, _ in _rows(demo_client.get("/gaps?sort=name").get_data(as_text=True))]
    assert list(gaps.set_index("code")["name"][by_name]) == sorted(gaps["name"])

    html = demo_client.get("/gaps?kecamatan=17.06.10&status=uncovered&status=at_risk").get_data(as_text=True)
    expected = gaps[(gaps["kecamatan_code"] == "17.06.10") & gaps["status"].isin(["uncovered", "at_risk"])]
    assert _rows(html) == list(zip(expected["code"], expected["status"])) and len(expected) > 0
    # the sort links keep the filters
    link = re.search(r'href="(/gaps\?[^"]*sort=voters[^"]*)"', html).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(link).query) == {
        "kecamatan": ["17.06.10"],
        "status": ["uncovered", "at_risk"],
        "sort": ["voters"],
    }


def test_gap_downloads_match_the_list_and_neutralise_formulas(demo_app, demo_client):
    gaps = coverage(demo_app).gaps()
    target = gaps["code"].iloc[0]
    hostile = "=cmd|' /C calc'!A0"
    with demo_app.app_context():
        session = get_session()
        with transaction(session):
            session.execute(update(Desa).where(Desa.code == target).values(name=hostile))

    resp = demo_client.get("/gaps.csv?sort=rank")
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    text = resp.data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:5] == ["Peringkat", "Kode", "Desa", "Kecamatan", "Status"]
    assert [r[1] for r in rows[1:]] == list(gaps["code"])
    first = rows[1]
    assert first[2] == "'" + hostile
    assert int(first[7]) == int(gaps["voters"].iloc[0])
    assert not any(cell.startswith(("=", "+", "@")) for r in rows for cell in r)

    from openpyxl import load_workbook

    resp = demo_client.get("/gaps.xlsx?kecamatan=" + gaps["kecamatan_code"].iloc[0])
    assert resp.mimetype == export.XLSX_MIMETYPE
    ws = load_workbook(io.BytesIO(resp.data)).active
    values = list(ws.iter_rows(values_only=True))
    own = gaps[gaps["kecamatan_code"] == gaps["kecamatan_code"].iloc[0]]
    assert [v[1] for v in values[1:]] == list(own["code"])
    assert values[1][2] == "'" + hostile and ws.cell(row=2, column=3).data_type == "s"
    assert isinstance(values[1][7], int) and values[1][7] == int(own["voters"].iloc[0])


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+1", "'=1+1"),
        ("+62 812", "'+62 812"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("-2", "-2"),
        ("-2,56", "-2,56"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Desa =1", "Desa =1"),
        (-2, -2),
        (3.5, 3.5),
        (None, ""),
        (["=a", "b"], "'=a; b"),
    ],
)
def test_neutralise(value, expected):
    assert export.neutralise(value) == expected


def test_print_view_has_one_page_per_kecamatan_with_a_map(demo_app, demo_client):
    from PIL import Image

    gaps = coverage(demo_app).gaps()
    html = demo_client.get("/gaps/print").get_data(as_text=True)
    sections = re.findall(r'<section class="kecamatan-print" id="kecamatan-([\d.]+)"', html)
    assert sections == sorted(set(gaps["kecamatan_code"]))
    # a kecamatan starts a new page only when it does not fit (issue 12: fewer pages), never split
    assert "break-inside: avoid" in html and "page-break-after: always" not in html and "@media print" in html
    for code in sections:
        part = html.split(f'id="kecamatan-{code}"')[1].split("</section>")[0]
        assert [c for c, _ in _rows(part)] == list(gaps.loc[gaps["kecamatan_code"] == code, "code"])
    sizes = set()
    for src in re.findall(r'<img src="([^"]+\.png[^"]*)"', html)[:3]:
        resp = demo_client.get(src.replace("&amp;", "&"))
        assert resp.mimetype == "image/png"
        image = Image.open(io.BytesIO(resp.data))
        image.verify()
        sizes.add(len(resp.data))
        assert image.size[0] > 400 and image.size[1] > 300
    assert len(sizes) == 3  # three different pictures
    renders = demo_app.extensions["geo_app.png_cache"].renders
    demo_client.get(f"/gaps/print/{sections[0]}.png")
    assert demo_app.extensions["geo_app.png_cache"].renders == renders


# --- kecamatan and desa pages -------------------------------------------------------------------------------------


def test_kecamatan_page_lists_its_desa_and_embeds_its_map(demo_app, demo_client):
    result = coverage(demo_app)
    own = result.desa[result.desa["kecamatan_code"] == "17.06.08"]
    html = demo_client.get("/kecamatan/17.06.08?window_days=30").get_data(as_text=True)
    assert sorted(c for c, _ in _rows(html)) == sorted(own["code"])
    assert 'src="/map/kecamatan/17.06.08?window_days=30&amp;kecamatan=17.06.08"' in html
    assert demo_client.get("/map/kecamatan/17.06.08?window_days=30&kecamatan=17.06.08").status_code == 200


def test_desa_page_lists_its_records(demo_app, demo_client):
    code = "17.06.08.2006"  # Teramang Jaya: the real rakor of 11 Nov 2024 reached every desa there
    with demo_app.app_context():
        tps = tps_frame(get_session(), desa_frame(get_session()))
    html = demo_client.get(f"/desa/{code}").get_data(as_text=True)
    tps_rows = re.findall(
        r"<tr class=\"(?:ok|short)\"><td class=\"num\">(\d+)</td>", html.split('id="tps-table"')[1].split("</table>")[0]
    )
    assert sorted(map(int, tps_rows)) == sorted(tps.loc[tps["desa_code"] == code, "number"])
    meetings = html.split('id="meetings-table"')[1].split("</table>")[0]
    assert "11/11/2024" in meetings and "Teramang Jaya" in meetings  # dates are dd/mm/yyyy on every page
    assert 'src="/map/desa/17.06.08.2006?kecamatan=17.06.08"' in html
    desa_map = demo_client.get("/map/desa/17.06.08.2006?kecamatan=17.06.08").get_data(as_text=True)
    # the desa is outlined on top of its kecamatan's desa (a layer drawing only it from the desa data)
    assert "desa-highlight" in desa_map and "Desa terpilih" in desa_map
    assert desa_map.count('"onlyCode":"17.06.08.2006"') == 1
    assert "<title>Peta cakupan — Desa Teramang Jaya, Teramang Jaya</title>" in desa_map
    assert '"back":{"url":"/desa/17.06.08.2006?kecamatan=17.06.08"' in desa_map
