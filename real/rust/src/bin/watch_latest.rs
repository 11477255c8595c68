//! watch_latest: a watch channel keeps only the latest value; changed() says "something new
//! since I last looked" (R26). Closed once the Sender is gone; a send with no receiver fails.
use labkit_real::emit;
use tokio::sync::watch;

const C: &str = "watch_latest";

fn main() {
    labkit_real::runtime().block_on(async {
        let (tx, mut rx) = watch::channel(0i64);
        for v in 1..=3 {
            tx.send(v).unwrap();
        }
        rx.changed().await.unwrap();
        let seen = *rx.borrow_and_update();
        emit(C, "seen", vec![("value", seen.into())]);
        emit(C, "has_changed", vec![("value", rx.has_changed().unwrap().into())]);
        drop(tx);
        if let Err(e) = rx.changed().await {
            emit(C, "closed", vec![("display", e.to_string().into())]);
        }
        let (tx, rx) = watch::channel(0i64);
        drop(rx);
        if let Err(e) = tx.send(1) {
            emit(C, "send", vec![("result", "error".into()), ("returned", e.0.into()), ("display", e.to_string().into())]);
        }
    });
}
