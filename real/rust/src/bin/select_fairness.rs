//! select_fairness: select! starts at a random branch, so with both ready each wins about
//! half the time; with `biased;` the first ready branch always wins (R28).
use labkit_real::emit;
use std::future::ready;

const C: &str = "select_fairness";
const TOTAL: i64 = 2000;

fn main() {
    labkit_real::runtime().block_on(async {
        let mut first = 0;
        for _ in 0..TOTAL {
            tokio::select! {
                _ = ready(()) => first += 1,
                _ = ready(()) => {},
            }
        }
        emit(C, "share", vec![("mode", "random".into()), ("first", first.into()), ("total", TOTAL.into())]);
        let mut first = 0;
        for _ in 0..TOTAL {
            tokio::select! {
                biased;
                _ = ready(()) => first += 1,
                _ = ready(()) => {},
            }
        }
        emit(C, "share", vec![("mode", "biased".into()), ("first", first.into()), ("total", TOTAL.into())]);
    });
}
