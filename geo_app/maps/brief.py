"""The A4 brief per kecamatan as PDF pages (matplotlib's PDF backend, portrait 210 × 297 mm).

One page per kecamatan where possible: a heading (kecamatan, date, the coverage settings and the data
version), the map (``maps/static.py``: status colours, hatch for ``uncovered``, desa names, TPS,
planned rakor, neighbouring kecamatan, scale bar, north arrow), its legend, and the gap table of every
desa (name, status, reasons, personnel short) wrapped to the page width. The map gives way first: it
shrinks (down to ``MIN_MAP_IN``) so the table fits; a table longer than that continues on a next page.

Text is drawn with ``parse_math=False`` (names are data) and never passes through a template engine.
Fonts are embedded as TrueType (``pdf.fonttype`` 42), so the text can be searched and extracted.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..i18n import DEFAULT_LANG, PATTERN_HATCHES, STATUS_COLORS, STATUS_PATTERNS, status_label, t
from .static import (
    DESA_EDGE_COLOR,
    DRAW_LOCK,
    PATTERN_COLOR,
    StaticMap,
    add_legend,
    add_north_arrow,
    add_scale_bar,
    draw_status_map,
    draw_text,
    wrap_text,
)

A4_IN = (210 / 25.4, 297 / 25.4)
MARGIN_IN = 0.45
MIN_MAP_IN, MAX_MAP_IN = 3.0, 5.6
LEGEND_IN = 0.5
#: table text size (pt): small, but not under 6.5
TABLE_PT, HEADER_PT = 6.8, 7.0
LINE_IN = TABLE_PT * 1.28 / 72
ROW_PAD_IN = 0.035
#: columns: key, share of the page width
COLUMNS = (("no", 0.045), ("desa", 0.195), ("status", 0.2), ("reasons", 0.445), ("short", 0.115))
SWATCH_IN = 0.13


@dataclass
class BriefRow:
    """One desa in the gap table."""

    code: str
    name: str
    status: str
    reasons: list[str] = field(default_factory=list)
    short: int = 0


@dataclass
class Brief:
    """Everything one kecamatan's brief shows; ``info`` are the heading lines under the title."""

    code: str
    name: str
    map: StaticMap
    rows: list[BriefRow]
    info: list[str] = field(default_factory=list)
    lang: str = DEFAULT_LANG


def _wrap(text: str, width_pt: float) -> list[str]:
    return wrap_text(text, width_pt, TABLE_PT)


def _cells(row: BriefRow, index: int, widths_pt: dict[str, float], lang: str) -> dict[str, list[str]]:
    reasons: list[str] = []
    for reason in row.reasons or ["-"]:
        wrapped = _wrap(reason, widths_pt["reasons"] - 8)
        reasons += [
            ("• " if len(row.reasons) > 1 and i == 0 else "  " if len(row.reasons) > 1 else "") + w
            for i, w in enumerate(wrapped)
        ]
    return {
        "no": [str(index)],
        "desa": _wrap(row.name, widths_pt["desa"] - 6),
        "status": _wrap(status_label(row.status, lang), widths_pt["status"] - SWATCH_IN * 72 - 10),
        "reasons": reasons,
        "short": [str(row.short) if row.short else "-"],
    }


def _row_height(cells: dict[str, list[str]]) -> float:
    return max(len(v) for v in cells.values()) * LINE_IN + 2 * ROW_PAD_IN


def _header_labels(lang: str) -> dict[str, str]:
    return {
        "no": t("brief.no", lang),
        "desa": t("desa", lang),
        "status": t("status", lang),
        "reasons": t("reasons", lang),
        "short": t("personnel_short", lang),
    }


class _Page:
    """A figure of A4 size with helpers in inches from the top-left corner."""

    def __init__(self) -> None:
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=A4_IN)
        self.w, self.h = A4_IN

    def text(self, x_in: float, y_in: float, text: str, **kwargs: Any) -> None:
        draw_text(self.fig, x_in / self.w, 1 - y_in / self.h, text, **kwargs)

    def rect(self, x_in: float, y_in: float, w_in: float, h_in: float, **kwargs: Any) -> None:
        from matplotlib.patches import Rectangle

        self.fig.add_artist(
            Rectangle(
                (x_in / self.w, 1 - (y_in + h_in) / self.h),
                w_in / self.w,
                h_in / self.h,
                transform=self.fig.transFigure,
                **kwargs,
            )
        )

    def hline(self, x0_in: float, x1_in: float, y_in: float, **kwargs: Any) -> None:
        from matplotlib.lines import Line2D

        y = 1 - y_in / self.h
        self.fig.add_artist(Line2D([x0_in / self.w, x1_in / self.w], [y, y], transform=self.fig.transFigure, **kwargs))


TITLE_PT, INFO_PT = 12.5, 7.5
TITLE_LINE_IN, INFO_LINE_IN = 0.22, 0.15


def _heading_lines(brief: Brief, continued: bool) -> tuple[list[str], list[str]]:
    """The title and the info lines, wrapped to the page width (a long name must not run off the page)."""
    width_pt = (A4_IN[0] - 2 * MARGIN_IN - 0.9) * 72  # the page number sits at the right
    title = f"{t('brief.title', brief.lang)}: {t('kecamatan', brief.lang)} {brief.name} ({brief.code})"
    if continued:
        title += f" ({t('brief.continued', brief.lang)})"
    info = brief.info if not continued else brief.info[:1]
    return (
        wrap_text(title, width_pt, TITLE_PT, "bold"),
        [line for text in info for line in wrap_text(text, width_pt, INFO_PT)],
    )


def _heading_height(brief: Brief, continued: bool) -> float:
    title, info = _heading_lines(brief, continued)
    return len(title) * TITLE_LINE_IN + 0.04 + len(info) * INFO_LINE_IN + 0.06


def _heading(page: _Page, brief: Brief, continued: bool, page_no: int, pages: int) -> float:
    """Title and info lines; returns where the next element starts (inches from the top)."""
    y = MARGIN_IN
    page.text(
        page.w - MARGIN_IN, y, f"{t('brief.page', brief.lang)} {page_no}/{pages}", ha="right", va="top",
        fontsize=7, color="#555555",
    )  # fmt: skip
    title, info = _heading_lines(brief, continued)
    for line in title:
        page.text(MARGIN_IN, y, line, ha="left", va="top", fontsize=TITLE_PT, fontweight="bold")
        y += TITLE_LINE_IN
    y += 0.04
    for line in info:
        page.text(MARGIN_IN, y, line, ha="left", va="top", fontsize=INFO_PT, color="#222222")
        y += INFO_LINE_IN
    return y + 0.06


def _table_header(page: _Page, y: float, lefts: dict[str, float], widths: dict[str, float], lang: str) -> float:
    height = LINE_IN + 2 * ROW_PAD_IN
    page.rect(MARGIN_IN, y, page.w - 2 * MARGIN_IN, height, facecolor="#e6e6e6", edgecolor="none")
    for key, label in _header_labels(lang).items():
        page.text(lefts[key] + 0.04, y + ROW_PAD_IN, label, ha="left", va="top", fontsize=HEADER_PT, fontweight="bold")
    page.hline(MARGIN_IN, page.w - MARGIN_IN, y + height, color="#444444", linewidth=0.6)
    return y + height


def _table_row(
    page: _Page,
    y: float,
    row: BriefRow,
    cells: dict[str, list[str]],
    lefts: dict[str, float],
    height: float,
    shade: bool,
) -> None:
    if shade:
        page.rect(MARGIN_IN, y, page.w - 2 * MARGIN_IN, height, facecolor="#f5f5f5", edgecolor="none")
    for key, lines in cells.items():
        x = lefts[key] + 0.04
        if key == "status":
            page.rect(
                x,
                y + ROW_PAD_IN + 0.01,
                SWATCH_IN,
                LINE_IN - 0.02,
                facecolor=STATUS_COLORS.get(row.status, "#bbbbbb"),
                edgecolor=DESA_EDGE_COLOR,
                linewidth=0.4,
            )
            hatch = PATTERN_HATCHES.get(STATUS_PATTERNS.get(row.status, ""))
            if hatch:
                page.rect(
                    x,
                    y + ROW_PAD_IN + 0.01,
                    SWATCH_IN,
                    LINE_IN - 0.02,
                    facecolor="none",
                    edgecolor=PATTERN_COLOR,
                    linewidth=0,
                    hatch=hatch,
                )
            x += SWATCH_IN + 0.05
        page.text(
            x, y + ROW_PAD_IN, "\n".join(lines), ha="left", va="top",
            fontsize=TABLE_PT, linespacing=1.28, fontweight="bold" if key == "desa" else "normal",
        )  # fmt: skip
    page.hline(MARGIN_IN, page.w - MARGIN_IN, y + height, color="#cccccc", linewidth=0.4)


def _layout(brief: Brief) -> tuple[float, list[list[tuple[BriefRow, dict[str, list[str]], float]]]]:
    """The map height and the table rows per page."""
    width = A4_IN[0] - 2 * MARGIN_IN
    widths_pt = {key: share * width * 72 for key, share in COLUMNS}
    rows = [
        (row, cells := _cells(row, i, widths_pt, brief.lang), _row_height(cells)) for i, row in enumerate(brief.rows, 1)
    ]
    header_h = LINE_IN + 2 * ROW_PAD_IN
    first_space = A4_IN[1] - 2 * MARGIN_IN - _heading_height(brief, False) - LEGEND_IN - 0.1 - header_h
    table_h = sum(h for _, _, h in rows)
    wanted = min(max(width * brief.map.aspect(), MIN_MAP_IN), MAX_MAP_IN)
    map_h = max(MIN_MAP_IN, min(wanted, first_space - table_h))
    pages: list[list] = [[]]
    space = first_space - map_h
    later_space = A4_IN[1] - 2 * MARGIN_IN - _heading_height(brief, True) - header_h
    for item in rows:
        if item[2] > space and pages[-1]:
            pages.append([])
            space = later_space
        pages[-1].append(item)
        space -= item[2]
    return map_h, pages


def _draw(brief: Brief) -> list[Any]:
    """The figures (pages) of one brief."""
    width = A4_IN[0] - 2 * MARGIN_IN
    lefts, x = {}, MARGIN_IN
    widths = {}
    for key, share in COLUMNS:
        lefts[key], widths[key] = x, share * width
        x += share * width
    map_h, table_pages = _layout(brief)
    figures = []
    for page_no, rows in enumerate(table_pages, 1):
        page = _Page()
        y = _heading(page, brief, page_no > 1, page_no, len(table_pages))
        if page_no == 1:
            ax = page.fig.add_axes((MARGIN_IN / page.w, 1 - (y + map_h) / page.h, width / page.w, map_h / page.h))
            draw_status_map(ax, brief.map, brief.lang)
            for spine in ax.spines.values():
                spine.set_visible(True)
            add_scale_bar(ax)
            add_north_arrow(ax, brief.lang)
            page.rect(MARGIN_IN, y, width, map_h, facecolor="none", edgecolor="#999999", linewidth=0.6)
            y += map_h
            add_legend(
                page.fig, brief.map, brief.lang, loc="upper left", ncols=4, columnspacing=1.0, handletextpad=0.5,
                bbox_to_anchor=(MARGIN_IN / page.w, 1 - (y + 0.02) / page.h), borderaxespad=0, fontsize=6.5,
            )  # fmt: skip
            y += LEGEND_IN + 0.1
        y = _table_header(page, y, lefts, widths, brief.lang)
        for i, (row, cells, height) in enumerate(rows):
            _table_row(page, y, row, cells, lefts, height, shade=i % 2 == 1)
            y += height
        figures.append(page.fig)
    return figures


def render_pdf(briefs: Sequence[Brief], title: str = "") -> tuple[bytes, int]:
    """The PDF of ``briefs`` (one after the other) and its number of pages."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    pages = 0
    with DRAW_LOCK, matplotlib.rc_context({"pdf.fonttype": 42, "hatch.linewidth": 0.6}):
        with PdfPages(buf, metadata={"Title": title, "Creator": "geo-app", "CreationDate": None}) as pdf:
            for brief in briefs:
                for fig in _draw(brief):
                    pdf.savefig(fig)
                    pages += 1
    return buf.getvalue(), pages
