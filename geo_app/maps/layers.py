"""One class per map element (as in folium.features): a new layer is a new small class."""
from __future__ import annotations

import folium
import geopandas as gpd

from .display import escape


class _GeoJsonLayer(folium.FeatureGroup):
    """A feature group holding one GeoJson of a GeoDataFrame with escaped tooltip fields."""

    tooltip_fields: list[tuple[str, str]] = []  # (column, label)

    def __init__(self, gdf: gpd.GeoDataFrame, name: str, show: bool = True, **style) -> None:
        super().__init__(name=name, show=show)
        cols = [c for c, _ in self.tooltip_fields]
        safe = gdf[cols + [gdf.geometry.name]].copy()
        for c in cols:
            safe[c] = [escape(v) for v in safe[c]]
        folium.GeoJson(
            safe.to_json(),
            name=name,
            style_function=lambda _f, style=dict(style): style,
            highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.5},
            tooltip=folium.GeoJsonTooltip(
                fields=cols, aliases=[label for _, label in self.tooltip_fields], sticky=True
            ),
            smooth_factor=1.0,
        ).add_to(self)


class DesaPolygons(_GeoJsonLayer):
    tooltip_fields = [("name", "Desa"), ("kecamatan_name", "Kecamatan"), ("code", "Kode")]

    def __init__(self, desa: gpd.GeoDataFrame, name: str = "Desa/Kelurahan", **style) -> None:
        style = {"color": "#555555", "weight": 1, "fillColor": "#8fbf8f", "fillOpacity": 0.35, **style}
        super().__init__(desa, name, **style)


class KecamatanOutlines(_GeoJsonLayer):
    tooltip_fields = [("name", "Kecamatan"), ("code", "Kode")]

    def __init__(self, kecamatan: gpd.GeoDataFrame, name: str = "Batas kecamatan", **style) -> None:
        style = {"color": "#222222", "weight": 2.5, "fill": False, **style}
        super().__init__(kecamatan, name, **style)
