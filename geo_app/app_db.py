"""The app's database and the session of the current request or CLI command.

``create_app`` opens one :class:`~geo_app.store.db.Database`; :func:`get_session` opens a session on
first use within an app context (every request; every ``geo-app`` command, which Flask's CLI runs inside
one) and the app closes it on teardown, as in Flask's tutorial app. The store, the services and the
analysis never see Flask: they take the session as an argument.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from .store.db import Database

_KEY = "geo_app.database"


def init_app(app: Flask) -> None:
    """Open the database of ``DATABASE_URL`` (upgrading or refusing its schema) and close sessions on teardown."""
    database = Database.open(app.config["DATABASE_URL"], auto_upgrade=app.config.get("AUTO_UPGRADE", True))
    app.extensions[_KEY] = database
    app.extensions["geo_app.engine"] = database.engine  # scripts and tests dispose of it
    app.teardown_appcontext(close_session)


def current_settings() -> dict[str, Any]:
    """The settings of the running app (``geo_app.config``: every key declared there)."""
    return current_app.config["GEO_APP_SETTINGS"]


def database(app: Flask) -> Database:
    return app.extensions[_KEY]


def get_session() -> Session:
    """The request's (or CLI command's) session, opened on first use."""
    if "db_session" not in g:
        g.db_session = database(current_app).session()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
