"""Map controls shared by every map page: full screen and a metric scale bar (one small class each).

The data layers (desa, kecamatan, names, points, heat) and the other controls are in ``remote.py``;
``shell.py`` assembles a page from them.
"""

from __future__ import annotations

import folium
from folium.plugins import Fullscreen
from folium.template import Template

from ..i18n import DEFAULT_LANG


class FullscreenControl(Fullscreen):
    """The full-screen button (top left) with its titles in the page language."""

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
