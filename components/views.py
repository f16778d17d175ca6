"""What every part of the explorer is: a Panel view of one session's model, in the page's language."""

from __future__ import annotations

import panel as pn
import param

from .model import ExplorerModel
from .words import ui


class ModelView(pn.viewable.Viewer):
    """A part of the page that shows (and may change) one session's :class:`ExplorerModel`.

    ``lang`` is the page's language; ``words`` its UI words (:func:`components.words.ui`).
    """

    model = param.ClassSelector(class_=ExplorerModel)
    lang = param.String(default="en")

    def __init__(self, **params):
        super().__init__(**params)
        self.words = ui(self.lang)
