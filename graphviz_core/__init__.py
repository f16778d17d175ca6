"""graphviz_core: the pure core of the backprop explorer.

A compact scalar autograd engine (:mod:`.engine`), typed expressions parsed through
an ``ast`` whitelist (:mod:`.expression`), traced graphs (:mod:`.trace`), layered
drawings (:mod:`.layout`), pass schedules for playback (:mod:`.schedule`), the lesson
examples and graphs (:mod:`.examples`, :mod:`.ppo`, :mod:`.glyphs`, :mod:`.mlp`), and graphs
brought from micrograd and PyTorch (:func:`from_micrograd`, :func:`from_torch`). No UI imports.
"""

from .engine import (OPS, BackwardReport, Op, Value, clip, maximum, minimum, stop_gradient,
                     topological_order)
from .expression import ExpressionError, Expression, gradients, parse
from .trace import format_number, latex_name, trace
from .modes import MODES, PASSES, Mode
from .schedule import schedule
from .layout import count_crossings, layout
from .tape import to_tape
from .pytorch import to_pytorch
from .rebuild import GraphProgram
from .adapter_checks import AdapterError, GradientMismatch
from .micrograd_adapter import from_micrograd
from .torch_adapter import from_torch

__all__ = [
    "Value", "Op", "OPS", "BackwardReport", "stop_gradient", "minimum", "maximum", "clip",
    "topological_order", "ExpressionError", "Expression", "parse", "gradients", "trace",
    "format_number", "latex_name", "schedule", "Mode", "MODES", "PASSES", "layout",
    "count_crossings", "to_tape", "to_pytorch", "GraphProgram", "from_micrograd", "from_torch",
    "AdapterError", "GradientMismatch",
]
