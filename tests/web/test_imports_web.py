"""Web and API upload of record files, import batches and rollback."""

from __future__ import annotations

import io

import pytest

from geo_app.app_db import get_session
from geo_app.services import records as record_service
from tests.conftest import snapshot

TPS_CSV = (
    "\ufeffkode_desa;no_tps;jumlah_dpt;kerawanan;polisi;linmas\n"
    "17.06.10.2001;1;512;rawan;2;2\n"
    "17.06.10.2001;2;480;tidak rawan;1;2\n"
).encode("utf-8")


def _upload(client, url, data: bytes, name: str, **form):
    return client.post(url, data={"file": (io.BytesIO(data), name), **form}, content_type="multipart/form-data")


def test_api_upload_then_reimport_then_rollback(app, client):
    first = _upload(client, "/api/import/tps", TPS_CSV, "tps.csv")
    assert first.status_code == 201, first.json
    assert (first.json["inserted"], first.json["unchanged"]) == (2, 0)
    again = _upload(client, "/api/import/polling-stations", TPS_CSV, "tps.csv")
    assert again.status_code == 200 and (again.json["inserted"], again.json["unchanged"]) == (0, 2)
    batches = client.get("/api/import-batches").json
    assert [(b["batch"], b["kind"], b["created"]) for b in batches] == [(first.json["batch"], "tps", 2)]
    assert batches[0]["actor"] == "admin-test"
    rolled = client.post(f"/api/import-batches/{first.json['batch']}/rollback")
    assert rolled.status_code == 200 and rolled.json["deleted"] == 2
    with app.app_context():
        assert record_service.list_records(get_session(), app.config["GEO_APP_SETTINGS"], "tps", {}).total == 0
    assert client.post(f"/api/import-batches/{first.json['batch']}/rollback").status_code == 409


def test_rollback_restores_previous_values_of_updated_records(app, client):
    assert _upload(client, "/api/import/tps", TPS_CSV, "tps.csv").status_code == 201
    changed = TPS_CSV.replace(b"2;480;tidak rawan;1;2", b"2;480;tidak rawan;0;2")
    second = _upload(client, "/api/import/tps", changed, "tps.csv")
    assert second.json["updated"] == 1
    assert client.post(f"/api/import-batches/{second.json['batch']}/rollback").status_code == 200
    items = client.get("/api/polling-stations?desa=17.06.10.2001").json["items"]
    assert [(t["number"], t["police"]) for t in items] == [(1, 2), (2, 1)]


def test_rollback_refused_when_records_changed_since(app, client):
    first = _upload(client, "/api/import/tps", TPS_CSV, "tps.csv").json
    tps_id = client.get("/api/polling-stations").json["items"][0]["id"]
    assert client.patch(f"/api/polling-stations/{tps_id}", json={"tni": 1}).status_code == 200
    before = snapshot(app)
    refused = client.post(f"/api/import-batches/{first['batch']}/rollback")
    assert refused.status_code == 409 and f"tps {tps_id}" in refused.json["message"]
    assert snapshot(app) == before


def test_bad_upload_names_rows_and_writes_nothing(app, client):
    bad = TPS_CSV + b"17.06.10.2001;3;900;rawan;2;2\nPenarikk;4;100;rawan;2;2\n"
    before = snapshot(app)
    response = _upload(client, "/api/import/tps", bad, "tps.csv")
    assert response.status_code == 400
    rows = {(e["row"], e["column"]) for e in response.json["details"]["errors"]}
    assert (4, "jumlah_dpt") in rows and (5, "kode_desa") in rows
    assert snapshot(app) == before


def test_binary_garbage_named_csv_and_truncated_xlsx(app, client):
    before = snapshot(app)
    garbage = _upload(client, "/api/import/tps", bytes(range(256)) * 20, "tps.csv")
    assert garbage.status_code == 400 and "biner" in garbage.json["message"]
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["kode_desa", "no_tps", "jumlah_dpt"])
    buffer = io.BytesIO()
    book.save(buffer)
    truncated = _upload(client, "/api/import/tps", buffer.getvalue()[:300], "tps.xlsx")
    assert truncated.status_code == 400 and "tps.xlsx" in truncated.json["message"]
    assert snapshot(app) == before
    assert client.get("/healthz").status_code == 200


def test_oversized_upload_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    before = snapshot(app)
    response = _upload(client, "/api/import/tps", TPS_CSV * 2000, "tps.csv")
    assert response.status_code == 413 and response.json["error"] == "request_entity_too_large"
    assert snapshot(app) == before


def test_dry_run_and_skip_invalid_via_api(app, client):
    bad = TPS_CSV + b"17.06.10.2001;3;900;rawan;2;2\n"
    before = snapshot(app)
    dry = _upload(client, "/api/import/tps?dry_run=ya", TPS_CSV, "tps.csv")
    assert dry.status_code == 200 and dry.json["inserted"] == 2 and dry.json["dry_run"] is True
    assert snapshot(app) == before
    skipped = _upload(client, "/api/import/tps", bad, "tps.csv", skip_invalid="ya")
    assert skipped.status_code == 201 and (skipped.json["inserted"], skipped.json["rejected"]) == (2, 1)
    assert "900" in skipped.json["rejects_csv"] and "maksimal 600" in skipped.json["rejects_csv"]


def test_import_page_shows_errors_escaped_and_results(client):
    page = client.get("/impor")
    assert page.status_code == 200 and "Impor data" in page.get_data(as_text=True)
    evil = b"kode_desa;no_tps;jumlah_dpt\n<script>alert(1)</script>;1;100\n"
    response = _upload(client, "/impor", evil, "x<img src=x onerror=alert(1)>.csv", kind="tps")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "tidak ada yang disimpan" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html
    ok = _upload(client, "/impor", TPS_CSV, "tps.csv", kind="tps")
    assert ok.status_code == 200 and "2 baru" in ok.get_data(as_text=True)
    assert "Batalkan seluruh batch" in ok.get_data(as_text=True)


def test_viewer_cannot_upload(app):
    from geo_app.services.users import create_user
    from tests.conftest import login_as

    with app.app_context():
        create_user(get_session(), "vivi", "vivi-password-1", "viewer")
    client = app.test_client()
    login_as(client, "vivi")
    before = snapshot(app)
    assert _upload(client, "/api/import/tps", TPS_CSV, "tps.csv").status_code == 403
    assert snapshot(app) == before


def test_cli_batches_and_rollback(app, runner, tmp_path):
    path = tmp_path / "tps.csv"
    path.write_bytes(TPS_CSV)
    assert runner.invoke(args=["import", "tps", str(path)]).exit_code == 0
    listed = runner.invoke(args=["import", "batches"])
    assert listed.exit_code == 0 and "cli:" in listed.output and "2 baru" in listed.output
    batch = listed.output.split()[0]
    rolled = runner.invoke(args=["import", "rollback", batch])
    assert rolled.exit_code == 0 and "2 dihapus/deleted" in rolled.output
    again = runner.invoke(args=["import", "rollback", batch])
    assert again.exit_code == 1 and "sudah dibatalkan" in again.output
    missing = runner.invoke(args=["import", "rollback", "nope"])
    assert missing.exit_code == 1 and "tidak ditemukan" in missing.output


def test_geojson_with_a_million_coordinates_is_refused(app, client):
    import json

    line = [[101.1, -2.1]] * 1_000_000
    feature = {
        "type": "Feature",
        "properties": {"kode_desa": "17.06.10.2001", "no_tps": 1, "jumlah_dpt": 100},
        "geometry": {"type": "LineString", "coordinates": line},
    }
    data = json.dumps({"type": "FeatureCollection", "features": [feature]}, separators=(",", ":")).encode()
    assert len(data) < app.config["MAX_CONTENT_LENGTH"]
    before = snapshot(app)
    response = _upload(client, "/api/import/tps", data, "tps.geojson")
    assert response.status_code == 400, response.json
    assert "tps.geojson" in response.json["message"] and "LineString" in response.json["message"]
    assert snapshot(app) == before
    assert client.get("/api/desa/17.06.10.2001").status_code == 200


# --- the import page in the page's language (the API keeps its bilingual texts) --------------------------

BAD_TPS = (
    b"kode_desa;no_tps;jumlah_dpt;lat;lon;kerawanan\n"
    b"17.06.10.2001;1;abc;;;x\n"
    b"99.99;2;100;-2.5;101.1;rawan\n"
    b"17.06.10.2001;3;100;101.1;-2.5;rawan\n"
    b"17.06.10.2001;4;100;-9;200;rawan\n"
)
#: the file's own column headings and the values the kerawanan column accepts: the user's data and input
#: codes, shown as they are (not interface text); left out before a page's language is checked
BAD_TPS_DATA = ["tidak_rawan, rawan", *BAD_TPS.decode().splitlines()[0].split(";")]


def _import_page_text(client, lang: str, **form) -> str:
    from tests.web.test_i18n import _visible_text

    client.get(f"/?lang={lang}")
    response = _upload(client, "/impor", BAD_TPS, "t.csv", kind="tps", **form)
    assert response.status_code == (200 if form else 400)
    return _visible_text(response.get_data(as_text=True))


def test_bad_upload_on_the_english_import_page_is_english(app, client):
    """The refused file's summary, each row's reason (location checks included) and the rejected rows of a
    dry run with "skip invalid rows": all English, naming the rows and columns; nothing written."""
    from tests.web.test_i18n import INDONESIAN_WORDS, _hits, _messages, _one_way_words, _strip_data

    messages = _messages()
    indonesian_only = _one_way_words([m.id for m in messages], [m.string for m in messages])
    before = snapshot(app)
    refused = _import_page_text(client, "en")
    assert snapshot(app) == before
    listed = _import_page_text(client, "en", skip_invalid="ya", dry_run="ya")  # the page keeps the file
    assert "4 of 4 rows invalid, nothing written (first: row 2, column jumlah_dpt: " in refused
    for text in (refused, listed):
        assert "is not a Kemendagri code" in text
        assert "location: latitude and longitude look swapped (latitude=101.1, longitude=-2.5)" in text
        assert "location: coordinates latitude=-9.0, longitude=200.0 are not in Indonesia" in text
        assert "Mukomuko latitude" not in text  # the area's hint is generic: Indonesia's ranges
        text = _strip_data(text, BAD_TPS_DATA)
        found = _hits(indonesian_only, text) + sorted(w for w in INDONESIAN_WORDS if _hits([w], text))
        assert not found, f"Indonesian on the English import page: {found}\n{text}"


def test_bad_upload_on_the_indonesian_import_page_is_indonesian(app, client):
    from tests.web.test_i18n import ENGLISH_WORDS, _hits, _messages, _one_way_words, _strip_data

    messages = _messages()
    english_only = _one_way_words([m.string for m in messages], [m.id for m in messages])
    refused = _import_page_text(client, "id")
    assert "4 dari 4 baris tidak valid, tidak ada yang disimpan (pertama: baris 2, kolom jumlah_dpt: " in refused
    for text in (refused, _import_page_text(client, "id", skip_invalid="ya", dry_run="ya")):
        assert "lokasi: lintang dan bujur tampaknya tertukar (lintang=101.1, bujur=-2.5)" in text
        assert "lokasi: koordinat lintang=-9.0, bujur=200.0 tidak berada di Indonesia" in text
        assert "kode desa '99.99' bukan kode Kemendagri seperti 17.06.08.2006" in text
        text = _strip_data(text, BAD_TPS_DATA)
        found = _hits(english_only, text) + sorted(w for w in ENGLISH_WORDS if _hits([w], text))
        assert not found, f"English on the Indonesian import page: {found}\n{text}"


#: the API's answer for BAD_TPS, as it was before the pages spoke one language (clients match these texts)
BAD_TPS_API_MESSAGE = (
    "t.csv: 4 dari 4 baris tidak valid, tidak ada yang disimpan / 4 of 4 rows invalid, nothing written "
    "(pertama / first: baris 2, kolom jumlah_dpt: 'abc' bukan bilangan bulat / 'abc' is not a whole number)"
)
BAD_TPS_API_ERRORS = [
    {"column": "jumlah_dpt", "reason": "'abc' bukan bilangan bulat / 'abc' is not a whole number", "row": 2},
    {
        "column": "kerawanan",
        "reason": "'x' tidak dikenal; pilihan: tidak_rawan, rawan / 'x' unknown; allowed: tidak_rawan, rawan",
        "row": 2,
    },
    {
        "column": "kode_desa",
        "reason": "kode desa '99.99' bukan kode Kemendagri seperti 17.06.08.2006 / not a desa code",
        "row": 3,
    },
    {
        "column": "lat",
        "reason": "lokasi / location: latitude and longitude look swapped (lintang=101.1, bujur=-2.5); "
        "in Mukomuko latitude is about -2.x and longitude about 101.x",
        "row": 4,
    },
    {
        "column": "lat",
        "reason": "lokasi / location: coordinates lintang=-9.0, bujur=200.0 are not in Indonesia",
        "row": 5,
    },
]


def test_bad_upload_api_answer_is_unchanged_in_either_language(app, client):
    """The JSON API (and so the CLI) keeps the bilingual texts whatever language the session chose."""
    for lang in ("en", "id"):
        client.get(f"/?lang={lang}")
        refused = _upload(client, "/api/import/tps", BAD_TPS, "t.csv")
        assert refused.status_code == 400
        assert refused.json["message"] == BAD_TPS_API_MESSAGE
        assert refused.json["details"]["errors"] == BAD_TPS_API_ERRORS
        dry = _upload(client, "/api/import/tps", BAD_TPS, "t.csv", skip_invalid="ya", dry_run="ya")
        assert dry.status_code == 200 and dry.json["errors"] == BAD_TPS_API_ERRORS
        assert (
            "17.06.10.2001;4;100;-9;200;rawan;lat: lokasi / location: coordinates lintang=-9.0, bujur=200.0 are not "
            "in Indonesia\r\n" in dry.json["rejects_csv"]
        )


NON_POINT_GEOJSON = (
    b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"kode_desa":"17.06.10.2001",'
    b'"no_tps":1,"jumlah_dpt":100},"geometry":{"type":"LineString","coordinates":[[101.1,-2.5],[101.2,-2.6]]}}]}'
)


@pytest.mark.parametrize(
    ("data", "name", "english", "api_message"),
    [
        (
            bytes(range(256)) * 20,
            "tps.csv",
            "tps.csv: not a text CSV file (binary content)",
            "tps.csv: bukan berkas teks CSV (isi biner) / not a text CSV file (binary content)",
        ),
        (
            b"kode_desa;no_tps;zzz\n17.06.10.2001;1;2\n",
            "tps.csv",
            "tps.csv: missing required columns: voters (jumlah_dpt); headings found: kode_desa, no_tps, zzz",
            "tps.csv: kolom wajib tidak ada / missing required columns: voters (jumlah_dpt); "
            "kolom yang ada / headers found: kode_desa, no_tps, zzz",
        ),
        (
            NON_POINT_GEOJSON,
            "tps.geojson",
            "tps.geojson: 1 of 1 features invalid, nothing written (first: feature 1, column geometry: only Point "
            "geometries, not LineString)",
            "tps.geojson: 1 dari 1 fitur tidak valid, tidak ada yang disimpan / 1 of 1 rows invalid, nothing written "
            "(pertama / first: fitur 1, kolom geometry: hanya titik (Point) / only Point geometries, not LineString)",
        ),
    ],
)
def test_unreadable_files_are_explained_in_the_page_language(app, client, data, name, english, api_message):
    """What is wrong with the file itself (not a row) reaches the English page in English; the API keeps its
    bilingual text."""
    from tests.web.test_i18n import INDONESIAN_WORDS, _hits, _messages, _one_way_words, _strip_data, _visible_text

    messages = _messages()
    indonesian_only = _one_way_words([m.id for m in messages], [m.string for m in messages])
    client.get("/?lang=en")
    page = _upload(client, "/impor", data, name, kind="tps")
    assert page.status_code == 400
    text = _visible_text(page.get_data(as_text=True))
    assert english in text
    text = _strip_data(text, ["kode_desa", "no_tps", "jumlah_dpt"])  # the file's own column headings
    assert not _hits(indonesian_only, text) + sorted(w for w in INDONESIAN_WORDS if _hits([w], text)), text
    api = _upload(client, "/api/import/tps", data, name)
    assert api.status_code == 400 and api.json["message"] == api_message


def test_ignored_columns_are_a_warning_in_the_page_language(client):
    data = b"kode_desa;no_tps;jumlah_dpt;zzz\n17.06.10.2001;1;100;2\n"
    for lang, warning in (
        ("en", "Warning: tps.csv: unknown columns ignored: zzz"),
        ("id", "Peringatan: tps.csv: kolom tidak dikenal diabaikan: zzz"),
    ):
        client.get(f"/?lang={lang}")
        page = _upload(client, "/impor", data, "tps.csv", kind="tps", dry_run="ya")
        assert page.status_code == 200
        assert warning in " ".join(page.get_data(as_text=True).split())
    api = _upload(client, "/api/import/tps", data, "tps.csv", dry_run="ya")
    assert api.json["warnings"] == ["tps.csv: kolom tidak dikenal diabaikan / unknown columns ignored: zzz"]
