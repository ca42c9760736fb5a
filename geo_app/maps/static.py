"""Static maps drawn with matplotlib (no display: Figure objects only, never pyplot): the print view's
PNG per kecamatan and the A4 brief's map (``maps/brief.py``) are drawn by the same functions here.

A map is drawn in metres (EPSG:32747), so shapes are not stretched and the scale bar is true: desa
filled by coverage status (``uncovered`` also hatched, a cue that does not depend on colour), desa
names with a white halo, the kecamatan outline, the neighbouring kecamatan faint around it, TPS as
squares (open: enough personnel, solid: short; the web map's symbols) and planned rakor as diamonds,
a scale bar in km, a north arrow and a legend of every symbol drawn.

Every text drawn comes from data or a user somewhere (names from boundary files, settings): it is drawn
as typed, never parsed as mathtext (``$\\frac{`` would raise), through ``draw_text``.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..geo import METRIC_CRS, WGS84
from ..i18n import (
    DEFAULT_LANG,
    PATTERN_HATCHES,
    PLANNED_COLOR,
    STATUS_COLORS,
    STATUS_PATTERNS,
    status_label,
    t,
)
from .display import drop_small_holes

#: hatch lines over a patterned status (light lines: visible on the dark "uncovered" red)
PATTERN_COLOR = "#ffffff"
OUTLINE_COLOR = "#111111"
DESA_EDGE_COLOR = "#444444"
NEIGHBOUR_FILL, NEIGHBOUR_EDGE, NEIGHBOUR_TEXT = "#f4f4f4", "#b5b5b5", "#8a8a8a"
#: TPS and rakor symbols (the web map's shapes: squares for TPS, a diamond for a rakor venue)
TPS_MARKER = {"marker": "s", "s": 9, "linewidths": 0.6, "edgecolors": "#000000", "zorder": 6}
PLANNED_MARKER = {"marker": "D", "s": 30, "linewidths": 0.8, "edgecolors": "#000000", "zorder": 7}
#: matplotlib is not thread-safe (font caches, rcParams): one drawing at a time in a threaded server
DRAW_LOCK = threading.RLock()
#: nice scale-bar lengths (km)
SCALE_STEPS_KM = (0.5, 1, 2, 5, 10, 20, 50, 100)


@dataclass
class StaticMap:
    """What a static map of one kecamatan shows (every frame in EPSG:4326, as the coverage result).

    ``desa``: its desa with ``name``, ``status`` (and ``planned``: a planned rakor will reach it);
    ``outline``: the kecamatan polygon; ``neighbours``: the other kecamatan (``name``, geometry),
    drawn faint; ``tps``: ``lon``, ``lat``, ``secured``; ``planned``: planned rakor venues ``lon``,
    ``lat``, ``date``."""

    desa: gpd.GeoDataFrame
    outline: gpd.GeoDataFrame | None = None
    neighbours: gpd.GeoDataFrame | None = None
    tps: pd.DataFrame | None = None
    planned: pd.DataFrame | None = None

    def extent(self, pad: float = 0.05) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in metres around the desa, padded by ``pad`` of the larger side."""
        x0, y0, x1, y1 = _metric(self.desa).total_bounds
        margin = pad * max(x1 - x0, y1 - y0, 1.0)
        return x0 - margin, y0 - margin, x1 + margin, y1 + margin

    def aspect(self) -> float:
        """Height / width of the extent (what the map's box should follow)."""
        x0, y0, x1, y1 = self.extent()
        return (y1 - y0) / max(x1 - x0, 1.0)


def _metric(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.set_crs(WGS84) if frame.crs is None else frame.to_crs(METRIC_CRS)


def _points(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Projected x, y of the rows of ``frame`` that have ``lon``/``lat``."""
    from pyproj import Transformer

    ok = frame["lon"].notna() & frame["lat"].notna()
    lon, lat = frame.loc[ok, "lon"].to_numpy(float), frame.loc[ok, "lat"].to_numpy(float)
    x, y = Transformer.from_crs(WGS84, METRIC_CRS, always_xy=True).transform(lon, lat)
    return np.asarray(x), np.asarray(y)


def _planned_points(data: StaticMap) -> tuple[np.ndarray, np.ndarray]:
    """Planned rakor venues on the map (a kabupaten rakor held elsewhere reaches the desa, but its venue
    is off the map)."""
    if data.planned is None or not len(data.planned):
        return np.array([]), np.array([])
    x, y = _points(data.planned)
    x0, y0, x1, y1 = data.extent()
    inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    return x[inside], y[inside]


def draw_text(target: Any, *args: Any, **kwargs: Any):
    """``target.text(...)`` (an Axes or a Figure) with the text taken literally (no mathtext)."""
    return target.text(*args, parse_math=False, **kwargs)


def _halo(width: float = 2.0) -> list:
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width, foreground="white")]


def draw_status_map(ax: Any, data: StaticMap, lang: str = DEFAULT_LANG, label_size: float = 6.5) -> None:
    """Draw ``data`` into ``ax`` (equal scale, the extent of its desa widened to the shape of the axes
    box, axes hidden)."""
    x0, y0, x1, y1 = _fit_box(ax, data.extent())
    ax.set_axis_off()
    ax.set_facecolor("white")
    if data.neighbours is not None and len(data.neighbours):
        near = _metric(drop_small_holes(data.neighbours)).cx[x0:x1, y0:y1]
        near.plot(ax=ax, color=NEIGHBOUR_FILL, edgecolor=NEIGHBOUR_EDGE, linewidth=0.6, zorder=1)
        for name, point in zip(near["name"], near.geometry.representative_point()):
            if x0 < point.x < x1 and y0 < point.y < y1:
                draw_text(
                    ax, point.x, point.y, str(name), ha="center", va="center", fontsize=label_size + 0.5,
                    color=NEIGHBOUR_TEXT, style="italic", zorder=2, clip_on=True,
                )  # fmt: skip
    desa = _metric(data.desa)
    for status, group in desa.groupby("status", sort=False):
        group.plot(
            ax=ax, color=STATUS_COLORS.get(status, "#bbbbbb"), edgecolor=DESA_EDGE_COLOR, linewidth=0.5, zorder=3
        )
        hatch = PATTERN_HATCHES.get(STATUS_PATTERNS.get(status, ""))
        if hatch:
            group.plot(ax=ax, facecolor="none", edgecolor=PATTERN_COLOR, linewidth=0, hatch=hatch, zorder=3.1)
    if "planned" in desa and desa["planned"].any():
        desa[desa["planned"].astype(bool)].boundary.plot(
            ax=ax, color=PLANNED_COLOR, linewidth=1.6, linestyle=(0, (4, 2)), zorder=4
        )
    if data.outline is not None and len(data.outline):
        # desa dissolved into kecamatan leave slivers between desa as holes: not drawn
        _metric(drop_small_holes(data.outline)).boundary.plot(ax=ax, color=OUTLINE_COLOR, linewidth=1.3, zorder=5)
    if data.tps is not None and len(data.tps):
        secured = data.tps["secured"].fillna(False).astype(bool)
        for mask, face in ((secured, "white"), (~secured, "black")):
            if mask.any():
                x, y = _points(data.tps[mask.to_numpy()])
                ax.scatter(x, y, facecolors=face, **TPS_MARKER)
    x, y = _planned_points(data)
    if len(x):
        ax.scatter(x, y, facecolors=PLANNED_COLOR, **PLANNED_MARKER)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    _desa_labels(ax, desa, (x0, y0, x1, y1), label_size)


def _desa_labels(ax: Any, desa: gpd.GeoDataFrame, extent: tuple[float, float, float, float], size: float) -> None:
    """Desa names at a point inside each desa, largest desa first; a name that would overlap one already
    placed moves a line up or down, else the desa's ``ref`` is shown instead (its number in the table
    beside the map: the brief numbers every desa, the print view its gaps by rank); a desa without a
    ``ref`` and without room keeps its colour unlabelled."""
    x0, y0, x1, _y1 = extent
    pos = ax.get_position()
    scale = pos.width * ax.figure.get_size_inches()[0] * 72 / (x1 - x0)  # points per metre
    line = size * 1.25
    placed: list[tuple[float, float, float, float]] = []

    def free(cx: float, cy: float, w: float) -> bool:
        return all(cx + w / 2 < a or cx - w / 2 > c or cy + line / 2 < b or cy - line / 2 > d for a, b, c, d in placed)

    refs = desa["ref"] if "ref" in desa else pd.Series([None] * len(desa), index=desa.index)
    order = desa.geometry.area.sort_values(ascending=False).index
    points = desa.geometry.representative_point()
    for idx in order:
        name, ref, point = str(desa.at[idx, "name"]), refs.at[idx], points.at[idx]
        px, py = (point.x - x0) * scale, (point.y - y0) * scale
        text, where = name, None
        width = text_width_pt(name, size) + 2
        for dy in (0.0, line, -line):
            if free(px, py + dy, width):
                where = (px, py + dy)
                break
        if where is None:
            if not isinstance(ref, str) or not ref:
                continue  # no room and no number: the desa keeps its colour, the name is in no table
            text, width = ref, text_width_pt(ref, size) + 2
            shifts = [(dx * width, dy) for dy in (0.0, line, -line) for dx in (0.0, 1.0, -1.0)]
            where = next(((px + dx, py + dy) for dx, dy in shifts if free(px + dx, py + dy, width)), (px, py))
        placed.append((where[0] - width / 2, where[1] - line / 2, where[0] + width / 2, where[1] + line / 2))
        draw_text(
            ax, x0 + where[0] / scale, y0 + where[1] / scale, text, ha="center", va="center", fontsize=size,
            color="#111111", path_effects=_halo(), zorder=8, clip_on=True,
        )  # fmt: skip


def wrap_text(text: str, width_pt: float, size: float, weight: str = "normal") -> list[str]:
    """Greedy word wrap of ``text`` to lines at most ``width_pt`` wide; a word longer than a line is
    cut between characters (a name without spaces still fits its column)."""
    lines: list[str] = []
    for paragraph in str(text).splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if text_width_pt(candidate, size, weight) <= width_pt:
                line = candidate
                continue
            if line:
                lines.append(line)
            while text_width_pt(word, size, weight) > width_pt and len(word) > 1:
                cut = len(word) - 1
                while cut > 1 and text_width_pt(word[:cut], size, weight) > width_pt:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


_FONTS: dict[tuple[float, str], Any] = {}


def text_width_pt(text: str, size: float, weight: str = "normal") -> float:
    """Width in points of ``text`` in the default font (the metrics the PNG and PDF backends use)."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    renderer = _FONTS.get((0.0, "renderer"))
    if renderer is None:
        renderer = _FONTS[(0.0, "renderer")] = RendererAgg(10, 10, 72)
    props = _FONTS.get((size, weight))
    if props is None:
        props = _FONTS[(size, weight)] = FontProperties(size=size, weight=weight)
    width, _height, _descent = renderer.get_text_width_height_descent(text, props, ismath=False)
    return float(width)


def _fit_box(ax: Any, extent: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """``extent`` widened (never cut) to the height/width ratio of the axes box, so that an equal scale
    fills the box and the neighbours show around the kecamatan."""
    fig_w, fig_h = ax.figure.get_size_inches()
    pos = ax.get_position()
    box = (pos.height * fig_h) / max(pos.width * fig_w, 1e-9)
    x0, y0, x1, y1 = extent
    w, h = x1 - x0, y1 - y0
    if h / w < box:  # too wide for the box: add height
        grow = (w * box - h) / 2
        return x0, y0 - grow, x1, y1 + grow
    grow = (h / box - w) / 2
    return x0 - grow, y0, x1 + grow, y1


def _nice_length_km(width_km: float) -> float:
    """The longest nice length up to a quarter of the map's width."""
    fitting = [s for s in SCALE_STEPS_KM if s <= width_km / 4]
    return fitting[-1] if fitting else SCALE_STEPS_KM[0]


def add_scale_bar(ax: Any, fontsize: float = 6.5) -> float:
    """A two-part black/white scale bar in km at the lower left (the axes are in EPSG:32747 metres);
    returns its length in km."""
    from matplotlib.patches import Rectangle

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length_km = _nice_length_km((x1 - x0) / 1000)
    metres = length_km * 1000
    left, base = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    height = 0.012 * (y1 - y0)
    ax.add_patch(
        Rectangle(
            (left - 0.015 * (x1 - x0), base - 0.02 * (y1 - y0)),
            metres + 0.07 * (x1 - x0),
            height + 0.07 * (y1 - y0),
            facecolor="white",
            edgecolor="none",
            alpha=0.8,
            zorder=9,
        )
    )
    for i, face in enumerate(("black", "white")):
        ax.add_patch(
            Rectangle(
                (left + i * metres / 2, base),
                metres / 2,
                height,
                facecolor=face,
                edgecolor="black",
                linewidth=0.6,
                zorder=10,
            )
        )
    for pos, text in ((0, "0"), (metres / 2, f"{length_km / 2:g}"), (metres, f"{length_km:g} km")):
        draw_text(ax, left + pos, base + height * 1.6, text, ha="center", va="bottom", fontsize=fontsize, zorder=10)
    return length_km


def add_north_arrow(ax: Any, lang: str = DEFAULT_LANG, fontsize: float = 8.0) -> None:
    """An arrow pointing up with U (utara) or N. Grid north of EPSG:32747 is within 0.2° of true north
    over Mukomuko (central meridian 99° E, latitude about 2.5° S), so up is north."""
    ax.annotate(
        "",
        xy=(0.95, 0.96),
        xytext=(0.95, 0.86),
        xycoords="axes fraction",
        arrowprops={"arrowstyle": "-|>,head_width=0.35,head_length=0.7", "color": "black", "linewidth": 1.4},
        zorder=10,
    )
    draw_text(
        ax, 0.95, 0.845, "N" if lang == "en" else "U", transform=ax.transAxes, ha="center", va="top",
        fontsize=fontsize, fontweight="bold", path_effects=_halo(2.5), zorder=10,
    )  # fmt: skip


def legend_handles(data: StaticMap, lang: str = DEFAULT_LANG) -> list[tuple[Any, str]]:
    """(handle, label) for every status (with its count of desa) and every symbol the map draws."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    counts = data.desa["status"].value_counts()
    out: list[tuple[Any, str]] = []
    for status, colour in STATUS_COLORS.items():
        fill = Patch(facecolor=colour, edgecolor=DESA_EDGE_COLOR, linewidth=0.5)
        hatch = PATTERN_HATCHES.get(STATUS_PATTERNS.get(status, ""))
        handle = (fill, Patch(facecolor="none", edgecolor=PATTERN_COLOR, linewidth=0, hatch=hatch)) if hatch else fill
        out.append((handle, f"{status_label(status, lang)} ({int(counts.get(status, 0))})"))
    if data.tps is not None and len(data.tps):
        square = {"marker": "s", "linestyle": "none", "markersize": 4.5, "markeredgecolor": "black"}
        out.append((Line2D([], [], markerfacecolor="white", **square), t("symbol.tps.secured", lang)))
        out.append((Line2D([], [], markerfacecolor="black", **square), t("symbol.tps.short", lang)))
    if len(_planned_points(data)[0]):
        diamond = {"marker": "D", "linestyle": "none", "markersize": 5, "markeredgecolor": "black"}
        out.append((Line2D([], [], markerfacecolor=PLANNED_COLOR, **diamond), t("planned_meeting", lang)))
    if "planned" in data.desa and data.desa["planned"].any():
        out.append(
            (Line2D([], [], color=PLANNED_COLOR, linewidth=1.6, linestyle=(0, (4, 2))), t("layer.planned", lang))
        )
    if data.neighbours is not None and len(data.neighbours):
        out.append((Patch(facecolor=NEIGHBOUR_FILL, edgecolor=NEIGHBOUR_EDGE), t("brief.neighbours", lang)))
    return out


def add_legend(target: Any, data: StaticMap, lang: str = DEFAULT_LANG, fontsize: float = 6.5, **kwargs: Any):
    """The legend of ``data`` on an Axes or a Figure (``kwargs``: placement, e.g. ``loc``, ``ncols``)."""
    from matplotlib.legend_handler import HandlerTuple

    pairs = legend_handles(data, lang)
    legend = target.legend(
        [h for h, _ in pairs],
        [label for _, label in pairs],
        handler_map={tuple: HandlerTuple(ndivide=None, pad=0)},
        fontsize=fontsize,
        frameon=False,
        **kwargs,
    )
    for text in legend.get_texts():
        text.set_parse_math(False)
    return legend


def kecamatan_png(
    data: StaticMap,
    title: str = "",
    caption: list[str] | None = None,
    lang: str = DEFAULT_LANG,
    size_in: tuple[float, float] = (7.2, 3.1),
    dpi: int = 110,
) -> bytes:
    """PNG bytes of one kecamatan for the print view, a strip as wide as an A4 page's text: the map
    (scale bar, north arrow) on the left; the title, the ``caption`` lines (date, settings, data
    version) and the legend on the right."""
    with DRAW_LOCK:
        return _kecamatan_png(data, title, caption or [], lang, size_in, dpi)


def _kecamatan_png(
    data: StaticMap, title: str, caption: list[str], lang: str, size_in: tuple[float, float], dpi: int
) -> bytes:
    from matplotlib.figure import Figure

    width, height = size_in
    side = 2.55  # inches of the right column
    fig = Figure(figsize=size_in, dpi=dpi)
    ax = fig.add_axes((0.005, 0.01, (width - side - 0.1) / width, 0.98))
    draw_status_map(ax, data, lang)
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_edgecolor("#999999")
    add_scale_bar(ax)
    add_north_arrow(ax, lang)
    x = (width - side) / width
    y = 1 - 0.06 / height
    if title:
        for line in wrap_text(title, side * 72 - 4, 9.5, "bold"):
            draw_text(fig, x, y, line, ha="left", va="top", fontsize=9.5, fontweight="bold")
            y -= 0.19 / height
    for text in caption:
        for line in wrap_text(text, side * 72 - 4, 6.5):
            draw_text(fig, x, y, line, ha="left", va="top", fontsize=6.5, color="#333333")
            y -= 0.12 / height
    add_legend(
        fig, data, lang, loc="upper left", bbox_to_anchor=(x - 0.005, y - 0.03 / height), ncols=1, borderaxespad=0
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
