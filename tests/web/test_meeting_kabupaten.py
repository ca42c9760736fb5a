"""Every rakor names the kabupaten that held it (``meeting.host_kabupaten_code``, migration 0006).

On the province (``GEO_APP_KABUPATEN=17``, ten kabupaten/kota): a kabupaten-level rakor without host
kecamatan or desa is stored with the kabupaten given (API and form), found by ``?kabupaten=`` of that
kabupaten only, refused (400 naming the field, nothing stored) without it; its list row, form, OGC item
and GIS layer carry it. Mukomuko alone: the field stays optional and the rakor is held in 17.06.
"""

from __future__ import annotations

import re
from html import unescape

import pandas as pd
import pytest
from sqlalchemy import select, update

from geo_app.app_db import get_session
from geo_app.maps.popups import meeting_popup
from geo_app.records.schema import content_hash
from geo_app.services import export_gis
from geo_app.services.records_import import import_records
from geo_app.store.adapter import desa_frame
from geo_app.store.models import Meeting
from tests.conftest import TEST_ADMIN, login_as, snapshot

RAKOR = {
    "title": "Rakor kesiapan Pilkada tingkat kabupaten",
    "date": "2024-10-15",
    "level": "kabupaten",
    "organiser": "Bawaslu",
    "agencies": ["bawaslu", "kpu", "polri"],
}
#: what clean_meeting adds since 0006 (the rest is what it gave, and hashed, before)
HASH_ADDED = ("host_kabupaten_code", "content_hash", "legacy_content_hash")
FORM = {
    **{k: v for k, v in RAKOR.items() if k != "agencies"},
    "agencies": RAKOR["agencies"],
    "start_time": "",
    "kecamatan": "",
    "desa_code": "",
    "venue": "",
    "lat": "",
    "lon": "",
    "agencies_other": "",
    "notes": "",
    "source_url": "",
}


@pytest.fixture
def province_client(province_app):
    client = province_app.test_client()
    login_as(client, TEST_ADMIN)
    return client


@pytest.fixture
def province_desa(province_app):
    with province_app.app_context():
        return desa_frame(get_session()).drop(columns="geometry")


def ids(client, **query) -> list[int]:
    resp = client.get("/api/meetings", query_string={"per_page": 500, **query})
    assert resp.status_code == 200, resp.json
    return [m["id"] for m in resp.json["items"]]


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<span class="error field-error" id="err-{name}">(.*?)</span>', html, re.S)
    assert match, f"no message next to {name}"
    return unescape(match.group(1))


def test_api_stores_the_kabupaten_of_a_rakor_without_host_and_filters_by_it(province_app, province_client):
    client = province_client
    made = client.post("/api/meetings", json={**RAKOR, "kabupaten": "17.01"})
    assert made.status_code == 201, made.json
    rakor = made.json
    assert (rakor["host_kabupaten_code"], rakor["host_kecamatan_code"], rakor["host_desa_code"]) == (
        "17.01",
        None,
        None,
    )
    assert rakor["reached_desa_codes"] == []
    assert ids(client, kabupaten="17.01") == [rakor["id"]]
    assert ids(client, kabupaten="Bengkulu Selatan") == [rakor["id"]]  # by name as well
    assert ids(client, kabupaten="17.06") == []
    # the same content held in another kabupaten is another rakor (its kabupaten counts in its hash)
    other = client.post("/api/meetings", json={**RAKOR, "kabupaten": "Kota Bengkulu"})
    assert other.status_code == 201, other.json
    assert other.json["host_kabupaten_code"] == "17.71" and other.json["content_hash"] != rakor["content_hash"]
    assert ids(client, kabupaten="17.71") == [other.json["id"]] and ids(client, kabupaten="17.01") == [rakor["id"]]
    # a GET body sent back (host_kabupaten_code is read as the kabupaten) and a change that keeps the host
    back = {k: v for k, v in rakor.items() if k not in ("id", "created_at", "updated_at")}
    again = client.put(f"/api/meetings/{rakor['id']}", json={**back, "title": "Rakor kesiapan (diubah)"})
    assert again.status_code == 200 and again.json["host_kabupaten_code"] == "17.01", again.json
    # a host kecamatan in another kabupaten moves the rakor there (the kabupaten follows the host)
    moved = client.patch(f"/api/meetings/{rakor['id']}", json={"kecamatan": "17.06.08", "level": "kecamatan"})
    assert moved.status_code == 200, moved.json
    assert (moved.json["host_kabupaten_code"], moved.json["host_kecamatan_code"]) == ("17.06", "17.06.08")
    assert ids(client, kabupaten="17.06") == [rakor["id"]] and ids(client, kabupaten="17.01") == []


def test_api_without_the_kabupaten_is_a_400_naming_the_field_and_stores_nothing(province_app, province_client):
    before = snapshot(province_app)
    refused = province_client.post("/api/meetings", json=RAKOR)
    assert refused.status_code == 400
    reason = refused.json["details"]["kabupaten"]
    assert "perlu kabupaten" in reason and "needs its kabupaten" in reason and "10 kabupaten/kota" in reason
    assert snapshot(province_app) == before


def test_a_kabupaten_other_than_the_host_s_is_refused(province_app, province_client, province_desa):
    before = snapshot(province_app)
    seat = province_desa[province_desa["kabupaten_code"] == "17.01"].iloc[0]
    by_desa = province_client.post("/api/meetings", json={**RAKOR, "desa_code": seat["code"], "kabupaten": "17.06"})
    assert by_desa.status_code == 400 and "Mukomuko" in by_desa.json["details"]["kabupaten"]
    by_kec = province_client.post(
        "/api/meetings", json={**RAKOR, "level": "kecamatan", "kecamatan": seat["kecamatan_code"], "kabupaten": "17.06"}
    )
    assert by_kec.status_code == 400 and "Mukomuko" in str(by_kec.json["details"])
    assert snapshot(province_app) == before
    # the host's own kabupaten, or none: the host's
    fine = province_client.post("/api/meetings", json={**RAKOR, "desa_code": seat["code"]})
    assert fine.status_code == 201 and fine.json["host_kabupaten_code"] == "17.01"


def test_reached_desa_of_one_kabupaten_place_a_rakor_without_host(province_client, province_desa):
    reached = sorted(province_desa.loc[province_desa["kabupaten_code"] == "17.02", "code"])[:3]
    made = province_client.post("/api/meetings", json={**RAKOR, "reached_desa": reached})
    assert made.status_code == 201 and made.json["host_kabupaten_code"] == "17.02", made.json
    # desa of two kabupaten name none: the kabupaten is asked for
    mixed = [reached[0], sorted(province_desa.loc[province_desa["kabupaten_code"] == "17.03", "code"])[0]]
    refused = province_client.post("/api/meetings", json={**RAKOR, "reached_desa": mixed})
    assert refused.status_code == 400 and "kabupaten" in refused.json["details"]
    # a rakor reaching into a kabupaten is still found there
    made = province_client.post("/api/meetings", json={**RAKOR, "reached_desa": mixed, "kabupaten": "17.02"})
    assert made.status_code == 201
    assert made.json["id"] in ids(province_client, kabupaten="17.03")


def test_form_has_a_kabupaten_choice_and_the_list_a_kabupaten_column(province_app, province_client):
    client = province_client
    page = client.get("/rakor/baru").get_data(as_text=True)
    assert '<select id="f-kabupaten" name="kabupaten"' in page and '<option value="17.01">' in page

    before = snapshot(province_app)
    refused = client.post("/rakor/baru", data=FORM)
    assert refused.status_code == 400 and "perlu kabupaten" in field_error(refused.get_data(as_text=True), "kabupaten")
    assert snapshot(province_app) == before

    saved = client.post("/rakor/baru", data={**FORM, "kabupaten": "17.01"})
    assert saved.status_code == 303
    [rakor_id] = ids(client, kabupaten="17.01")
    assert ids(client, kabupaten="17.06") == []
    listed = client.get("/rakor", query_string={"kabupaten": "17.01"}).get_data(as_text=True)
    assert '<td data-label="Kabupaten/Kota">Kabupaten Bengkulu Selatan</td>' in listed
    assert RAKOR["title"] in listed
    assert RAKOR["title"] not in client.get("/rakor", query_string={"kabupaten": "17.06"}).get_data(as_text=True)
    edit = client.get(f"/rakor/{rakor_id}/ubah").get_data(as_text=True)
    assert '<option value="17.01" selected>' in edit
    confirm = client.get(f"/rakor/{rakor_id}/hapus").get_data(as_text=True)
    assert "<dd>Kabupaten Bengkulu Selatan</dd>" in confirm


def test_ogc_items_and_gis_layer_carry_the_kabupaten(province_app, province_client):
    made = province_client.post("/api/meetings", json={**RAKOR, "kabupaten": "17.01"}).json
    items = province_client.get("/ogc/collections/rakor/items", query_string={"kabupaten": "17.01"}).json
    assert [(f["id"], f["properties"]["host_kabupaten_code"]) for f in items["features"]] == [(made["id"], "17.01")]
    assert (
        province_client.get("/ogc/collections/rakor/items", query_string={"kabupaten": "17.06"}).json["features"] == []
    )
    with province_app.app_context():
        layers = export_gis.gis_layers(get_session(), province_app.config["GEO_APP_SETTINGS"], kabupaten="17.01")
    rakor = layers.frames["rakor"]
    assert list(rakor["id"]) == [made["id"]] and list(rakor["host_kabupaten_code"]) == ["17.01"]
    columns = list(rakor.columns)
    assert columns.index("host_kabupaten_code") + 1 == columns.index("host_kecamatan_code")


def test_a_rakor_stored_before_it_had_a_kabupaten_is_matched_not_doubled(province_app, province_client):
    """A rakor migration 0006 could not place (no host, no reached desa, several kabupaten: NULL) has the
    hash of its content without a kabupaten; importing it again with its kabupaten updates that record."""
    made = province_client.post("/api/meetings", json={**RAKOR, "kabupaten": "17.05"}).json
    with province_app.app_context():
        session = get_session()
        values = _cleaned(province_app, {**RAKOR, "kabupaten": "17.05"})
        old = content_hash("meetings", {k: v for k, v in values.items() if k not in HASH_ADDED})
        assert values["legacy_content_hash"] == old != values["content_hash"] == made["content_hash"]
        session.execute(
            update(Meeting).where(Meeting.id == made["id"]).values(host_kabupaten_code=None, content_hash=old)
        )
        session.commit()
    assert ids(province_client, kabupaten="17.05") == []
    csv = (
        "judul;tanggal;tingkat;kabupaten;penyelenggara;instansi\n"
        f"{RAKOR['title']};15/10/2024;kabupaten;Seluma;Bawaslu;bawaslu, kpu, polri\n"
    ).encode()
    with province_app.app_context():
        result = import_records(get_session(), province_app.config["GEO_APP_SETTINGS"], "meetings", csv, "rakor.csv")
        assert (result.inserted, result.updated, result.errors) == (0, 1, []), result
        stored = get_session().scalars(select(Meeting)).all()
    assert [(m.id, m.host_kabupaten_code) for m in stored] == [(made["id"], "17.05")]
    assert stored[0].content_hash == made["content_hash"]
    assert ids(province_client, kabupaten="17.05") == [made["id"]]


def _cleaned(app, raw: dict) -> dict:
    from geo_app.records.schema import clean_record
    from geo_app.services.records import record_context

    return clean_record("meetings", raw, record_context(get_session(), app.config["GEO_APP_SETTINGS"]))


def test_one_kabupaten_needs_no_kabupaten_and_keeps_its_hashes(app, client):
    """Mukomuko alone: no kabupaten choice on the form, a kabupaten-level rakor without it is held in
    17.06, and its content hash is the one computed without the field (as stored before 0006)."""
    assert 'name="kabupaten"' not in client.get("/rakor/baru").get_data(as_text=True)
    made = client.post("/api/meetings", json=RAKOR)
    assert made.status_code == 201 and made.json["host_kabupaten_code"] == "17.06", made.json
    with app.app_context():
        values = _cleaned(app, RAKOR)
    assert "legacy_content_hash" not in values
    without = {k: v for k, v in values.items() if k not in HASH_ADDED}
    assert made.json["content_hash"] == values["content_hash"] == content_hash("meetings", without)
    assert ids(client, kabupaten="17.06") == [made.json["id"]]
    saved = client.post("/rakor/baru", data={**FORM, "title": "Rakor lewat formulir", "date": "2024-10-16"})
    assert saved.status_code == 303
    assert len(ids(client, kabupaten="Mukomuko")) == 2
    listed = client.get("/rakor").get_data(as_text=True)
    assert 'data-label="Kabupaten/Kota"' not in listed  # one kabupaten: no column


def test_meeting_popup_names_the_kabupaten_when_several_are_loaded():
    row = {
        "title": "Rakor <b>x</b>",
        "date": "2024-10-15",
        "start_time": None,
        "venue": None,
        "level": "kabupaten",
        "agencies": ["kpu"],
        "reaches_all_desa": False,
        "reached_names": [],
    }

    class Row:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    row["date"] = pd.Timestamp(row["date"])
    several = meeting_popup(Row(**row, host_kabupaten_name="Kabupaten <Seluma>"), "en")
    assert "<tr><th>Kabupaten/kota</th><td>Kabupaten &lt;Seluma&gt;</td></tr>" in several
    assert "Kabupaten/kota" not in meeting_popup(Row(**row), "en")
