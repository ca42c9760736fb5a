"""Map elements whose data comes by request (or inline): one small class per element.

The map pages are a shell (``shell.py``): these elements put no record into the page. Each data layer
names a *source*: the URL of an endpoint of ``web/map_data.py`` (``/api/map/desa``, ``/kecamatan``,
``/points/<kind>``, ``/heat``, ``/legend``), which the page's script (``geo_app/static/map/geomap.js``)
asks for the current view (``bbox`` and ``zoom`` added to the view parameters), or inline data of the
same shape (a response, or ``{"levels": [{"min_zoom", "max_zoom", "data"}, ...]}``) for a page opened
from disk (``geo-app layers build``), written once into the page (``PageData``) and named by the layers
that read it (``InlineRef``).

Text: the layer names and labels here are ours (``i18n``); everything reaches the page through
``display.script_json`` (branca renders every element's output through Jinja a second time, see
``display``). Data strings arrive as JSON at run time: names are inserted as text, ``popup_html``
(escaped by the server, ``maps/popups.py``) as HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from ..i18n import (
    DEFAULT_LANG,
    HEAT_GRADIENT,
    PLANNED_COLOR,
    SEARCH_OUTLINE_COLOR,
    SHARE_RAMP,
    STATUS_COLORS,
    STATUS_PATTERNS,
    status_label,
    t,
)
from .display import escape, script_json


@dataclass(frozen=True)
class InlineRef:
    """Inline data written once into the page (``PageData``) under ``key``: every layer that reads the
    data set names the key, so a page opened from disk holds each data set once, however many layers
    draw it (the desa polygons, their names and the search read one copy)."""

    key: str


#: URL of an endpoint, inline data of the endpoint's shape, or a reference to data written once in the page
Source = str | Mapping[str, Any] | list[Any] | InlineRef

#: The project's own script and stylesheet (``assets.PACKAGES["geo-app"]``).
GEOMAP_JS = ("geo_app_geomap_js", "asset:geo-app/map/geomap.js")
GEOMAP_CSS = ("geo_app_geomap_css", "asset:geo-app/map/geomap.css")
#: folium's own copy of leaflet.heat, served from the installed folium package (``assets.PACKAGES``)
LEAFLET_HEAT_JS = ("leaflet_heat_js", "asset:folium/leaflet_heat.min.js")

#: The two inks of every point symbol and cluster badge: a near-black and white. No status colour
#: (tests/maps/test_map_shell.py checks ΔE00 against ``STATUS_COLORS`` in the three visions).
SYMBOL_INK = "#111111"
SYMBOL_PAPER = "#ffffff"
#: Point symbols: (shape, fill, mark) per variant of each kind: "solid" = ink shape with a paper edge,
#: "open" = paper shape with an ink edge; the mark ("!", or none) in the other ink. Shapes tell the
#: kinds apart (TPS squares, incident triangles, rakor diamonds); the legend shows every symbol of a
#: layer that is on.
POINT_SYMBOLS: dict[str, dict[str, tuple[str, str, str]]] = {
    "tps": {"secured": ("square", "open", ""), "short": ("square", "solid", "!")},
    "incidents": {
        "high": ("triangle", "solid", "!"),
        "medium": ("triangle", "open", "!"),
        "low": ("triangle", "open", ""),
    },
    "meetings": {"meeting": ("diamond", "solid", "")},
}
#: Kecamatan names are shown up to this zoom; desa names take over when zoomed in further.
KECAMATAN_LABEL_MAX_ZOOM = 11.5
#: Point layers switched off at the start appear by themselves from this zoom on (until switched by hand).
POINTS_AUTO_ZOOM = 14
#: Maps that roll up (several kabupaten loaded, the province overview), by the zoom the server sees
#: (whole levels): kabupaten filled by their share of uncovered desa up to ``ROLLUP_KABUPATEN_MAX_ZOOM``,
#: kecamatan from there to ``ROLLUP_KECAMATAN_MAX_ZOOM``, desa polygons (by view) from ``ROLLUP_DESA_MIN_ZOOM``,
#: where a screen holds a few hundred desa at most instead of all 1,513.
ROLLUP_KABUPATEN_MAX_ZOOM = 8
ROLLUP_KECAMATAN_MAX_ZOOM = 10
ROLLUP_DESA_MIN_ZOOM = ROLLUP_KECAMATAN_MAX_ZOOM + 1

#: (lowest, highest) zoom at which a source is asked for its data (None: no bound)
ZoomRange = tuple[int | None, int | None]


def source_spec(
    source: Source, params: Mapping[str, str] | None = None, view: str = "bbox", zoom_range: ZoomRange | None = None
) -> dict[str, Any]:
    """The script's description of a source: ``{"url", "params", "view"}`` for an endpoint (``view``:
    ``bbox`` = bbox and zoom are sent, ``zoom`` = only the zoom, ``none`` = neither), or
    ``{"inline": data}``, or ``{"data": key}`` for data written once in the page (``InlineRef``,
    ``PageData``); with ``zoom_range`` also ``min_zoom``/``max_zoom``: outside them the source asks for
    nothing and its layers draw nothing (the roll-up maps)."""
    if isinstance(source, str):
        spec: dict[str, Any] = {"url": source, "params": {k: str(v) for k, v in (params or {}).items()}, "view": view}
    elif isinstance(source, InlineRef):
        spec = {"data": source.key}
    else:
        spec = {"inline": source}
    lo, hi = zoom_range or (None, None)
    if lo is not None:
        spec["min_zoom"] = int(lo)
    if hi is not None:
        spec["max_zoom"] = int(hi)
    return spec


def symbol_table(kind: str, lang: str = DEFAULT_LANG) -> dict[str, dict[str, str]]:
    """The symbols of a kind with their inks and legend labels, for the script."""
    return {
        variant: {
            "shape": shape,
            "fill": fill,
            "mark": mark,
            "ink": SYMBOL_INK,
            "paper": SYMBOL_PAPER,
            "label": t(f"symbol.{kind}.{variant}", lang),
        }
        for variant, (shape, fill, mark) in POINT_SYMBOLS[kind].items()
    }


def heat_css() -> str:
    """The heat ramp as a CSS gradient (for the legend)."""
    stops = ", ".join(f"{color} {float(stop) * 100:.0f}%" for stop, color in sorted(HEAT_GRADIENT.items()))
    return f"linear-gradient(to right, rgba(255,255,255,0) 0%, {stops})"


class GeoMapAssets(JSCSSMixin, folium.MacroElement):
    """Links the shell's script and stylesheet (and leaflet.heat) in the page head."""

    _template = Template("")
    default_js = [LEAFLET_HEAT_JS, GEOMAP_JS]
    default_css = [GEOMAP_CSS]

    def __init__(self) -> None:
        super().__init__()
        self._name = "GeoMapAssets"


class MapPrepare(folium.MacroElement):
    """Before any layer: panes and the starting view (the URL's hash, else ``bounds`` fitted to the
    frame), so no data is asked for a view the page will not show. Add it first."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        GeoMap.prepare({{ this._parent.get_name() }}, {{ this.config_json }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: tuple[float, float, float, float], lang: str = DEFAULT_LANG) -> None:
        super().__init__()
        self._name = "MapPrepare"
        texts = {"dataFailed": t("map.data_failed", lang)}
        self.config_json = script_json({"bounds": [round(float(v), 5) for v in bounds], "texts": texts})


class PageData(folium.MacroElement):
    """The inline data of a page opened from disk (``geo-app layers build``), each data set once, by key
    (``GeoMap.pageData``); the layers name theirs (``InlineRef``). Add it before the layers."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        GeoMap.pageData({{ this._parent.get_name() }}, {{ this.data_json }});
        {% endmacro %}
        """
    )

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__()
        self._name = "PageData"
        self.keys = list(data)
        self.data_json = script_json(dict(data))


class _RemoteLayer(Layer):
    """A data layer drawn by ``GeoMap.<js_class>`` from a source while it is on the map; listed in the
    layer control under ``name``, in the URL under ``key``. Whether it is on at the start is decided
    by the script (``show``, or the URL's hash), not by folium."""

    js_class = ""
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = new GeoMap.{{ this.js_class }}(
            {{ this._parent.get_name() }}, {{ this.spec_json }}, {{ this.options_json }});
        GeoMap.register({{ this._parent.get_name() }}, {{ this.key_json }}, {{ this.get_name() }}, {{ this.show_json }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        source: Source,
        *,
        name: str,
        key: str,
        params: Mapping[str, str] | None = None,
        show: bool = True,
        view: str = "bbox",
        options: Mapping[str, Any] | None = None,
        control: bool = True,
        zoom_range: ZoomRange | None = None,
    ) -> None:
        # folium adds a layer with show=True to the map itself; here the script does (URL state)
        super().__init__(name=escape(name), overlay=True, control=control, show=False)
        self.key = key
        self.shown = show
        self.spec = source_spec(source, params, view, zoom_range)
        self.options = dict(options or {})
        self.spec_json = script_json(self.spec)
        self.options_json = script_json(self.options)
        self.key_json = script_json(key)
        self.show_json = script_json(bool(show))


class RemoteDesaLayer(_RemoteLayer):
    """Desa polygons filled with their status colour (``color`` from the server, i.e. ``STATUS_COLORS``),
    a pattern on top for the statuses of ``STATUS_PATTERNS`` (a second cue besides colour); a click on a
    desa opens its popup. ``planned`` desa get a dashed outline."""

    js_class = "DesaLayer"

    def __init__(self, source: Source, *, lang: str = DEFAULT_LANG, key: str = "desa", **kwargs: Any) -> None:
        options = {"plannedColor": PLANNED_COLOR, "fillOpacity": 0.6, "patterns": dict(STATUS_PATTERNS)}
        super().__init__(source, name=t("layer.desa", lang), key=key, options=options, **kwargs)


class RemoteKecamatanOutlines(_RemoteLayer):
    """Kecamatan boundaries (``/api/map/kecamatan``, by zoom only); they never catch a click."""

    js_class = "OutlineLayer"

    def __init__(self, source: Source, *, lang: str = DEFAULT_LANG, key: str = "kecamatan", **kwargs: Any) -> None:
        options = {"className": "kecamatan-outline", "color": "#222222", "weight": 2.5}
        super().__init__(source, name=t("layer.kecamatan", lang), key=key, view="zoom", options=options, **kwargs)


class RemoteKabupatenOutlines(_RemoteLayer):
    """Thin kabupaten boundaries over the desa at every zoom (maps that roll up: once zoomed in past the
    kabupaten fills, where one kabupaten ends is still shown). A white dashed line on a dark casing, so
    that it stands out from the kecamatan boundary it runs along (solid dark) on any fill; no fill,
    never catches a click. By zoom only."""

    js_class = "OutlineLayer"

    def __init__(self, source: Source, *, lang: str = DEFAULT_LANG, key: str = "kabupaten", **kwargs: Any) -> None:
        options = {
            "className": "kabupaten-outline",
            "color": "#111111",
            "weight": 2,
            "dashArray": "8 4",
            "casing": {"className": "kabupaten-casing", "color": "#ffffff", "weight": 6, "opacity": 0.75},
        }
        super().__init__(source, name=t("kabupaten", lang), key=key, view="zoom", options=options, **kwargs)


class RemoteRollupLayer(_RemoteLayer):
    """Kabupaten (``/api/map/kabupaten``) or kecamatan (``/api/map/kecamatan``) filled by their share of
    uncovered desa (``color`` from the server, ``i18n.SHARE_RAMP``), up to ``max_zoom`` only; hover
    shows the figures, a click zooms to the area. By zoom only."""

    js_class = "RollupLayer"
    LAYER_NAMES = {"kabupaten": "kabupaten", "kecamatan": "kecamatan"}

    def __init__(
        self,
        kind: str,
        source: Source,
        *,
        lang: str = DEFAULT_LANG,
        zoom_range: ZoomRange | None = None,
        max_zoom: int | None = None,
        **kwargs: Any,
    ) -> None:
        """``max_zoom``: drawn up to this zoom only, while the source (shared with the outlines of the same
        areas, so one request serves both) may load further in."""
        if kind not in self.LAYER_NAMES:
            raise ValueError(f"kind must be one of {', '.join(self.LAYER_NAMES)}, not {kind!r}")
        options: dict[str, Any] = {"kind": kind, "fillOpacity": 0.75, "className": f"rollup-area rollup-{kind}"}
        if max_zoom is not None:
            options["maxZoom"] = int(max_zoom)
        name = f"{t(self.LAYER_NAMES[kind], lang)}: {t('share_uncovered', lang)}"
        super().__init__(
            source,
            name=name,
            key=f"{kind}_rollup",
            view="zoom",
            options=options,
            zoom_range=zoom_range,
            **kwargs,
        )


def share_classes(lang: str = DEFAULT_LANG) -> list[dict[str, str]]:
    """The legend lines of ``SHARE_RAMP``: each class's colour and its range in percent."""
    out, low = [], None
    for bound, colour in SHARE_RAMP:
        pct = f"{bound * 100:.0f}%"
        if low is None:
            label = pct if bound == 0 else f"≤ {pct}"
        else:
            label = f"{low * 100:.0f}–{pct}" if bound < 1 else f"> {low * 100:.0f}%"
        out.append({"color": colour, "label": label})
        low = bound
    return out


class RemoteDesaHighlight(_RemoteLayer):
    """A thick dashed outline around the desa a page is about (from the desa source; no fill)."""

    js_class = "OutlineLayer"

    def __init__(
        self, source: Source, code: str, *, lang: str = DEFAULT_LANG, key: str = "highlight", **kwargs: Any
    ) -> None:
        options = {"className": "desa-highlight", "color": "#1f4e9c", "weight": 4, "dashArray": "6 4", "onlyCode": code}
        super().__init__(source, name=t("layer.highlight", lang), key=key, options=options, **kwargs)


class RemoteNameLabels(_RemoteLayer):
    """Names at each feature's label point, as text; overlapping names are hidden (the layer with the
    lower ``priority`` and, within a layer, the larger area wins)."""

    js_class = "LabelLayer"

    def __init__(
        self,
        source: Source,
        *,
        name: str,
        key: str,
        css_class: str,
        priority: int,
        min_zoom: float = 0,
        max_zoom: float = 99,
        **kwargs: Any,
    ) -> None:
        options = {"className": css_class, "priority": priority, "minZoom": min_zoom, "maxZoom": max_zoom}
        super().__init__(source, name=name, key=key, options=options, **kwargs)


class RemoteKecamatanLabels(RemoteNameLabels):
    def __init__(self, source: Source, *, lang: str = DEFAULT_LANG, **kwargs: Any) -> None:
        kwargs.setdefault("max_zoom", KECAMATAN_LABEL_MAX_ZOOM)
        super().__init__(
            source,
            name=t("layer.kecamatan_labels", lang),
            key="kecamatan_names",
            css_class="kecamatan",
            priority=0,
            view="zoom",
            **kwargs,
        )


class RemoteDesaLabels(RemoteNameLabels):
    def __init__(self, source: Source, *, lang: str = DEFAULT_LANG, **kwargs: Any) -> None:
        super().__init__(
            source, name=t("layer.desa_labels", lang), key="desa_names", css_class="desa", priority=1, **kwargs
        )


class RemotePointLayer(_RemoteLayer):
    """TPS, incidents or rakor (``kind``) from ``/api/map/points/<kind>``: markers with their popups when
    few are in view, else cluster badges with counts (a click zooms to the cluster). Symbols are
    black-and-white shapes (``POINT_SYMBOLS``), never status colours. Off at the start by default."""

    js_class = "PointLayer"
    LAYER_NAMES = {"tps": "layer.tps", "incidents": "layer.incidents", "meetings": "layer.meetings"}

    def __init__(
        self, kind: str, source: Source, *, lang: str = DEFAULT_LANG, show: bool = False, **kwargs: Any
    ) -> None:
        if kind not in POINT_SYMBOLS:
            raise ValueError(f"kind must be one of {', '.join(POINT_SYMBOLS)}, not {kind!r}")
        self.kind = kind
        self.symbols = symbol_table(kind, lang)
        options = {"kind": kind, "symbols": self.symbols, "maxZoom": 18}
        super().__init__(source, name=t(self.LAYER_NAMES[kind], lang), key=kind, show=show, options=options, **kwargs)


class RemoteHeatLayer(_RemoteLayer):
    """Incident heat from ``/api/map/heat`` (cells weighted by severity), in greys; off at the start."""

    js_class = "HeatLayer"

    def __init__(self, source: Source, *, lang: str = DEFAULT_LANG, show: bool = False, **kwargs: Any) -> None:
        gradient = {str(stop): color for stop, color in HEAT_GRADIENT.items()}  # i18n: one ink ramp, no status hue
        options = {"radius": 22, "blur": 18, "minOpacity": 0.3, "gradient": gradient}
        super().__init__(source, name=t("layer.heat", lang), key="heat", show=show, options=options, **kwargs)


class StatusLegend(folium.MacroElement):
    """Legend: status colours (``STATUS_COLORS``) with the number of desa in each (from the legend
    source), the planned outline, and every symbol of the point layers that are on, the heat ramp."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.addControl(new GeoMap.Legend({{ this._parent.get_name() }}, {{ this.config_json }}));
        {% endmacro %}
        """
    )

    def __init__(
        self,
        source: Source,
        *,
        params: Mapping[str, str] | None = None,
        point_layers: Sequence[RemotePointLayer] = (),
        heat: RemoteHeatLayer | None = None,
        lang: str = DEFAULT_LANG,
        shares_max_zoom: int | None = None,
    ) -> None:
        super().__init__()
        self._name = "StatusLegend"
        self.config = {
            "source": source_spec(source, params, view="none"),
            "texts": {"legend": t("map.legend", lang), "title": t("legend_title", lang)},
            "statuses": [
                {
                    "key": status,
                    "label": status_label(status, lang),
                    "color": color,
                    "pattern": STATUS_PATTERNS.get(status),
                }
                for status, color in STATUS_COLORS.items()
            ],
            "planned": {"label": t("layer.planned", lang), "color": PLANNED_COLOR},
            "pointLayers": [{"key": p.key, "kind": p.kind, "symbols": p.symbols} for p in point_layers],
            "cluster": {"label": t("symbol.cluster", lang)},
            "heat": {"key": heat.key, "label": t("symbol.heat", lang), "css": heat_css()} if heat else None,
        }
        if shares_max_zoom is not None:  # the roll-up's ramp, shown while zoomed out
            self.config["shares"] = {
                "title": t("share_uncovered", lang),
                "classes": share_classes(lang),
                "maxZoom": int(shares_max_zoom),
            }
        self.config_json = script_json(self.config)


class DesaSearch(folium.MacroElement):
    """Search box over the desa names (top left): choosing a desa zooms to it, outlines it (the
    previous outline goes) and opens its popup. The names come from the desa source for ``bounds`` at
    a low zoom, read once when the box is first used."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.addControl(new GeoMap.DesaSearch({{ this._parent.get_name() }}, {{ this.config_json }}));
        {% endmacro %}
        """
    )

    INDEX_ZOOM = 9

    def __init__(
        self,
        source: Source,
        bounds: tuple[float, float, float, float],
        *,
        params: Mapping[str, str] | None = None,
        lang: str = DEFAULT_LANG,
    ) -> None:
        super().__init__()
        self._name = "DesaSearch"
        self.config = {
            "source": source_spec(source, params),
            "bounds": [round(float(v), 5) for v in bounds],
            "indexZoom": self.INDEX_ZOOM,
            "outlineColor": SEARCH_OUTLINE_COLOR,
            "texts": {"placeholder": t("map.search", lang), "none": t("map.search_none", lang)},
        }
        self.config_json = script_json(self.config)


class LinkBar(folium.MacroElement):
    """Bottom left: a link back (``back``: URL and label; hidden inside the dashboard's frame) and
    "copy link" (this view's URL with zoom, centre and layers)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.addControl(new GeoMap.LinkBar({{ this._parent.get_name() }}, {{ this.config_json }}));
        {% endmacro %}
        """
    )

    def __init__(self, back: tuple[str, str] | None = None, lang: str = DEFAULT_LANG) -> None:
        super().__init__()
        self._name = "LinkBar"
        self.config = {
            "back": {"url": back[0], "label": back[1]} if back else None,
            "texts": {"copy": t("map.copy_link", lang), "copied": t("map.link_copied", lang)},
        }
        self.config_json = script_json(self.config)


class TileFallback(folium.MacroElement):
    """When the base-map tiles fail (no internet), switch to "no base map" and say so in a notice."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        GeoMap.tileFallback({{ this._parent.get_name() }}, {{ this.tiles.get_name() }},
            {{ this.no_base.get_name() }}, {{ this.text_json }});
        {% endmacro %}
        """
    )

    def __init__(self, tiles: folium.TileLayer, no_base: folium.FeatureGroup, lang: str = DEFAULT_LANG) -> None:
        super().__init__()
        self._name = "TileFallback"
        self.tiles = tiles
        self.no_base = no_base
        self.text_json = script_json(t("map.no_tiles", lang))


class BaseLayerKeys(folium.MacroElement):
    """Short keys for the base layers in the URL (``base=osm|none``)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {%- for key, layer in this.layers.items() %}
        GeoMap.registerBase({{ this._parent.get_name() }}, {{ key|tojson }}, {{ layer.get_name() }});
        {%- endfor %}
        {% endmacro %}
        """
    )

    def __init__(self, layers: Mapping[str, Layer]) -> None:
        super().__init__()
        self._name = "BaseLayerKeys"
        self.layers = dict(layers)


class ResponsiveLayerControl(folium.LayerControl):
    """folium's layer control, collapsed on small screens (a phone, a small frame) and open otherwise."""

    _template = Template(
        """
        {% macro script(this,kwargs) %}
            var {{ this.get_name() }}_layers = {
                base_layers : {
                    {%- for key, val in this.base_layers.items() %}
                    {{ key|tojson }} : {{val}},
                    {%- endfor %}
                },
                overlays :  {
                    {%- for key, val in this.overlays.items() %}
                    {{ key|tojson }} : {{val}},
                    {%- endfor %}
                },
            };
            var {{ this.get_name() }} = GeoMap.layerControl(
                {{ this._parent.get_name() }},
                {{ this.get_name() }}_layers.base_layers,
                {{ this.get_name() }}_layers.overlays,
                {{ this.options|tojavascript }}
            );
        {% endmacro %}
        """
    )


class MapStart(folium.MacroElement):
    """After every layer and control: the layers the URL names (or each layer's default), the view
    kept in the URL, point layers appearing by themselves once zoomed in. Add it last."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        GeoMap.start({{ this._parent.get_name() }}, {{ this.config_json }});
        {% endmacro %}
        """
    )

    def __init__(self, auto_layers: list[str], auto_zoom: float = POINTS_AUTO_ZOOM) -> None:
        super().__init__()
        self._name = "MapStart"
        self.config_json = script_json({"autoLayers": list(auto_layers), "autoZoom": auto_zoom})


class PageHead(folium.MacroElement):
    """The page's icon, linked (so the browser asks for no ``/favicon.ico`` that could fail)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <link rel="icon" href="{{ this.icon }}">
        {% endmacro %}
        """
    )

    def __init__(self, icon: str = "data:,") -> None:
        super().__init__()
        self._name = "PageHead"
        self.icon = escape(icon)
