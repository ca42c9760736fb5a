"""The overview map of the kabupaten, the kecamatan and desa maps.

Builders take frames and return a ``folium.Map``; they never touch the request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import folium
import geopandas as gpd
import pandas as pd

from ..i18n import DEFAULT_LANG, t
from .display import drop_small_holes, escape, simplify_for_display
from .layers import (
    CoverageDesaPolygons,
    DesaHighlight,
    DesaLabels,
    DesaSearch,
    FullscreenControl,
    IncidentHeat,
    IncidentMarkers,
    KecamatanLabels,
    KecamatanOutlines,
    MeetingMarkers,
    ScaleControl,
    StatusLegend,
    TpsCluster,
)

#: the empty base layer's name: ``t("layer.no_base", lang)`` (this constant is its Indonesian msgid)
NO_BASE_MAP = "Tanpa peta dasar"
#: base-map choices for ``base_map(base=...)`` (query parameter ``peta_dasar`` in the pages)
BASE_MAPS = ("osm", "none")


def base_map(bounds_of: gpd.GeoDataFrame, base: str = "osm", lang: str = DEFAULT_LANG) -> folium.Map:
    """A map fitted to the given features, with OSM tiles and a 'no base map' choice.

    ``base="none"`` starts without tiles: the only external resource then is never requested.
    """
    minx, miny, maxx, maxy = bounds_of.total_bounds
    # maxZoom on the map itself: marker clusters need it when no tile layer is shown
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=10, tiles=None)
    m.options["max_zoom"] = 18
    with_tiles = base != "none"
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", show=with_tiles).add_to(m)
    # an empty base layer: choosing it removes the tiles, and it loads nothing
    folium.FeatureGroup(name=escape(t("layer.no_base", lang)), overlay=False, show=not with_tiles).add_to(m)
    ScaleControl().add_to(m)
    FullscreenControl(lang).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


@dataclass
class MapLayers:
    """What a coverage map shows; the service assembles it from the coverage result and the records.

    ``desa``: coverage rows (GeoDataFrame, EPSG:4326) of the desa to draw; ``kecamatan``: every
    kecamatan polygon (outlines give context); ``tps``/``incidents``/``meetings``: see the layer
    classes in ``layers.py``; ``reasons``: desa code → reason lines in the page language.
    """

    desa: gpd.GeoDataFrame
    kecamatan: gpd.GeoDataFrame
    tps: pd.DataFrame
    incidents: pd.DataFrame
    meetings: pd.DataFrame
    severity_weights: Mapping[str, float]
    reasons: Mapping[str, list[str]] = field(default_factory=dict)


def build_coverage_map(
    layers: MapLayers,
    focus: gpd.GeoDataFrame | None = None,
    labels: str = "kecamatan",
    base: str = "osm",
    lang: str = DEFAULT_LANG,
    desa_url: Callable[[str], str] | None = None,
    highlight: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Desa coloured by coverage status with a legend of counts, kecamatan outlines and labels,
    and switchable TPS (clustered), incident (markers and heat) and rakor layers.

    ``focus``: features to fit the view to (default: the desa drawn); ``labels``: "kecamatan" names
    (overview) or "desa" names (zoomed maps); ``desa_url``: link from a desa popup to its page;
    ``highlight``: desa outlined on top (the desa page's own desa).
    """
    if labels not in ("kecamatan", "desa"):
        raise ValueError(f"labels must be 'kecamatan' or 'desa', not {labels!r}")
    m = base_map(focus if focus is not None and len(focus) else layers.desa, base=base, lang=lang)
    desa_layer = CoverageDesaPolygons(
        simplify_for_display(layers.desa), lang=lang, desa_url=desa_url, reasons=layers.reasons
    ).add_to(m)
    KecamatanOutlines(
        simplify_for_display(drop_small_holes(layers.kecamatan)), name=t("layer.kecamatan", lang), lang=lang
    ).add_to(m)
    if highlight is not None and len(highlight):
        DesaHighlight(simplify_for_display(highlight), lang=lang).add_to(m)
    if labels == "kecamatan":
        KecamatanLabels(layers.kecamatan, name=t("layer.kecamatan_labels", lang)).add_to(m)
    else:
        DesaLabels(layers.desa, name=t("layer.desa_labels", lang)).add_to(m)
    TpsCluster(layers.tps, lang=lang).add_to(m)
    IncidentMarkers(layers.incidents, lang=lang).add_to(m)
    IncidentHeat(layers.incidents, layers.severity_weights, lang=lang).add_to(m)
    MeetingMarkers(layers.meetings, lang=lang).add_to(m)
    counts = layers.desa["status"].value_counts().to_dict() if len(layers.desa) else {}
    StatusLegend(counts, lang=lang).add_to(m)
    DesaSearch(desa_layer, placeholder="Find a desa" if lang == "en" else "Cari desa/kelurahan").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
