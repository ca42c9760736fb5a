"""Schema migrations (Alembic), configured in code so they run from an installed package and any directory.

At start ``Database.open`` (``db.py``) calls :func:`ensure_schema`:

* at head: nothing more than reading ``alembic_version`` (a few ms);
* empty database: upgraded to head;
* tables but no ``alembic_version`` (made by the release before migrations, with ``create_all``): checked
  against ``0001_baseline``, stamped with it, then upgraded;
* behind head: upgraded, unless ``AUTO_UPGRADE`` is false: then it refuses to start (``geo-app db upgrade``);
* a revision this code does not know (the database was upgraded by a newer release): refuses to start.

Every change runs in one transaction that holds a lock, so concurrent starts upgrade once and a failed
migration leaves the database as it was.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine

from ..errors import SchemaVersionError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: The schema of the last release made with ``create_all``; never edit its migration.
BASELINE = "0001_baseline"
UPGRADE_COMMAND = "geo-app db upgrade"
#: pg_advisory_xact_lock key held while migrating ("geo_app" in ASCII).
_PG_LOCK_KEY = 0x67656F5F617070

#: Where the migration scripts are; tests point it at a copy with extra revisions.
script_location = MIGRATIONS_DIR
#: Alembic's ``op``/``context`` are process-wide proxies: one command at a time per process (taken before
#: the database lock, always in that order).
_ALEMBIC_LOCK = threading.RLock()


#: PostGIS's own table, and the GiST indexes migration 0004 makes on PostgreSQL only (not in the models,
#: which SQLite shares), are no difference between the models and the database.
POSTGIS_TABLES = frozenset({"spatial_ref_sys"})


def include_object(_obj, name, type_, _reflected, _compare_to) -> bool:
    """Alembic's filter for comparing the models with a database (``alembic check``, autogenerate)."""
    if type_ == "table" and name in POSTGIS_TABLES:
        return False
    return not (type_ == "index" and name and name.endswith("_geometry_gist"))


def alembic_config(url: str | None = None, *, connection: Connection | None = None) -> Config:
    """An Alembic config for the package's scripts; ``connection`` is what env.py migrates."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("file_template", "%%(rev)s")  # revision ids carry their slug: 0002_add_x.py
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.lru_cache(maxsize=4)
def _scripts(location: str) -> ScriptDirectory:
    return ScriptDirectory(location)


def scripts() -> ScriptDirectory:
    """The revision scripts, read once per process."""
    return _scripts(str(script_location))


def head_revision() -> str:
    return scripts().get_current_head()


@dataclass(frozen=True)
class SchemaState:
    kind: str  # at_head | empty | legacy | behind | unknown
    current: str | None  # revision(s) stored in alembic_version
    head: str


def schema_state(connection: Connection) -> SchemaState:
    """Where the database stands against the scripts; reads only ``alembic_version`` when at head."""
    head = head_revision()
    stored = MigrationContext.configure(connection).get_current_heads()
    if stored == (head,):
        return SchemaState("at_head", head, head)
    if not stored:
        ours = set(inspect(connection).get_table_names()) & set(baseline_columns())
        return SchemaState("legacy" if ours else "empty", None, head)
    current = ",".join(stored)
    known = len(stored) == 1 and _known(stored[0])
    return SchemaState("behind" if known else "unknown", current, head)


def _known(revision: str) -> bool:
    try:
        return scripts().get_revision(revision) is not None
    except CommandError:
        return False


@functools.lru_cache(maxsize=4)
def _baseline_columns(location: str) -> dict[str, frozenset[str]]:
    engine = create_engine("sqlite://")
    try:
        with _ALEMBIC_LOCK, engine.connect() as conn, conn.begin():
            command.upgrade(alembic_config(connection=conn), BASELINE)
            insp = inspect(conn)
            return {
                t: frozenset(c["name"] for c in insp.get_columns(t))
                for t in insp.get_table_names()
                if t != "alembic_version"
            }
    finally:
        engine.dispose()


def baseline_columns() -> dict[str, frozenset[str]]:
    """Table -> column names at ``0001_baseline``, read from the migration itself (in memory, once)."""
    return _baseline_columns(str(script_location))


def ensure_schema(engine: Engine, *, auto_upgrade: bool = True) -> SchemaState:
    """Bring the database to head at start, or refuse with :class:`SchemaVersionError` (see the module doc)."""
    with engine.connect() as conn:
        state = schema_state(conn)
    if state.kind == "at_head":
        return state
    if state.kind == "unknown":
        raise _unknown_error(state)
    if not auto_upgrade and state.kind in ("behind", "legacy"):
        if state.kind == "legacy":  # record what is there; no table changes
            upgrade(engine, BASELINE)
        if state.kind == "behind" or state.head != BASELINE:
            raise _behind_error(state.current or BASELINE, state.head)
        return SchemaState("at_head", BASELINE, BASELINE)
    upgrade(engine)
    return SchemaState("at_head", state.head, state.head)


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade to ``revision`` in one locked transaction; returns the revisions (before, after).

    A database made before migrations is checked against the baseline and stamped with it first.
    """
    with _ALEMBIC_LOCK, migration_transaction(engine) as conn:
        state = schema_state(conn)  # again, under the lock: another process may have upgraded meanwhile
        if state.kind == "unknown":
            raise _unknown_error(state)
        cfg = alembic_config(connection=conn)
        if state.kind == "legacy":
            _check_legacy(conn)
            command.stamp(cfg, BASELINE)
        try:
            command.upgrade(cfg, revision)
        except CommandError as exc:
            raise SchemaVersionError(f"upgrade to {revision} failed: {exc}") from exc
        after = MigrationContext.configure(conn).get_current_heads()
    return state.current, ",".join(after) or None


@contextmanager
def migration_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction holding the migration lock; committed when the block succeeds.

    SQLite: foreign keys are off while migrating (the pragma cannot change inside a transaction), because
    a batch "move and copy" drops the old table and, with foreign keys on, that DROP would delete child rows
    (``ON DELETE CASCADE``) or fail; ``PRAGMA foreign_key_check`` runs before the commit instead.
    ``BEGIN IMMEDIATE`` takes the write lock at once: a second process waits (busy timeout), then sees head.
    PostgreSQL: DDL is transactional; a transaction-scoped advisory lock serialises concurrent starts.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        try:
            yield conn
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise SchemaVersionError(f"migration left broken foreign keys (rolled back): {broken[:5]}")
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def _check_legacy(conn: Connection) -> None:
    insp = inspect(conn)
    present = set(insp.get_table_names())
    missing = []
    for table, columns in sorted(baseline_columns().items()):
        if table not in present:
            missing.append(table)
        else:
            missing += [f"{table}.{c}" for c in sorted(columns - {c["name"] for c in insp.get_columns(table)})]
    if missing:
        raise SchemaVersionError(
            "database tanpa alembic_version tidak cocok dengan skema 0001_baseline / the database has tables but "
            f"no alembic_version and does not match {BASELINE}: missing {', '.join(missing)}. "
            "Restore a backup made by the release before migrations, or start with an empty database.",
            details={"missing": missing},
        )


def _behind_error(current: str, head: str) -> SchemaVersionError:
    return SchemaVersionError(
        f"skema database di revisi {current}, kode ini memerlukan {head} / the database schema is at revision "
        f"{current}, this code needs {head}: run `{UPGRADE_COMMAND}` (GEO_APP_AUTO_UPGRADE is off, "
        "so the app does not upgrade at start)",
        details={"current": current, "head": head},
    )


def _unknown_error(state: SchemaState) -> SchemaVersionError:
    return SchemaVersionError(
        f"skema database di revisi {state.current} yang tidak dikenal kode ini / the database schema is at "
        f"revision {state.current}, unknown to this code (its head is {state.head}): the database was upgraded "
        "by a newer release. Run that release, or restore a backup made before the upgrade; nothing was changed.",
        details={"current": state.current, "head": state.head},
    )


def history() -> list[tuple[str, str]]:
    """(revision, first line of its message), oldest first."""
    revs = list(scripts().walk_revisions())
    return [(r.revision, (r.doc or "").strip().splitlines()[0] if r.doc else "") for r in reversed(revs)]


def new_revision(engine: Engine, message: str, *, autogenerate: bool = True) -> Path | None:
    """Write ``versions/NNNN_<slug>.py`` (autogenerated against ``engine``, which must be at head);
    None when autogenerate finds no difference."""
    number = len(list(scripts().walk_revisions())) + 1
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40] or "change"
    with _ALEMBIC_LOCK, migration_transaction(engine) as conn:
        state = schema_state(conn)
        if autogenerate and state.kind != "at_head":
            raise SchemaVersionError(
                f"autogenerate needs a database at head {state.head} "
                f"(it is at {state.current or state.kind}): run `{UPGRADE_COMMAND}` first"
            )
        cfg = alembic_config(connection=conn)
        cfg.attributes["autogenerate"] = autogenerate
        script = command.revision(cfg, message, autogenerate=autogenerate, rev_id=f"{number:04d}_{slug}")
    _scripts.cache_clear()
    return Path(script.path) if script else None  # an empty list when nothing was written
