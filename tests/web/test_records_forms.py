"""Browser forms for rakor, TPS and insiden: pages render, valid posts save and redirect, invalid posts
show per-field messages with the typed values kept, user text is always escaped."""

from __future__ import annotations

import re
from html import unescape

import pytest

from geo_app.app_db import get_session
from geo_app.records import vocab
from geo_app.store.adapter import desa_frame
from tests.conftest import snapshot

XSS = '<script>alert("rakor")</script>'


@pytest.fixture
def desa(app):
    with app.app_context():
        return desa_frame(get_session()).set_index("code")


def code_of(desa, name: str, kecamatan: str) -> str:
    rows = desa[(desa["name"] == name) & (desa["kecamatan_name"] == kecamatan)]
    assert len(rows) == 1
    return rows.index[0]


def api_items(client, url: str) -> list[dict]:
    return client.get(url, query_string={"per_page": 500}).json["items"]


def field_error(html: str, name: str) -> str:
    """The message shown next to a field (its span id is err-<name>)."""
    match = re.search(rf'<span class="error field-error" id="err-{name}">(.*?)</span>', html, re.S)
    assert match, f"no message next to {name}"
    return unescape(match.group(1))


def input_value(html: str, name: str) -> str:
    match = re.search(rf'<input id="f-{name}" name="{name}" type="[^"]+" value="([^"]*)"', html)
    assert match, f"no input {name}"
    return unescape(match.group(1))


@pytest.mark.parametrize("url", ["/rakor", "/rakor/baru", "/tps", "/tps/baru", "/insiden", "/insiden/baru"])
def test_pages_render_with_our_own_script_only(client, url):
    resp = client.get(url)
    assert resp.status_code == 200
    html = resp.text
    assert 'lang="id"' in html
    assert "<script src" not in html and "http://" not in html.split("<main>")[1].split("</main>")[0].replace(
        'type="url"', ""
    )


def test_desa_picker_groups_every_desa_under_its_kecamatan(client, desa):
    html = client.get("/tps/baru").text
    select = html[html.index('<select id="f-desa_code"') :]
    select = select[: select.index("</select>")]
    assert 'data-kecamatan-from="f-kecamatan"' in select
    groups = re.findall(r'<optgroup label="Kec\. ([^"]+)" data-kecamatan="([\d.]+)">(.*?)</optgroup>', select, re.S)
    assert len(groups) == desa["kecamatan_code"].nunique()
    for kec_name, kec_code, body in groups:
        codes = re.findall(r'<option value="([\d.]+)"', body)
        assert sorted(codes) == sorted(desa.index[desa["kecamatan_code"] == kec_code])
        assert desa.loc[codes[0], "kecamatan_name"] == unescape(kec_name)
    assert "data-kecamatan-picker" in html and "filterDesa" in html


def test_post_valid_tps_creates_and_redirects(client, desa):
    penarik = code_of(desa, "Penarik", "Penarik")
    resp = client.post(
        "/tps/baru",
        data={
            "kecamatan": penarik[:8],
            "desa_code": penarik,
            "number": "7",
            "voters": "455",
            "address": "Balai desa",
            "vulnerability": "rawan",
            "police": "2",
            "tni": "",
            "linmas": "2",
            "lat": "",
            "lon": "",
            "notes": "",
        },
    )
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/tps")
    [tps] = api_items(client, "/api/polling-stations")
    assert {
        k: tps[k]
        for k in (
            "desa_code",
            "number",
            "voters",
            "address",
            "vulnerability",
            "police",
            "tni",
            "linmas",
            "lat",
            "notes",
        )
    } == {
        "desa_code": penarik,
        "number": 7,
        "voters": 455,
        "address": "Balai desa",
        "vulnerability": "rawan",
        "police": 2,
        "tni": 0,
        "linmas": 2,
        "lat": None,
        "notes": None,
    }
    listing = client.get("/tps").text
    assert "disimpan" in listing and "Penarik" in listing


def test_post_valid_meeting_with_checkboxes_other_agency_and_reached_desa(client, desa):
    kec = desa[desa["kecamatan_name"] == "Teramang Jaya"]
    reached = sorted(kec.index[:3])
    data = {
        "title": "Rakor Pilkada damai",
        "date": "2024-11-11",
        "start_time": "09:00",
        "level": "kecamatan",
        "kecamatan": kec["kecamatan_code"].iloc[0],
        "desa_code": "",
        "venue": "Aula",
        "organiser": "Pemkab",
        "lat": "",
        "lon": "",
        "agencies": ["camat", "ppk", "bpd"],
        "agencies_other": "Karang Taruna; PKK",
        "reached_desa": reached,
        "notes": "",
        "source_url": "",
    }
    resp = client.post("/rakor/baru", data=data)
    assert resp.status_code == 303
    [meeting] = api_items(client, "/api/meetings")
    assert meeting["agencies"] == ["camat", "ppk", "bpd", "Karang Taruna", "PKK"]
    assert meeting["reached_desa_codes"] == reached and meeting["reaches_all_desa"] is False
    assert (meeting["date"], meeting["start_time"], meeting["host_kecamatan_code"]) == (
        "2024-11-11",
        "09:00:00",
        kec["kecamatan_code"].iloc[0],
    )

    edit = client.get(f"/rakor/{meeting['id']}/ubah").text
    for key in ("camat", "ppk", "bpd"):
        assert f'name="agencies" value="{key}" checked' in edit
    assert 'name="agencies" value="kpu">' in edit
    assert input_value(edit, "agencies_other") == "Karang Taruna, PKK"
    for code in reached:  # the reached desa are ticked boxes (a checklist, not a Ctrl-click multi-select)
        assert f'name="reached_desa" value="{code}" checked' in edit

    resp = client.post(
        f"/rakor/{meeting['id']}/ubah",
        data={**data, "agencies": ["camat"], "agencies_other": "", "reached_desa": [], "reaches_all_desa": "1"},
    )
    assert resp.status_code == 303
    again = client.get(f"/api/meetings/{meeting['id']}").json
    assert again["agencies"] == ["camat"] and again["reaches_all_desa"] is True and again["reached_desa_codes"] == []


def test_post_invalid_shows_messages_next_to_fields_and_keeps_values(client, app, desa):
    penarik = code_of(desa, "Penarik", "Penarik")
    lon, lat = desa.loc[penarik, "rep_lon"], desa.loc[penarik, "rep_lat"]
    before = snapshot(app)
    resp = client.post(
        "/tps/baru",
        data={
            "kecamatan": penarik[:8],
            "desa_code": penarik,
            "number": "7",
            "voters": "700",
            "address": "Balai desa",
            "vulnerability": "tidak_rawan",
            "lat": str(lon),
            "lon": str(lat),
        },
    )
    assert resp.status_code == 400
    html = resp.text
    assert "600" in field_error(html, "voters")
    assert "tertukar" in field_error(html, "lat")  # lat and lon swapped, said in the page language
    assert input_value(html, "voters") == "700"
    assert input_value(html, "address") == "Balai desa"
    assert input_value(html, "lat") == str(lon)
    assert f'<option value="{penarik}" selected>' in html
    assert 'aria-invalid="true" aria-describedby="err-voters"' in html
    assert snapshot(app) == before


def test_required_fields_and_unknown_desa_in_incident_form(client, app):
    before = snapshot(app)
    resp = client.post(
        "/insiden/baru",
        data={"occurred_at": "", "category": "", "severity": "tinggi", "description": "", "desa_code": "17.06.99.9999"},
    )
    assert resp.status_code == 400
    html = resp.text
    for name in ("occurred_at", "category", "description"):
        assert "wajib diisi" in field_error(html, name)
    assert "tidak ada di Mukomuko" in field_error(html, "desa_code")
    assert snapshot(app) == before


def test_desa_outside_the_chosen_kecamatan_is_refused_without_js(client, app, desa):
    penarik = code_of(desa, "Penarik", "Penarik")
    other_kec = sorted(set(desa["kecamatan_code"]) - {penarik[:8]})[0]
    before = snapshot(app)
    resp = client.post("/tps/baru", data={"kecamatan": other_kec, "desa_code": penarik, "number": "1", "voters": "10"})
    assert resp.status_code == 400
    assert "Kecamatan Penarik" in field_error(resp.text, "desa_code")
    assert snapshot(app) == before


def test_duplicate_tps_in_form_is_409_with_message(client, app, desa):
    penarik = code_of(desa, "Penarik", "Penarik")
    form = {"desa_code": penarik, "number": "1", "voters": "10"}
    assert client.post("/tps/baru", data=form).status_code == 303
    before = snapshot(app)
    resp = client.post("/tps/baru", data=form)
    assert resp.status_code == 409 and "sudah ada" in resp.text
    assert snapshot(app) == before


def test_script_in_text_fields_is_escaped_in_list_and_edit_pages(client, desa):
    penarik = code_of(desa, "Penarik", "Penarik")
    client.post("/tps/baru", data={"desa_code": penarik, "number": "2", "voters": "10", "address": XSS, "notes": XSS})
    client.post(
        "/insiden/baru",
        data={
            "occurred_at": "2024-10-10T10:00",
            "category": "hoax",
            "severity": "low",
            "desa_code": penarik,
            "description": XSS,
        },
    )
    client.post(
        "/rakor/baru",
        data={"title": XSS, "date": "2024-11-01", "level": "kabupaten", "agencies_other": XSS, "venue": XSS},
    )
    for kind, url in (("tps", "/api/polling-stations"), ("insiden", "/api/incidents"), ("rakor", "/api/meetings")):
        [record] = api_items(client, url)
        for page in (f"/{kind}", f"/{kind}/{record['id']}/ubah"):
            html = client.get(page).text
            assert XSS not in html, page
            assert "&lt;script&gt;alert(" in html, page
    # rejected input is shown again escaped too
    html = client.post("/tps/baru", data={"desa_code": penarik, "number": "x", "voters": "1", "address": XSS}).text
    assert XSS not in html and "&lt;script&gt;" in html


def test_edit_moving_the_point_moves_a_desa_that_came_from_the_point(client, desa):
    first = code_of(desa, "Lubuk Gedang", "Lubuk Pinang")
    second = code_of(desa, "Penarik", "Penarik")
    lon, lat = desa.loc[first, "rep_lon"], desa.loc[first, "rep_lat"]
    assert (
        client.post(
            "/insiden/baru",
            data={
                "occurred_at": "2024-10-10T10:00",
                "category": "neutrality_bpd",
                "severity": "medium",
                "lat": str(lat),
                "lon": str(lon),
                "description": "BPD berkampanye",
            },
        ).status_code
        == 303
    )
    [incident] = api_items(client, "/api/incidents")
    assert incident["desa_code"] == first
    html = client.get(f"/insiden/{incident['id']}/ubah").text
    form = {name: input_value(html, name) for name in ("occurred_at", "reported_at", "lat", "lon", "source_url")}
    form.update(
        category="neutrality_bpd",
        severity="medium",
        status="reported",
        kecamatan=first[:8],
        desa_code=first,
        description="BPD berkampanye",
        source="",
        notes="",
        lat=str(desa.loc[second, "rep_lat"]),
        lon=str(desa.loc[second, "rep_lon"]),
    )
    assert client.post(f"/insiden/{incident['id']}/ubah", data=form).status_code == 303
    moved = client.get(f"/api/incidents/{incident['id']}").json
    assert (moved["desa_code"], moved["point_desa_code"], moved["location_mismatch"]) == (second, second, False)


def test_delete_button_and_undo(client, app, desa):
    penarik = code_of(desa, "Penarik", "Penarik")
    client.post("/tps/baru", data={"desa_code": penarik, "number": "3", "voters": "10"})
    [tps] = api_items(client, "/api/polling-stations")
    listing = client.get("/tps").text
    # delete asks first (a confirmation page, no JavaScript needed); a POST without the confirmation
    # shows the same page and deletes nothing
    assert f'href="/tps/{tps["id"]}/hapus"' in listing
    confirm = client.get(f"/tps/{tps['id']}/hapus")
    assert confirm.status_code == 200 and f'action="/tps/{tps["id"]}/hapus" method="post"' in confirm.text
    assert 'name="konfirmasi" value="ya"' in confirm.text
    unconfirmed = client.post(f"/tps/{tps['id']}/hapus")
    assert unconfirmed.status_code == 200 and "Ya, hapus" in unconfirmed.text
    assert [t["id"] for t in api_items(client, "/api/polling-stations")] == [tps["id"]]
    resp = client.post(f"/tps/{tps['id']}/hapus", data={"konfirmasi": "ya"})
    assert resp.status_code == 303
    after = client.get("/tps").text
    assert "dihapus" in after and f'action="/tps/{tps["id"]}/pulihkan"' in after
    assert api_items(client, "/api/polling-stations") == []
    assert client.post(f"/tps/{tps['id']}/pulihkan").status_code == 303
    assert [t["id"] for t in api_items(client, "/api/polling-stations")] == [tps["id"]]
    assert client.get("/tps/999/ubah").status_code == 404
    assert client.post("/tps/999/hapus", data={"konfirmasi": "ya"}).status_code == 404
    assert client.get("/tps/999/hapus").status_code == 404


def test_list_filters_and_bad_filter_value(client, desa):
    for name, kec in (("Penarik", "Penarik"), ("Lubuk Gedang", "Lubuk Pinang")):
        client.post(
            "/insiden/baru",
            data={
                "occurred_at": "2024-10-10T10:00",
                "category": "hoax",
                "severity": "low",
                "desa_code": code_of(desa, name, kec),
                "description": f"Hoaks di {name}",
            },
        )
    html = client.get("/insiden", query_string={"kecamatan": "Air Majunto"}).text
    assert "0 data" in html
    html = client.get(
        "/insiden",
        query_string={
            "kecamatan": code_of(desa, "Penarik", "Penarik")[:8],
            "category": "hoax",
            "date_from": "",
            "status": "",
        },
    ).text
    assert "Hoaks di Penarik" in html and "Hoaks di Lubuk Gedang" not in html
    html = client.get("/insiden", query_string={"desa": code_of(desa, "Lubuk Gedang", "Lubuk Pinang")}).text
    assert "Hoaks di Lubuk Gedang" in html and "Hoaks di Penarik" not in html
    bad = client.get("/insiden", query_string={"date_from": "1' OR '1'='1"})
    assert bad.status_code == 400 and "Saringan tidak valid" in bad.text


def test_pages_without_boundaries_say_how_to_import_them(empty_app):
    client = empty_app.test_client()
    for url in ("/tps", "/tps/baru", "/insiden/baru"):
        resp = client.get(url)
        assert resp.status_code == 200
        assert "Batas wilayah belum diimpor" in resp.text and "geo-app boundaries import" in resp.text


def test_vocab_labels_are_shown_in_indonesian(client):
    html = client.get("/insiden/baru").text
    for key, label in vocab.INCIDENT_CATEGORIES.items():
        assert f'<option value="{key}">{label}</option>' in unescape(html)


# --- the desa picker's few lines of JS, in a real browser (Debian Chromium via Playwright) --------------


@pytest.fixture
def served(app):
    """The app on 127.0.0.1 (a free port) from a thread, as tests/test_browser.py serves it."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


PICKER_STATE = """
(id) => [...document.querySelectorAll('#' + id + ' optgroup')].filter(g => !g.hidden).map(g => g.dataset.kecamatan)
"""


def test_desa_picker_filters_by_kecamatan_in_a_browser(served, desa):
    sync_api = pytest.importorskip("playwright.sync_api", reason="install the test extra: pip install -e '.[test]'")
    from pathlib import Path

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.fail(f"{chromium} missing: apt-get install -y chromium (.ci/run does)")
    penarik = code_of(desa, "Penarik", "Penarik")
    all_kec = sorted(set(desa["kecamatan_code"]))
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url else r.abort())
            page.goto(f"{served}/tps/baru")
            assert sorted(page.evaluate(PICKER_STATE, "f-desa_code")) == all_kec  # no kecamatan: every desa

            page.select_option("#f-kecamatan", penarik[:8])
            assert page.evaluate(PICKER_STATE, "f-desa_code") == [penarik[:8]]
            page.select_option("#f-desa_code", penarik)

            other = next(k for k in all_kec if k != penarik[:8])
            page.select_option("#f-kecamatan", other)  # the chosen desa is not in it: cleared
            assert page.evaluate(PICKER_STATE, "f-desa_code") == [other]
            assert page.input_value("#f-desa_code") == ""

            page.select_option("#f-kecamatan", "")  # choosing a desa first fills in its kecamatan
            page.select_option("#f-desa_code", penarik)
            assert page.input_value("#f-kecamatan") == penarik[:8]

            page.goto(f"{served}/rakor/baru")  # the reached-desa checklist opens the host's group, first
            assert page.input_value("#f-level") == "kabupaten"  # a level that saves without a host
            page.select_option("#f-kecamatan", other)
            assert page.input_value("#f-level") == "kecamatan"  # the level follows the host
            groups = page.evaluate(
                "() => [...document.querySelectorAll('#f-reached_desa details')].map(d => [d.dataset.kecamatan, d.open])"
            )
            assert groups[0] == [other, True] and [k for k, is_open in groups if is_open] == [other]
            assert errors == []
        finally:
            browser.close()
