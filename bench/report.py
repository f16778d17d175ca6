"""What the benchmarks print: a table under its head, ruled as wide as the head."""

from __future__ import annotations

import os
from typing import Callable, Iterable


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


def tree_cpu(pid: int, kind: Callable[[str], str] = lambda cmdline: "cpu") -> dict[str, float]:
    """CPU seconds (user + system) so far of process ``pid`` and its descendants, summed by
    ``kind(command line)``, and under ``"ended"`` the CPU of their children that ended and
    were reaped (a static-first builder process ends when idle: its CPU would otherwise
    vanish from the sum and give negative figures). Empty if ``pid`` is gone.

    >>> found = tree_cpu(os.getpid()); found["cpu"] > 0 and set(found) == {"cpu", "ended"}
    True
    """
    import psutil

    found: dict[str, float] = {}
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        return found
    for p in tree:
        try:
            name = kind(" ".join(p.cmdline()))
            times = p.cpu_times()
        except psutil.Error:
            continue  # ended meanwhile
        found[name] = found.get(name, 0.0) + times.user + times.system
        found["ended"] = found.get("ended", 0.0) + times.children_user + times.children_system
    return found
