"""graphviz_core.collector: the collector held off while any thread holds it, and given back
as it was found."""

import doctest
import gc
import threading

from graphviz_core import collector
from graphviz_core.collector import paused


def test_collector_doctests():
    assert doctest.testmod(collector).failed == 0


def test_the_collector_comes_back_when_the_last_holder_leaves():
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def second():
        first_in.wait()
        with paused():
            second_in.set()
            first_out.wait()
            seen["while the other had left"] = gc.isenabled()
        seen["after both"] = gc.isenabled()

    thread = threading.Thread(target=second)
    thread.start()
    with paused():
        first_in.set()
        second_in.wait()
    first_out.set()
    thread.join()
    assert seen == {"while the other had left": False, "after both": True}
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    try:
        with paused():
            with paused():
                pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_error_inside_gives_the_collector_back():
    try:
        with paused():
            raise ValueError
    except ValueError:
        pass
    assert gc.isenabled()
