"""Popup HTML of desa, TPS, incidents and rakor, built from escaped parts.

One place for the content, used by the map data (``services.map_data``: the endpoints and the inline
data of pages opened from disk), so a popup reads the same on every map. Every value from data
or a user goes through ``display.escape``; labels are ours and escaped too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..i18n import (
    DEFAULT_LANG,
    FORCE_LABELS_ID,
    category_label,
    flag_label,
    format_date,
    format_datetime,
    format_number,
    gettext,
    severity_label,
    status_label,
    t,
)
from .display import escape


def row(label: str, value: str) -> str:
    """One popup table row; ``label`` is ours, ``value`` must already be escaped HTML."""
    return f"<tr><th>{escape(label)}</th><td>{value}</td></tr>"


def popup(title: str, rows: Iterable[str], footer: str = "") -> str:
    """``title`` must already be escaped HTML."""
    return f'<div class="map-popup"><b>{title}</b><table>{"".join(rows)}</table>{footer}</div>'


def fmt_int(value: Any, lang: str = DEFAULT_LANG) -> str:
    """A whole number with the language's grouping (139.976 / 139,976)."""
    try:
        return format_number(int(value), lang)
    except (TypeError, ValueError):
        return "-"


def fmt_day(value: Any) -> str:
    """dd/mm/yyyy, as on every page."""
    return format_date(value)


def desa_popup(
    r: Any,
    lang: str = DEFAULT_LANG,
    reasons: Sequence[str] = (),
    desa_url: Callable[[str], str] | None = None,
) -> str:
    """A desa's coverage: status, flags, planned rakor, figures, reasons, link to its page.

    ``r``: a coverage row (attribute access: ``itertuples``) with code, name, kecamatan_name, status,
    tps_count, voters, meetings_count, incidents_count, shortfall_total; flags and
    planned_meeting_date optional."""
    rows = [
        row(t("kecamatan", lang), escape(r.kecamatan_name)),
        row(t("code", lang), escape(r.code)),
        row(t("status", lang), escape(status_label(r.status, lang))),
        row(
            t("flags", lang),
            escape(", ".join(flag_label(f, lang) for f in getattr(r, "flags", []) or []) or "-"),
        ),
        row(t("planned_meeting", lang), escape(fmt_day(getattr(r, "planned_meeting_date", None)))),
        row(t("tps", lang), fmt_int(r.tps_count, lang)),
        row(t("voters", lang), fmt_int(r.voters, lang)),
        row(t("meetings", lang), fmt_int(r.meetings_count, lang)),
        row(t("incidents", lang), fmt_int(r.incidents_count, lang)),
        row(t("shortfall", lang), fmt_int(r.shortfall_total, lang)),
    ]
    footer = ""
    if reasons:
        footer += "<ul>" + "".join(f"<li>{escape(x)}</li>" for x in reasons) + "</ul>"
    if desa_url is not None:
        footer += f'<a href="{escape(desa_url(r.code))}" target="_top">{escape(t("open_desa", lang))}</a>'
    return popup(escape(r.name), rows, footer)


def tps_popup(r: Any, lang: str = DEFAULT_LANG) -> str:
    """A TPS: number, desa, voters, class, personnel against the requirement (the coverage verdict)."""
    secured = bool(r.secured)  # the coverage rule's verdict (TNI may stand in for police)
    personnel = ", ".join(
        f"{label} {int(getattr(r, f))}/{float(getattr(r, f'required_{f}')):g}"
        for f, label in ((f, gettext(FORCE_LABELS_ID[f], lang)) for f in ("police", "tni", "linmas"))
    )
    state = t("secured" if secured else "short", lang)
    rows = [
        row(t("desa", lang), escape(getattr(r, "desa_name", ""))),
        row(t("voters", lang), fmt_int(r.voters, lang)),
        row(t("class", lang), escape(t(str(r.vulnerability), lang))),
        row(f"{t('personnel', lang)} / {t('requirement', lang)}", f"{escape(personnel)} ({escape(state)})"),
    ]
    if getattr(r, "address", None) and not pd.isna(r.address):
        rows.append(row(t("address", lang), escape(r.address)))
    return popup(f"{escape(t('tps_number', lang))} {int(r.number)}", rows)


def incident_popup(r: Any, lang: str = DEFAULT_LANG) -> str:
    """An incident: category, severity, status, time, desa, description."""
    from ..records.vocab import STATUSES as INCIDENT_STATUS_LABELS

    status = gettext(INCIDENT_STATUS_LABELS[r.status], lang) if r.status in INCIDENT_STATUS_LABELS else r.status
    rows = [
        row(t("severity", lang), escape(severity_label(r.severity, lang))),
        row(t("incident_status", lang), escape(status)),
        row(t("occurred_at", lang), escape(format_datetime(r.occurred_at, lang))),  # stored as WIB
        row(t("desa", lang), escape(getattr(r, "desa_name", "") or "-")),
        row(t("description", lang), escape(r.description)),
    ]
    return popup(escape(category_label(r.category, lang)), rows)


def _host_kabupaten(r: Any, lang: str) -> list[str]:
    """The kabupaten that held a rakor, when several are loaded (``host_kabupaten_name`` is set then)."""
    name = getattr(r, "host_kabupaten_name", None)
    if name is None or (isinstance(name, float) and pd.isna(name)):
        return []
    return [row(t("kabupaten", lang), escape(name))]


def meeting_popup(r: Any, lang: str = DEFAULT_LANG) -> str:
    """A rakor: title, date, venue, level, agencies, desa reached (``reached_names``)."""
    from ..records.vocab import AGENCIES, MEETING_LEVELS

    agencies = r.agencies if isinstance(r.agencies, (list, tuple, np.ndarray)) else []
    reached = list(getattr(r, "reached_names", []) or [])
    if r.reaches_all_desa:
        reached.insert(0, f"{t('all_desa_of_kecamatan', lang)} {getattr(r, 'host_kecamatan_name', '') or ''}".strip())
    rows = [
        row(
            t("date", lang),
            escape(fmt_day(r.date))
            + (f" {escape(str(r.start_time)[:5])} WIB" if r.start_time and not pd.isna(r.start_time) else ""),
        ),
        row(t("venue", lang), escape(r.venue or "-")),
        row(t("level", lang), escape(gettext(MEETING_LEVELS[r.level], lang) if r.level in MEETING_LEVELS else r.level)),
        *_host_kabupaten(r, lang),
        row(
            t("agencies", lang),
            escape(", ".join(gettext(AGENCIES[a], lang) if a in AGENCIES else a for a in agencies) or "-"),
        ),
        row(t("desa_reached", lang), escape(", ".join(reached) or "-")),
    ]
    return popup(escape(r.title), rows)
