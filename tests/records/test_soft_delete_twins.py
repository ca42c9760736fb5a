"""A record someone deleted does not come back by posting or importing its twin (same natural key):
409 (a rejected row in an import) for everyone, with a message pointing to restore, which is an
admin's decision. Only a record removed by rolling back the import that created it may come back
through a new import."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from geo_app.app_db import get_session
from geo_app.errors import Conflict
from geo_app.services import records as service
from geo_app.services.users import create_user
from geo_app.store.models import AuditEntry
from tests.conftest import login_as, snapshot

EDITOR = "edi-twins"
TPS = {"desa_code": "17.06.10.2001", "number": 1, "voters": 300}
MEETING = {"external_id": "RK-1", "desa": "Penarik", "title": "Rakor", "date": "2024-11-11", "level": "desa"}
MEETING_NO_ID = {"desa": "Penarik", "title": "Rakor tanpa id", "date": "2024-11-12", "level": "desa"}
INCIDENT = {
    "external_id": "IN-1",
    "desa": "Penarik",
    "occurred_at": "2024-11-01 10:00",
    "category": "APK",
    "severity": "rendah",
    "description": "Baliho di jembatan",
}
URLS = {"tps": "/api/polling-stations", "meetings": "/api/meetings", "incidents": "/api/incidents"}


@pytest.fixture
def editor(app):
    with app.app_context():
        create_user(get_session(), EDITOR, "editor-password-123", "editor")
    client = app.test_client()
    login_as(client, EDITOR)
    return client


def created_and_deleted(client, url: str, body: dict) -> int:
    created = client.post(url, json=body)
    assert created.status_code == 201, created.json
    record_id = created.json["id"]
    assert client.delete(f"{url}/{record_id}").status_code in (200, 204)
    return record_id


def upload(client, url, data: bytes, name: str, **form):
    return client.post(url, data={"file": (io.BytesIO(data), name), **form}, content_type="multipart/form-data")


def audit_actions(app, kind: str, record_id: int) -> list[str]:
    with app.app_context():
        return list(
            get_session().scalars(
                select(AuditEntry.action)
                .where(AuditEntry.kind == kind, AuditEntry.record_id == record_id)
                .order_by(AuditEntry.id)
            )
        )


@pytest.mark.parametrize(
    "kind, body", [("tps", TPS), ("meetings", MEETING), ("meetings", MEETING_NO_ID), ("incidents", INCIDENT)]
)
def test_editor_posting_the_twin_of_a_deleted_record_gets_409(app, client, editor, kind, body):
    url = URLS[kind]
    record_id = created_and_deleted(client, url, body)  # an admin deletes it
    before = snapshot(app)
    response = editor.post(url, json=body)
    assert response.status_code == 409, response.json
    assert f"telah dihapus (id {record_id})" in response.json["message"]
    assert f"POST {url}/{record_id}/restore" in response.json["message"]
    assert response.json["details"] == {"id": record_id, "deleted": True, "restore": f"POST {url}/{record_id}/restore"}
    assert snapshot(app) == before
    assert client.get(f"{url}/{record_id}").status_code == 404
    assert audit_actions(app, kind, record_id) == ["create", "delete"]


def test_admin_gets_409_too_and_restores_instead(app, client):
    record_id = created_and_deleted(client, URLS["tps"], TPS)
    before = snapshot(app)
    response = client.post(URLS["tps"], json=TPS)
    assert response.status_code == 409 and f"/api/polling-stations/{record_id}/restore" in response.json["message"]
    assert snapshot(app) == before
    assert client.post(f"/api/polling-stations/{record_id}/restore").status_code == 200
    again = client.post(URLS["tps"], json=TPS)
    assert again.status_code == 409 and "sudah ada (id" in again.json["message"]
    assert audit_actions(app, "tps", record_id) == ["create", "delete", "restore"]


def test_form_twin_of_a_deleted_record_is_409(app, client, editor):
    record_id = created_and_deleted(client, URLS["tps"], TPS)
    before = snapshot(app)
    page = editor.post("/tps/baru", data={"desa_code": "17.06.10.2001", "number": "1", "voters": "300"})
    assert page.status_code == 409
    assert f"telah dihapus (id {record_id})" in page.get_data(as_text=True)
    assert snapshot(app) == before


def test_editor_import_rejects_the_twin_on_its_own_row(app, client, editor):
    record_id = created_and_deleted(client, URLS["tps"], TPS)
    data = b"kode_desa;no_tps;jumlah_dpt\n17.06.10.2001;2;280\n17.06.10.2001;1;300\n"
    before = snapshot(app)
    refused = upload(editor, "/api/import/tps", data, "tps.csv")
    assert refused.status_code == 400, refused.json
    errors = refused.json["details"]["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(3, "no_tps")]
    assert f"id {record_id} yang telah dihapus" in errors[0]["reason"]
    assert f"/api/polling-stations/{record_id}/restore" in errors[0]["reason"]
    assert snapshot(app) == before
    partial = upload(editor, "/api/import/tps", data, "tps.csv", skip_invalid="1")
    assert partial.status_code == 201, partial.json
    assert (partial.json["inserted"], partial.json["updated"], partial.json["rejected"]) == (1, 0, 1)
    assert "17.06.10.2001;1;300;" in partial.json["rejects_csv"]
    assert client.get(f"/api/polling-stations/{record_id}").status_code == 404
    assert audit_actions(app, "tps", record_id) == ["create", "delete"]


def test_import_of_incident_twin_by_external_id_and_cli(app, client, runner, tmp_path):
    record_id = created_and_deleted(client, URLS["incidents"], INCIDENT)
    path = tmp_path / "insiden.csv"
    path.write_text(
        "id;desa;waktu_kejadian;kategori;keparahan;uraian\n"
        "IN-1;Penarik;01/11/2024 10:00;APK;rendah;Baliho di jembatan, diulang\n",
        encoding="utf-8",
    )
    before = snapshot(app)
    result = runner.invoke(args=["import", "incidents", str(path)])
    assert result.exit_code == 1, result.output
    assert f"baris/row 2, kolom id: sama dengan insiden id {record_id} yang telah dihapus" in result.output
    assert snapshot(app) == before


def test_a_rolled_back_import_can_be_imported_again(app, client, editor):
    """Rolling back an import deletes what it created; importing the corrected file brings it back."""
    data = b"kode_desa;no_tps;jumlah_dpt\n17.06.10.2001;1;300\n17.06.10.2001;2;280\n"
    first = upload(editor, "/api/import/tps", data, "tps.csv")
    assert first.status_code == 201
    assert editor.post(f"/api/import-batches/{first.json['batch']}/rollback").status_code == 200
    assert client.get("/api/polling-stations").json["total"] == 0
    again = upload(editor, "/api/import/tps", data.replace(b"280", b"281"), "tps.csv")
    assert again.status_code == 201, again.json
    assert client.get("/api/polling-stations").json["total"] == 2
    # ... and through the API too
    created = editor.post(URLS["tps"], json={**TPS, "number": 3})
    assert created.status_code == 201
    third = upload(editor, "/api/import/tps", b"kode_desa;no_tps;jumlah_dpt\n17.06.10.2001;4;100\n", "t.csv")
    assert editor.post(f"/api/import-batches/{third.json['batch']}/rollback").status_code == 200
    assert editor.post(URLS["tps"], json={**TPS, "number": 4}).status_code == 201


def test_upsert_refuses_a_deleted_twin_when_asked(app, client):
    """The write step checks again (a record deleted between validation and writing)."""
    record_id = created_and_deleted(client, URLS["tps"], TPS)
    with app.app_context():
        session = get_session()
        values = service.clean_record("tps", dict(TPS), service.record_context(session, app.config["GEO_APP_SETTINGS"]))
        with pytest.raises(Conflict, match=f"telah dihapus \\(id {record_id}\\)"):
            service.upsert_record(session, "tps", values, "batch-x", actor="t", revive_deleted=False)
        session.rollback()
