"""Every change an event makes reaches the page, however quickly the events come.

Panel runs an event (a click, Enter in a text box) without the document lock when a property
change of the page is still waiting (components/events.py). On c57a06b, η = 1 then four quick
"Take a step" clicks moved the parameters, but the note never said "L grows at every step"
(fresh-clone runs 26 and 32): Bokeh refused the step's chart update off the lock, and the
handler stopped there. Here the change and the events travel in one message, so each event is
always handled while the change waits: the case that failed by luck in the browser, every time.
"""

from __future__ import annotations

import os

import pytest

from bokeh_client import Page, run
from graphviz_core import gradients
from graphviz_core.examples import SEED


@pytest.fixture(scope="module")
def server(app_server):
    """The process's running app (tests/conftest.py): these tests need no fresh one."""
    return app_server


def model_named(page: Page, kind: str, **attributes) -> str:
    """The id of the one model of ``kind`` whose attributes include ``attributes``."""
    found = [m["id"] for m in page.models.values() if m["name"] == kind and all(
        m["attributes"].get(k) == v for k, v in attributes.items())]
    assert len(found) == 1, (kind, attributes, found)
    return found[0]


def event(name: str, model_id: str, **values) -> dict:
    """A Bokeh event of the page's model ``model_id``, as BokehJS sends it."""
    entries = [["model", {"id": model_id}], *([k, v] for k, v in values.items())]
    return {"kind": "MessageSent", "msg_type": "bokeh_event",
            "msg_data": {"type": "event", "name": name,
                         "values": {"type": "map", "entries": entries}}}


def on_a_page(server, student) -> None:
    """Open a page, run ``await student(page)`` on it, close it; then check that the page got
    no error and the server logged no failed callback meanwhile."""
    start = os.path.getsize(server.log)

    async def scenario():
        page = await Page.open(server[: -len("/app")])
        try:
            await student(page)
            return page.errors, page.leaks
        finally:
            await page.close()

    assert run(scenario()) == ([], [])
    with open(server.log, "rb") as f:
        f.seek(start)
        log = f.read().decode("utf-8", errors="replace")
    assert "callback failed" not in log and "Traceback" not in log, log[-3000:]


def descent(values: dict, steps: list[float]) -> dict:
    """The seed's parameters w and b after gradient steps of the given sizes, from the core."""
    values = dict(values)
    for eta in steps:
        _, grads = gradients(SEED.source, values)
        values.update(w=values["w"] - eta * grads["w"], b=values["b"] - eta * grads["b"])
    return values


def test_steps_clicked_while_the_learning_rate_change_waits_all_reach_the_page(server):
    async def student(page):
        await page.show_later_parts()  # the descent panel is built when scrolled to
        await page.until(lambda: any(m.get("attributes", {}).get("label") == "Take a step"
                                     for m in page.models.values()), timeout=30)
        rates = model_named(page, "panel.models.widgets.RadioButtonGroup",
                            labels=["0.01", "0.05", "0.1", "0.3", "1"])
        step = model_named(page, "panel.models.widgets.Button", label="Take a step")
        # η = 1 and four steps, in one message: every click comes while η's change waits
        await page.send("PATCH-DOC", {"events": [
            {"kind": "ModelChanged", "model": {"id": rates}, "attr": "active", "new": 4},
            *[event("button_click", step)] * 4]})
        expected = descent(SEED.values, [1.0] * 4)
        await page.until(lambda: page.values.get("w") == expected["w"]
                         and page.values.get("b") == expected["b"], timeout=30)
        await page.until(lambda: page.saw("L grows at every step"), timeout=30)

    on_a_page(server, student)


def test_an_expression_committed_with_enter_is_drawn_whole(server):
    async def student(page):
        # the browser sends the text box's new value and its Enter together
        text = "u*v + sin(u)"
        await page.send("PATCH-DOC", {"events": [
            *page.change(page.box, "value", text)["events"],
            event("enter-pressed", page.box, value_input=text)]})
        await page.until(lambda: set(page.values) == {"u", "v"}, timeout=30)

    on_a_page(server, student)


def test_a_part_below_the_fold_comes_when_the_page_says_it_is_on_screen(server):
    """components/later.py: the explorer opens without its descent panel (a marker holds its
    place; the weight matrix has none: it is built with the page when there is a network);
    once the page says the marker is on screen, the panel arrives."""
    def labels(page) -> set:
        return {m.get("attributes", {}).get("label") for m in page.models.values()}

    async def student(page):
        markers = [m for m in page.models.values() if m.get("name") == "Div"
                   and "bpx-later" in (m.get("attributes", {}).get("css_classes") or [])]
        assert len(markers) == 1
        assert "Take a step" not in labels(page)
        await page.show_later_parts()
        await page.until(lambda: "Take a step" in labels(page), timeout=30)

    on_a_page(server, student)


def test_a_page_asks_its_browser_for_nothing_nobody_reads(server):
    """No model of Panel's browser info (dark mode, language, time zone, ...): nothing reads
    it, and each page's browser sent the server a message per property at open."""
    async def student(page):
        assert not [m for m in page.models.values() if m["name"].endswith("BrowserInfo")]

    on_a_page(server, student)
