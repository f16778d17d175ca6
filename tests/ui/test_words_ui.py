"""Words in the page's language where the page changes: the PyTorch program, a bad expression
typed or linked on a Chinese page (every page's own prose: test_pages.py)."""

from __future__ import annotations

import re

import pytest

from .english import english_on
from .helpers import deep_text, screenshot

pytestmark = pytest.mark.browser

def _open(page, app_url: str, slug: str, lang: str, expect: str, more: str = "") -> str:
    """Open the page (``more``: more of its query); wait until its text (spaces folded) contains
    ``expect``; return it."""
    page.goto(f"{app_url}?lesson={slug}&lang={lang}{more}")
    page.wait_for_function("(s) => window.__bpxt && window.__bpxt.deepText()"
                           ".replace(/\\s+/g, ' ').includes(s)", arg=expect, timeout=30_000)
    page.wait_for_timeout(600)  # the widgets that come after the prose
    return re.sub(r"\s+", " ", deep_text(page))


def test_the_same_in_pytorch_opens_with_the_program(page, app_url):
    _open(page, app_url, "graph", "en", "Forward Pass")
    page.get_by_role("button", name="The same in PyTorch").click()
    page.wait_for_function("() => window.__bpxt.deepText().includes('L.backward()')", timeout=20_000)
    assert "torch.tensor(2.0, dtype=torch.float64, requires_grad=True)" in deep_text(page)


@pytest.fixture(scope="module")
def graph_zh(browsers, app_url):
    """The graph page in Chinese, opened once from a link whose expression is refused: a refused
    expression leaves the page on its last valid one, so each case below types into the page
    the one before left."""
    from .helpers import Watched
    watched = Watched(browsers)
    _open(watched.page, app_url, "graph", "zh", "前向传播", "&expr=w%20*%20foo(x)")
    yield watched
    watched.close()


def test_a_bad_link_is_said_in_chinese(graph_zh):
    page = graph_zh.page  # as it opened, before anything is typed
    expect = "链接中的表达式没有使用（未知函数 'foo'，位置 4）"
    page.wait_for_function("(s) => window.__bpxt && window.__bpxt.deepText().includes(s)",
                           arg=expect, timeout=30_000)
    assert not english_on(re.sub(r"\s+", " ", deep_text(page)))
    graph_zh.assert_no_page_errors()


# (bar, not the link's foo, whose words are on the page from the start)
@pytest.mark.parametrize("typed, expect", [
    ("w * bar(x)", "未知函数 'bar'"), ("(w*x + b", "语法错误：有一个 '(' 没有闭合"),
    ("x // 2", "不支持运算符 '//'"), ("w（x）", "无法识别的字符 '（'"),
])
def test_a_bad_expression_is_said_in_chinese(graph_zh, typed, expect):
    from .helpers import type_expression
    page = graph_zh.page
    type_expression(page, typed)
    page.wait_for_function("(s) => window.__bpxt.deepText().includes(s)", arg=expect, timeout=20_000)
    text = re.sub(r"\s+", " ", deep_text(page))
    assert "未应用：" in text and "图中显示的是上一个有效的表达式。" in text
    assert not english_on(text.replace(typed, "")), english_on(text)
    screenshot(page, "words-bad-expression-zh")
    graph_zh.assert_no_page_errors()
