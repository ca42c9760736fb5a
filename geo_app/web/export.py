"""CSV and XLSX downloads. Every cell of text goes through ``neutralise`` so a spreadsheet never runs
user text as a formula (CSV/formula injection: ``=cmd|' /C calc'!A0``, ``+``, ``-``, ``@``, tab, CR).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from flask import Response

from ..i18n import DEFAULT_LANG, N_, decimal_text, format_date, gettext
from ..spreadsheet_formulas import neutralise

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _csv_cell(value: Any, lang: str) -> Any:
    """Decimals with the language's mark (a comma in Indonesian: Excel with Indonesian settings reads
    ``12.5`` as text or a date), dates as dd/mm/yyyy; other values as they are."""
    if isinstance(value, float):
        return "" if value != value else decimal_text(value, lang)  # NaN: empty
    if isinstance(value, date):
        return format_date(value, lang)
    return value


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]], lang: str = DEFAULT_LANG) -> bytes:
    """Semicolon CSV with a UTF-8 BOM, as Excel in Indonesia opens it without an import dialog."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in headers])
    for row in rows:
        writer.writerow([neutralise(_csv_cell(v, lang)) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


# --- what made an export (issue 12): date, settings, data version ----------------------------------

#: labels of the export description, in its order (msgids: the catalog gives them in the export's language)
INFO_LABELS = {
    "generated_at": N_("Dibuat (WIB)"),
    "reference_date": N_("Tanggal acuan"),
    "meeting_window_days": N_("Jendela rakor (hari)"),
    "incident_window_days": N_("Jendela insiden (hari)"),
    "preset": N_("Preset keamanan"),
    "view": N_("Parameter tampilan"),
    "data_version": N_("Versi data"),
}
#: only in the XLSX "Info" sheet (too long to repeat on every CSV row)
SETTINGS_LABEL = N_("Pengaturan lengkap (JSON)")


def settings_label(lang: str = DEFAULT_LANG) -> str:
    return gettext(SETTINGS_LABEL, lang)


def export_info(
    settings: Any, data_version: str, view_query: str, generated_at: str, lang: str = DEFAULT_LANG
) -> list[tuple[str, str]]:
    """(label, value) pairs saying which date, settings and data made an export: ``settings`` is the
    ``CoverageSettings`` of the view, ``view_query`` the query string that shows the same view again."""
    values = {
        "generated_at": generated_at,
        "reference_date": format_date(settings.reference_date, lang),
        "meeting_window_days": str(settings.meeting_window_days),
        "incident_window_days": str(settings.incident_window_days),
        "preset": settings.preset,
        "view": view_query,
        "data_version": data_version,
    }
    return [(gettext(INFO_LABELS[key], lang), values[key]) for key in INFO_LABELS]


def with_info_columns(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], info: Sequence[tuple[str, str]]
) -> tuple[list[str], list[list[Any]]]:
    """The CSV way to describe an export: the description as trailing columns, the same on every row.
    One header row stays the only header row (no comment lines or metadata rows that a spreadsheet or
    ``csv`` reader would take as data), and a row copied elsewhere keeps its provenance."""
    labels = [label for label, _ in info]
    values = [value for _, value in info]
    return [*headers, *labels], [[*row, *values] for row in rows]


def xlsx_bytes(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    sheet: str = "Data",
    info: Sequence[tuple[str, str]] | None = None,
) -> bytes:
    """A workbook with the data sheet first (active) and, with ``info``, an "Info" sheet describing it."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    ws.append([neutralise(h) for h in headers])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = [len(str(h)) for h in headers]
    for row in rows:
        values = [neutralise(v) for v in row]
        ws.append(values)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever openpyxl guessed
        widths = [max(w, min(60, len(str(v)))) for w, v in zip(widths, values)]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w + 2
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    if info:
        about = wb.create_sheet("Info")
        for label, value in info:
            about.append([neutralise(label), neutralise(value)])
        for row in about.iter_rows():
            row[0].font = Font(bold=True)
            for cell in row:
                cell.data_type = "s"
        about.column_dimensions["A"].width = max(len(label) for label, _ in info) + 2
        about.column_dimensions["B"].width = 60
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def download(data: bytes, filename: str, mimetype: str) -> Response:
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def csv_response(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], filename: str, lang: str = DEFAULT_LANG
) -> Response:
    return download(csv_bytes(headers, rows, lang), filename, "text/csv; charset=utf-8")


def xlsx_response(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    filename: str,
    sheet: str = "Data",
    info: Sequence[tuple[str, str]] | None = None,
) -> Response:
    return download(xlsx_bytes(headers, rows, sheet, info), filename, XLSX_MIMETYPE)
