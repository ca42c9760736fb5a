"""The overview map of the kabupaten."""
from __future__ import annotations

import folium
import geopandas as gpd

from .display import simplify_for_display
from .layers import DesaPolygons, KecamatanOutlines


def base_map(bounds_of: gpd.GeoDataFrame) -> folium.Map:
    """A map fitted to the given features, with OSM tiles and a 'no base map' choice."""
    minx, miny, maxx, maxy = bounds_of.total_bounds
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=10, tiles=None, control_scale=True)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap").add_to(m)
    folium.TileLayer(tiles="", attr=" ", name="Tanpa peta dasar / no base map", show=False).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def build_overview_map(desa: gpd.GeoDataFrame, kecamatan: gpd.GeoDataFrame) -> folium.Map:
    """Desa polygons and kecamatan outlines with name tooltips."""
    m = base_map(desa)
    DesaPolygons(simplify_for_display(desa)).add_to(m)
    KecamatanOutlines(simplify_for_display(kecamatan)).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
