"""The graph's and the lessons' chart colours: contrast (3:1 marks, 4.5:1 text) and apart under simulated
deuteranopia and protanopia (tools/palette_check.py)."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import palette_check as pc  # noqa: E402

# Delta E76 below ~10 is hard to tell apart on a projector; the kinds are told by shape too
APART = 9.0


def test_contrast_of_every_mark_and_text():
    assert pc.main() == 0


@pytest.mark.parametrize("vision", [None, "deuteranopia", "protanopia"])
@pytest.mark.parametrize("group", ["node kinds (outlines)", "edges", pc.CHARTS])
def test_colours_stay_apart_for_colour_blind_students(vision, group):
    named = pc.colours()[group]
    for (na, a), (nb, b) in itertools.combinations(named.items(), 2):
        d = float(np.linalg.norm(pc.lab(pc.simulate(pc.hex_rgb(a), vision)) -
                                 pc.lab(pc.simulate(pc.hex_rgb(b), vision))))
        assert d >= APART, f"{na} {a} and {nb} {b}: Delta E {d:.1f} under {vision or 'normal vision'}"


def test_lesson_charts_use_okabe_ito_hues():
    """The lessons' lines are Okabe-Ito's blue, vermillion, bluish green and reddish purple."""
    okabe_ito = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442"}
    assert {h.upper() for h in pc.colours()[pc.CHARTS].values()} <= okabe_ito
