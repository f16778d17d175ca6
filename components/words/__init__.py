"""Every word a student reads, kept as data: the UI catalogue and each lesson's prose.

Where a word goes
-----------------
- ``components/words/ui.toml``: the UI catalogue, shared by the server's widgets and the
  page. One table per word, one key per language, side by side::

      [play]
      en = "▶ Play"
      zh = "▶ 播放"

  Python reads it with :func:`ui` (``ui("zh")["play"]``). The browser reads the words
  under ``[page.*]`` from the module ``words.generated.mjs``, which :func:`page_module`
  makes from this file each time a process builds the page's module
  (``components/bundle.py``: nothing to regenerate); in the page they are ``T.<key>``
  (``static/explorer/words.mjs``), in the language the scene names.
  Templates use ``{name}`` placeholders, filled with :meth:`str.format` here and with
  ``fill(T.key, {name: ...})`` in the page.
- ``components/lessons/prose/<slug>.toml``: one lesson's prose, an ``[en]`` and a ``[zh]``
  table with the same keys (:func:`lesson_text`); ``article.toml`` beside them holds the
  article's headings as the article writes them in each language.

A new language: a key for it in every table of ``ui.toml``, an ``[xx]`` table in every
prose file, and a line in :data:`LANGUAGES`; ``tests/test_words.py`` lists what is missing.

Everything is read once per process and handed out read-only (mappings that cannot be
changed, tuples for lists): nothing a session can alter is shared.
"""

from __future__ import annotations

import json
import tomllib
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

HERE = Path(__file__).resolve().parent
PROSE = HERE.parent / "lessons" / "prose"

LANGUAGES = {"en": "English", "zh": "中文"}


def language(text: str | None) -> str:
    """``text`` if it is a language we speak, else ``"en"``."""
    return text if text in LANGUAGES else "en"


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _is_word(table: Any) -> bool:
    """A word is a table whose keys are languages (``{en = ..., zh = ...}``)."""
    return isinstance(table, dict) and bool(table) and set(table) <= set(LANGUAGES)


def _pick(table: dict, lang: str) -> dict:
    out = {}
    for key, value in table.items():
        if _is_word(value):
            out[key] = value.get(lang, value["en"])
        elif isinstance(value, dict):
            out[key] = _pick(value, lang)
        else:
            raise ValueError(f"ui.toml: {key!r} is neither a word nor a group of words")
    return out


@lru_cache(maxsize=None)
def catalogue() -> Mapping[str, Any]:
    """``ui.toml`` as it is written: word -> {language: text} (read-only)."""
    with open(HERE / "ui.toml", "rb") as f:
        return _freeze(tomllib.load(f))


@lru_cache(maxsize=None)
def _ui(lang: str) -> Mapping[str, Any]:
    with open(HERE / "ui.toml", "rb") as f:
        return _freeze(_pick(tomllib.load(f), lang))


def ui(lang: str) -> Mapping[str, Any]:
    """The UI words in ``lang`` (read-only; nested groups such as ``page`` stay nested).

    Examples
    --------
    >>> ui("en")["play"], ui("zh")["play"]
    ('▶ Play', '▶ 播放')
    """
    return _ui(language(lang))


def fault_text(fault: str, lang: str) -> str:
    """A fault as the core words it (``"log of zero"``, ``"undefined: inf - inf"``) in ``lang``.

    Examples
    --------
    >>> fault_text("division by zero", "zh"), fault_text("undefined: inf - inf", "zh")
    ('除以零', '无定义：inf - inf')
    """
    faults = ui(lang)["page"]["faults"]
    if fault in faults:
        return faults[fault]
    head, sep, rest = fault.partition(": ")
    if sep and head + ":" in faults:
        word = faults[head + ":"]
        return word + ("" if word.endswith("：") else " ") + rest
    return fault


def error_text(key: str, fields: Mapping[str, Any], lang: str) -> str:
    """Why an expression was not used, in ``lang``: an ``ExpressionError``'s ``key`` and
    ``fields`` (``[parse_error.<key>]``), or ``"link_not_used"`` with the link's own error
    under ``fields["error"]`` (a ``(key, fields)`` pair) and its ``pos``.

    Examples
    --------
    >>> error_text("unknown_function", {"name": "foo"}, "zh")
    "未知函数 'foo'"
    >>> error_text("link_not_used", {"error": ("empty", {}), "pos": 0}, "en")
    "the link's expression was not used (the expression is empty at position 0)"
    """
    w = ui(lang)
    if key == "link_not_used":
        inner = error_text(*fields["error"], lang)
        at = "" if fields.get("pos") is None else w["link_at"].format(pos=fields["pos"])
        return w["link_not_used"].format(message=inner, at=at)
    return w["parse_error"][key].format(**fields)


def page_words(lang: str) -> dict:
    """The words the browser module uses (``[page.*]``), as plain data for JSON."""
    return _thaw(ui(lang)["page"])


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@lru_cache(maxsize=None)
def _prose(name: str) -> Mapping[str, Any]:
    with open(PROSE / f"{name}.toml", "rb") as f:
        return _freeze(tomllib.load(f))


def lesson_text(slug: str, lang: str) -> Mapping[str, Any]:
    """One lesson's prose in ``lang``, from ``components/lessons/prose/<slug>.toml``.

    Examples
    --------
    >>> lesson_text("chain-rule", "zh")["title"]
    '链式法则'
    """
    return _prose(slug)[language(lang)]


def prose_files() -> list[str]:
    """The names of every prose file (lesson slugs and ``article``)."""
    return sorted(p.stem for p in PROSE.glob("*.toml"))


def article_heading(key: str, lang: str) -> str:
    """A heading of the article as the article writes it in ``lang`` (``article.toml``)."""
    return _prose("article")[language(lang)][key]


def page_module() -> str:
    """The text of the page's module ``words.generated.mjs``: the page's words, every language."""
    words = {lang: page_words(lang) for lang in LANGUAGES}
    return ("// generated by components/words/__init__.py from components/words/ui.toml"
            " ([page.*]) - edit the words there\n"
            f"export const WORDS = {json.dumps(words, ensure_ascii=False, indent=1)}\n")

