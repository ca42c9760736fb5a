"""Fixtures as in Flask's tutorial: ``app``, ``client``, ``runner`` on a temporary SQLite file.

The real boundaries are read from ``GEO_APP_BOUNDARY_SOURCE`` (CI: ../shared/data/wilayah_boundaries)
and imported once per test session into a template database that each test copies.

``GEO_APP_TEST_DATABASE=postgresql`` (with ``GEO_APP_TEST_POSTGRES_URL``; ``make test-postgis``) runs the
same suite on PostgreSQL/PostGIS: every path a test would give an SQLite file stands for a database of
its own on that server, and copying a template file is ``CREATE DATABASE … TEMPLATE``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

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

#: which database the suite runs on: "sqlite" (default) or "postgresql" (the whole suite on PostGIS)
TEST_DATABASE = os.environ.get("GEO_APP_TEST_DATABASE", "sqlite").strip().lower() or "sqlite"
if TEST_DATABASE not in ("sqlite", "postgresql"):
    raise pytest.UsageError(f"GEO_APP_TEST_DATABASE must be sqlite or postgresql, not {TEST_DATABASE!r}")
ON_POSTGRES = TEST_DATABASE == "postgresql"
#: for the few tests about the SQLite file itself (WAL, copying the file, a migration of an SQLite file)
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="about the SQLite file itself")


class PostgresDatabases:
    """Test databases on one PostgreSQL server, named after the SQLite path a test would have used."""

    def __init__(self, server_url: str) -> None:
        self.server = make_url(server_url)
        self.admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        self.created: set[str] = set()
        self.kept: set[str] = set()

    @staticmethod
    def name(path: Path) -> str:
        return "gt_" + hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:24]

    def url(self, path: Path) -> str:
        """The URL standing for ``path``; an empty database (PostGIS from template1) on first use."""
        name = self.name(path)
        if name not in self.created:
            with self.admin.connect() as con:
                con.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                con.execute(text(f'CREATE DATABASE "{name}"'))
            self.created.add(name)
        return self.server.set(database=name).render_as_string(hide_password=False)

    def copy(self, source: Path, target: Path) -> None:
        src, dst = self.name(source), self.name(target)
        with self.admin.connect() as con:
            con.execute(text(f'DROP DATABASE IF EXISTS "{dst}" WITH (FORCE)'))
            for attempt in range(20):  # a template must have no other session (autovacuum may hold one briefly)
                con.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :n AND usename = current_user AND pid <> pg_backend_pid()"
                    ),
                    {"n": src},
                )
                try:
                    con.execute(text(f'CREATE DATABASE "{dst}" TEMPLATE "{src}"'))
                    break
                except OperationalError:
                    if attempt == 19:
                        raise
                    time.sleep(0.25)
        self.created.add(dst)

    def keep(self, path: Path) -> None:
        """Templates live for the whole session; other databases are dropped after their test."""
        self.kept.add(self.name(path))

    def drop(self, names: set[str]) -> None:
        """Drop them; one a server process still holds is left to the next call (see ``drop_database``)."""
        with self.admin.connect() as con:
            dropped = {name for name in names if drop_database(con, name)}
        self.created -= dropped


def drop_database(con, name: str, attempts: int = 3) -> bool:
    """``DROP DATABASE … WITH (FORCE)`` on an AUTOCOMMIT connection; whether it went. FORCE cannot end a
    server process of another role (autovacuum analysing a freshly filled table, a gunicorn worker
    ending): retried a moment later, then left, so a test's clean-up never fails the test."""
    for attempt in range(attempts):
        try:
            con.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return True
        except DBAPIError:
            time.sleep(0.2 * (attempt + 1))
    return False


_POSTGRES: PostgresDatabases | None = None


def postgres_databases() -> PostgresDatabases:
    global _POSTGRES
    if _POSTGRES is None:
        url = os.environ.get("GEO_APP_TEST_POSTGRES_URL", "").strip()
        if not url:
            raise pytest.UsageError("GEO_APP_TEST_DATABASE=postgresql needs GEO_APP_TEST_POSTGRES_URL")
        _POSTGRES = PostgresDatabases(url)
    return _POSTGRES


def keep_database(db_path: Path) -> None:
    """A database a module-scoped fixture made lives until the session ends (PostgreSQL; SQLite: a file)."""
    if ON_POSTGRES:
        postgres_databases().keep(db_path)


def database_url(db_path: Path) -> str:
    """The database a test's ``db_path`` stands for: that SQLite file, or its PostgreSQL twin."""
    return postgres_databases().url(db_path) if ON_POSTGRES else f"sqlite:///{db_path}"


def copy_database(source: Path, target: Path) -> None:
    """A private copy of a template database (file copy, or ``CREATE DATABASE … TEMPLATE``)."""
    if ON_POSTGRES:
        postgres_databases().copy(source, target)
    else:
        shutil.copy(source, target)


@pytest.fixture(autouse=True)
def _drop_test_databases():
    """On PostgreSQL, drop the databases a test created (templates excepted)."""
    yield
    if ON_POSTGRES and _POSTGRES is not None:
        _POSTGRES.drop(_POSTGRES.created - _POSTGRES.kept)


def pytest_sessionfinish(session, exitstatus):
    if _POSTGRES is not None:
        _POSTGRES.drop(set(_POSTGRES.created))
        _POSTGRES.admin.dispose()


def make_app(db_path: Path, shapefile_dir: Path, **extra):
    """Tests read without logging in and post without CSRF tokens unless a test turns access control
    back on (tests/test_access.py does); writes still need a user, see the ``client`` fixture."""
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url(db_path),
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
    """Fold the WAL into the main file so that a plain copy of it is complete (PostgreSQL: keep the
    database for the session instead)."""
    if ON_POSTGRES:
        postgres_databases().keep(db_path)
        return
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
    copy_database(template_db, db_path)
    app = make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source)
    with app.app_context():
        load_demo(get_session(), app.config["GEO_APP_SETTINGS"])
    app.extensions["geo_app.engine"].dispose()
    _fold_wal(db_path)
    return db_path


@dataclass(frozen=True)
class ProvinceTemplate:
    """A database with every kabupaten/kota of Bengkulu (``GEO_APP_KABUPATEN=17``) and the test admin;
    ``report`` is what its first import said."""

    path: Path
    report: Any


@pytest.fixture(scope="session")
def province_template(tmp_path_factory, boundary_source) -> ProvinceTemplate:
    """The province's boundaries (10 kabupaten/kota, 1,513 desa), imported once for the session."""
    root = tmp_path_factory.mktemp("province-template")
    db_path = root / "province.sqlite"
    app = make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source, KABUPATEN="17")
    with app.app_context():
        report = import_boundaries(get_session(), app.config["GEO_APP_SETTINGS"])
        create_user(get_session(), TEST_ADMIN, "admin-test-password", "admin")
    app.extensions["geo_app.engine"].dispose()
    _fold_wal(db_path)
    return ProvinceTemplate(db_path, report)


@pytest.fixture
def province_app(province_template, tmp_path, boundary_source):
    """An app on a copy of the province template: the ten kabupaten/kota of Bengkulu, no records."""
    db_path = tmp_path / "province.sqlite"
    copy_database(province_template.path, db_path)
    app = make_app(db_path, tmp_path / "shapefiles", BOUNDARY_SOURCE=boundary_source, KABUPATEN="17")
    yield app
    app.extensions["geo_app.engine"].dispose()


@pytest.fixture(scope="session")
def province_demo_template(province_template, tmp_path_factory, boundary_source) -> ProvinceTemplate:
    """The province template plus ``demo load --province 17``, built once; ``report`` is the load's counts."""
    from geo_app.services.demo import load_demo

    root = tmp_path_factory.mktemp("province-demo-template")
    db_path = root / "province-demo.sqlite"
    copy_database(province_template.path, db_path)
    app = make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source, KABUPATEN="17")
    with app.app_context():
        counts = load_demo(get_session(), app.config["GEO_APP_SETTINGS"], province="17")
    app.extensions["geo_app.engine"].dispose()
    _fold_wal(db_path)
    return ProvinceTemplate(db_path, counts)


@contextmanager
def app_on_copy(template: Path | None, tmp_path: Path, boundary_source: str):
    """An app on a private copy of a template database (an empty one without a template)."""
    db_path = tmp_path / "app.sqlite"
    if template is not None:
        copy_database(template, db_path)
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


class DbConnection:
    """A DB-API connection to an app's database, SQLite or PostgreSQL, for tests that read rows directly
    (``execute`` returns the cursor; write SQL without parameters or in the driver's style)."""

    def __init__(self, app) -> None:
        self.engine = create_engine(app.config["DATABASE_URL"])
        self.raw = self.engine.raw_connection()

    def execute(self, sql: str, params: tuple = ()):
        cursor = self.raw.cursor()
        if params:
            cursor.execute(sql, params)
        else:  # no parameters: a literal % is no placeholder (psycopg)
            cursor.execute(sql)
        return cursor

    def table_names(self) -> list[str]:
        return sorted(t for t in inspect(self.engine).get_table_names() if t != "spatial_ref_sys")

    def close(self) -> None:
        self.raw.close()
        self.engine.dispose()


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table, to assert that a failed operation changed nothing."""
    engine = create_engine(app.config["DATABASE_URL"])
    try:
        with engine.connect() as con:
            tables = sorted(t for t in inspect(con).get_table_names() if t != "spatial_ref_sys")
            return {t: sorted((tuple(r) for r in con.execute(text(f'SELECT * FROM "{t}"'))), key=repr) for t in tables}
    finally:
        engine.dispose()


# --- production access settings: users vera (viewer) and edi (editor), CSRF on ----------------------


@pytest.fixture
def secure_app(tmp_path, template_db, boundary_source):
    db_path = tmp_path / "secure.sqlite"
    copy_database(template_db, db_path)
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
        try:
            with admin.connect() as con:
                drop_database(con, name, attempts=6)  # no later call drops what is left
        finally:
            admin.dispose()


def get_closed(client, url: str, **kwargs):
    """GET a file response, read it and close it (send_file keeps the file open until closed)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response
