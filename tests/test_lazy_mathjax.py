"""Pages without BokehJS's MathJax and WebGL bundles (components/assets.py page_resources); the
first formula loads MathJax from beside BokehJS's own script (static/explorer/markup.mjs
``loadMathJax``). The browser's side - no fetch at a page's open, one at its first formula, the
formula typeset - is checked in tests/ui/test_pages.py (the chain-rule lesson)."""

from __future__ import annotations

from pathlib import Path

import bokeh
import panel as pn
import pytest
from bokeh.resources import Resources
from panel.io.resources import Resources as PanelResources
from panel.io.resources import bundle_resources

from components.assets import LATER, later_files, page_resources
from node_calls import ROOT, call_js

MARKUP = ROOT / "static" / "explorer" / "markup.mjs"
BOKEH_STATIC = Path(bokeh.__file__).parent / "server" / "static" / "js"


def _scripts(resources) -> list[str]:
    # a page's roots, as a template has them: Panel includes MathJax where one is an HTML pane
    roots = [pn.pane.HTML("<b>y</b>").get_root(), pn.Column(pn.widgets.Button(name="z")).get_root()]
    return [str(url) for url in bundle_resources(roots, resources).js_files]


@pytest.mark.parametrize("resources", [Resources(mode="server", root_url=""),
                                       PanelResources.from_bokeh(Resources(mode="server", root_url="/app/"))],
                         ids=["static-site", "live"])
def test_a_page_names_neither_mathjax_nor_webgl(resources):
    assert any("bokeh-mathjax" in url for url in _scripts(resources)), "Panel includes MathJax by itself"
    scripts = _scripts(page_resources(resources))
    assert not [url for url in scripts if any(name in url for name in LATER)], scripts
    assert any(url.split("?")[0].endswith("static/js/bokeh.min.js") for url in scripts), scripts


def test_no_code_of_the_app_asks_for_webgl():
    """Bokeh WebGL is left out of the pages: a figure with ``output_backend="webgl"`` would
    not draw (every figure keeps Bokeh's default, "canvas"; building the pages to look at
    their figures costs 5-13 s a page here)."""
    asking = [str(path.relative_to(ROOT)) for folder in ("components", "static")
              for path in (ROOT / folder).rglob("*") if path.suffix in (".py", ".mjs", ".js")
              and "webgl" in path.read_text(encoding="utf-8").replace("bokeh-gl", "").lower()
              and path.name != "assets.py"]
    assert not asking, asking


def test_the_mathjax_bundle_is_found_beside_bokehjs():
    """Where the page loads MathJax from: BokehJS's own script's folder and query (the live
    server's version of the pair, a CDN's versioned name, the static site's files)."""
    srcs = ["http://127.0.0.1:5006/static/js/bokeh.min.js?v=abc",
            "https://cdn.bokeh.org/bokeh/release/bokeh-3.9.2.min.js",
            "file:///site/static/js/bokeh.js"]
    scripts = [[{"src": "http://127.0.0.1:5006/static/js/bokeh-widgets.min.js?v=w"}, {"src": src}]
               for src in srcs]
    found = call_js(MARKUP, [["mathjaxSrc", [s]] for s in scripts]
                    + [["mathjaxSrc", [[{"src": "https://x/bokeh-widgets-3.9.2.min.js"}, {}]]]], numbers=False)
    assert found == ["http://127.0.0.1:5006/static/js/bokeh-mathjax.min.js?v=abc",
                     "https://cdn.bokeh.org/bokeh/release/bokeh-mathjax-3.9.2.min.js",
                     "file:///site/static/js/bokeh-mathjax.js", None]
    # the static site copies the file beside the BokehJS its pages name, and Bokeh has it
    (twin,) = later_files({"static/js/bokeh.min.js", "static/js/bokeh-tables.min.js"})
    assert (BOKEH_STATIC / twin.removeprefix("static/js/")).is_file()
