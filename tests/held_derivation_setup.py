"""``panel serve app.py --setup tests/held_derivation_setup.py`` with ``BPX_HELD_DERIVATION=PATH``:
each derivation that leaves the event loop (:class:`components.budget.Deriver`'s worker job)
prints ``bpx-derive held thread=NAME`` on stdout and then waits until the file PATH exists
(at most 120 s) before it computes. A test can so hold a costly build for as long as it
needs, and see that the event loop keeps serving the other students meanwhile: were the
build on the loop, the loop would be held too. Used by tests/test_abuse.py; changes nothing
else."""

import os
import threading
import time

from components import budget

_work = budget.Deriver._work
_flag = os.environ["BPX_HELD_DERIVATION"]


def _held(self, job):
    print(f"bpx-derive held thread={threading.current_thread().name}", flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(_flag) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _work(self, job)


budget.Deriver._work = _held
