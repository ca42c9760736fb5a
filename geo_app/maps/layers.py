"""One class per map element (as in folium.features): a new layer is a new small class."""
from __future__ import annotations

import folium
import geopandas as gpd
from folium.plugins import Fullscreen, Search
from folium.template import Template

from .display import escape


class _GeoJsonLayer(folium.FeatureGroup):
    """A feature group holding one GeoJson of a GeoDataFrame with escaped tooltip fields."""

    tooltip_fields: list[tuple[str, str]] = []  # (column, label)
    #: CSS class on every drawn path, so pages and the browser test can find this layer's polygons
    css_class: str = ""

    def __init__(self, gdf: gpd.GeoDataFrame, name: str, show: bool = True, **style) -> None:
        super().__init__(name=name, show=show)
        cols = [c for c, _ in self.tooltip_fields]
        safe = self.properties(gdf)
        for c in cols:
            safe[c] = [escape(v) for v in safe[c]]
        if self.css_class:
            style.setdefault("className", self.css_class)
        self.geojson = folium.GeoJson(
            safe.to_json(),
            name=name,
            style_function=lambda _f, style=dict(style): style,
            highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.5},
            tooltip=folium.GeoJsonTooltip(
                fields=cols, aliases=[label for _, label in self.tooltip_fields], sticky=True
            ),
            smooth_factor=1.0,
        )
        self.geojson.add_to(self)

    def properties(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """The columns that go into the GeoJSON (tooltip fields and geometry); subclasses add more."""
        return gdf[[c for c, _ in self.tooltip_fields] + [gdf.geometry.name]].copy()


class DesaPolygons(_GeoJsonLayer):
    tooltip_fields = [("name", "Desa"), ("kecamatan_name", "Kecamatan"), ("code", "Kode")]
    css_class = "desa-polygon"

    def properties(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        # desa names repeat across kecamatan: the search label carries both (escaped, shown as HTML)
        out = super().properties(gdf)
        out["label"] = [escape(f"{n} — {k}") for n, k in zip(gdf["name"], gdf["kecamatan_name"])]
        return out

    def __init__(self, desa: gpd.GeoDataFrame, name: str = "Desa/Kelurahan", **style) -> None:
        style = {"color": "#555555", "weight": 1, "fillColor": "#8fbf8f", "fillOpacity": 0.35, **style}
        super().__init__(desa, name, **style)


class KecamatanOutlines(_GeoJsonLayer):
    tooltip_fields = [("name", "Kecamatan"), ("code", "Kode")]
    css_class = "kecamatan-outline"

    def __init__(self, kecamatan: gpd.GeoDataFrame, name: str = "Batas kecamatan", **style) -> None:
        style = {"color": "#222222", "weight": 2.5, "fill": False, **style}
        super().__init__(kecamatan, name, **style)


class DesaSearch(Search):
    """Search box over the desa polygons by name ("Nama — Kecamatan"); zooms to the desa found."""

    def __init__(self, desa: DesaPolygons, placeholder: str = "Cari desa/kelurahan") -> None:
        super().__init__(
            layer=desa.geojson,
            search_label="label",
            geom_type="Polygon",
            placeholder=escape(placeholder),
            collapsed=False,
            position="topleft",
            color="#d62728",
            weight=4,
        )


class FullscreenControl(Fullscreen):
    def __init__(self) -> None:
        super().__init__(position="topleft", title="Layar penuh", title_cancel="Keluar dari layar penuh",
                         force_separate_button=True)


class ScaleControl(folium.MacroElement):
    """Metric scale bar (folium's control_scale also shows miles)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            L.control.scale({imperial: false, position: "bottomleft"}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )


class _LabelStyle(folium.MacroElement):
    """One stylesheet for the name labels (inline, no external file)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .map-label { position: absolute; transform: translate(-50%, -50%); white-space: nowrap;
                       font: 600 12px/1.1 system-ui, sans-serif; color: #222; pointer-events: none;
                       text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; }
          .map-label.kecamatan { font-size: 13px; text-transform: uppercase; letter-spacing: .03em; }
          .map-label.desa { font-weight: 400; font-size: 11px; }
        </style>
        {% endmacro %}
        """
    )


class _NameLabels(folium.FeatureGroup):
    """Names as text at a point inside each polygon (DivIcon markers, HTML-escaped, not clickable)."""

    css_class = ""

    def __init__(self, gdf: gpd.GeoDataFrame, name: str, show: bool = True) -> None:
        super().__init__(name=name, show=show)
        _LabelStyle().add_to(self)
        points = gdf.geometry.representative_point()
        for label, point in zip(gdf["name"], points):
            folium.Marker(
                location=[round(point.y, 5), round(point.x, 5)],
                icon=folium.DivIcon(
                    html=f'<div class="map-label {self.css_class}">{escape(label)}</div>',
                    icon_size=(0, 0),
                    class_name="map-label-icon",
                ),
                interactive=False,
                keyboard=False,
            ).add_to(self)


class KecamatanLabels(_NameLabels):
    css_class = "kecamatan"

    def __init__(self, kecamatan: gpd.GeoDataFrame, name: str = "Nama kecamatan", show: bool = True) -> None:
        super().__init__(kecamatan, name, show)


class DesaLabels(_NameLabels):
    css_class = "desa"

    def __init__(self, desa: gpd.GeoDataFrame, name: str = "Nama desa", show: bool = True) -> None:
        super().__init__(desa, name, show)


def fa_icon(icon: str, color: str = "blue", icon_color: str = "white") -> folium.Icon:
    """A marker icon from Font Awesome (served locally); Bootstrap 3 glyphicons are not installed."""
    return folium.Icon(icon=icon, prefix="fa", color=color, icon_color=icon_color)
