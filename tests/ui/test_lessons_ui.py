"""The lesson pages in the browser: they load, their sliders move their numbers, the URL keeps
their state, and ``lang=zh`` shows the seed's Chinese headings."""

from __future__ import annotations

import re
import time

import pytest

from components.words import article_heading

from .helpers import deep_text, js, set_slider, show_later_parts, sliders

pytestmark = pytest.mark.browser

PAGES = {"chain-rule": "backward", "fan-out": "fan-out", "stop-gradient": "stop-gradient",
         "loss-value": "loss-value", "input-gradients": "inputs", "same-gradient": "same-gradient",
         "loss-matters": "loss-matters"}


def _plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def open_lesson(page, app_url: str, query: str, expect: str, timeout: float = 30_000) -> None:
    """Open ``?query`` and wait until the page's text contains ``expect``."""
    page.goto(f"{app_url}?{query}")
    page.locator(".bpx-lesson-h2").first.wait_for(timeout=timeout)
    show_later_parts(page, timeout)  # a student scrolls down the lesson
    page.wait_for_function("(s) => window.__bpxt && window.__bpxt.deepText().includes(s)",
                           arg=expect, timeout=timeout)


def wait_page_text(page, substring: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        current = deep_text(page)
        if substring in current:
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never showed {substring!r}")
        page.wait_for_timeout(50)


def wait_url(page, pattern: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while not re.search(pattern, page.url):
        if time.monotonic() > deadline:
            raise AssertionError(f"the URL never matched {pattern!r}: {page.url}")
        page.wait_for_timeout(50)
    return page.url


def test_scene_slider_moves_the_written_sum_and_the_url(page, app_url):
    open_lesson(page, app_url, "lesson=fan-out&u=0&v=0.8", "0.8 + 1 =")
    assert sliders(page)["u"]["value"] == 0
    set_slider(page, "v", 2.0, release=True)
    wait_page_text(page, "2 + 1 =")
    wait_url(page, r"v=2\b")
    assert "lesson=fan-out" in page.url


def test_loss_value_constant_changes_values_not_gradients(page, app_url):
    open_lesson(page, app_url, "lesson=loss-value", "identical to the last bit")
    set_slider(page, "C", 30.0, release=True)
    wait_page_text(page, "C = 30)")
    wait_page_text(page, "36.25")  # L + C = 6.25 + 30; the gradients stay 7.5 and 5
    wait_page_text(page, "never stops")
    wait_url(page, r"C=30")


def test_same_gradient_sliders_drive_both_graphs_the_case_and_the_language_link(page, app_url):
    open_lesson(page, app_url, "lesson=same-gradient&lp=-0.9&lpo=-1&A=2&eps=0.2", "Unclipped")
    assert "bitwise equal: True" in deep_text(page)
    assert len(js(page, "t.all('ColumnDataSource', (m) => 'json' in m.data)")) == 2
    set_slider(page, "lp", -0.5, release=True)
    text = wait_page_text(page, "Clipped.")
    assert "bitwise equal: True" in text
    # the REINFORCE graph's mask m followed the case
    page.wait_for_function(
        "() => window.__bpxt.all('ColumnDataSource', (m) => 'json' in m.data).some((m) => {"
        " const s = JSON.parse(m.data.json[0]); const i = s.nodes.name.indexOf('m');"
        " return i >= 0 && s.tape.value[i] === 0 })", timeout=10_000)
    wait_url(page, r"lp=-0\.5")
    # the language link takes the page as it is now (the moved lp, not the lp it opened with),
    # and the Chinese page restores that state from its URL
    page.get_by_role("link", name="中文").click()
    wait_page_text(page, article_heading("same-gradient", "zh"))
    assert "lp=-0.5" in page.url and "lang=zh" in page.url, page.url
    page.wait_for_function("() => { const s = window.__bpxt.slider('lp'); return s && s.value === -0.5 }",
                           timeout=10_000)
    assert "已裁剪" in deep_text(page)


def test_input_gradients_epsilon_moves_the_prediction(page, app_url):
    open_lesson(page, app_url, "lesson=input-gradients&eps=0.3", "0.919")
    set_slider(page, "FGSM step ε", 0.55, release=True)
    wait_page_text(page, "flips")
    wait_page_text(page, "0.306")
    wait_url(page, r"eps=0\.55")


def test_loss_matters_constant_changes_precision_table(page, app_url):
    open_lesson(page, app_url, "lesson=loss-matters&C=1000", "1006.25")
    set_slider(page, "Constant C", 100.0, release=True)
    wait_page_text(page, "106.25")
    wait_url(page, r"C=100\b")


def test_accumulation_backward_twice_doubles_and_zero_grad_clears(page, app_url):
    open_lesson(page, app_url, "lesson=accumulation&K=2", "11.5")
    button = lambda label: page.get_by_role("button", name=label, exact=True)
    button("loss.backward()").click()
    wait_page_text(page, "backward() called once")
    button("loss.backward()").click()
    text = wait_page_text(page, "backward() called 2 times")
    assert "23" in text  # 2 × 11.5
    button("optimizer.zero_grad()").click()
    wait_page_text(page, ".grad is cleared")
    page.get_by_role("button", name="6", exact=True).click()
    wait_page_text(page, "= the big batch's gradient")
    wait_url(page, r"K=6")
