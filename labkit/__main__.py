"""``python -m labkit``: the ``labkit`` command (see :mod:`labkit.cli`)."""

from labkit.cli import main

raise SystemExit(main())
