"""Web layer: thin views (parse, call a service, serialise) grouped in blueprints per area."""
from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    from . import api, auth, errors, health, pages

    errors.register(app)
    auth.register(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    from . import forms, records_api

    app.register_blueprint(records_api.bp)
    app.register_blueprint(forms.bp)
    from . import coverage_api

    app.register_blueprint(coverage_api.bp)
    from ..maps.assets import create_blueprint as assets_blueprint

    app.register_blueprint(assets_blueprint())
