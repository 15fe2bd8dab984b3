//! Leases between nodes on PostgreSQL: a session-level advisory lock held on a connection
//! of its own. Whoever holds the lock holds the lease; when its process dies or its
//! connection breaks, PostgreSQL ends the session and frees the lock, and the next node
//! that asks gets it. Used so that one `yuqing process` at a time runs the alert follower,
//! the outbox dispatcher and the case timers (issue 7).
//!
//! A lease is an economy and a tidy log, not what keeps work single: in the moments after a
//! holder's connection broke and before it noticed, two nodes may run the same step, and
//! the store's own rules make that harmless (an alert is unique per event and level, a
//! reminder per case and deadline, an outbox message is claimed under a lease).

use super::PgStore;
use crate::Result;
use sqlx::{Connection, PgConnection};

/// The advisory-lock key of a lease name: "yuqing" in ASCII, then the name's FNV-1a hash
/// folded into the low 16 bits, above the range of the transaction locks (…0001–…00ff).
fn key(name: &str) -> i64 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    let low = ((h ^ (h >> 16)) & 0xffff).max(0x100);
    0x7975_7169_6e67_0000 | i64::from(low)
}

/// A held lease; dropping it (or the process ending) gives it up.
#[derive(Debug)]
pub struct Lease {
    conn: PgConnection,
    name: String,
}

impl Lease {
    /// The lease's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the lease is still held: its connection answers, and the lock is still this
    /// session's. False once the connection broke (the lock is free for others then).
    pub async fn held(&mut self) -> bool {
        let r: std::result::Result<bool, sqlx::Error> = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
             AND pid = pg_backend_pid() AND granted AND objsubid = 1 \
             AND ((classid::bigint << 32) | objid::bigint) = $1)",
        )
        .bind(key(&self.name))
        .fetch_one(&mut self.conn)
        .await;
        r.unwrap_or(false)
    }

    /// Gives the lease up now (others need not wait for the connection to close).
    pub async fn release(mut self) {
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(key(&self.name))
            .execute(&mut self.conn)
            .await;
        let _ = self.conn.close().await;
    }
}

impl PgStore {
    /// Takes the lease `name` if no other session holds it: `None` when another does.
    pub async fn try_lease(&self, name: &str) -> Result<Option<Lease>> {
        // A connection of its own, outside the pool: the lock lives as long as it does.
        let mut conn = self.pool.acquire().await?.detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key(name))
            .fetch_one(&mut conn)
            .await?;
        if got {
            Ok(Some(Lease {
                conn,
                name: name.to_owned(),
            }))
        } else {
            let _ = conn.close().await;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn keys_stay_clear_of_the_transaction_locks() {
        for name in ["handling", "sources", "a", ""] {
            let k = key(name);
            assert_eq!(k >> 16, 0x7975_7169_6e67, "{name}");
            assert!(k & 0xffff >= 0x100, "{name}");
        }
        assert_ne!(key("handling"), key("sources"));
    }
}
