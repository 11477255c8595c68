//! ownership: sending moves the value (R37). Using it after the move is a compile error
//! (E0382), so that outcome is a fixed line, not something this program can run. At run
//! time: a clone sent is independent of the original; a moved Vec arrives whole.
use labkit_real::emit;
use tokio::sync::mpsc;

const C: &str = "ownership";

fn main() {
    labkit_real::runtime().block_on(async {
        // let v = vec![1]; tx.send(v).await; v[0] = 2;  // error[E0382]: borrow of moved value: `v`
        emit(C, "use_after_move", vec![("outcome", "rejected".into()), ("when", "compile".into())]);
        let (tx, mut rx) = mpsc::channel::<Vec<i64>>(2);
        let mut v = vec![1];
        tx.send(v.clone()).await.unwrap();
        v[0] = 99; // the original, after sending a clone
        let got = rx.recv().await.unwrap();
        emit(C, "received", vec![("kind", "clone".into()), ("value", got[0].into())]);
        tx.send(v).await.unwrap(); // moved: `v` is gone from here on
        let got = rx.recv().await.unwrap();
        emit(C, "received", vec![("kind", "moved".into()), ("value", got[0].into())]);
    });
}
