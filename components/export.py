"""One standalone HTML file of the current picture: works offline, from a file.

The page carries BokehJS inline and the scene's tape, so sliders and playback run
with no server at all - a teacher can mail it to a class. It runs the app's page script too
(``static/page-a11y.js``): a number field beside each slider, named handles (WCAG 2.5.7).
"""

from __future__ import annotations

import html
import io
import re

from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.layouts import column, row
from bokeh.models import (Button, CustomJS, Div, GlobalInlineStyleSheet, InlineStyleSheet,
                          RadioButtonGroup, Slider)
from bokeh.resources import INLINE

from graphviz_core import MODES

from .builds import patch_curdoc
from .controls import mode_labels
from .graph_view import RUN_PLAYER, GraphView
from .model import ExplorerModel
from .page import field_stylesheet, page_script, page_script_words
from .release import variable_tags
from .words import ui

STANDALONE_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 18px 28px;
       color: #1F2933; }
h1 { font-size: 22px; margin: 0 0 2px 0; } .bpx-sub { color: #52606D; margin-bottom: 10px; }
"""


def standalone_html(model: ExplorerModel, lang: str = "en") -> str:
    """The model's current expression, values and mode as one self-contained HTML page.

    A snapshot model keeps the export independent of the session (no watcher on it).
    """
    snapshot = ExplorerModel(expression=model.expression, values=dict(model.values),
                             requires_grad=dict(model.requires_grad), kinds=dict(model.kinds),
                             mode=model.mode)
    w = ui(lang)
    view = GraphView(model=snapshot, height=480, interactive=False, lang=lang)
    # formulas in the caption are TeX: a TeX string here makes Bokeh inline its MathJax bundle
    view.caption.text = r"$$\frac{\partial L}{\partial L} = 1$$"

    def act(action: str, **fields) -> CustomJS:
        return CustomJS(args=view.player_args(action, **fields), code=RUN_PLAYER)

    sliders = []
    fields = InlineStyleSheet(css=field_stylesheet())  # the field is drawn in the slider's shadow root
    for name, (lo, hi) in snapshot.slider_ranges().items():
        slider = Slider(title=name, start=lo, end=hi, step=0.01, value=snapshot.values[name],
                        format="0[.]00", width=260, tags=variable_tags(name), stylesheets=[fields])
        sliders.append(slider)
    mode = RadioButtonGroup(labels=list(mode_labels(lang)), active=MODES.index(snapshot.mode))
    mode.js_on_change("active", act("mode", modes=list(MODES)))
    buttons = []
    for label, action in ((w["start"], "first"), (w["back"], "back"), (w["play"], "play"),
                          (w["step"], "step")):
        button = Button(label=label, width=90, button_type="success" if action == "play" else "default")
        button.js_on_event("button_click", act(action))
        buttons.append(button)
    title = Div(text=f"<h1>{w['app_title']}</h1><div class='bpx-sub'>"
                     f"<code>{html.escape(snapshot.expression)}</code> · {w['saved_note']}</div>",
                stylesheets=[GlobalInlineStyleSheet(css=STANDALONE_CSS)])
    layout = column(
        title,
        row(mode, *buttons),
        row(column(*sliders, width=280), column(view.figure, view.legend, row(view.caption, view.counter),
                                                 view.quiz, sizing_mode="stretch_width"),
            sizing_mode="stretch_width"),
        view.values_table,
        sizing_mode="stretch_width",
    )
    # file_html copies the JS event callbacks of Bokeh's current document into the file's; the
    # current one is whatever a server callback left (a session's, maybe destroyed): not ours
    own = Document()  # held here: Bokeh keeps only a weak reference to a patched document
    with patch_curdoc(own):
        page = file_html(layout, resources=INLINE, title=f"{w['app_title']} - {snapshot.expression}")
    return _with_page_script(_without_server_scripts(page), lang)


def _with_page_script(page: str, lang: str) -> str:
    """The app's page script and its words, at the end of the body (as the app's template has
    them; it finds the sliders in Bokeh's document once it is up), in a page of ``lang``."""
    script = (f'<script type="application/json" id="bpx-page-words">{page_script_words(lang)}</script>\n'
              f"<script>{page_script()}</script>\n")
    end = page.rfind("</body>")
    page = page[:end] + script + page[end:]
    return page.replace('<html lang="en">', f'<html lang="{lang}">', 1)  # the file's language


def _without_server_scripts(page: str) -> str:
    """Drop script and link tags that point at the server (Panel registers some); a file has none.

    Only the head before the inlined BokehJS is searched: the bundles themselves are
    JavaScript and must not be touched.
    """
    head_end = page.find("/* BEGIN bokeh.min.js */")
    head = re.sub(r'<script[^>]*\ssrc="static/[^"]*"[^>]*>\s*</script>\s*', "", page[:head_end])
    head = re.sub(r'<link[^>]*\shref="static/[^"]*"[^>]*>\s*', "", head)
    return head + page[head_end:]


SAVED_HEAD = "<!--bpx-saved-head-->"  # where a saved file's shared head goes (static/explorer/save.mjs)


def split_saved(page: str) -> tuple[str, str]:
    """A :func:`standalone_html` page as the part every such page shares - its head after the
    title: the stylesheet and the inline BokehJS, ~4 MB - and the rest with
    :data:`SAVED_HEAD` in its place. The static site keeps the head once and each explorer
    page's rest beside it; the page's "Save as HTML" puts them together with its state
    (``static/explorer/save.mjs``).

    >>> split_saved("<html><head><title>t</title><script>B</script></head><body>x</body></html>")
    ('<script>B</script>', '<html><head><title>t</title><!--bpx-saved-head--></head><body>x</body></html>')
    """
    start = page.index("</title>") + len("</title>")
    # BokehJS holds "</head>" and "<body>" in its text; the document's escaped JSON does not
    end = page.rindex("</head>", start, page.rindex("<body>"))
    return page[start:end], page[:start] + SAVED_HEAD + page[end:]


def standalone_file(model: ExplorerModel, lang: str = "en") -> io.StringIO:
    """:func:`standalone_html` as a file object for Panel's FileDownload."""
    return io.StringIO(standalone_html(model, lang))
