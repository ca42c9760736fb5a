"""Access control with the production settings: no anonymous viewing, CSRF on every cookie write."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from geo_app.app_db import get_session
from geo_app.services import users as user_service
from geo_app.store.models import ApiToken, LoginFailure, User
from tests.conftest import TEST_ADMIN, _csrf, _login, snapshot

TPS = {"desa": "Penarik", "number": 7, "voters": 250}


def test_anonymous_is_refused(secure_app):
    client = secure_app.test_client()
    response = client.get("/api/desa")
    assert response.status_code == 401 and response.json["error"] == "unauthorized"
    page = client.get("/map")
    assert page.status_code == 302 and "/login?next=/map" in page.headers["Location"]
    assert client.get("/healthz").status_code == 200
    assert client.post("/api/polling-stations", json=TPS).status_code == 401


def test_anonymous_view_is_a_setting(app):
    assert app.test_client().get("/api/kecamatan").status_code == 200
    assert app.test_client().post("/api/polling-stations", json=TPS).status_code == 401


def test_login_logout_and_roles(secure_app):
    client = secure_app.test_client()
    response = _login(client, "vera")
    assert response.status_code == 302
    assert client.get("/api/desa").status_code == 200
    before = snapshot(secure_app)
    token = _csrf(client, "/")
    refused = client.post("/api/polling-stations", json=TPS, headers={"X-CSRF-Token": token})
    assert refused.status_code == 403 and "editor" in refused.json["message"]
    assert snapshot(secure_app) == before
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/api/desa").status_code == 401


def test_editor_write_needs_csrf_token(secure_app):
    client = secure_app.test_client()
    _login(client, "edi")
    before = snapshot(secure_app)
    no_token = client.post("/api/polling-stations", json=TPS)
    assert no_token.status_code == 403 and "CSRF" in no_token.json["message"]
    wrong = client.post("/api/polling-stations", json=TPS, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    assert snapshot(secure_app) == before
    ok = client.post("/api/polling-stations", json=TPS, headers={"X-CSRF-Token": _csrf(client, "/")})
    assert ok.status_code == 201, ok.json


def test_login_form_needs_csrf_and_wrong_password_is_401(secure_app):
    client = secure_app.test_client()
    assert client.post("/login", data={"username": "edi", "password": "edi-password-123"}).status_code == 403
    response = _login(client, "edi", "wrong-password")
    assert response.status_code == 401 and "salah" in response.get_data(as_text=True)


def test_repeated_failures_slow_down(secure_app):
    client = secure_app.test_client()
    for _ in range(user_service.FREE_FAILURES):
        assert _login(client, "edi", "nope-nope-nope").status_code == 401
    blocked = _login(client, "edi")  # even the right password waits now
    assert blocked.status_code == 429 and "coba lagi" in blocked.get_data(as_text=True)
    with secure_app.app_context():
        assert len(get_session().scalars(select(LoginFailure)).all()) == user_service.FREE_FAILURES


def test_passwords_and_tokens_are_stored_hashed(secure_app):
    with secure_app.app_context():
        session = get_session()
        user = session.scalar(select(User).where(User.username == "edi"))
        token = user_service.create_token(session, "skrip", "editor", TEST_ADMIN)
        stored = session.get(ApiToken, token["id"])
    assert "edi-password-123" not in user.password_hash and user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert token["token"] not in stored.token_hash and len(stored.token_hash) == 64


def test_bearer_tokens_roles_and_revocation(secure_app):
    client = secure_app.test_client()
    with secure_app.app_context():
        viewer = user_service.create_token(get_session(), "baca", "viewer", TEST_ADMIN)
        editor = user_service.create_token(get_session(), "tulis", "editor", TEST_ADMIN)
    as_viewer = {"Authorization": f"Bearer {viewer['token']}"}
    as_editor = {"Authorization": f"Bearer {editor['token']}"}
    assert client.get("/api/desa/17.06.10.2001", headers=as_viewer).status_code == 200
    assert client.post("/api/polling-stations", json=TPS, headers=as_viewer).status_code == 403
    created = client.post("/api/polling-stations", json=TPS, headers=as_editor)  # no CSRF for tokens
    assert created.status_code == 201
    assert client.post("/api/tokens", json={"name": "x", "role": "admin"}, headers=as_editor).status_code == 403
    with secure_app.app_context():
        user_service.revoke_token(get_session(), editor["id"])
    before = snapshot(secure_app)
    revoked = client.delete(f"/api/polling-stations/{created.json['id']}", headers=as_editor)
    assert revoked.status_code == 401 and "dicabut" in revoked.json["message"]
    assert client.get("/api/desa", headers={"Authorization": "Bearer gat_made-up"}).status_code == 401
    assert snapshot(secure_app) == before


def test_admin_manages_tokens_over_the_api(secure_app):
    with secure_app.app_context():
        admin = user_service.create_token(get_session(), "admin-skrip", "admin", TEST_ADMIN)
    client = secure_app.test_client()
    headers = {"Authorization": f"Bearer {admin['token']}"}
    made = client.post("/api/tokens", json={"name": "laporan", "role": "viewer"}, headers=headers)
    assert made.status_code == 201 and made.json["token"].startswith("gat_")
    assert client.delete(f"/api/tokens/{made.json['id']}", headers=headers).status_code == 204
    listed = {t["name"]: t for t in client.get("/api/tokens", headers=headers).json}
    assert listed["laporan"]["revoked"] is True and "token" not in listed["laporan"]


def test_login_redirect_stays_on_this_site(secure_app):
    client = secure_app.test_client()
    token = _csrf(client)
    response = client.post(
        "/login?next=//evil.example/x", data={"username": "edi", "password": "edi-password-123", "csrf_token": token}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_users_cli_create_set_role_disable(secure_app):
    runner = secure_app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "sari", "--role", "editor", "--password", "sari-password-1"])
    assert result.exit_code == 0, result.output
    short = runner.invoke(args=["users", "create", "rudi", "--password", "short"])
    assert short.exit_code != 0 and "minimal 10" in short.output
    assert runner.invoke(args=["users", "set-role", "sari", "admin"]).exit_code == 0
    assert runner.invoke(args=["users", "set-password", "sari", "--password", "sari-password-2"]).exit_code == 0
    assert _login(secure_app.test_client(), "sari", "sari-password-1").status_code == 401
    client = secure_app.test_client()
    _login(client, "sari", "sari-password-2")
    assert client.get("/api/tokens").status_code == 200
    assert runner.invoke(args=["users", "disable", "sari"]).exit_code == 0
    assert client.get("/api/tokens").status_code == 401  # the session stops working at once
    missing = runner.invoke(args=["users", "disable", "nobody"])
    assert missing.exit_code != 0 and "tidak ada" in missing.output


def test_restore_and_audit_are_for_admins(secure_app):
    with secure_app.app_context():
        editor = user_service.create_token(get_session(), "e", "editor", TEST_ADMIN)["token"]
        admin = user_service.create_token(get_session(), "a", "admin", TEST_ADMIN)["token"]
    client = secure_app.test_client()
    as_editor = {"Authorization": f"Bearer {editor}"}
    as_admin = {"Authorization": f"Bearer {admin}"}
    tps = client.post("/api/polling-stations", json=TPS, headers=as_editor).json
    assert client.delete(f"/api/polling-stations/{tps['id']}", headers=as_editor).status_code == 204
    assert client.post(f"/api/polling-stations/{tps['id']}/restore", headers=as_editor).status_code == 403
    assert client.get("/api/audit", headers=as_editor).status_code == 403
    trail = client.get(f"/api/audit?kind=tps&record_id={tps['id']}", headers=as_admin).json
    assert [(e["action"], e["actor"]) for e in trail] == [("delete", "token:e"), ("create", "token:e")]
    assert client.post(f"/api/polling-stations/{tps['id']}/restore", headers=as_admin).status_code == 200
    assert client.get("/api/audit?limit=x", headers=as_admin).status_code == 400


def test_record_forms_need_the_csrf_token(secure_app):
    client = secure_app.test_client()
    _login(client, "edi")
    form = {"desa_code": "17.06.10.2001", "number": "9", "voters": "300"}
    before = snapshot(secure_app)
    assert client.post("/tps/baru", data=form).status_code == 403
    assert snapshot(secure_app) == before
    page = client.get("/tps/baru").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    created = client.post("/tps/baru", data={**form, "csrf_token": token})
    assert created.status_code in (302, 303)
    assert snapshot(secure_app) != before


def test_slow_down_doubles_and_expires(secure_app):
    from datetime import timedelta

    from geo_app.errors import TooManyAttempts, Unauthorized
    from geo_app.store.models import utcnow

    t0 = utcnow()
    with secure_app.app_context():
        session = get_session()
        for i in range(user_service.FREE_FAILURES):
            with pytest.raises(Unauthorized):
                user_service.authenticate(session, "edi", "wrong-wrong", "10.0.0.1", now=t0 + timedelta(seconds=i))
        last = t0 + timedelta(seconds=user_service.FREE_FAILURES - 1)
        with pytest.raises(TooManyAttempts) as first_wait:
            user_service.authenticate(session, "edi", "edi-password-123", "10.0.0.1", now=last + timedelta(seconds=1))
        assert first_wait.value.retry_after == 2
        with pytest.raises(Unauthorized):  # after the wait, one more try (wrong again)
            user_service.authenticate(session, "edi", "wrong-wrong", "10.0.0.1", now=last + timedelta(seconds=3))
        with pytest.raises(TooManyAttempts) as second_wait:
            user_service.authenticate(session, "edi", "edi-password-123", "10.0.0.1", now=last + timedelta(seconds=4))
        assert second_wait.value.retry_after == 4
        later = last + user_service.FAILURE_WINDOW + timedelta(minutes=1)
        assert user_service.authenticate(session, "edi", "edi-password-123", "10.0.0.1", now=later)["role"] == "editor"
