"""The trace's schema: one :class:`TraceRow` per event, of one :class:`EventKind`.

Defined once, here: the recorder (``Runtime.record``) builds rows in this field order, and
``Trace.df`` takes its columns from :data:`COLUMNS`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

__all__ = ("COLUMNS", "KIND_TEXT", "RECORDED", "EventKind", "TraceRow")


class EventKind(StrEnum):
    """What happened. A ``StrEnum``: ``EventKind.SEND == "send"``, so a DataFrame filter on
    ``df["kind"] == "send"`` works, and the column holds plain strings."""

    # tasks
    SPAWN = "spawn"          #: a goroutine, task or actor started (peer: its name)
    STOP = "stop"            #: a task or actor ended
    FAIL = "fail"            #: an exception escaped (a panic, a failed handler)
    ABORT = "abort"          #: a tokio task was aborted (R32)
    CANCEL = "cancel"        #: a context or a cancellation token was cancelled
    # channels and mailboxes
    SEND = "send"            #: a value entered a queue (or was handed to a receiver)
    TELL = "tell"            #: an actor message entered a mailbox without waiting
    FORWARD = "forward"      #: an actor passed a message on, keeping its sender
    BLOCK = "block"          #: a task started to wait (detail: why)
    UNBLOCK = "unblock"      #: a waiting task went on
    RECEIVE = "receive"      #: a consumer took a value
    DROP = "drop"            #: a value was lost (detail: why)
    CLOSE = "close"          #: a channel was closed
    LAGGED = "lagged"        #: a broadcast receiver fell behind and skipped values (R22)
    REJECT = "reject"        #: a send was refused and the sender was told
    # actors
    HANDLE_END = "handle_end"    #: an actor finished handling a message
    REPLY = "reply"          #: an ask was answered
    TIMEOUT = "timeout"      #: an ask gave up waiting
    DEAD_LETTER = "dead_letter"  #: a message nobody will handle, with its reason
    RESTART = "restart"      #: an actor was restarted
    ESCALATE = "escalate"    #: a supervisor gave up and handed the failure up
    BREAKER = "breaker"      #: a circuit breaker changed state
    # routing and flow control
    ROUTE = "route"          #: a router chose a worker (peer) for a message
    PAUSE = "pause"          #: a watermark paused producers
    RESUME = "resume"        #: a watermark let producers go on
    # scheduling and journal
    CHOICE = "choice"        #: the scheduler made a choice (which select case, ...)
    JOURNAL_APPEND = "journal_append"
    SNAPSHOT = "snapshot"
    REPLAY = "replay"
    RECOVERED = "recovered"
    NOTE = "note"            #: a scenario's own remark (``labkit.trace.record``)


class TraceRow(NamedTuple):
    """One event of a run. Every field but ``time``, ``seq`` and ``kind`` may be ``None``."""

    time: float              #: seconds on the run's clock (virtual under ``simulate``)
    seq: int                 #: order of recording, 0, 1, 2, ...
    kind: str                #: an :class:`EventKind`
    actor: str | None        #: the task that acted
    peer: str | None         #: the channel, mailbox or task acted on
    msg_id: int | None       #: the message's run-assigned id
    corr_id: int | None      #: the correlation id that ties rows of one request together
    msg_type: str | None     #: the message's type name
    depth: int | None        #: the queue's depth after the event
    model: str | None        #: ``"go"``, ``"rust"`` or ``"actor"``
    detail: str | None       #: a reason or note (why a message was dropped, ...)


#: Each kind's plain ``str``, the form rows store: an enum member is an object the garbage
#: collector tracks, and a row holding one could never be untracked, so every collection
#: would walk the whole trace. ``KIND_TEXT[kind]`` accepts a member or its value.
KIND_TEXT: dict[str, str] = {str(k.value): str(k.value) for k in EventKind}

#: The trace's columns, in row order.
COLUMNS: tuple[str, ...] = TraceRow._fields

#: What the recorder stores per event, in this order, one after another in one flat list
#: (``Runtime.events``): the columns but ``seq`` (an event's place in the list). ``time``
#: is stored as the clock read it; the run's start is subtracted when the trace is read.
#: Appending ten fields to one list costs less than keeping a tuple per event: the tuple
#: is freed at once and its memory reused, so a long run's trace is one growing array.
RECORDED: tuple[str, ...] = tuple(c for c in COLUMNS if c != "seq")
