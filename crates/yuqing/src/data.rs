//! The data directory: where the database, the index and the inbox live, and the lock
//! that makes sure only one process writes.

use anyhow::{Context, bail};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use yuqing_search::SearchIndex;
use yuqing_store::SqliteStore;

pub struct DataDir {
    pub store: Arc<SqliteStore>,
    pub index: Arc<SearchIndex>,
    _lock: Option<File>,
}

impl DataDir {
    /// Opens an existing data directory for reading; a directory without a database is an
    /// error (most likely a mistyped `--data`), not an empty result.
    pub async fn open_existing(root: &Path) -> anyhow::Result<Self> {
        if !root.join("yuqing.db").exists() {
            bail!(
                "数据目录 {} 中没有数据库：请检查 --data，或先运行 yuqing import / yuqing serve / \
                 no database in data directory {}: check --data, or run yuqing import or yuqing serve first",
                root.display(),
                root.display()
            );
        }
        Self::open(root).await
    }

    /// Opens the data directory (creating it if missing).
    pub async fn open(root: &Path) -> anyhow::Result<Self> {
        ensure_dir(root)?;
        let store = SqliteStore::open(&root.join("yuqing.db")).await?;
        let index = SearchIndex::open(&root.join("index"))?;
        Ok(Self {
            store: Arc::new(store),
            index: Arc::new(index),
            _lock: None,
        })
    }

    /// Opens it for writing with an empty index (for `reindex`, which rebuilds it whatever
    /// version or settings the old index had).
    pub async fn open_writer_fresh_index(root: &Path) -> anyhow::Result<Self> {
        let lock = Self::lock(root)?;
        let index_dir = root.join("index");
        if index_dir.exists() {
            std::fs::remove_dir_all(&index_dir).with_context(|| {
                format!(
                    "无法删除旧索引 {} / cannot remove the old index {}",
                    index_dir.display(),
                    index_dir.display()
                )
            })?;
        }
        let mut me = Self::open(root).await?;
        me._lock = Some(lock);
        Ok(me)
    }

    /// Opens it for writing: takes the writer lock or explains who holds it.
    pub async fn open_writer(root: &Path) -> anyhow::Result<Self> {
        let lock = Self::lock(root)?;
        let mut me = Self::open(root).await?;
        me._lock = Some(lock);
        Ok(me)
    }

    /// Takes the writer lock of the directory (also `yuqing process`, for its index).
    pub fn lock(root: &Path) -> anyhow::Result<File> {
        ensure_dir(root)?;
        let lock_path = root.join("writer.lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .read(true)
            .open(&lock_path)
            .with_context(|| {
                format!(
                    "无法打开锁文件 {} / cannot open lock file {}",
                    lock_path.display(),
                    lock_path.display()
                )
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(_) => bail!(
                "数据目录 {} 正被另一个 yuqing 进程写入（例如 yuqing serve）；请停止它，或通过 POST /api/v1/documents 推送数据 / \
                 data directory {} is being written by another yuqing process (e.g. yuqing serve): stop it, or push documents to POST /api/v1/documents",
                root.display(),
                root.display()
            ),
        }
        Ok(lock)
    }

    /// True when another process holds the writer lock.
    pub fn writer_busy(root: &Path) -> bool {
        let Ok(f) = File::options()
            .read(true)
            .write(true)
            .open(root.join("writer.lock"))
        else {
            return false;
        };
        match f.try_lock() {
            Ok(()) => {
                let _ = f.unlock();
                false
            }
            Err(_) => true,
        }
    }
}

/// Creates the data directory if it is missing.
fn ensure_dir(root: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(root).with_context(|| {
        format!(
            "无法创建数据目录 {} / cannot create data directory {}",
            root.display(),
            root.display()
        )
    })
}
