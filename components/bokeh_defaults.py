"""Bokeh looks up what depends only on a model's class once per class, not at every read.

Reading a Bokeh property that was never set computes its default anew: the class's
overridden defaults are merged along the MRO, the value is copied and validated. Building a
page and serialising its document read ~11,000 such defaults (``references()`` walks every
property of every model, the serializer and Panel read them again). And every new model asks,
for each of its ~50-100 properties, whether the default is *unstable* (a list, dict, model or
factory, which Bokeh keeps per instance): a question about the class, answered anew each time.
Together about half of the server's CPU time for opening a page.

:func:`install` makes Bokeh remember, per ``(class, property)``:

- the *stable* defaults (a number, a string, None, an enum value, a tuple: immutable, and the
  same for every instance of the class); unstable ones stay Bokeh's business;
- whether the default is unstable;
- the class's table of overridden defaults.

A process-wide cache bounded by the number of model classes times their properties. Themed
instances (a Bokeh ``Theme`` on the document) bypass it. ``tests/test_page_open.py`` checks
that every property of every model of a page reads the same with and without it, and that the
document's JSON is the same.
"""

from __future__ import annotations

from typing import Any

from bokeh.core.has_props import HasProps
from bokeh.core.property.descriptors import PropertyDescriptor

_MISSING = object()
_ORIGINAL: dict[str, Any] = {}  # what install() replaced, for uninstall()
_STABLE: dict[tuple[type, str], Any] = {}  # (model class, property) -> its stable default
_UNSTABLE: dict[tuple[type, str], bool] = {}  # (model class, property) -> default per instance?


def _themed_values(self: HasProps) -> dict[str, Any] | None:
    """``HasProps.themed_values`` without a failing attribute lookup through ``__getattr__``
    (the attribute is only ever set on the instance)."""
    return self.__dict__.get("__themed_values__")


def install() -> None:
    """Make Bokeh reuse what depends only on a model's class (idempotent)."""
    if getattr(PropertyDescriptor._get_default, "_bpx_cached", False):
        return
    original = _ORIGINAL["get"] = PropertyDescriptor._get_default
    unstable = _ORIGINAL["unstable"] = PropertyDescriptor.has_unstable_default
    overridden = _ORIGINAL["overridden"] = HasProps.__dict__["_overridden_defaults"]
    _ORIGINAL["themed"] = HasProps.themed_values

    def has_unstable_default(self, obj: HasProps) -> bool:
        # the property's own default and the class's overrides: both fixed per class
        key = (type(obj), self.name)
        flag = _UNSTABLE.get(key)
        if flag is None:
            flag = _UNSTABLE[key] = bool(unstable(self, obj))
        return flag

    def _get_default(self, obj: HasProps):
        themed = obj.__dict__.get("__themed_values__")
        if themed is not None and self.name in themed:
            return original(self, obj)
        key = (type(obj), self.name)
        value = _STABLE.get(key, _MISSING)
        if value is not _MISSING:
            return value
        value = original(self, obj)
        if not has_unstable_default(self, obj):
            _STABLE[key] = value
        return value

    _get_default._bpx_cached = True
    PropertyDescriptor._get_default = _get_default
    PropertyDescriptor.has_unstable_default = has_unstable_default
    HasProps.themed_values = _themed_values

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
        PropertyDescriptor.has_unstable_default = _ORIGINAL.pop("unstable")
        HasProps._overridden_defaults = _ORIGINAL.pop("overridden")
        HasProps.themed_values = _ORIGINAL.pop("themed")
    _STABLE.clear()
    _UNSTABLE.clear()
