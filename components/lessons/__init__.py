"""The lesson pages: each idea of the article as a live figure with a short explanation.

Every lesson is in :data:`LESSONS` under its URL slug (``/app?lesson=<slug>``).
Its builder takes the query arguments and the language (``"en"`` or ``"zh"``) and
returns a :class:`LessonPage`: a sidebar and a main area. Its prose lives in
``prose/<slug>.toml`` (:func:`components.words.lesson_text`), its navigation title too.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping


@dataclass
class LessonPage:
    """What a lesson shows: sidebar and main content, built per session."""

    sidebar: list
    main: list


@dataclass(frozen=True)
class Lesson:
    slug: str
    title: dict  # language -> navigation title (from the lesson's prose file)
    build: Callable[[dict, str], LessonPage]


def _titles(slug: str) -> dict:
    from ..words import LANGUAGES, lesson_text
    return {lang: lesson_text(slug, lang)["title"] for lang in LANGUAGES}


def _explorer(args: dict, lang: str) -> LessonPage:
    from ..explorer import Explorer, initial_state
    from ..model import ExplorerModel
    explorer = Explorer(lang=lang, model=ExplorerModel(**initial_state(args)))
    return LessonPage(sidebar=[explorer.sidebar()], main=[explorer.main()])


# --- the lessons of the article, in teaching order (builders import their modules lazily) ---

def _lazy(module: str, name: str, *extra) -> Callable[[dict, str], LessonPage]:
    def build(args: dict, lang: str) -> LessonPage:
        from importlib import import_module
        factory = getattr(import_module(f"{__name__}.{module}"), name)
        return factory(*extra)(args, lang) if extra else factory(args, lang)
    return build


# slug -> module of components.lessons, its builder, the builder's arguments
_ARTICLE = (
    ("chain-rule", "figures", "build", ("chain-rule",)),
    ("fan-out", "figures", "build", ("fan-out",)),
    ("stop-gradient", "figures", "build", ("stop-gradient",)),
    ("loss-value", "loss_value", "build", ()),
    ("input-gradients", "input_gradients", "build", ()),
    ("same-gradient", "same_gradient", "build", ()),
    ("loss-matters", "loss_matters", "build", ()),
    ("accumulation", "accumulation", "build", ()),
    ("vanishing", "vanishing", "build", ()),
)

# Every lesson, in navigation order: made once at import and read-only afterwards (a new
# lesson is a row of _ARTICLE and a prose file, not a registration at run time).
LESSONS: Mapping[str, Lesson] = MappingProxyType({
    "graph": Lesson("graph", _titles("graph"), _explorer),
    **{slug: Lesson(slug, _titles(slug), _lazy(module, name, *extra))
       for slug, module, name, extra in _ARTICLE},
})
