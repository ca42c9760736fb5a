"""Hostile text in every user-text field shows as text everywhere it appears: pages, map popups and
tooltips, CSV/XLSX exports (formula injection neutralised); hostile filter values never give a 500."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from tests.conftest import snapshot

SCRIPT = '<script>alert("x")</script>'
IMG = '"><img src=x onerror=alert(1)>'
ATTR = "' onmouseover='alert(2)"
FORMULA = '=HYPERLINK("http://evil.example","klik")'
RAW = (SCRIPT, IMG, ATTR)  # must never appear unescaped in HTML


def _payload(field: str) -> str:
    return f"{field}{SCRIPT}{IMG}{ATTR}"


def post_records(client, text) -> dict:
    """One rakor, TPS and insiden in Desa Penarik whose every free-text field is ``text(tag)`` (``tag``
    names the field: judul, tempat, penyelenggara, catatan, instansi, id, tautan, alamat, uraian)."""
    meeting = client.post(
        "/api/meetings",
        json={
            "title": text("judul"),
            "date": "2024-11-20",
            "level": "desa",
            "desa_code": "17.06.10.2001",
            "venue": text("tempat"),
            "organiser": text("penyelenggara"),
            "notes": text("catatan"),
            "agencies": ["camat", text("instansi")],
            "external_id": text("id"),
            "source_url": text("tautan"),
            "lat": -2.6,
            "lon": 101.52,
            "allow_duplicate": True,  # one rakor per payload, same day and desa
        },
    )
    assert meeting.status_code == 201, meeting.json
    tps = client.post(
        "/api/polling-stations",
        json={
            "desa_code": "17.06.10.2001",
            "number": 31,
            "voters": 300,
            "address": text("alamat"),
            "notes": text("catatan"),
            "police": 0,
            "linmas": 0,
        },
    )
    assert tps.status_code == 201, tps.json
    incident = client.post(
        "/api/incidents",
        json={
            "occurred_at": "2024-11-20T10:00",
            "category": "money_politics",
            "severity": "high",
            "desa_code": "17.06.10.2001",
            "description": text("uraian"),
            "notes": text("catatan"),
            "external_id": text("id"),
            "source_url": text("tautan"),
        },
    )
    assert incident.status_code == 201, incident.json
    return {"meeting": meeting.json, "tps": tps.json, "incident": incident.json}


@pytest.fixture
def hostile(client):
    """One record of each kind whose every free-text field carries the payloads, in Desa Penarik."""
    fixed = {
        "instansi": _payload("instansi")[:60],
        "alamat": _payload("alamat")[:200],
        "id": "x<script>1",
        "uraian": FORMULA + _payload("uraian"),
        "tautan": "https://example.org/" + _payload("tautan"),
    }
    return post_records(client, lambda tag: fixed.get(tag) or _payload(tag))


def _assert_safe_html(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"unescaped payload {raw!r} in {where}"


@pytest.mark.parametrize(
    "path",
    [
        "/rakor",
        "/tps",
        "/insiden",
        "/rakor/{meeting}/ubah",
        "/tps/{tps}/ubah",
        "/insiden/{incident}/ubah",
        "/",
        "/gaps",
        "/gaps/print",
        "/desa/17.06.10.2001",
        "/kecamatan/17.06.10",
        "/map",
        "/map/kecamatan/17.06.10",
        "/map/desa/17.06.10.2001",
    ],
)
def test_pages_and_maps_show_payloads_as_text(client, hostile, path):
    url = path.format(meeting=hostile["meeting"]["id"], tps=hostile["tps"]["id"], incident=hostile["incident"]["id"])
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    _assert_safe_html(html, url)


def test_payload_is_visible_as_text_in_list_and_popup(client, hostile):
    listing = client.get("/insiden").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in listing
    overview = client.get("/map").get_data(as_text=True)
    assert "<script>alert(" not in overview and "uraian" not in overview  # the map page holds no record
    # the overview's popups come with its data, HTML-escaped
    area = "bbox=100,-4,103,-1&zoom=10"
    popups = [
        f["properties"]["popup_html"]
        for kind in ("incidents", "meetings")
        for f in client.get(f"/api/map/points/{kind}?{area}").get_json()["features"]
    ]
    assert any("uraian&lt;script&gt;" in p for p in popups) and any("tempat&lt;script&gt;" in p for p in popups)
    assert not any("<script>" in p for p in popups)


def _neutral(cell: str) -> bool:
    return not cell or cell[0] not in "=+-@\t\r"


def test_exports_neutralise_formulas(client, hostile, runner):
    # a desa name that is a formula, as a hostile boundary file could bring
    from geo_app.app_db import get_session
    from geo_app.store.db import bump_version
    from geo_app.store.models import Desa

    app = client.application
    with app.app_context():
        session = get_session()
        session.get(Desa, "17.06.10.2001").name = "=cmd|' /C calc'!A0"
        bump_version(session, "boundaries")
        session.commit()
    for url in ("/gaps.csv", "/api/coverage?format=csv"):
        response = client.get(url)
        assert response.status_code == 200, url
        rows = list(
            csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=_delim(response))
        )
        cells = [c for row in rows for c in row]
        assert any("cmd|" in c for c in cells), url
        assert all(_neutral(c) for c in cells if "cmd|" in c or "HYPERLINK" in c), url
    book = openpyxl.load_workbook(io.BytesIO(client.get("/gaps.xlsx").data))
    values = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert any("cmd|" in v for v in values)
    assert all(_neutral(v) for v in values if "cmd|" in v)
    assert all(c.data_type != "f" for ws in book.worksheets for row in ws.iter_rows() for c in row)


def _delim(response) -> str:
    head = response.get_data(as_text=True).splitlines()[0]
    return ";" if head.count(";") > head.count(",") else ","


SQLI = ["1' OR '1'='1", "1; DROP TABLE desa;--", "17.06.10' UNION SELECT * FROM app_user--", "%' --", "\x00"]


@pytest.mark.parametrize("value", SQLI)
@pytest.mark.parametrize(
    "url",
    [
        "/api/polling-stations?kecamatan={v}",
        "/api/polling-stations?desa={v}",
        "/api/incidents?category={v}",
        "/api/incidents?date_from={v}",
        "/api/meetings?level={v}",
        "/api/coverage?kecamatan={v}",
        "/api/coverage?date={v}",
        "/api/gaps?status={v}",
        "/api/desa/{v}",
        "/gaps?kecamatan={v}",
        "/map?date={v}",
        "/kecamatan/{v}",
        "/desa/{v}",
        "/api/audit?kind={v}",
    ],
)
def test_sql_injection_strings_never_500(client, url, value):
    from urllib.parse import quote

    response = client.get(url.format(v=quote(value, safe="")))
    assert response.status_code in (200, 400, 404), (url, value, response.status_code)
    if (
        response.status_code == 200
        and response.is_json
        and isinstance(response.json, dict)
        and "total" in response.json
    ):
        assert response.json["total"] == 0
    assert client.get("/api/desa").status_code == 200  # desa table still there


def test_nul_characters_are_refused_everywhere_and_store_nothing(client, app):
    """PostgreSQL text cannot hold NUL: a NUL in a JSON body, a form field, the query or the path is a 400
    naming it, on either database, and nothing is stored."""
    before = snapshot(app)
    body = {"occurred_at": "2024-11-20T10:00", "category": "hoax", "severity": "low", "desa": "Penarik"}
    for hostile in ({**body, "description": "a\x00b"}, {**body, "description": "ok", "desa\x00": "x"}):
        resp = client.post("/api/incidents", json=hostile)
        assert resp.status_code == 400 and "NUL" in resp.get_json()["message"], resp.get_json()
    form = client.post("/rakor/baru", data={"title": "Rakor\x00", "date": "2024-11-01"})
    assert form.status_code == 400 and "NUL" in form.get_data(as_text=True)
    assert client.get("/api/desa?kabupaten=17\x00").status_code == 400
    assert client.get("/desa/17.06.10.2001%00").status_code == 400
    assert snapshot(app) == before


def test_nul_character_deep_in_an_import_file_is_a_row_error(app, runner, tmp_path):
    """A NUL past the first 8 KB (the binary sniff) is refused on its row and field; nothing is stored."""
    head = "id;desa;waktu_kejadian;kategori;keparahan;uraian\n"
    rows = [f"NUL-{i};Penarik;01/11/2024 10:00;APK;rendah;Baliho nomor {i} di jembatan desa\n" for i in range(300)]
    rows[250] = "NUL-250;Penarik;01/11/2024 10:00;APK;rendah;Baliho\x00 di jembatan\n"
    path = tmp_path / "insiden.csv"
    path.write_text(head + "".join(rows), encoding="utf-8")
    assert path.read_bytes().index(b"\x00") > 8192
    before = snapshot(app)
    result = runner.invoke(args=["import", "incidents", str(path)])
    assert result.exit_code == 1 and "baris/row 252, kolom uraian" in result.output and "NUL" in result.output
    assert snapshot(app) == before
