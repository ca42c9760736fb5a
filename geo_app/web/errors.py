"""The one place where errors become responses: JSON under /api, an HTML page elsewhere."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from ..errors import GeoAppError


def _wants_json() -> bool:
    return request.path.startswith(("/api", "/ogc")) or request.path == "/healthz"


def _respond(status: int, code: str, message: str, details=None):
    if _wants_json():
        body = {"error": code, "message": message}
        if details is not None:
            body["details"] = details
        return jsonify(body), status
    return render_template("error.html", status=status, message=message, details=details), status


def register(app: Flask) -> None:
    @app.errorhandler(GeoAppError)
    def _geo_app_error(exc: GeoAppError):
        response, status = _respond(exc.status_code, exc.code, exc.message, exc.details)
        response = app.make_response((response, status))
        if getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(exc.retry_after)
        if status == 401 and _wants_json():
            response.headers["WWW-Authenticate"] = 'Bearer realm="geo-app"'
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return _respond(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # never leak internals to the user
        app.logger.exception("unhandled error on %s", request.path)
        return _respond(500, "internal_error", "Terjadi kesalahan internal / internal error")
