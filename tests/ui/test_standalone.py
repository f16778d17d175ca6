"""The "Save as HTML" file: saved from the running app, then opened from disk with the
network off. Sliders, the values table and playback (with rendered formulas) must work
with no server at all.

Numbers are checked against :mod:`graphviz_core` (``gradients``, ``trace`` +
``schedule``) for the slider value read back from the page.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from components.export import standalone_html
from components.model import ExplorerModel
from graphviz_core import format_number, gradients, parse, schedule, trace
from graphviz_core.examples import SEED

from .helpers import INIT_SCRIPT, VIEWPORT, js, number, open_app, screenshot, table, table_cells

pytestmark = pytest.mark.browser

SEED_NAMES = ["w", "x", "z1", "b", "z2", "y", "z3", "L"]

# The numbers MathJax drew in the caption: every <mn> of its SVG output, spelled back
# from the `data-c` code points of the glyphs it uses.
RENDERED_NUMBERS = """(el) => {
  const root = el.shadowRoot || el
  const math = root.querySelector('mjx-container')
  if (!math) return null
  return {
    svg: !!math.querySelector('svg'),
    numbers: [...math.querySelectorAll('[data-mml-node="mn"]')].map((mn) =>
      [...mn.querySelectorAll('[data-c]')].map((g) => String.fromCodePoint(parseInt(g.dataset.c, 16))).join('')),
  }
}"""


def approx(x):
    return pytest.approx(x, rel=2e-5, abs=1e-9)  # the table prints 6 significant digits


def save_file(page, app_url: str, folder) -> str:
    """Click "Save as HTML" in the app and keep the download in ``folder``."""
    open_app(page, app_url)
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="Save as HTML").click()
    path = folder / "saved.html"
    download.value.save_as(path)
    assert download.value.suggested_filename.endswith(".html")
    return str(path)


@contextmanager
def offline_file(browser, path: str):
    """The saved file opened from disk in a new context with the network off.

    Yields the page; afterwards fails on uncaught page errors and on any request
    that left the file (http, https: there is no network, and there must be no need).
    """
    context = browser.new_context(viewport=VIEWPORT, offline=True)
    context.add_init_script(INIT_SCRIPT)
    errors: list[str] = []
    remote: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(f"{e.name}: {e.message}"))
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "blob:"))
                else remote.append(r.url))
        page.goto(f"file://{path}")
        page.wait_for_function("() => window.__bpxt && window.__bpxt.rows() > 0", timeout=30_000)
        yield page
        assert not errors, errors
        assert not remote, remote
    finally:
        context.close()


def drag_first_slider(page, pixels: int = 64) -> dict[str, float]:
    """Drag the first slider's handle left with the mouse; return every slider's value."""
    handle = page.locator(".noUi-handle").first
    box = handle.bounding_box()
    x0, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    for k in range(1, 9):
        page.mouse.move(x0 - pixels * k / 8, y0)
    page.mouse.up()
    return {s["title"]: s["value"] for s in js(page, "t.sliders()")}


def test_saved_file_works_offline_and_its_table_cells_follow_the_slider(page, app_url, browser,
                                                                        tmp_path):
    path = save_file(page, app_url, tmp_path)
    text = open(path, encoding="utf-8").read()
    assert text.lstrip().lower().startswith("<!doctype html")
    assert f"<title>Backprop Explorer - {SEED.source}</title>" in text

    with offline_file(browser, path) as offline:
        assert list(js(offline, "t.table().name")) == SEED_NAMES
        assert table(offline)["L"]["value"] == "6.25"

        # drag the first slider, "w", to the left with the mouse
        assert js(offline, "t.sliders()[0].title") == "w"
        values = drag_first_slider(offline)
        assert values["w"] < SEED.values["w"]
        assert {k: v for k, v in values.items() if k != "w"} == \
            {k: v for k, v in SEED.values.items() if k != "w"}
        loss, grads = gradients(SEED.source, values)
        offline.wait_for_function("() => window.__bpxt.table().value[7] !== '6.25'", timeout=5_000)
        rows = table(offline)
        assert number(rows["L"]["value"]) == approx(loss)
        for name, g in grads.items():
            assert number(rows[name]["value"]) == approx(values[name]), (name, rows[name])
            assert number(rows[name]["grad"]) == approx(g), (name, rows[name], values)
        # ... and what the student sees: the rendered cells follow the slider too
        check_the_table_cells_follow_the_slider(offline, values)

        # Backward, two steps: the caption shows the second step's chain rule, typeset
        offline.get_by_role("button", name="Backward").click()
        step = offline.get_by_role("button", name="Step ▶")
        step.click()
        step.click()
        expected = schedule(trace(parse(SEED.source).build(values)), "backward")[1]["latex"]
        offline.wait_for_function("(s) => window.__bpxt.div('bpx-caption').text.includes(s)",
                                  arg=expected, timeout=5_000)
        assert js(offline, "t.div('bpx-counter').text").startswith("Step 2 /")
        caption = offline.locator(".bpx-caption").first
        numbers = re.findall(r"\d+(?:\.\d+)?", expected)
        for _ in range(100):  # MathJax typesets after the text is set
            rendered = caption.evaluate(RENDERED_NUMBERS)
            if rendered and rendered["svg"] and rendered["numbers"] == numbers:
                break
            offline.wait_for_timeout(100)
        assert rendered and rendered["svg"], rendered
        # every number of the formula, in order, as MathJax drew it (z_{3}'s 3 included)
        assert rendered["numbers"] == numbers, (rendered, expected)
        # the current numbers, not the saved ones: dL/dz3 = 2*z3 moved with w
        z3 = values["w"] * values["x"] + values["b"] - values["y"]
        assert f"{2 * z3:.4g}" in rendered["numbers"]
        assert "5" not in rendered["numbers"]


def check_the_table_cells_follow_the_slider(offline, values: dict[str, float]) -> None:
    """The saved file's rendered values table after a drag to ``values`` (the test above)."""
    loss, grads = gradients(SEED.source, values)
    shown = format_number(loss, 6)
    try:  # SlickGrid redraws on its own schedule: give it a moment
        offline.wait_for_function(
            "(s) => [...document.querySelectorAll('.bpx-values')].some((t) =>"
            " window.__bpxt.deepText(t).includes(s))", arg=shown, timeout=3_000)
    except PlaywrightTimeout:
        pass
    cells = {row[0]: row for row in table_cells(offline) if row}
    assert set(cells) == set(SEED_NAMES)
    assert number(cells["L"][2]) == approx(loss), (cells["L"], values)
    assert number(cells["w"][2]) == approx(values["w"])
    assert number(cells["w"][3]) == approx(grads["w"])
    assert number(cells["b"][3]) == approx(grads["b"])


def test_saved_file_points_at_nothing_outside_itself():
    page = standalone_html(ExplorerModel())
    # tags only: the inlined BokehJS mentions a CDN fallback in its code, which is not loaded
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page)
    assert tags, "the page has no tags?"
    assert not [t for t in tags if re.search(r'(?:src|href)="(?:static/|/static/|https?://)', t)]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_saved_file_has_a_number_field_beside_each_slider(browser, tmp_path, lang):
    """WCAG 2.5.7 in the file too: the page's script comes with it, so a field named in the
    file's language stands beside every slider, and a typed value moves the slider and the
    numbers with no server."""
    from components.words import ui
    path = tmp_path / f"saved-{lang}.html"
    path.write_text(standalone_html(ExplorerModel(), lang), encoding="utf-8")
    with offline_file(browser, str(path)) as offline:
        assert offline.evaluate("() => document.documentElement.lang") == lang
        names = [s["title"] for s in js(offline, "t.sliders()")]
        assert sorted(names) == sorted(SEED.values)
        fields = {}
        for name in names:
            fields[name] = offline.get_by_role("spinbutton", exact=True,
                                               name=ui(lang)["slider_field"].format(name=name))
            fields[name].wait_for(timeout=5_000)
            assert fields[name].count() == 1
            assert number(fields[name].input_value()) == SEED.values[name]
            box = fields[name].bounding_box()
            assert box["width"] >= 24 and box["height"] >= 24, (name, box)
        fields["w"].fill("1")
        fields["w"].press("Enter")
        offline.wait_for_function("() => window.__bpxt.table().value[7] !== '6.25'", timeout=5_000)
        values = {s["title"]: s["value"] for s in js(offline, "t.sliders()")}
        assert values == {**SEED.values, "w": 1.0}
        loss, grads = gradients(SEED.source, values)
        rows = table(offline)
        assert number(rows["L"]["value"]) == approx(loss)
        assert number(rows["w"]["grad"]) == approx(grads["w"])
        screenshot(offline, f"saved-file-fields-{lang}", full_page=False)
