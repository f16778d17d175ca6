"""Files the repository commits but a program writes: write one, or check it is fresh.

Used by every generator (the page's op rules, its words, the browser bundle), so each
says the same thing when its file is stale and CI checks them all the same way.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
>>> write_or_check(path, "one\\n", check=True, rebuild="make it")
1
>>> write_or_check(path, "one\\n", check=False, rebuild="make it")  # doctest: +ELLIPSIS
wrote .../out.txt
0
>>> write_or_check(path, "one\\n", check=True, rebuild="make it")
0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["write_or_check", "check_flag"]


def check_flag(doc: str, argv: list[str] | None) -> bool:
    """A generator's command line: ``--check`` (write nothing; exit 1 if a committed file
    differs) or nothing; ``doc``'s first line is its description.

    Examples
    --------
    >>> check_flag("Write the file.", ["--check"]), check_flag("Write the file.", [])
    (True, False)
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if a committed file differs")
    return parser.parse_args(argv).check


def write_or_check(path: Path, text: str, check: bool, rebuild: str) -> int:
    """Write ``text`` to ``path``; with ``check``, write nothing and return 1 if ``path``
    holds anything else (saying on stderr to run ``rebuild``), else 0."""
    if check:
        fresh = path.is_file() and path.read_text(encoding="utf-8") == text
        if not fresh:
            print(f"{path.name} is stale: run {rebuild}", file=sys.stderr)
        return 0 if fresh else 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0
