"""The status palette stays readable for red–green colour-blind viewers (issue 12).

Every two coverage statuses must differ by CIEDE2000 ΔE ≥ 20 for normal vision and for simulated
deuteranopia and protanopia (Machado et al. 2009, severity 1.0, in linear RGB). The palette before
issue 12 failed this: "Rawan insiden" (orange) and "Aman" (green) were ΔE00 ≈ 6 apart for both kinds of
red–green colour blindness, which is what the issue measured ("ΔE ≈ 6–9").
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from geo_app.analysis.coverage import STATUSES
from geo_app.i18n import (
    HEAT_GRADIENT,
    PATTERN_HATCHES,
    SEARCH_OUTLINE_COLOR,
    STATUS_COLORS,
    STATUS_PATTERNS,
)
from geo_app.maps.colour_vision import (
    MACHADO_2009,
    VISIONS,
    colour_difference,
    delta_e_2000,
    hex_to_rgb,
    pair_differences,
    palette_report,
    simulate,
    to_lab,
)

MIN_DELTA_E = 20.0
#: the palette before issue 12 (ColorBrewer RdYlGn-like), kept to show the test tells them apart
OLD_STATUS_COLORS = {
    "uncovered": "#d7301f",
    "at_risk": "#fc8d59",
    "insecure": "#fee08b",
    "no_data": "#bdbdbd",
    "covered": "#66bd63",
}

#: Sharma, Wu & Dalal (2005), Table 1: (Lab1, Lab2, ΔE00) test pairs of the CIEDE2000 formula
SHARMA_PAIRS = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, -1.0, 2.0), (50.0, 0.0, 0.0), 2.3669),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0009), 7.1792),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (50.0, 0.0, -2.5), 4.3065),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.694), (23.0331, 14.973, -42.5619), 2.0373),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize(("lab1", "lab2", "expected"), SHARMA_PAIRS)
def test_ciede2000_matches_the_published_test_data(lab1, lab2, expected):
    assert delta_e_2000(np.array(lab1), np.array(lab2)) == pytest.approx(expected, abs=1e-4)
    assert delta_e_2000(np.array(lab2), np.array(lab1)) == pytest.approx(expected, abs=1e-4)


def test_simulation_keeps_greys_and_merges_red_with_green():
    # sRGB → Lab anchors: white is L 100, pure red L 53.24 a 80.09 b 67.20
    assert to_lab(hex_to_rgb("#ffffff")) == pytest.approx([100.0, 0.0, 0.0], abs=0.01)
    assert to_lab(hex_to_rgb("#ff0000")) == pytest.approx([53.24, 80.09, 67.20], abs=0.01)
    for vision in VISIONS:  # each matrix row sums to 1: a grey is seen as the same grey
        assert MACHADO_2009[vision].sum(axis=1) == pytest.approx(np.ones(3), abs=1e-5)
        assert simulate("#808080", vision) == pytest.approx(hex_to_rgb("#808080"), abs=1e-4)
    # red and green, far apart for normal vision, come close for both red–green deficiencies
    assert colour_difference("#d62728", "#2ca02c") > 60
    for vision in ("deuteranopia", "protanopia"):
        assert colour_difference("#d62728", "#2ca02c", vision) < 25


def test_every_status_has_a_colour():
    assert list(STATUS_COLORS) == list(STATUSES)
    assert set(STATUS_PATTERNS) <= set(STATUS_COLORS) and STATUS_PATTERNS["uncovered"] in PATTERN_HATCHES


def assert_apart(palette: dict[str, str], vision: str) -> None:
    diffs = pair_differences(palette, vision)
    assert len(diffs) == len(palette) * (len(palette) - 1) // 2
    too_close = {pair: round(d, 1) for pair, d in diffs.items() if d < MIN_DELTA_E}
    assert not too_close, f"{vision}: status pairs under ΔE00 {MIN_DELTA_E}: {too_close}"


@pytest.mark.parametrize("vision", VISIONS)
def test_status_colours_stay_apart(vision):
    assert_apart(STATUS_COLORS, vision)


def test_the_old_palette_fails_for_red_green_colour_blindness():
    """The same check on the palette the issue measured: orange "Rawan insiden" and green "Aman"
    are ΔE00 about 6 apart under both deficiencies (the issue saw 6–9), so the test can fail."""
    report = palette_report(OLD_STATUS_COLORS)
    assert report["normal"][1] >= MIN_DELTA_E  # fine for normal vision: why nobody noticed
    for vision in ("deuteranopia", "protanopia"):
        pair, worst = report[vision]
        assert pair == ("at_risk", "covered")
        assert 5.0 < worst < 10.0
        with pytest.raises(AssertionError, match="at_risk"):
            assert_apart(OLD_STATUS_COLORS, vision)


def test_search_outline_is_apart_from_every_status_and_from_the_kecamatan_outline():
    for (status, colour), vision in itertools.product(STATUS_COLORS.items(), VISIONS):
        assert colour_difference(SEARCH_OUTLINE_COLOR, colour, vision) >= MIN_DELTA_E, (status, vision)
    # the old outline was almost the "uncovered" red
    assert colour_difference("#d62728", OLD_STATUS_COLORS["uncovered"]) < 5
    for vision in VISIONS:
        assert colour_difference(SEARCH_OUTLINE_COLOR, "#222222", vision) >= MIN_DELTA_E


def test_heat_ramp_is_one_neutral_ramp_getting_darker():
    """No hue of its own (chroma under 2 at every stop), so it cannot be read as a status, and
    darker with intensity for every viewer."""
    stops = sorted(HEAT_GRADIENT.items())
    assert [s for s, _ in stops] == sorted(HEAT_GRADIENT) and 0 < stops[0][0] and stops[-1][0] == 1.0
    labs = [to_lab(hex_to_rgb(c)) for _, c in stops]
    assert all(np.hypot(a, b) < 2 for _, a, b in labs)
    lightness = [lab[0] for lab in labs]
    assert lightness == sorted(lightness, reverse=True) and lightness[0] - lightness[-1] > 50
