"""Prepare geometries and text for display.

Geometries: small holes filled for outlines (the map data simplifies per zoom, ``services.map_data``).

Text: folium builds its HTML with branca, and branca renders every element's output through Jinja
a *second* time (``MacroElement.render`` adds ``Element(rendered_output)``, and ``Element(text)`` is a
``jinja2.Template(text)``). So whatever text reaches a map element is template source: ``{{7*7}}``
would show as ``49``, ``{{ lipsum.__globals__.os.popen(..) }}`` would run a command, ``{% if %}``
would make the map a 500. Every text from data or a user reaches the map through one of the two
functions here, and neither lets a ``{`` that could open a Jinja tag through:

- ``escape``: text for HTML (popups, tooltips, labels, search labels, every GeoJSON string property);
  besides ``& < > " '`` it writes ``{`` and ``}`` as ``&#123;``/``&#125;`` (the browser shows them as
  typed).
- ``script_json``: data for a ``<script>`` of a map (JSON that cannot close the script, start markup or
  open a Jinja tag).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import geopandas as gpd
import shapely

from ..geo import METRIC_CRS, WGS84

_BRACES = str.maketrans({"{": "&#123;", "}": "&#125;"})
#: in JSON text a ``{`` followed by ``{``, ``%`` or ``#`` can only be inside a string
_JINJA_OPENER = re.compile(r"\{(?=[{%#])")
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}


def escape(value: object) -> str:
    """HTML-escape any text that came from data or a user before it reaches a map element (popup,
    tooltip, label, GeoJSON property): ``& < > " '`` and also ``{ }``, so it is never template source."""
    return html.escape("" if value is None else str(value), quote=True).translate(_BRACES)


def script_json(data: Any) -> str:
    """``data`` as JSON for a map's ``<script>``: no raw ``<``, ``>``, ``&`` or ``'`` (cannot close the
    script or start markup), and no ``{{``, ``{%`` or ``{#`` (the ``{`` written ``\\u007b``), so branca's
    second Jinja pass leaves it as it is. Parsed by JavaScript, the strings are exactly the input."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, code in _SCRIPT_UNSAFE.items():
        text = text.replace(char, code)
    return _JINJA_OPENER.sub(r"\\u007b", text)


def drop_small_holes(gdf: gpd.GeoDataFrame, min_area_m2: float = 1_000_000.0) -> gpd.GeoDataFrame:
    """Fill interior rings smaller than ``min_area_m2`` (measured in EPSG:32747).

    Kecamatan dissolved from desa keep the small gaps between desa as holes; drawn as outlines they
    show as stray dots. Display only: stored geometries keep them.
    """
    out = gdf.copy()
    metric = out.geometry.to_crs(METRIC_CRS)

    def fill(geom):
        if geom is None or geom.is_empty:
            return geom
        polys = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        kept = [
            shapely.Polygon(p.exterior, [r for r in p.interiors if shapely.Polygon(r).area >= min_area_m2])
            for p in polys
        ]
        return kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)

    filled = gpd.GeoSeries([fill(g) for g in metric], index=out.index, crs=METRIC_CRS)
    out[out.geometry.name] = filled.to_crs(WGS84).to_numpy()
    return out.set_crs(WGS84, allow_override=True)
