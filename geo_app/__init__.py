"""Mukomuko coordination map service (peta koordinasi Pilkada Kabupaten Mukomuko)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask


def _instance_secret(instance: Path) -> str:
    """A per-installation secret key, created once with owner-only permissions."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Application factory: settings, storage, blueprints, error handlers and CLI; nothing at import time."""
    from . import app_db, cli
    from .config import PROJECT_ROOT, load_settings
    from .web import register_web

    settings = load_settings(config)
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=False,
    )
    app.config.update(settings)
    app.config["GEO_APP_SETTINGS"] = settings
    app.config["SECRET_KEY"] = settings["SECRET_KEY"] or _instance_secret(Path(app.instance_path))
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings["SECURE_COOKIES"]),
    )
    if int(settings.get("PROXY_COUNT") or 0) > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(settings["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app_db.init_app(app)
    register_web(app)
    cli.register(app)
    return app
