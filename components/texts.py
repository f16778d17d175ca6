"""The explorer's written texts as templates: the words fixed, the graph's numbers placeholders.

Node details and the written-out passes are written once, with the placeholders of
:func:`graphviz_core.schedule.fill` (a value, a gradient, a local derivative) and three of
their own here: ``⟨f|n⟩`` (node n's fault in the page's language, in :data:`FAULT_HTML`; nothing
when it has none), ``⟨c|n~8⟩`` (the central difference of the loss in variable node n),
``⟨a|n⟩`` (whether it agrees with backpropagation's gradient), ``⟨k|n|slot⟩`` (what node
n passes back to its input ``slot``: the edge's contribution; ``⟨pk|...⟩`` in parentheses
when negative) and ``⟨r|n⟩`` (node n's value as a Python literal, the PyTorch program's). A lesson's template may also read *variants*, the same graph with some
variables pinned (``variants``, e.g. ``{"C": 0}``): ``⟨v|n@i⟩`` / ``⟨g|n@i⟩`` is node n's value
/ gradient in variant i, and ``⟨q|i|a,b|j⟩`` the first of ``choices[j]`` when the gradients of
nodes a, b are the same in variant i as in variant 0, else the second. A variant may also be
another graph of the page (``{"view": arg}``: the graph view whose player's ``meta`` is the
page script's argument ``arg``), or another expression's tape replayed at the page's values
(``{"tape": to_tape(graph)}``: stop-gradient's graph without its ``sg``). ``⟨s|va@i<vb@j|k⟩`` is the first of ``choices[k]`` when node
a's value in variant i is below node b's in variant j, else the second (``=``: equal; ``g``:
gradients); a choice may hold placeholders, ``⟨s|...⟩`` too. The server fills them with the
core's numbers (:func:`fill_text`). A page with no server behind it (the static site,
``components/site.py``) carries the templates and fills them from its tape replay
(``static/explorer/texts.mjs``), so what it shows after a slider moves is what the server
would write.
"""

from __future__ import annotations

import contextvars
import html
import json
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from graphviz_core import format_number
from graphviz_core.gradcheck import agrees
from graphviz_core.pytorch import literal
from graphviz_core.schedule import fill, graph_numbers

from .words import fault_text

FAULT_HTML = "<div class='bpx-fault'>⚠ {}</div>"
SERVER_ONLY = "bpx-server-only"  # the tag of a greyed-out control (static/golive.js)
GO_LIVE = Path(__file__).resolve().parent.parent / "static" / "golive.js"
_VARIANT = re.compile(r"\u27e8([vg])\|(\d+)@(\d+)(?:~(\d+))?\u27e9")
_SAME = re.compile(r"\u27e8q\|(\d+)\|(\d+(?:,\d+)*)\|(\d+)\u27e9")
_CHOOSE = re.compile(r"\u27e8s\|([vg])(\d+)@(\d+)([<=])([vg])(\d+)@(\d+)\|(\d+)\u27e9")
_OWN = re.compile(r"\u27e8(p?)([fcakr])\|(\d+)(?:\|(\d+))?(?:~(\d+))?\u27e9")
# what depends on which nodes the backward pass computes (the requires_grad switches):
# ⟨?n⟩A⟨:⟩B⟨;⟩ is A when node n is active, else B (never nested); ⟨#e⟩ / ⟨#s⟩ the local
# derivatives evaluated / skipped; ⟨#p|c|one|many⟩ the words for the pruned nodes (the
# inactive ones but c constants: nothing, ``one``, or ``many`` with # the count)
_IF_ACTIVE = re.compile("\u27e8\\?(\\d+)\u27e9(.*?)\u27e8:\u27e9(.*?)\u27e8;\u27e9", re.S)
_PRUNED = re.compile("\u27e8#p\\|(\\d+)\\|([^|\u27e9]*)\\|([^|\u27e9]*)\u27e9")

# Set while the static site builds its pages: the explorer then hands its templates to the
# page (a context variable, so that a server building pages in other contexts never sees it);
# its value is the page being built: the site's link to a page's file, and the widgets
# greyed out on it
_OFFLINE = contextvars.ContextVar("bpx_offline", default=None)


@contextmanager
def offline(link=None, save=None, keep=None) -> Iterator[dict]:
    """Pages built inside carry their texts' templates for the browser to fill; ``link(slug,
    lang, args)``: the file of another page of the site (an example picked goes there);
    ``save(html)``: keeps the explorer's saved file (:func:`components.export.standalone_html`
    of its first state) beside the page and returns what its "Save as HTML" fetches to make
    the file in the page (``static/explorer/save.mjs``); None: that button needs the server.
    ``keep(name, text)``: keeps a file of the page's own beside it (a network's drawing at
    another level, fetched on the first switch to it: :func:`components.site.keep_file`) and
    returns its address relative to the page; None: the page carries such data inline.
    Yields what the page built inside greyed out (``"greyed"``: :func:`server_only`) and its
    URL state's widgets (``"keys"``: :func:`url_key`); once built, each greyed-out control
    opens the page live when a live app is behind it, and the URL state's widgets write
    their values into the page's address (:func:`_go_live`)."""
    page = {"link": link, "save": save, "keep": keep, "greyed": [], "keys": {}}
    token = _OFFLINE.set(page)
    try:
        yield page
    finally:
        _OFFLINE.reset(token)
    if page["greyed"] or page["keys"]:
        _go_live(page)


def is_offline() -> bool:
    return _OFFLINE.get() is not None


def site_link(slug: str, lang: str, args: dict) -> str | None:
    """The static site's file of a page (None if none, or not building a static site)."""
    page = _OFFLINE.get()
    return page["link"](slug, lang, args) if page and page["link"] else None


def site_save():
    """The static site's keeper of a saved file (:func:`offline`'s ``save``), or None."""
    page = _OFFLINE.get()
    return page["save"] if page else None


def site_keep():
    """The static site's keeper of a page's own files (:func:`offline`'s ``keep``), or None."""
    page = _OFFLINE.get()
    return page["keep"] if page else None


def server_only(*widgets) -> None:
    """On a page with no server behind it, ``widgets`` are greyed out: what they change is
    computed by the server (the page's note says so and links to the live app). A page that
    has a live app behind it (``<meta name="bpx-live">``, :mod:`components.site`) makes them
    usable again as it loads, and using one opens the same page live, where the student was
    (:func:`_go_live`)."""
    page = _OFFLINE.get()
    if page is not None:
        for widget in widgets:
            widget.param.update(disabled=True, tags=[*widget.tags, SERVER_ONLY])
        page["greyed"] += widgets


URL_TAG = "bpx_url"  # a Bokeh tag {URL_TAG: spec} on each widget of a static page's URL state


def url_key(key: str, widget, values: list | None = None, bounds: tuple[float, float] | None = None,
            clamp: bool = True, widen: bool = False) -> None:
    """On a static page, ``widget``'s value is the URL query's ``key`` of the page's state
    (the live page opens with it: :mod:`components.urlstate`); ``values``: a button group's
    URL values in its options' order when they are not its options' values (a requires_grad
    group: its names, and ``key`` lists those switched off). A slider's value is read from
    the link as the live page reads it: inside ``bounds`` (the slider's own range if None),
    ``clamp``-ed into them (a lesson's ``float_arg``) or else left out (the explorer's
    ``initial_state``); ``widen``: the slider of a graph's variable, widened to hold its
    value as the live page widens it (``ExplorerModel.slider_ranges``).

    The widget carries what the page needs to read and write its key, a Bokeh tag
    ``{URL_TAG: [key, kind, values, lo, hi, clamp, span]}`` (``static/golive-load.js``): a
    static page opens at its link's state and writes each move into its address."""
    page = _OFFLINE.get()
    if page is None:
        return
    import panel as pn

    from .model import SLIDER_SPAN

    if values is None and isinstance(widget, pn.widgets.RadioButtonGroup):
        options = widget.options  # its values in the options' order
        values = list(options.values() if isinstance(options, dict) else options)
    kind = ("check" if isinstance(widget, pn.widgets.Checkbox) else
            "off" if isinstance(widget, pn.widgets.CheckBoxGroup) else
            "pick" if values is not None else
            "int" if isinstance(widget, pn.widgets.IntSlider) else "value")
    lo, hi = bounds if bounds is not None else (getattr(widget, "start", None),
                                                getattr(widget, "end", None))
    spec = [key, kind, values, lo, hi, bool(clamp), SLIDER_SPAN if widen else None]
    widget.tags = [t for t in widget.tags if not (isinstance(t, dict) and URL_TAG in t)] + [
        {URL_TAG: spec}]
    page["keys"][key] = widget


def _go_live(page: dict) -> None:
    """Each greyed-out control of ``page`` (what :func:`offline` yielded) opens the page live
    when used on a page with a live app behind it: the live address of the page's
    ``<meta name="bpx-live">`` with ``live=1`` and the URL state's widgets at their values in
    the browser (``static/golive.js``). Each of the URL state's widgets, when it changes,
    writes the same query into the page's own address (``history.replaceState``), as the
    live page does (:mod:`components.urlstate`): a reload opens the page where the student
    was, and the language link follows the address (``static/page-a11y.js``)."""
    import panel as pn

    script = GO_LIVE.read_text(encoding="utf-8")
    keys = list(page["keys"].values())
    for go, widgets in ((True, page["greyed"]), (False, [w for w in keys if w not in page["greyed"]])):
        code = f"const go = {json.dumps(go)}\n" + script
        for widget in widgets:
            event = ("_clicks" if isinstance(widget, pn.widgets.FileDownload) else
                     "clicks" if isinstance(widget, pn.widgets.Button) else "value")
            widget.jscallback(**{event: code})


def attach(view, **texts) -> None:
    """Give ``view``'s page script the templates ``texts`` to fill from its replay:
    ``details``/``passes`` (the explorer's, with ``models`` naming their Bokeh models) or
    ``panes``, a list of ``(css class, template)`` or ``(css class, template, variants,
    choices)`` - a pane of the page carrying that class (one only) shows the filled
    template; ``models``: Bokeh models the page script reads by name (a variant's ``view``)."""
    args = dict(view.player.args)
    models = texts.pop("models", {})
    args["texts"] = {**args.get("texts", {}), **texts}
    view.player.args = {**args, **models}


def if_active(n: int, yes: str, no: str = "") -> str:
    """``yes`` where node ``n`` is active (the backward pass computes its gradient), else
    ``no``: the page decides again when a requires_grad switch moves (``texts.mjs``).

    >>> if_active(3, "<b>⟨g|3⟩</b>", "not computed")
    '⟨?3⟩<b>⟨g|3⟩</b>⟨:⟩not computed⟨;⟩'
    """
    return f"\u27e8?{n}\u27e9{yes}\u27e8:\u27e9{no}\u27e8;\u27e9"


def counts_template(text: str, graph, one: str, many: str) -> str:
    """``text`` (with ``{evaluated}`` and ``{skipped}``) followed by the pruned nodes' words
    (``one``; ``many`` with ``{n}``) as placeholders of the backward pass's counts, which a
    requires_grad switch changes (:func:`fill_text` and ``texts.mjs`` fill them)."""
    constants = sum(1 for _, d in graph.nodes(data=True)
                    if not d["active"] and d["kind"] == "constant")
    return (text.format(evaluated="\u27e8#e\u27e9", skipped="\u27e8#s\u27e9")
            + f"\u27e8#p|{constants}|{one}|{many.format(n='#')}\u27e9")


def _with_active(template: str, graph) -> str:
    """``template``'s parts that depend on which nodes are active, for ``graph``'s."""
    nodes = graph.nodes
    if "\u27e8?" in template:
        template = _IF_ACTIVE.sub(lambda m: m.group(2 if nodes[int(m.group(1))]["active"] else 3),
                                  template)
    if "\u27e8#" in template:
        inactive = sum(1 for _, active in nodes(data="active") if not active)

        def pruned(m: re.Match) -> str:
            n = inactive - int(m.group(1))
            return "" if n <= 0 else m.group(2) if n == 1 else m.group(3).replace("#", str(n))
        template = _PRUNED.sub(pruned, template.replace(
            "\u27e8#e\u27e9", str(graph.graph.get("evaluated", 0))).replace(
            "\u27e8#s\u27e9", str(graph.graph.get("skipped", 0))))
    return template


def fault_ref(n: int) -> str:
    return f"\u27e8f|{n}\u27e9"


def difference_ref(n: int, digits: int = 8) -> str:
    return f"\u27e8c|{n}~{digits}\u27e9"


def verdict_ref(n: int) -> str:
    return f"\u27e8a|{n}\u27e9"


def fill_text(template: str, graph, lang: str, checks: dict | None = None,
              variants: list | None = None, choices: list | None = None) -> str:
    """``template`` with ``graph``'s numbers and faults; ``checks``: variable node ->
    ``(central difference, verdict words for agreeing, for differing)``; ``variants``: per
    variant, its ``(value, grad)`` functions of a node; ``choices``: pairs of words.

    Examples
    --------
    >>> from graphviz_core import parse, trace
    >>> g = trace(parse("log(x)").build({"x": 0.0}))
    >>> fill_text("x = ⟨v|0~6⟩ " + fault_ref(1), g, "en")
    "x = 0 <div class='bpx-fault'>⚠ log of zero</div>"
    """
    nodes = graph.nodes
    template = _with_active(template, graph)

    def own(match: re.Match) -> str:
        paren, kind, n, slot, digits = match.groups()
        n, digits = int(n), int(digits or 4)
        if kind == "k":
            x = next(keyed[int(slot)] for keyed in graph.pred[n].values()
                     if int(slot) in keyed)["contribution"]
            text = format_number(x, digits)
            return f"({text})" if paren and text.startswith("-") else text
        if kind == "r":
            return literal(nodes[n]["value"])
        if kind == "f":
            fault = nodes[n]["fault"]
            return FAULT_HTML.format(html.escape(fault_text(fault, lang))) if fault else ""
        difference, agree, differ = checks[n]
        if kind == "c":
            return format_number(difference, digits)
        return agree if agrees(nodes[n]["grad"], difference) else differ

    def variant(match: re.Match) -> str:
        kind, n, i, digits = match.groups()
        return format_number(variants[int(i)][kind == "g"](int(n)), int(digits or 4))

    def same(match: re.Match) -> str:
        i, nodes, j = int(match.group(1)), [int(n) for n in match.group(2).split(",")], int(match.group(3))
        grad, base = variants[i][1], variants[0][1]
        return choices[j][0 if all(grad(n) == base(n) for n in nodes) else 1]

    def choose(match: re.Match) -> str:
        ka, a, i, op, kb, b, j, k = match.groups()
        x, y = (variants[int(v)][kind == "g"](int(n)) for kind, n, v in ((ka, a, i), (kb, b, j)))
        return choices[int(k)][0 if (x < y if op == "<" else x == y) else 1]

    if variants:
        while _CHOOSE.search(template):  # a choice may hold choices
            template = _CHOOSE.sub(choose, template)
        template = _SAME.sub(same, _VARIANT.sub(variant, template))
    return fill(_OWN.sub(own, template), *graph_numbers(graph))
