"""``python3 -m components.words [--check]``: write (or check) static/explorer/words.generated.mjs."""

import sys

from . import main

sys.exit(main(sys.argv[1:]))
