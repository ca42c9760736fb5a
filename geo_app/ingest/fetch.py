"""Fetch the upstream boundary files for a set of kabupaten into the local cache.

What to fetch is a selection (``GEO_APP_KABUPATEN`` / ``--kabupaten``): one kabupaten code (``17.06``),
a list (``17.06,17.01``) or a province code (``17``: every kabupaten/kota its kabupaten file lists).
Per province that is the kabupaten file, the kecamatan file and one desa file per kabupaten.

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
from .wilayah import dump_codes

CACHE_SUBDIR = "wilayah_boundaries"
_KAB_CODE = re.compile(r"^\d{2}\.\d{2}$")
_PROVINCE_CODE = re.compile(r"^\d{2}$")

#: The 38 province codes of Kemendagri (Kepmendagri 300.2.2-2430/2025, the codes the boundary data uses):
#: a two-digit code outside this list (``99``) is a typo, not a province.
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 16 17 18 19 21 31 32 33 34 35 36 51 52 53 61 62 63 64 65 "
    "71 72 73 74 75 76 81 82 91 92 93 94 95 96".split()
)
#: Their names (without the word "Provinsi"), for titles naming a whole province ("Provinsi Bengkulu").
#: The boundary files hold kabupaten, kecamatan and desa only, so the province's name is kept here.
PROVINCE_NAMES = {
    "11": "Aceh",
    "12": "Sumatera Utara",
    "13": "Sumatera Barat",
    "14": "Riau",
    "15": "Jambi",
    "16": "Sumatera Selatan",
    "17": "Bengkulu",
    "18": "Lampung",
    "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau",
    "31": "DKI Jakarta",
    "32": "Jawa Barat",
    "33": "Jawa Tengah",
    "34": "DI Yogyakarta",
    "35": "Jawa Timur",
    "36": "Banten",
    "51": "Bali",
    "52": "Nusa Tenggara Barat",
    "53": "Nusa Tenggara Timur",
    "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah",
    "63": "Kalimantan Selatan",
    "64": "Kalimantan Timur",
    "65": "Kalimantan Utara",
    "71": "Sulawesi Utara",
    "72": "Sulawesi Tengah",
    "73": "Sulawesi Selatan",
    "74": "Sulawesi Tenggara",
    "75": "Gorontalo",
    "76": "Sulawesi Barat",
    "81": "Maluku",
    "82": "Maluku Utara",
    "91": "Papua",
    "92": "Papua Barat",
    "93": "Papua Selatan",
    "94": "Papua Tengah",
    "95": "Papua Pegunungan",
    "96": "Papua Barat Daya",
}
SELECTION_HELP = "a kabupaten code (17.06), a comma-separated list (17.06,17.01) or a province code (17)"


@dataclass(frozen=True)
class KabupatenSelection:
    """Which kabupaten to fetch and import: kabupaten codes (``PP.KK``) and whole provinces (``PP``),
    in the order given. ``setting`` names where it came from, for error messages."""

    items: tuple[str, ...]
    setting: str = "GEO_APP_KABUPATEN"

    def __str__(self) -> str:
        return ",".join(self.items)

    @property
    def provinces(self) -> list[str]:
        return sorted({item[:2] for item in self.items})

    def resolve(self, province: str, listed: list[str], listed_in: str) -> list[str]:
        """The kabupaten of ``province`` this selection means, given the codes its kabupaten file lists;
        a code the file does not list is an error naming the setting."""
        if province in self.items:
            return sorted(listed)
        wanted = sorted(item for item in self.items if item[:2] == province)
        unknown = [code for code in wanted if code not in listed]
        if unknown:
            raise ValidationError(
                f"{self.setting}: kabupaten {', '.join(unknown)} is not in {listed_in} "
                f"(province {province} has {', '.join(sorted(listed)) or 'no kabupaten'})"
            )
        return wanted


def parse_kabupaten(value: object, setting: str = "GEO_APP_KABUPATEN") -> KabupatenSelection:
    """Read a kabupaten selection strictly; every error names ``setting`` and the offending part."""
    text = str(value if value is not None else "").strip()
    if not text:
        raise ValidationError(f"{setting} is empty: give {SELECTION_HELP}")
    items: list[str] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            raise ValidationError(f"{setting}: {text!r} has an empty item; give {SELECTION_HELP}")
        if _PROVINCE_CODE.match(item):
            if item not in PROVINCE_CODES:
                raise ValidationError(f"{setting}: {item} is not a Kemendagri province code (11 to 96, e.g. 17)")
        elif _KAB_CODE.match(item):
            if item[:2] not in PROVINCE_CODES:
                raise ValidationError(f"{setting}: {item} is not in a Kemendagri province (11 to 96)")
            if item[3:] == "00":
                raise ValidationError(f"{setting}: {item} is not a kabupaten code (KK is 01 to 99)")
        else:
            raise ValidationError(
                f"{setting}: {item!r} is neither a kabupaten code like 17.06 nor a province code like 17 "
                "(several are separated by commas: 17.06,17.01)"
            )
        if item in items:
            raise ValidationError(f"{setting}: {item} is listed twice")
        items.append(item)
    for item in items:
        if len(item) == 5 and item[:2] in items:
            raise ValidationError(f"{setting}: {item} is already part of province {item[:2]} in the same list")
    return KabupatenSelection(tuple(items), setting)


def as_selection(kabupaten: str | KabupatenSelection, setting: str = "GEO_APP_KABUPATEN") -> KabupatenSelection:
    return kabupaten if isinstance(kabupaten, KabupatenSelection) else parse_kabupaten(kabupaten, setting)


def province_files(province: str) -> tuple[str, str]:
    """The kabupaten and kecamatan dumps of a province (relative paths)."""
    return f"db/kab/wilayah_boundaries_kab_{province}.sql", f"db/kec/wilayah_boundaries_kec_{province}.sql"


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


def _listed_kabupaten(data: bytes) -> list[str]:
    """The kabupaten codes a kabupaten dump lists."""
    return [code for code in dump_codes(data.decode("utf-8", errors="replace")) if _KAB_CODE.match(code)]


def cached_kabupaten(shapefile_dir: str | Path, kabupaten: str | KabupatenSelection) -> list[str] | None:
    """The kabupaten codes the selection means, read from the cached kabupaten files; ``None`` when a file
    the selection needs is not cached (then fetch first)."""
    selection = as_selection(kabupaten)
    root = cache_root(shapefile_dir)
    codes: list[str] = []
    for province in selection.provinces:
        kab_rel, kec_rel = province_files(province)
        if not (root / kab_rel).is_file() or not (root / kec_rel).is_file():
            return None
        listed = _listed_kabupaten((root / kab_rel).read_bytes())
        wanted = selection.resolve(province, listed, kab_rel)
        if not all((root / boundary_files(code).kel).is_file() for code in wanted):
            return None
        codes.extend(wanted)
    return codes


def is_cached(shapefile_dir: str | Path, kabupaten: str | KabupatenSelection) -> bool:
    return cached_kabupaten(shapefile_dir, kabupaten) is not None


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


def fetch_boundaries(
    source: str, shapefile_dir: str | Path, kabupaten: str | KabupatenSelection, timeout: float = 30.0
) -> list[Path]:
    """Download (URL) or copy (folder) the dumps a kabupaten selection needs into ``shapefile_dir``:
    per province the kabupaten file (read first: it says which kabupaten a province code means and
    whether a kabupaten code exists), the kecamatan file and one desa file per kabupaten.

    Every file is read before any is replaced, so a source that fails half-way leaves the cache as it was.
    """
    selection = as_selection(kabupaten)
    root = cache_root(shapefile_dir)
    staged: list[tuple[Path, bytes]] = []
    for province in selection.provinces:
        kab_rel, kec_rel = province_files(province)
        kab_data = _read_source(source, kab_rel, timeout)
        wanted = selection.resolve(province, _listed_kabupaten(kab_data), kab_rel)
        staged.append((root / kab_rel, kab_data))
        staged.append((root / kec_rel, _read_source(source, kec_rel, timeout)))
        for code in wanted:
            rel = boundary_files(code).kel
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
