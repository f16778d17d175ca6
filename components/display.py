"""The parts of a page that only display, as the very Bokeh models Panel would make for them,
without a Panel object each.

A Panel object costs the server 2-4 ms per page open (its parameters, watchers and links),
while the Bokeh model it stands for costs ~0.15 ms. Headings, prose, captions, tables that
only show numbers and the layouts holding them never talk back to the server, so a block of
them is built here as plain models - the same classes, properties and shared stylesheets Panel
gives them (each prototype below asks Panel for its properties once per document) - and placed
on the page as one :func:`block`: one Panel object for the whole block. The page in the browser
is the same element for element.

Text that changes after the page is built (a live table) is set with :func:`set_text`.
A button that only runs code in the browser (a player's Start, Step, Play) is a
:func:`button`: it needs no Panel object either.
"""

from __future__ import annotations

from functools import lru_cache

import panel as pn
from bokeh.model import Model
from bokeh.models import CustomJS
from panel.io import remove_root


def html(text: str, **params) -> Model:
    """The model ``pn.pane.HTML(text, **params)`` would make (``text`` is trusted HTML).

    >>> from bokeh.document import Document
    >>> from panel.io.state import set_curdoc
    >>> with set_curdoc(Document()):
    ...     model = html("<b>1 < 2</b>", css_classes=["bpx-hint"])
    >>> model.text, model.css_classes
    ('&lt;b&gt;1 &lt; 2&lt;/b&gt;', ['bpx-hint'])
    """
    proto = _prototype(pn.pane.HTML, _key(params))
    return proto._bokeh_model(**_properties(proto), text=_escaped(proto, text))


def set_text(model: Model, text: str) -> None:
    """Show ``text`` (trusted HTML) in a model made by :func:`html` as Panel shows a pane's
    new text: at once where the session's document may be changed from here (Panel's
    ``unlocked``: an event may arrive outside the document's lock), else on its next tick."""
    from panel.io.document import unlocked
    from panel.io.state import set_curdoc

    escaped = _escaped(_prototype(pn.pane.HTML, ()), text)
    doc = model.document
    if doc is None or doc.session_context is None:
        model.text = escaped
    elif pn.state._unblocked(doc):
        with unlocked():
            model.text = escaped
    else:
        model._bpx_text = escaped  # the latest text wins, whichever tick shows it

        def show() -> None:
            model.text = model._bpx_text
        with set_curdoc(doc):
            pn.state.execute(show, schedule=True)


class Text:
    """Display-only HTML that changes: ``object`` is its HTML (as a ``pn.pane.HTML``'s),
    ``model`` what the page shows (:func:`html` with ``params``), placed in a block."""

    def __init__(self, text: str = "", **params):
        self._object = text
        self.model = html(text, **params)

    @property
    def object(self) -> str:
        return self._object

    @object.setter
    def object(self, text: str) -> None:
        if text != self._object:
            self._object = text
            set_text(self.model, text)


def button(label: str, args: dict, code: str, **params) -> Model:
    """The model ``pn.widgets.Button(label=label, **params)`` would make, with the callback
    its ``js_on_click(args=args, code=code)`` would give it: a button that only runs ``code``
    in the browser (the server never hears of its clicks).

    >>> from bokeh.document import Document
    >>> from panel.io.state import set_curdoc
    >>> with set_curdoc(Document()):
    ...     model = button("Play", {"n": 1}, "console.log(n)", color="success")
    >>> model.label, model.button_type, sorted(model.js_event_callbacks)
    ('Play', 'success', ['button_click'])
    """
    proto = _prototype(pn.widgets.Button, _key({"label": label, **params}))
    model = proto._widget_type(**_properties(proto))
    # Panel's callback for js_on_click: the widget's model as ``source``, the code guarded
    model.js_on_event("button_click", CustomJS(
        args={**args, "source": model}, code=f"try {{ {code} }} catch(err) {{ console.log(err) }}"))
    return model


def column(*children: Model, **params) -> Model:
    """The model ``pn.Column(*children, **params)`` would make of these children's models."""
    return _layout(pn.Column, children, params)


def row(*children: Model, **params) -> Model:
    """The model ``pn.Row(*children, **params)`` would make of these children's models."""
    return _layout(pn.Row, children, params)


def styled(*models: Model) -> None:
    """Give Bokeh models of a block the stylesheets a Bokeh pane of their own gives them,
    handed their own stylesheets (``pn.pane.Bokeh(model, stylesheets=model.stylesheets)``):
    the page's styles in each one's shadow root, then its own."""
    proto = _prototype(pn.pane.Bokeh, ())
    page = _properties(proto)["stylesheets"]
    for model in models:
        own = [s for s in model.stylesheets if s not in page]
        model.stylesheets = page + (_stylesheets(proto, own, pn.state.curdoc)[len(page):]
                                    if own else [])


def block(layout: Model, **params) -> pn.pane.Bokeh:
    """One Panel object placing a layout made by :func:`column` or :func:`row` on a page."""
    return _Block(layout, **params)


class _Block(pn.pane.Bokeh):
    """A Bokeh pane that keeps its layout styled as Panel's own layouts (Panel gives a pane's
    model the pane's stylesheets: here the same as a ``Column``'s or a ``Row``'s)."""

    _stylesheets = pn.Column._stylesheets

    def _get_model(self, doc, root=None, parent=None, comm=None):
        # Panel's Bokeh pane, but for rewriting model ids in the code of every CustomJS it
        # reaches (a walk of every model the page's script refers to; the code here names none)
        if root is None:
            return self.get_root(doc, comm)
        model = self.object
        if comm and self.autodispatch:
            self._wrap_bokeh_callbacks(root, model, doc, comm)
        if model.document is not None and doc is not model.document:
            remove_root(model, doc)
        self._models[root.ref["id"]] = (model, parent)
        self._design.apply_bokeh_theme_to_model(model, self.theme)
        return model

    def _get_root_model(self, doc, comm=None, preprocess=True):
        # a page's root is the layout itself, not the layout in a Row that Panel puts a
        # pane in when it is a root
        root = self._get_model(doc, root=self.object, comm=comm)
        if preprocess:
            self._preprocess(root)
        return self, root


def _layout(cls, children, params: dict) -> Model:
    proto = _prototype(cls, _key(params))
    props = _properties(proto)
    props["children"] = children = list(children)
    props.update(proto._compute_sizing_mode(children, props))
    return proto._bokeh_model(**props)


def _properties(proto) -> dict:
    """The model properties Panel gives ``proto`` on the page in the current document: its
    own, with the stylesheets the page template's design then gives it (the document's
    shared stylesheet models). The stylesheets are made once per document and kind of object
    (models belong to one document); the rest, which depends only on ``proto``, once per
    process."""
    doc = pn.state.curdoc
    if doc is None:
        return _worked_out(proto, doc)
    known = doc.__dict__.get("_bpx_display")
    if known is None:
        # Panel's own first look at the document: it starts the document's cache of
        # stylesheet models, which every later object of the page (these included) shares
        proto._get_properties(doc)
        known = doc.__dict__["_bpx_display"] = {}
    if id(proto) not in known:  # (the prototype kept with them: its id stays its own)
        known[id(proto)] = (proto, {**_plain(proto),
                                    "stylesheets": _stylesheets(proto, proto.stylesheets, doc)})
    props = known[id(proto)][1]
    return {k: list(v) if isinstance(v, list) else v for k, v in props.items()}


def _worked_out(proto, doc) -> dict:
    return {**_plain(proto), "stylesheets": _stylesheets(proto, proto.stylesheets, doc)}


@lru_cache(maxsize=128)
def _plain(proto) -> dict:
    """``proto``'s model properties but its text, children and stylesheets: no models, the
    same in every document (read-only: callers copy)."""
    props = proto._get_properties(None)
    for name in ("text", "children", "stylesheets"):
        props.pop(name, None)
    if any(isinstance(v, Model) for v in props.values()):  # (a button's tooltip, say)
        raise ValueError(f"{type(proto).__name__} with a model among its properties")
    return props


def _stylesheets(proto, own, doc) -> list:
    """The stylesheets of ``proto`` with ``own`` as its stylesheets parameter, once the page
    template's design is applied (Panel's ``Design._apply_params``)."""
    from bokeh.models import ImportedStyleSheet
    from panel.io.resources import CDN_DIST, patch_stylesheet

    sheets = proto._process_param_change(
        {"stylesheets": [*_design_stylesheets(type(proto)), *own]})["stylesheets"]
    dist_url = doc._template_variables.get("dist_url", CDN_DIST) if doc is not None else CDN_DIST
    for sheet in sheets:
        if isinstance(sheet, ImportedStyleSheet):
            patch_stylesheet(sheet, dist_url)
    return sheets


@lru_cache(maxsize=16)
def _design_stylesheets(cls) -> tuple:
    """The stylesheets the page template's design adds to an object of ``cls`` (Panel's
    ``Design._apply_modifiers`` for a template's page, ``isolated=False``)."""
    from .page import PageTemplate

    design = PageTemplate.param.design.default(theme=PageTemplate.param.theme.default)
    modifiers, _ = design._get_modifiers(cls(), design.theme, isolated=False)
    return tuple(modifiers.get("stylesheets", ()))


def _escaped(proto, text: str) -> str:
    return proto._process_param_change({"object": text})["text"]


def _key(params: dict) -> tuple:
    """``params`` as a hashable key (lists and dicts as tuples)."""
    def frozen(value):
        if isinstance(value, dict):
            return ("__dict__", tuple(sorted((k, frozen(v)) for k, v in value.items())))
        if isinstance(value, list):
            return ("__list__", tuple(frozen(v) for v in value))
        return value
    return tuple(sorted((k, frozen(v)) for k, v in params.items()))


def _thawed(value):
    if isinstance(value, tuple) and value and value[0] == "__dict__":
        return {k: _thawed(v) for k, v in value[1]}
    if isinstance(value, tuple) and value and value[0] == "__list__":
        return [_thawed(v) for v in value[1]]
    return value


@lru_cache(maxsize=128)
def _prototype(cls, key: tuple):
    """A Panel object of ``cls`` with these parameters, never shown: it only says what model
    properties Panel gives such an object (read-only afterwards, so sessions may share it)."""
    return cls(**{k: _thawed(v) for k, v in key})
