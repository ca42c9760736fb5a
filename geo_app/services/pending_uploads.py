"""Files kept between a dry run and "import now" in the import page, so the user does not choose the
file again.

A dry run stores the uploaded bytes under ``UPLOAD_DIR`` (the instance folder by default, on disk so
every worker process sees it) with a random token, the user who sent it, the kind, the file name and an
expiry. The page then carries only the token; the path is never taken from the client: a token that is
not of the expected shape is refused before any file name is built, and a token of another user, or an
expired one, is "not found". Files expire after ``TTL_SECONDS``; each user keeps at most
``MAX_PER_USER`` (the oldest go first), and expired files are swept whenever a new one is stored.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import NotFound, ValidationError

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


def _paths(folder: Path, token: str) -> tuple[Path, Path]:
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise ValidationError("token unggahan tidak sah / invalid upload token", details={"upload_token": "invalid"})
    return folder / f"{token}.json", folder / f"{token}.upload"


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_meta(path: Path) -> PendingUpload | None:
    try:
        return PendingUpload(**json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def discard(folder: str | Path, token: str) -> None:
    """Remove a kept file (after its import, or when it expired)."""
    for path in _paths(Path(folder), token):
        path.unlink(missing_ok=True)


def _kept(folder: Path) -> list[PendingUpload]:
    out = []
    for meta_path in folder.glob("*.json"):
        meta = _read_meta(meta_path)
        if meta is None or meta_path.stem != meta.token:
            meta_path.unlink(missing_ok=True)
            continue
        out.append(meta)
    return out


def sweep(folder: str | Path, now: float | None = None) -> int:
    """Remove expired files (and data files whose description is gone); returns how many were removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    now = time.time() if now is None else now
    removed = 0
    live = set()
    for meta in _kept(folder):
        if meta.expires_at <= now:
            discard(folder, meta.token)
            removed += 1
        else:
            live.add(meta.token)
    for data_path in folder.glob("*.upload"):
        if data_path.stem not in live:
            data_path.unlink(missing_ok=True)
    return removed


def keep(
    folder: str | Path,
    user: str,
    kind: str,
    filename: str,
    data: bytes,
    skip_invalid: bool = False,
    now: float | None = None,
    ttl: int = TTL_SECONDS,
) -> PendingUpload:
    """Store ``data`` for ``user`` and return its description (with the token the page carries)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = time.time() if now is None else now
    sweep(folder, now)
    mine = sorted((m for m in _kept(folder) if m.user == user), key=lambda m: m.expires_at)
    for old in mine[: max(0, len(mine) - MAX_PER_USER + 1)]:
        discard(folder, old.token)
    token = secrets.token_urlsafe(32)
    meta = PendingUpload(token, user, kind, filename, bool(skip_invalid), now + ttl, len(data))
    meta_path, data_path = _paths(folder, token)
    _write_atomic(data_path, data)
    _write_atomic(meta_path, json.dumps(asdict(meta)).encode("utf-8"))
    return meta


def fetch(folder: str | Path, token: str, user: str, now: float | None = None) -> tuple[PendingUpload, bytes]:
    """The kept file of ``token`` if it belongs to ``user`` and has not expired; ``NotFound`` otherwise
    (the same answer whether it never existed, expired or is someone else's)."""
    meta_path, data_path = _paths(Path(folder), token)
    meta = _read_meta(meta_path) if meta_path.is_file() else None
    now = time.time() if now is None else now
    gone = NotFound(
        "berkas uji coba tidak ada lagi (kedaluwarsa atau sudah diimpor); pilih berkasnya lagi / "
        "the dry-run file is gone (expired or already imported): choose the file again"
    )
    if meta is None or meta.token != token or meta.user != user:
        raise gone
    if meta.expires_at <= now:
        discard(folder, token)
        raise gone
    try:
        return meta, data_path.read_bytes()
    except OSError:
        raise gone from None
