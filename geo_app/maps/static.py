"""Static PNG maps for the print view: one kecamatan's desa coloured by coverage status
(geopandas + matplotlib, Agg backend: no display, safe in a web worker)."""

from __future__ import annotations

import io

import geopandas as gpd

from ..geo import METRIC_CRS
from ..i18n import DEFAULT_LANG, STATUS_COLORS, status_label, t
from .display import drop_small_holes


def kecamatan_png(
    desa: gpd.GeoDataFrame,
    outline: gpd.GeoDataFrame | None = None,
    title: str = "",
    lang: str = DEFAULT_LANG,
    width_in: float = 7.0,
    dpi: int = 110,
) -> bytes:
    """PNG bytes: ``desa`` (coverage rows with ``status`` and ``name``) filled by status, names at a
    point inside each desa, the kecamatan ``outline`` on top, a legend. Drawn in metres (EPSG:32747)
    so shapes are not stretched."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    metric = desa.to_crs(METRIC_CRS)
    fig = Figure(figsize=(width_in, width_in * 0.8), dpi=dpi)
    ax = fig.add_subplot(1, 1, 1)
    colors = [STATUS_COLORS.get(s, "#bbbbbb") for s in metric["status"]]
    metric.plot(ax=ax, color=colors, edgecolor="#444444", linewidth=0.6)
    if outline is not None and len(outline):
        # desa dissolved into kecamatan leave slivers between desa as holes: not drawn
        drop_small_holes(outline).to_crs(METRIC_CRS).boundary.plot(ax=ax, color="#111111", linewidth=1.4)
    # names and titles come from boundary files: drawn as typed, never parsed as mathtext ("$\\frac{" would raise)
    for name, point in zip(metric["name"], metric.geometry.representative_point()):
        ax.annotate(
            str(name), (point.x, point.y), ha="center", va="center", fontsize=6.5, color="#111111", parse_math=False
        )
    ax.set_axis_off()
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=11, parse_math=False)
    counts = metric["status"].value_counts()
    handles = [
        Patch(facecolor=c, edgecolor="#444444", label=f"{status_label(s, lang)} ({int(counts.get(s, 0))})")
        for s, c in STATUS_COLORS.items()
    ]
    legend = ax.legend(
        handles=handles, loc="lower left", fontsize=7, title=t("legend_title", lang), title_fontsize=7.5, framealpha=0.9
    )
    for text in [*legend.get_texts(), legend.get_title()]:
        text.set_parse_math(False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
