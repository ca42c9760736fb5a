"""The database: engine and session factory (:class:`Database`), transactions and the data version.

Nothing here knows about the web framework: callers pass a :class:`~sqlalchemy.orm.Session`. The app
opens one :class:`Database` at start and one session per request or CLI command (``geo_app/app_db.py``);
a script opens its own with :meth:`Database.open` and :meth:`Database.session`.

The schema is made and upgraded by the Alembic migrations in ``migrations/`` (see ``migrate.py``), not by
``create_all``: at start the database is brought to head or the app refuses to start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class Database:
    """One database: its engine and a session factory (sessions keep loaded values after commit)."""

    engine: Engine
    sessionmaker: sessionmaker[Session]

    @classmethod
    def open(cls, url: str, *, auto_upgrade: bool = True) -> Database:
        """Connect and bring the schema to the migration head (or refuse, see ``migrate.ensure_schema``)."""
        engine = make_engine(url)
        try:
            ensure_schema(engine, auto_upgrade=auto_upgrade)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, sessionmaker(engine, expire_on_commit=False))

    def session(self) -> Session:
        """A new session; the caller closes it (``with database.session() as session:``)."""
        return self.sessionmaker()

    def dispose(self) -> None:
        self.engine.dispose()


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
    """Mark ``name`` data as changed (inside the caller's transaction).

    One atomic upsert (``version = version + 1`` in the database), not read-then-write: two writers
    committing at once on PostgreSQL (several workers or hosts) would otherwise both write the same
    next version, and a page cached under it after the first commit would miss the second's data; and
    two first writes would both insert the row, one failing on its key."""
    session.info.pop(_VERSION_MEMO, None)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the two databases the service runs on
        raise RuntimeError(f"bump_version: no upsert for {dialect}")
    now = utcnow()
    stmt = insert(DataVersion).values(name=name, version=1, changed_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[DataVersion.name], set_={"version": DataVersion.version + 1, "changed_at": now}
    )
    session.flush()  # pending ORM writes first, in the order the caller made them
    session.execute(stmt)


#: ``session.info`` key: the data version read in the session's current transaction
_VERSION_MEMO = "geo_app.data_version"
#: built once: every cached page and data answer runs it
_VERSION_QUERY = select(DataVersion.name, DataVersion.version).order_by(DataVersion.name)


def data_version(session: Session) -> str:
    """A string that changes whenever any stored data changes.

    Read once per transaction (a request reads it for its ETag, the coverage cache and the page
    cache: one query, and all three agree); a write through :func:`bump_version` or the end of the
    transaction reads it again."""
    memo = session.info.get(_VERSION_MEMO)
    transaction = session.get_transaction()
    if memo is not None and transaction is not None and memo[0] is transaction:
        return memo[1]
    rows = session.connection().execute(_VERSION_QUERY).all()  # Core: no ORM layer for two columns
    version = ",".join(f"{n}:{v}" for n, v in rows) or "empty"
    session.info[_VERSION_MEMO] = (session.get_transaction(), version)
    return version
