"""Where the lesson graphs used to live, kept so that older imports keep working.

The graphs now live by what they serve: :mod:`.examples` (the lesson examples),
:mod:`.ppo` (PPO beside REINFORCE), :mod:`.glyphs` (the logistic model over glyph
bitmaps), :mod:`.mlp` (the MLP and ``mlp(...)``) and :mod:`.limits` (how big a graph is
drawn). ``Scene``/``SCENES``/``scene`` are the old names of ``Example``/``EXAMPLES``/
``example``: "scene" now means only the JSON document the page draws.
"""

from __future__ import annotations

from .examples import EXAMPLES, SEED, Example, example, seed_loss, shifted_and_scaled
from .glyphs import glyphs, logistic_loss
from .limits import GROUP_ABOVE, MLP_MAX_DRAWN, MLP_MAX_NODES
from .mlp import ScalarMLP, builder_from_text, mlp_loss
from .ppo import ppo_case, ppo_clip_loss, reinforce_loss

Scene, SCENES, scene = Example, EXAMPLES, example

__all__ = [
    "Scene", "SCENES", "SEED", "scene", "seed_loss", "shifted_and_scaled", "ppo_clip_loss",
    "reinforce_loss", "ppo_case", "logistic_loss", "glyphs", "mlp_loss", "ScalarMLP",
    "builder_from_text", "GROUP_ABOVE", "MLP_MAX_NODES", "MLP_MAX_DRAWN",
]
