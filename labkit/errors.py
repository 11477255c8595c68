"""Exceptions shared by every part of labkit."""

from __future__ import annotations

__all__ = ("Deadlock", "LabkitError", "NotInRunError")


class LabkitError(Exception):
    """Base class for errors raised by labkit itself (not by the Go or Rust model)."""


class NotInRunError(LabkitError, RuntimeError):
    """A labkit primitive was awaited outside ``labkit.simulate()`` / ``labkit.run()``."""


class Deadlock(LabkitError, RuntimeError):
    """Every task is blocked on a labkit primitive and no timer is pending (G33).

    The message keeps the Go runtime's wording, followed by what each task waits on.
    """
