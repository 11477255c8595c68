"""Placeholder: being implemented (see labkit/rust/__init__.py)."""

from __future__ import annotations

from typing import Any

__all__ = ("select", )

select: Any = NotImplemented
