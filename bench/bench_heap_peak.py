"""A crowd of pages alive at once, then closed: what the interpreter's heap keeps (no server).

    python bench/bench_heap_peak.py                  # 20 seed pages at once, twice
    python bench/bench_heap_peak.py --pages 10 --survivors   # and what outlived them

Why: after ``bench_sessions.py --abuse`` the server's RSS stays ~1.3-1.6x above its plateau,
and most of that is empty pools inside the interpreter's small-object arenas
(``heap.allocator_figures``). An arena of 1 MiB goes back to the system only once every block
in it is free; while a crowd of pages is alive, new arenas are made, and a few blocks made
then that outlive the crowd (caches, the last derivation's scene) keep them. This bench shows
that in one process in a minute: each page is built into a Document as a session's would be
(``tests/test_page_open.page_document``), then destroyed as Panel destroys a session's
document, and the heap is collected. It prints, in MiB, the arenas and the empty pools in
them before the crowd, at its peak, after it closed, and after a few more pages; with
``--survivors``, tracemalloc's count of blocks made during the crowd that are still alive
after it, by where they were made (slow: tracemalloc records every allocation; while it
traces, the interpreter reports no arenas, so the crowd's line shows RSS only).
"""

from __future__ import annotations

import argparse
import gc
import sys
import types
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def close(doc) -> None:
    """Destroy ``doc`` as a server destroys a closed session's document."""
    from panel.io.document import _destroy_document

    context = types.SimpleNamespace(_document=doc, id="bench")
    for callback in list(doc.session_destroyed_callbacks):
        try:  # outside a server some viewables were never registered with this document
            callback(context)
        except (KeyError, AttributeError):
            pass
    doc.destroy = None  # Panel's destroy deletes this attribute when it is done
    _destroy_document(doc, None)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def heap_line(label: str) -> str:
    from components.heap import allocator_figures

    f = allocator_figures()
    if f["arenas"] < 0:  # tracemalloc is tracing: the interpreter reports no arenas
        return f"{label:<28} {'-':>7} {'-':>6} {'-':>6} {f['c_free']:>6.0f} {rss_mb():>7.0f}"
    return (f"{label:<28} {f['arenas']:>7.0f} {f['free_pools']:>6.0f} "
            f"{f['arenas'] - f['free_pools']:>6.0f} {f['c_free']:>6.0f} {rss_mb():>7.0f}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=20, help="pages alive at once")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--survivors", action="store_true",
                    help="tracemalloc: blocks made during the crowd and alive after it")
    args = ap.parse_args()

    from test_page_open import page_document

    for _ in range(3):  # imports, first-use caches: the plateau of a warm server
        close(page_document({}))
    gc.collect()
    print(f"{'MiB':<28} {'arenas':>7} {'empty':>6} {'used':>6} {'C free':>6} {'RSS':>7}")
    print(heap_line("before"))
    for round_ in range(1, args.rounds + 1):
        if args.survivors:
            import tracemalloc
            tracemalloc.start(8)
            start = tracemalloc.take_snapshot()
        crowd = [page_document({}) for _ in range(args.pages)]
        print(heap_line(f"round {round_}: {args.pages} pages alive"))
        for doc in crowd:
            close(doc)
        del crowd, doc
        gc.collect()
        if args.survivors:
            end = tracemalloc.take_snapshot()
            tracemalloc.stop()
        print(heap_line(f"round {round_}: closed"))
        if args.survivors:
            survivors(start, end)
        for _ in range(3):
            close(page_document({}))
        gc.collect()
        print(heap_line(f"round {round_}: 3 pages after"))
    return 0


def survivors(start, end, shown: int = 15) -> None:
    """Blocks made between the two snapshots and alive at the second, by their innermost
    frames."""
    import tracemalloc

    own = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
    stats = end.filter_traces(own).compare_to(start.filter_traces(own), "traceback")
    sites: Counter = Counter()
    for stat in stats:
        if stat.count_diff > 0:
            frames = [f"{Path(f.filename).name}:{f.lineno}" for f in reversed(stat.traceback)][:3]
            sites[" <- ".join(frames)] += stat.count_diff
    print(f"  alive after the crowd: {sum(sites.values())} blocks made during it; by where made:")
    for site, count in sites.most_common(shown):
        print(f"  {count:>6}  {site}")


if __name__ == "__main__":
    sys.exit(main())
