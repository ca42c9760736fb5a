"""Fixtures as in Flask's tutorial: ``app``, ``client``, ``runner`` on a temporary SQLite file.

The real boundaries are read from ``GEO_APP_BOUNDARY_SOURCE`` (CI: ../shared/data/wilayah_boundaries)
and imported once per test session into a template database that each test copies.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from geo_app import create_app
from geo_app.app_db import get_session
from geo_app.services.boundaries import import_boundaries
from geo_app.services.users import create_user
from geo_app.store.models import User

REPO = Path(__file__).resolve().parent.parent
# ../shared/data beside the checkout, or wherever GEO_APP_BOUNDARY_SOURCE (its wilayah_boundaries folder) points
SHARED_DATA = (
    Path(os.environ["GEO_APP_BOUNDARY_SOURCE"]).resolve().parent
    if os.environ.get("GEO_APP_BOUNDARY_SOURCE", "").strip() and "://" not in os.environ["GEO_APP_BOUNDARY_SOURCE"]
    else REPO.parent / "shared" / "data"
)


@pytest.fixture(scope="session")
def boundary_source() -> str:
    source = os.environ.get("GEO_APP_BOUNDARY_SOURCE")
    if not source:
        pytest.fail("set GEO_APP_BOUNDARY_SOURCE to ../shared/data/wilayah_boundaries (make test does)")
    return source


@pytest.fixture(scope="session")
def bigstyle_shapefile() -> Path:
    path = SHARED_DATA / "shapefiles_bigstyle" / "BATAS_DESA_MUKOMUKO.shp"
    assert path.exists(), (
        f"{path} missing: ../shared/data must sit beside the checkout (or set GEO_APP_BOUNDARY_SOURCE)"
    )
    return path


TEST_ADMIN = "admin-test"


def make_app(db_path: Path, shapefile_dir: Path, **extra):
    """Tests read without logging in and post without CSRF tokens unless a test turns access control
    back on (tests/test_access.py does); writes still need a user, see the ``client`` fixture."""
    config = {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{db_path}",
        "SHAPEFILE_DIR": str(shapefile_dir),
        "SECRET_KEY": "test-secret",
        "ALLOW_ANONYMOUS_VIEW": True,
        "CSRF_ENABLED": False,
    }
    config.update(extra)
    return create_app(config)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory, boundary_source) -> Path:
    """A database with the real boundaries imported, built once."""
    root = tmp_path_factory.mktemp("template")
    db_path = root / "template.sqlite"
    app = make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source)
    with app.app_context():
        import_boundaries(get_session(), app.config["GEO_APP_SETTINGS"])
        create_user(get_session(), TEST_ADMIN, "admin-test-password", "admin")
    app.extensions["geo_app.engine"].dispose()
    _fold_wal(db_path)
    return db_path


def _fold_wal(db_path: Path) -> None:
    """Fold the WAL into the main file so that a plain copy of it is complete."""
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()


@pytest.fixture(scope="session")
def demo_template(template_db, tmp_path_factory, boundary_source) -> Path:
    """The template database plus the demo set, built once."""
    from geo_app.services.demo import load_demo

    root = tmp_path_factory.mktemp("demo-template")
    db_path = root / "demo.sqlite"
    shutil.copy(template_db, db_path)
    app = make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source)
    with app.app_context():
        load_demo(get_session(), app.config["GEO_APP_SETTINGS"])
    app.extensions["geo_app.engine"].dispose()
    _fold_wal(db_path)
    return db_path


@contextmanager
def app_on_copy(template: Path | None, tmp_path: Path, boundary_source: str):
    """An app on a private copy of a template database (an empty one without a template)."""
    db_path = tmp_path / "app.sqlite"
    if template is not None:
        shutil.copy(template, db_path)
    app = make_app(db_path, tmp_path / "shapefiles", BOUNDARY_SOURCE=boundary_source)
    try:
        yield app
    finally:
        app.extensions["geo_app.engine"].dispose()


def find_elements(root, cls) -> list:
    """Every element of a folium tree (``root`` and below) that is a ``cls``."""
    from geo_app.maps.assets import walk_elements

    return [el for el in walk_elements(root) if isinstance(el, cls)]


@pytest.fixture
def demo_app(tmp_path, demo_template, boundary_source):
    """Real boundaries and the demo set."""
    with app_on_copy(demo_template, tmp_path, boundary_source) as app:
        yield app


@pytest.fixture
def demo_client(demo_app):
    client = demo_app.test_client()
    login_as(client, TEST_ADMIN)
    return client


@pytest.fixture
def empty_app(tmp_path, boundary_source):
    """No boundaries, no records."""
    with app_on_copy(None, tmp_path, boundary_source) as app:
        yield app


@pytest.fixture
def app(tmp_path, template_db, boundary_source):
    """Real boundaries and an admin user, no records."""
    with app_on_copy(template_db, tmp_path, boundary_source) as app:
        yield app


def login_as(client, username: str) -> None:
    """Log a test client in by session, without the cost of hashing a password."""
    with client.application.app_context():
        user = get_session().scalar(select(User).where(User.username == username))
    with client.session_transaction() as sess:
        sess["user_id"] = user.id
        sess["session_version"] = user.session_version


@pytest.fixture
def client(app):
    """A client logged in as an admin (reads and writes allowed)."""
    client = app.test_client()
    login_as(client, TEST_ADMIN)
    return client


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table, to assert that a failed operation changed nothing."""
    url = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    con = sqlite3.connect(url)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        con.close()


# --- production access settings: users vera (viewer) and edi (editor), CSRF on ----------------------


@pytest.fixture
def secure_app(tmp_path, template_db, boundary_source):
    db_path = tmp_path / "secure.sqlite"
    shutil.copy(template_db, db_path)
    app = make_app(
        db_path, tmp_path / "shp", BOUNDARY_SOURCE=boundary_source, ALLOW_ANONYMOUS_VIEW=False, CSRF_ENABLED=True
    )
    with app.app_context():
        session = get_session()
        for name, role in (("vera", "viewer"), ("edi", "editor")):
            create_user(session, name, f"{name}-password-123", role)
    yield app
    app.extensions["geo_app.engine"].dispose()


def _csrf(client, path="/login") -> str:
    """The CSRF token a page carries (its <meta name="csrf-token">)."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    return match.group(1)


def _login(client, username, password=None):
    """Log in through the form, as a browser does (password of the secure_app users by default)."""
    token = _csrf(client)
    return client.post(
        "/login", data={"username": username, "password": password or f"{username}-password-123", "csrf_token": token}
    )


@contextmanager
def postgres_database(server_url: str):
    """A new empty database on the PostgreSQL server of ``server_url`` (tests/test_postgres.py,
    tests/test_migrations.py); yields its URL and drops it afterwards."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    name = f"geo_app_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as con:
            con.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def get_closed(client, url: str, **kwargs):
    """GET a file response, read it and close it (send_file keeps the file open until closed)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response
