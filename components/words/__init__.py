"""Every word a student reads, kept as data: the UI catalogue and each lesson's prose.

Where a word goes
-----------------
- ``components/words/ui.toml``: the UI catalogue, shared by the server's widgets and the
  page. One table per word, one key per language, side by side::

      [play]
      en = "▶ Play"
      zh = "▶ 播放"

  Python reads it with :func:`ui` (``ui("zh")["play"]``); the browser module reads the
  words under ``[page.*]``, which the server hands it (:func:`page_words`). Templates use
  ``{name}`` placeholders, filled with :meth:`str.format` here and ``fill`` in the page.
- ``components/lessons/prose/<slug>.toml``: one lesson's prose, an ``[en]`` and a ``[zh]``
  table with the same keys (:func:`lesson_text`); ``article.toml`` beside them holds the
  article's headings as the article writes them in each language.

A new language: a key for it in every table of ``ui.toml``, an ``[xx]`` table in every
prose file, and a line in :data:`LANGUAGES`; ``tests/test_words.py`` lists what is missing.

Everything is read once per process and handed out read-only (mappings that cannot be
changed, tuples for lists): nothing a session can alter is shared.
"""

from __future__ import annotations

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
