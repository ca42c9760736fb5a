"""The same storage on PostgreSQL: CI starts a server and sets GEO_APP_TEST_POSTGRES_URL (see .ci/run).

Each test gets its own schema-free database so runs do not see each other's rows.
"""

from __future__ import annotations

import os

import pytest

from geo_app import create_app
from geo_app.app_db import get_session
from geo_app.services.boundaries import import_boundaries
from geo_app.services.coverage import get_coverage
from geo_app.services.demo import load_demo
from geo_app.services.records import create_record
from geo_app.store.adapter import desa_frame
from geo_app.store.db import data_version
from tests.conftest import TEST_ADMIN, login_as, postgres_database

URL = os.environ.get("GEO_APP_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not URL, reason="GEO_APP_TEST_POSTGRES_URL not set (.ci/run sets it)")


@pytest.fixture
def pg_app(tmp_path, boundary_source):
    with postgres_database(URL) as url:
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": url,
                "SHAPEFILE_DIR": str(tmp_path / "shp"),
                "BOUNDARY_SOURCE": boundary_source,
                "SECRET_KEY": "test",
                "ALLOW_ANONYMOUS_VIEW": True,
                "CSRF_ENABLED": False,
            }
        )
        yield app
        app.extensions["geo_app.engine"].dispose()


def test_boundaries_demo_and_coverage_on_postgres(pg_app):
    settings = pg_app.config["GEO_APP_SETTINGS"]
    with pg_app.app_context():
        session = get_session()
        first = import_boundaries(session, settings)
        assert first.counts.inserted == {"kabupaten": 1, "kecamatan": 15, "desa": 151}
        version = data_version(session)
        again = import_boundaries(session, settings)
        assert again.counts.changed is False and data_version(session) == version
        desa = desa_frame(session)
        assert len(desa) == 151 and abs(desa["area_km2"].sum() - 4143) / 4143 < 0.01
        load_demo(session, settings)
        load_demo(session, settings)  # twice: no duplicates
        result = get_coverage(session)
        assert result.summary["tps_count"] == 327 and result.summary["voters"] == 139_976
        tps = create_record(session, settings, "tps", {"desa": "Penarik", "number": 77, "voters": 120})
        assert tps["desa_code"] == "17.06.10.2001"


def test_api_and_access_on_postgres(pg_app):
    from geo_app.services.users import create_user

    with pg_app.app_context():
        import_boundaries(get_session(), pg_app.config["GEO_APP_SETTINGS"])
        create_user(get_session(), TEST_ADMIN, "admin-test-password", "admin")
    client = pg_app.test_client()
    login_as(client, TEST_ADMIN)
    created = client.post(
        "/api/incidents",
        json={
            "occurred_at": "2024-11-20T10:00",
            "category": "hoax",
            "severity": "low",
            "desa": "Penarik",
            "description": "hoaks",
        },
    )
    assert created.status_code == 201, created.json
    duplicate = client.post(
        "/api/incidents",
        json={
            "occurred_at": "2024-11-20T10:00",
            "category": "hoax",
            "severity": "low",
            "desa": "Penarik",
            "description": "hoaks",
        },
    )
    assert duplicate.status_code == 409
    listed = client.get("/api/incidents?kecamatan=Penarik&date_from=2024-11-01").json
    assert listed["total"] == 1
    assert client.get("/api/polling-stations?desa=1' OR '1'='1").status_code in (200, 400)
