"""Placeholder: being implemented (see labkit/rust/__init__.py)."""

from __future__ import annotations

from typing import Any

__all__ = ("spawn", "JoinHandle", "JoinError", "JoinSet", )

spawn: Any = NotImplemented
JoinHandle: Any = NotImplemented
JoinError: Any = NotImplemented
JoinSet: Any = NotImplemented
