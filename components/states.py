"""A lesson's figure over its own controls' grid, for a page with no server behind it.

What a lesson computes in numpy from controls of its own (not the graph's variables, which the
page replays from the tape) cannot be redone in the browser. For the static site
(:func:`components.texts.offline`), :func:`precompute` runs the lesson's own update for every
point of those controls' grid - every step of a slider, every option of a button group - and
the page carries what each point shows (an HTML pane's text, a data source's columns, a
figure's factors). ``static/states.js`` shows the point of the controls' current values. Each
distinct output is stored once: most outputs depend on some of the controls only.
"""

from __future__ import annotations

import html
import itertools
import json
import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource

from . import display

CODE = Path(__file__).resolve().parent.parent / "static" / "states.js"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
MARK = "\u27ea"  # where a number of the text goes (static/states.js)


def grid(widget) -> list:
    """Every value ``widget`` can take: a slider's steps, a button group's options."""
    if isinstance(widget, pn.widgets.RadioButtonGroup):
        return list(widget.options)
    n = int(round((widget.end - widget.start) / widget.step))
    return [widget.start + i * widget.step if isinstance(widget, pn.widgets.IntSlider) else
            round(widget.start + i * widget.step, 10) for i in range(n + 1)]


def _spec(widget) -> dict:
    if isinstance(widget, pn.widgets.RadioButtonGroup):
        return {"kind": "options"}
    return {"kind": "slider", "start": widget.start, "step": widget.step}


def _value(output) -> tuple[str, object]:
    """The property of ``output``'s model that shows it, and its value now."""
    if isinstance(output, display.Text):
        return "text", output.model.text  # the model's text is what Panel sends
    if isinstance(output, pn.pane.HTML):
        return "text", html.escape(output.object or "")  # as Panel sends an HTML pane's text
    if hasattr(output, "factors"):
        return "factors", list(output.factors)
    data = {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else
                [np.asarray(x).tolist() for x in v]) for k, v in output.data.items()}
    return "data", data


def precompute(widgets: Sequence, outputs: Sequence, update: Callable[[], None]) -> None:
    """Record ``outputs`` at every point of ``widgets``' grid and link each widget to them.

    ``update`` is the lesson's own code that recomputes the outputs from the widgets' values;
    the widgets are set at each point with their watchers held off, then put back.
    ``outputs``: HTML panes (or :class:`display.Text`), data sources, factor ranges.
    """
    start = [w.value for w in widgets]
    pool: dict[str, int] = {}
    values: list = []
    states: dict[str, list[int]] = {}
    props: list[str] = []
    for point in itertools.product(*(range(len(grid(w))) for w in widgets)):
        for w, i in zip(widgets, point):
            _set(w, grid(w)[i])
        update()
        shown = [_value(o) for o in outputs]
        props = [prop for prop, _ in shown]
        def ref(value) -> int:
            text = json.dumps(value, sort_keys=True)
            if text not in pool:
                pool[text] = len(values)
                values.append(value)
            return pool[text]
        # an HTML text is stored as its words (shared by many points) and its numbers
        states[",".join(map(str, point))] = [
            ref(value) if prop != "text" else ref([ref(NUMBER.sub(MARK, value)), NUMBER.findall(value)])
            for prop, value in shown]
    for w, value in zip(widgets, start):
        _set(w, value)
    update()
    # one model holds the table for every control's callback (as JSON text: read once)
    table = ColumnDataSource({"json": [json.dumps({"specs": [_spec(w) for w in widgets],
                                                   "props": props, "values": values,
                                                   "states": states})]})
    args = {**{f"c{i}": w for i, w in enumerate(widgets)},
            **{f"o{i}": o.model if isinstance(o, display.Text) else o
               for i, o in enumerate(outputs)}, "table": table}
    code = (f"const controls = [{', '.join(f'c{i}' for i in range(len(widgets)))}], "
            f"outputs = [{', '.join(f'o{i}' for i in range(len(outputs)))}]\n"
            + CODE.read_text(encoding="utf-8"))
    for w in widgets:
        w.jscallback(args=args, **{"active" if isinstance(w, pn.widgets.RadioButtonGroup)
                                   else "value": code})


def _set(widget, value) -> None:
    """Set ``widget`` without its watchers (the caller runs the lesson's update once)."""
    with param.parameterized.discard_events(widget), param.edit_constant(widget):
        widget.param.update(value=value, **({"value_throttled": value}
                                            if "value_throttled" in widget.param else {}))
