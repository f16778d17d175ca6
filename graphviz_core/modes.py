"""What the explorer shows of a graph: its structure alone, one of the two passes, or the
backward pass to predict.

The one definition of a mode: the core schedules the passes, the session model holds a
mode, the controls list the modes in this order, the URL key ``mode`` takes one.
``predict`` is the backward pass revealed a step at a time, each step's gradient typed
by the student first (the page checks it against the tape's numbers).

Examples
--------
>>> MODES
('graph', 'forward', 'backward', 'predict')
>>> [m for m in MODES if m in PASSES]
['forward', 'backward']
>>> shown_pass("predict")
'backward'
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["Mode", "MODES", "PASSES", "shown_pass"]

Mode = Literal["graph", "forward", "backward", "predict"]
MODES: tuple[Mode, ...] = get_args(Mode)  # every mode, in the order the page lists them
PASSES: tuple[Mode, ...] = ("forward", "backward")  # the modes with steps to play


def shown_pass(mode: Mode) -> Mode | None:
    """The pass whose numbers ``mode`` shows (None for the graph alone)."""
    return "backward" if mode == "predict" else mode if mode in PASSES else None
