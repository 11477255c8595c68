"""labkit's benchmarks: ``make bench`` (``python -m benchmarks``) measures labkit's channels
and actors against asyncio, anyio and Pykka, and virtual time against its target.

Method and the latest reference figures are in ``benchmarks/README.md``.
"""
