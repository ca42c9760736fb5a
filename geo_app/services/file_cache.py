"""Built files kept on disk, shared by every worker process: the GIS downloads (``/api/export.gpkg``,
``/api/export-shp.zip``) are rebuilt only when the data, the settings or the code change.

A file is named by a hash of everything it was built from (:func:`build_key`): the data version
rows *with their change times* (so a database recreated from scratch, whose counters start again,
never meets an old file), the settings, and the code (:func:`code_stamp`). Files are written to a
temporary name and renamed into place, so a reader never sees half a file; the least recently used
beyond ``keep`` are removed.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import DataVersion

_CODE_STAMP: str | None = None


def code_stamp() -> str:
    """The installed version and the newest source/template file time (once per process): a new
    release changes every key built from it."""
    global _CODE_STAMP
    if _CODE_STAMP is None:
        package = Path(__file__).resolve().parent.parent
        try:
            version = importlib.metadata.version("geo-app")
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a checkout not installed
            version = "0"
        files = [*package.rglob("*.py"), *(package.parent / "templates").rglob("*.html")]
        newest = max((f.stat().st_mtime_ns for f in files), default=0)
        _CODE_STAMP = f"{version}:{newest}"
    return _CODE_STAMP


def data_stamp(session: Session) -> list[list[str]]:
    """Every data version counter with the time it last changed."""
    rows = session.execute(
        select(DataVersion.name, DataVersion.version, DataVersion.changed_at).order_by(DataVersion.name)
    ).all()
    return [[n, str(v), str(t)] for n, v, t in rows]


def build_key(session: Session, kind: str, *parts: Any) -> str:
    """A file name stem for ``kind`` built from the stored data and ``parts`` (settings, ...)."""
    raw = json.dumps([kind, data_stamp(session), code_stamp(), *parts], sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(raw.encode()).hexdigest()[:32]}"


class FileCache:
    """Bytes kept as files in ``folder`` (created on first write); ``builds`` counts the real builds."""

    def __init__(self, folder: Path | str, keep: int = 8) -> None:
        self.folder = Path(folder)
        self.keep = keep
        self.builds = 0
        self._lock = threading.Lock()

    def get_or_build(self, key: str, build: Callable[[], bytes]) -> bytes:
        path = self.folder / key
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            pass
        else:
            try:
                os.utime(path)  # recently used: kept longest
            except OSError:
                pass
            return body
        body = build()
        with self._lock:
            self.builds += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(body)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._trim()
        return body

    def _trim(self) -> None:
        entries = []
        for p in self.folder.iterdir():
            if p.name.startswith(".part-"):
                continue
            try:
                entries.append((p.stat().st_mtime_ns, p))
            except FileNotFoundError:  # removed by another worker meanwhile
                continue
        for _mtime, p in sorted(entries, reverse=True)[self.keep :]:
            p.unlink(missing_ok=True)
