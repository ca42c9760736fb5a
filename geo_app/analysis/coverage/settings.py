"""Coverage settings: the documented defaults, the security presets, parsing and validation.

Values given as text (query parameters, CLI options, ``--set key=value``) are parsed by
``CoverageSettings.with_overrides``; a bad value raises ``ValidationError`` naming the field.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

import numpy as np

from ...errors import ValidationError
from ...i18n import msg_as

# Every message below is a ``Message`` (geo_app/i18n.py): its ``str`` is the English text the API and the CLI
# always gave (clients match it), a page shows the Indonesian msgid or its English translation.

#: Election day of the Pilkada serentak 2024 (FACTS.md).
ELECTION_DAY = date(2024, 11, 27)

FORCES = ("police", "tni", "linmas")
SEVERITIES = ("low", "medium", "high")
INCIDENT_STATUSES = ("reported", "verified", "forwarded", "closed", "dismissed")
MEETING_LEVELS = ("kabupaten", "kecamatan", "desa")
#: headline status order: the first that holds colours the desa
STATUSES = ("uncovered", "at_risk", "insecure", "no_data", "covered")
#: every condition that can hold for a desa (a desa row lists all that hold)
FLAGS = ("uncovered", "at_risk", "insecure", "no_data", "follow_up", "location_mismatch")
PRIORITY_KEYS = ("uncovered", "voters_per_1000", "incident_weight", "shortfall_person")
MAX_WINDOW_DAYS = 3650
MAX_PER_TPS = 100.0

#: Security presets: personnel required **per TPS** by vulnerability class, as ratios (police may be
#: fractional: "2 police per 10 TPS" = 0.2). Per desa the required count is the sum over its TPS,
#: rounded up. Linmas stay 2 per TPS everywhere (Perppu 1/2014 art. 89(5); PKPU 8/2018 art. 25).
#: Every preset names the project's two classes (``tidak_rawan``, ``rawan``) besides the national
#: ones, so TPS recorded with the Mukomuko vocabulary are judged by any preset. Sources: FACTS.md.
PRESETS: Mapping[str, Mapping[str, Mapping[str, float]]] = {
    # Polres Mukomuko plan for Pilkada 2024 (mediabengkulu.co/?p=66943;
    # harianrakyatbengkulu.bacakoran.co/amp/19948): tidak rawan 2 police per 2 TPS and 4 Linmas,
    # rawan 2 police + 2 Linmas per TPS.
    "mukomuko-2024": {
        "tidak_rawan": {"police": 1.0, "tni": 0.0, "linmas": 2.0},
        "rawan": {"police": 2.0, "tni": 0.0, "linmas": 2.0},
    },
    # Pilkada 2020 national ratios: aman 2 per 10 TPS, rawan 2 per 2 TPS, sangat rawan 2 per TPS,
    # khusus 2 per TPS (tidak rawan = aman).
    "pilkada-2020": {
        "tidak_rawan": {"police": 0.2, "tni": 0.0, "linmas": 2.0},
        "aman": {"police": 0.2, "tni": 0.0, "linmas": 2.0},
        "rawan": {"police": 1.0, "tni": 0.0, "linmas": 2.0},
        "sangat_rawan": {"police": 2.0, "tni": 0.0, "linmas": 2.0},
        "khusus": {"police": 2.0, "tni": 0.0, "linmas": 2.0},
    },
    # Pemilu 2019 national ratios: kurang rawan 2 per 4 TPS, rawan 4 per 2 TPS, sangat rawan 6 per
    # 2 TPS (tidak rawan = kurang rawan).
    "pemilu-2019": {
        "tidak_rawan": {"police": 0.5, "tni": 0.0, "linmas": 2.0},
        "kurang_rawan": {"police": 0.5, "tni": 0.0, "linmas": 2.0},
        "rawan": {"police": 2.0, "tni": 0.0, "linmas": 2.0},
        "sangat_rawan": {"police": 3.0, "tni": 0.0, "linmas": 2.0},
    },
}
DEFAULT_PRESET = "mukomuko-2024"
DEFAULT_REQUIREMENTS = PRESETS[DEFAULT_PRESET]
DEFAULT_SEVERITY_WEIGHTS = {"low": 1.0, "medium": 3.0, "high": 9.0}
DEFAULT_UNRESOLVED = ("reported", "verified", "forwarded")
DEFAULT_EXCLUDED = ("dismissed",)
DEFAULT_PRIORITY_WEIGHTS = {"uncovered": 10.0, "voters_per_1000": 2.0, "incident_weight": 1.0, "shortfall_person": 1.0}

#: Reference dates accepted (pandas timestamps end in 2262; a window may reach 10 years back).
REFERENCE_DATE_RANGE = (date(1900, 1, 1), date(2200, 12, 31))

_CLASS_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_TRUE = {"1", "true", "yes", "ya", "on"}
_FALSE = {"0", "false", "no", "tidak", "off"}


#: ``details`` of a bad setting: the English code the API gives → the Indonesian a page shows
_WHY = {
    "out of range": msg_as("out of range", "di luar rentang"),
    "unknown preset": msg_as("unknown preset", "preset tidak dikenal"),
    "must be > 0": msg_as("must be > 0", "harus > 0"),
    "must be >= 0": msg_as("must be >= 0", "harus >= 0"),
    "unknown severity": msg_as("unknown severity", "keparahan tidak dikenal"),
    "bad class name": msg_as("bad class name", "nama kelas tidak sah"),
    "unknown force": msg_as("unknown force", "aparat tidak dikenal"),
    "unknown priority weight": msg_as("unknown priority weight", "bobot prioritas tidak dikenal"),
    "unknown status": msg_as("unknown status", "status tidak dikenal"),
    "unknown setting": msg_as("unknown setting", "pengaturan tidak dikenal"),
    "not a date": msg_as("not a date", "bukan tanggal"),
    "not a whole number": msg_as("not a whole number", "bukan bilangan bulat"),
    "not a number": msg_as("not a number", "bukan angka"),
    "not a number of personnel per TPS": msg_as("not a number of personnel per TPS", "bukan jumlah personel per TPS"),
    "not yes or no": msg_as("not yes or no", "bukan ya atau tidak"),
}


def _days_error(key: str, low: int, high: int, value: Any, shown: str, why: str | None = None) -> ValidationError:
    """``key``: not a whole number of days from ``low`` to ``high`` (``shown``: the value as the message
    always showed it)."""
    return ValidationError(
        msg_as(
            f"{key}: expected a whole number of days from {low} to {high}, got {shown}",
            "%(key)s: harus bilangan bulat hari dari %(low)s sampai %(high)s, bukan %(value)s",
            key=key,
            low=low,
            high=high,
            value=shown,
        ),
        details=None if why is None else {key: _WHY[why]},
    )


def _unknown_preset(value: Any) -> ValidationError:
    return ValidationError(
        msg_as(
            f"preset: unknown security preset {value!r}; known: {', '.join(PRESETS)}",
            "preset: preset pengamanan %(value)r tidak dikenal; pilihan: %(choices)s",
            value=value,
            choices=", ".join(PRESETS),
        ),
        details={"preset": _WHY["unknown preset"]},
    )


def _not_below(key: str, value: Any, strict: bool, why: str | None = None) -> ValidationError:
    """``key``: a number > 0 (``strict``) or >= 0 was expected; ``value`` shown with repr as always."""
    op = ">" if strict else ">="
    return ValidationError(
        msg_as(
            f"{key}: expected a number {op} 0, got {value!r}",
            "%(key)s: harus angka %(op)s 0, bukan %(value)r",
            key=key,
            op=op,
            value=value,
        ),
        details=None if why is None else {key: _WHY[why]},
    )


def _class_name_error(key: str, cls: Any, why: bool) -> ValidationError:
    return ValidationError(
        msg_as(
            f"{key}: class name {cls!r} must be lower-case letters, digits or _",
            "%(key)s: nama kelas %(value)r harus huruf kecil, angka atau _",
            key=key,
            value=cls,
        ),
        details={key: _WHY["bad class name"]} if why else None,
    )


def _exactly(key: str, choices: tuple[str, ...]) -> ValidationError:
    return ValidationError(
        msg_as(
            f"{key}: expected exactly {', '.join(choices)}",
            "%(key)s: harus tepat berisi %(choices)s",
            key=key,
            choices=", ".join(choices),
        )
    )


def _unknown_statuses(key: str, shown: str, why: bool) -> ValidationError:
    return ValidationError(
        msg_as(
            f"{key}: unknown status {shown}; known: {', '.join(INCIDENT_STATUSES)}",
            "%(key)s: status %(value)s tidak dikenal; pilihan: %(choices)s",
            key=key,
            value=shown,
            choices=", ".join(INCIDENT_STATUSES),
        ),
        details={key: _WHY["unknown status"]} if why else None,
    )


#: what an unknown name in a setting key is (its ``str``: the English word the messages always used)
_SEVERITY = msg_as("severity", "keparahan")
_FORCE = msg_as("force", "aparat")
_PRIORITY_WEIGHT = msg_as("priority weight", "bobot prioritas")


def _unknown_choice(key: str, what: str, value: str, choices: tuple[str, ...], why: str) -> ValidationError:
    """``key``: ``value`` is not one of ``choices`` (``what``: a severity, a force, a priority weight)."""
    return ValidationError(
        msg_as(
            f"{key}: unknown {what} {value!r}; known: {', '.join(choices)}",
            "%(key)s: %(what)s %(value)r tidak dikenal; pilihan: %(choices)s",
            key=key,
            what=what,
            value=value,
            choices=", ".join(choices),
        ),
        details={key: _WHY[why]},
    )


def _frozen_map(value: Mapping) -> MappingProxyType:
    return MappingProxyType({k: (_frozen_map(v) if isinstance(v, Mapping) else v) for k, v in value.items()})


def window(reference: date, days: int) -> tuple[date, date]:
    """THE window rule: ``days`` calendar days ending on and including ``reference``.

    (first day, last day); with 0 days the first day is after the last, so nothing is inside.
    """
    return reference - timedelta(days=days - 1), reference


@dataclass(frozen=True)
class CoverageSettings:
    """Every tunable of the analysis, with the documented defaults.

    ``requirements`` left as ``None`` takes the preset's. Build variants with ``with_overrides``
    (strings from a request or the CLI) or ``dataclasses.replace``; values are checked on
    construction and a bad one raises ``ValidationError`` naming the field.
    """

    reference_date: date = ELECTION_DAY
    meeting_window_days: int = 60
    incident_window_days: int = 30
    preset: str = DEFAULT_PRESET
    requirements: Mapping[str, Mapping[str, float]] | None = None
    tni_counts_as_police: bool = True
    severity_weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_SEVERITY_WEIGHTS)
    at_risk_threshold: float = 3.0
    unresolved_statuses: tuple[str, ...] = DEFAULT_UNRESOLVED
    excluded_statuses: tuple[str, ...] = DEFAULT_EXCLUDED
    priority_weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_PRIORITY_WEIGHTS)

    def __post_init__(self) -> None:
        ref = self.reference_date
        if isinstance(ref, datetime) or not isinstance(ref, date):
            raise ValidationError(
                msg_as(
                    f"reference_date: expected a date, got {ref!r}",
                    "reference_date: harus tanggal, bukan %(value)r",
                    value=ref,
                )
            )
        if not REFERENCE_DATE_RANGE[0] <= ref <= REFERENCE_DATE_RANGE[1]:
            first, last = REFERENCE_DATE_RANGE
            raise ValidationError(
                msg_as(
                    f"reference_date: expected a date from {first} to {last}, got {ref}",
                    "reference_date: harus tanggal dari %(first)s sampai %(last)s, bukan %(value)s",
                    first=first,
                    last=last,
                    value=ref,
                ),
                details={"date": _WHY["out of range"]},
            )
        for name in ("meeting_window_days", "incident_window_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= MAX_WINDOW_DAYS:
                raise _days_error(name, 0, MAX_WINDOW_DAYS, value, repr(value))
        if self.preset not in PRESETS:
            raise _unknown_preset(self.preset)
        if not isinstance(self.tni_counts_as_police, (bool, np.bool_)):
            raise ValidationError(
                msg_as(
                    f"tni_counts_as_police: expected true or false, got {self.tni_counts_as_police!r}",
                    "tni_counts_as_police: harus true atau false, bukan %(value)r",
                    value=self.tni_counts_as_police,
                )
            )
        requirements = PRESETS[self.preset] if self.requirements is None else self.requirements
        if not isinstance(requirements, Mapping) or not requirements:
            raise ValidationError(
                msg_as(
                    "requirements: expected at least one vulnerability class",
                    "requirements: perlu sedikitnya satu kelas kerawanan",
                )
            )
        for cls, req in requirements.items():
            if not isinstance(cls, str) or not _CLASS_NAME.match(cls):
                raise _class_name_error("requirements", cls, why=False)
            if not isinstance(req, Mapping) or set(req) != set(FORCES):
                raise ValidationError(
                    msg_as(
                        f"requirement.{cls}: expected exactly the forces {', '.join(FORCES)}",
                        "requirement.%(cls)s: harus tepat berisi aparat %(choices)s",
                        cls=cls,
                        choices=", ".join(FORCES),
                    )
                )
            for force, n in req.items():
                if not _finite_non_negative(n) or n > MAX_PER_TPS:
                    raise ValidationError(
                        msg_as(
                            f"requirement.{cls}.{force}: expected a number of personnel per TPS from 0 to "
                            f"{MAX_PER_TPS:g}, got {n!r}",
                            "%(key)s: harus jumlah personel per TPS dari 0 sampai %(max)s, bukan %(value)r",
                            key=f"requirement.{cls}.{force}",
                            max=f"{MAX_PER_TPS:g}",
                            value=n,
                        )
                    )
        if not isinstance(self.severity_weights, Mapping) or set(self.severity_weights) != set(SEVERITIES):
            raise _exactly("severity_weights", SEVERITIES)
        for sev, w in self.severity_weights.items():
            if not _finite_non_negative(w):
                raise _not_below(f"severity_weight.{sev}", w, strict=False)
        if not _finite_non_negative(self.at_risk_threshold) or self.at_risk_threshold <= 0:
            raise _not_below("at_risk_threshold", self.at_risk_threshold, strict=True)
        for name in ("unresolved_statuses", "excluded_statuses"):
            value = getattr(self, name)
            unknown = [s for s in value if s not in INCIDENT_STATUSES]
            if isinstance(value, str) or unknown:
                raise _unknown_statuses(name, ", ".join(map(repr, unknown)) or repr(value), why=False)
        both = set(self.unresolved_statuses) & set(self.excluded_statuses)
        if both:
            raise ValidationError(
                msg_as(
                    f"unresolved_statuses: {', '.join(sorted(both))} cannot be both unresolved and excluded",
                    "unresolved_statuses: %(value)s tidak bisa sekaligus belum tuntas dan dikecualikan",
                    value=", ".join(sorted(both)),
                )
            )
        if not isinstance(self.priority_weights, Mapping) or set(self.priority_weights) != set(PRIORITY_KEYS):
            raise _exactly("priority_weights", PRIORITY_KEYS)
        for key, w in self.priority_weights.items():
            if not _finite_non_negative(w):
                raise _not_below(f"priority_weight.{key}", w, strict=False)
        # freeze the mappings so a settings object can be shared between cached results
        object.__setattr__(
            self,
            "requirements",
            _frozen_map({k: {f: float(v[f]) for f in FORCES} for k, v in sorted(requirements.items())}),
        )
        object.__setattr__(self, "tni_counts_as_police", bool(self.tni_counts_as_police))
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
            "meeting_window": [d.isoformat() for d in self.meeting_window],
            "incident_window_days": self.incident_window_days,
            "incident_window": [d.isoformat() for d in self.incident_window],
            "preset": self.preset,
            "requirements": {k: dict(v) for k, v in sorted(self.requirements.items())},
            "tni_counts_as_police": self.tni_counts_as_police,
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
    def meeting_window(self) -> tuple[date, date]:
        return window(self.reference_date, self.meeting_window_days)

    @property
    def incident_window(self) -> tuple[date, date]:
        return window(self.reference_date, self.incident_window_days)

    @property
    def meeting_window_start(self) -> date:
        return self.meeting_window[0]

    @property
    def incident_window_start(self) -> date:
        return self.incident_window[0]

    def with_overrides(self, values: Mapping[str, Any] | None) -> CoverageSettings:
        """A copy with values given as strings (query parameters, CLI options).

        Keys: ``date``/``reference_date`` (YYYY-MM-DD), ``window_days``/``meeting_window_days``,
        ``incident_window_days``, ``preset`` (security preset; resets the requirements to it),
        ``tni_counts_as_police`` (ya/tidak), ``at_risk_threshold``, ``severity_weight.<low|medium|high>``,
        ``requirement.<class>.<police|tni|linmas>`` (personnel per TPS, may be fractional; a new class
        starts at 0 for every force), ``unresolved_statuses`` (comma-separated), ``priority_weight.<name>``.
        Empty values are ignored (an empty form field means "default"); ``None`` values too.
        """
        if not values:
            return self
        items = [(k, v) for k, v in values.items() if not (v is None or (isinstance(v, str) and not v.strip()))]
        changes: dict[str, Any] = {}
        base_req = self.requirements
        for key, raw in items:  # the preset first: requirement.* overrides apply on top of it
            if key == "preset":
                name = str(raw).strip().lower()
                if name not in PRESETS:
                    raise _unknown_preset(raw)
                changes["preset"] = name
                base_req = PRESETS[name]
        requirements = {k: dict(v) for k, v in base_req.items()}
        severity = dict(self.severity_weights)
        priority = dict(self.priority_weights)
        for key, raw in items:
            text = raw.strip() if isinstance(raw, str) else raw
            parts = str(key).split(".")
            if key == "preset":
                continue
            if key in ("date", "reference_date"):
                changes["reference_date"] = _parse_date(key, text)
            elif key in ("window_days", "meeting_window_days"):
                changes["meeting_window_days"] = _parse_int(key, text, 0, MAX_WINDOW_DAYS)
            elif key == "incident_window_days":
                changes["incident_window_days"] = _parse_int(key, text, 0, MAX_WINDOW_DAYS)
            elif key == "tni_counts_as_police":
                changes["tni_counts_as_police"] = _parse_bool(key, text)
            elif key == "at_risk_threshold":
                value = _parse_float(key, text)
                if value <= 0:
                    raise _not_below(key, raw, strict=True, why="must be > 0")
                changes["at_risk_threshold"] = value
            elif len(parts) == 2 and parts[0] in ("severity_weight", "weight"):
                if parts[1] not in SEVERITIES:
                    raise _unknown_choice(key, _SEVERITY, parts[1], SEVERITIES, "unknown severity")
                severity[parts[1]] = _parse_float(key, text)
            elif len(parts) == 3 and parts[0] == "requirement":
                cls, force = parts[1], parts[2]
                if not _CLASS_NAME.match(cls):
                    raise _class_name_error(key, cls, why=True)
                if force not in FORCES:
                    raise _unknown_choice(key, _FORCE, force, FORCES, "unknown force")
                value = _parse_per_tps(key, text)
                requirements.setdefault(cls, {f: 0.0 for f in FORCES})[force] = value
            elif len(parts) == 2 and parts[0] == "priority_weight":
                if parts[1] not in PRIORITY_KEYS:
                    raise _unknown_choice(key, _PRIORITY_WEIGHT, parts[1], PRIORITY_KEYS, "unknown priority weight")
                priority[parts[1]] = _parse_float(key, text)
            elif key == "unresolved_statuses":
                listed = tuple(s.strip() for s in str(text).split(",") if s.strip())
                unknown = [s for s in listed if s not in INCIDENT_STATUSES]
                if unknown or not listed:
                    raise _unknown_statuses(key, ", ".join(map(repr, unknown)) or repr(raw), why=True)
                changes["unresolved_statuses"] = listed
            else:
                known = (
                    "date, window_days, incident_window_days, preset, tni_counts_as_police, at_risk_threshold, "
                    "severity_weight.<severity>, requirement.<class>.<force>, unresolved_statuses, "
                    "priority_weight.<name>"
                )
                raise ValidationError(
                    msg_as(
                        f"{key}: unknown coverage setting; known: {known}",
                        "%(key)s: pengaturan cakupan tidak dikenal; pilihan: %(choices)s",
                        key=key,
                        choices=known,
                    ),
                    details={str(key): _WHY["unknown setting"]},
                )
        try:
            return replace(
                self, requirements=requirements, severity_weights=severity, priority_weights=priority, **changes
            )
        except ValidationError as exc:
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
            msg_as(
                f"{key}: expected a date as YYYY-MM-DD, got {raw!r}",
                "%(key)s: harus tanggal dengan bentuk YYYY-MM-DD, bukan %(value)r",
                key=key,
                value=raw,
            ),
            details={key: _WHY["not a date"]},
        ) from None


def _parse_int(key: str, raw: Any, low: int, high: int) -> int:
    """A whole number of days from ``low`` to ``high`` (the windows)."""
    text = str(raw).strip()
    if isinstance(raw, bool) or not re.fullmatch(r"[+-]?\d+", text):
        raise _days_error(key, low, high, raw, repr(raw), why="not a whole number")
    value = int(text)
    if not low <= value <= high:
        raise _days_error(key, low, high, value, str(value), why="out of range")
    return value


def _parse_float(key: str, raw: Any) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ValidationError(
            msg_as(
                f"{key}: expected a number, got {raw!r}", "%(key)s: harus angka, bukan %(value)r", key=key, value=raw
            ),
            details={key: _WHY["not a number"]},
        ) from None
    if not math.isfinite(value) or value < 0:
        raise _not_below(key, raw, strict=False, why="must be >= 0")
    return value


def _parse_per_tps(key: str, raw: Any) -> float:
    """Personnel per TPS: a number from 0 to 100, also as a ratio "2/10" (2 per 10 TPS)."""
    text = str(raw).strip().replace(",", ".")
    try:
        if "/" in text:
            num, _, den = text.partition("/")
            value = float(num) / float(den)
        else:
            value = float(text)
    except (ValueError, ZeroDivisionError):
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= MAX_PER_TPS:
        raise ValidationError(
            msg_as(
                f"{key}: expected a number of personnel per TPS from 0 to {MAX_PER_TPS:g} (or a ratio like 2/10), "
                f"got {raw!r}",
                "%(key)s: harus jumlah personel per TPS dari 0 sampai %(max)s (atau rasio seperti 2/10), bukan "
                "%(value)r",
                key=key,
                max=f"{MAX_PER_TPS:g}",
                value=raw,
            ),
            details={key: _WHY["not a number of personnel per TPS"]},
        )
    return value


def _parse_bool(key: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationError(
        msg_as(
            f"{key}: expected ya/tidak (yes/no), got {raw!r}",
            "%(key)s: harus ya atau tidak, bukan %(value)r",
            key=key,
            value=raw,
        ),
        details={key: _WHY["not yes or no"]},
    )
