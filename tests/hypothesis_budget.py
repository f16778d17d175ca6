"""How many examples a property test draws: the whole number when exploring (profile ``dev``),
a share chosen test by test under the derandomized CI profile (tests/conftest.py).

CI draws the same examples on every run, so a CI run re-checks what the last one checked;
the exploring is done by ``dev`` runs, each with a new seed and the full number. Every
``@example`` runs under both. The README's testing section lists each CI count and why.
"""

from __future__ import annotations

from hypothesis import settings


def examples(explore: int, ci: int) -> int:
    """``ci`` under a derandomized profile (``ci``), else ``explore``.

    >>> examples(500, 200) in (500, 200)
    True
    """
    return ci if settings.default.derandomize else explore
