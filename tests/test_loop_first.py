"""components/loop_first.py: a page thread stops at its checkpoints while the event loop works,
and goes on once the loop waits in its selector again."""

from __future__ import annotations

import asyncio
import threading
import time

from components import loop_first


def test_a_page_thread_waits_while_the_loop_works_and_goes_on_when_it_is_idle(monkeypatch):
    monkeypatch.setattr(loop_first, "WAIT", 30.0)  # no slice while the test's loop works
    gate = loop_first.Gate()
    made, stop = [], threading.Event()

    def page_thread():
        loop_first._local.gate = gate  # as loop_first.join does in a page thread
        try:
            while not stop.is_set():
                gate.pause(wait=loop_first.WAIT)
                made.append(time.perf_counter())
                time.sleep(0.001)
        finally:
            loop_first._local.gate = None

    seen = {}

    def busy():  # one long turn of the loop: a slider release being derived, say
        start = len(made)
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:
            pass
        seen["during"] = len(made) - start

    async def main():
        loop = asyncio.get_running_loop()
        loop._selector = loop_first.IdleSelector(loop._selector, gate)
        thread = threading.Thread(target=page_thread)
        thread.start()
        await asyncio.sleep(0.2)  # idle: the thread runs
        seen["idle"] = len(made)
        loop.call_soon(busy)
        await asyncio.sleep(0.2)
        stop.set()
        await loop.run_in_executor(None, thread.join, 5)  # the loop idle meanwhile
        assert not thread.is_alive()

    # a loop of its own in a thread of its own: an earlier test of the same worker may have
    # left this thread marked as running a loop (CI run 81: "asyncio.run() cannot be called
    # from a running event loop")
    failed = []
    runner = threading.Thread(target=lambda: _run(main, failed))
    runner.start()
    runner.join(60)
    assert not runner.is_alive() and not failed, failed
    assert seen["idle"] > 5, "an idle loop must not hold a page thread"
    assert seen["during"] <= 1, "a page thread went on while the loop worked"
    assert len(made) > seen["idle"] + seen["during"], "the thread did not go on after the turn"


def _run(main, failed):
    try:
        asyncio.run(main())
    except BaseException as error:  # the test's thread reports it
        failed.append(error)


def test_a_thread_that_did_not_join_and_the_loop_never_wait():
    gate = loop_first.Gate()
    gate.idle.clear()  # a loop at work
    loop_first._local.gate = None
    start = time.perf_counter()
    for _ in range(1000):
        loop_first.checkpoint()  # the loop's own thread, or any other: not stopped
    assert time.perf_counter() - start < 1.0


def test_a_loop_never_idle_still_lets_a_page_thread_progress():
    gate = loop_first.Gate()
    gate.idle.clear()
    loop_first._local.gate = gate
    try:
        start = time.perf_counter()
        for _ in range(200):
            gate.pause(wait=0.01, run=10.0)  # one wait, then a slice longer than the loop
        waited = time.perf_counter() - start
    finally:
        loop_first._local.gate = None
        loop_first._local.free_until = 0.0
    assert waited < 1.0  # one wait of 0.01 s, not 200


def test_a_costly_derivation_in_its_worker_thread_gives_the_loop_way(monkeypatch):
    """components/budget.py's worker threads join the gate, and a derivation stops between
    its phases (components/model.py): a costly expression derived gives the loop way too."""
    import panel as pn

    from components import budget
    from components.model import ExplorerModel

    gate = loop_first.Gate()
    monkeypatch.setitem(pn.state.cache, "bpx_loop_gate", gate)
    monkeypatch.delitem(pn.state.cache, "bpx_derivations", raising=False)  # threads of its own
    pauses = []
    monkeypatch.setattr(gate, "pause", lambda *a, **k: pauses.append(threading.get_ident()))
    model = ExplorerModel(expression="x*y + sin(x)")
    model.values = {**model.values, "x": 0.25}  # a new value: a derivation over the tape
    model._replays = None  # ... made a full one, as a new expression's is
    pool = budget._pool()
    try:
        thread, joined = pool.submit(lambda: (threading.get_ident(), loop_first._local.gate)).result(10)
        assert joined is gate
        pool.submit(model._prepare()).result(10)
    finally:
        pool.shutdown(wait=True)
    assert pauses.count(thread) >= 4, "a full derivation passed too few checkpoints"
    assert set(pauses) == {thread}  # this (the loop's) thread never waits
