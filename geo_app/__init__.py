"""Mukomuko coordination map service (peta koordinasi Pilkada Kabupaten Mukomuko)."""
from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Application factory: settings, storage, blueprints, error handlers and CLI; nothing at import time."""
    from .config import PROJECT_ROOT, load_settings
    from .store import db
    from .web import register_web
    from . import cli

    settings = load_settings(config)
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=False,
    )
    app.config.update(settings)
    app.config["GEO_APP_SETTINGS"] = settings
    db.init_app(app)
    register_web(app)
    cli.register(app)
    return app
