"""The Predict quiz (static/explorer/predict.mjs) across scenes, run in Node: a scene of the same
graph keeps the student's answers, another graph starts again.

The page switches to Predict at once; the server's scene for the new mode (the same graph) can
come after the student's first answer when the server is busy. Beginning the quiz without the
graph's shape made that scene start the quiz again and wipe the answer (a browser test timed
out waiting for its verdict in CI run 7 of 2026-11-30).
"""

from __future__ import annotations

import json
from pathlib import Path

from node_calls import run_node

ROOT = Path(__file__).resolve().parent.parent


def test_a_late_scene_of_the_same_graph_keeps_the_answers_another_graph_starts_again():
    out = json.loads(run_node([str(ROOT / "tests/js/quiz_scenes.mjs")]))
    assert out["late_scene_same_graph"] == {"position": 1, "right": 1, "tried": 1}
    assert out["other_graph"] == {"position": 0, "right": 0, "tried": 0}
