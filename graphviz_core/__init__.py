"""graphviz_core: the pure core of the backprop explorer.

A compact scalar autograd engine (:mod:`.engine`), typed expressions parsed through
an ``ast`` whitelist (:mod:`.expression`), traced graphs (:mod:`.trace`), layered
drawings (:mod:`.layout`), pass schedules for playback (:mod:`.schedule`) and the
graphs of every lesson (:mod:`.scenarios`). No UI imports.
"""

from .engine import (OPS, BackwardReport, Op, Value, clip, maximum, minimum, stop_gradient,
                     topological_order)
from .expression import ExpressionError, Expression, gradients, parse
from .trace import format_number, latex_name, trace
from .schedule import MODES, schedule
from .layout import count_crossings, layout
from .tape import to_tape
from .pytorch import to_pytorch

__all__ = [
    "Value", "Op", "OPS", "BackwardReport", "stop_gradient", "minimum", "maximum", "clip",
    "topological_order", "ExpressionError", "Expression", "parse", "gradients", "trace",
    "format_number", "latex_name", "schedule", "MODES", "layout", "count_crossings", "to_tape", "to_pytorch",
]
