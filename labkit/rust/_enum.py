"""Placeholder: being implemented (see labkit/rust/__init__.py)."""

from __future__ import annotations

from typing import Any

__all__ = ("enum", "match_exhaustive", "NonExhaustiveMatch", )

enum: Any = NotImplemented
match_exhaustive: Any = NotImplemented
NonExhaustiveMatch: Any = NotImplemented
