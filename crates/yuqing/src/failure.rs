//! How a failed command is told to the person at the terminal: the error and its causes,
//! each said once, then what to do when the cause is the machine rather than the input:
//! a full disk or a read-only data directory (both leave the stored data intact; the
//! command can simply be run again once the condition is fixed).

use std::path::Path;

/// A condition of the machine that made a command fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    DiskFull,
    ReadOnly,
}

/// The message: the error and each cause not already said by the one before.
pub fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(text.as_str()) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// The machine condition behind `e`, if any: an IO error of that kind anywhere in the
/// chain, or the database's or index's own words for it (they do not all keep the IO
/// error as a source); failing those, a probe write into the data directory `data` (a
/// database that cannot open its journal on a read-only mount only says "unable to open
/// database file").
pub fn condition(e: &anyhow::Error, data: &Path) -> Option<Condition> {
    for cause in e.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && let Some(c) = of_kind(io.kind())
        {
            return Some(c);
        }
    }
    let text = format!("{e:#}");
    if text.contains("database or disk is full")
        || text.contains("os error 28")
        || text.contains("No space left on device")
    {
        Some(Condition::DiskFull)
    } else if text.contains("os error 30")
        || text.contains("Read-only file system")
        || text.contains("readonly database")
    {
        Some(Condition::ReadOnly)
    } else {
        probe(data)
    }
}

fn of_kind(kind: std::io::ErrorKind) -> Option<Condition> {
    match kind {
        std::io::ErrorKind::StorageFull => Some(Condition::DiskFull),
        std::io::ErrorKind::ReadOnlyFilesystem => Some(Condition::ReadOnly),
        _ => None,
    }
}

/// Tries to create (and removes) a small file in `data`: the condition that refuses it.
fn probe(data: &Path) -> Option<Condition> {
    if !data.is_dir() {
        return None;
    }
    let p = data.join(".yuqing-write-probe");
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&p)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&p);
            None
        }
        Err(e) => of_kind(e.kind()),
    }
}

/// True when `e` is a write to a closed pipe (the reader of the output stopped).
pub fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}

/// What to do about `c`, for the data directory `data` (zh / en).
pub fn advice(c: Condition, data: &Path) -> String {
    let d = data.display();
    match c {
        Condition::DiskFull => format!(
            "磁盘已满：数据目录 {d} 所在的磁盘没有空间了。已提交的数据完好，未提交的这一批没有写入。\
             请腾出空间（或把数据目录移到更大的磁盘）后重新运行同一命令：已存储的文档不会重复存储，\
             然后可用 yuqing check 核对。\n\
             the disk is full: the disk of the data directory {d} has no space left. What was \
             committed is intact; the batch being written was not. Free some space (or move the \
             data directory to a larger disk), then run the same command again: documents already \
             stored are not stored twice; yuqing check verifies the directory."
        ),
        Condition::ReadOnly => format!(
            "数据目录 {d} 只读：yuqing 需要写入它（写锁、数据库日志、索引）。数据未被改动。\
             请以可写方式挂载或改正权限后重试。\n\
             the data directory {d} is read-only: yuqing needs to write to it (the writer lock, the \
             database journal, the index). Nothing was changed. Mount it writable or fix its \
             permissions, then try again."
        ),
    }
}
