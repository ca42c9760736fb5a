"""Read desa boundaries from any vector file GDAL reads, through pyogrio, with a column mapping."""

from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from ..errors import InputFileError, ValidationError
from ..geo import to_wgs84


@dataclass(frozen=True)
class ColumnMapping:
    """Which source column holds which attribute. Only the desa code and name are required."""

    desa_code: str
    desa_name: str
    kecamatan_code: str | None = None
    kecamatan_name: str | None = None
    kabupaten_name: str | None = None


#: Column names of BIG (Badan Informasi Geospasial) RBI administrative layers (FACTS.md).
PRESETS: dict[str, ColumnMapping] = {
    "big": ColumnMapping(
        desa_code="KDEPUM",
        desa_name="NAMOBJ",
        kecamatan_code="KDCPUM",
        kecamatan_name="WADMKC",
        kabupaten_name="WADMKK",
    ),
}

_SHAPEFILE_PARTS = (".shx", ".dbf")


def resolve_mapping(preset: str | None, **explicit: str | None) -> ColumnMapping:
    """A preset, with any explicit option overriding its column; without a preset both desa columns are needed."""
    base = PRESETS.get(preset) if preset else None
    if preset and base is None:
        raise ValidationError(f"unknown column preset {preset!r}; known: {', '.join(sorted(PRESETS))}")
    values = {f.name: getattr(base, f.name) if base else None for f in fields(ColumnMapping)}
    values.update({k: v for k, v in explicit.items() if v})
    missing = [k for k in ("desa_code", "desa_name") if not values.get(k)]
    if missing:
        opts = ", ".join(f"--{m.replace('_', '-')}-col" for m in missing)
        raise ValidationError(f"say which columns hold the desa code and name: {opts} (or --preset big)")
    return ColumnMapping(**values)


def _declared_size(part: Path, ext: str) -> int | None:
    """The byte size a shapefile part's header promises (GDAL reads a cut-off file as empty rows)."""
    with part.open("rb") as f:
        head = f.read(32)
    if ext in (".shp", ".shx"):
        if len(head) < 28 or struct.unpack(">i", head[0:4])[0] != 9994:
            return None
        return struct.unpack(">i", head[24:28])[0] * 2  # 16-bit words
    if len(head) < 12:
        return None
    records, header, record = struct.unpack("<IHH", head[4:12])
    return header + records * record


def _check_shapefile_sizes(path: Path, parts: dict[str, Path]) -> None:
    for ext, part in parts.items():
        declared = _declared_size(part, ext)
        if declared is None:
            raise InputFileError(f"{path}: {part.name} is not a valid shapefile part (bad header)")
        actual = part.stat().st_size
        if actual < declared:
            raise InputFileError(
                f"{path}: shapefile is truncated, {part.name} has {actual} bytes but its header declares {declared}"
            )


#: Bounds for zipped uploads: total unpacked size and compression ratio (zip bombs), member count.
MAX_ZIP_UNPACKED = 512 * 1024 * 1024
MAX_ZIP_RATIO = 200
MAX_ZIP_MEMBERS = 1000


def check_zip(path: Path) -> list[zipfile.ZipInfo]:
    """Refuse archives that are not zips, hold unsafe paths (absolute, ``..``, links) or unpack too large.

    Checked from the central directory before any byte is decompressed.
    """
    if not zipfile.is_zipfile(path):
        raise InputFileError(f"{path}: not a zip archive")
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputFileError(f"{path}: damaged zip archive ({exc})") from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise InputFileError(f"{path}: zip holds {len(members)} files (max {MAX_ZIP_MEMBERS})")
    total = 0
    for info in members:
        name = info.filename.replace("\\", "/")
        parts = [p for p in name.split("/") if p]
        is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
        if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]) or is_link:
            raise InputFileError(f"{path}: unsafe path in zip archive: {info.filename!r}")
        total += info.file_size
        if (
            info.compress_size
            and info.file_size / info.compress_size > MAX_ZIP_RATIO
            and info.file_size > 10 * 1024 * 1024
        ):
            raise InputFileError(
                f"{path}: {info.filename!r} unpacks {info.file_size // info.compress_size}x "
                "its size: refused as a possible zip bomb"
            )
    if total > MAX_ZIP_UNPACKED:
        raise InputFileError(
            f"{path}: zip unpacks to {total // (1024 * 1024)} MB (max {MAX_ZIP_UNPACKED // (1024 * 1024)} MB)"
        )
    return members


def _check_file(path: Path) -> str:
    """Return the path string pyogrio should open, after checks that give clear messages."""
    if not path.exists():
        raise InputFileError(f"{path}: file not found")
    if path.suffix.lower() == ".shp":
        parts = {".shp": path}
        for ext in _SHAPEFILE_PARTS:
            found = [path.with_suffix(e) for e in (ext, ext.upper()) if path.with_suffix(e).exists()]
            if not found:
                raise InputFileError(f"{path}: shapefile is incomplete, {path.with_suffix(ext).name} is missing")
            parts[ext] = found[0]
        _check_shapefile_sizes(path, parts)
    if path.suffix.lower() == ".zip":
        check_zip(path)
        return f"/vsizip/{path}"
    return str(path)


def normalise_code(value: object, parts: int) -> str:
    """``1706012005`` or `` 17.06.01.2005 `` → ``17.06.01.2005``; anything else is returned stripped.

    A whole float (``1706012005.0``, as numeric columns with gaps are read) counts as its integer.
    """
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    digits = re.sub(r"\D", "", text)
    widths = [2, 2, 2, 4][:parts]
    if re.fullmatch(r"[\d.]+", text) and len(digits) == sum(widths):
        out, i = [], 0
        for w in widths:
            out.append(digits[i : i + w])
            i += w
        return ".".join(out)
    return text


def read_desa_file(path: str | Path, mapping: ColumnMapping) -> gpd.GeoDataFrame:
    """Desa polygons from ``path`` in EPSG:4326 with columns code, name and, when mapped, kecamatan_code,
    kecamatan_name, kabupaten_name; ``source_row`` is the 1-based feature number for messages."""
    path = Path(path)
    target = _check_file(path)
    try:
        gdf = pyogrio.read_dataframe(target)
    except Exception as exc:  # pyogrio raises several DataSourceError kinds
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"{path}: cannot be read as a vector file ({first})") from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise InputFileError(f"{path}: has no geometry column")
    wanted = {k: v for k, v in vars(mapping).items() if v}
    unknown = [col for col in wanted.values() if col not in gdf.columns]
    if unknown:
        have = ", ".join(c for c in gdf.columns if c != gdf.geometry.name) or "(none)"
        raise InputFileError(f"{path}: unknown column(s) {', '.join(unknown)}; the file has: {have}")
    gdf = to_wgs84(gdf, str(path))
    out = gpd.GeoDataFrame(
        {"source_row": range(1, len(gdf) + 1)}, geometry=gdf.geometry.to_numpy(), crs=gdf.crs, index=gdf.index
    )
    out["code"] = [normalise_code(v, 4) for v in gdf[mapping.desa_code]]
    out["name"] = gdf[mapping.desa_name].astype("string").fillna("").str.strip().to_numpy()
    if mapping.kecamatan_code:
        out["kecamatan_code"] = [normalise_code(v, 3) for v in gdf[mapping.kecamatan_code]]
    for attr in ("kecamatan_name", "kabupaten_name"):
        col = getattr(mapping, attr)
        if col:
            out[attr] = gdf[col].astype("string").fillna("").str.strip().to_numpy()
    out = out.reset_index(drop=True)
    # validation messages name the source columns, not only the internal ones
    out.attrs["columns"] = {
        "code": mapping.desa_code,
        "name": mapping.desa_name,
        "kecamatan_code": mapping.kecamatan_code,
    }
    return out
