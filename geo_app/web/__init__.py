"""Web layer: thin views (parse, call a service, serialise) grouped in blueprints per area."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider


class BoundedJSONProvider(DefaultJSONProvider):
    """Request bodies nested deeper than Python's recursion limit are bad JSON (400), not a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON bersarang terlalu dalam / JSON nested too deeply") from None


def register_web(app: Flask) -> None:
    app.json = BoundedJSONProvider(app)
    from . import (
        api,
        auth,
        compression,
        coverage_api,
        errors,
        forms,
        headers,
        health,
        imports,
        locale,
        pages,
        records_api,
    )
    from .assets import create_blueprint as assets_blueprint

    compression.register(app)  # first registered, so its after-request hook runs last, on the final body
    locale.init_app(app)  # before the access guard: its refusals and the login page follow ?lang=
    errors.register(app)
    headers.register(app)  # before the access guard, so refusals carry the headers too
    auth.register(app)  # access control runs before every view
    for blueprint in (health.bp, api.bp, pages.bp, records_api.bp, forms.bp, imports.bp, coverage_api.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(assets_blueprint())
    from . import gis, ogc  # OGC API – Features and GIS downloads (issue 15)

    app.register_blueprint(ogc.bp)
    app.register_blueprint(gis.bp)
    from . import map_data  # map pages' data by bbox and zoom (issue 11)

    app.register_blueprint(map_data.bp)
    from . import favicon  # the site icon (no favicon.ico 404 on any page)

    app.register_blueprint(favicon.bp)
