"""Schema migrations (geo_app/store/migrate.py, geo_app/store/migrations/).

A database of the release before migrations keeps every row through the upgrade to head; the models and
the migrations agree; the app refuses a database it must not touch. SQLite always, PostgreSQL too when
GEO_APP_TEST_POSTGRES_URL is set. The baseline databases are filled with SQLAlchemy Core on the reflected
baseline tables (copied from the demo template), so these tests keep working as revisions are added.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Column, MetaData, String, create_engine, func, inspect, select, text

from geo_app.cli import main as geo_app_cli
from geo_app.errors import SchemaVersionError
from geo_app.store import migrate
from geo_app.store.db import make_engine
from geo_app.store.models import Base
from tests.conftest import ON_POSTGRES, TEST_ADMIN, make_app, postgres_database, snapshot

# These tests migrate SQLite files and, through ``database_url``, PostgreSQL databases of their own in the
# ordinary (SQLite) run already; the PostGIS run of the suite has nothing to add here.
pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="runs against both databases in the SQLite run")

POSTGRES_URL = os.environ.get("GEO_APP_TEST_POSTGRES_URL")
TOKEN = "gat_made-before-the-upgrade"  # an API token as the release before migrations stored it
AUDIT_AFTER = {"title": "Rakor sebelum upgrade", "agencies": ["KPU", "Bawaslu"]}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database on each backend (PostgreSQL only when GEO_APP_TEST_POSTGRES_URL is set)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
    elif not POSTGRES_URL:
        pytest.skip("GEO_APP_TEST_POSTGRES_URL not set (.ci/run sets it)")
    else:
        with postgres_database(POSTGRES_URL) as url:
            yield url


def migrate_to(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine, revision)
    finally:
        engine.dispose()


def copy_rows(source: Path, url: str) -> dict[str, int]:
    """Copy every row of the SQLite database ``source`` into the tables at ``url`` (the columns both have);
    return the row counts copied."""
    src, dst = create_engine(f"sqlite:///{source}"), make_engine(url)
    counts = {}
    try:
        with src.connect() as s, dst.begin() as d:
            src_meta, dst_meta = MetaData(), MetaData()
            src_meta.reflect(s)
            dst_meta.reflect(d)
            for table in dst_meta.sorted_tables:
                if table.name in ("alembic_version", "spatial_ref_sys"):  # the latter is PostGIS's own
                    continue
                origin = src_meta.tables[table.name]
                columns = [origin.c[c.name] for c in table.columns if c.name in origin.c]
                rows = [dict(r) for r in s.execute(select(*columns)).mappings()]
                if rows:
                    d.execute(table.insert(), rows)
                counts[table.name] = len(rows)
            if d.dialect.name == "postgresql":  # explicit ids leave the serial sequences behind
                for table in dst_meta.sorted_tables:
                    if "id" in table.c and table.c.id.primary_key:
                        d.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
                            )
                        )
    finally:
        src.dispose()
        dst.dispose()
    return counts


def add_pre_upgrade_rows(url: str) -> None:
    """An API token and an audit entry written with only the baseline columns."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            meta = MetaData()
            meta.reflect(conn, only=["api_token", "audit_log"])
            now = datetime.now(UTC)
            conn.execute(
                meta.tables["api_token"].insert(),
                {
                    "name": "skrip lama",
                    "token_hash": hashlib.sha256(TOKEN.encode()).hexdigest(),
                    "role": "editor",
                    "created_by": TEST_ADMIN,
                    "created_at": now,
                },
            )
            conn.execute(
                meta.tables["audit_log"].insert(),
                {
                    "at": now,
                    "actor": TEST_ADMIN,
                    "action": "create",
                    "kind": "meetings",
                    "record_id": 999,
                    "batch": None,
                    "before": None,
                    "after": AUDIT_AFTER,
                },
            )
    finally:
        engine.dispose()


def table_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            meta = MetaData()
            meta.reflect(conn)
            return {t.name: conn.scalar(select(func.count()).select_from(t)) for t in meta.sorted_tables}
    finally:
        engine.dispose()


@pytest.mark.parametrize("stamped", [True, False], ids=["at-baseline", "made-by-create_all"])
def test_upgrade_keeps_every_row(database_url, stamped, demo_template, tmp_path, boundary_source):
    """A database of the release before migrations (at 0001_baseline, or made by create_all without
    alembic_version) with boundaries, the demo set, a user, a token and an audit entry: the app upgrades it
    to head at start, keeps every row and serves them."""
    started = time.perf_counter()
    migrate_to(database_url, migrate.BASELINE)
    copied = copy_rows(demo_template, database_url)
    add_pre_upgrade_rows(database_url)
    if not stamped:
        engine = make_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE alembic_version"))
        engine.dispose()
    assert copied["desa"] == 151 and copied["polling_station"] == 327 and copied["meeting_desa"] > 0
    assert copied["app_user"] >= 1 and copied["audit_log"] >= 0

    app = make_app(
        tmp_path / "unused.sqlite",
        tmp_path / "shp",
        DATABASE_URL=database_url,
        BOUNDARY_SOURCE=boundary_source,
        ALLOW_ANONYMOUS_VIEW=False,
    )
    try:
        engine = app.extensions["geo_app.engine"]
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_heads() == (migrate.head_revision(),)
            counts = table_counts(database_url)
            expected = {**copied, "api_token": copied["api_token"] + 1, "audit_log": copied["audit_log"] + 1}
            assert {t: counts[t] for t in expected} == expected
            assert conn.scalar(text("SELECT sum(voters) FROM polling_station")) == 139_976
            assert conn.scalar(
                text("SELECT password_hash FROM app_user WHERE username = :u"), {"u": TEST_ADMIN}
            ) == _value(demo_template, "SELECT password_hash FROM app_user WHERE username = ?", TEST_ADMIN)
            # PostgreSQL: a PostGIS column since 0004, read back as WKB
            as_wkb = "ST_AsBinary(geometry)" if conn.dialect.name == "postgresql" else "geometry"
            geometry = conn.scalar(text(f"SELECT {as_wkb} FROM desa WHERE code = '17.06.10.2001'"))
            assert bytes(geometry) == _value(demo_template, "SELECT geometry FROM desa WHERE code = '17.06.10.2001'")
            audit = conn.execute(text("SELECT actor, after FROM audit_log WHERE record_id = 999")).one()
            after = audit.after if isinstance(audit.after, dict) else json.loads(audit.after)
            assert audit.actor == TEST_ADMIN and after == AUDIT_AFTER

        bearer = {"Authorization": f"Bearer {TOKEN}"}  # the token made before the upgrade still works
        client = app.test_client()
        assert client.get("/api/desa").status_code == 401
        desa = client.get("/api/desa", headers=bearer)
        assert desa.status_code == 200 and len(desa.json["features"]) == 151
        assert client.get("/api/coverage", headers=bearer).status_code == 200
        created = client.post(
            "/api/incidents",
            headers=bearer,
            json={
                "occurred_at": "2024-11-26T09:00",
                "category": "hoax",
                "severity": "low",
                "desa": "Penarik",
                "description": "dilaporkan setelah upgrade",
            },
        )
        assert created.status_code == 201, created.json
    finally:
        app.extensions["geo_app.engine"].dispose()
    print(
        f"upgrade test ({'stamped' if stamped else 'create_all'}, {database_url.split(':')[0]}): "
        f"{time.perf_counter() - started:.2f} s"
    )


def _value(db: Path, sql: str, *params):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchone()[0]
    finally:
        con.close()


def test_models_and_migrations_agree(database_url):
    """`alembic check` finds nothing between the models and a database upgraded to head; the comparison is
    not blind: a column added to (a copy of) the models, or a changed length, shows up."""
    migrate_to(database_url, "head")
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            command.check(migrate.alembic_config(connection=conn))

            changed = MetaData()
            for table in Base.metadata.sorted_tables:
                table.to_metadata(changed)
            changed.tables["app_user"].append_column(Column("phone", String(20), nullable=True))
            changed.tables["desa"].c.name.type = String(200)
            diffs = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True, "include_object": migrate.include_object}),
                changed,
            )
    finally:
        engine.dispose()
    kinds = {(d[0], d[2]) if isinstance(d, tuple) else (d[0][0], d[0][2]) for d in diffs}
    assert ("add_column", "app_user") in kinds and ("modify_type", "desa") in kinds, diffs


# --- the baseline never changes -------------------------------------------------------------------

#: sha256 of describe_schema() at 0001_baseline on SQLite, which equals the schema create_all made with
#: geo_app/store/models.py at b13096f (compared table by table, and with pg_dump on PostgreSQL, when it was
#: written). If this fails, 0001_baseline.py was edited: restore it and put the change in a new revision.
BASELINE_FINGERPRINT = "58f23529060f06aa164fd70ca86f7a534b9587f8828feb3c26b78149cf2af27f"


def describe_schema(conn) -> str:
    """Tables, columns (type, nullability, default), keys and indexes, one line per table."""
    insp = inspect(conn)
    lines = []
    for t in sorted(n for n in insp.get_table_names() if n != "alembic_version"):
        columns = ", ".join(
            f"{c['name']} {c['type']}{'' if c['nullable'] else ' NOT NULL'} {c['default']}" for c in insp.get_columns(t)
        )
        keys = [f"pk{insp.get_pk_constraint(t)['constrained_columns']}"]
        keys += sorted(f"uq {u['name']} {u['column_names']}" for u in insp.get_unique_constraints(t))
        keys += sorted(
            f"fk {f['constrained_columns']} {f['referred_table']}{f['referred_columns']} {f['options']}"
            for f in insp.get_foreign_keys(t)
        )
        keys += sorted(f"ix {i['name']} {i['column_names']} {i['unique']}" for i in insp.get_indexes(t))
        lines.append(f"{t}({columns}) {'; '.join(keys)}")
    return "\n".join(lines)


def test_baseline_is_frozen(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'baseline.sqlite'}")
    try:
        migrate.upgrade(engine, migrate.BASELINE)
        with engine.connect() as conn:
            described = describe_schema(conn)
    finally:
        engine.dispose()
    assert hashlib.sha256(described.encode()).hexdigest() == BASELINE_FINGERPRINT, described


# --- refusing to start, failed and concurrent upgrades --------------------------------------------

PROBE_REVISION = '''"""probe revision for tests/test_migrations.py"""
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade():
{body}


def downgrade():
    pass
'''
#: a SQLite "move and copy" of meeting, the parent of meeting_desa (ON DELETE CASCADE)
RECREATE_MEETING = """    with op.batch_alter_table("meeting", recreate="always") as batch:
        batch.add_column(sa.Column("probe", sa.String(8), nullable=True))"""
FAILING = """    op.add_column("app_user", sa.Column("probe", sa.Integer(), nullable=True))
    op.execute("UPDATE app_user SET probe = 1")
    raise RuntimeError("probe migration fails half-way")"""


def with_probe_revision(tmp_path, monkeypatch, body: str) -> str:
    """Point the app at a copy of the migrations with one more revision after head; return its id."""
    down = migrate.head_revision()
    location = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, location, ignore=shutil.ignore_patterns("__pycache__"))
    revision = "9001_probe"
    (location / "versions" / f"{revision}.py").write_text(
        PROBE_REVISION.format(revision=revision, down=down, body=body)
    )
    monkeypatch.setattr(migrate, "script_location", location)
    return revision


def _at_head_copy(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "app.sqlite"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


def test_behind_head_with_auto_upgrade_off_refuses_until_db_upgrade(
    demo_template, tmp_path, monkeypatch, boundary_source
):
    url = _at_head_copy(demo_template, tmp_path)
    old_head = migrate.head_revision()
    probe = with_probe_revision(tmp_path, monkeypatch, RECREATE_MEETING)
    before = snapshot(SimpleNamespace(config={"DATABASE_URL": url}))
    env = {"GEO_APP_DATABASE_URL": url, "GEO_APP_AUTO_UPGRADE": "0", "GEO_APP_BOUNDARY_SOURCE": boundary_source}

    with pytest.raises(SchemaVersionError) as refused:
        make_app(tmp_path / "app.sqlite", tmp_path / "shp", AUTO_UPGRADE=False)
    assert old_head in refused.value.message and probe in refused.value.message
    assert "geo-app db upgrade" in refused.value.message
    served = CliRunner().invoke(geo_app_cli, ["users", "list"], env=env)
    assert served.exit_code == 1 and "geo-app db upgrade" in served.output and "Traceback" not in served.output
    assert snapshot(SimpleNamespace(config={"DATABASE_URL": url})) == before  # nothing touched

    upgraded = CliRunner().invoke(geo_app_cli, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0 and f"{old_head} -> {probe}" in upgraded.output, upgraded.output
    current = CliRunner().invoke(geo_app_cli, ["db", "current"], env=env)
    assert f"current: {probe} (at head)" in current.output
    after = snapshot(SimpleNamespace(config={"DATABASE_URL": url}))
    # the meeting table was copied and dropped with foreign keys off: no meeting_desa row went with it
    assert after["meeting_desa"] == before["meeting_desa"] and len(after["meeting"]) == len(before["meeting"])
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    con.close()
    app = make_app(tmp_path / "app.sqlite", tmp_path / "shp", AUTO_UPGRADE=False)  # at head: starts
    app.extensions["geo_app.engine"].dispose()


def test_failed_migration_changes_nothing(template_db, tmp_path, monkeypatch):
    url = _at_head_copy(template_db, tmp_path)
    with_probe_revision(tmp_path, monkeypatch, FAILING)
    before = snapshot(SimpleNamespace(config={"DATABASE_URL": url}))
    with pytest.raises(RuntimeError, match="half-way"):
        make_app(tmp_path / "app.sqlite", tmp_path / "shp")
    assert snapshot(SimpleNamespace(config={"DATABASE_URL": url})) == before


def test_unknown_revision_refuses(template_db, tmp_path):
    """A database upgraded by a newer release (or the code downgraded): refuse, even with AUTO_UPGRADE."""
    url = _at_head_copy(template_db, tmp_path)
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    con.execute("UPDATE alembic_version SET version_num = '0099_from_a_newer_release'")
    con.commit()
    con.close()
    before = snapshot(SimpleNamespace(config={"DATABASE_URL": url}))
    with pytest.raises(SchemaVersionError) as refused:
        make_app(tmp_path / "app.sqlite", tmp_path / "shp")
    assert "0099_from_a_newer_release" in refused.value.message and migrate.head_revision() in refused.value.message
    assert snapshot(SimpleNamespace(config={"DATABASE_URL": url})) == before
    with pytest.raises(SchemaVersionError):
        migrate_to(url, "head")


def test_table_set_unlike_the_baseline_refuses(tmp_path):
    """Tables but no alembic_version, and not the baseline's: not stamped, not touched."""
    url = f"sqlite:///{tmp_path / 'odd.sqlite'}"
    migrate_to(url, migrate.BASELINE)
    con = sqlite3.connect(tmp_path / "odd.sqlite")
    con.executescript("DROP TABLE alembic_version; DROP TABLE login_failure;")
    con.close()
    with pytest.raises(SchemaVersionError, match="missing login_failure"):
        make_app(tmp_path / "odd.sqlite", tmp_path / "shp")
    assert "alembic_version" not in inspect(create_engine(url)).get_table_names()


def test_templates_are_at_head_and_start_without_migrating(template_db, demo_template, tmp_path, monkeypatch):
    """conftest's templates carry alembic_version, so an app per test only reads the revision."""
    for template in (template_db, demo_template):
        assert _value(template, "SELECT version_num FROM alembic_version") == migrate.head_revision()

    def no_migrations(*_args, **_kwargs):
        raise AssertionError("an at-head database must not be migrated")

    monkeypatch.setattr(migrate, "upgrade", no_migrations)
    app = make_app(Path(_at_head_copy(template_db, tmp_path).removeprefix("sqlite:///")), tmp_path / "shp")
    app.extensions["geo_app.engine"].dispose()


def _start(url: str) -> str:
    engine = make_engine(url)
    try:
        return migrate.ensure_schema(engine).kind
    finally:
        engine.dispose()


def test_concurrent_starts_upgrade_once(database_url):
    """Several processes starting on one empty database: the lock lets one migrate, the others find head."""
    with multiprocessing.get_context("fork").Pool(4) as pool:
        assert pool.map(_start, [database_url] * 4) == ["at_head"] * 4
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
                migrate.head_revision()
            ]
    finally:
        engine.dispose()


# --- 0006: every rakor names the kabupaten that held it ---------------------------------------------

BEFORE_0006 = "0005_pending_upload"
REVISION_0006 = "0006_meeting_host_kabupaten"


def downgrade_to(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with migrate._ALEMBIC_LOCK, migrate.migration_transaction(engine) as conn:
            command.downgrade(migrate.alembic_config(connection=conn), revision)
    finally:
        engine.dispose()


def copy_areas(source: Path, url: str, kabupaten: tuple[str, ...]) -> dict[str, list[str]]:
    """The kabupaten, kecamatan and desa rows of ``kabupaten`` from the SQLite database ``source`` (the
    columns both have); returns the desa codes copied per kabupaten."""
    src, dst = create_engine(f"sqlite:///{source}"), make_engine(url)
    desa: dict[str, list[str]] = {}
    try:
        with src.connect() as s, dst.begin() as d:
            src_meta, dst_meta = MetaData(), MetaData()
            src_meta.reflect(s, only=["kabupaten", "kecamatan", "desa"])
            dst_meta.reflect(d, only=["kabupaten", "kecamatan", "desa"])
            for name in ("kabupaten", "kecamatan", "desa"):
                origin, table = src_meta.tables[name], dst_meta.tables[name]
                rows = [
                    dict(r)
                    for r in s.execute(select(*[origin.c[c.name] for c in table.columns if c.name in origin.c]))
                    .mappings()
                    .all()
                    if r["code"][:5] in kabupaten
                ]
                d.execute(table.insert(), rows)
                if name == "desa":
                    for r in sorted(rows, key=lambda r: r["code"]):
                        desa.setdefault(r["code"][:5], []).append(r["code"])
    finally:
        src.dispose()
        dst.dispose()
    return desa


def add_meetings(url: str, meetings: dict[str, dict]) -> dict[str, int]:
    """Rakor rows as the schema before 0006 stores them (``reached``: their meeting_desa rows); returns
    their ids by title."""
    engine = make_engine(url)
    ids = {}
    try:
        with engine.begin() as conn:
            meta = MetaData()
            meta.reflect(conn, only=["meeting", "meeting_desa"])
            now = datetime.now(UTC)
            for n, (title, fields) in enumerate(meetings.items()):
                reached = fields.pop("reached", [])
                row = {
                    "title": title,
                    "date": datetime(2024, 11, 1 + n).date(),
                    "content_hash": hashlib.sha256(title.encode()).hexdigest(),
                    "agencies": ["kpu"],
                    "reaches_all_desa": False,
                    "location_mismatch": False,
                    "synthetic": True,
                    "created_at": now,
                    "updated_at": now,
                    **fields,
                }
                ids[title] = conn.execute(
                    meta.tables["meeting"].insert().returning(meta.tables["meeting"].c.id), row
                ).scalar_one()
                for code in reached:
                    conn.execute(meta.tables["meeting_desa"].insert(), {"meeting_id": ids[title], "desa_code": code})
    finally:
        engine.dispose()
    return ids


def meeting_rows(url: str) -> tuple[dict[int, dict], list[tuple]]:
    """Every meeting row by id (all its columns) and every meeting_desa link."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            meta = MetaData()
            meta.reflect(conn, only=["meeting", "meeting_desa"])
            rows = {r["id"]: dict(r) for r in conn.execute(select(meta.tables["meeting"])).mappings()}
            links = sorted(tuple(r) for r in conn.execute(select(meta.tables["meeting_desa"])))
            return rows, links
    finally:
        engine.dispose()


def test_0006_fills_the_host_kabupaten_and_downgrades(database_url, province_template):
    """Two kabupaten loaded (Bengkulu Selatan 17.01, Mukomuko 17.06): the host kecamatan's kabupaten, else
    the host desa's, else the reached desa's when they lie in one; a rakor reaching desa of both, or none,
    stays unplaced (NULL). Nothing else of a row changes (its content hash neither); the downgrade drops
    only the column, and upgrading again fills the same."""
    migrate_to(database_url, migrate.BASELINE)
    desa = copy_areas(province_template.path, database_url, ("17.01", "17.06"))
    a, b = desa["17.01"][:2]
    mukomuko = desa["17.06"][0]
    ids = add_meetings(
        database_url,
        {
            "host kecamatan": {"level": "kecamatan", "host_kecamatan_code": "17.06.08"},
            "host desa": {"level": "desa", "host_kecamatan_code": a[:8], "host_desa_code": a, "reached": [a]},
            "host desa only": {"level": "desa", "host_desa_code": mukomuko},
            "reach one kabupaten": {"level": "kabupaten", "reached": [a, b]},
            "reach two kabupaten": {"level": "kabupaten", "reached": [b, mukomuko]},
            "nothing": {"level": "kabupaten"},
        },
    )
    migrate_to(database_url, BEFORE_0006)
    before, links = meeting_rows(database_url)
    assert all("host_kabupaten_code" not in r for r in before.values())

    migrate_to(database_url, REVISION_0006)
    after, links_after = meeting_rows(database_url)
    assert {title: after[i]["host_kabupaten_code"] for title, i in ids.items()} == {
        "host kecamatan": "17.06",
        "host desa": "17.01",
        "host desa only": "17.06",
        "reach one kabupaten": "17.01",
        "reach two kabupaten": None,
        "nothing": None,
    }
    assert {i: {k: v for k, v in r.items() if k != "host_kabupaten_code"} for i, r in after.items()} == before
    assert links_after == links
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            insp = inspect(conn)
            assert any(i["column_names"] == ["host_kabupaten_code"] for i in insp.get_indexes("meeting"))
            fks = [f for f in insp.get_foreign_keys("meeting") if f["constrained_columns"] == ["host_kabupaten_code"]]
            assert [(f["referred_table"], f["referred_columns"]) for f in fks] == [("kabupaten", ["code"])]
    finally:
        engine.dispose()

    downgrade_to(database_url, BEFORE_0006)
    assert meeting_rows(database_url) == (before, links)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert not any("host_kabupaten" in str(i["column_names"]) for i in inspect(conn).get_indexes("meeting"))
    finally:
        engine.dispose()
    migrate_to(database_url, REVISION_0006)
    assert meeting_rows(database_url) == (after, links)


def test_0006_on_one_kabupaten_places_every_rakor_and_keeps_the_demo_unchanged(
    database_url, demo_template, tmp_path, boundary_source
):
    """Mukomuko alone with the demo set stored before 0006: every rakor gets 17.06 (also the kabupaten-level
    one without host or reached desa), and loading the demo again finds every record unchanged (the
    content hashes of existing rakor are those the new code computes)."""
    from geo_app.app_db import get_session
    from geo_app.services.demo import load_demo

    migrate_to(database_url, migrate.BASELINE)
    copy_rows(demo_template, database_url)
    migrate_to(database_url, BEFORE_0006)
    before, _ = meeting_rows(database_url)
    assert any(r["host_kecamatan_code"] is None and r["level"] == "kabupaten" for r in before.values())
    migrate_to(database_url, REVISION_0006)
    after, _ = meeting_rows(database_url)
    assert len(after) == len(before) > 0 and {r["host_kabupaten_code"] for r in after.values()} == {"17.06"}

    app = make_app(
        tmp_path / "unused.sqlite", tmp_path / "shp", DATABASE_URL=database_url, BOUNDARY_SOURCE=boundary_source
    )
    try:
        with app.app_context():
            counts = load_demo(get_session(), app.config["GEO_APP_SETTINGS"])
        assert all(c["inserted"] == c["updated"] == 0 < c["unchanged"] for c in counts.values()), counts
    finally:
        app.extensions["geo_app.engine"].dispose()
