"""The map pages as a shell: the map, its controls and legend, and data layers that fetch their data.

``build_map_shell`` assembles the elements of ``remote.py`` into a ``folium.Map``. The page holds no
record: its size does not change with the number of desa, TPS, incidents or rakor. Where the data comes
from is a ``MapSources``: the ``/api/map/...`` endpoints (``MapSources.endpoints``), or inline data for a
page opened from disk (``geo-app layers build``: the same classes, ``source`` = the response; each data
set written once into the page, ``MapSources.by_reference``, however many layers draw it).

What the default map shows answers "where are the gaps?": desa in their status colours with their
names, kecamatan boundaries and names; TPS, incidents and rakor are off at the start (switched on in the
layer control, or shown by themselves once zoomed in, ``remote.POINTS_AUTO_ZOOM``), so a click on a desa
always opens the desa's popup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import folium

from ..i18n import DEFAULT_LANG, t
from .display import escape
from .layers import FullscreenControl, ScaleControl
from .remote import (
    ROLLUP_DESA_MIN_ZOOM,
    ROLLUP_KABUPATEN_MAX_ZOOM,
    ROLLUP_KECAMATAN_MAX_ZOOM,
    BaseLayerKeys,
    DesaSearch,
    GeoMapAssets,
    InlineRef,
    LinkBar,
    MapPrepare,
    MapStart,
    PageData,
    PageHead,
    RemoteDesaHighlight,
    RemoteDesaLabels,
    RemoteDesaLayer,
    RemoteHeatLayer,
    RemoteKabupatenOutlines,
    RemoteKecamatanLabels,
    RemoteKecamatanOutlines,
    RemoteNameLabels,
    RemotePointLayer,
    RemoteRollupLayer,
    ResponsiveLayerControl,
    Source,
    StatusLegend,
    TileFallback,
)

POINT_KINDS = ("tps", "incidents", "meetings")
#: base-map choices (query parameter ``peta_dasar`` of the pages): OpenStreetMap tiles, or none
BASE_MAPS = ("osm", "none")

#: (minlon, minlat, maxlon, maxlat)
Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class MapSources:
    """Where each layer's data comes from: an endpoint URL (``params``, the view parameters, are added to
    every request), or inline data of the endpoint's shape."""

    desa: Source
    kecamatan: Source
    legend: Source
    tps: Source
    incidents: Source
    meetings: Source
    heat: Source
    params: Mapping[str, str] = field(default_factory=dict)
    #: the kabupaten roll-up (``/api/map/kabupaten``): only maps that roll up (``MapShell.rollup``) draw it
    kabupaten: Source | None = None

    @classmethod
    def endpoints(cls, base_url: str, params: Mapping[str, str] | None = None) -> MapSources:
        """The ``/api/map`` endpoints under ``base_url`` (e.g. ``/api/map``) with the view parameters."""
        base = base_url.rstrip("/")
        return cls(
            desa=f"{base}/desa",
            kecamatan=f"{base}/kecamatan",
            legend=f"{base}/legend",
            tps=f"{base}/points/tps",
            incidents=f"{base}/points/incidents",
            meetings=f"{base}/points/meetings",
            heat=f"{base}/heat",
            params=dict(params or {}),
            kabupaten=f"{base}/kabupaten",
        )

    def points(self, kind: str) -> Source:
        return {"tps": self.tps, "incidents": self.incidents, "meetings": self.meetings}[kind]

    def by_reference(self) -> tuple[MapSources, dict[str, Any]]:
        """These sources with each inline data set replaced by a reference (``remote.InlineRef``, keyed by
        the source's name; one object given for two sources is one data set), and the data sets by key,
        to be written once into the page (``remote.PageData``). Endpoints stay as they are."""
        data: dict[str, Any] = {}
        keys: dict[int, str] = {}
        changes: dict[str, InlineRef] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "params" or value is None or isinstance(value, str | InlineRef):
                continue
            key = keys.setdefault(id(value), f.name)
            data.setdefault(key, value)
            changes[f.name] = InlineRef(key)
        return replace(self, **changes), data


@dataclass(frozen=True)
class MapShell:
    """One map page: the area it opens on (``bounds``), its data, language and base map (``osm`` or
    ``none``), the page title, a link back (URL, label), the desa outlined on a desa page, the area the
    desa search covers (default: ``bounds``), point layers on at the start, the page icon's URL."""

    bounds: Bounds
    sources: MapSources
    lang: str = DEFAULT_LANG
    base: str = "osm"
    title: str = ""
    back: tuple[str, str] | None = None
    highlight: str | None = None
    search_bounds: Bounds | None = None
    show_points: tuple[str, ...] = ()
    icon: str = "data:,"
    #: several kabupaten (the province overview): kabupaten, then kecamatan, filled by their share of
    #: uncovered desa while zoomed out, desa by view only from ``remote.ROLLUP_DESA_MIN_ZOOM``; the
    #: kabupaten outlined at every zoom
    rollup: bool = False


def empty_map(shell: MapShell) -> folium.Map:
    """A map without tiles centred on the area (the script fits the area to the frame at once); whole and
    quarter zoom levels, so the area fills a frame of any shape."""
    minx, miny, maxx, maxy = shell.bounds
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=10, tiles=None, zoom_snap=0.25, zoom_delta=0.5
    )
    m.options["max_zoom"] = 18  # fitBounds needs it without a tile layer
    # Leaflet only: the shell draws its markers itself (no jQuery, Bootstrap, awesome-markers or Font
    # Awesome, about 400 KB a first visit would fetch for nothing); instance attributes, folium's
    # class-level lists stay as they are
    m.default_js = [(name, url) for name, url in folium.Map.default_js if name == "leaflet"]
    m.default_css = [(name, url) for name, url in folium.Map.default_css if name == "leaflet_css"]
    if shell.title:
        m.get_root().title = escape(shell.title)
    return m


def add_base_layers(m: folium.Map, base: str, lang: str = DEFAULT_LANG) -> tuple[folium.TileLayer, folium.FeatureGroup]:
    """OpenStreetMap tiles and an empty "no base map" choice (which loads nothing); ``base`` picks the one
    shown at the start. Returns both (the tile fallback switches between them)."""
    with_tiles = base != "none"
    tiles = folium.TileLayer("OpenStreetMap", name="OpenStreetMap", show=with_tiles).add_to(m)
    no_base = folium.FeatureGroup(name=escape(t("layer.no_base", lang)), overlay=False, show=not with_tiles).add_to(m)
    BaseLayerKeys({"osm": tiles, "none": no_base}).add_to(m)
    return tiles, no_base


def add_data_layers(m: folium.Map, shell: MapShell) -> tuple[list[RemotePointLayer], RemoteHeatLayer]:
    """The data layers in the order of the layer control: desa, boundaries, highlight, names, points, heat."""
    src, lang = shell.sources, shell.lang
    params = dict(src.params)
    rollup = shell.rollup and src.kabupaten is not None
    desa_zooms = {"zoom_range": (ROLLUP_DESA_MIN_ZOOM, None)} if rollup else {}
    kec_zooms = {"zoom_range": (ROLLUP_KABUPATEN_MAX_ZOOM + 1, None)} if rollup else {}
    if rollup:
        # one kabupaten source at every zoom: its fills and names up to ROLLUP_KABUPATEN_MAX_ZOOM, its
        # outlines at every zoom (one request serves the three)
        RemoteRollupLayer(
            "kabupaten", src.kabupaten, params=params, lang=lang, zoom_range=None, max_zoom=ROLLUP_KABUPATEN_MAX_ZOOM
        ).add_to(m)
        RemoteRollupLayer(
            "kecamatan",
            src.kecamatan,
            params=params,
            lang=lang,
            max_zoom=ROLLUP_KECAMATAN_MAX_ZOOM,
            **kec_zooms,
        ).add_to(m)
    RemoteDesaLayer(src.desa, params=params, lang=lang, **desa_zooms).add_to(m)
    RemoteKecamatanOutlines(src.kecamatan, params=params, lang=lang, **kec_zooms).add_to(m)
    if rollup:  # above the desa fills and the kecamatan boundaries; where one kabupaten ends, at every zoom
        RemoteKabupatenOutlines(src.kabupaten, params=params, lang=lang).add_to(m)
    if shell.highlight:
        RemoteDesaHighlight(src.desa, shell.highlight, params=params, lang=lang, **desa_zooms).add_to(m)
    if rollup:
        RemoteNameLabels(
            src.kabupaten,
            name=t("kabupaten", lang),
            key="kabupaten_names",
            css_class="kecamatan",
            priority=0,
            view="zoom",
            params=params,
            control=False,
            # shown while the kabupaten are filled: the server's zoom (rounded) at most the fills' last
            max_zoom=ROLLUP_KABUPATEN_MAX_ZOOM + 0.49,
        ).add_to(m)
    RemoteKecamatanLabels(src.kecamatan, params=params, lang=lang, **kec_zooms).add_to(m)
    RemoteDesaLabels(src.desa, params=params, lang=lang, **desa_zooms).add_to(m)
    points = []
    heat = None
    for kind in POINT_KINDS:
        layer = RemotePointLayer(kind, src.points(kind), params=params, lang=lang, show=kind in shell.show_points)
        points.append(layer.add_to(m))
        if kind == "incidents":  # the heat is a second view of the incidents: listed right after them
            heat = RemoteHeatLayer(src.heat, params=params, lang=lang).add_to(m)
    assert heat is not None
    return points, heat


def add_controls(m: folium.Map, shell: MapShell, points: list[RemotePointLayer], heat: RemoteHeatLayer) -> None:
    src, lang = shell.sources, shell.lang
    shares = ROLLUP_KECAMATAN_MAX_ZOOM if shell.rollup and src.kabupaten is not None else None
    StatusLegend(
        src.legend, params=dict(src.params), point_layers=points, heat=heat, lang=lang, shares_max_zoom=shares
    ).add_to(m)
    DesaSearch(src.desa, shell.search_bounds or shell.bounds, params=dict(src.params), lang=lang).add_to(m)
    LinkBar(shell.back, lang=lang).add_to(m)


def build_map_shell(shell: MapShell) -> folium.Map:
    """The page of a map: base layers, scale, full screen, the data layers, legend, desa search, links,
    the layer control (collapsed on small screens), then the start (URL state). Its size does not depend
    on the data: only ``shell`` goes into it."""
    sources, data = shell.sources.by_reference()  # inline data: each data set once in the page
    shell = replace(shell, sources=sources)
    m = empty_map(shell)
    GeoMapAssets().add_to(m)
    PageHead(shell.icon).add_to(m)
    MapPrepare(shell.bounds, shell.lang).add_to(m)  # first: the view is set before anything loads
    if data:
        PageData(data).add_to(m)
    tiles, no_base = add_base_layers(m, shell.base, shell.lang)
    TileFallback(tiles, no_base, shell.lang).add_to(m)
    ScaleControl().add_to(m)
    FullscreenControl(shell.lang).add_to(m)
    points, heat = add_data_layers(m, shell)
    add_controls(m, shell, points, heat)
    ResponsiveLayerControl(collapsed=False).add_to(m)
    MapStart([p.key for p in points]).add_to(m)
    return m
