"""Rewrite the recorded journals in ``data/`` (the same bytes every time).

    python tools/make_data.py            # into data/
    python tools/make_data.py some/dir   # elsewhere (tests/test_data.py compares)

What each file is: ``data/README.md``; the code that records them:
:func:`labkit.scenarios.replay.write_data`.
"""

from __future__ import annotations

import sys

from labkit.scenarios.replay import main

if __name__ == "__main__":
    sys.exit(main())
