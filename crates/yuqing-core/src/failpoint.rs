//! Failpoints: named places where a fault-injection test can make the process die at once,
//! as SIGKILL would (no destructors, no flushing), at a moment no outside signal can hit
//! reliably (for instance between writing an index commit's segments and its meta file).
//!
//! A failpoint is armed by the environment variable `YUQING_FAILPOINTS`, a comma-separated
//! list of `name` (die the first time) or `name@N` (die the N-th time). Unset, a failpoint
//! costs one `OnceLock` read. Only tests set it (`crates/yuqing/tests/faults.rs`).

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Armed failpoints: name → (the pass to die on, 1-based; passes so far).
type Armed = HashMap<String, (usize, AtomicUsize)>;

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let spec = std::env::var("YUQING_FAILPOINTS").ok()?;
            Some(
                spec.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| match s.split_once('@') {
                        Some((name, n)) => (
                            name.to_owned(),
                            (n.parse().unwrap_or(1).max(1), AtomicUsize::new(0)),
                        ),
                        None => (s.to_owned(), (1, AtomicUsize::new(0))),
                    })
                    .collect(),
            )
        })
        .as_ref()
}

/// Dies here (abort) when the failpoint `name` is armed for this pass; see the module docs.
pub fn failpoint(name: &str) {
    if let Some((at, passes)) = armed().and_then(|m| m.get(name))
        && passes.fetch_add(1, Ordering::SeqCst) + 1 == *at
    {
        eprintln!("failpoint {name}: the process dies here (YUQING_FAILPOINTS)");
        std::process::abort();
    }
}
