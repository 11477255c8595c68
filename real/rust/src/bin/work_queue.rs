//! work_queue: two workers, one four times slower, 12 jobs, in virtual time (paused clock).
//! Shared: both take from one Receiver behind a Mutex (tokio mpsc has one consumer), so the
//! fast worker takes more; per worker: a channel each, round robin, half each.
use labkit_real::emit;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Mutex};

const C: &str = "work_queue";
const JOBS: i64 = 12;

fn cost(name: &str) -> Duration {
    Duration::from_millis(if name == "fast" { 2 } else { 8 })
}

async fn run(layout: &str) -> Duration {
    let start = tokio::time::Instant::now();
    let names = ["fast", "slow"];
    let mut handles = Vec::new();
    if layout == "shared" {
        let (tx, rx) = mpsc::channel::<i64>(JOBS as usize);
        for j in 0..JOBS {
            tx.send(j).await.unwrap();
        }
        drop(tx);
        let rx = Arc::new(Mutex::new(rx));
        for name in names {
            let rx = rx.clone();
            handles.push(tokio::spawn(async move {
                let mut count: i64 = 0;
                loop {
                    let job = rx.lock().await.recv().await;
                    if job.is_none() {
                        return count;
                    }
                    tokio::time::sleep(cost(name)).await;
                    count += 1;
                }
            }));
        }
    } else {
        for (i, name) in names.iter().enumerate() {
            let (tx, mut rx) = mpsc::channel::<i64>(JOBS as usize);
            for j in (0..JOBS).filter(|j| (*j as usize) % 2 == i) {
                tx.send(j).await.unwrap();
            }
            drop(tx);
            let name = *name;
            handles.push(tokio::spawn(async move {
                let mut count: i64 = 0;
                while rx.recv().await.is_some() {
                    tokio::time::sleep(cost(name)).await;
                    count += 1;
                }
                count
            }));
        }
    }
    for (name, handle) in names.iter().zip(handles) {
        let count = handle.await.unwrap();
        emit(C, "jobs", vec![("layout", layout.into()), ("worker", (*name).into()), ("count", count.into())]);
    }
    start.elapsed()
}

fn main() {
    labkit_real::runtime().block_on(async {
        let shared = run("shared").await;
        let per_worker = run("per_worker").await;
        let faster = if per_worker < shared { "per_worker" } else { "shared" };
        emit(C, "faster", vec![("layout", faster.into())]);
    });
}
