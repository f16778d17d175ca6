"""What the explorer shows of a graph: its structure alone, or one of the two passes.

The one definition of a mode: the core schedules the passes, the session model holds a
mode, the controls list the modes in this order, the URL key ``mode`` takes one.

Examples
--------
>>> MODES
('graph', 'forward', 'backward')
>>> [m for m in MODES if m in PASSES]
['forward', 'backward']
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["Mode", "MODES", "PASSES"]

Mode = Literal["graph", "forward", "backward"]
MODES: tuple[Mode, ...] = get_args(Mode)  # every mode, in the order the page lists them
PASSES: tuple[Mode, ...] = ("forward", "backward")  # the modes with steps to play
