"""Where the test suite's time goes: CPU and wall time per test module, browsers and servers included.

A pytest plugin. Each test process (an xdist worker, or pytest itself with ``-n 0``) samples
the CPU time of its whole process tree - itself, the ``panel serve``, Chromium, Jupyter and
kernels it started, and every child already reaped - when a module begins and ends, so a
module is charged for what its servers and pages cost while it ran::

    SUITE_CPU=/tmp/cpu python3 -m pytest -q -p tools.suite_cpu tests/ui/test_explorer.py
    python3 -m tools.suite_cpu /tmp/cpu        # the table: module, tests, CPU s, wall s
    python3 -m tools.suite_cpu /tmp/cpu 40     # and the 40 slowest tests, by wall and by CPU

Each process also keeps when each of its tests began and ended (``timeline``, epoch seconds),
so the table says when each process ended its last test: which worker set the run's wall time.

Time before a process's first test (imports, collection) is charged to ``(start)``. Chromium's
renderers leave the tree without being reaped into pytest (so ``/usr/bin/time`` never sees
their CPU), and a sum over the live tree drops when they go: a thread therefore reads every
process below the test process every 0.2 s and keeps the last CPU time it saw of each, dead
ones included (a process that lives less than 0.2 s may be missed).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path


class TreeCPU:
    """User + system seconds of this process and of every process seen below it, gone or not:
    a thread reads them every ``period`` seconds."""

    def __init__(self, period: float = 0.2):
        import psutil

        self.me, self.period = psutil.Process(), period
        self.last: dict[tuple[int, float], float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        threading.Thread(target=self._run, name="suite_cpu", daemon=True).start()

    def _run(self) -> None:
        while not self.stop.wait(self.period):
            self.sample()

    def sample(self) -> None:
        import psutil

        try:
            below = self.me.children(recursive=True)
        except psutil.Error:
            return
        for proc in below:
            try:
                key, t = (proc.pid, proc.create_time()), proc.cpu_times()
            except psutil.Error:  # gone between the listing and the reading
                continue
            with self.lock:
                self.last[key] = max(self.last.get(key, 0.0), t.user + t.system)

    def __call__(self) -> float:
        self.sample()
        t = self.me.cpu_times()  # its own only: reaped children were read while they lived
        with self.lock:
            return t.user + t.system + sum(self.last.values())


class _Meter:
    def __init__(self, out: Path):
        self.out = out
        self.modules: dict[str, dict] = {}
        self.tests: dict[str, float] = {}
        self.test_cpu: dict[str, float] = {}  # setup + call + teardown, its processes included
        self.test_start = 0.0
        self.timeline: list[tuple[str, float, float]] = []  # nodeid, start, end (epoch s)
        self.test_wall = 0.0
        self.current = "(start)"
        self.tree_cpu = TreeCPU()
        self.cpu, self.wall = self.tree_cpu(), time.monotonic()

    def switch(self, module: str) -> None:
        cpu, wall = self.tree_cpu(), time.monotonic()
        row = self.modules.setdefault(self.current, {"cpu": 0.0, "wall": 0.0, "tests": 0})
        row["cpu"] += cpu - self.cpu
        row["wall"] += wall - self.wall
        self.current, self.cpu, self.wall = module, cpu, wall

    def write(self) -> None:
        self.switch("(end)")
        self.out.mkdir(parents=True, exist_ok=True)
        name = os.environ.get("PYTEST_XDIST_WORKER", "main")
        (self.out / f"{name}-{os.getpid()}.json").write_text(
            json.dumps({"modules": self.modules, "tests": self.tests, "test_cpu": self.test_cpu,
                        "timeline": self.timeline},
                       indent=1))


_meter: _Meter | None = None


def pytest_configure(config):
    global _meter
    out = os.environ.get("SUITE_CPU")
    if out and not hasattr(config, "workerinput") and config.getoption("numprocesses", None):
        return  # the xdist controller runs no test
    if out:
        _meter = _Meter(Path(out))


def pytest_runtest_logstart(nodeid, location):
    if _meter is not None:
        module = nodeid.split("::", 1)[0]
        if module != _meter.current:
            _meter.switch(module)
        _meter.modules.setdefault(module, {"cpu": 0.0, "wall": 0.0, "tests": 0})["tests"] += 1
        _meter.test_start = _meter.tree_cpu()
        _meter.test_wall = time.time()


def pytest_runtest_logfinish(nodeid, location):
    if _meter is not None:
        spent = _meter.tree_cpu() - _meter.test_start
        _meter.test_cpu[nodeid] = _meter.test_cpu.get(nodeid, 0.0) + spent
        _meter.timeline.append((nodeid, _meter.test_wall, time.time()))


def pytest_runtest_logreport(report):
    if _meter is not None:
        _meter.tests[report.nodeid] = _meter.tests.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    if _meter is not None:
        _meter.write()


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    modules: dict[str, dict] = {}
    tests: dict[str, float] = {}
    test_cpu: dict[str, float] = {}
    workers = []
    timelines = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        workers.append((path.stem, sum(r["cpu"] for r in data["modules"].values()),
                        sum(r["wall"] for r in data["modules"].values())))
        if data.get("timeline"):
            timelines[path.stem] = data["timeline"]
        for name, row in data["modules"].items():
            into = modules.setdefault(name, {"cpu": 0.0, "wall": 0.0, "tests": 0})
            for k in into:
                into[k] += row[k]
        tests.update(data["tests"])
        test_cpu.update(data.get("test_cpu", {}))
    print(f"{'module':58} {'tests':>5} {'CPU s':>7} {'wall s':>7}")
    for name, row in sorted(modules.items(), key=lambda kv: -kv[1]["cpu"]):
        print(f"{name:58} {row['tests']:5d} {row['cpu']:7.1f} {row['wall']:7.1f}")
    print(f"{'total':58} {sum(r['tests'] for r in modules.values()):5d} "
          f"{sum(r['cpu'] for r in modules.values()):7.1f} {sum(r['wall'] for r in modules.values()):7.1f}")
    for name, cpu, wall in workers:
        print(f"  process {name}: CPU {cpu:.1f} s, wall {wall:.1f} s")
    if timelines:  # the critical path: when each process ended its tests, and on what
        t0 = min(line[0][1] for line in timelines.values())
        for name, line in timelines.items():
            last = line[-1]
            print(f"  process {name}: tests from {line[0][1] - t0:.0f} s to {last[2] - t0:.0f} s, "
                  f"last {last[0].split('@')[0]} ({last[2] - last[1]:.1f} s)")
    top = int(argv[1]) if len(argv) > 1 else 25
    print(f"\nslowest {top} tests (setup + call + teardown, wall s)")
    for nodeid, seconds in sorted(tests.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{seconds:7.2f}  {nodeid}")
    if test_cpu:
        # a module-scoped fixture's setup is charged to its first test, its teardown to its last
        print(f"\ncostliest {top} tests (setup + call + teardown, CPU s, its processes included)")
        for nodeid, seconds in sorted(test_cpu.items(), key=lambda kv: -kv[1])[:top]:
            print(f"{seconds:7.2f}  {nodeid}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
