//! error_texts: what tokio's errors display (their `Display`), each produced for real:
//! mpsc (R9, R12, R15, R19), oneshot (R22), broadcast (R23-R25), watch (R26), timeout
//! (R36), Semaphore (R35), JoinError (R32, R33).
use labkit_real::emit;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch, Semaphore};

const C: &str = "error_texts";

fn text(error: &str, display: String) {
    emit(C, "error", vec![("error", error.into()), ("display", display.into())]);
}

fn main() {
    labkit_real::quiet_panics();
    labkit_real::runtime().block_on(async {
        let (tx, mut rx) = mpsc::channel::<i64>(1);
        text("mpsc::TryRecvError::Empty", rx.try_recv().unwrap_err().to_string());
        tx.try_send(1).unwrap();
        text("mpsc::TrySendError::Full", tx.try_send(2).unwrap_err().to_string());
        text("mpsc::SendTimeoutError::Timeout",
             tx.send_timeout(2, Duration::from_secs(1)).await.unwrap_err().to_string());
        rx.close();
        text("mpsc::TrySendError::Closed", tx.try_send(3).unwrap_err().to_string());
        text("mpsc::SendError", tx.send(3).await.unwrap_err().to_string());
        text("mpsc::SendTimeoutError::Closed",
             tx.send_timeout(3, Duration::from_secs(1)).await.unwrap_err().to_string());
        rx.recv().await.unwrap();
        drop(tx);
        text("mpsc::TryRecvError::Disconnected", rx.try_recv().unwrap_err().to_string());

        let (otx, mut orx) = oneshot::channel::<i64>();
        text("oneshot::TryRecvError::Empty", orx.try_recv().unwrap_err().to_string());
        drop(otx);
        text("oneshot::TryRecvError::Closed", orx.try_recv().unwrap_err().to_string());
        let (otx, orx) = oneshot::channel::<i64>();
        drop(otx);
        text("oneshot::RecvError", orx.await.unwrap_err().to_string());

        let (btx, mut brx) = broadcast::channel::<i64>(1);
        text("broadcast::TryRecvError::Empty", brx.try_recv().unwrap_err().to_string());
        btx.send(1).unwrap();
        btx.send(2).unwrap();
        text("broadcast::RecvError::Lagged", brx.recv().await.unwrap_err().to_string());
        brx.recv().await.unwrap();
        drop(btx);
        text("broadcast::RecvError::Closed", brx.recv().await.unwrap_err().to_string());
        let (btx, brx) = broadcast::channel::<i64>(1);
        drop(brx);
        text("broadcast::SendError", btx.send(1).unwrap_err().to_string());

        let (wtx, wrx) = watch::channel(0i64);
        drop(wrx);
        text("watch::SendError", wtx.send(1).unwrap_err().to_string());
        let (wtx, mut wrx) = watch::channel(0i64);
        drop(wtx);
        text("watch::RecvError", wrx.changed().await.unwrap_err().to_string());

        let elapsed = tokio::time::timeout(Duration::from_secs(1), std::future::pending::<()>());
        text("time::Elapsed", elapsed.await.unwrap_err().to_string());

        let sem = Arc::new(Semaphore::new(0));
        text("TryAcquireError::NoPermits", sem.try_acquire().unwrap_err().to_string());
        sem.close();
        text("TryAcquireError::Closed", sem.try_acquire().unwrap_err().to_string());
        text("AcquireError", sem.acquire().await.unwrap_err().to_string());

        let panicked = tokio::spawn(async { panic!("boom") }).await;
        let panicked: Result<(), _> = panicked;
        text("JoinError::Panic", panicked.unwrap_err().to_string());
        let sleeper = tokio::spawn(tokio::time::sleep(Duration::from_secs(3600)));
        sleeper.abort();
        text("JoinError::Cancelled", sleeper.await.unwrap_err().to_string());
    });
}
