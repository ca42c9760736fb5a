"""Issue 12 workflow: form defaults that save, what a save changed on the map, likely duplicate rakor,
confirmation before delete and rollback, "import now" after a dry run, batches named by file/time/user,
"use my location" (/api/locate), the favicon, titles, and exports that say what made them."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from geo_app.analysis.coverage import CoverageSettings
from geo_app.app_db import get_session
from geo_app.errors import NotFound
from geo_app.i18n import status_label
from geo_app.services import coverage as coverage_service
from geo_app.services import pending_uploads
from geo_app.store.adapter import desa_frame
from tests.conftest import login_as, snapshot

TPS_CSV = (
    "\ufeffkode_desa;no_tps;jumlah_dpt;kerawanan;polisi;linmas\n"
    "17.06.10.2001;1;512;rawan;2;2\n"
    "17.06.10.2001;2;480;tidak rawan;1;2\n"
).encode("utf-8")


def _statuses(app) -> dict[str, str]:
    """Coverage status per desa with the default settings, computed afresh (no cache)."""
    with app.app_context():
        desa = coverage_service.get_coverage(get_session()).desa
        return dict(zip(desa["code"], desa["status"]))


def _names(app) -> dict[str, tuple[str, str]]:
    with app.app_context():
        desa = desa_frame(get_session())
        return {c: (n, k) for c, n, k in zip(desa["code"], desa["name"], desa["kecamatan_name"])}


def _changed(before: dict[str, str], after: dict[str, str]) -> dict[str, tuple[str, str]]:
    return {c: (before[c], after[c]) for c in sorted(after) if before.get(c) != after[c]}


def _rakor_day() -> str:
    """A day inside the default meeting window (the day before the reference date)."""
    return (CoverageSettings().reference_date - timedelta(days=1)).isoformat()


# --- form defaults ------------------------------------------------------------------------------------


def test_new_rakor_form_starts_at_a_level_that_saves(client):
    html = client.get("/rakor/baru").text
    level = re.search(r'<option value="(\w+)" selected>', html.split('id="f-level"')[1]).group(1)
    host = html.split('id="f-kecamatan"')[1].split("</select>")[0]
    assert " selected" not in host  # no host kecamatan chosen...
    assert level == "kabupaten"  # ...so the level is one that needs none
    resp = client.post("/rakor/baru", data={"title": "Rakor pengamanan", "date": _rakor_day(), "level": level})
    assert resp.status_code == 303, unescape(resp.text)
    [meeting] = client.get("/api/meetings").json["items"]
    assert (meeting["level"], meeting["host_kecamatan_code"]) == ("kabupaten", None)


# --- what a save changed on the map -----------------------------------------------------------------------


def test_form_save_says_which_desa_changed_status(demo_app, demo_client):
    before = _statuses(demo_app)
    target = next(c for c, s in sorted(before.items()) if s == "uncovered")
    resp = demo_client.post(
        "/rakor/baru",
        data={"title": "Rakor desa", "date": _rakor_day(), "level": "desa", "desa_code": target},
        follow_redirects=True,
    )
    assert resp.status_code == 200
    after = _statuses(demo_app)
    expected = _changed(before, after)
    assert target in expected and expected[target][0] == "uncovered"
    box = resp.text.split('id="coverage-changes"')[1].split("</div>")[0]
    shown = [unescape(li) for li in re.findall(r"<li>(.*?)</li>", box)]
    names = _names(demo_app)
    assert shown == [
        f"{names[c][0]} (Kec. {names[c][1]}): {status_label(b)} → {status_label(a)}" for c, (b, a) in expected.items()
    ]


def test_api_answers_coverage_changes_and_an_unchanging_edit_has_none(demo_app, demo_client):
    before = _statuses(demo_app)
    target = [c for c, s in sorted(before.items()) if s == "uncovered"][-1]
    resp = demo_client.post(
        "/api/meetings", json={"title": "Rakor desa", "date": _rakor_day(), "level": "desa", "desa_code": target}
    )
    assert resp.status_code == 201, resp.json
    expected = _changed(before, _statuses(demo_app))
    assert target in expected
    assert [(c["code"], c["before"], c["after"]) for c in resp.json["coverage_changes"]] == [
        (c, b, a) for c, (b, a) in expected.items()
    ]
    assert all(c["name"] == _names(demo_app)[c["code"]][0] for c in resp.json["coverage_changes"])
    notes = demo_client.patch(f"/api/meetings/{resp.json['id']}", json={"notes": "catatan"})
    assert notes.status_code == 200 and notes.json["coverage_changes"] == []


def test_api_delete_and_restore_tell_the_coverage_changes_when_asked(demo_app, demo_client):
    """DELETE answers 204 as before; with ``Prefer: return=representation`` a 200 with the record and what
    the delete changed (the reverse of what its creation changed); a restore changes it back."""
    before = _statuses(demo_app)
    target = [c for c, s in sorted(before.items()) if s == "uncovered"][-1]
    made = demo_client.post(
        "/api/meetings", json={"title": "Rakor desa", "date": _rakor_day(), "level": "desa", "desa_code": target}
    )
    created_changes = [(c["code"], c["before"], c["after"]) for c in made.json["coverage_changes"]]
    assert created_changes and made.json["id"]
    url = f"/api/meetings/{made.json['id']}"
    gone = demo_client.delete(url, headers={"Prefer": "respond-async, return=representation"})
    assert gone.status_code == 200 and gone.headers["Preference-Applied"] == "return=representation"
    assert gone.json["id"] == made.json["id"] and gone.json["deleted"] is True
    assert [(c["code"], c["after"], c["before"]) for c in gone.json["coverage_changes"]] == created_changes
    assert _statuses(demo_app) == before and demo_client.get(url).status_code == 404
    back = demo_client.post(f"{url}/restore")
    assert back.status_code == 200
    assert [(c["code"], c["before"], c["after"]) for c in back.json["coverage_changes"]] == created_changes
    plain = demo_client.delete(url)
    assert plain.status_code == 204 and plain.get_data() == b""
    assert demo_client.delete(url, headers={"Prefer": "return=representation"}).status_code == 404


# --- likely duplicate rakor ---------------------------------------------------------------------------------


def _rakor(kecamatan: str, reached: list[str], title: str) -> dict:
    return {
        "title": title,
        "date": _rakor_day(),
        "level": "kecamatan",
        "kecamatan": kecamatan,
        "reached_desa": reached,
        "agencies": ["camat"],
    }


def test_form_warns_of_a_likely_duplicate_and_saves_only_when_confirmed(app, client):
    with app.app_context():
        desa = desa_frame(get_session())
    kec = desa["kecamatan_code"].iloc[0]
    reached = sorted(desa.loc[desa["kecamatan_code"] == kec, "code"])[:2]
    assert client.post("/rakor/baru", data=_rakor(kec, reached, "Rakor pertama")).status_code == 303
    [first] = client.get("/api/meetings").json["items"]
    before = snapshot(app)
    again = client.post("/rakor/baru", data=_rakor(kec, reached, "Rakor yang sama, judul lain"))
    assert again.status_code == 409
    warning = again.text.split('id="duplicate-warning"')[1].split("</div>")[0]
    assert f"id {first['id']}" in warning and 'name="allow_duplicate"' in warning
    assert input_value(again.text, "title") == "Rakor yang sama, judul lain"  # what was typed stays
    assert snapshot(app) == before
    confirmed = client.post(
        "/rakor/baru", data={**_rakor(kec, reached, "Rakor yang sama, judul lain"), "allow_duplicate": "ya"}
    )
    assert confirmed.status_code == 303
    assert client.get("/api/meetings").json["total"] == 2
    # another reached set is another meeting: no question asked
    other = client.post("/rakor/baru", data=_rakor(kec, reached[:1], "Rakor lain"))
    assert other.status_code == 303


def input_value(html: str, name: str) -> str:
    return unescape(re.search(rf'<input id="f-{name}" name="{name}" type="[^"]+" value="([^"]*)"', html).group(1))


def test_api_refuses_a_likely_duplicate_unless_allowed(app, client):
    with app.app_context():
        desa = desa_frame(get_session())
    kec = desa["kecamatan_code"].iloc[-1]
    reached = sorted(desa.loc[desa["kecamatan_code"] == kec, "code"])[-3:]
    first = client.post("/api/meetings", json=_rakor(kec, reached, "Rakor A"))
    assert first.status_code == 201
    before = snapshot(app)
    dup = client.post("/api/meetings", json=_rakor(kec, list(reversed(reached)), "Rakor A (lagi)"))
    assert dup.status_code == 409 and dup.json["error"] == "likely_duplicate"
    assert dup.json["details"]["id"] == first.json["id"]
    assert snapshot(app) == before
    assert (
        client.post("/api/meetings", json={**_rakor(kec, reached, "x"), "allow_duplicate": "maybe"}).status_code == 400
    )
    ok = client.post("/api/meetings", json={**_rakor(kec, reached, "Rakor A (lagi)"), "allow_duplicate": True})
    assert ok.status_code == 201 and "allow_duplicate" not in ok.json
    third = client.post("/api/meetings?allow_duplicate=true", json=_rakor(kec, reached, "Rakor A (ketiga)"))
    assert third.status_code == 201
    # the same content again is still the old, exact conflict (not a question)
    assert client.post("/api/meetings", json=_rakor(kec, reached, "Rakor A")).json["error"] == "conflict"


def test_an_edit_that_makes_a_likely_duplicate_asks_first_in_the_api_and_the_form(app, client):
    """Moving a rakor onto another's date, host and reached desa is the same question as entering it twice;
    editing anything else of a rakor (even one saved as a confirmed duplicate) asks nothing."""
    with app.app_context():
        desa = desa_frame(get_session())
    kec = desa["kecamatan_code"].iloc[0]
    reached = sorted(desa.loc[desa["kecamatan_code"] == kec, "code"])[:2]
    first = client.post("/api/meetings", json=_rakor(kec, reached, "Rakor A"))
    other = client.post("/api/meetings", json=_rakor(kec, reached[:1], "Rakor B"))
    assert first.status_code == other.status_code == 201
    url = f"/api/meetings/{other.json['id']}"
    before = snapshot(app)
    moved = client.patch(url, json={"reached_desa": reached})
    assert moved.status_code == 409 and moved.json["error"] == "likely_duplicate"
    assert moved.json["details"]["id"] == first.json["id"] and snapshot(app) == before
    # the form: the same warning with its "save anyway" box, nothing saved until it is ticked
    form = {**_rakor(kec, reached, "Rakor B"), "reached_desa": reached}
    page = client.post(f"/rakor/{other.json['id']}/ubah", data=form)
    assert page.status_code == 409 and f"id {first.json['id']}" in page.text.split('id="duplicate-warning"')[1]
    assert snapshot(app) == before
    saved = client.post(f"/rakor/{other.json['id']}/ubah", data={**form, "allow_duplicate": "ya"})
    assert saved.status_code == 303
    assert client.get(url).json["reached_desa_codes"] == reached
    # now a confirmed twin: editing its notes or title is no question; the API's switch works too
    assert client.patch(url, json={"notes": "catatan"}).status_code == 200
    assert client.patch(url, json={"reached_desa": reached[:1]}).status_code == 200
    assert client.patch(f"{url}?allow_duplicate=true", json={"reached_desa": reached}).status_code == 200


# --- confirmation before rollback; batches by name -----------------------------------------------------------


def _upload(client, url, data: bytes, name: str, **form):
    return client.post(url, data={"file": (io.BytesIO(data), name), **form}, content_type="multipart/form-data")


def test_rollback_asks_first_and_batches_are_named_by_file_time_and_user(app, client):
    start = datetime.now(UTC)
    first = _upload(client, "/api/import/tps", TPS_CSV, "tps-penarik.csv")
    assert first.status_code == 201
    batch = first.json["batch"]
    [listed] = client.get("/api/import-batches").json
    at = datetime.fromisoformat(listed["at"])
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    assert start - timedelta(seconds=5) <= at <= datetime.now(UTC)
    wib = (at + timedelta(hours=7)).strftime("%d/%m/%Y %H:%M")
    assert listed["label"] == f"tps-penarik.csv · {wib} WIB · admin-test" == first.json["batch_label"]
    page = client.get("/impor").text
    shown = re.search(rf'<tr data-batch="{batch}"><td>(.*?)</td>', page).group(1)
    assert unescape(shown) == listed["label"]  # people read the name, not the hex id

    confirm = client.get(f"/impor/batch/{batch}/batalkan")
    assert confirm.status_code == 200 and unescape(listed["label"]) in unescape(confirm.text)
    assert 'name="konfirmasi" value="ya"' in confirm.text
    before = snapshot(app)
    assert client.post(f"/impor/batch/{batch}/batalkan").status_code == 200  # no confirmation: nothing done
    assert snapshot(app) == before
    done = client.post(f"/impor/batch/{batch}/batalkan", data={"konfirmasi": "ya"}, follow_redirects=True)
    assert done.status_code == 200 and "2 dihapus" in done.text and "tps-penarik.csv" in done.text
    assert client.get("/api/polling-stations").json["total"] == 0
    assert client.get("/impor/batch/0123456789abcdef/batalkan").status_code == 404


# --- dry run, then "import now" without choosing the file again ------------------------------------------


def _kept(app, user: str | None = None) -> int:
    with app.app_context():
        return pending_uploads.count(get_session(), user)


def _token(html: str) -> str:
    return re.search(r'name="upload_token" value="([^"]+)"', html).group(1)


def test_dry_run_keeps_the_file_and_import_now_uses_it(app, client):
    before = snapshot(app)
    dry = _upload(client, "/impor", TPS_CSV, "tps.csv", kind="tps", dry_run="ya")
    assert dry.status_code == 200 and "uji coba" in dry.text and "2 baru" in dry.text
    after = snapshot(app)
    assert len(after.pop("pending_upload")) == 1  # the kept file, nothing else
    assert after == {t: rows for t, rows in before.items() if t != "pending_upload"}
    token = _token(dry.text)
    assert _kept(app, "admin-test") == 1
    assert "Impor sekarang" in dry.text and "tps.csv" in dry.text

    now = client.post("/impor", data={"upload_token": token})  # no file chosen again
    assert now.status_code == 200 and "Hasil impor" in now.text and "2 baru" in now.text
    assert client.get("/api/polling-stations").json["total"] == 2
    assert _kept(app) == 0  # used once, then removed
    assert client.post("/impor", data={"upload_token": token}).status_code == 404


def test_kept_file_belongs_to_its_user_and_expires(app, client):
    from geo_app.services.users import create_user

    dry = _upload(client, "/impor", TPS_CSV, "tps.csv", kind="tps", dry_run="ya")
    token = _token(dry.text)
    with app.app_context():
        create_user(get_session(), "edo", "edo-password-123", "editor")
    other = app.test_client()
    login_as(other, "edo")
    before = snapshot(app)
    assert other.post("/impor", data={"upload_token": token}).status_code == 404
    for bad in ("../../etc/passwd", "x" * 43 + "/", "../" + token[3:], token + ".json"):
        assert client.post("/impor", data={"upload_token": bad}).status_code == 400, bad
    assert snapshot(app) == before
    later = datetime.now().timestamp() + pending_uploads.TTL_SECONDS + 1
    with app.app_context(), pytest.raises(NotFound, match="tidak ada lagi"):
        pending_uploads.fetch(get_session(), token, "admin-test", now=later)
    assert _kept(app) == 0


def test_dry_run_with_bad_rows_offers_importing_the_good_ones(app, client):
    bad = TPS_CSV + b"17.06.10.2001;3;900;rawan;1;2\n"
    dry = _upload(client, "/impor", bad, "tps.csv", kind="tps", dry_run="ya")
    assert dry.status_code == 400 and "maksimal 600" in unescape(dry.text)
    now = client.post("/impor", data={"upload_token": _token(dry.text), "skip_invalid": "ya"})
    assert now.status_code == 200 and "2 baru" in now.text and "1 ditolak" in now.text


def test_pending_uploads_keep_a_few_per_user(app):
    with app.app_context():
        session = get_session()
        now = time.time()
        kept = [pending_uploads.keep(session, "u", "tps", f"{i}.csv", b"x%d" % i, now=now + i) for i in range(8)]
        pending_uploads.keep(session, "v", "tps", "v.csv", b"v", now=now)
        assert pending_uploads.count(session, "u") == pending_uploads.MAX_PER_USER
        for k in kept[: -pending_uploads.MAX_PER_USER]:
            with pytest.raises(NotFound):
                pending_uploads.fetch(session, k.token, "u", now=now + 8)
        for i, k in enumerate(kept[-pending_uploads.MAX_PER_USER :], start=8 - pending_uploads.MAX_PER_USER):
            assert pending_uploads.fetch(session, k.token, "u", now=now + 8)[1] == b"x%d" % i
        # only the token's hash is stored
        assert all(k.token not in repr(snapshot(app)) for k in kept)


# --- "use my location" ------------------------------------------------------------------------------------


def test_locate_places_a_point_like_an_import_does(app, client):
    with app.app_context():
        desa = desa_frame(get_session())
    sample = desa.iloc[:: max(1, len(desa) // 6)]
    for number, (code, lon, lat) in enumerate(zip(sample["code"], sample["rep_lon"], sample["rep_lat"]), start=1):
        # the placement a TPS imported with this point gets, without naming its desa
        csv_text = f"no_tps;jumlah_dpt;lintang;bujur\n{number};100;{lat};{lon}\n".encode()
        imported = _upload(client, "/api/import/tps", csv_text, "titik.csv")
        assert imported.status_code == 201, imported.json
        placed = client.get("/api/polling-stations", query_string={"per_page": 500}).json["items"]
        stored = next(t for t in placed if t["number"] == number)
        found = client.get("/api/locate", query_string={"lat": lat, "lon": lon})
        assert found.status_code == 200
        assert found.json["desa_code"] == stored["desa_code"] == code
        assert found.json["desa"] == desa.set_index("code").loc[code, "name"]
        assert found.json["kecamatan_code"] == code[:8]


def test_locate_outside_and_bad_input(client):
    outside = client.get("/api/locate?lat=-2.5&lon=100.5")  # the sea west of Mukomuko
    assert outside.status_code == 200 and outside.json["placement"] == "outside" and outside.json["desa_code"] is None
    for query in (
        "lat=abc&lon=101.1",
        "lat=nan&lon=101.1",
        "lat=-2.6&lon=inf",
        "lat=-2.6",
        "",
        "lat=50&lon=101",
        "lat=101.1&lon=-2.6",
    ):
        resp = client.get(f"/api/locate?{query}")
        assert resp.status_code == 400, query
        assert resp.json["error"] == "validation_error" or resp.json["message"], query


def test_forms_carry_the_locate_widget(client):
    for url in ("/tps/baru", "/insiden/baru"):
        html = client.get(url).text
        assert 'data-locate="/api/locate"' in html and "Gunakan lokasi saya" in html


# --- titles -------------------------------------------------------------------------------------------


def test_every_page_has_a_title(demo_app, demo_client):
    with demo_app.app_context():
        desa = desa_frame(get_session())
    code = desa["code"].iloc[0]
    meeting = demo_client.get("/api/meetings").json["items"][0]["id"]
    urls = [
        "/",
        "/gaps",
        "/gaps/print",
        f"/kecamatan/{code[:8]}",
        f"/desa/{code}",
        "/map",
        f"/map/kecamatan/{code[:8]}",
        f"/map/desa/{code}",
        "/rakor",
        "/rakor/baru",
        f"/rakor/{meeting}/ubah",
        f"/rakor/{meeting}/hapus",
        "/tps",
        "/tps/baru",
        "/insiden",
        "/insiden/baru",
        "/impor",
        "/login",
        "/tidak-ada",
    ]
    for url in urls:
        html = demo_client.get(url).text
        title = re.search(r"<title>(.*?)</title>", html, re.S)
        assert title and title.group(1).strip(), url


# --- the new forms carry the CSRF token (production settings) ---------------------------------------------


def test_confirmation_and_import_now_forms_work_with_csrf(secure_app, tmp_path):
    from tests.conftest import _login

    client = secure_app.test_client()
    assert _login(client, "edi").status_code in (302, 303)

    def token_of(html: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    dry_page = client.get("/impor").text
    dry = client.post(
        "/impor",
        data={
            "file": (io.BytesIO(TPS_CSV), "tps.csv"),
            "kind": "tps",
            "dry_run": "ya",
            "csrf_token": token_of(dry_page),
        },
        content_type="multipart/form-data",
    )
    assert dry.status_code == 200
    form = dry.text.split('id="import-now"')[1].split("</form>")[0]
    assert client.post("/impor", data={"upload_token": _token(dry.text)}).status_code in (400, 403)  # no token
    done = client.post("/impor", data={"upload_token": _token(dry.text), "csrf_token": token_of(form)})
    assert done.status_code == 200 and "2 baru" in done.text

    [tps, _] = client.get("/api/polling-stations").json["items"]
    confirm = client.get(f"/tps/{tps['id']}/hapus").text
    assert client.post(f"/tps/{tps['id']}/hapus", data={"konfirmasi": "ya"}).status_code in (400, 403)
    deleted = client.post(f"/tps/{tps['id']}/hapus", data={"konfirmasi": "ya", "csrf_token": token_of(confirm)})
    assert deleted.status_code == 303
    [batch] = client.get("/api/import-batches").json
    page = client.get(f"/impor/batch/{batch['batch']}/batalkan").text
    # the batch has a record deleted since: the rollback is refused, with the confirmation sent properly
    refused = client.post(
        f"/impor/batch/{batch['batch']}/batalkan", data={"konfirmasi": "ya", "csrf_token": token_of(page)}
    )
    assert refused.status_code == 409


def test_a_record_saved_by_another_worker_meanwhile_is_a_409_and_nothing_changes(app, client, monkeypatch):
    """The race of two workers or hosts: this request looks for the key, finds nothing, another saves the
    same key, then this one writes. The database's unique key refuses it: a 409 naming the record, not
    a 500, and the other's record stays as it was (the look-up is made to miss, as in that race)."""
    from geo_app.services import records as record_service

    row = {"desa_code": "17.06.10.2001", "number": 7, "voters": 300}
    assert client.post("/api/polling-stations", json=row).status_code == 201
    before = snapshot(app)
    monkeypatch.setattr(record_service, "find_existing", lambda *_a, **_k: None)
    again = client.post("/api/polling-stations", json={**row, "voters": 310})
    assert again.status_code == 409 and again.json["error"] == "conflict"
    assert "TPS 7 di desa 17.06.10.2001" in again.json["message"] and "another user" in again.json["message"]
    assert snapshot(app) == before
    form = client.post("/tps/baru?lang=en", data={**row, "voters": 320})
    assert form.status_code == 409 and "was just saved by another user" in form.text
    assert snapshot(app) == before
