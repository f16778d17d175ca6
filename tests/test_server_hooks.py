"""components/server_hooks.py lists every change the app makes to library classes: after
installing, exactly the listed attributes differ from the library's own, in the classes the
app touches and in every other class of the modules they come from."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from components.server_hooks import PATCHES

ROOT = Path(__file__).resolve().parents[1]

# Snapshot every class (and the module namespace) of each module the patches touch, install,
# and report what changed. Run in a fresh interpreter: this test process may have installed
# the hooks already (other tests build pages).
PROBE = r"""
import importlib, inspect, json, sys
modules = sys.argv[1:]

for name in modules:  # all imported first: importing one may patch another (Panel does)
    importlib.import_module(name)

def snapshot():
    seen = {}
    for name in modules:
        module = importlib.import_module(name)
        seen[name] = dict(vars(module))
        for cname, cls in vars(module).items():
            if inspect.isclass(cls) and cls.__module__ == name:
                seen[f"{name}:{cname}"] = dict(vars(cls))
    return seen

before = snapshot()
from components import server_hooks
server_hooks.install(server=True)
after = snapshot()
changed = sorted([owner, attr] for owner in after for attr in set(before[owner]) | set(after[owner])
                 if before[owner].get(attr, None) is not after[owner].get(attr, None))
print(json.dumps(changed))
"""


def test_every_patch_is_listed_and_every_listed_patch_is_made():
    modules = sorted({p.owner.split(":")[0] for p in PATCHES} | {
        "bokeh.server.views.ws", "bokeh.server.protocol_handler", "panel.io.server",
        "bokeh.core.has_props", "bokeh.core.property.descriptors", "panel.reactive",
        "bokeh.server.views.doc_handler", "tornado.websocket", "tornado.web"})
    out = subprocess.run([sys.executable, "-c", PROBE, *modules], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    changed = {tuple(x) for x in json.loads(out.strip().splitlines()[-1])}
    listed = {(p.owner, p.attribute) for p in PATCHES}
    assert changed - listed == set(), "patched but not in server_hooks.PATCHES"
    assert listed - changed == set(), "in server_hooks.PATCHES but not patched"


def test_each_patch_says_why():
    for p in PATCHES:
        assert p.why and p.module.startswith("components."), p


# After a session callback raised, Bokeh's current document must be what it was before: on
# c57a06b a raising callback left a closed session's document current, and a later "Save as
# HTML" failed in file_html (tests/test_export.py).
FAILING_CALLBACK = r"""
from bokeh.document import Document
from bokeh.document.callbacks import invoke_with_curdoc
from bokeh.io import curdoc
from bokeh.io import doc as bokeh_doc
from components import server_hooks
server_hooks.install(server=True)
before = curdoc()
session_doc = Document()
def failing():
    raise ValueError("a callback's bug")
try:
    invoke_with_curdoc(session_doc, failing)
except ValueError:
    pass
print(len(bokeh_doc._PATCHED_CURDOCS), curdoc() is before)
"""


def test_a_callback_that_raises_leaves_no_current_document_behind():
    out = subprocess.run([sys.executable, "-c", FAILING_CALLBACK], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert out.split() == ["0", "True"]
