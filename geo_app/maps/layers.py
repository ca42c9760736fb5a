"""One class per map element (as in folium.features): a new layer is a new small class.

Every text that came from data or a user goes through ``display.escape`` before it reaches a
tooltip, popup or label (every string property of a GeoJSON too); popup HTML is built here from
escaped parts, and data embedded in a script goes through ``display.script_json``. branca renders
each element's output through Jinja a second time: see ``display`` for why both matter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.plugins import Fullscreen, HeatMap, MarkerCluster, Search
from folium.template import Template

from .. import geojson
from ..i18n import (
    DEFAULT_LANG,
    PLANNED_COLOR,
    SEVERITY_MARKER_COLORS,
    STATUS_COLORS,
    status_label,
    t,
)
from . import popups
from .display import escape, script_json


class _GeoJsonLayer(folium.FeatureGroup):
    """A feature group holding one GeoJson of a GeoDataFrame; every string property HTML-escaped."""

    tooltip_fields: list[tuple[str, str]] = []  # (column, i18n key of the label)
    #: CSS class on every drawn path, so pages and the browser test can find this layer's polygons
    css_class: str = ""
    #: a property holding popup HTML built from escaped parts (None: no popup)
    popup_field: str | None = None

    def __init__(self, gdf: gpd.GeoDataFrame, name: str, show: bool = True, lang: str = DEFAULT_LANG, **style) -> None:
        super().__init__(name=name, show=show)
        self.lang = lang
        cols = [c for c, _ in self.tooltip_fields]
        safe = self.properties(gdf)
        for c in safe.columns:
            # tooltips, popups and the search box show properties as HTML; the popup is HTML already
            if c not in (safe.geometry.name, self.popup_field) and not pd.api.types.is_numeric_dtype(safe[c]):
                safe[c] = [escape(v) if isinstance(v, str) else v for v in safe[c]]
        if self.css_class:
            style.setdefault("className", self.css_class)
        base = dict(style)
        self.geojson = folium.GeoJson(
            geojson.frame_collection(safe),
            name=name,
            style_function=lambda f: self.feature_style(f, base),
            highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.5},
            tooltip=folium.GeoJsonTooltip(
                fields=cols, aliases=[t(key, lang) for _, key in self.tooltip_fields], sticky=True
            ),
            popup=(
                folium.GeoJsonPopup(fields=[self.popup_field], labels=False, localize=False, max_width=360)
                if self.popup_field
                else None
            ),
            smooth_factor=1.0,
        )
        self.geojson.add_to(self)

    def feature_style(self, feature: dict, base: dict) -> dict:
        """Style of one feature; the same for all unless a subclass says otherwise."""
        return base

    def properties(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """The columns that go into the GeoJSON (tooltip fields and geometry); subclasses add more."""
        return gdf[[c for c, _ in self.tooltip_fields] + [gdf.geometry.name]].copy()


class DesaPolygons(_GeoJsonLayer):
    tooltip_fields = [("name", "desa"), ("kecamatan_name", "kecamatan"), ("code", "code")]
    css_class = "desa-polygon"

    def properties(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        # desa names repeat across kecamatan: the search label carries both (escaped like every property)
        out = super().properties(gdf)
        out["label"] = [f"{n} — {k}" for n, k in zip(gdf["name"], gdf["kecamatan_name"])]
        return out

    def __init__(self, desa: gpd.GeoDataFrame, name: str = "Desa/Kelurahan", lang: str = DEFAULT_LANG, **style) -> None:
        style = {"color": "#555555", "weight": 1, "fillColor": "#8fbf8f", "fillOpacity": 0.35, **style}
        super().__init__(desa, name, lang=lang, **style)


class KecamatanOutlines(_GeoJsonLayer):
    tooltip_fields = [("name", "kecamatan"), ("code", "code")]
    css_class = "kecamatan-outline"

    def __init__(
        self, kecamatan: gpd.GeoDataFrame, name: str = "Batas kecamatan", lang: str = DEFAULT_LANG, **style
    ) -> None:
        style = {"color": "#222222", "weight": 2.5, "fill": False, **style}
        super().__init__(kecamatan, name, lang=lang, **style)


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
    def __init__(self, lang: str = DEFAULT_LANG) -> None:
        en = lang == "en"
        super().__init__(
            position="topleft",
            title="Full screen" if en else "Layar penuh",
            title_cancel="Exit full screen" if en else "Keluar dari layar penuh",
            force_separate_button=True,
        )


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


# --- coverage ------------------------------------------------------------------------------------


# popup content lives in popups.py (shared with the map data endpoints)


class CoverageDesaPolygons(DesaPolygons):
    """Desa filled by coverage status; the popup gives the status, its reasons and the figures.

    ``gdf`` is a coverage table (``CoverageResult.desa`` or ``gaps()``-like): status, reasons_id/_en
    (optional), tps_count, voters, meetings_count, incidents_count, shortfall_total.
    ``desa_url``: ``code -> URL`` of the desa page (None in standalone exports).
    """

    popup_field = "popup"

    def __init__(
        self,
        desa: gpd.GeoDataFrame,
        name: str | None = None,
        lang: str = DEFAULT_LANG,
        desa_url: Callable[[str], str] | None = None,
        reasons: Mapping[str, list[str]] | None = None,
        **style,
    ) -> None:
        self.desa_url = desa_url
        self.reasons = reasons or {}
        self._lang = lang
        style = {"color": "#444444", "weight": 1, "fillOpacity": 0.6, **style}
        super().__init__(desa, name or t("layer.desa", lang), lang=lang, **style)

    def feature_style(self, feature: dict, base: dict) -> dict:
        props = feature["properties"]
        style = {**base, "fillColor": STATUS_COLORS.get(props.get("status"), "#bbbbbb")}
        if props.get("planned"):  # a planned rakor will reach it: a dashed blue outline
            style.update(color=PLANNED_COLOR, weight=3, dashArray="5 4")
        return style

    def properties(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        out = super().properties(gdf)
        out["status"] = gdf["status"].astype(str).to_numpy()
        out["flags"] = [",".join(f) for f in gdf["flags"]] if "flags" in gdf else ""
        planned = gdf["planned_meeting_date"].notna() if "planned_meeting_date" in gdf else False
        out["planned"] = np.asarray(planned, dtype=bool) if "planned_meeting_date" in gdf else False
        out["popup"] = [self._popup_html(row) for row in gdf.itertuples(index=False)]
        return out

    def _popup_html(self, row: Any) -> str:
        return popups.desa_popup(row, self._lang, self.reasons.get(row.code, []), self.desa_url)


class DesaHighlight(_GeoJsonLayer):
    """A thick outline around the desa a page is about (no fill, so its status colour shows)."""

    tooltip_fields = [("name", "desa"), ("code", "code")]
    css_class = "desa-highlight"

    def __init__(self, desa: gpd.GeoDataFrame, name: str | None = None, lang: str = DEFAULT_LANG, **style) -> None:
        style = {"color": "#1f4e9c", "weight": 4, "fill": False, "dashArray": "6 4", **style}
        super().__init__(desa, name or t("layer.highlight", lang), lang=lang, **style)


class StatusLegend(folium.MacroElement):
    """Legend of the status colours with the number of desa in each status (bottom right)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .status-legend { background: #fff; padding: 6px 9px; font: 12px/1.5 system-ui, sans-serif;
                           border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.35); }
          .status-legend b { display: block; margin-bottom: 2px; }
          .status-legend i { display: inline-block; width: 14px; height: 14px; margin-right: 6px;
                             vertical-align: -2px; border: 1px solid #666; }
          .map-popup table { border-collapse: collapse; margin: 4px 0; }
          .map-popup th { text-align: left; padding-right: 8px; font-weight: 600; }
          .map-popup ul { margin: 4px 0; padding-left: 16px; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
          var legend = L.control({position: "bottomright"});
          legend.onAdd = function () {
            var div = L.DomUtil.create("div", "status-legend");
            div.innerHTML = {{ this.html_json }};
            return div;
          };
          legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, counts: Mapping[str, int], lang: str = DEFAULT_LANG) -> None:
        super().__init__()
        self._name = "StatusLegend"
        self.counts = {s: int(counts.get(s, 0)) for s in STATUS_COLORS}
        lines = [f"<b>{escape(t('legend_title', lang))}</b>"]
        for status, color in STATUS_COLORS.items():
            lines.append(
                f'<div data-status="{status}"><i style="background:{color}"></i>'
                f'{escape(status_label(status, lang))}: <span class="count">{self.counts[status]}</span></div>'
            )
        lines.append(
            f'<div data-legend="planned"><i style="background:#fff;border:2px dashed {PLANNED_COLOR}"></i>'
            f"{escape(t('layer.planned', lang))}</div>"
        )
        self.html = "".join(lines)
        self.html_json = script_json(self.html)


class _PointMarkers(folium.MacroElement):
    """Many markers added to the parent layer in one loop from a compact JSON array.

    Each point is ``[lat, lon, icon, colour, popup_html, css_class]``; popups are built by the layer
    classes from escaped parts. One folium.Marker per point would triple the page size.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var points = {{ this.points_json }};
          var markers = points.map(function (p) {
            var m = L.marker([p[0], p[1]], {icon: L.AwesomeMarkers.icon(
              {icon: p[2], prefix: "fa", markerColor: p[3], iconColor: "white", extraClasses: p[5]})});
            m.bindPopup(p[4], {maxWidth: 340});
            return m;
          });
          var target = {{ this._parent.get_name() }};
          if (target.addLayers) { target.addLayers(markers); } else { markers.forEach(function (m) { target.addLayer(m); }); }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, points: list[list[Any]]) -> None:
        super().__init__()
        self._name = "PointMarkers"
        self.count = len(points)
        self.points_json = script_json(points)


def _located(df: pd.DataFrame, lon: str, lat: str) -> pd.DataFrame:
    return df[df[lon].notna() & df[lat].notna()] if len(df) else df


class TpsCluster(MarkerCluster):
    """TPS as clustered markers; popup: number, desa, voters, class, personnel vs requirement.

    ``tps``: TPS rows with display_lon/lat, number, voters, vulnerability, police/tni/linmas and
    required_* (the coverage result's TPS table joined to the stored rows), plus desa_name.
    """

    def __init__(self, tps: pd.DataFrame, name: str | None = None, lang: str = DEFAULT_LANG, show: bool = True) -> None:
        super().__init__(
            name=name or t("layer.tps", lang),
            show=show,
            options={"maxClusterRadius": 40, "disableClusteringAtZoom": 14},
        )
        points = []
        for r in _located(tps, "display_lon", "display_lat").itertuples(index=False):
            secured = bool(r.secured)
            popup = popups.tps_popup(r, lang)
            points.append(
                [
                    round(float(r.display_lat), 5),
                    round(float(r.display_lon), 5),
                    "check-to-slot",
                    "green" if secured else "red",
                    popup,
                    "tps-marker",
                ]
            )
        self.markers = _PointMarkers(points).add_to(self)


class IncidentMarkers(folium.FeatureGroup):
    """Incidents as markers coloured by severity; popup: category, severity, status, time, desa, description."""

    def __init__(
        self, incidents: pd.DataFrame, name: str | None = None, lang: str = DEFAULT_LANG, show: bool = True
    ) -> None:
        super().__init__(name=name or t("layer.incidents", lang), show=show)
        points = []
        for r in _located(incidents, "display_lon", "display_lat").itertuples(index=False):
            popup = popups.incident_popup(r, lang)
            points.append(
                [
                    round(float(r.display_lat), 5),
                    round(float(r.display_lon), 5),
                    "triangle-exclamation",
                    SEVERITY_MARKER_COLORS.get(r.severity, "gray"),
                    popup,
                    f"incident-marker severity-{r.severity}",
                ]
            )
        self.markers = _PointMarkers(points).add_to(self)


class IncidentHeat(HeatMap):
    """Heat layer of incidents weighted by severity (off at start: it is a second view of the same points)."""

    def __init__(
        self,
        incidents: pd.DataFrame,
        weights: Mapping[str, float],
        name: str | None = None,
        lang: str = DEFAULT_LANG,
        show: bool = False,
    ) -> None:
        located = _located(incidents, "display_lon", "display_lat")
        top = max(weights.values()) or 1.0
        data = [
            [
                round(float(r.display_lat), 5),
                round(float(r.display_lon), 5),
                round(float(weights.get(r.severity, 1.0)) / top, 3),
            ]
            for r in located.itertuples(index=False)
        ]
        super().__init__(data, name=name or t("layer.heat", lang), show=show, radius=22, blur=18, min_opacity=0.3)


class MeetingMarkers(folium.FeatureGroup):
    """Rakor as markers at their venue; popup: title, date, venue, level, agencies, desa reached.

    ``meetings``: stored rows joined with the coverage result's venue point (venue_lon/lat) and
    ``reached_names`` (names of the desa listed as reached) and ``host_kecamatan_name``.
    """

    def __init__(
        self, meetings: pd.DataFrame, name: str | None = None, lang: str = DEFAULT_LANG, show: bool = True
    ) -> None:
        super().__init__(name=name or t("layer.meetings", lang), show=show)
        points = []
        for r in _located(meetings, "venue_lon", "venue_lat").itertuples(index=False):
            popup = popups.meeting_popup(r, lang)
            points.append(
                [round(float(r.venue_lat), 5), round(float(r.venue_lon), 5), "users", "blue", popup, "meeting-marker"]
            )
        self.markers = _PointMarkers(points).add_to(self)
