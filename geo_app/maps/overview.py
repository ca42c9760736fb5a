"""The overview map of the kabupaten."""
from __future__ import annotations

import folium
import geopandas as gpd

from .display import drop_small_holes, simplify_for_display
from .layers import (
    DesaLabels,
    DesaPolygons,
    DesaSearch,
    FullscreenControl,
    KecamatanLabels,
    KecamatanOutlines,
    ScaleControl,
)

NO_BASE_MAP = "Tanpa peta dasar / no base map"
#: base-map choices for ``base_map(base=...)`` (query parameter ``peta_dasar`` in the pages)
BASE_MAPS = ("osm", "none")


def base_map(bounds_of: gpd.GeoDataFrame, base: str = "osm") -> folium.Map:
    """A map fitted to the given features, with OSM tiles and a 'no base map' choice.

    ``base="none"`` starts without tiles: the only external resource then is never requested.
    """
    minx, miny, maxx, maxy = bounds_of.total_bounds
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=10, tiles=None)
    with_tiles = base != "none"
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", show=with_tiles).add_to(m)
    # an empty base layer: choosing it removes the tiles, and it loads nothing
    folium.FeatureGroup(name=NO_BASE_MAP, overlay=False, show=not with_tiles).add_to(m)
    ScaleControl().add_to(m)
    FullscreenControl().add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def build_overview_map(desa: gpd.GeoDataFrame, kecamatan: gpd.GeoDataFrame, base: str = "osm") -> folium.Map:
    """Desa polygons, kecamatan outlines and labels, a desa search box; layers switchable."""
    m = base_map(desa, base=base)
    desa_layer = DesaPolygons(simplify_for_display(desa)).add_to(m)
    KecamatanOutlines(simplify_for_display(drop_small_holes(kecamatan))).add_to(m)
    KecamatanLabels(kecamatan).add_to(m)
    DesaSearch(desa_layer).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def build_kecamatan_map(desa: gpd.GeoDataFrame, kecamatan: gpd.GeoDataFrame, code: str, base: str = "osm") -> folium.Map:
    """One kecamatan zoomed in: its desa with name labels and a search box, all kecamatan outlines for context.

    ``desa`` holds the desa of this kecamatan; ``kecamatan`` all kecamatan (``code`` must be among them).
    """
    own = kecamatan[kecamatan["code"] == code]
    if own.empty:
        raise ValueError(f"kecamatan {code} not in the given frame")
    m = base_map(own, base=base)
    desa_layer = DesaPolygons(simplify_for_display(desa)).add_to(m)
    KecamatanOutlines(simplify_for_display(drop_small_holes(kecamatan))).add_to(m)
    DesaLabels(desa).add_to(m)
    DesaSearch(desa_layer).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
