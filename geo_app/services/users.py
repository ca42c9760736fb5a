"""Users, roles and API tokens. Passwords are hashed (werkzeug scrypt/pbkdf2); tokens stored as SHA-256."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import Conflict, NotFound, TooManyAttempts, Unauthorized, ValidationError
from ..store.db import transaction
from ..store.models import ApiToken, LoginFailure, User, utcnow

ROLES = ("viewer", "editor", "admin")
ROLE_RANK = {role: i for i, role in enumerate(ROLES)}
MIN_PASSWORD = 10
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,80}$")

# Slow-down after failed logins: the first few are free, then each one doubles the wait.
FREE_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
MAX_WAIT_SECONDS = 900


def has_role(role: str | None, needed: str) -> bool:
    return role in ROLE_RANK and ROLE_RANK[role] >= ROLE_RANK[needed]


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(f"peran {role!r} tidak dikenal / unknown role; pilihan: {', '.join(ROLES)}")
    return role


def create_user(session: Session, username: str, password: str, role: str) -> dict[str, Any]:
    if not _USERNAME.match(username or ""):
        raise ValidationError("nama pengguna 2–80 karakter huruf/angka/._@- / invalid username")
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(f"kata sandi minimal {MIN_PASSWORD} karakter / password too short")
    _check_role(role)
    with transaction(session):
        if session.scalar(select(User).where(User.username == username)) is not None:
            raise Conflict(f"pengguna {username!r} sudah ada / user exists")
        user = User(username=username, password_hash=generate_password_hash(password), role=role, active=True)
        session.add(user)
    return {"id": user.id, "username": user.username, "role": user.role, "active": user.active}


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"pengguna {username!r} tidak ada / no such user")
    return user


def set_role(session: Session, username: str, role: str) -> None:
    with transaction(session):
        _user(session, username).role = _check_role(role)


def set_active(session: Session, username: str, active: bool) -> None:
    with transaction(session):
        _user(session, username).active = active


def set_password(session: Session, username: str, password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(f"kata sandi minimal {MIN_PASSWORD} karakter / password too short")
    with transaction(session):
        _user(session, username).password_hash = generate_password_hash(password)


def list_users(session: Session) -> list[dict[str, Any]]:
    return [{"id": u.id, "username": u.username, "role": u.role, "active": u.active}
            for u in session.scalars(select(User).order_by(User.username))]


def _wait_seconds(session: Session, username: str, remote_addr: str | None, now: datetime) -> int:
    since = now - FAILURE_WINDOW
    by_user = session.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.username == username, LoginFailure.at >= since)) or 0
    by_addr = session.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.remote_addr == remote_addr, LoginFailure.at >= since)) if remote_addr else 0
    failures = max(by_user, (by_addr or 0) // 2)
    if failures < FREE_FAILURES:
        return 0
    last = session.scalar(select(func.max(LoginFailure.at)).where(LoginFailure.username == username)) or now
    if last.tzinfo is None:
        last = last.replace(tzinfo=timezone.utc)
    wait = min(MAX_WAIT_SECONDS, 2 ** (failures - FREE_FAILURES + 1))
    remaining = int((last + timedelta(seconds=wait) - now).total_seconds()) + 1
    return max(0, remaining)


def authenticate(session: Session, username: str, password: str, remote_addr: str | None = None,
                 now: datetime | None = None) -> dict[str, Any]:
    """Check a password; repeated failures make the next attempt wait (429)."""
    now = now or utcnow()
    wait = _wait_seconds(session, username, remote_addr, now)
    if wait:
        raise TooManyAttempts(f"terlalu banyak percobaan gagal; coba lagi dalam {wait} detik / "
                              f"too many failed logins, retry in {wait} s", retry_after=wait)
    user = session.scalar(select(User).where(User.username == username))
    ok = user is not None and user.active and check_password_hash(user.password_hash, password or "")
    with transaction(session):
        session.execute(delete(LoginFailure).where(LoginFailure.at < now - FAILURE_WINDOW))  # keep it small
        if not ok:
            session.add(LoginFailure(username=username[:80], remote_addr=remote_addr, at=now))
        else:
            session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    if not ok:
        raise Unauthorized("nama pengguna atau kata sandi salah / wrong username or password")
    return {"id": user.id, "username": user.username, "role": user.role}


def user_by_id(session: Session, user_id: int) -> dict[str, Any] | None:
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return {"id": user.id, "username": user.username, "role": user.role}


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: str, created_by: str | None = None) -> dict[str, Any]:
    """Returns the token text once; only its hash is kept."""
    _check_role(role)
    token = "gat_" + secrets.token_urlsafe(32)
    with transaction(session):
        row = ApiToken(name=(name or "token")[:80], token_hash=_hash_token(token), role=role, created_by=created_by)
        session.add(row)
    return {"id": row.id, "name": row.name, "role": row.role, "token": token}


def revoke_token(session: Session, token_id: int) -> None:
    with transaction(session):
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"token {token_id} tidak ada / no such token")
        row.revoked_at = row.revoked_at or utcnow()


def list_tokens(session: Session) -> list[dict[str, Any]]:
    return [{"id": t.id, "name": t.name, "role": t.role, "created_by": t.created_by,
             "revoked": t.revoked_at is not None} for t in session.scalars(select(ApiToken).order_by(ApiToken.id))]


def token_identity(session: Session, token: str) -> dict[str, Any] | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token or "")))
    if row is None or row.revoked_at is not None:
        return None
    return {"id": None, "username": f"token:{row.name}", "role": row.role}
