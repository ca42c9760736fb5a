"""Alembic environment for geo_app. It reads no Flask config: geo_app.store.migrate passes the connection
(``config.attributes["connection"]``, inside its locked transaction) or, for ``--sql`` output, the URL."""

from __future__ import annotations

from alembic import context

from geo_app.store.migrate import include_object
from geo_app.store.models import Base

config = context.config


def _skip_empty(_context, _revision, directives) -> None:
    """`geo-app db revision --autogenerate` writes no file when the models and the database agree."""
    if config.attributes.get("autogenerate") and directives[0].upgrade_ops.is_empty():
        directives[:] = []


OPTIONS = {
    "target_metadata": Base.metadata,
    "include_object": include_object,
    # SQLite alters tables by copying them ("batch"); on PostgreSQL batch operations are plain ALTERs
    "render_as_batch": True,
    "compare_type": True,
    "process_revision_directives": _skip_empty,
}


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "geo_app migrations run through geo_app.store.migrate (geo-app db ...), "
            "which passes the connection in config.attributes['connection']"
        )
    context.configure(connection=connection, **OPTIONS)
    # the caller holds the connection in a transaction: begin_transaction() leaves commit/rollback to it
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
