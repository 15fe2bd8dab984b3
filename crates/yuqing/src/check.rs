//! `yuqing check [--repair]`: is the data directory whole after a crash? It checks the
//! database (SQLite's integrity check, no identity stored twice), the full-text index
//! against the store (every indexed seq stored, none twice, none stored and committed to
//! the index but missing from it; documents newer than the index's last commit are
//! *pending*, caught up when a writer next opens the directory) and the audit chain.
//!
//! With `--repair` (which needs the writer lock: stop `serve` first) a damaged index is
//! rebuilt from the store and pending documents are indexed. The database and the audit
//! chain are never "repaired": their problems are reported with what to do.
//!
//! Prints one JSON object; exits 0 when consistent (after repair), 1 otherwise.

use crate::config::Config;
use crate::data::DataDir;
use crate::output::outln;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use yuqing_handling::cases::Cases;
use yuqing_search::SearchRequest;
use yuqing_store::Store;

/// What `check` found.
#[derive(Debug, Default, Serialize)]
struct Findings {
    database_ok: bool,
    database_problems: Option<String>,
    documents: i64,
    doubled_identities: Vec<String>,
    indexed: u64,
    indexed_seq: i64,
    /// Stored, committed to the index (seq ≤ indexed_seq), but not in it.
    missing_from_index: u64,
    /// In the index but not stored.
    not_stored: u64,
    /// In the index, below the store's lowest seq: deleted by `[retention]`, and removed
    /// from the index by the writer within seconds (or at the next start). Not damage.
    deleted_by_retention: u64,
    /// Seqs the index holds more than once.
    doubled_in_index: u64,
    /// Stored after the index's last commit (caught up by the next writer).
    pending: u64,
    audit_ok: bool,
    audit_entries: u64,
    audit_problem: Option<String>,
    repaired: bool,
}

impl Findings {
    fn index_damaged(&self) -> bool {
        self.missing_from_index > 0 || self.not_stored > 0 || self.doubled_in_index > 0
    }
    fn consistent(&self) -> bool {
        self.database_ok
            && self.doubled_identities.is_empty()
            && !self.index_damaged()
            && self.pending == 0
            && self.audit_ok
    }
}

async fn inspect(dir: &DataDir, cfg: &Config) -> anyhow::Result<Findings> {
    let mut f = Findings::default();
    match dir.store.integrity_check().await? {
        Ok(()) => f.database_ok = true,
        Err(p) => f.database_problems = Some(p),
    }
    f.documents = dir.store.count().await?;
    f.doubled_identities = dir.store.doubled_identities().await?;
    let stored: Vec<i64> = dir.store.all_seqs().await?;
    let (indexed, _) = dir.index.seqs(&SearchRequest::default())?;
    f.indexed = indexed.len() as u64;
    f.indexed_seq = dir.index.indexed_seq()?;
    let unique: BTreeSet<i64> = indexed.iter().copied().collect();
    f.doubled_in_index = (indexed.len() - unique.len()) as u64;
    let stored_set: BTreeSet<i64> = stored.iter().copied().collect();
    let first = dir.store.first_seq().await?;
    for seq in unique.difference(&stored_set) {
        if *seq < first {
            f.deleted_by_retention += 1;
        } else {
            f.not_stored += 1;
        }
    }
    for s in &stored {
        if *s <= f.indexed_seq {
            if !unique.contains(s) {
                f.missing_from_index += 1;
            }
        } else if !unique.contains(s) {
            f.pending += 1;
        }
    }
    let cases = Cases::new(
        dir.store.clone(),
        Arc::new(yuqing_core::SystemClock),
        cfg.deadlines.clone(),
    );
    match cases.verify_audit(None).await {
        Ok(r) => {
            f.audit_ok = r.ok;
            f.audit_entries = r.entries;
            f.audit_problem = r.tampered.map(|t| format!("{t:?}"));
        }
        Err(e) => f.audit_problem = Some(e.to_string()),
    }
    Ok(f)
}

pub async fn check(root: &Path, cfg: &Config, repair: bool) -> anyhow::Result<ExitCode> {
    let mut f = {
        let dir = DataDir::open_existing(root).await?;
        inspect(&dir, cfg).await?
    };
    if repair && (f.index_damaged() || f.pending > 0) {
        // A damaged index is rebuilt; pending documents are caught up by opening a writer.
        let dir = if f.index_damaged() {
            DataDir::open_writer_fresh_index(root).await?
        } else {
            DataDir::open_writer(root).await?
        };
        let p = crate::judgement::open_pipeline(&dir, cfg).await?;
        p.finish()?;
        drop(dir);
        let dir = DataDir::open_existing(root).await?;
        f = inspect(&dir, cfg).await?;
        f.repaired = true;
    }
    outln!("{}", serde_json::to_string(&f)?);
    if f.consistent() {
        eprintln!(
            "数据目录完好：{} 条文档，索引 {} 条，审计日志 {} 条 / the data directory is consistent: {} documents, {} indexed, {} audit entries",
            f.documents, f.indexed, f.audit_entries, f.documents, f.indexed, f.audit_entries
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut what = Vec::new();
    if !f.database_ok {
        what.push("数据库未通过完整性检查：请用 yuqing restore 从备份恢复 / the database fails the integrity check: restore it from a backup (yuqing restore)".to_owned());
    }
    if !f.doubled_identities.is_empty() {
        what.push(format!(
            "有重复存储的文档 {:?} / documents stored twice {:?}",
            f.doubled_identities, f.doubled_identities
        ));
    }
    if f.index_damaged() || f.pending > 0 {
        what.push("索引与存储不一致：停止 serve 后运行 yuqing check --repair / the index and the store disagree: stop serve, then run yuqing check --repair".to_owned());
    }
    if !f.audit_ok {
        what.push(format!(
            "审计日志校验失败：{} / the audit log fails verification: {}",
            f.audit_problem.clone().unwrap_or_default(),
            f.audit_problem.clone().unwrap_or_default()
        ));
    }
    for w in what {
        eprintln!("{w}");
    }
    Ok(ExitCode::FAILURE)
}
