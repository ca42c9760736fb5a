"""JSON API for rakor, TPS and insiden on the real Mukomuko boundaries: CRUD, filters, paging, GeoJSON,
and every kind of bad input answered with a 4xx that names the field and leaves the database as it was."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from geo_app.app_db import get_session
from geo_app.records import vocab
from geo_app.store.adapter import desa_frame
from tests.conftest import snapshot

TPS_URL = "/api/polling-stations"


@pytest.fixture
def desa(app):
    """The real desa frame (code, name, kecamatan, representative point)."""
    with app.app_context():
        return desa_frame(get_session()).set_index("code")


def code_of(desa, name: str, kecamatan: str | None = None) -> str:
    rows = desa[desa["name"] == name]
    if kecamatan:
        rows = rows[rows["kecamatan_name"] == kecamatan]
    assert len(rows) == 1, (name, kecamatan, len(rows))
    return rows.index[0]


def rep(desa, code: str) -> tuple[float, float]:
    return float(desa.loc[code, "rep_lon"]), float(desa.loc[code, "rep_lat"])


def created(client, url: str, body: dict) -> dict:
    resp = client.post(url, json=body)
    assert resp.status_code == 201, resp.json
    return resp.json


# --- CRUD round trips ---------------------------------------------------------------------------------


def test_tps_round_trip_create_read_patch_put_delete_restore(client, desa):
    penarik = code_of(desa, "Penarik", "Penarik")
    resp = client.post(
        TPS_URL,
        json={
            "desa_code": penarik,
            "number": 3,
            "voters": 412,
            "address": "Balai Desa Penarik",
            "vulnerability": "rawan",
            "police": 2,
            "tni": 0,
            "linmas": 2,
        },
    )
    assert resp.status_code == 201
    tps_id = resp.json["id"]
    assert resp.headers["Location"].endswith(f"{TPS_URL}/{tps_id}")

    got = client.get(resp.headers["Location"]).json
    expected = {
        "desa_code": penarik,
        "number": 3,
        "voters": 412,
        "address": "Balai Desa Penarik",
        "vulnerability": "rawan",
        "police": 2,
        "tni": 0,
        "linmas": 2,
        "lon": None,
        "lat": None,
        "point_desa_code": None,
        "location_mismatch": False,
        "placement": "desa",
        "synthetic": False,
    }
    assert {k: got[k] for k in expected} == expected

    patched = client.patch(f"{TPS_URL}/{tps_id}", json={"voters": 398})
    assert patched.status_code == 200
    assert patched.json["voters"] == 398
    assert {k: patched.json[k] for k in expected if k != "voters"} == {
        k: v for k, v in expected.items() if k != "voters"
    }

    put = client.put(f"{TPS_URL}/{tps_id}", json={"address": "SD Negeri 1 Penarik", "tni": "1"})
    assert put.status_code == 200
    assert (put.json["address"], put.json["tni"], put.json["voters"]) == ("SD Negeri 1 Penarik", 1, 398)

    deleted = client.delete(f"{TPS_URL}/{tps_id}")
    assert deleted.status_code == 204 and deleted.data == b""
    assert client.get(f"{TPS_URL}/{tps_id}").status_code == 404
    assert client.get(TPS_URL).json["total"] == 0

    restored = client.post(f"{TPS_URL}/{tps_id}/restore")
    assert restored.status_code == 200
    assert client.get(f"{TPS_URL}/{tps_id}").json["address"] == "SD Negeri 1 Penarik"
    assert client.get(TPS_URL).json["total"] == 1


def test_meeting_round_trip_with_agencies_and_reached_desa(client, desa):
    body = {
        "title": "Rakor Pilkada damai",
        "date": "11/11/2024",
        "start_time": "09.00",
        "level": "kec",
        "kecamatan": "Teramang Jaya",
        "venue": "Aula kantor camat",
        "organiser": "Pemkab Mukomuko",
        "agencies": [
            "camat",
            "Forkopimcam",
            "PPK",
            "Panwaslu",
            "kepala desa",
            "BPD",
            "puskesmas",
            "UPTD pendidikan",
            "penyuluh KB",
            "Karang Taruna",
        ],
        "reached_desa": "semua",
        "source_url": "https://mukomuko.radarutara.bacakoran.co/",
    }
    meeting = created(client, "/api/meetings", body)
    teramang = desa[desa["kecamatan_name"] == "Teramang Jaya"]
    got = client.get(f"/api/meetings/{meeting['id']}").json
    assert got["date"] == "2024-11-11" and got["start_time"] == "09:00:00"
    assert got["level"] == "kecamatan"
    assert got["host_kecamatan_code"] == teramang["kecamatan_code"].iloc[0]
    assert got["host_desa_code"] is None
    assert got["agencies"] == [
        "camat",
        "forkopimcam",
        "ppk",
        "panwascam",
        "kades",
        "bpd",
        "puskesmas",
        "uptd_pendidikan",
        "kb",
        "Karang Taruna",
    ]
    assert got["reaches_all_desa"] is True and got["reached_desa_codes"] == []

    two = sorted(teramang.index[:2])
    patched = client.patch(
        f"/api/meetings/{meeting['id']}", json={"reached_desa": list(reversed(two)), "reaches_all_desa": False}
    )
    assert patched.status_code == 200, patched.json
    assert patched.json["reached_desa_codes"] == two and patched.json["reaches_all_desa"] is False
    assert patched.json["title"] == "Rakor Pilkada damai"

    assert client.delete(f"/api/meetings/{meeting['id']}").status_code == 204
    assert client.get(f"/api/meetings/{meeting['id']}").status_code == 404
    assert client.post(f"/api/meetings/{meeting['id']}/restore").json["reached_desa_codes"] == two


def test_incident_round_trip_desa_from_point(client, desa):
    lubuk_gedang = code_of(desa, "Lubuk Gedang", "Lubuk Pinang")
    lon, lat = rep(desa, lubuk_gedang)
    incident = created(
        client,
        "/api/incidents",
        {
            "occurred_at": "14/10/2024 10:30",
            "reported_at": "2024-10-15T08:00",
            "category": "Netralitas BPD",
            "severity": "sedang",
            "status": "terverifikasi",
            "source": "temuan bawaslu",
            "lat": lat,
            "lon": lon,
            "description": "Anggota BPD ikut berkampanye",
        },
    )
    got = client.get(f"/api/incidents/{incident['id']}").json
    expected = {
        "occurred_at": "2024-10-14T10:30",
        "reported_at": "2024-10-15T08:00",
        "category": "neutrality_bpd",
        "severity": "medium",
        "status": "verified",
        "source": "bawaslu",
        "desa_code": lubuk_gedang,
        "point_desa_code": lubuk_gedang,
        "placement": "inside",
        "location_mismatch": False,
        "lon": lon,
        "lat": lat,
        "description": "Anggota BPD ikut berkampanye",
    }
    assert {k: got[k] for k in expected} == expected
    closed = client.patch(f"/api/incidents/{incident['id']}", json={"status": "closed"})
    assert closed.json["status"] == "closed" and closed.json["desa_code"] == lubuk_gedang


def test_a_record_read_can_be_sent_back_unchanged(client, desa):
    """PUT of the GET output (with its computed fields) is accepted and changes nothing."""
    meeting = created(
        client,
        "/api/meetings",
        {
            "title": "Rakor kabupaten",
            "date": "2024-11-05",
            "level": "kabupaten",
            "desa_code": code_of(desa, "Pasar Mukomuko"),
        },
    )
    got = client.get(f"/api/meetings/{meeting['id']}").json
    again = client.put(f"/api/meetings/{meeting['id']}", json=got)
    assert again.status_code == 200, again.json
    # a write answer adds what it changed on the map: nothing here
    body = again.json
    assert body.pop("coverage_changes") == []
    assert body == got


# --- filters, paging ----------------------------------------------------------------------------------


def test_meeting_filter_by_kecamatan_name_and_spelling_variant(client, desa):
    in_manjunto = created(
        client,
        "/api/meetings",
        {"title": "Rakor A", "date": "2024-11-12", "level": "kecamatan", "kecamatan": "Air Manjunto"},
    )
    created(
        client, "/api/meetings", {"title": "Rakor B", "date": "2024-11-13", "level": "kecamatan", "kecamatan": "Ipuh"}
    )
    for name in ("Air Majunto", "air manjuto", "Kecamatan Air Manjunto"):
        body = client.get("/api/meetings", query_string={"kecamatan": name}).json
        assert [m["id"] for m in body["items"]] == [in_manjunto["id"]], name
    unknown = client.get("/api/meetings", query_string={"kecamatan": "Air Entah"})
    assert unknown.status_code == 400 and "kecamatan" in unknown.json["details"]


def test_incident_filters_date_range_inclusive_category_status(client, desa):
    code = code_of(desa, "Pondok Suguh", "Pondok Suguh")

    def make(when, category, status):
        return created(
            client,
            "/api/incidents",
            {
                "occurred_at": when,
                "category": category,
                "severity": "low",
                "status": status,
                "desa_code": code,
                "description": f"{when} {category}",
            },
        )["id"]

    first = make("01/10/2024 00:00", "money_politics", "reported")
    last = make("15/10/2024 23:59", "hoax", "closed")
    after = make("16/10/2024 00:00", "money_politics", "closed")
    make("30/09/2024 23:59", "hoax", "reported")

    def ids(**query):
        resp = client.get("/api/incidents", query_string=query)
        assert resp.status_code == 200, resp.json
        return sorted(i["id"] for i in resp.json["items"])

    assert ids(date_from="01/10/2024", date_to="2024-10-15") == sorted([first, last])
    assert ids(category="politik uang") == sorted(
        [
            first,
            after,
        ]
    )
    assert ids(category="money_politics", date_from="2024-10-02") == [after]
    assert ids(status="selesai") == sorted([last, after])
    assert ids(status="closed", category="hoax") == [last]


def test_tps_filter_by_class_and_desa(client, desa):
    penarik = code_of(desa, "Penarik", "Penarik")
    other = code_of(desa, "Pasar Mukomuko")
    rawan = created(client, TPS_URL, {"desa_code": penarik, "number": 1, "voters": 300, "vulnerability": "rawan"})["id"]
    aman = created(client, TPS_URL, {"desa_code": penarik, "number": 2, "voters": 300})["id"]
    elsewhere = created(client, TPS_URL, {"desa_code": other, "number": 1, "voters": 300})["id"]

    def ids(**query):
        return sorted(i["id"] for i in client.get(TPS_URL, query_string=query).json["items"])

    assert ids(**{"class": "rawan"}) == [rawan]
    assert ids(**{"class": "tidak rawan"}) == sorted([aman, elsewhere])
    assert ids(desa=penarik) == sorted([rawan, aman])
    assert ids(kecamatan="Penarik") == sorted([rawan, aman])
    assert ids(kecamatan="", desa="") == sorted([rawan, aman, elsewhere])  # blank filters are ignored
    assert ids(desa="desa penarik") == sorted([rawan, aman])  # a name works as well as a code


def test_desa_filter_by_name_needs_kecamatan_when_the_name_repeats(client, desa):
    counts = desa["name"].value_counts()
    repeated = counts[counts > 1].index[0]
    rows = desa[desa["name"] == repeated]
    first, second = rows.index[0], rows.index[1]
    one = created(client, TPS_URL, {"desa_code": first, "number": 1, "voters": 100})["id"]
    created(client, TPS_URL, {"desa_code": second, "number": 1, "voters": 100})
    ambiguous = client.get(TPS_URL, query_string={"desa": repeated})
    assert ambiguous.status_code == 400 and "beberapa kecamatan" in ambiguous.json["details"]["desa"]
    kec_name = rows.loc[first, "kecamatan_name"]
    resolved = client.get(TPS_URL, query_string={"desa": repeated, "kecamatan": kec_name}).json
    assert [t["id"] for t in resolved["items"]] == [one]
    unknown = client.get(TPS_URL, query_string={"desa": "17.06.99.9999"})
    assert unknown.status_code == 400 and "desa" in unknown.json["details"]


def test_pagination_totals_and_next_prev_links(client, desa):
    codes = list(desa[desa["kecamatan_name"] == "Air Rami"].index[:7])
    for n, code in enumerate(codes, start=1):
        created(client, TPS_URL, {"desa_code": code, "number": n, "voters": 100 + n})
    first = client.get(TPS_URL, query_string={"per_page": 3, "kecamatan": "Air Rami"})
    body = first.json
    assert (body["total"], body["page"], body["per_page"], body["pages"], len(body["items"])) == (7, 1, 3, 3, 3)
    assert body["prev"] is None
    assert parse_qs(urlsplit(body["next"]).query) == {"page": ["2"], "per_page": ["3"], "kecamatan": ["Air Rami"]}
    assert 'rel="next"' in first.headers["Link"]
    seen = [i["id"] for i in body["items"]]
    while body["next"]:
        body = client.get(body["next"]).json
        seen += [i["id"] for i in body["items"]]
    assert body["page"] == 3 and len(body["items"]) == 1 and body["prev"] is not None
    assert len(seen) == len(set(seen)) == 7
    beyond = client.get(TPS_URL, query_string={"page": 9, "per_page": 3}).json
    assert beyond["items"] == [] and beyond["total"] == 7


@pytest.mark.parametrize(
    "query, field",
    [
        ({"page": "0"}, "page"),
        ({"page": "abc"}, "page"),
        ({"per_page": "501"}, "per_page"),
        ({"page": "1" * 30}, "page"),
    ],
)
def test_bad_paging_is_400(client, query, field):
    resp = client.get(TPS_URL, query_string=query)
    assert resp.status_code == 400 and field in resp.json["details"]


def test_unknown_filter_and_format_are_400(client):
    assert client.get(TPS_URL, query_string={"category": "hoax"}).json["details"].keys() == {"category"}
    resp = client.get(TPS_URL, query_string={"format": "xml"})
    assert resp.status_code == 400 and "format" in resp.json["details"]


@pytest.mark.parametrize(
    "param", ["kecamatan", "desa", "date_from", "date_to", "category", "status", "severity", "synthetic", "mismatch"]
)
@pytest.mark.parametrize("value", ["1' OR '1'='1", "'; DROP TABLE incident; --", "%' OR 1=1 --"])
def test_injection_looking_filter_values_are_400_or_empty(client, app, desa, param, value):
    created(
        client,
        "/api/incidents",
        {
            "occurred_at": "2024-10-20",
            "category": "other",
            "severity": "low",
            "desa_code": code_of(desa, "Penarik", "Penarik"),
            "description": "x",
        },
    )
    resp = client.get("/api/incidents", query_string={param: value})
    assert resp.status_code in (200, 400), resp.data
    if resp.status_code == 200:
        assert resp.json["total"] == 0 and resp.json["items"] == []
    else:
        assert param in resp.json["details"]
    assert client.get("/api/incidents").json["total"] == 1


# --- GeoJSON ------------------------------------------------------------------------------------------


def test_geojson_uses_own_point_or_desa_representative_point(client, desa):
    penarik = code_of(desa, "Penarik", "Penarik")
    pasar = code_of(desa, "Pasar Mukomuko")
    lon, lat = rep(desa, pasar)
    own = created(
        client, TPS_URL, {"desa_code": pasar, "number": 1, "voters": 250, "lat": lat + 0.0005, "lon": lon + 0.0005}
    )
    bare = created(client, TPS_URL, {"desa_code": penarik, "number": 1, "voters": 250})
    resp = client.get(TPS_URL, query_string={"format": "geojson"})
    assert resp.status_code == 200 and resp.mimetype == "application/geo+json"
    fc = resp.json
    assert fc["type"] == "FeatureCollection" and fc["total"] == 2
    features = {f["id"]: f for f in fc["features"]}
    # RFC 7946 output: coordinates at 6 decimals (geo_app/geojson.py)
    assert features[own["id"]]["geometry"] == {
        "type": "Point",
        "coordinates": [round(lon + 0.0005, 6), round(lat + 0.0005, 6)],
    }
    assert features[own["id"]]["properties"]["point_source"] == "point"
    assert features[bare["id"]]["geometry"]["coordinates"] == [round(v, 6) for v in rep(desa, penarik)]
    assert features[bare["id"]]["properties"]["point_source"] == "desa"
    assert features[bare["id"]]["properties"]["voters"] == 250
    x, y = features[bare["id"]]["geometry"]["coordinates"]
    assert 100 < x < 102 and -4 < y < -2  # lon first, lat second


def test_geojson_kecamatan_meeting_without_desa_is_drawn_at_its_kecamatan(client, app):
    from geo_app.store.adapter import kecamatan_frame

    meeting = created(
        client, "/api/meetings", {"title": "Rakor", "date": "2024-11-01", "level": "kecamatan", "kecamatan": "V Koto"}
    )
    with app.app_context():
        kec = kecamatan_frame(get_session()).set_index("code").loc[meeting["host_kecamatan_code"]]
    feature = client.get("/api/meetings?format=geojson").json["features"][0]
    assert feature["geometry"]["coordinates"] == [round(float(kec["rep_lon"]), 6), round(float(kec["rep_lat"]), 6)]
    assert feature["properties"]["point_source"] == "kecamatan"


# --- bad input ----------------------------------------------------------------------------------------


def test_invalid_fields_get_per_field_messages_and_write_nothing(client, app, desa):
    lon, lat = rep(desa, code_of(desa, "Penarik", "Penarik"))
    before = snapshot(app)
    resp = client.post(TPS_URL, json={"number": 1, "voters": 700, "lat": lon, "lon": lat})
    assert resp.status_code == 400
    details = resp.json["details"]
    assert set(details) == {"voters", "lat"}
    assert "swapped" in details["lat"]
    assert "600" in details["voters"]
    assert resp.json["error"] == "invalid_input" and "voters" in resp.json["message"]
    assert snapshot(app) == before


def test_invalid_update_keeps_the_record(client, app, desa):
    tps = created(client, TPS_URL, {"desa_code": code_of(desa, "Penarik", "Penarik"), "number": 4, "voters": 300})
    before = snapshot(app)
    resp = client.patch(f"{TPS_URL}/{tps['id']}", json={"voters": "banyak", "police": -1})
    assert resp.status_code == 400
    assert set(resp.json["details"]) == {"voters", "police"}
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "data, needle",
    [
        ("{bad json", "JSON tidak sah"),
        ("[1, 2]", "objek JSON"),
        ('"text"', "objek JSON"),
        ("", "kosong"),
        ('{"number": NaN, "voters": 1}', "JSON"),
        ("[" * 100_000 + "]" * 100_000, "JSON"),
        (b"\xff\xfe{}", "UTF-8"),
    ],
)
def test_body_that_is_not_a_json_object_is_400(client, app, data, needle):
    before = snapshot(app)
    resp = client.post(TPS_URL, data=data, content_type="application/json")
    assert resp.status_code == 400, resp.data[:200]
    assert needle in resp.json["message"]
    assert snapshot(app) == before


def test_unknown_and_non_scalar_fields_are_named(client, app, desa):
    before = snapshot(app)
    resp = client.post(
        TPS_URL,
        json={
            "desa_code": code_of(desa, "Penarik", "Penarik"),
            "number": 1,
            "voter": 300,
            "address": {"street": "x"},
            "police": [1],
        },
    )
    assert resp.status_code == 400
    assert set(resp.json["details"]) == {"voter", "address", "police"}
    assert "tidak dikenal" in resp.json["details"]["voter"]
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "method, suffix", [("get", ""), ("patch", ""), ("put", ""), ("delete", ""), ("post", "/restore")]
)
@pytest.mark.parametrize("record_id", ["999", "abc", "-1", "1.5", "9" * 30])
def test_unknown_or_malformed_id_is_404(client, method, suffix, record_id):
    resp = getattr(client, method)(f"{TPS_URL}/{record_id}{suffix}", json={"voters": 1})
    assert resp.status_code == 404
    assert resp.json["error"] == "not_found"


def test_duplicate_tps_is_409_and_writes_nothing(client, app, desa):
    penarik = code_of(desa, "Penarik", "Penarik")
    first = created(client, TPS_URL, {"desa_code": penarik, "number": 1, "voters": 300})
    other = created(client, TPS_URL, {"desa_code": penarik, "number": 2, "voters": 300})
    before = snapshot(app)
    dup = client.post(TPS_URL, json={"desa": "penarik", "kecamatan": "Penarik", "number": "1", "voters": 120})
    assert dup.status_code == 409
    assert dup.json["error"] == "conflict" and dup.json["details"] == {"id": first["id"]}
    clash = client.patch(f"{TPS_URL}/{other['id']}", json={"number": 1})
    assert clash.status_code == 409 and clash.json["details"] == {"id": first["id"]}
    assert snapshot(app) == before


def test_duplicate_incident_external_id_is_409(client, app, desa):
    body = {
        "external_id": "BWS-2024-07",
        "occurred_at": "2024-10-03",
        "category": "apk",
        "severity": "low",
        "desa_code": code_of(desa, "Penarik", "Penarik"),
        "description": "APK dirusak",
    }
    created(client, "/api/incidents", body)
    before = snapshot(app)
    assert client.post("/api/incidents", json={**body, "description": "lain"}).status_code == 409
    assert snapshot(app) == before


# --- vocabulary and mismatches --------------------------------------------------------------------------


def test_vocab_lists_keys_with_indonesian_labels(client):
    body = client.get("/api/vocab").json
    assert body["categories"] == [{"key": k, "label": v} for k, v in vocab.INCIDENT_CATEGORIES.items()]
    assert {"key": "money_politics", "label": "Politik uang"} in body["categories"]
    assert [a["key"] for a in body["agencies"]] == list(vocab.AGENCIES)
    assert [s["label"] for s in body["severities"]] == ["Rendah", "Sedang", "Tinggi"]
    assert [c["key"] for c in body["vulnerability_classes"]] == list(vocab.VULNERABILITY_CLASSES)
    assert {"levels", "statuses", "sources"} <= body.keys()


def test_mismatches_lists_records_whose_point_is_in_another_desa(client, desa):
    penarik = code_of(desa, "Penarik", "Penarik")
    elsewhere = code_of(desa, "Pasar Mukomuko")
    lon, lat = rep(desa, elsewhere)
    odd = created(
        client,
        "/api/incidents",
        {
            "occurred_at": "2024-11-27 09:00",
            "category": "logistics",
            "severity": "high",
            "desa_code": penarik,
            "lat": lat,
            "lon": lon,
            "description": "Surat suara terlambat",
        },
    )
    created(
        client,
        TPS_URL,
        {"desa_code": penarik, "number": 1, "voters": 10, "lat": rep(desa, penarik)[1], "lon": rep(desa, penarik)[0]},
    )
    assert odd["location_mismatch"] is True and odd["point_desa_code"] == elsewhere
    body = client.get("/api/mismatches").json
    assert body["total"] == 1
    assert (body["items"][0]["kind"], body["items"][0]["id"]) == ("incidents", odd["id"])
    geo = client.get("/api/mismatches?format=geojson").json
    assert geo["features"][0]["geometry"]["coordinates"] == [round(lon, 6), round(lat, 6)]
    assert client.get("/api/incidents", query_string={"mismatch": "ya"}).json["total"] == 1
