//! try_send: never waits; a full channel gives Full(v), the value handed back (R12).
//! reserve() takes a slot before the message exists (R13); a Permit's send cannot fail.
//! With the receiver gone: Closed(v), and send() fails with SendError(v) (R9).
use labkit_real::emit;
use tokio::sync::mpsc::{self, error::TrySendError};

const C: &str = "try_send";

fn report(value: i64, result: Result<(), TrySendError<i64>>) {
    match result {
        Ok(()) => emit(C, "try_send", vec![("value", value.into()), ("result", "ok".into())]),
        Err(e) => {
            let display = e.to_string();
            let (kind, back) = match e {
                TrySendError::Full(v) => ("full", v),
                TrySendError::Closed(v) => ("closed", v),
            };
            emit(C, "try_send", vec![("value", value.into()), ("result", kind.into()),
                                     ("returned", back.into()), ("display", display.into())]);
        }
    }
}

fn main() {
    labkit_real::runtime().block_on(async {
        let (tx, mut rx) = mpsc::channel::<i64>(2);
        for v in 1..=3 {
            report(v, tx.try_send(v));
        }
        let v = rx.recv().await.unwrap();
        emit(C, "recv", vec![("value", v.into())]);
        let permit = tx.reserve().await.unwrap(); // a slot, before the work that makes the value
        emit(C, "reserved", vec![("capacity", tx.capacity().into())]);
        report(4, tx.try_send(4));
        permit.send(10);
        let mut values = Vec::new();
        values.push(rx.recv().await.unwrap());
        values.push(rx.recv().await.unwrap());
        emit(C, "drained", vec![("values", values.into())]);
        drop(rx);
        report(5, tx.try_send(5));
        if let Err(e) = tx.send(6).await {
            emit(C, "send", vec![("value", 6.into()), ("result", "error".into()),
                                 ("returned", e.0.into()), ("display", e.to_string().into())]);
        }
    });
}
