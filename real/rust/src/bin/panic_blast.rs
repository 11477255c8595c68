//! panic_blast: a panic in a task is caught by the runtime; awaiting its JoinHandle gives a
//! JoinError ("task N panicked"); other tasks and main go on (R33).
use labkit_real::emit;

const C: &str = "panic_blast";

fn main() {
    labkit_real::quiet_panics();
    labkit_real::runtime().block_on(async {
        let bad = tokio::spawn(async { panic!("boom") });
        let good = tokio::spawn(async { 42i64 });
        let bad: Result<i64, _> = bad.await;
        if let Err(e) = bad {
            let display = e.to_string();
            let payload = e.into_panic();
            let payload = payload.downcast_ref::<&str>().copied().unwrap_or("?");
            emit(C, "join", vec![("task", "bad".into()), ("result", "panic".into()),
                                 ("display", display.into()), ("payload", payload.into())]);
        }
        if let Ok(v) = good.await {
            emit(C, "join", vec![("task", "good".into()), ("result", "ok".into()), ("value", v.into())]);
        }
        emit(C, "main_finished", vec![]);
    });
}
