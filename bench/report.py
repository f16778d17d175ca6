"""What the benchmarks print: a table under its head, ruled as wide as the head."""

from __future__ import annotations

import os
from typing import Iterable


def print_table(head: str, lines: Iterable[str], note: str = "") -> None:
    """``head``, a rule as wide, one line per row, then ``note`` (what the columns mean)."""
    print(head)
    print("-" * len(head))
    for line in lines:
        print(line)
    if note:
        print(note)


def live_app_measured() -> None:
    """Servers this bench starts open every page live: a default link is otherwise answered
    static-first (components/first_page.py) and would have no session to measure."""
    os.environ.setdefault("BPX_STATIC_FIRST", "0")
