"""The garbage collector held off while the core fills big structures that hold no cycles.

A trace makes several containers per node (networkx's dicts of dicts) and no reference
cycle. With the collector on, that many new containers set off its full passes, each over
every tracked object of the process (in a server: every session's models): most of what a
big trace cost (figures in bench/README.md, "Engine"). Nothing the core builds needs the
collector (reference counting frees it), so :func:`paused` holds it off meanwhile.

Process-wide, as the collector is: the holders of every thread are counted under one lock,
and the collector is turned on again when the last one leaves, only if it was on when the
first came.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

__all__ = ["paused"]


class _Holders:
    """The count of :func:`paused` blocks running in any thread, and whether the collector
    was on when the first began: the one process-wide state here (the collector's own)."""

    lock = threading.Lock()
    count = 0
    was_enabled = False


@contextmanager
def paused():
    """No automatic collection while the block runs (any thread may hold it at once).

    Examples
    --------
    >>> import gc
    >>> with paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    with _Holders.lock:
        if _Holders.count == 0:
            _Holders.was_enabled = gc.isenabled()
            gc.disable()
        _Holders.count += 1
    try:
        yield
    finally:
        with _Holders.lock:
            _Holders.count -= 1
            if _Holders.count == 0 and _Holders.was_enabled:
                gc.enable()
