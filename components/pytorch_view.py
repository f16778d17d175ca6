"""The same graph in PyTorch, in a view the student can copy or download.

The program is :func:`graphviz_core.to_pytorch` of the expression and the sliders' values;
it is written only while the view is open (a closed view costs nothing per release). A page
with no server behind it (the static site) carries the program as a template whose
variables' values its replay fills (:meth:`PyTorchView.offline`), opens the view in the
browser, and downloads what the view shows.
"""

from __future__ import annotations

import html
import io

import panel as pn

from graphviz_core import ExpressionError, to_pytorch

from .views import ModelView
from .words import ui


FILE_NAME = "backprop_graph.py"
CODE_CLASS = "bpx-pytorch-code"
# The static page's download: the program the pane shows. Its model's text is the pane's HTML
# escaped once (as Panel sends it), in which the <pre> holds the program escaped.
DOWNLOAD_JS = """
const decoded = document.createElement("textarea")
decoded.innerHTML = code.text
const shown = document.createElement("div")
shown.innerHTML = decoded.value
const url = URL.createObjectURL(new Blob([shown.textContent], {type: "text/x-python"}))
const link = document.createElement("a")
link.href = url
link.download = name
document.body.appendChild(link)
link.click()
link.remove()
setTimeout(() => URL.revokeObjectURL(url), 1000)
"""


class PyTorchView(ModelView):
    """A toggle; open, the PyTorch program of the model's expression and values."""

    def __init__(self, **params):
        super().__init__(**params)
        w = self.words
        self.code = pn.pane.HTML("", sizing_mode="stretch_width")
        self.download = pn.widgets.FileDownload(
            callback=lambda: io.StringIO(self.program() or ""), filename=FILE_NAME,
            label=w["pytorch_download"], width=190, embed=False)
        self.toggle = pn.widgets.Toggle(name=w["pytorch_title"], value=False, width=230)
        # closed, the body is empty: its parts become models of the page when first opened
        self.body = pn.Column(visible=False, sizing_mode="stretch_width")
        self.toggle.param.watch(self._update, "value")
        self.model.param.watch(self._update, ["graph"])

    def program(self, leaf_text=None) -> str | None:
        """The program for the model's expression and values (None: not a typed expression);
        ``leaf_text``: how a variable's value is written (:func:`graphviz_core.to_pytorch`)."""
        try:
            return to_pytorch(self.model.expression, self.model.values, self.model.requires_grad,
                              **({"leaf_text": leaf_text} if leaf_text else {}))
        except ExpressionError:
            return None

    def offline(self) -> str | None:
        """For a page with no server behind it: the view opens and downloads in the browser;
        the pane's template (its variables' values as ``⟨r|n⟩``, components/texts.py), or
        None when there is no program."""
        g = self.model.graph
        leaves = {d["name"]: n for n, d in g.nodes(data=True) if not d["op"]} if g is not None else {}
        self.code.css_classes = [CODE_CLASS]
        self.download = pn.widgets.Button(label=self.words["pytorch_download"], width=190)
        self.download.js_on_click(args={"code": self.code, "name": FILE_NAME}, code=DOWNLOAD_JS)
        self.toggle.jslink(self.body, value="visible")
        self.toggle.value = True  # the body's parts become models of the page now
        self.toggle.value = False
        program = self.program(lambda name, x: f"\u27e8r|{leaves[name]}\u27e9")
        return None if program is None else self._pane(program)

    def _pane(self, program: str) -> str:
        return f"<pre class='bpx-code'>{html.escape(program)}</pre>"

    @property
    def open(self) -> bool:
        return self.toggle.value

    def _update(self, *events) -> None:
        self.body.visible = self.open
        if not self.open:
            return
        if not self.body.objects:
            hint = ui(self.lang)["pytorch_hint"]
            self.body.objects = [pn.pane.HTML(f"<div class='bpx-hint'>{hint}</div>"),
                                 self.code, self.download]
        program = self.program()
        self.download.visible = program is not None
        self.code.object = (self._pane(program) if program
                            else f"<div class='bpx-hint'>{ui(self.lang)['pytorch_none']}</div>")

    def __panel__(self):
        return pn.Column(self.toggle, self.body, sizing_mode="stretch_width")
