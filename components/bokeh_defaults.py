"""Bokeh looks a property's default up once per class, not at every read.

Reading a Bokeh property that was never set computes its default anew: the class's
overridden defaults are merged along the MRO, the value is copied and validated. Building a
page and serialising its document read ~11,000 such defaults (``references()`` walks every
property of every model, the serializer and Panel read them again): about 40% of the server's
CPU time for opening a page.

A default that Bokeh itself treats as *stable* (not a list, dict, model or factory: those are
per instance and stay Bokeh's business) depends only on the model's class and the property,
and is immutable (a number, a string, None, an enum value, a tuple). :func:`install` makes
Bokeh remember those per ``(class, property)``: a process-wide cache of immutable values,
bounded by the number of model classes times their properties. Themed instances (a Bokeh
``Theme`` on the document) bypass it. ``tests/test_components.py`` checks that every
property of every model of a page reads the same with and without it.
"""

from __future__ import annotations

from typing import Any

from bokeh.core.has_props import HasProps
from bokeh.core.property.descriptors import PropertyDescriptor

_MISSING = object()
_ORIGINAL: dict[str, Any] = {}  # what install() replaced, for uninstall()
_STABLE: dict[tuple[type, str], Any] = {}  # (model class, property) -> its stable default


def install() -> None:
    """Make Bokeh reuse stable defaults and overridden-defaults tables (idempotent)."""
    if getattr(PropertyDescriptor._get_default, "_bpx_cached", False):
        return
    original = _ORIGINAL["get"] = PropertyDescriptor._get_default
    overridden = _ORIGINAL["overridden"] = HasProps.__dict__["_overridden_defaults"]

    def _get_default(self, obj: HasProps):
        themed = obj.themed_values()
        if themed is not None and self.name in themed:
            return original(self, obj)
        key = (type(obj), self.name)
        value = _STABLE.get(key, _MISSING)
        if value is not _MISSING:
            return value
        value = original(self, obj)
        if not self.has_unstable_default(obj):
            _STABLE[key] = value
        return value

    _get_default._bpx_cached = True
    PropertyDescriptor._get_default = _get_default

    tables: dict[type, dict] = {}

    def _overridden_defaults(cls) -> dict[str, Any]:
        # read-only use in Bokeh (Property.themed_default); the per-class table never changes
        table = tables.get(cls)
        if table is None:
            table = tables[cls] = overridden.__func__(cls)
        return table

    HasProps._overridden_defaults = classmethod(_overridden_defaults)


def uninstall() -> None:
    """Undo :func:`install` (tests compare both ways)."""
    if _ORIGINAL:
        PropertyDescriptor._get_default = _ORIGINAL.pop("get")
        HasProps._overridden_defaults = _ORIGINAL.pop("overridden")
    _STABLE.clear()
