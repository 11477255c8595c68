//! cancellation: cooperative, as with tokio-util's CancellationToken (R31); tokio-util is not
//! among Debian's vendored crates, so a watch channel plays the token here. A worker selects
//! on its jobs and on the token (`biased;`: queued jobs first). abort() cancels a task from
//! outside; its JoinHandle then gives "task N was cancelled" (R32).
use labkit_real::emit;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

const C: &str = "cancellation";

fn main() {
    labkit_real::runtime().block_on(async {
        let (cancel_tx, mut cancel_rx) = watch::channel(false);
        let (tx, mut rx) = mpsc::channel::<i64>(1);
        let worker = tokio::spawn(async move {
            let mut processed: i64 = 0;
            loop {
                tokio::select! {
                    biased;
                    Some(_) = rx.recv() => processed += 1,
                    _ = cancel_rx.changed() => {
                        emit(C, "stopped", vec![("processed", processed.into()), ("reason", "cancelled".into())]);
                        return;
                    }
                }
            }
        });
        for j in 0..3 {
            tx.send(j).await.unwrap();
        }
        cancel_tx.send(true).unwrap(); // token.cancel()
        worker.await.unwrap();
        let sleeper = tokio::spawn(tokio::time::sleep(Duration::from_secs(3600)));
        sleeper.abort();
        if let Err(e) = sleeper.await {
            emit(C, "aborted", vec![("cancelled", e.is_cancelled().into()), ("display", e.to_string().into())]);
        }
    });
}
