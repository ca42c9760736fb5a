"""The static map drawing shared by the print view's PNGs and the A4 brief (geo_app/maps/static.py):
true scale in EPSG:32747, a scale bar in km, a north arrow, TPS and planned rakor symbols, the
``uncovered`` hatch, a legend with counts, and names drawn as typed."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation
from PIL import Image

from geo_app.app_db import get_session
from geo_app.geo import METRIC_CRS
from geo_app.i18n import STATUS_COLORS, status_label
from geo_app.maps.static import SCALE_STEPS_KM, add_north_arrow, add_scale_bar, draw_status_map, legend_handles
from geo_app.services import brief as brief_service
from geo_app.services import layers as layer_service

TERAMANG_JAYA = "17.06.08"


def _map(app, code: str = TERAMANG_JAYA, args: dict | None = None):
    with app.app_context():
        session = get_session()
        _view, result = layer_service.load_view(session, args or {})
        return brief_service.static_map(session, result, code), result


def _draw(data, lang: str = "id", size=(6.0, 4.0)):
    fig = Figure(figsize=size)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    draw_status_map(ax, data, lang)
    km = add_scale_bar(ax)
    add_north_arrow(ax, lang)
    return fig, ax, km


def test_map_is_drawn_in_metres_and_fills_its_box(demo_app):
    data, _result = _map(demo_app)
    fig, ax, _km = _draw(data)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    bx0, by0, bx1, by1 = data.desa.to_crs(METRIC_CRS).total_bounds
    # every desa inside the view, in metres (a degree-based view would be ~0.3 wide)
    assert x0 < bx0 and x1 > bx1 and y0 < by0 and y1 > by1
    assert 20_000 < x1 - x0 < 80_000
    # equal scale: the view's shape is the box's (6 × 4 in)
    assert (y1 - y0) / (x1 - x0) == pytest.approx(4 / 6, rel=1e-3)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_scale_bar_and_north_arrow(demo_app, lang):
    data, _result = _map(demo_app)
    fig, ax, km = _draw(data, lang)
    width_km = (ax.get_xlim()[1] - ax.get_xlim()[0]) / 1000
    assert km in SCALE_STEPS_KM and km <= width_km / 4 and km * 2 > width_km / 4 / 2.5
    bar = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_zorder() == 10]
    assert sorted(p.get_facecolor()[:3] for p in bar) == [(0.0, 0.0, 0.0), (1.0, 1.0, 1.0)]
    assert sum(p.get_width() for p in bar) == pytest.approx(km * 1000)  # metres of EPSG:32747
    texts = [t.get_text() for t in ax.texts]
    assert f"{km:g} km" in texts and "0" in texts
    arrows = [a for a in ax.texts if isinstance(a, Annotation) and a.arrow_patch is not None]
    assert len(arrows) == 1
    start, end = arrows[0].xyann, arrows[0].xy
    assert start[0] == end[0] and end[1] > start[1]  # points up
    assert ("N" if lang == "en" else "U") in texts


def test_symbols_hatch_and_legend(demo_app):
    # before the Teramang Jaya rakor of 11/11/2024: its desa are uncovered and the rakor is planned
    data, result = _map(demo_app, args={"date": "2024-11-05"})
    data.desa["ref"] = [str(i) for i in range(1, len(data.desa) + 1)]  # as the brief numbers its table
    fig, ax, _km = _draw(data)
    own_tps = data.tps
    assert len(own_tps) > 0
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    offsets = sum(len(c.get_offsets()) for c in scatters)
    planned_in_view = 1  # the Teramang Jaya rakor's venue
    assert offsets == len(own_tps) + planned_in_view
    assert any("///" == (c.get_hatch() or "") for c in ax.collections)
    statuses = data.desa["status"].value_counts()
    assert statuses.get("uncovered", 0) > 0
    labels = [label for _, label in legend_handles(data, "id")]
    for status in STATUS_COLORS:
        assert f"{status_label(status, 'id')} ({int(statuses.get(status, 0))})" in labels
    assert "Rakor terencana" in labels and "TPS, personel cukup" in labels and "Kecamatan tetangga" in labels
    # every desa is labelled: by name, or by its number where names would overlap (Teramang Jaya's
    # small desa crowd the south-west); the neighbouring kecamatan are named faintly
    texts = {t.get_text() for t in ax.texts}
    assert all(name in texts or ref in texts for name, ref in zip(data.desa["name"], data.desa["ref"]))
    assert sum(name in texts for name in data.desa["name"]) >= len(data.desa) - 4
    assert "Penarik" in texts

    after, _ = _map(demo_app)  # on election day the rakor lies in the past
    assert "Rakor terencana" not in [label for _, label in legend_handles(after, "id")]


def test_names_are_drawn_as_typed(demo_app):
    data, _result = _map(demo_app)
    data.desa.loc[data.desa.index[0], "name"] = r"$\frac{$ {{7*7}}"
    fig, ax, _km = _draw(data)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")  # mathtext would raise on "$\frac{$"
    assert r"$\frac{$ {{7*7}}" in {t.get_text() for t in ax.texts}


def test_print_png_has_the_page_strip_size(demo_app, demo_client):
    response = demo_client.get(f"/gaps/print/{TERAMANG_JAYA}.png?lang=en")
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.size == brief_service.PRINT_PNG_PX
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    # the Aman (covered) fill is on the map
    covered = tuple(int(STATUS_COLORS["covered"][i : i + 2], 16) for i in (1, 3, 5))
    assert (np.abs(pixels.astype(int) - covered).sum(axis=1) < 6).sum() > 500
