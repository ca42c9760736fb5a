"""Coverage inputs: frame and column checks, code and number parsing, projection to metres.

Every bad input raises ``ValidationError`` naming the frame, the column and the offending rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd

from ...errors import ValidationError

WGS84 = "EPSG:4326"
METRIC_CRS = "EPSG:32747"  # UTM 47S, covers Mukomuko; distances in metres
MAX_LISTED = 20

DESA_COLUMNS = ("code", "name", "kecamatan_code", "rep_lon", "rep_lat")
KECAMATAN_COLUMNS = ("code", "name")
MEETING_COLUMNS = (
    "id",
    "title",
    "date",
    "level",
    "host_kecamatan_code",
    "host_desa_code",
    "reaches_all_desa",
    "reached_desa_codes",
    "lon",
    "lat",
)
TPS_COLUMNS = ("id", "desa_code", "number", "voters", "vulnerability", "police", "tni", "linmas", "lon", "lat")
INCIDENT_COLUMNS = ("id", "occurred_at", "severity", "status", "category", "desa_code")


def _fail(what: str, labels: list[str]) -> None:
    shown = "; ".join(labels[:MAX_LISTED])
    more = f"; and {len(labels) - MAX_LISTED} more" if len(labels) > MAX_LISTED else ""
    raise ValidationError(f"{what}: {shown}{more}", details=labels)


def _frame(df: pd.DataFrame | None, name: str, columns: tuple[str, ...], optional: bool = True) -> pd.DataFrame:
    """Check type and columns; ``None`` (when optional) stands for no records."""
    if df is None and optional:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    if not isinstance(df, pd.DataFrame):
        raise ValidationError(f"{name}: expected a DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValidationError(f"{name}: missing column(s) {', '.join(missing)}", details=missing)
    return df.reset_index(drop=True)


def _obj(values: np.ndarray) -> pd.Series:
    """Keep ``None`` for missing text (pandas would otherwise infer a string dtype with NaN)."""
    return pd.Series(values, dtype=object)


def _codes(series: pd.Series) -> np.ndarray:
    """Object array of stripped code strings, ``None`` where missing or empty."""
    values = series.to_numpy(dtype=object, na_value=None) if len(series) else np.array([], dtype=object)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out[i] = None
        else:
            s = str(v).strip()
            out[i] = s or None
    return out


def _labels(name: str, ids: pd.Series, mask: np.ndarray, detail: pd.Series | np.ndarray | None = None) -> list[str]:
    idx = np.flatnonzero(mask)
    ids_arr = ids.to_numpy(dtype=object)
    if detail is None:
        return [f"{name} id {ids_arr[i]}" for i in idx]
    det = np.asarray(detail, dtype=object)
    return [f"{name} id {ids_arr[i]} ({det[i]!r})" for i in idx]


def _numbers(df: pd.DataFrame, name: str, col: str, *, integer: bool, allow_nan: bool = False) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    raw_missing = df[col].isna().to_numpy()
    bad = np.isnan(values) & ~raw_missing
    if bad.any():
        _fail(f"{name}: {col} is not a number", _labels(name, df["id"], bad, df[col]))
    if not allow_nan and raw_missing.any():
        _fail(f"{name}: {col} is missing", _labels(name, df["id"], raw_missing))
    finite = ~np.isnan(values)
    if integer:
        frac = finite & ((values != np.round(values)) | (values < 0))
        if frac.any():
            _fail(f"{name}: {col} must be a whole number >= 0", _labels(name, df["id"], frac, df[col]))
    return values


def _datetimes(df: pd.DataFrame, name: str, col: str) -> pd.Series:
    raw = df[col]
    values = pd.to_datetime(raw, errors="coerce") if len(raw) else pd.Series([], dtype="datetime64[ns]")
    if isinstance(values.dtype, pd.DatetimeTZDtype):  # contract says naive WIB; accept aware values too
        values = values.dt.tz_convert("Asia/Jakarta").dt.tz_localize(None)
    bad = values.isna().to_numpy()
    if bad.any():
        absent = raw.isna().to_numpy()
        if (absent == bad).all():
            _fail(f"{name}: {col} is missing", _labels(name, df["id"], absent))
        _fail(
            f"{name}: {col} is missing or not a date",
            _labels(name, df["id"], bad & ~absent, raw) + _labels(name, df["id"], absent),
        )
    return values.astype("datetime64[ns]")


def _check_ids(df: pd.DataFrame, name: str) -> None:
    missing = df["id"].isna().to_numpy()
    if missing.any():
        _fail(f"{name}: id is missing", [f"{name} row {i + 1}" for i in np.flatnonzero(missing)])
    dup = df["id"].duplicated(keep=False).to_numpy()
    if dup.any():
        _fail(f"{name}: duplicate id", _labels(name, df["id"], dup))


def _choice(df: pd.DataFrame, name: str, col: str, allowed: tuple[str, ...] | Mapping, hint: str = "") -> np.ndarray:
    # normalised once per distinct value (a column of 100,000 rows holds a handful)
    codes, uniques = pd.factorize(df[col].astype(object), use_na_sentinel=True)
    normal = np.array([str(v).strip().lower().replace(" ", "_") for v in uniques] + [None], dtype=object)
    values = normal[codes]  # the sentinel -1 picks the trailing None: missing stays missing
    bad = ~pd.Series(values, dtype=object).isin(list(allowed)).to_numpy()
    if bad.any():
        labels = _labels(name, df["id"], bad, df[col])
        if hint:
            labels.append(hint)
        _fail(f"{name}: {col} must be one of {', '.join(allowed)}", labels)
    return values


@lru_cache(maxsize=4)
def _transformer(target: str):
    from pyproj import Transformer

    return Transformer.from_crs(WGS84, target, always_xy=True)


def project(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """lon/lat (EPSG:4326) to metres in EPSG:32747; NaN stays NaN."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.size == 0:
        return lon.copy(), lat.copy()
    x, y = _transformer(METRIC_CRS).transform(lon, lat)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    nan = np.isnan(lon) | np.isnan(lat)
    x[nan] = np.nan
    y[nan] = np.nan
    return x, y


def _prepare_desa(desa: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not isinstance(desa, gpd.GeoDataFrame):
        raise ValidationError(f"desa: expected a GeoDataFrame, got {type(desa).__name__}")
    if desa.crs is None:
        raise ValidationError("desa: the GeoDataFrame has no coordinate reference system (CRS); expected EPSG:4326")
    missing = [c for c in DESA_COLUMNS if c not in desa.columns]
    if missing:
        raise ValidationError(f"desa: missing column(s) {', '.join(missing)}", details=missing)
    if not desa.crs.equals(WGS84):
        desa = desa.to_crs(WGS84)
    desa = desa.reset_index(drop=True)
    dup = desa["code"].duplicated(keep=False).to_numpy()
    if dup.any():
        _fail("desa: duplicate code", sorted(set(desa.loc[dup, "code"].astype(str))))
    bad_rep = desa["rep_lon"].isna().to_numpy() | desa["rep_lat"].isna().to_numpy()
    if bad_rep.any():
        _fail("desa: representative point (rep_lon/rep_lat) is missing", list(desa.loc[bad_rep, "code"].astype(str)))
    if not desa["code"].is_monotonic_increasing:
        desa = desa.sort_values("code", kind="stable").reset_index(drop=True)
    return desa


def _prepare_kecamatan(kecamatan: pd.DataFrame, desa: gpd.GeoDataFrame) -> pd.DataFrame:
    if not isinstance(kecamatan, pd.DataFrame):
        raise ValidationError(f"kecamatan: expected a DataFrame, got {type(kecamatan).__name__}")
    missing = [c for c in KECAMATAN_COLUMNS if c not in kecamatan.columns]
    if missing:
        raise ValidationError(f"kecamatan: missing column(s) {', '.join(missing)}", details=missing)
    kec = kecamatan.reset_index(drop=True)
    if "rep_lon" not in kec.columns or "rep_lat" not in kec.columns:
        if not isinstance(kec, gpd.GeoDataFrame):
            raise ValidationError("kecamatan: needs rep_lon/rep_lat or a geometry to compute them")
        if kec.crs is None:
            raise ValidationError("kecamatan: the GeoDataFrame has no coordinate reference system (CRS)")
        rep = kec.geometry.to_crs(WGS84).representative_point()
        kec = kec.assign(rep_lon=rep.x.to_numpy(), rep_lat=rep.y.to_numpy())
    elif isinstance(kec, gpd.GeoDataFrame) and kec.crs is not None and not kec.crs.equals(WGS84):
        kec = kec.to_crs(WGS84)
    unknown = ~desa["kecamatan_code"].isin(kec["code"]).to_numpy()
    if unknown.any():
        _fail(
            "desa: kecamatan_code not in the kecamatan frame",
            [f"{c} ({k})" for c, k in zip(desa.loc[unknown, "code"], desa.loc[unknown, "kecamatan_code"])],
        )
    if not kec["code"].is_monotonic_increasing:
        kec = kec.sort_values("code", kind="stable").reset_index(drop=True)
    return kec


def _unknown_codes(name: str, col: str, ids: pd.Series, codes: np.ndarray, known: pd.Index, level: str) -> None:
    present = np.array([c is not None for c in codes], dtype=bool)
    bad = present & ~pd.Index(codes).isin(known)
    if bad.any():
        _fail(f"{name}: {col} is not a known {level} code", _labels(name, ids, bad, codes))
