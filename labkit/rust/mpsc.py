"""Placeholder: being implemented (see labkit/rust/__init__.py)."""

from __future__ import annotations

from typing import Any

__all__ = ("channel", "unbounded_channel", "sync_channel", "Sender", "Receiver", "Permit", "WeakSender", "SendError", "TrySendError", "SendTimeoutError", "TryRecvError", )

channel: Any = NotImplemented
unbounded_channel: Any = NotImplemented
sync_channel: Any = NotImplemented
Sender: Any = NotImplemented
Receiver: Any = NotImplemented
Permit: Any = NotImplemented
WeakSender: Any = NotImplemented
SendError: Any = NotImplemented
TrySendError: Any = NotImplemented
SendTimeoutError: Any = NotImplemented
TryRecvError: Any = NotImplemented
