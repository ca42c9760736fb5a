"""The roll-up ramp (``i18n.SHARE_RAMP``, issue 14) reads as "darker = more uncovered desa" for every
viewer: lightness falls from class to class for normal vision and simulated deuteranopia and protanopia
(Machado 2009), neighbouring classes stay apart, and the legend lines follow the classes."""

from __future__ import annotations

import pytest

from geo_app.i18n import SHARE_RAMP, STATUS_COLORS
from geo_app.maps.colour_vision import VISIONS, colour_difference, simulate, to_lab
from geo_app.maps.remote import share_classes
from geo_app.services.map_data import share_color

#: lightness step (CIE L*) and ΔE00 between neighbouring classes, in every vision
MIN_LIGHTNESS_STEP = 10.0
MIN_NEIGHBOUR_DELTA_E = 10.0


@pytest.mark.parametrize("vision", VISIONS)
def test_ramp_gets_darker_class_by_class_in_every_vision(vision):
    lightness = [float(to_lab(simulate(colour, vision))[0]) for _, colour in SHARE_RAMP]
    steps = [a - b for a, b in zip(lightness, lightness[1:])]
    assert min(steps) >= MIN_LIGHTNESS_STEP, (vision, lightness)
    deltas = [colour_difference(a, b, vision) for (_, a), (_, b) in zip(SHARE_RAMP, SHARE_RAMP[1:])]
    assert min(deltas) >= MIN_NEIGHBOUR_DELTA_E, (vision, deltas)


def test_ramp_is_not_the_status_palette_and_classes_cover_zero_to_one():
    assert not {c for _, c in SHARE_RAMP} & set(STATUS_COLORS.values())
    bounds = [b for b, _ in SHARE_RAMP]
    assert bounds == sorted(bounds) and bounds[0] == 0.0 and bounds[-1] == 1.0


def test_share_colour_picks_the_class_and_the_legend_names_it():
    assert share_color(0.0) == SHARE_RAMP[0][1]
    assert share_color(None) == SHARE_RAMP[0][1] and share_color(float("nan")) == SHARE_RAMP[0][1]
    for (low, _), (high, colour) in zip(SHARE_RAMP, SHARE_RAMP[1:]):
        assert share_color(high) == colour
        assert share_color((low + high) / 2) == colour
    assert share_color(1.0) == SHARE_RAMP[-1][1]
    lines = share_classes()
    assert [line["color"] for line in lines] == [c for _, c in SHARE_RAMP]
    assert len({line["label"] for line in lines}) == len(lines)
