//! who_closes: the receiver loops until recv() gives None (R15), which happens only when
//! every Sender is dropped. Main keeps its own Sender: the loop never ends (tokio reports no
//! deadlock; the paused clock lets a one-hour timeout show the hang at once). The fix:
//! drop(tx).
use labkit_real::emit;
use std::time::Duration;
use tokio::sync::mpsc;

const C: &str = "who_closes";

fn main() {
    labkit_real::runtime().block_on(async {
        for variant in ["hang", "fix"] {
            emit(C, "variant", vec![("name", variant.into())]);
            let (tx, mut rx) = mpsc::channel::<i64>(4);
            let producer = tx.clone();
            tokio::spawn(async move {
                for i in 1..=3 {
                    producer.send(i).await.unwrap();
                }
            });
            let keep = if variant == "fix" {
                drop(tx);
                None
            } else {
                Some(tx) // main still holds a Sender
            };
            let consume = async {
                let mut sum = 0;
                while let Some(v) = rx.recv().await {
                    emit(C, "received", vec![("value", v.into())]);
                    sum += v;
                }
                emit(C, "done", vec![("sum", sum.into())]);
            };
            let start = tokio::time::Instant::now();
            if let Err(e) = tokio::time::timeout(Duration::from_secs(3600), consume).await {
                let waited = start.elapsed().as_secs();
                emit(C, "hang", vec![("display", e.to_string().into()), ("waited", waited.into())]);
            }
            drop(keep);
        }
    });
}
