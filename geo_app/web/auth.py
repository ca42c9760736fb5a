"""Access control in one place: who is asking (session or bearer token), what the request needs
(viewer for reading, editor for writing, admin for users/tokens/boundaries), and CSRF for
cookie-authenticated writes."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import unquote, urlparse

from flask import Blueprint, Flask, current_app, g, jsonify, redirect, render_template, request, session, url_for

from ..app_db import current_settings, get_session
from ..errors import Forbidden, TooManyAttempts, Unauthorized, ValidationError
from ..i18n import msg
from ..services import users as user_service
from .access import FRAMEWORK_PUBLIC, SAFE_METHODS, access_of, public, role

bp = Blueprint("auth", __name__)


def csrf_token() -> str:
    """The session's CSRF token (created on first use); forms send it as ``csrf_token``."""
    token = session.get("csrf_token")
    if not token:
        token = session["csrf_token"] = secrets.token_urlsafe(32)
    return token


def _clear_session() -> None:
    """Forget who is logged in (and the CSRF token) but keep the chosen language."""
    lang = session.get("lang")
    session.clear()
    if lang is not None:
        session["lang"] = lang


def _csrf_ok() -> bool:
    expected = session.get("csrf_token")
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    return bool(expected) and hmac.compare_digest(str(expected), str(sent))


def _identity():
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        identity = user_service.token_identity(get_session(), header[7:].strip())
        if identity is None:
            raise Unauthorized(msg("token API tidak valid atau sudah dicabut"))
        return identity, "token"
    user_id = session.get("user_id")
    if user_id is not None:
        identity = user_service.user_by_id(get_session(), int(user_id), session.get("session_version"))
        if identity is None:  # logged out elsewhere, password or role changed, or disabled
            _clear_session()
        return identity, "session"
    return None, None


def required_role(method: str, endpoint: str) -> str | None:
    """The least role a request needs, from the view's own declaration; None when anyone may.

    A view without a declaration needs a role nobody has (deny by default)."""
    if endpoint in FRAMEWORK_PUBLIC:
        return None
    access = access_of(current_app.view_functions.get(endpoint))
    if access is None:
        current_app.logger.error("view %s declares no role: refused", endpoint)
        raise Forbidden(msg("halaman ini belum menyatakan peran yang boleh"))
    needed = access.needed(method)
    if needed == "viewer" and method in SAFE_METHODS and current_app.config.get("ALLOW_ANONYMOUS_VIEW"):
        return None
    return needed


def _is_api() -> bool:
    return request.path.startswith(("/api", "/ogc"))  # /ogc: OGC API – Features clients expect a 401


def guard():
    identity, via = _identity()
    g.identity = identity
    if request.routing_exception is not None:  # no such route: a 404 (or 405) for everyone
        return None
    needed = required_role(request.method, request.endpoint or "")
    if needed is None:
        return None
    if identity is None:
        if _is_api() or request.method not in SAFE_METHODS:
            raise Unauthorized(msg("perlu masuk atau token API"))
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if not user_service.has_role(identity["role"], needed):
        raise Forbidden(msg("peran %(role)s tidak cukup, perlu %(needed)s", role=identity["role"], needed=needed))
    if (
        request.method not in SAFE_METHODS
        and via == "session"
        and current_settings()["CSRF_ENABLED"]
        and not _csrf_ok()
    ):
        raise Forbidden(msg("token CSRF hilang atau salah; muat ulang halaman"))
    return None


def actor() -> str | None:
    """The name written to the audit log for the current request."""
    identity = g.get("identity")
    return identity["username"] if identity else None


def _safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, the dashboard otherwise.

    Checked after percent-decoding, so ``//host``, ``/\\host``, ``/%2f/host``, schemes and control
    characters (which browsers strip) all fall back to the dashboard."""
    if not target:
        return url_for("pages.index")
    decoded = unquote(target)
    if (
        not decoded.startswith("/")
        or decoded.startswith("//")
        or "\\" in decoded
        or any(ord(c) < 32 or ord(c) == 127 for c in decoded)
    ):
        return url_for("pages.index")
    parsed = urlparse(decoded)
    if parsed.scheme or parsed.netloc:
        return url_for("pages.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    error, status, headers = None, 200, {}
    if request.method == "POST":
        if current_settings()["CSRF_ENABLED"] and not _csrf_ok():
            raise Forbidden(msg("token CSRF hilang atau salah; muat ulang halaman"))
        username = request.form.get("username", "").strip()
        try:
            identity = user_service.authenticate(
                get_session(), username, request.form.get("password", ""), request.remote_addr
            )
        except TooManyAttempts as exc:
            error, status, headers = exc.message, 429, {"Retry-After": str(exc.retry_after)}
        except Unauthorized as exc:
            error, status = exc.message, 401
        else:
            _clear_session()
            session["user_id"] = identity["id"]
            session["session_version"] = identity["session_version"]
            csrf_token()
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error, next=request.args.get("next", "")), status, headers


@bp.post("/logout")
@public
def logout():
    if current_settings()["CSRF_ENABLED"] and session.get("user_id") and not _csrf_ok():
        raise Forbidden(msg("token CSRF hilang atau salah; muat ulang halaman"))
    identity = g.get("identity")
    if identity and identity.get("id") is not None:
        user_service.end_sessions(get_session(), identity["id"])  # a copy of the cookie stops working too
    _clear_session()
    return redirect(url_for("auth.login"))


@bp.get("/api/audit")
@role("admin")
def audit_log():
    """The audit trail (admin): ?kind=meetings|tps|incidents|batch, ?record_id=, ?limit= (max 1000)."""
    from ..services.audit import history

    try:
        record_id = int(request.args["record_id"]) if request.args.get("record_id") else None
        limit = min(max(int(request.args.get("limit", 200)), 1), 1000)
    except ValueError:
        raise ValidationError(msg("record_id dan limit harus bilangan bulat")) from None
    return jsonify(history(get_session(), kind=request.args.get("kind") or None, record_id=record_id, limit=limit))


@bp.get("/api/tokens")
@role("admin")
def tokens_list():
    return jsonify(user_service.list_tokens(get_session()))


@bp.post("/api/tokens")
@role("admin")
def tokens_create():
    body = request.get_json()  # not JSON, or nested too deeply: 400 (415 without a JSON content type)
    if not isinstance(body, dict):
        raise ValidationError(msg("isi permintaan harus objek JSON"))
    identity = g.identity
    owner = str(body.get("user") or identity.get("user") or identity["username"])
    try:
        expires_days = int(body["expires_days"]) if body.get("expires_days") not in (None, "") else None
    except (TypeError, ValueError):
        raise ValidationError(msg("expires_days harus bilangan bulat")) from None
    token = user_service.create_token(
        get_session(),
        str(body.get("name", "")),
        str(body.get("role", "viewer")),
        owner,
        created_by=actor(),
        expires_days=expires_days,
    )
    return jsonify(token), 201


@bp.delete("/api/tokens/<int:token_id>")
@role("admin")
def tokens_revoke(token_id: int):
    user_service.revoke_token(get_session(), token_id, actor=actor())
    return "", 204


def register(app: Flask) -> None:
    app.before_request(guard)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_identity"] = lambda: g.get("identity")
    app.register_blueprint(bp)
