"""Engine per app, session per request (closed on teardown), as in Flask's tutorial app.

The schema is made and upgraded by the Alembic migrations in ``migrations/`` (see ``migrate.py``), not by
``create_all``: at start the database is brought to head or the app refuses to start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .migrate import ensure_schema
from .models import DataVersion, utcnow


def make_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    try:
        ensure_schema(engine, auto_upgrade=app.config.get("AUTO_UPGRADE", True))
    except BaseException:
        engine.dispose()
        raise
    app.extensions["geo_app.engine"] = engine
    app.extensions["geo_app.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(close_session)


def get_session() -> Session:
    """The request's (or CLI command's) session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["geo_app.sessionmaker"]()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """All-or-nothing: commit on success, roll back everything on any exception."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def bump_version(session: Session, name: str) -> None:
    """Mark ``name`` data as changed (inside the caller's transaction)."""
    row = session.get(DataVersion, name)
    if row is None:
        row = DataVersion(name=name, version=0)
        session.add(row)
    row.version = (row.version or 0) + 1
    row.changed_at = utcnow()


def data_version(session: Session) -> str:
    """A string that changes whenever any stored data changes."""
    rows = session.execute(select(DataVersion.name, DataVersion.version).order_by(DataVersion.name)).all()
    return ",".join(f"{n}:{v}" for n, v in rows) or "empty"
