"""Derivations that every session would make alike, made once per server process.

A class opens the same link: every student's page derives the same graph at the same values
(the seed expression, a lesson's example, ``mlp(2, 60, 60, 1)`` at its layers). Building,
tracing, laying out and scheduling it is the same work each time, and for a big network the
largest part of opening the page. :class:`SharedDerivations` keeps each derivation once, as
the bytes of a pickle (immutable) and, made from them on first use, one copy that every
session taking it reads and none writes: a session makes its own copy from the bytes
(:meth:`Shared.copy`) before it first changes its graph (a slider release writes new numbers
into it), so no session ever sees another one's changes.

The cache is bounded (entries and bytes, least recently used first out) and belongs to the
server process (:func:`shared_derivations`, kept in ``pn.state.cache``); nothing here holds
state at module level.
"""

from __future__ import annotations

import io
import pickle
import threading
from collections import OrderedDict

import panel as pn

from graphviz_core.engine import OPS, Op

MAX_ENTRIES = 32
MAX_BYTES = 32 * 2**20  # pickles; the 11,586-node MLP at its layers is 4.5 MB
CACHE_KEY = "bpx_shared_derivations"


def _op_named(name: str) -> Op:
    return OPS[name]


def _reduce_op(op: Op):
    # an op is one of the engine's table (its rules are functions): pickled by its name
    return _op_named, (op.name,)


def freeze(value) -> bytes:
    """``value`` as bytes; the engine's ops inside it are kept by name (:data:`OPS`).

    >>> from graphviz_core import parse, trace
    >>> from graphviz_core.tape import Replay
    >>> e = parse("x*x + 1")
    >>> g = trace(e.build({"x": 3.0}))
    >>> copy, replay = thaw(freeze((g, Replay(g, e.variables))))
    >>> replay.graph is copy, copy.nodes[3]["value"]
    (True, 10.0)
    """
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {Op: _reduce_op}
    pickler.dump(value)
    return out.getvalue()


def thaw(data: bytes):
    """A new copy of what :func:`freeze` was given (objects shared inside it stay shared)."""
    return pickle.loads(data)


class Shared:
    """One derivation in the cache: :attr:`value` is read by every session that takes it
    and written by none; :meth:`copy` is a session's own.

    >>> entry = Shared(freeze({"x": [1.0]}))
    >>> mine = entry.copy(); mine["x"].append(2.0)
    >>> entry.value, entry.value is entry.value, mine
    ({'x': [1.0]}, True, {'x': [1.0, 2.0]})
    """

    __slots__ = ("data", "_value")

    def __init__(self, data: bytes):
        self.data = data
        self._value = None

    @property
    def value(self):
        """The shared copy (made from the bytes on first use): read it, never write it."""
        if self._value is None:
            self._value = thaw(self.data)  # two threads may both make it: either is right
        return self._value

    def copy(self):
        """A new copy, the caller's own."""
        return thaw(self.data)


class SharedDerivations:
    """A bounded, thread-safe map from a derivation's inputs to its :class:`Shared` result.

    ``put`` stores a snapshot of a value, ``get`` returns its entry (or None); ``hits``,
    ``misses`` and ``stored`` count what happened.

    >>> cache = SharedDerivations(max_entries=2)
    >>> cache.put("a", {"x": [1.0]})
    >>> cache.get("a").value, cache.get("b"), (cache.hits, cache.misses)
    ({'x': [1.0]}, None, (1, 1))
    """

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._entries: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # heavy derivations run in worker threads (budget.py)
        self.hits = self.misses = self.stored = 0

    def get(self, key) -> Shared | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key, value) -> None:
        data = freeze(value)
        if len(data) > self.max_bytes or self.max_entries < 1:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            self._bytes += len(data) - (len(old.data) if old is not None else 0)
            self._entries[key] = Shared(data)
            self.stored += 1
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.data)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes of pickles held (each entry's shared copy, once made, takes a few times more)."""
        return self._bytes


def shared_derivations() -> SharedDerivations:
    """The server process's cache (made on first use; one per process, in ``pn.state.cache``)."""
    cache = pn.state.cache.get(CACHE_KEY)
    if cache is None:
        cache = pn.state.cache.setdefault(CACHE_KEY, SharedDerivations())
    return cache
