"""Which English UI words a Chinese page shows (it should show none).

The list is the catalogue's English (components/words/ui.toml and the lesson prose files) cut
into phrases, minus those our Chinese text uses itself (names such as PyTorch or ReLU).
"""

from __future__ import annotations

import functools
import html
import re

from components.words import LANGUAGES, _prose, catalogue, prose_files


def plain(text: str) -> str:
    """``text`` without tags and entities, its spaces folded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", text))).strip()


@functools.cache
def english_ui_words() -> tuple[str, ...]:
    """English UI words a Chinese page must not show: those our Chinese never uses itself."""
    chinese = " ".join(plain(t) for t in _all_strings([_prose(n)["zh"] for n in prose_files()]))
    chinese += " ".join(plain(t) for t in _all_strings(_word_texts("zh")))
    out = []
    for text in _all_strings(_word_texts("en")):
        for piece in re.split(r"\{\w+\}|[·:()]", plain(text)):
            piece = piece.strip(" .,;…▶◀↺❚")
            if len(re.sub(r"[^A-Za-z]", "", piece)) >= 4 and piece not in chinese:
                out.append(piece)
    return tuple(sorted(set(out)))


def english_on(text: str) -> list[str]:
    """The English UI words found in ``text`` (a page's text, spaces folded)."""
    return [w for w in english_ui_words() if re.search(rf"\b{re.escape(w)}\b", text)]


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
