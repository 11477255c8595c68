//! broadcast_lag: capacity 3 is rounded up to 4 (so 6 sends leave 3..6 held); a receiver that falls 2 behind gets
//! Lagged(2), then the oldest value still held (R23, R24); Closed once every Sender is gone
//! and it has drained (R25); a send with no receiver fails.
use labkit_real::emit;
use tokio::sync::broadcast::{self, error::RecvError};

const C: &str = "broadcast_lag";

fn main() {
    labkit_real::runtime().block_on(async {
        let (tx, mut rx) = broadcast::channel::<i64>(3);
        for v in 1..=6 {
            tx.send(v).unwrap();
        }
        let mut tx = Some(tx);
        loop {
            match rx.recv().await {
                Ok(v) => {
                    emit(C, "recv", vec![("value", v.into())]);
                    if v == 6 {
                        tx = None; // drop the only Sender
                    }
                }
                Err(e) => {
                    let display = e.to_string();
                    match e {
                        RecvError::Lagged(k) => emit(C, "lagged", vec![("count", k.into()), ("display", display.into())]),
                        RecvError::Closed => {
                            emit(C, "closed", vec![("display", display.into())]);
                            break;
                        }
                    }
                }
            }
        }
        drop(tx);
        let (tx, rx) = broadcast::channel::<i64>(1);
        drop(rx);
        if let Err(e) = tx.send(1) {
            emit(C, "send", vec![("result", "error".into()), ("returned", e.0.into()), ("display", e.to_string().into())]);
        }
    });
}
