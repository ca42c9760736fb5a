"""Accounts that cannot be taken over: same-site redirects only, sessions that end, tokens that
belong to a user, a slow-down that never locks the owner out, no user enumeration, an audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from geo_app.app_db import get_session
from geo_app.services import users as user_service
from geo_app.store.models import ApiToken, utcnow
from tests.conftest import TEST_ADMIN, _csrf, _login, copy_database


@pytest.mark.parametrize(
    "target",
    [
        "////evil.example",
        "//evil.example/x",
        "/%2f/evil.example",
        "/%2F%2Fevil.example",
        "/\\evil.example",
        "/%5cevil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/%09/evil.example",
        "\t//evil.example",
        "%2f%2fevil.example",
        "evil.example",
    ],
)
def test_login_redirect_refuses_other_sites(secure_app, target):
    client = secure_app.test_client()
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"username": "edi", "password": "edi-password-123", "csrf_token": _csrf(client)},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/", target


def test_login_redirect_keeps_a_same_site_path(secure_app):
    client = secure_app.test_client()
    response = client.post(
        "/login",
        query_string={"next": "/map?lang=en"},
        data={"username": "edi", "password": "edi-password-123", "csrf_token": _csrf(client)},
    )
    assert response.headers["Location"] == "/map?lang=en"


def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def _replay(app, cookie: str):
    """A second browser presenting a copy of a saved session cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def test_a_saved_cookie_stops_working_after_logout(secure_app):
    client = secure_app.test_client()
    _login(client, "edi")
    saved = _session_cookie(client)
    assert _replay(secure_app, saved).get("/api/desa").status_code == 200
    client.post("/logout", data={"csrf_token": _csrf(client, "/")})
    stolen = _replay(secure_app, saved)
    assert stolen.get("/api/desa").status_code == 401
    assert stolen.post("/api/polling-stations", json={"desa": "Penarik", "number": 9, "voters": 9}).status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        ["users", "set-password", "edi", "--password", "edi-password-456"],
        ["users", "set-role", "edi", "viewer"],
        ["users", "disable", "edi"],
    ],
)
def test_sessions_end_on_password_role_change_and_disabling(secure_app, change):
    client = secure_app.test_client()
    _login(client, "edi")
    assert client.get("/api/desa").status_code == 200
    assert secure_app.test_cli_runner().invoke(args=change).exit_code == 0
    assert client.get("/api/desa").status_code == 401


def _token(app, *args) -> str:
    result = app.test_cli_runner().invoke(args=["tokens", "create", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip().rsplit(" ", 1)[-1]


def test_tokens_belong_to_a_user_and_die_with_them(secure_app):
    runner = secure_app.test_cli_runner()
    assert (
        runner.invoke(args=["users", "create", "ana", "--role", "admin", "--password", "ana-password-1"]).exit_code == 0
    )
    token = _token(secure_app, "skrip", "--user", "ana", "--role", "admin")
    client = secure_app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/tokens", headers=bearer).status_code == 200
    # the owner is demoted: the token keeps at most the owner's role
    assert runner.invoke(args=["users", "set-role", "ana", "viewer"]).exit_code == 0
    assert client.get("/api/tokens", headers=bearer).status_code == 403
    assert client.get("/api/desa", headers=bearer).status_code == 200
    # the owner is disabled: the token stops
    assert runner.invoke(args=["users", "disable", "ana"]).exit_code == 0
    assert client.get("/api/desa", headers=bearer).status_code == 401


def test_token_role_is_at_most_the_users_and_needs_an_owner(secure_app):
    runner = secure_app.test_cli_runner()
    too_high = runner.invoke(args=["tokens", "create", "x", "--user", "vera", "--role", "editor"])
    assert too_high.exit_code != 0 and "melebihi" in too_high.output
    no_owner = runner.invoke(args=["tokens", "create", "x", "--role", "viewer"])
    assert no_owner.exit_code != 0 and "--user" in no_owner.output
    unknown = runner.invoke(args=["tokens", "create", "x", "--user", "nobody"])
    assert unknown.exit_code != 0 and "tidak ada" in unknown.output
    with secure_app.app_context():
        # a token from before tokens had owners does not authenticate
        old = user_service.create_token(get_session(), "lama", "viewer", "vera")
        get_session().execute(update(ApiToken).where(ApiToken.id == old["id"]).values(user_id=None))
        get_session().commit()
    assert (
        secure_app.test_client().get("/api/desa", headers={"Authorization": f"Bearer {old['token']}"}).status_code
        == 401
    )


def test_tokens_expire_and_show_their_last_use(secure_app):
    token = _token(secure_app, "sebentar", "--user", "vera", "--expires-days", "2")
    client = secure_app.test_client()
    assert client.get("/api/desa", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with secure_app.app_context():
        session = get_session()
        row = session.scalar(select(ApiToken).where(ApiToken.name == "sebentar"))
        assert row.last_used_at is not None
        assert user_service.token_identity(session, token, now=utcnow() + timedelta(days=1))["user"] == "vera"
        assert user_service.token_identity(session, token, now=utcnow() + timedelta(days=2, minutes=1)) is None
    listing = secure_app.test_cli_runner().invoke(args=["tokens", "list"]).output
    assert "sebentar" in listing and "vera" in listing and "last 20" in listing
    bad = secure_app.test_cli_runner().invoke(args=["tokens", "create", "x", "--user", "vera", "--expires-days", "0"])
    assert bad.exit_code != 0


def test_api_token_creation_defaults_to_the_caller_and_checks_the_role(secure_app):
    client = secure_app.test_client()
    _login(client, TEST_ADMIN, "admin-test-password")
    headers = {"X-CSRF-Token": _csrf(client, "/")}
    mine = client.post("/api/tokens", json={"name": "m", "role": "admin", "expires_days": 30}, headers=headers)
    assert mine.status_code == 201 and mine.json["user"] == TEST_ADMIN and mine.json["expires_at"]
    too_high = client.post("/api/tokens", json={"name": "v", "role": "admin", "user": "vera"}, headers=headers)
    assert too_high.status_code == 400
    listed = {t["name"]: t for t in client.get("/api/tokens").json}
    assert listed["m"]["user"] == TEST_ADMIN and listed["m"]["last_used_at"] is None


def test_failures_from_other_addresses_never_lock_the_owner_out(secure_app):
    attacker = secure_app.test_client()
    for i in range(user_service.FREE_FAILURES * 3):
        attacker.post(
            "/login",
            data={"username": "edi", "password": "guess", "csrf_token": _csrf(attacker)},
            environ_base={"REMOTE_ADDR": f"203.0.113.{i % 3 + 1}"},
        )
    owner = secure_app.test_client()
    response = owner.post(
        "/login",
        data={"username": "edi", "password": "edi-password-123", "csrf_token": _csrf(owner)},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert response.status_code == 302


def test_the_html_429_says_when_to_retry(secure_app):
    client = secure_app.test_client()
    for _ in range(user_service.FREE_FAILURES):
        client.post("/login", data={"username": "edi", "password": "guess", "csrf_token": _csrf(client)})
    response = client.post(
        "/login", data={"username": "edi", "password": "edi-password-123", "csrf_token": _csrf(client)}
    )
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert "detik" in response.get_data(as_text=True)


def test_one_address_guessing_many_accounts_is_slowed(secure_app):
    with secure_app.app_context():
        session = get_session()
        for i in range(user_service.FREE_FAILURES * user_service.ADDRESS_FACTOR):
            with pytest.raises(user_service.Unauthorized):
                user_service.authenticate(session, f"user{i}", "guess", "203.0.113.50")
        with pytest.raises(user_service.TooManyAttempts):
            user_service.authenticate(session, "edi", "edi-password-123", "203.0.113.50")
        assert user_service.authenticate(session, "edi", "edi-password-123", "203.0.113.51")["username"] == "edi"


def test_unknown_and_disabled_users_cost_a_password_hash_too(secure_app, monkeypatch):
    """No timing difference that tells which user names exist: every attempt checks one hash."""
    calls = []
    real = user_service.check_password_hash
    monkeypatch.setattr(user_service, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    with secure_app.app_context():
        session = get_session()
        user_service.set_active(session, "vera", False)
        for name in ("nobody-here", "vera", "edi"):
            with pytest.raises(user_service.Unauthorized):
                user_service.authenticate(session, name, "wrong-password", f"192.0.2.{len(calls)}")
    assert len(calls) == 3
    # the dummy hash is made with the same method and cost as a real one
    assert calls[0].split("$")[0] == calls[2].split("$")[0]


def test_logins_tokens_and_user_changes_are_audited(secure_app):
    runner = secure_app.test_cli_runner()
    client = secure_app.test_client()
    _login(client, "edi", "wrong-password")
    _login(client, "edi")
    runner.invoke(args=["users", "create", "budi", "--role", "editor", "--password", "budi-password-1"])
    runner.invoke(args=["users", "set-role", "budi", "viewer"])
    runner.invoke(args=["users", "disable", "budi"])
    runner.invoke(args=["tokens", "create", "t", "--user", "edi", "--role", "editor"])
    runner.invoke(args=["tokens", "revoke", "1"])
    admin = secure_app.test_client()
    _login(admin, TEST_ADMIN, "admin-test-password")
    users = admin.get("/api/audit?kind=user").json
    tokens = admin.get("/api/audit?kind=token").json
    actions = [(e["action"], e["after"]["username"]) for e in reversed(users)]
    assert ("login_failed", "edi") in actions and ("login", "edi") in actions
    assert ("create", "budi") in actions and ("role", "budi") in actions and ("disable", "budi") in actions
    assert users[0]["action"] == "login" and users[0]["actor"] == TEST_ADMIN
    assert [e["action"] for e in reversed(tokens)] == ["create", "revoke"]
    assert all(e["actor"].startswith("cli") for e in tokens)
    # the password itself is never in the trail
    assert "budi-password-1" not in str(users)


def test_behind_a_proxy_the_throttle_sees_the_client_address(tmp_path, template_db, boundary_source):
    """With GEO_APP_PROXY_COUNT=1 every client is not one address (the proxy's): an attacker's
    failures do not slow the owner down; without it, X-Forwarded-For is ignored (not spoofable)."""

    from tests.conftest import make_app

    db = tmp_path / "p.sqlite"
    copy_database(template_db, db)
    app = make_app(db, tmp_path / "shp", BOUNDARY_SOURCE=boundary_source, PROXY_COUNT=1)
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    client = app.test_client()
    for _ in range(user_service.FREE_FAILURES):
        client.post(
            "/login",
            data={"username": TEST_ADMIN, "password": "guess"},
            environ_base=proxy,
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
    owner = client.post(
        "/login",
        data={"username": TEST_ADMIN, "password": "admin-test-password"},
        environ_base=proxy,
        headers={"X-Forwarded-For": "198.51.100.20"},
    )
    assert owner.status_code == 302
    app.extensions["geo_app.engine"].dispose()
