//! Prints a case's observable outcome as JSON lines, in the shape every real program and
//! every labkit twin shares: `{"case": ..., "event": ..., "model": "rust", ...fields}`
//! (keys sorted, compact, as Go's encoding/json writes them).

use std::collections::BTreeMap;

/// A field value.
pub enum J {
    I(i64),
    S(String),
    B(bool),
    L(Vec<i64>),
}

impl From<i64> for J {
    fn from(v: i64) -> Self {
        J::I(v)
    }
}
impl From<i32> for J {
    fn from(v: i32) -> Self {
        J::I(v as i64)
    }
}
impl From<usize> for J {
    fn from(v: usize) -> Self {
        J::I(v as i64)
    }
}
impl From<u64> for J {
    fn from(v: u64) -> Self {
        J::I(v as i64)
    }
}
impl From<&str> for J {
    fn from(v: &str) -> Self {
        J::S(v.to_string())
    }
}
impl From<String> for J {
    fn from(v: String) -> Self {
        J::S(v)
    }
}
impl From<bool> for J {
    fn from(v: bool) -> Self {
        J::B(v)
    }
}
impl From<Vec<i64>> for J {
    fn from(v: Vec<i64>) -> Self {
        J::L(v)
    }
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn render(v: &J) -> String {
    match v {
        J::I(i) => i.to_string(),
        J::S(s) => quote(s),
        J::B(b) => b.to_string(),
        J::L(l) => format!("[{}]", l.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")),
    }
}

/// Print one event of case `c`.
pub fn emit(c: &str, event: &str, fields: Vec<(&str, J)>) {
    let mut line: BTreeMap<&str, J> = BTreeMap::new();
    line.insert("case", J::from(c));
    line.insert("model", J::from("rust"));
    line.insert("event", J::from(event));
    for (k, v) in fields {
        line.insert(k, v);
    }
    let body: Vec<String> = line.iter().map(|(k, v)| format!("{}:{}", quote(k), render(v))).collect();
    println!("{{{}}}", body.join(","));
}

/// Silence the default panic message on stderr: the cases report panics as JSON.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

/// A single-threaded runtime whose clock is paused: sleeps and timeouts run in virtual
/// time, auto-advanced when every task is idle (test-util).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}
