"""Users, roles and API tokens. Passwords are hashed (werkzeug scrypt/pbkdf2); tokens stored as SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import Conflict, NotFound, TooManyAttempts, Unauthorized, ValidationError
from ..i18n import msg
from ..store.db import transaction
from ..store.models import ApiToken, LoginFailure, User, utcnow
from .audit import record_change

ROLES = ("viewer", "editor", "admin")
ROLE_RANK = {role: i for i, role in enumerate(ROLES)}
MIN_PASSWORD = 10
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,80}$")

# Slow-down after failed logins, counted per (account, address): the first few are free, then each
# one doubles the wait. Failures from other addresses never slow the owner down on theirs; one
# address guessing across many accounts is slowed by its own total (ADDRESS_FACTOR times more).
FREE_FAILURES = 5
ADDRESS_FACTOR = 4
FAILURE_WINDOW = timedelta(minutes=15)
MAX_WAIT_SECONDS = 900
MAX_TOKEN_DAYS = 3650
#: last_used_at is written at most this often per token (not one write per API request)
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def has_role(role: str | None, needed: str) -> bool:
    return role in ROLE_RANK and ROLE_RANK[role] >= ROLE_RANK[needed]


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(
            msg("peran %(role)r tidak dikenal; pilihan: %(choices)s", role=role, choices=", ".join(ROLES))
        )
    return role


def create_user(session: Session, username: str, password: str, role: str, actor: str | None = None) -> dict[str, Any]:
    if not _USERNAME.match(username or ""):
        raise ValidationError(msg("nama pengguna 2–80 karakter huruf/angka/._@-"))
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(msg("kata sandi minimal %(n)s karakter", n=MIN_PASSWORD))
    _check_role(role)
    taken = Conflict(msg("pengguna %(name)r sudah ada", name=username))
    try:
        with transaction(session):
            if session.scalar(select(User).where(User.username == username)) is not None:
                raise taken
            user = User(
                username=username,
                password_hash=generate_password_hash(password),
                role=role,
                active=True,
                session_version=0,
            )
            session.add(user)
            session.flush()
            record_change(session, "create", "user", user.id, None, {"username": username, "role": role}, actor=actor)
    except IntegrityError:  # made by another worker or host between the look-up and the insert
        raise taken from None
    return {"id": user.id, "username": user.username, "role": user.role, "active": user.active}


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(msg("pengguna %(name)r tidak ada", name=username))
    return user


def _change_user(
    session: Session, username: str, field: str, value: Any, action: str, actor: str | None, audited: Any = None
) -> None:
    """Change one field of a user, end every session of theirs, and audit it (one transaction)."""
    with transaction(session):
        user = _user(session, username)
        before = getattr(user, field)
        setattr(user, field, value)
        user.session_version = (user.session_version or 0) + 1
        shown = (lambda v: v) if audited is None else audited
        record_change(
            session,
            action,
            "user",
            user.id,
            {"username": username, field: shown(before)},
            {"username": username, field: shown(value)},
            actor=actor,
        )


def set_role(session: Session, username: str, role: str, actor: str | None = None) -> None:
    _change_user(session, username, "role", _check_role(role), "role", actor)


def set_active(session: Session, username: str, active: bool, actor: str | None = None) -> None:
    _change_user(session, username, "active", active, "enable" if active else "disable", actor)


def set_password(session: Session, username: str, password: str, actor: str | None = None) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(msg("kata sandi minimal %(n)s karakter", n=MIN_PASSWORD))
    _change_user(
        session,
        username,
        "password_hash",
        generate_password_hash(password),
        "password",
        actor,
        audited=lambda _v: "***",
    )


def end_sessions(session: Session, user_id: int) -> None:
    """Log a user out everywhere (every cookie issued before stops working)."""
    with transaction(session):
        user = session.get(User, user_id)
        if user is not None:
            user.session_version = (user.session_version or 0) + 1
            record_change(session, "logout", "user", user.id, None, {"username": user.username}, actor=user.username)


def list_users(session: Session) -> list[dict[str, Any]]:
    return [
        {"id": u.id, "username": u.username, "role": u.role, "active": u.active}
        for u in session.scalars(select(User).order_by(User.username))
    ]


def _aware(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; everything here is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _remaining(session: Session, where: list, free: int, now: datetime) -> int:
    """Seconds still to wait for the failures matching ``where``; 0 while fewer than ``free``."""
    since = now - FAILURE_WINDOW
    count, last = session.execute(
        select(func.count(), func.max(LoginFailure.at)).where(LoginFailure.at >= since, *where)
    ).one()
    if (count or 0) < free:
        return 0
    wait = min(MAX_WAIT_SECONDS, 2 ** (count - free + 1))
    return max(0, int((_aware(last) + timedelta(seconds=wait) - now).total_seconds()) + 1)


def _same_address(remote_addr: str | None):
    return LoginFailure.remote_addr.is_(None) if remote_addr is None else LoginFailure.remote_addr == remote_addr


def _wait_seconds(session: Session, username: str, remote_addr: str | None, now: datetime) -> int:
    return max(
        _remaining(session, [LoginFailure.username == username, _same_address(remote_addr)], FREE_FAILURES, now),
        _remaining(session, [_same_address(remote_addr)], FREE_FAILURES * ADDRESS_FACTOR, now),
    )


@cache
def _dummy_hash() -> str:
    """A hash to check against when the user does not exist, so both answers take as long."""
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(
    session: Session, username: str, password: str, remote_addr: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Check a password; repeated failures from the same address make the next attempt wait (429).

    Unknown and disabled users cost one password hash like everyone else (no timing difference)."""
    now = now or utcnow()
    wait = _wait_seconds(session, username, remote_addr, now)
    if wait:
        raise TooManyAttempts(
            msg("terlalu banyak percobaan gagal; coba lagi dalam %(wait)s detik", wait=wait),
            retry_after=wait,
        )
    user = session.scalar(select(User).where(User.username == username))
    matches = check_password_hash(user.password_hash if user is not None else _dummy_hash(), password or "")
    ok = user is not None and user.active and matches
    with transaction(session):
        session.execute(delete(LoginFailure).where(LoginFailure.at < now - FAILURE_WINDOW))  # keep it small
        if not ok:
            session.add(LoginFailure(username=username[:80], remote_addr=remote_addr, at=now))
        else:
            session.execute(delete(LoginFailure).where(LoginFailure.username == username, _same_address(remote_addr)))
        record_change(
            session,
            "login" if ok else "login_failed",
            "user",
            user.id if user is not None else None,
            None,
            {"username": username[:80], "remote_addr": remote_addr},
            actor=username[:80] if ok else None,
        )
    if not ok:
        raise Unauthorized(msg("nama pengguna atau kata sandi salah"))
    return {"id": user.id, "username": user.username, "role": user.role, "session_version": user.session_version}


def user_by_id(session: Session, user_id: int, session_version: int | None = None) -> dict[str, Any] | None:
    """The identity behind a session cookie; None when the user is gone, disabled, or the cookie
    predates a logout, password change, role change or disabling."""
    user = session.get(User, user_id)
    if user is None or not user.active or session_version != (user.session_version or 0):
        return None
    return {"id": user.id, "username": user.username, "role": user.role, "session_version": user.session_version}


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    name: str,
    role: str,
    username: str,
    created_by: str | None = None,
    expires_days: int | None = None,
) -> dict[str, Any]:
    """A token owned by ``username``, with at most that user's role; returns the token text once
    (only its hash is kept)."""
    _check_role(role)
    if expires_days is not None and not 1 <= int(expires_days) <= MAX_TOKEN_DAYS:
        raise ValidationError(msg("masa berlaku (expires_days) 1–%(n)s hari", n=MAX_TOKEN_DAYS))
    token = "gat_" + secrets.token_urlsafe(32)
    with transaction(session):
        owner = _user(session, username)
        if not owner.active:
            raise ValidationError(msg("pengguna %(name)r nonaktif", name=username))
        if not has_role(owner.role, role):
            raise ValidationError(
                msg(
                    "peran token %(role)s melebihi peran %(name)s (%(owner_role)s)",
                    role=role,
                    name=username,
                    owner_role=owner.role,
                )
            )
        expires = utcnow() + timedelta(days=int(expires_days)) if expires_days is not None else None
        row = ApiToken(
            name=(name or "token")[:80],
            token_hash=_hash_token(token),
            role=role,
            created_by=created_by,
            user_id=owner.id,
            expires_at=expires,
        )
        session.add(row)
        session.flush()
        record_change(
            session,
            "create",
            "token",
            row.id,
            None,
            {
                "name": row.name,
                "role": role,
                "user": username,
                "expires_at": expires.isoformat(timespec="seconds") if expires else None,
            },
            actor=created_by,
        )
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "user": username,
        "token": token,
        "expires_at": expires.isoformat(timespec="seconds") if expires else None,
    }


def revoke_token(session: Session, token_id: int, actor: str | None = None) -> None:
    with transaction(session):
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(msg("token %(id)s tidak ada", id=token_id))
        row.revoked_at = row.revoked_at or utcnow()
        record_change(session, "revoke", "token", row.id, None, {"name": row.name}, actor=actor)


def _iso(value: datetime | None) -> str | None:
    return _aware(value).isoformat(timespec="seconds") if value is not None else None


def list_tokens(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ApiToken, User.username).outerjoin(User, ApiToken.user_id == User.id).order_by(ApiToken.id)
    )
    return [
        {
            "id": t.id,
            "name": t.name,
            "role": t.role,
            "user": owner,
            "created_by": t.created_by,
            "revoked": t.revoked_at is not None,
            "expires_at": _iso(t.expires_at),
            "last_used_at": _iso(t.last_used_at),
        }
        for t, owner in rows
    ]


#: built once, and read as plain columns (no ORM objects): every request carrying a token runs it
_TOKEN_LOOKUP = (
    select(
        ApiToken.id,
        ApiToken.name,
        ApiToken.role,
        ApiToken.revoked_at,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        User.role.label("owner_role"),
        User.active.label("owner_active"),
        User.username.label("owner"),
    )
    .join(User, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def token_identity(session: Session, token: str, now: datetime | None = None) -> dict[str, Any] | None:
    """Who a bearer token speaks for: its active owner, with the lesser of the token's and the
    owner's current role; None when revoked, expired, ownerless or the owner is disabled."""
    now = now or utcnow()
    row = session.connection().execute(_TOKEN_LOOKUP, {"token_hash": _hash_token(token or "")}).first()
    if row is None:
        return None
    if row.revoked_at is not None or not row.owner_active or (row.expires_at and _aware(row.expires_at) <= now):
        return None
    if row.last_used_at is None or _aware(row.last_used_at) <= now - TOKEN_USE_RESOLUTION:
        with transaction(session):
            session.get(ApiToken, row.id).last_used_at = now
    role = row.role if ROLE_RANK[row.role] <= ROLE_RANK.get(row.owner_role, -1) else row.owner_role
    return {"id": None, "username": f"token:{row.name}", "role": role, "user": row.owner}
