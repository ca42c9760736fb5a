"""Fetch the three upstream boundary files for one kabupaten into the local cache.

The source is the upstream base URL or a local folder with the same layout; both work the same.
Files are written to a temporary name and renamed, so a failed fetch never leaves half a file.
"""

from __future__ import annotations

import os
import re
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import BoundarySourceError, ValidationError

CACHE_SUBDIR = "wilayah_boundaries"
_KAB_CODE = re.compile(r"^\d{2}\.\d{2}$")


@dataclass(frozen=True)
class BoundaryFiles:
    """Paths of the three dumps (relative to a source root) for a kabupaten code like ``17.06``."""

    kabupaten: str

    @property
    def province(self) -> str:
        return self.kabupaten.split(".")[0]

    @property
    def kab(self) -> str:
        return f"db/kab/wilayah_boundaries_kab_{self.province}.sql"

    @property
    def kec(self) -> str:
        return f"db/kec/wilayah_boundaries_kec_{self.province}.sql"

    @property
    def kel(self) -> str:
        return f"db/kel/{self.province}/wilayah_boundaries_kel_{self.kabupaten}.sql"

    def all(self) -> list[str]:
        return [self.kab, self.kec, self.kel]


def boundary_files(kabupaten: str) -> BoundaryFiles:
    if not _KAB_CODE.match(kabupaten or ""):
        raise ValidationError(f"kabupaten code {kabupaten!r} is not of the form PP.KK (e.g. 17.06)")
    return BoundaryFiles(kabupaten)


def cache_root(shapefile_dir: str | Path) -> Path:
    return Path(shapefile_dir) / CACHE_SUBDIR


def is_cached(shapefile_dir: str | Path, kabupaten: str) -> bool:
    root = cache_root(shapefile_dir)
    return all((root / rel).is_file() for rel in boundary_files(kabupaten).all())


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _copy_to(target: Path, write) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fetch_boundaries(source: str, shapefile_dir: str | Path, kabupaten: str, timeout: float = 30.0) -> list[Path]:
    """Download (URL) or copy (folder) the kabupaten's three dumps into ``shapefile_dir``.

    All three are read before any is replaced, so a source that fails half-way leaves the cache as it was.
    """
    files = boundary_files(kabupaten)
    root = cache_root(shapefile_dir)
    staged: list[tuple[Path, bytes]] = []
    for rel in files.all():
        staged.append((root / rel, _read_source(source, rel, timeout)))
    for target, data in staged:
        _copy_to(target, lambda out, data=data: out.write(data))
    return [t for t, _ in staged]


def _read_source(source: str, rel: str, timeout: float) -> bytes:
    if _is_url(source):
        url = f"{source.rstrip('/')}/{rel}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - http(s) only
                return resp.read()
        except urllib.error.HTTPError as exc:
            raise BoundarySourceError(f"boundary source {url}: HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BoundarySourceError(f"boundary source {url} is unreachable ({reason})") from None
    path = Path(source) / rel
    if not Path(source).is_dir():
        raise BoundarySourceError(f"boundary source {source} is not a folder or an http(s) URL")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BoundarySourceError(f"boundary source {source}: {rel} is missing") from None
    except OSError as exc:
        raise BoundarySourceError(f"boundary source {path}: cannot read ({exc.strerror})") from None
