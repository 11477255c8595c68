//! ping_pong: a task owns the mpsc Receiver (R8, R15); each request carries a oneshot Sender
//! for the reply (R22, R40). Three rounds.
use labkit_real::emit;
use tokio::sync::{mpsc, oneshot};

const C: &str = "ping_pong";

async fn pong(mut rx: mpsc::Receiver<(i64, oneshot::Sender<i64>)>) {
    while let Some((ball, reply)) = rx.recv().await {
        emit(C, "hit", vec![("by", "pong".into()), ("ball", (ball + 1).into())]);
        let _ = reply.send(ball + 1);
    }
}

fn main() {
    labkit_real::runtime().block_on(async {
        let (tx, rx) = mpsc::channel(1);
        let pong = tokio::spawn(pong(rx));
        let mut ball: i64 = 0;
        for _ in 0..3 {
            emit(C, "hit", vec![("by", "ping".into()), ("ball", ball.into())]);
            let (reply_tx, reply_rx) = oneshot::channel();
            tx.send((ball, reply_tx)).await.unwrap();
            ball = reply_rx.await.unwrap();
        }
        drop(tx); // the last Sender: pong's recv() gives None
        pong.await.unwrap();
        emit(C, "result", vec![("ball", ball.into())]);
    });
}
