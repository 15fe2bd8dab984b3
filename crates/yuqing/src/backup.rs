//! `yuqing backup DEST` and `yuqing restore SRC`: a consistent copy of a data directory
//! taken while `serve` keeps running, and a data directory made again from it.
//!
//! A backup is a new directory holding `yuqing.db` (written by SQLite's `VACUUM INTO` in
//! one read transaction, so it is consistent even while documents arrive), `evidence/`
//! (the case attachments, stored by content hash, copied as they are), and `manifest.json`:
//! the format, when it was taken, the documents and the highest seq in the copy, the head
//! of the audit chain, and the SHA-256 of the database file. The full-text index is not
//! copied: it is derived from the store and rebuilt by `restore`.
//!
//! `restore` refuses a data directory that already holds a database, checks the database's
//! SHA-256 against the manifest and SQLite's integrity check, copies the database and the
//! evidence, rebuilds the index, and verifies the audit chain up to the manifest's head.

use crate::config::Config;
use crate::data::DataDir;
use crate::output::outln;
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use yuqing_handling::cases::Cases;
use yuqing_store::{HandlingStore, SqliteStore, Store};
use yuqing_workflow::audit::Anchor;

/// The manifest's `format`; a restore refuses others.
const FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    created_at: chrono::DateTime<chrono::Utc>,
    documents: i64,
    max_seq: i64,
    /// The last audit entry in the copy (`seq`, `hash`), if any.
    audit_head: Option<(u64, String)>,
    evidence_files: u64,
    db_sha256: String,
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| {
        format!(
            "无法读取 {} / cannot read {}",
            path.display(),
            path.display()
        )
    })?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Copies the files of `from` into `to` (one level of subdirectories, as evidence is kept).
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<u64> {
    if !from.exists() {
        return Ok(0);
    }
    let mut n = 0;
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            n += copy_tree(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), &target).with_context(|| {
                format!(
                    "无法复制 {} / cannot copy {}",
                    e.path().display(),
                    e.path().display()
                )
            })?;
            n += 1;
        }
    }
    Ok(n)
}

pub async fn backup(root: &Path, dest: &Path) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    if dest.exists() && std::fs::read_dir(dest)?.next().is_some() {
        bail!(
            "备份目录 {} 已存在且不为空：请指定一个新目录 / backup directory {} exists and is not empty: name a new one",
            dest.display(),
            dest.display()
        );
    }
    let dir = DataDir::open_existing(root).await?;
    std::fs::create_dir_all(dest).with_context(|| {
        format!(
            "无法创建备份目录 {} / cannot create backup directory {}",
            dest.display(),
            dest.display()
        )
    })?;
    let db = dest.join("yuqing.db");
    dir.store.backup_into(&db).await.with_context(|| {
        format!(
            "写入备份数据库 {} 失败（磁盘已满？）/ writing the backup database {} failed (disk full?)",
            db.display(),
            db.display()
        )
    })?;
    let evidence_files = copy_tree(&root.join("evidence"), &dest.join("evidence"))?;
    // The figures of the copy, read from the copy itself.
    let copy = SqliteStore::open(&db).await?;
    let audit_head = copy
        .audit(0, 0)
        .await?
        .last()
        .map(|e| (e.seq, e.hash.clone()));
    let (documents, max_seq) = (copy.count().await?, copy.max_seq().await?);
    copy.pool().close().await;
    let manifest = Manifest {
        format: FORMAT,
        created_at: chrono::Utc::now(),
        documents,
        max_seq,
        audit_head,
        evidence_files,
        db_sha256: sha256_file(&db)?,
    };
    std::fs::write(
        dest.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    eprintln!(
        "备份完成：{} 条文档（seq ≤ {}），{} 个证据文件，{:.1} 秒 → {} / backup done: {} documents (seq ≤ {}), {} evidence files, {:.1} s → {}",
        manifest.documents,
        manifest.max_seq,
        evidence_files,
        started.elapsed().as_secs_f64(),
        dest.display(),
        manifest.documents,
        manifest.max_seq,
        evidence_files,
        started.elapsed().as_secs_f64(),
        dest.display()
    );
    outln!("{}", serde_json::to_string(&manifest)?);
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(root: &Path, cfg: &Config, src: &Path) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let manifest_path = src.join("manifest.json");
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(&manifest_path).with_context(|| {
            format!(
                "{} 不是备份目录（缺少 manifest.json）/ {} is not a backup (no manifest.json)",
                src.display(),
                src.display()
            )
        })?)
        .with_context(|| {
            format!(
                "manifest.json 无法读取 / cannot read {}",
                manifest_path.display()
            )
        })?;
    if manifest.format != FORMAT {
        bail!(
            "备份格式 {} 不受支持（本版本为 {FORMAT}）/ backup format {} is not supported (this version reads {FORMAT})",
            manifest.format,
            manifest.format
        );
    }
    if root.join("yuqing.db").exists() {
        bail!(
            "数据目录 {} 已有数据库：恢复只写入新的数据目录（用 --data 指定一个新目录）/ data directory {} already holds a database: restore only into a new one (choose it with --data)",
            root.display(),
            root.display()
        );
    }
    let db = src.join("yuqing.db");
    let sum = sha256_file(&db)?;
    if sum != manifest.db_sha256 {
        bail!(
            "备份数据库 {} 已损坏：SHA-256 与 manifest 不符 / the backup database {} is damaged: its SHA-256 does not match the manifest",
            db.display(),
            db.display()
        );
    }
    std::fs::create_dir_all(root)?;
    let target = root.join("yuqing.db");
    std::fs::copy(&db, &target).with_context(|| {
        format!(
            "无法复制数据库到 {} / cannot copy the database to {}",
            target.display(),
            target.display()
        )
    })?;
    let evidence = copy_tree(&src.join("evidence"), &root.join("evidence"))?;
    // The index is derived: a fresh one is caught up from the whole store.
    let dir = DataDir::open_writer_fresh_index(root).await?;
    if let Err(problems) = dir.store.integrity_check().await? {
        bail!(
            "恢复的数据库未通过完整性检查 / the restored database fails the integrity check: {problems}"
        );
    }
    let p = crate::judgement::open_pipeline(&dir, cfg).await?;
    p.finish()?;
    let documents = dir.store.count().await?;
    if documents != manifest.documents {
        bail!(
            "恢复后文档数 {documents} 与备份记录 {} 不符 / {documents} documents after restore, the backup recorded {}",
            manifest.documents,
            manifest.documents
        );
    }
    let cases = Cases::new(
        dir.store.clone(),
        Arc::new(yuqing_core::SystemClock),
        cfg.deadlines.clone(),
    );
    let anchor = manifest.audit_head.as_ref().map(|(seq, hash)| Anchor {
        seq: *seq,
        hash: hash.clone(),
    });
    let audit = cases
        .verify_audit(anchor)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !audit.ok {
        bail!(
            "恢复的审计日志校验失败：{:?} / the restored audit log fails verification: {:?}",
            audit.tampered,
            audit.tampered
        );
    }
    eprintln!(
        "恢复完成：{documents} 条文档，索引 {} 条，{evidence} 个证据文件，审计日志 {} 条校验通过，{:.1} 秒 / restore done: {documents} documents, {} indexed, {evidence} evidence files, {} audit entries verified, {:.1} s",
        dir.index.num_docs(),
        audit.entries,
        started.elapsed().as_secs_f64(),
        dir.index.num_docs(),
        audit.entries,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
