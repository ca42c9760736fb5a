"""Web layer: thin views (parse, call a service, serialise) grouped in blueprints per area."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider

NUL_MESSAGE = "karakter NUL (\\x00) tidak diterima / NUL characters (\\x00) are not accepted"


def has_nul(value: Any) -> bool:
    """Whether a decoded JSON value holds a NUL character in any string (key or value)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class BoundedJSONProvider(DefaultJSONProvider):
    """Request bodies nested deeper than Python's recursion limit are bad JSON (400), not a 500; so are
    strings with a NUL character, which PostgreSQL cannot store in text."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON bersarang terlalu dalam / JSON nested too deeply") from None
        if has_nul(value):
            raise ValueError(NUL_MESSAGE)
        return value


def _refuse_nul() -> None:
    """A NUL character in the path, the query or a form field is bad input (400) on every route: text
    columns of PostgreSQL cannot hold it, and no real name, code or date has one."""
    from ..errors import ValidationError

    fields = [request.path, *request.args.keys(), *request.args.values()]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        fields += [*request.form.keys(), *request.form.values(), *(f.filename or "" for f in request.files.values())]
    if any("\x00" in field for field in fields):
        raise ValidationError(NUL_MESSAGE, details={"input": "nul"})


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
    app.before_request(_refuse_nul)  # first: before any view or access check reads the input
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
