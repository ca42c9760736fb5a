"""Coverage-gap analysis (issue 4): which desa no rakor reached, which TPS lack guards, where
incidents pile up. Pure functions over (Geo)DataFrames: no Flask, no SQLAlchemy.

Inputs are the frames the storage adapter produces (see ``compute_coverage``); the output is a
per-desa table, a per-kecamatan roll-up and a kabupaten summary (``CoverageResult``).

Rules (all documented defaults live in ``CoverageSettings``):

* Windows are whole days, both ends inclusive, and end on the reference date: with a 60-day
  window and reference date 2024-11-27, a meeting on 2024-09-28 (60 days before) counts, one on
  2024-09-27 (61 days) does not, and one after 2024-11-27 does not. Incidents are judged by their
  calendar day (WIB) the same way, with their own window.
* Meeting reach: a meeting reaches (a) every desa it lists explicitly, (b) the desa hosting it when
  it is a desa-level meeting, (c) every desa of its host kecamatan when it is a kecamatan-level
  meeting recorded with ``reaches_all_desa`` (host kecamatan taken from the host desa when only that
  is given). A kabupaten-level meeting reaches only the desa it lists: the kabupaten rakor briefs
  agencies, not villages (FACTS.md), so it does not by itself count as reaching any desa. Likewise
  a kecamatan-level meeting without ``reaches_all_desa`` reaches only its listed desa, not the desa
  its venue happens to be in.
* Venue point: the recorded lon/lat, else the host desa's representative point, else the host
  kecamatan's representative point, else none (distance unknown).
* Incidents with status ``dismissed`` (judged unfounded) are left out entirely; ``closed`` ones
  count in the totals but not as unresolved.
* ``incident_after_last_meeting``: an incident on a later calendar day than the last meeting that
  reached the desa (meetings carry a date only, so a same-day incident is not "after"). Only
  defined for reached desa; an unreached desa is already flagged by ``uncovered``.
* Status reasons: ``uncovered`` (desa has TPS or voters and no meeting reached it in the window),
  ``insecure`` (some TPS below requirement), ``at_risk`` with sub-reasons ``unresolved_incidents``
  (unresolved weighted incidents >= threshold) and ``incident_after_meeting``. The headline status
  follows uncovered > at_risk > insecure > covered.
* Priority (for the gap list), a plain weighted sum::

      priority = w_uncovered * [uncovered] + w_voters * voters / 1000
                 + w_incident * incident_weight + w_shortfall * missing personnel (all forces)

  with defaults 10, 2, 1, 1: an unreached desa outranks one high-severity incident (9), a
  typical desa of ~930 voters adds ~1.9, each missing guard adds 1. Ties are broken by code.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import ValidationError

WGS84 = "EPSG:4326"
METRIC_CRS = "EPSG:32747"  # UTM 47S, covers Mukomuko; distances in metres

#: Election day of the Pilkada serentak 2024 (FACTS.md).
ELECTION_DAY = date(2024, 11, 27)

FORCES = ("police", "tni", "linmas")
FORCE_LABELS_ID = {"police": "Polri", "tni": "TNI", "linmas": "Linmas"}
FORCE_LABELS_EN = {"police": "police", "tni": "TNI", "linmas": "Linmas"}
SEVERITIES = ("low", "medium", "high")
INCIDENT_STATUSES = ("reported", "verified", "forwarded", "closed", "dismissed")
MEETING_LEVELS = ("kabupaten", "kecamatan", "desa")
STATUSES = ("uncovered", "at_risk", "insecure", "covered")  # headline order
REASONS = ("uncovered", "at_risk:unresolved_incidents", "at_risk:incident_after_meeting", "insecure")
PRIORITY_KEYS = ("uncovered", "voters_per_1000", "incident_weight", "shortfall_person")
MAX_WINDOW_DAYS = 3650
MAX_LISTED = 20

#: Required personnel per TPS by vulnerability class. Source: Polres Mukomuko plan for Pilkada 2024
#: as reported by mediabengkulu.co/?p=66943 and harianrakyatbengkulu.bacakoran.co/amp/19948
#: (FACTS.md): tidak rawan 2 police per 2 TPS and 4 Linmas (1 police + 2 Linmas per TPS), rawan
#: 2 police + 2 Linmas per TPS; 2 Linmas per TPS is also the legal minimum (Perppu 1/2014 art. 89(5)).
DEFAULT_REQUIREMENTS = {
    "tidak_rawan": {"police": 1, "tni": 0, "linmas": 2},
    "rawan": {"police": 2, "tni": 0, "linmas": 2},
}
DEFAULT_SEVERITY_WEIGHTS = {"low": 1.0, "medium": 3.0, "high": 9.0}
DEFAULT_UNRESOLVED = ("reported", "verified", "forwarded")
DEFAULT_EXCLUDED = ("dismissed",)
DEFAULT_PRIORITY_WEIGHTS = {"uncovered": 10.0, "voters_per_1000": 2.0, "incident_weight": 1.0, "shortfall_person": 1.0}

_CLASS_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


# --------------------------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------------------------


def _frozen_map(value: Mapping) -> MappingProxyType:
    return MappingProxyType({k: (_frozen_map(v) if isinstance(v, Mapping) else v) for k, v in value.items()})


#: Reference dates accepted (pandas timestamps end in 2262; a window may reach 10 years back).
REFERENCE_DATE_RANGE = (date(1900, 1, 1), date(2200, 12, 31))


@dataclass(frozen=True)
class CoverageSettings:
    """Every tunable of the analysis, with the documented defaults (see the module docstring).

    Build variants with ``with_overrides`` (strings from a request or the CLI) or ``dataclasses.replace``;
    values are checked on construction and a bad one raises ``ValidationError`` naming the field.
    """

    reference_date: date = ELECTION_DAY
    meeting_window_days: int = 60
    incident_window_days: int = 30
    requirements: Mapping[str, Mapping[str, int]] = field(default_factory=lambda: DEFAULT_REQUIREMENTS)
    severity_weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_SEVERITY_WEIGHTS)
    at_risk_threshold: float = 3.0
    unresolved_statuses: tuple[str, ...] = DEFAULT_UNRESOLVED
    excluded_statuses: tuple[str, ...] = DEFAULT_EXCLUDED
    priority_weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_PRIORITY_WEIGHTS)

    def __post_init__(self) -> None:
        ref = self.reference_date
        if isinstance(ref, datetime) or not isinstance(ref, date):
            raise ValidationError(f"reference_date: expected a date, got {ref!r}")
        if not REFERENCE_DATE_RANGE[0] <= ref <= REFERENCE_DATE_RANGE[1]:
            # pandas timestamps (and windows before the date) must stay representable
            raise ValidationError(
                f"reference_date: expected a date from {REFERENCE_DATE_RANGE[0]} to "
                f"{REFERENCE_DATE_RANGE[1]}, got {ref}",
                details={"date": "out of range"},
            )
        for name in ("meeting_window_days", "incident_window_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= MAX_WINDOW_DAYS:
                raise ValidationError(
                    f"{name}: expected a whole number of days from 0 to {MAX_WINDOW_DAYS}, got {value!r}"
                )
        if not isinstance(self.requirements, Mapping) or not self.requirements:
            raise ValidationError("requirements: expected at least one vulnerability class")
        for cls, req in self.requirements.items():
            if not isinstance(cls, str) or not _CLASS_NAME.match(cls):
                raise ValidationError(f"requirements: class name {cls!r} must be lower-case letters, digits or _")
            if not isinstance(req, Mapping) or set(req) != set(FORCES):
                raise ValidationError(f"requirement.{cls}: expected exactly the forces {', '.join(FORCES)}")
            for force, n in req.items():
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= 100:
                    raise ValidationError(
                        f"requirement.{cls}.{force}: expected a whole number from 0 to 100, got {n!r}"
                    )
        if not isinstance(self.severity_weights, Mapping) or set(self.severity_weights) != set(SEVERITIES):
            raise ValidationError(f"severity_weights: expected exactly {', '.join(SEVERITIES)}")
        for sev, w in self.severity_weights.items():
            if not _finite_non_negative(w):
                raise ValidationError(f"severity_weight.{sev}: expected a number >= 0, got {w!r}")
        if not _finite_non_negative(self.at_risk_threshold) or self.at_risk_threshold <= 0:
            raise ValidationError(f"at_risk_threshold: expected a number > 0, got {self.at_risk_threshold!r}")
        for name in ("unresolved_statuses", "excluded_statuses"):
            value = getattr(self, name)
            unknown = [s for s in value if s not in INCIDENT_STATUSES]
            if isinstance(value, str) or unknown:
                raise ValidationError(
                    f"{name}: unknown status {', '.join(map(repr, unknown)) or repr(value)}; "
                    f"known: {', '.join(INCIDENT_STATUSES)}"
                )
        both = set(self.unresolved_statuses) & set(self.excluded_statuses)
        if both:
            raise ValidationError(
                f"unresolved_statuses: {', '.join(sorted(both))} cannot be both unresolved and excluded"
            )
        if not isinstance(self.priority_weights, Mapping) or set(self.priority_weights) != set(PRIORITY_KEYS):
            raise ValidationError(f"priority_weights: expected exactly {', '.join(PRIORITY_KEYS)}")
        for key, w in self.priority_weights.items():
            if not _finite_non_negative(w):
                raise ValidationError(f"priority_weight.{key}: expected a number >= 0, got {w!r}")
        # freeze the mappings so a settings object can be shared between cached results
        object.__setattr__(
            self, "requirements", _frozen_map({k: {f: int(v[f]) for f in FORCES} for k, v in self.requirements.items()})
        )
        object.__setattr__(
            self, "severity_weights", _frozen_map({k: float(v) for k, v in self.severity_weights.items()})
        )
        object.__setattr__(
            self, "priority_weights", _frozen_map({k: float(v) for k, v in self.priority_weights.items()})
        )
        object.__setattr__(self, "unresolved_statuses", tuple(sorted(self.unresolved_statuses)))
        object.__setattr__(self, "excluded_statuses", tuple(sorted(self.excluded_statuses)))
        object.__setattr__(self, "at_risk_threshold", float(self.at_risk_threshold))
        object.__setattr__(self, "meeting_window_days", int(self.meeting_window_days))
        object.__setattr__(self, "incident_window_days", int(self.incident_window_days))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (for API answers and cache keys)."""
        return {
            "reference_date": self.reference_date.isoformat(),
            "meeting_window_days": self.meeting_window_days,
            "incident_window_days": self.incident_window_days,
            "requirements": {k: dict(v) for k, v in sorted(self.requirements.items())},
            "severity_weights": dict(self.severity_weights),
            "at_risk_threshold": self.at_risk_threshold,
            "unresolved_statuses": list(self.unresolved_statuses),
            "excluded_statuses": list(self.excluded_statuses),
            "priority_weights": dict(self.priority_weights),
        }

    def cache_key(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def __hash__(self) -> int:  # mappings are not hashable; the canonical JSON is
        return hash(self.cache_key())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CoverageSettings) and self.cache_key() == other.cache_key()

    @property
    def meeting_window_start(self) -> date:
        return self.reference_date - pd.Timedelta(days=self.meeting_window_days)

    @property
    def incident_window_start(self) -> date:
        return self.reference_date - pd.Timedelta(days=self.incident_window_days)

    def with_overrides(self, values: Mapping[str, Any] | None) -> CoverageSettings:
        """A copy with values given as strings (query parameters, CLI options).

        Keys: ``date``/``reference_date`` (YYYY-MM-DD), ``window_days``/``meeting_window_days``,
        ``incident_window_days``, ``at_risk_threshold``, ``severity_weight.<low|medium|high>``,
        ``requirement.<class>.<police|tni|linmas>`` (a new class starts at 0 for every force),
        ``unresolved_statuses`` (comma-separated), ``priority_weight.<name>``. Empty values are
        ignored (an empty form field means "default"); ``None`` values too.
        """
        if not values:
            return self
        changes: dict[str, Any] = {}
        requirements = {k: dict(v) for k, v in self.requirements.items()}
        severity = dict(self.severity_weights)
        priority = dict(self.priority_weights)
        for key, raw in values.items():
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            text = raw.strip() if isinstance(raw, str) else raw
            parts = str(key).split(".")
            if key in ("date", "reference_date"):
                changes["reference_date"] = _parse_date(key, text)
            elif key in ("window_days", "meeting_window_days"):
                changes["meeting_window_days"] = _parse_int(key, text, 0, MAX_WINDOW_DAYS, "days")
            elif key == "incident_window_days":
                changes["incident_window_days"] = _parse_int(key, text, 0, MAX_WINDOW_DAYS, "days")
            elif key == "at_risk_threshold":
                value = _parse_float(key, text)
                if value <= 0:
                    raise ValidationError(f"{key}: expected a number > 0, got {raw!r}", details={key: "must be > 0"})
                changes["at_risk_threshold"] = value
            elif len(parts) == 2 and parts[0] in ("severity_weight", "weight"):
                if parts[1] not in SEVERITIES:
                    raise ValidationError(
                        f"{key}: unknown severity {parts[1]!r}; known: {', '.join(SEVERITIES)}",
                        details={key: "unknown severity"},
                    )
                severity[parts[1]] = _parse_float(key, text)
            elif len(parts) == 3 and parts[0] == "requirement":
                cls, force = parts[1], parts[2]
                if not _CLASS_NAME.match(cls):
                    raise ValidationError(
                        f"{key}: class name {cls!r} must be lower-case letters, digits or _",
                        details={key: "bad class name"},
                    )
                if force not in FORCES:
                    raise ValidationError(
                        f"{key}: unknown force {force!r}; known: {', '.join(FORCES)}", details={key: "unknown force"}
                    )
                requirements.setdefault(cls, {f: 0 for f in FORCES})[force] = _parse_int(key, text, 0, 100, "personnel")
            elif len(parts) == 2 and parts[0] == "priority_weight":
                if parts[1] not in PRIORITY_KEYS:
                    raise ValidationError(
                        f"{key}: unknown priority weight {parts[1]!r}; known: {', '.join(PRIORITY_KEYS)}",
                        details={key: "unknown priority weight"},
                    )
                priority[parts[1]] = _parse_float(key, text)
            elif key == "unresolved_statuses":
                items = tuple(s.strip() for s in str(text).split(",") if s.strip())
                unknown = [s for s in items if s not in INCIDENT_STATUSES]
                if unknown or not items:
                    raise ValidationError(
                        f"{key}: unknown status {', '.join(map(repr, unknown)) or repr(raw)}; "
                        f"known: {', '.join(INCIDENT_STATUSES)}",
                        details={key: "unknown status"},
                    )
                changes["unresolved_statuses"] = items
            else:
                raise ValidationError(
                    f"{key}: unknown coverage setting; known: date, window_days, incident_window_days, at_risk_threshold, "
                    "severity_weight.<severity>, requirement.<class>.<force>, unresolved_statuses, priority_weight.<name>",
                    details={str(key): "unknown setting"},
                )
        try:
            return replace(
                self, requirements=requirements, severity_weights=severity, priority_weights=priority, **changes
            )
        except ValidationError as exc:
            # name the user's key when the check on construction fails (e.g. the field of a combination)
            raise ValidationError(exc.message, details=exc.details) from None


def _finite_non_negative(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    return math.isfinite(value) and value >= 0


def _parse_date(key: str, raw: Any) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationError(
            f"{key}: expected a date as YYYY-MM-DD, got {raw!r}", details={key: "not a date"}
        ) from None


def _parse_int(key: str, raw: Any, low: int, high: int, unit: str) -> int:
    text = str(raw).strip()
    if isinstance(raw, bool) or not re.fullmatch(r"[+-]?\d+", text):
        raise ValidationError(
            f"{key}: expected a whole number of {unit} from {low} to {high}, got {raw!r}",
            details={key: "not a whole number"},
        )
    value = int(text)
    if not low <= value <= high:
        raise ValidationError(
            f"{key}: expected a whole number of {unit} from {low} to {high}, got {value}", details={key: "out of range"}
        )
    return value


def _parse_float(key: str, raw: Any) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ValidationError(f"{key}: expected a number, got {raw!r}", details={key: "not a number"}) from None
    if not math.isfinite(value) or value < 0:
        raise ValidationError(f"{key}: expected a number >= 0, got {raw!r}", details={key: "must be >= 0"})
    return value


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------

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
    values = (
        df[col]
        .astype(object)
        .where(df[col].notna(), None)
        .map(lambda v: None if v is None else str(v).strip().lower().replace(" ", "_"))
        .to_numpy(dtype=object)
    )
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


# --------------------------------------------------------------------------------------------
# point in desa
# --------------------------------------------------------------------------------------------


def locate_points(
    lon: np.ndarray,
    lat: np.ndarray,
    desa: gpd.GeoDataFrame,
    prefer: np.ndarray | None = None,
    tree: shapely.STRtree | None = None,
) -> np.ndarray:
    """The code of the desa each point (EPSG:4326) lies strictly inside, or ``None``.

    One vectorised STRtree query (predicate ``within``) instead of testing every point against every
    polygon. A point in an overlap of two desa (the real polygons overlap slightly, FACTS.md) gets
    ``prefer[i]`` when that desa contains it, otherwise the lowest code. Points on a boundary or in a
    gap get ``None``.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    out = np.full(len(lon), None, dtype=object)
    ok = ~(np.isnan(lon) | np.isnan(lat))
    if not ok.any() or len(desa) == 0:
        return out
    codes = desa["code"].to_numpy(dtype=object)
    if tree is None:
        tree = shapely.STRtree(desa.geometry.to_numpy())
    pts_idx = np.flatnonzero(ok)
    points = shapely.points(lon[pts_idx], lat[pts_idx])
    pi, di = tree.query(points, predicate="within")
    if len(pi) == 0:
        return out
    hit_codes = codes[di]
    point_pos = pts_idx[pi]
    if prefer is None:
        not_preferred = np.ones(len(pi), dtype=bool)
    else:
        not_preferred = np.asarray(prefer, dtype=object)[point_pos] != hit_codes
    order = np.lexsort((hit_codes.astype(str), not_preferred, point_pos))
    point_pos, hit_codes = point_pos[order], hit_codes[order]
    first = np.ones(len(point_pos), dtype=bool)
    first[1:] = point_pos[1:] != point_pos[:-1]
    out[point_pos[first]] = hit_codes[first]
    return out


# --------------------------------------------------------------------------------------------
# the analysis
# --------------------------------------------------------------------------------------------


@dataclass
class CoverageResult:
    """Output of ``compute_coverage``.

    ``desa``: one row per desa (GeoDataFrame, EPSG:4326) ordered by code; ``kecamatan``: roll-up per
    kecamatan; ``summary``: kabupaten figures (JSON-ready dict); ``tps``: one row per TPS with its
    requirement, shortfall and the desa its point lies in; ``meetings``: every meeting with its venue
    point, whether it is in the window and how many desa it reached.
    """

    desa: gpd.GeoDataFrame
    kecamatan: pd.DataFrame
    summary: dict[str, Any]
    tps: pd.DataFrame
    meetings: pd.DataFrame
    settings: CoverageSettings
    _gaps: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def gaps(self) -> pd.DataFrame:
        """Desa whose status is not ``covered``, highest priority first (ties by code), with the
        reasons spelled out in Bahasa Indonesia (``reasons_id``) and English (``reasons_en``).
        ``rank`` is kabupaten-wide. Built once per result (results are cached); do not modify it."""
        if self._gaps is None:
            self._gaps = self._build_gaps()
        return self._gaps

    def _build_gaps(self) -> pd.DataFrame:
        gaps = self.desa[self.desa["status"] != "covered"].sort_values("priority_rank", kind="stable")
        gaps = gaps.copy()
        gaps.insert(0, "rank", np.arange(1, len(gaps) + 1))
        texts = [reason_texts(row, self.settings) for row in gaps.itertuples(index=False)]
        gaps["reasons_id"] = [t[0] for t in texts]
        gaps["reasons_en"] = [t[1] for t in texts]
        return gaps


def _fmt_date(value: Any) -> str:
    return "-" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%d-%m-%Y")


def _fmt_num(value: float) -> str:
    return f"{value:g}"


def reason_texts(row: Any, settings: CoverageSettings) -> tuple[list[str], list[str]]:
    """Plain-language lines (Indonesian, English) for each reason code of one desa row."""
    ind: list[str] = []
    eng: list[str] = []
    ref = _fmt_date(settings.reference_date)
    for reason in row.reasons:
        if reason == "uncovered":
            ind.append(
                f"Belum dijangkau rakor dalam {settings.meeting_window_days} hari sampai {ref} "
                f"({row.tps_count} TPS, {row.voters} pemilih)"
            )
            eng.append(
                f"No coordination meeting reached it in the {settings.meeting_window_days} days up to {ref} "
                f"({row.tps_count} TPS, {row.voters} voters)"
            )
        elif reason == "insecure":
            short = {f: int(getattr(row, f"shortfall_{f}")) for f in FORCES}
            id_parts = ", ".join(f"{n} {FORCE_LABELS_ID[f]}" for f, n in short.items() if n)
            en_parts = ", ".join(f"{n} {FORCE_LABELS_EN[f]}" for f, n in short.items() if n)
            ind.append(
                f"{row.tps_below_requirement} dari {row.tps_count} TPS kurang personel pengamanan (kurang {id_parts})"
            )
            eng.append(
                f"{row.tps_below_requirement} of {row.tps_count} TPS below the required security personnel "
                f"(short of {en_parts})"
            )
        elif reason == "at_risk:unresolved_incidents":
            ind.append(
                f"{row.unresolved_count} insiden belum tuntas dengan bobot {_fmt_num(row.unresolved_weight)} "
                f"(ambang {_fmt_num(settings.at_risk_threshold)}) dalam {settings.incident_window_days} hari terakhir"
            )
            eng.append(
                f"{row.unresolved_count} unresolved incidents weighing {_fmt_num(row.unresolved_weight)} "
                f"(threshold {_fmt_num(settings.at_risk_threshold)}) in the last {settings.incident_window_days} days"
            )
        elif reason == "at_risk:incident_after_meeting":
            ind.append(
                f"Ada insiden ({_fmt_date(row.last_incident_at)}) setelah rakor terakhir ({_fmt_date(row.last_meeting_date)})"
            )
            eng.append(
                f"An incident ({_fmt_date(row.last_incident_at)}) came after the last meeting "
                f"({_fmt_date(row.last_meeting_date)})"
            )
    return ind, eng


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


def compute_coverage(
    desa: gpd.GeoDataFrame,
    kecamatan: pd.DataFrame,
    meetings: pd.DataFrame | None = None,
    tps: pd.DataFrame | None = None,
    incidents: pd.DataFrame | None = None,
    settings: CoverageSettings | None = None,
) -> CoverageResult:
    """Coverage of every desa at ``settings.reference_date`` (see the module docstring for the rules).

    Frames (``None`` means no records of that kind):

    * ``desa``: GeoDataFrame with a CRS; code, name, kecamatan_code, rep_lon, rep_lat (EPSG:4326),
      optional kind, kecamatan_name, area_km2.
    * ``kecamatan``: code, name, rep_lon, rep_lat (or a geometry to compute them).
    * ``meetings``: id, title, date, level, host_kecamatan_code, host_desa_code, reaches_all_desa,
      reached_desa_codes (list of codes), lon, lat (NaN allowed).
    * ``tps``: id, desa_code, number, voters, vulnerability, police, tni, linmas, lon, lat.
    * ``incidents``: id, occurred_at (naive WIB), severity, status, category, desa_code (None allowed).
    """
    settings = settings or CoverageSettings()
    desa = _prepare_desa(desa)
    kec = _prepare_kecamatan(kecamatan, desa)
    meetings = _frame(meetings, "meetings", MEETING_COLUMNS)
    tps = _frame(tps, "tps", TPS_COLUMNS)
    incidents = _frame(incidents, "incidents", INCIDENT_COLUMNS)

    n = len(desa)
    desa_codes = pd.Index(desa["code"].to_numpy(dtype=object))
    kec_codes = pd.Index(kec["code"].to_numpy(dtype=object))
    desa_kec = desa["kecamatan_code"].to_numpy(dtype=object)
    desa_x, desa_y = project(desa["rep_lon"].to_numpy(float), desa["rep_lat"].to_numpy(float))
    ref = pd.Timestamp(settings.reference_date)

    meet = _meetings(meetings, desa, desa_codes, kec, kec_codes, desa_kec, desa_x, desa_y, ref, settings)
    reach_count, last_meeting, nearest_km, meetings_out = meet
    tps_out, per_tps = _tps(tps, desa, desa_codes, settings)
    inc, inc_rows = _incidents(incidents, desa_codes, last_meeting, ref, settings)

    reached = reach_count > 0
    has_people = (per_tps["tps_count"] > 0) | (per_tps["voters"] > 0)
    uncovered = has_people & ~reached
    insecure = per_tps["tps_below_requirement"] > 0
    risk_unresolved = inc["unresolved_weight"] >= settings.at_risk_threshold
    risk_after = inc["incident_after_last_meeting"]
    at_risk = risk_unresolved | risk_after
    status = np.select([uncovered, at_risk, insecure], ["uncovered", "at_risk", "insecure"], "covered").astype(object)
    reasons = [
        [r for r, on in zip(REASONS, flags) if on]
        for flags in zip(uncovered.tolist(), risk_unresolved.tolist(), risk_after.tolist(), insecure.tolist())
    ]
    shortfall_total = per_tps["shortfall_police"] + per_tps["shortfall_tni"] + per_tps["shortfall_linmas"]
    pw = settings.priority_weights
    priority = (
        pw["uncovered"] * uncovered
        + pw["voters_per_1000"] * per_tps["voters"] / 1000.0
        + pw["incident_weight"] * inc["incident_weight"]
        + pw["shortfall_person"] * shortfall_total
    )
    priority = np.round(priority.astype(float), 6)
    order = np.lexsort((desa_codes.to_numpy(dtype=str), -priority))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)

    base_cols = [
        c
        for c in ("code", "name", "kind", "kecamatan_code", "kecamatan_name", "area_km2", "rep_lon", "rep_lat")
        if c in desa.columns
    ]
    computed = pd.DataFrame(
        {
            "status": status,
            "reasons": reasons,
            "priority": priority,
            "priority_rank": rank,
            "reached": reached,
            "meetings_count": reach_count,
            "last_meeting_date": last_meeting,
            "nearest_venue_km": nearest_km,
            **per_tps,
            "shortfall_total": shortfall_total,
            **inc,
        }
    )
    if "kecamatan_name" not in desa.columns:
        base_cols.append("kecamatan_name")
        desa = desa.assign(
            kecamatan_name=pd.Series(kec["name"].to_numpy(), index=kec_codes).reindex(desa_kec).to_numpy()
        )
    table = pd.concat([desa[base_cols], computed, desa[[desa.geometry.name]]], axis=1)
    out = gpd.GeoDataFrame(table, geometry=desa.geometry.name, crs=WGS84)

    kec_table = _rollup(out, kec)
    summary = _summary(out, kec_table, meetings_out, tps_out, incidents, inc_rows, settings)
    return CoverageResult(
        desa=out, kecamatan=kec_table, summary=summary, tps=tps_out, meetings=meetings_out, settings=settings
    )


def _meetings(meetings, desa, desa_codes, kec, kec_codes, desa_kec, desa_x, desa_y, ref, settings):
    """Reach pairs (meeting, desa) in the window → per-desa count, last date, nearest venue."""
    n = len(desa)
    name = "meetings"
    if len(meetings):
        _check_ids(meetings, name)
    level = _choice(meetings, name, "level", MEETING_LEVELS) if len(meetings) else np.array([], dtype=object)
    day = _datetimes(meetings, name, "date").dt.normalize()
    host_desa = _codes(meetings["host_desa_code"])
    host_kec = _codes(meetings["host_kecamatan_code"])
    _unknown_codes(name, "host_desa_code", meetings["id"], host_desa, desa_codes, "desa")
    _unknown_codes(name, "host_kecamatan_code", meetings["id"], host_kec, kec_codes, "kecamatan")
    lon = _numbers(meetings, name, "lon", integer=False, allow_nan=True)
    lat = _numbers(meetings, name, "lat", integer=False, allow_nan=True)
    reaches_all = meetings["reaches_all_desa"].astype(object).where(meetings["reaches_all_desa"].notna(), False)
    bad_flag = ~reaches_all.map(lambda v: isinstance(v, (bool, np.bool_)) or v in (0, 1)).to_numpy(dtype=bool)
    if bad_flag.any():
        _fail(
            f"{name}: reaches_all_desa must be true or false",
            _labels(name, meetings["id"], bad_flag, meetings["reaches_all_desa"]),
        )
    reaches_all = reaches_all.to_numpy(dtype=bool)

    # host kecamatan, falling back to the host desa's kecamatan
    desa_pos_of_host = desa_codes.get_indexer(host_desa)  # -1 where none
    eff_kec = host_kec.copy()
    fill = (eff_kec == None) & (desa_pos_of_host >= 0)  # noqa: E711 (object array)
    eff_kec[fill] = desa_kec[desa_pos_of_host[fill]]
    needs_host = (level == "kecamatan") & reaches_all & (eff_kec == None)  # noqa: E711
    if needs_host.any():
        _fail(
            f"{name}: reaches_all_desa needs a host kecamatan or host desa", _labels(name, meetings["id"], needs_host)
        )

    # venue: recorded point, else host desa rep point, else host kecamatan rep point
    venue_lon, venue_lat = lon.copy(), lat.copy()
    source = np.where(np.isnan(lon) | np.isnan(lat), None, "recorded").astype(object)
    no_point = source == None  # noqa: E711
    use_desa = no_point & (desa_pos_of_host >= 0)
    venue_lon[use_desa] = desa["rep_lon"].to_numpy(float)[desa_pos_of_host[use_desa]]
    venue_lat[use_desa] = desa["rep_lat"].to_numpy(float)[desa_pos_of_host[use_desa]]
    source[use_desa] = "host_desa"
    kec_pos = kec_codes.get_indexer(eff_kec)
    use_kec = no_point & ~use_desa & (kec_pos >= 0)
    venue_lon[use_kec] = kec["rep_lon"].to_numpy(float)[kec_pos[use_kec]]
    venue_lat[use_kec] = kec["rep_lat"].to_numpy(float)[kec_pos[use_kec]]
    source[use_kec] = "host_kecamatan"
    venue_x, venue_y = project(venue_lon, venue_lat)

    start = ref - pd.Timedelta(days=settings.meeting_window_days)
    in_window = ((day >= start) & (day <= ref)).to_numpy(dtype=bool, copy=True)

    # (a) explicit lists
    lists = meetings["reached_desa_codes"].to_numpy(dtype=object)
    lens = np.zeros(len(lists), dtype=np.int64)
    for i, v in enumerate(lists):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, str) or not hasattr(v, "__len__"):
            _fail(
                f"{name}: reached_desa_codes must be a list of desa codes",
                [f"{name} id {meetings['id'].iloc[i]} ({v!r})"],
            )
        lens[i] = len(v)
    flat = np.array([c for v, k in zip(lists, lens) if k for c in v], dtype=object)
    flat_meeting = np.repeat(np.arange(len(lists)), lens)
    flat_pos = desa_codes.get_indexer(flat) if len(flat) else np.array([], dtype=np.int64)
    if (flat_pos < 0).any():
        bad = flat_pos < 0
        ids = meetings["id"].to_numpy(dtype=object)
        _fail(
            f"{name}: reached_desa_codes has an unknown desa code",
            [f"{name} id {ids[m]} ({c!r})" for m, c in zip(flat_meeting[bad], flat[bad])],
        )
    pairs_m = [flat_meeting]
    pairs_d = [flat_pos]
    # (b) desa-level meeting reaches its host desa
    host_ok = (level == "desa") & (desa_pos_of_host >= 0)
    pairs_m.append(np.flatnonzero(host_ok))
    pairs_d.append(desa_pos_of_host[host_ok])
    # (c) kecamatan-level meeting with reaches_all_desa reaches every desa of its kecamatan
    all_ok = np.flatnonzero((level == "kecamatan") & reaches_all)
    if len(all_ok):
        left = pd.DataFrame({"m": all_ok, "kec": eff_kec[all_ok]})
        right = pd.DataFrame({"kec": desa_kec, "d": np.arange(n)})
        joined = left.merge(right, on="kec", how="inner")
        pairs_m.append(joined["m"].to_numpy(np.int64))
        pairs_d.append(joined["d"].to_numpy(np.int64))
    pm = np.concatenate(pairs_m).astype(np.int64)
    pd_ = np.concatenate(pairs_d).astype(np.int64)
    keep = in_window[pm] if len(pm) else np.array([], dtype=bool)
    pm, pd_ = pm[keep], pd_[keep]
    if len(pm):
        key = np.unique(pm * max(n, 1) + pd_)
        pm, pd_ = key // max(n, 1), key % max(n, 1)

    reach_count = np.bincount(pd_, minlength=n).astype(np.int64)
    day_ns = day.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, pd_, day_ns[pm])
    last_meeting = np.where(reach_count > 0, last, np.iinfo(np.int64).min).astype("datetime64[ns]")
    last_meeting = pd.Series(last_meeting).where(reach_count > 0).to_numpy(dtype="datetime64[ns]")
    dist = np.hypot(desa_x[pd_] - venue_x[pm], desa_y[pd_] - venue_y[pm]) / 1000.0
    nearest = np.full(n, np.inf)
    np.fmin.at(nearest, pd_, dist)
    nearest[np.isinf(nearest)] = np.nan

    reached_by = np.bincount(pm, minlength=len(meetings)) if len(meetings) else np.array([], dtype=np.int64)
    meetings_out = pd.DataFrame(
        {
            "id": meetings["id"].to_numpy(),
            "title": _obj(meetings["title"].to_numpy(dtype=object)),
            "date": day.to_numpy(dtype="datetime64[ns]"),
            "level": _obj(level),
            "host_kecamatan_code": _obj(eff_kec),
            "host_desa_code": _obj(host_desa),
            "venue_lon": venue_lon,
            "venue_lat": venue_lat,
            "venue_source": _obj(source),
            "in_window": in_window,
            "reached_desa_count": reached_by.astype(np.int64),
        }
    )
    return reach_count, last_meeting, nearest, meetings_out


def _tps(tps, desa, desa_codes, settings):
    n = len(desa)
    name = "tps"
    if len(tps):
        _check_ids(tps, name)
    codes = _codes(tps["desa_code"])
    missing = np.array([c is None for c in codes], dtype=bool)
    if missing.any():
        _fail(f"{name}: desa_code is missing", _labels(name, tps["id"], missing))
    pos = desa_codes.get_indexer(codes) if len(codes) else np.array([], dtype=np.int64)
    if (pos < 0).any():
        _fail(f"{name}: desa_code is not a known desa code", _labels(name, tps["id"], pos < 0, codes))
    vuln = (
        _choice(
            tps,
            name,
            "vulnerability",
            tuple(settings.requirements),
            hint="a new class needs its requirement (setting requirement.<class>.<force>)",
        )
        if len(tps)
        else np.array([], dtype=object)
    )
    voters = _numbers(tps, name, "voters", integer=True).astype(np.int64)
    number = _numbers(tps, name, "number", integer=True).astype(np.int64)
    assigned = {f: _numbers(tps, name, f, integer=True).astype(np.int64) for f in FORCES}
    lon = _numbers(tps, name, "lon", integer=False, allow_nan=True)
    lat = _numbers(tps, name, "lat", integer=False, allow_nan=True)

    out = pd.DataFrame(
        {
            "id": tps["id"].to_numpy(),
            "desa_code": _obj(codes),
            "number": number,
            "voters": voters,
            "vulnerability": _obj(vuln),
        }
    )
    below = np.zeros(len(tps), dtype=bool)
    per_desa: dict[str, np.ndarray] = {
        "tps_count": np.bincount(pos, minlength=n).astype(np.int64),
        "voters": np.bincount(pos, weights=voters, minlength=n).astype(np.int64),
    }
    shortfalls = {}
    for f in FORCES:
        req_map = {cls: req[f] for cls, req in settings.requirements.items()}
        required = (
            pd.Series(vuln, dtype=object).map(req_map).to_numpy(dtype=np.int64) if len(tps) else np.array([], np.int64)
        )
        short = np.maximum(required - assigned[f], 0)
        out[f] = assigned[f]
        out[f"required_{f}"] = required
        out[f"shortfall_{f}"] = short
        shortfalls[f] = short
        below |= short > 0
    out["secured"] = ~below
    per_desa["tps_secured"] = np.bincount(pos, weights=~below, minlength=n).astype(np.int64)
    per_desa["tps_below_requirement"] = np.bincount(pos, weights=below, minlength=n).astype(np.int64)
    for f in FORCES:
        per_desa[f"shortfall_{f}"] = np.bincount(pos, weights=shortfalls[f], minlength=n).astype(np.int64)
    out["lon"] = lon
    out["lat"] = lat
    located = locate_points(lon, lat, desa, prefer=codes)
    out["located_desa_code"] = _obj(located)
    has_point = ~(np.isnan(lon) | np.isnan(lat))
    out["location_matches"] = pd.array(np.where(has_point, located == codes, False), dtype="boolean")
    out.loc[~has_point, "location_matches"] = pd.NA
    return out, per_desa


def _incidents(incidents, desa_codes, last_meeting, ref, settings):
    n = len(desa_codes)
    name = "incidents"
    if len(incidents):
        _check_ids(incidents, name)
    occurred = _datetimes(incidents, name, "occurred_at")
    severity = _choice(incidents, name, "severity", SEVERITIES) if len(incidents) else np.array([], dtype=object)
    status = _choice(incidents, name, "status", INCIDENT_STATUSES) if len(incidents) else np.array([], dtype=object)
    codes = _codes(incidents["desa_code"])
    pos = desa_codes.get_indexer(codes) if len(codes) else np.array([], dtype=np.int64)
    unknown = np.array([c is not None for c in codes], dtype=bool) & (pos < 0)
    if unknown.any():
        _fail(f"{name}: desa_code is not a known desa code", _labels(name, incidents["id"], unknown, codes))

    day = occurred.dt.normalize()
    start = ref - pd.Timedelta(days=settings.incident_window_days)
    counted = ((day >= start) & (day <= ref)).to_numpy(dtype=bool, copy=True)
    counted = counted & ~pd.Series(status, dtype=object).isin(settings.excluded_statuses).to_numpy(dtype=bool)
    weight = (
        pd.Series(severity, dtype=object).map(dict(settings.severity_weights)).to_numpy(dtype=float)
        if len(incidents)
        else np.array([], dtype=float)
    )
    unresolved = pd.Series(status, dtype=object).isin(settings.unresolved_statuses).to_numpy(dtype=bool)

    sel = counted & (pos >= 0)
    p = pos[sel]
    out: dict[str, np.ndarray] = {}
    for sev in SEVERITIES:
        out[f"incidents_{sev}"] = np.bincount(p, weights=(severity[sel] == sev), minlength=n).astype(np.int64)
    out["incidents_count"] = np.bincount(p, minlength=n).astype(np.int64)
    out["incident_weight"] = np.bincount(p, weights=weight[sel], minlength=n).astype(float)
    out["unresolved_count"] = np.bincount(p, weights=unresolved[sel], minlength=n).astype(np.int64)
    out["unresolved_weight"] = np.bincount(p, weights=weight[sel] * unresolved[sel], minlength=n).astype(float)
    occ_ns = occurred.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    latest = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(latest, p, occ_ns[sel])
    has = out["incidents_count"] > 0
    out["last_incident_at"] = pd.Series(latest.astype("datetime64[ns]")).where(has).to_numpy(dtype="datetime64[ns]")
    meet_day = last_meeting[p]
    inc_day = day.to_numpy(dtype="datetime64[ns]")[sel]
    after = ~np.isnat(meet_day) & (inc_day > meet_day)
    out["incident_after_last_meeting"] = np.bincount(p, weights=after, minlength=n) > 0
    return out, {"counted": counted, "unresolved": unresolved, "weight": weight}


def _share(num: np.ndarray | float, den: np.ndarray | float):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            np.asarray(den) > 0, np.asarray(num, dtype=float) / np.where(np.asarray(den) > 0, den, 1), np.nan
        )


def _share_or_none(num: int, den: int) -> float | None:
    """A share for JSON: ``None`` when there is nothing to divide by."""
    return num / den if den else None


def _rollup(out: pd.DataFrame, kec: pd.DataFrame) -> pd.DataFrame:
    """Per kecamatan: share of desa reached, of TPS secured, voters in uncovered desa, weighted incidents."""
    df = pd.DataFrame(
        {
            "kecamatan_code": out["kecamatan_code"].to_numpy(dtype=object),
            "desa_count": 1,
            "desa_reached": out["reached"].to_numpy(dtype=np.int64),
            "tps_count": out["tps_count"].to_numpy(),
            "tps_secured": out["tps_secured"].to_numpy(),
            "voters": out["voters"].to_numpy(),
            "voters_uncovered": np.where(out["status"].to_numpy() == "uncovered", out["voters"].to_numpy(), 0),
            "incidents_count": out["incidents_count"].to_numpy(),
            "incident_weight": out["incident_weight"].to_numpy(),
            "unresolved_count": out["unresolved_count"].to_numpy(),
            "unresolved_weight": out["unresolved_weight"].to_numpy(),
            "shortfall_total": out["shortfall_total"].to_numpy(),
            **{f"status_{s}": (out["status"].to_numpy() == s).astype(np.int64) for s in STATUSES},
        }
    )
    sums = df.groupby("kecamatan_code", sort=True).sum().reindex(kec["code"].to_numpy(), fill_value=0)
    table = pd.DataFrame({"code": kec["code"].to_numpy(dtype=object), "name": kec["name"].to_numpy(dtype=object)})
    for col in sums.columns:
        table[col] = sums[col].to_numpy()
    table["share_desa_reached"] = _share(table["desa_reached"], table["desa_count"])
    table["share_tps_secured"] = _share(table["tps_secured"], table["tps_count"])
    for c in ("rep_lon", "rep_lat"):
        table[c] = kec[c].to_numpy(float)
    if isinstance(kec, gpd.GeoDataFrame) and kec.geometry.name in kec.columns:
        table = gpd.GeoDataFrame(table, geometry=kec.geometry.to_numpy(), crs=kec.crs or WGS84)
    return table


def _summary(out, kec_table, meetings_out, tps_out, incidents, inc_rows, settings) -> dict[str, Any]:
    counted, unresolved, weight = inc_rows["counted"], inc_rows["unresolved"], inc_rows["weight"]
    no_desa = np.array([c is None for c in _codes(incidents["desa_code"])], dtype=bool)
    desa_count = len(out)
    reached = int(out["reached"].sum())
    tps_count = int(out["tps_count"].sum())
    tps_secured = int(out["tps_secured"].sum())
    status_counts = {s: int((out["status"] == s).sum()) for s in STATUSES}
    has_point = tps_out["location_matches"].notna().to_numpy()
    return {
        "reference_date": settings.reference_date.isoformat(),
        "meeting_window_start": pd.Timestamp(settings.meeting_window_start).date().isoformat(),
        "incident_window_start": pd.Timestamp(settings.incident_window_start).date().isoformat(),
        "desa_count": desa_count,
        "kecamatan_count": len(kec_table),
        "desa_reached": reached,
        "share_desa_reached": _share_or_none(reached, desa_count),
        "tps_count": tps_count,
        "tps_secured": tps_secured,
        "share_tps_secured": _share_or_none(tps_secured, tps_count),
        "voters": int(out["voters"].sum()),
        "voters_uncovered": int(out.loc[out["status"] == "uncovered", "voters"].sum()),
        "shortfall": {f: int(out[f"shortfall_{f}"].sum()) for f in FORCES},
        "meetings_total": len(meetings_out),
        "meetings_in_window": int(meetings_out["in_window"].sum()),
        # kabupaten incident totals include incidents not tied to any desa; kecamatan rows cannot
        "incidents_in_window": int(counted.sum()),
        "incident_weight": float(weight[counted].sum()),
        "unresolved_count": int((counted & unresolved).sum()),
        "unresolved_weight": float(weight[counted & unresolved].sum()),
        "incidents_without_desa": int((counted & no_desa).sum()),
        "tps_with_point": int(has_point.sum()),
        "tps_location_mismatch": int(
            (has_point & ~tps_out["location_matches"].fillna(True).to_numpy(dtype=bool)).sum()
        ),
        "status_counts": status_counts,
        "settings": settings.to_dict(),
    }
