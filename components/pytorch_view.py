"""The same graph in PyTorch, in a view the student can copy or download.

The program is :func:`graphviz_core.to_pytorch` of the expression and the sliders' values;
it is written only while the view is open (a closed view costs nothing per release).
"""

from __future__ import annotations

import html
import io

import panel as pn

from graphviz_core import ExpressionError, to_pytorch

from . import display
from .views import ModelView
from .words import ui


class PyTorchView(ModelView):
    """A toggle; open, the PyTorch program of the model's expression and values."""

    def __init__(self, **params):
        super().__init__(**params)
        w = self.words
        # only displays: a model of a block (no Panel object), the body's with the hint
        self.code = display.Text("", sizing_mode="stretch_width")
        self.download = None  # made with the body
        self.toggle = pn.widgets.Toggle(name=w["pytorch_title"], value=False, width=230)
        # closed, the body is empty: its parts are made and become models of the page when
        # first opened
        self.body = pn.Column(visible=False, sizing_mode="stretch_width")
        self.toggle.param.watch(self._update, "value")
        self.model.param.watch(self._update, ["graph"])

    def program(self) -> str | None:
        """The program for the model's expression and values (None: not a typed expression)."""
        try:
            return to_pytorch(self.model.expression, self.model.values, self.model.requires_grad)
        except ExpressionError:
            return None

    @property
    def open(self) -> bool:
        return self.toggle.value

    def _update(self, *events) -> None:
        self.body.visible = self.open
        if not self.open:
            return
        if not self.body.objects:
            w = self.words
            self.download = pn.widgets.FileDownload(
                callback=lambda: io.StringIO(self.program() or ""), filename="backprop_graph.py",
                label=w["pytorch_download"], width=190, embed=False)
            hint = display.html(f"<div class='bpx-hint'>{w['pytorch_hint']}</div>")
            self.body.objects = [display.block(display.column(hint, self.code.model,
                                                              sizing_mode="stretch_width")),
                                 self.download]
        program = self.program()
        self.download.visible = program is not None
        self.code.object = (f"<pre class='bpx-code'>{html.escape(program)}</pre>" if program
                            else f"<div class='bpx-hint'>{ui(self.lang)['pytorch_none']}</div>")

    def __panel__(self):
        return pn.Column(self.toggle, self.body, sizing_mode="stretch_width")
