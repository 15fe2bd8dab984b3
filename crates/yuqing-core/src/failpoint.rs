//! Failpoints: named places where a fault-injection test can make the process die at once,
//! as SIGKILL would (no destructors, no flushing), at a moment no outside signal can hit
//! reliably (for instance between writing an index commit's segments and its meta file).
//!
//! A failpoint is armed by the environment variable `YUQING_FAILPOINTS`, a comma-separated
//! list of `name` (die the first time) or `name@N` (die the N-th time). Unset, a failpoint
//! costs one atomic load. Only tests set it (`crates/yuqing/tests/faults.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// The armed failpoints: name → on which pass to die (1-based), and passes so far.
fn armed() -> &'static Option<Mutex<HashMap<String, (usize, AtomicUsize)>>> {
    static ARMED: OnceLock<Option<Mutex<HashMap<String, (usize, AtomicUsize)>>>> = OnceLock::new();
    ARMED.get_or_init(|| {
        let spec = std::env::var("YUQING_FAILPOINTS").ok()?;
        let map: HashMap<_, _> = spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match s.split_once('@') {
                Some((name, n)) => (
                    name.to_owned(),
                    (n.parse().unwrap_or(1).max(1), AtomicUsize::new(0)),
                ),
                None => (s.to_owned(), (1, AtomicUsize::new(0))),
            })
            .collect();
        Some(Mutex::new(map))
    })
}

/// Dies here (abort) when the failpoint `name` is armed for this pass; see the module docs.
pub fn failpoint(name: &str) {
    let Some(armed) = armed() else {
        return;
    };
    let map = armed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((at, passes)) = map.get(name) {
        if passes.fetch_add(1, Ordering::SeqCst) + 1 == *at {
            eprintln!("failpoint {name}: the process dies here (YUQING_FAILPOINTS)");
            std::process::abort();
        }
    }
}
