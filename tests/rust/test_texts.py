"""The errors' texts are the real runtime's (issue 12): tokio 1.24's ``Display`` for the
tokio types, std's for ``std::sync::mpsc``. The live tests (tests/test_real_live.py) check
the tokio texts against the vendored tokio sources when they are installed."""

from __future__ import annotations

from typing import Any

import pytest

import labkit
from labkit import rust
from labkit.rust import broadcast, mpsc, oneshot, watch
from labkit.rust._sync import AcquireError, TryAcquireError

#: labkit's error -> the text tokio 1.24 (or std) displays for it.
TOKIO_TEXTS: list[tuple[str, Any, str]] = [
    ("mpsc::error::SendError", mpsc.SendError(1), "channel closed"),
    ("mpsc::error::TrySendError::Full", mpsc.TrySendError.Full(1), "no available capacity"),
    ("mpsc::error::TrySendError::Closed", mpsc.TrySendError.Closed(1), "channel closed"),
    ("mpsc::error::SendTimeoutError::Timeout", mpsc.SendTimeoutError.Timeout(1),
     "timed out waiting on send operation"),
    ("mpsc::error::SendTimeoutError::Closed", mpsc.SendTimeoutError.Closed(1),
     "channel closed"),
    ("mpsc::error::TryRecvError::Empty", mpsc.TryRecvError.Empty,
     "receiving on an empty channel"),
    ("mpsc::error::TryRecvError::Disconnected", mpsc.TryRecvError.Disconnected,
     "receiving on a closed channel"),
    ("oneshot::error::RecvError", mpsc.RecvError(tokio=True), "channel closed"),
    ("oneshot::error::TryRecvError::Empty", oneshot.TryRecvError.Empty, "channel empty"),
    ("oneshot::error::TryRecvError::Closed", oneshot.TryRecvError.Closed, "channel closed"),
    ("broadcast::error::SendError", broadcast.SendError(1), "channel closed"),
    ("broadcast::error::RecvError::Closed", broadcast.RecvError.Closed, "channel closed"),
    ("broadcast::error::RecvError::Lagged", broadcast.RecvError.Lagged(2),
     "channel lagged by 2"),
    ("broadcast::error::TryRecvError::Empty", broadcast.TryRecvError.Empty, "channel empty"),
    ("broadcast::error::TryRecvError::Lagged", broadcast.TryRecvError.Lagged(3),
     "channel lagged by 3"),
    ("watch::error::SendError", watch.SendError(1), "channel closed"),
    ("watch::error::RecvError", watch.RecvError(), "channel closed"),
    ("time::error::Elapsed", rust.Elapsed(), "deadline has elapsed"),
    ("sync::AcquireError", AcquireError(), "semaphore closed"),
    ("sync::TryAcquireError::NoPermits", TryAcquireError("NoPermits"),
     "no permits available"),
    ("sync::TryAcquireError::Closed", TryAcquireError("Closed"), "semaphore closed"),
    ("task::JoinError (panic)", rust.JoinError("7", "panic", ValueError("boom")),
     "task 7 panicked"),
    ("task::JoinError (cancelled)", rust.JoinError("7", "cancelled"), "task 7 was cancelled"),
]

#: std::sync::mpsc's texts (rustc 1.95), for labkit's std channels.
STD_TEXTS = {
    "SendError": "sending on a closed channel",
    "RecvError": "receiving on a closed channel",
    "TrySendError::Full": "sending on a full channel",
    "TrySendError::Disconnected": "sending on a closed channel",
    "RecvTimeoutError::Timeout": "timed out waiting on channel",
    "RecvTimeoutError::Disconnected": "channel is empty and sending half is closed",
}


@pytest.mark.parametrize(("rust_type", "error", "text"), TOKIO_TEXTS,
                         ids=[t[0] for t in TOKIO_TEXTS])
def test_r9_r12_r24_r33_errors_display_tokio_texts(rust_type: str, error: Any,
                                                   text: str) -> None:
    assert str(error) == text, rust_type


def test_r9_r22_texts_of_real_failures_are_tokio_s() -> None:
    async def main() -> list[str]:
        tx, rx = rust.mpsc.channel(1)
        rx.drop()
        sent = await tx.send(1)
        one_tx, one_rx = rust.oneshot.channel()
        one_tx.drop()
        got = await one_rx
        return [str(sent.unwrap_err()), str(got.unwrap_err())]

    assert labkit.simulate(main).result == ["channel closed", "channel closed"]


def test_r2_r4_r5_std_channels_display_std_texts() -> None:
    async def main() -> dict[str, str]:
        texts = {}
        tx, rx = rust.mpsc.std_channel()
        rx.drop()
        texts["SendError"] = str(tx.send(1).unwrap_err())
        tx2, rx2 = rust.mpsc.std_channel()
        tx2.drop()
        texts["RecvError"] = str((await rx2.recv()).unwrap_err())
        stx, srx = rust.mpsc.sync_channel(0)
        texts["TrySendError::Full"] = str(stx.try_send(1).unwrap_err())
        srx.drop()
        texts["TrySendError::Disconnected"] = str(stx.try_send(1).unwrap_err())
        ttx, trx = rust.mpsc.std_channel()
        texts["RecvTimeoutError::Timeout"] = str((await trx.recv_timeout(0.1)).unwrap_err())
        ttx.drop()
        texts["RecvTimeoutError::Disconnected"] = str(
            (await trx.recv_timeout(0.1)).unwrap_err())
        return texts

    assert labkit.simulate(main).result == STD_TEXTS


def test_r5_text_takes_no_part_in_equality() -> None:
    std_error = mpsc.SendError(1)
    std_error.std = True
    assert std_error == mpsc.SendError(1)
    assert str(std_error) != str(mpsc.SendError(1))
    assert mpsc.RecvError(tokio=True) == mpsc.RecvError()


def test_r8_zero_capacity_is_a_value_error_where_tokio_panics() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        rust.mpsc.channel(0)
    assert "tokio panics" in (rust.mpsc.channel.__doc__ or "")
    assert "tokio panics" in (rust.broadcast.channel.__doc__ or "")
