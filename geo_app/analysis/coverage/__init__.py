"""Coverage-gap analysis (issues 4 and 10): which desa no rakor reached or will reach, which TPS
lack guards, where incidents pile up. Pure functions over (Geo)DataFrames: no Flask, no SQLAlchemy.

``settings`` (parameters, presets, parsing), ``inputs`` (frame checks, projection), ``rules`` (reach,
windows, security, incidents, statuses, flags) and ``rollup`` (result, kecamatan table, summary,
gap list). The rules are stated in ``rules`` and in the README's coverage section.
"""

from ..placement import locate_points
from .inputs import METRIC_CRS, WGS84, project
from .rollup import CoverageResult, plan_of
from .rules import compute_coverage, in_window, meeting_reach, reaches_only_venue, shortfall, tps_requirement
from .settings import (
    DEFAULT_PRESET,
    ELECTION_DAY,
    FLAGS,
    FORCES,
    INCIDENT_STATUSES,
    MEETING_LEVELS,
    PRESETS,
    SEVERITIES,
    STATUSES,
    CoverageSettings,
    window,
)

__all__ = [
    "DEFAULT_PRESET",
    "ELECTION_DAY",
    "FLAGS",
    "FORCES",
    "INCIDENT_STATUSES",
    "MEETING_LEVELS",
    "METRIC_CRS",
    "PRESETS",
    "SEVERITIES",
    "STATUSES",
    "WGS84",
    "CoverageResult",
    "CoverageSettings",
    "compute_coverage",
    "in_window",
    "locate_points",
    "meeting_reach",
    "plan_of",
    "project",
    "reaches_only_venue",
    "shortfall",
    "tps_requirement",
    "window",
]
