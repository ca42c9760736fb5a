"""Roles are declared on each view; a view without a declaration is refused (deny by default)."""

from __future__ import annotations

from flask import Blueprint

from geo_app.web.access import FRAMEWORK_PUBLIC, access_of
from tests.conftest import _login, copy_database, login_as


def test_every_route_declares_its_role(app):
    undeclared = sorted(
        {
            rule.endpoint
            for rule in app.url_map.iter_rules()
            if rule.endpoint not in FRAMEWORK_PUBLIC and access_of(app.view_functions[rule.endpoint]) is None
        }
    )
    assert undeclared == []


def test_sensitive_views_declare_what_they_need(app):
    def needs(endpoint: str, method: str = "GET"):
        return access_of(app.view_functions[endpoint]).needed(method)

    for endpoint in ("auth.audit_log", "auth.tokens_list"):
        assert needs(endpoint) == "admin"
    assert needs("auth.tokens_create", "POST") == "admin"
    assert needs("records_api.restore_record", "POST") == "admin"
    assert needs("forms.restore_page", "POST") == "admin"
    # staff user names are in the batch list: not for viewers or anonymous visitors
    assert needs("imports.api_batches") == "editor" and needs("imports.import_page") == "editor"
    assert needs("records_api.create_record", "POST") == "editor"
    assert needs("pages.overview_map") == "viewer"
    assert needs("auth.login", "POST") is None and needs("health.healthz") is None


def test_a_new_route_without_a_role_is_refused_for_everyone(tmp_path, template_db, boundary_source):

    from tests.conftest import TEST_ADMIN, make_app

    db = tmp_path / "a.sqlite"
    copy_database(template_db, db)
    app = make_app(db, tmp_path / "shp", BOUNDARY_SOURCE=boundary_source)
    bp = Blueprint("forgotten", __name__)

    @bp.get("/admin/forgotten")
    def forgotten():
        return "secret"

    app.register_blueprint(bp)
    anonymous = app.test_client()
    assert anonymous.get("/admin/forgotten").status_code == 403
    admin = app.test_client()
    login_as(admin, TEST_ADMIN)
    response = admin.get("/admin/forgotten")
    assert response.status_code == 403 and b"secret" not in response.data
    app.extensions["geo_app.engine"].dispose()


def test_import_batches_are_hidden_from_anonymous_and_viewers(app, secure_app):
    # anonymous viewing on (the app fixture): the batch list still needs an editor
    assert app.test_client().get("/api/import-batches").status_code == 401
    assert app.test_client().get("/impor").status_code == 302
    viewer = secure_app.test_client()
    _login(viewer, "vera")
    assert viewer.get("/api/import-batches").status_code == 403
    editor = secure_app.test_client()
    _login(editor, "edi")
    assert editor.get("/api/import-batches").status_code == 200


def test_deeply_nested_json_bodies_are_a_400_everywhere(client):
    body = "[" * 100_000 + "]" * 100_000
    headers = {"Content-Type": "application/json"}
    for path in ("/api/tokens", "/api/polling-stations", "/api/meetings", "/api/incidents"):
        response = client.post(path, data=body, headers=headers)
        assert response.status_code == 400, (path, response.status_code)
