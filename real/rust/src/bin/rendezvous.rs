//! rendezvous: std's sync_channel(0) is a rendezvous (R2): a try_send finds no receiver.
//! tokio's bounded channel has no rendezvous (R8): channel(0) panics; channel(2) takes two
//! values (R12) and drains in FIFO order.
use labkit_real::emit;
use tokio::sync::mpsc;

const C: &str = "rendezvous";

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "?".to_string()
    }
}

fn main() {
    labkit_real::quiet_panics();
    labkit_real::runtime().block_on(async {
        let (tx, rx) = std::sync::mpsc::sync_channel::<i64>(0);
        let accepted = (1..=3).filter(|v| tx.try_send(*v).is_ok()).count();
        emit(C, "accepted", vec![("capacity", 0.into()), ("count", accepted.into())]);
        drop(tx);
        let values: Vec<i64> = rx.iter().collect();
        emit(C, "drained", vec![("capacity", 0.into()), ("values", values.into())]);

        let (tx, mut rx) = mpsc::channel::<i64>(2);
        let accepted = (1..=3).filter(|v| tx.try_send(*v).is_ok()).count();
        emit(C, "accepted", vec![("capacity", 2.into()), ("count", accepted.into())]);
        drop(tx);
        let mut values = Vec::new();
        while let Some(v) = rx.recv().await {
            values.push(v);
        }
        emit(C, "drained", vec![("capacity", 2.into()), ("values", values.into())]);

        let zero = std::panic::catch_unwind(|| mpsc::channel::<i64>(0));
        let display = match zero {
            Ok(_) => "no panic".to_string(),
            Err(payload) => panic_text(payload),
        };
        emit(C, "zero_capacity", vec![("outcome", "panic".into()), ("display", display.into())]);
    });
}
