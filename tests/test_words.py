"""The words as data: every word in every language, Chinese written as Chinese is written,
no project jargon, and no student-facing words left in the code."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from components.lessons import LESSONS
from components.words import (LANGUAGES, _prose, catalogue, lesson_text, page_words,
                              prose_files, ui)

ROOT = Path(__file__).resolve().parent.parent
CJK = r"[\u3400-\u9fff”’]"  # a Chinese character or a closing quote
# group -> fields whose text is English from Python itself (a syntax error's detail, an
# operator's name, an AST class): another language's words may leave them out
ENGLISH_FIELDS = {"parse_error": {"detail", "what", "kind"}}


def _strings(value, path=()):
    """(path, text) for every string inside nested mappings and sequences."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            yield from _strings(v, path + (i,))
    elif hasattr(value, "items"):
        for k, v in value.items():
            yield from _strings(v, path + (k,))


def _shape(value):
    """The structure of a catalogue entry without its words (lists keep their length)."""
    if isinstance(value, str):
        return "str"
    if isinstance(value, (tuple, list)):
        return tuple(_shape(v) for v in value)
    return {k: _shape(v) for k, v in value.items()}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def all_texts(lang: str):
    yield from ((("ui",) + p, t) for p, t in _strings(ui(lang)))
    for name in prose_files():
        yield from (((name,) + p, t) for p, t in _strings(lesson_text(name, lang)))


# --- complete ------------------------------------------------------------------------------------

def test_every_ui_word_in_every_language():
    missing = []

    def words(table, path=()):
        for key, value in table.items():
            if set(value) <= set(LANGUAGES):
                yield path + (key,), value
            else:
                yield from words(value, path + (key,))
    for path, word in words(catalogue()):
        missing += [(path, lang) for lang in LANGUAGES if lang not in word]
        texts = [word[lang] for lang in LANGUAGES if lang in word]
        if all(isinstance(t, str) for t in texts) and path[0] in ENGLISH_FIELDS:
            # a translation may leave out what only the core's English says (Python's words)
            assert all(_fields(t) - ENGLISH_FIELDS[path[0]] == _fields(word["en"])
                       - ENGLISH_FIELDS[path[0]] for t in texts), f"{path}: placeholders differ"
        elif all(isinstance(t, str) for t in texts):
            assert len({frozenset(_fields(t)) for t in texts}) == 1, f"{path}: placeholders differ"
        else:
            assert len({len(t) for t in texts}) == 1, f"{path}: lists of different lengths"
    assert not missing


@pytest.mark.parametrize("name", prose_files())
def test_every_prose_file_has_the_same_keys_in_every_language(name):
    tables = {lang: _prose(name)[lang] for lang in LANGUAGES}
    shapes = {lang: _shape(t) for lang, t in tables.items()}
    assert all(s == shapes["en"] for s in shapes.values())
    en = dict(_strings(tables["en"]))
    for lang, table in tables.items():
        for path, text in _strings(table):
            assert _fields(text) == _fields(en[path]), f"{name} {lang} {path}: placeholders"


def test_every_lesson_has_a_prose_file_with_its_title():
    for slug, lesson in LESSONS.items():
        assert slug in prose_files()
        assert lesson.title == {lang: lesson_text(slug, lang)["title"] for lang in LANGUAGES}


def test_catalogue_is_read_only():
    with pytest.raises(TypeError):
        ui("en")["play"] = "x"
    with pytest.raises(TypeError):
        lesson_text("chain-rule", "en")["prose"][0] = "x"
    assert page_words("zh")["play"] == "▶ 播放"


# --- written as each language is written ------------------------------------------------------------

def test_chinese_has_full_width_punctuation_after_chinese_text():
    bad = [(path, m.group(0)) for path, text in all_texts("zh")
           for m in re.finditer(CJK + r"[,.;:?!()]", re.sub(r"<[^>]+>", "", text))]
    assert not bad


def test_chinese_terms():
    rules = {"种子": "the article is 文章, the start of the backward pass 起点",
             "截断": "clip is 裁剪, stop-gradient 停止梯度",
             "剪掉": "pruning is 剪枝", "词向量": "an embedding row is 嵌入向量的一行",
             "叶子(?!节点)": "a leaf is a 叶子节点"}
    bad = [(path, rule) for path, text in all_texts("zh") for rule in rules
           if re.search(rule, text)]
    assert not bad


def test_no_project_jargon_for_students():
    # "seed" is our word for the article and its loss; students read "the article's example"
    bad = [(path, text) for lang in LANGUAGES for path, text in all_texts(lang)
           if re.search(r"\bseed", text, re.IGNORECASE)]
    assert not bad


def test_no_student_facing_chinese_left_in_python_code():
    with_cjk = [str(p.relative_to(ROOT)) for p in (ROOT / "components").rglob("*.py")
                if p.parent.name != "words" and re.search(r"[\u4e00-\u9fff]", p.read_text(encoding="utf-8"))]
    assert not with_cjk


def test_the_page_runs_the_words_of_the_catalogue_as_it_is():
    from components.bundle import player_code
    from components.words import page_module
    words = page_module().split("\n", 1)[1]  # past its header line
    assert words.startswith("export const WORDS = {") and words.strip().removeprefix(
        "export const WORDS = ") in player_code()


def test_every_fault_word_an_op_rule_can_say_is_in_the_catalogue():
    """A new op's fault words need their translations (README, "How it is built"): the
    words are the string constants of each op's fault rule and the engine's FAULT_WORDS."""
    from components.words import fault_text
    from graphviz_core.engine import FAULT_WORDS, OPS
    words = {c for op in OPS.values() if op.fault
             for c in op.fault.__code__.co_consts if isinstance(c, str)}
    words |= {w.format("inf - inf") for w in FAULT_WORDS.values()}
    assert "log of zero" in words and "undefined: inf - inf" in words
    missing = [w for w in sorted(words) if fault_text(w, "zh") == w or fault_text(w, "en") != w]
    assert not missing


@pytest.mark.parametrize("source, values", [
    ("log(x)", {"x": -1.0}), ("log(x)", {"x": 0.0}), ("sqrt(x)", {"x": -1.0}),
    ("1/x", {"x": 0.0}), ("exp(x)", {"x": 1000.0}), ("x**0.5", {"x": -8.0}),
    ("x**-1", {"x": 0.0}), ("exp(x) - exp(x)", {"x": 1000.0}), ("exp(exp(x)) * 0 + x", {"x": 1000.0}),
])
def test_every_fault_of_the_core_is_in_the_catalogue(source, values):
    from components.words import fault_text
    from graphviz_core import parse, trace
    g = trace(parse(source).build(values))
    faults = {g.nodes[n]["fault"] for n in g if g.nodes[n]["fault"]}
    assert faults
    for fault in faults:
        assert fault_text(fault, "zh") != fault, fault
        assert fault_text(fault, "en") == fault


def test_every_expression_error_of_the_core_is_in_the_catalogue():
    from graphviz_core.messages import MESSAGES
    words = {lang: ui(lang)["parse_error"] for lang in LANGUAGES}
    assert dict(words["en"]) == dict(MESSAGES), "ui.toml [parse_error] en is the core's English"
    for lang in LANGUAGES:
        for key, text in words[lang].items():
            assert _fields(text) <= _fields(MESSAGES[key]), (lang, key)


# typed text a student gets wrong; each reaches the page as a keyed error
BAD_EXPRESSIONS = ("w * foo(x)", "(w*x + b", "w*x)", "w x", "x // 2", "x ^ 2", "a.b", "x[0]",
                   "'w'", "w（x）", "_w + 1", "exp(x, y)", "min(x)", "exp", "x = 2", "x < y",
                   "x**1000", "x**(1/0)", "x**((-8)**0.5)", "", "mlp(1000, 1, 1)", "mlp(0, 1)",
                   "lambda: 1", "[x]", "x if y else 2", "1j*x", "True*x", "w; x")


@pytest.mark.parametrize("text", BAD_EXPRESSIONS)
def test_a_bad_expression_is_said_in_every_language(text):
    from components.words import error_text
    from graphviz_core import ExpressionError, parse
    from graphviz_core.mlp import builder_from_text
    with pytest.raises(ExpressionError) as caught:
        builder_from_text(text) or parse(text)
    e = caught.value
    assert e.key is not None, e.message
    assert error_text(e.key, e.fields, "en") == e.message
    zh = error_text(e.key, e.fields, "zh")
    assert re.search(r"[\u4e00-\u9fff]", zh) and not re.search(r"\b[a-z]{4,}\b", re.sub(
        r"'[^']*'|\w+\(.*?\)|\{.*?\}", "", zh)), zh


def test_a_bad_link_is_said_in_the_page_language():
    from components.model import ExplorerModel
    from components.words import error_text
    m = ExplorerModel(expression="w * foo(x)")
    assert m.error == "the link's expression was not used (unknown function 'foo' at position 4)"
    assert error_text(*m.error_words, "en") == m.error
    assert error_text(*m.error_words, "zh") == "链接中的表达式没有使用（未知函数 'foo'，位置 4）"


def test_the_language_switch_links_every_other_language(monkeypatch):
    from components import navigation
    monkeypatch.setattr(navigation, "LANGUAGES", {"en": "English", "zh": "中文", "fr": "Français"})
    nav = navigation._navigation("loss-value", "en", {"w": "2"})
    assert "hreflang='zh'" in nav and "hreflang='fr'" in nav and "hreflang='en'" not in nav
    assert "lang=fr" in nav and "w=2" in nav  # the switch keeps the page's state
