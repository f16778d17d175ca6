"""Servers the tests and benchmarks start: a free port, and stopping a server's process group.

Each caller starts ``panel serve`` (or nginx, JupyterLab) with ``start_new_session=True``, so
the server leads a process group of its own (its pgid is its pid) and everything it started
can be stopped with it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess

__all__ = ["free_port", "stop_group"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_group(proc: subprocess.Popen, wait: float = 10.0) -> None:
    """SIGTERM, then SIGKILL, to ``proc``'s whole process group: ``wait`` s for the TERM,
    then no member of the group may stay (a leader gone before its children included)."""
    pgid = proc.pid  # start_new_session=True: the process leads its own group
    for sig, timeout in ((signal.SIGTERM, wait), (signal.SIGKILL, 5)):
        if _group_gone(pgid):
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            continue
        if not _group_gone(pgid):  # the leader is gone: no child of the group may stay
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        break
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
