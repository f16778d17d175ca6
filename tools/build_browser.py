"""Write what Node needs to import the browser modules from disk, and check the page's module joins.

The page never reads a file this writes: each server process joins ``static/explorer/`` in
memory (``components/bundle.py``). Node imports the modules from the folder, so the two
generated ones (the op rules and the page's words) must be there as files; the tests write
them themselves, this is for trying a module by hand::

    python3 tools/build_browser.py                  # write static/explorer/*.generated.mjs
    python3 tools/build_browser.py --out page.mjs   # and the page's whole module, to read

Git ignores what it writes. Exit 1 (with the reason) if the modules do not join.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.bundle import BundleError, player_code, write_generated  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the page's whole module here")
    args = parser.parse_args(argv)
    for path in write_generated():
        print(f"wrote {path}")
    try:
        code = player_code()
    except BundleError as e:
        print(f"the modules of static/explorer/ do not join: {e}", file=sys.stderr)
        return 1
    if args.out:
        args.out.write_text(code, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
