"""The one place where errors become responses: JSON under /api, an HTML page elsewhere.

JSON keeps the bilingual "Indonesian / English" message; a page shows it in the chosen language.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from ..errors import GeoAppError
from ..i18n import N_, localize, msg
from .locale import current_lang

#: what a page says for an HTTP error Werkzeug raises itself (its descriptions are English only)
HTTP_MESSAGES = {
    400: N_("Permintaan tidak dapat diproses."),
    403: N_("Anda tidak boleh membuka halaman ini."),
    404: N_("Halaman tidak ditemukan. Periksa alamatnya, atau kembali ke beranda."),
    405: N_("Cara membuka halaman ini tidak diizinkan."),
    413: N_("Berkas atau permintaan terlalu besar."),
    429: N_("Terlalu banyak permintaan; coba lagi sebentar lagi."),
}


def _wants_json() -> bool:
    return request.path.startswith(("/api", "/ogc")) or request.path == "/healthz"


def _respond(status: int, code: str, message: str, details=None):
    if _wants_json():
        body = {"error": code, "message": message}
        if details is not None:
            body["details"] = details
        return jsonify(body), status
    lang = current_lang()
    return render_template(
        "error.html", status=status, message=localize(message, lang), details=localize(details, lang)
    ), status


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
        status = exc.code or 500
        message = exc.description or ""
        if not _wants_json() and status in HTTP_MESSAGES:
            message = msg(HTTP_MESSAGES[status])
        return _respond(status, (exc.name or "error").lower().replace(" ", "_"), message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # never leak internals to the user
        app.logger.exception("unhandled error on %s", request.path)
        return _respond(500, "internal_error", msg("Terjadi kesalahan internal"))
