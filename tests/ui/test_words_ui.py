"""Every page in both languages shows its prose, and a Chinese page shows no English UI word."""

from __future__ import annotations

import html
import re

import pytest

from components.lessons import LESSONS
from components.words import LANGUAGES, _prose, catalogue, lesson_text, prose_files

from .helpers import deep_text, screenshot

pytestmark = pytest.mark.browser

FIRST_PROSE = ("prose", "intro", "forward_intro")


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", text))).strip()


def _english_ui_words() -> list[str]:
    """English UI words a Chinese page must not show: those our Chinese never uses itself."""
    chinese = " ".join(_plain(t) for t in _all_strings([_prose(n)["zh"] for n in prose_files()]))
    chinese += " ".join(_plain(t) for t in _all_strings(_word_texts("zh")))
    out = []
    for text in _all_strings(_word_texts("en")):
        for piece in re.split(r"\{\w+\}|[·:()]", _plain(text)):
            piece = piece.strip(" .,;…▶◀↺❚")
            if len(re.sub(r"[^A-Za-z]", "", piece)) >= 4 and piece not in chinese:
                out.append(piece)
    return sorted(set(out))


def _word_texts(lang: str) -> list:
    def walk(table):
        for value in table.values():
            if set(value) <= set(LANGUAGES):
                yield value[lang]
            else:
                yield from walk(value)
    return list(walk(catalogue()))


def _all_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _all_strings(v)
    elif hasattr(value, "values"):
        for v in value.values():
            yield from _all_strings(v)


def _open(page, app_url: str, slug: str, lang: str, expect: str) -> str:
    """Open the page; wait until its text (spaces folded) contains ``expect``; return it."""
    page.goto(f"{app_url}?lesson={slug}&lang={lang}")
    page.wait_for_function("(s) => window.__bpxt && window.__bpxt.deepText()"
                           ".replace(/\\s+/g, ' ').includes(s)", arg=expect, timeout=30_000)
    page.wait_for_timeout(600)  # the widgets that come after the prose
    return re.sub(r"\s+", " ", deep_text(page))


@pytest.mark.parametrize("slug", list(LESSONS))
@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_page_shows_its_prose(page, app_url, slug, lang):
    words = lesson_text(slug, lang)
    key = next((k for k in FIRST_PROSE if k in words), None)
    expect = _plain(words[key][0]) if key else LESSONS[slug].title[lang]
    text = _open(page, app_url, slug, lang, expect)
    if lang == "zh":
        english = [w for w in _english_ui_words() if re.search(rf"\b{re.escape(w)}\b", text)]
        assert not english, f"English words on the Chinese page: {english}"
        screenshot(page, f"words-{slug}-zh")


def test_the_same_in_pytorch_opens_with_the_program(page, app_url):
    _open(page, app_url, "graph", "en", "Forward Pass")
    page.get_by_role("button", name="The same in PyTorch").click()
    page.wait_for_function("() => window.__bpxt.deepText().includes('L.backward()')", timeout=20_000)
    assert "torch.tensor(2.0, dtype=torch.float64, requires_grad=True)" in deep_text(page)


def _english_on(text: str) -> list[str]:
    return [w for w in _english_ui_words() if re.search(rf"\b{re.escape(w)}\b", text)]


@pytest.mark.parametrize("typed, expect", [
    ("w * foo(x)", "未知函数 'foo'"), ("(w*x + b", "语法错误：有一个 '(' 没有闭合"),
    ("x // 2", "不支持运算符 '//'"), ("w（x）", "无法识别的字符 '（'"),
])
def test_a_bad_expression_is_said_in_chinese(page, app_url, typed, expect):
    from .helpers import type_expression
    _open(page, app_url, "graph", "zh", "前向传播")
    type_expression(page, typed)
    page.wait_for_function("(s) => window.__bpxt.deepText().includes(s)", arg=expect, timeout=20_000)
    text = re.sub(r"\s+", " ", deep_text(page))
    assert "未应用：" in text and "图中显示的是上一个有效的表达式。" in text
    assert not _english_on(text.replace(typed, "")), _english_on(text)
    screenshot(page, "words-bad-expression-zh")


def test_a_bad_link_is_said_in_chinese(page, app_url):
    page.goto(f"{app_url}?lang=zh&expr=w%20*%20foo(x)")
    expect = "链接中的表达式没有使用（未知函数 'foo'，位置 4）"
    page.wait_for_function("(s) => window.__bpxt && window.__bpxt.deepText().includes(s)",
                           arg=expect, timeout=30_000)
    assert not _english_on(re.sub(r"\s+", " ", deep_text(page)))
