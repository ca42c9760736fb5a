"""How far apart two map colours look, for normal vision and for red–green colour blindness.

Why: about 1 in 12 men in Indonesia see red and green alike; a status palette whose colours merge for
them hides the gaps the map is for. ``palette_report`` measures the smallest difference between any
two colours of a palette as seen by normal, deuteranopic and protanopic viewers; the tests hold the
status palette (``geo_app.i18n.STATUS_COLORS``) to ΔE00 ≥ 20 in all three.

- Simulation: Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of
  color vision deficiency", IEEE TVCG 15(6), the published 3×3 matrices for severity 1.0, applied to
  linear-light sRGB and clipped to the gamut.
- Difference: CIEDE2000 (Sharma, Wu & Dalal 2005, "The CIEDE2000 color-difference formula:
  implementation notes"), kL = kC = kH = 1, in CIELAB with the D65 white of sRGB.

Written from the papers (no dependency): a few dozen lines of numpy.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import numpy as np

#: Machado et al. (2009), Table/supplement: dichromacy (severity 1.0), linear RGB → linear RGB
MACHADO_2009 = {
    "normal": np.eye(3),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
}
VISIONS = tuple(MACHADO_2009)

#: linear sRGB → CIE XYZ (IEC 61966-2-1, D65)
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_D65 = _RGB_TO_XYZ @ np.ones(3)


def hex_to_rgb(colour: str) -> np.ndarray:
    """``#rrggbb`` (or ``#rgb``) → sRGB in 0..1."""
    text = colour.strip().lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if len(text) != 6:
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    return np.array([int(text[i : i + 2], 16) / 255.0 for i in (0, 2, 4)])


def _to_linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _from_linear(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0.0, 1.0)
    return np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)


def simulate(colour: str, vision: str = "normal") -> np.ndarray:
    """sRGB (0..1) of ``colour`` as a viewer with ``vision`` (a key of ``MACHADO_2009``) sees it."""
    lin = _to_linear(hex_to_rgb(colour))
    return _from_linear(MACHADO_2009[vision] @ lin)


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (0..1) → CIELAB (D65)."""
    xyz = (_RGB_TO_XYZ @ _to_linear(np.asarray(rgb, dtype=float))) / _D65
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> float:
    """CIEDE2000 colour difference of two CIELAB colours (Sharma et al. 2005, kL = kC = kH = 1)."""
    L1, a1, b1 = (float(v) for v in lab1)
    L2, a2, b2 = (float(v) for v in lab2)
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dLp, dCp = L2 - L1, c2p - c1p
    if c1p * c2p == 0:
        dhp = 0.0
    elif abs(h2p - h1p) <= 180:
        dhp = h2p - h1p
    else:
        dhp = h2p - h1p - 360 if h2p > h1p else h2p - h1p + 360
    dHp = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dhp / 2))
    lp_bar, cp_bar = (L1 + L2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        hp_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hp_bar = (h1p + h2p) / 2
    else:
        hp_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(hp_bar - 30))
        + 0.24 * math.cos(math.radians(2 * hp_bar))
        + 0.32 * math.cos(math.radians(3 * hp_bar + 6))
        - 0.20 * math.cos(math.radians(4 * hp_bar - 63))
    )
    d_theta = 30 * math.exp(-(((hp_bar - 275) / 25) ** 2))
    rc = 2 * math.sqrt(cp_bar**7 / (cp_bar**7 + 25.0**7))
    sl = 1 + 0.015 * (lp_bar - 50) ** 2 / math.sqrt(20 + (lp_bar - 50) ** 2)
    sc = 1 + 0.045 * cp_bar
    sh = 1 + 0.015 * cp_bar * t
    rt = -math.sin(math.radians(2 * d_theta)) * rc
    return math.sqrt((dLp / sl) ** 2 + (dCp / sc) ** 2 + (dHp / sh) ** 2 + rt * (dCp / sc) * (dHp / sh))


def colour_difference(colour1: str, colour2: str, vision: str = "normal") -> float:
    """ΔE00 between two ``#rrggbb`` colours as a viewer with ``vision`` sees them."""
    return delta_e_2000(to_lab(simulate(colour1, vision)), to_lab(simulate(colour2, vision)))


def pair_differences(palette: Mapping[str, str], vision: str = "normal") -> dict[tuple[str, str], float]:
    """ΔE00 of every pair of a palette (``name → #rrggbb``) for one vision."""
    return {(a, b): colour_difference(palette[a], palette[b], vision) for a, b in itertools.combinations(palette, 2)}


def palette_report(palette: Mapping[str, str]) -> dict[str, tuple[tuple[str, str], float]]:
    """For each vision: the closest pair of the palette and its ΔE00 (what must stay ≥ 20)."""
    out = {}
    for vision in VISIONS:
        diffs = pair_differences(palette, vision)
        pair = min(diffs, key=diffs.__getitem__)
        out[vision] = (pair, diffs[pair])
    return out
