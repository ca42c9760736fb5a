"""Files kept between a dry run and "import now" in the import page, so the user does not choose the
file again.

A dry run stores the uploaded bytes in the database (table ``pending_upload``: any worker process and
any host behind a load balancer finds them) with the hash of a random token, the user who sent it, the
kind, the file name and an expiry. The page then carries only the token; a token that is not of the
expected shape is refused before any lookup, and a token of another user, or an expired one, is "not
found". Files expire after ``TTL_SECONDS``; each user keeps at most ``MAX_PER_USER`` (the oldest go
first), and expired files are swept whenever a new one is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..errors import NotFound, ValidationError
from ..store.db import transaction
from ..store.models import PendingUpload as PendingUploadRow

TTL_SECONDS = 3600
MAX_PER_USER = 5
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


@dataclass(frozen=True)
class PendingUpload:
    token: str
    user: str
    kind: str
    filename: str
    skip_invalid: bool
    expires_at: float
    size: int


def _hash(token: str) -> str:
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise ValidationError("token unggahan tidak sah / invalid upload token", details={"upload_token": "invalid"})
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _seconds(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def discard(session: Session, token: str) -> None:
    """Remove a kept file (after its import, or when it expired)."""
    key = _hash(token)
    with transaction(session):
        session.execute(delete(PendingUploadRow).where(PendingUploadRow.token_hash == key))


def sweep(session: Session, now: float | None = None) -> int:
    """Remove expired files; returns how many were removed."""
    now = time.time() if now is None else now
    with transaction(session):
        result = session.execute(delete(PendingUploadRow).where(PendingUploadRow.expires_at <= _at(now)))
    return result.rowcount or 0


def keep(
    session: Session,
    user: str,
    kind: str,
    filename: str,
    data: bytes,
    skip_invalid: bool = False,
    now: float | None = None,
    ttl: int = TTL_SECONDS,
) -> PendingUpload:
    """Store ``data`` for ``user`` and return its description (with the token the page carries)."""
    now = time.time() if now is None else now
    sweep(session, now)
    token = secrets.token_urlsafe(32)
    meta = PendingUpload(token, user, kind, filename[:255], bool(skip_invalid), now + ttl, len(data))
    with transaction(session):
        mine = session.scalars(
            select(PendingUploadRow.token_hash)
            .where(PendingUploadRow.username == user)
            .order_by(PendingUploadRow.expires_at.desc())
        ).all()
        old = mine[MAX_PER_USER - 1 :]
        if old:
            session.execute(delete(PendingUploadRow).where(PendingUploadRow.token_hash.in_(old)))
        session.add(
            PendingUploadRow(
                token_hash=_hash(token),
                username=user,
                kind=kind,
                filename=meta.filename,
                skip_invalid=meta.skip_invalid,
                size=meta.size,
                expires_at=_at(meta.expires_at),
                data=data,
            )
        )
    return meta


def fetch(session: Session, token: str, user: str, now: float | None = None) -> tuple[PendingUpload, bytes]:
    """The kept file of ``token`` if it belongs to ``user`` and has not expired; ``NotFound`` otherwise
    (the same answer whether it never existed, expired or is someone else's)."""
    key = _hash(token)
    now = time.time() if now is None else now
    gone = NotFound(
        "berkas uji coba tidak ada lagi (kedaluwarsa atau sudah diimpor); pilih berkasnya lagi / "
        "the dry-run file is gone (expired or already imported): choose the file again"
    )
    row = session.get(PendingUploadRow, key)
    if row is None or row.username != user:
        raise gone
    expires = _seconds(row.expires_at)
    if expires <= now:
        discard(session, token)
        raise gone
    meta = PendingUpload(token, row.username, row.kind, row.filename, row.skip_invalid, expires, row.size)
    return meta, bytes(row.data)


def count(session: Session, user: str | None = None) -> int:
    """How many files are kept (for one user, or for all)."""
    query = select(func.count()).select_from(PendingUploadRow)
    if user is not None:
        query = query.where(PendingUploadRow.username == user)
    return session.scalar(query) or 0
