//! restart: a JoinSet supervisor (R34). join_next() gives each task's outcome; a panicked
//! worker (R33) is respawned on the remaining jobs.
use labkit_real::emit;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::task::JoinSet;

const C: &str = "restart";

async fn worker(jobs: Arc<Mutex<VecDeque<&'static str>>>) {
    loop {
        let job = jobs.lock().unwrap().pop_front(); // the guard is gone before any panic
        match job {
            None => return,
            Some("poison") => panic!("poison job"),
            Some(j) => emit(C, "processed", vec![("job", j.into())]),
        }
    }
}

fn main() {
    labkit_real::quiet_panics();
    labkit_real::runtime().block_on(async {
        let jobs = Arc::new(Mutex::new(VecDeque::from(["a", "b", "poison", "c", "poison", "d"])));
        let mut set = JoinSet::new();
        set.spawn(worker(jobs.clone()));
        let mut restarts: i64 = 0;
        while let Some(outcome) = set.join_next().await {
            if let Err(e) = outcome {
                let display = e.to_string();
                let payload = e.into_panic();
                let payload = payload.downcast_ref::<&str>().copied().unwrap_or("?");
                emit(C, "recovered", vec![("display", payload.into()), ("join_error", display.into())]);
                restarts += 1;
                set.spawn(worker(jobs.clone()));
            }
        }
        emit(C, "done", vec![("restarts", restarts.into())]);
    });
}
