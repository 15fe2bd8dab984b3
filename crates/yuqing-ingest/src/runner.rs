//! Running the pipeline continuously (`yuqing serve`): the writer thread, the source
//! pollers and the watched import directory.
//!
//! Every producer (source poller, import directory, HTTP push) sends [`Job`]s over one
//! bounded channel to the single writer thread: when the writer is slow, producers wait
//! (backpressure). CPU work (parsing, normalisation) happens in the producers on blocking
//! threads, never on the async workers. The writer commits the index at least every
//! `index_commit_secs`, so new documents become searchable within seconds.

use crate::import::{Format, Progress, spawn_readers};
use crate::pipeline::{IngestSettings, Outcome, Pipeline, PipelineError, Report};
use crate::sources::{Source, SourceConfig};
use crate::transforms::judge::Judge;
use crate::transforms::prepare::Prepared;
use crate::{Rejected, import::Batch};
use chrono::Utc;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot, watch};
use yuqing_store::{Checkpoint, PollOutcome, Store};

/// Result of one job as the producer sees it.
pub type JobResult = Result<(Report, Vec<Outcome>), String>;

/// A batch for the writer.
pub struct Job {
    pub source: String,
    pub items: Vec<Result<Prepared, Rejected>>,
    pub checkpoint: Option<Checkpoint>,
    pub reply: Option<oneshot::Sender<JobResult>>,
}

/// Sends jobs to the writer.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Job>,
    settings: IngestSettings,
    judge: Arc<Judge>,
}

impl WriterHandle {
    /// Submits a batch and waits until it is stored (or failed).
    pub async fn submit(
        &self,
        source: &str,
        items: Batch,
        checkpoint: Option<Checkpoint>,
    ) -> JobResult {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job {
                source: source.to_owned(),
                items,
                checkpoint,
                reply: Some(reply),
            })
            .await
            .map_err(|_| "写入线程已停止 / the writer has stopped".to_owned())?;
        rx.await
            .map_err(|_| "写入线程已停止 / the writer has stopped".to_owned())?
    }

    pub fn settings(&self) -> &IngestSettings {
        &self.settings
    }

    /// The judge preparers must use for this writer.
    pub fn judge(&self) -> &Arc<Judge> {
        &self.judge
    }

    /// What [`prepare_items`] needs.
    pub fn preparer(&self) -> Preparer {
        Preparer {
            max_text_bytes: self.settings.max_text_bytes,
            judge: self.judge.clone(),
        }
    }
}

/// Limits and judge for preparing documents for one writer.
#[derive(Clone, Debug)]
pub struct Preparer {
    pub max_text_bytes: usize,
    pub judge: Arc<Judge>,
}

/// Starts the writer thread. It runs until every [`WriterHandle`] is dropped, then
/// commits the index and returns.
pub fn spawn_writer<S: Store>(
    mut pipeline: Pipeline<S>,
    rt: Handle,
) -> (
    WriterHandle,
    std::thread::JoinHandle<Result<(), PipelineError>>,
) {
    let (tx, mut rx) = mpsc::channel::<Job>(16);
    let settings = pipeline.settings().clone();
    let judge = pipeline.judge().clone();
    let join = std::thread::Builder::new()
        .name("pipeline-writer".into())
        .spawn(move || {
            let mut index_broken = false;
            loop {
                let job = rt.block_on(async {
                    tokio::time::timeout(Duration::from_millis(500), rx.recv()).await
                });
                if index_broken {
                    // A failed index write (a full disk) is retried until it works.
                    match rt.block_on(pipeline.recover_index()) {
                        Ok(_) => index_broken = false,
                        Err(e) => tracing::error!(error = %e, "index writer not recovered yet"),
                    }
                }
                match job {
                    Ok(Some(job)) => {
                        let res =
                            rt.block_on(pipeline.ingest(job.items, job.checkpoint, &job.source));
                        index_broken |= matches!(res, Err(PipelineError::Search(_)));
                        let res = res.map_err(|e| {
                            tracing::error!(error = %e, source = %job.source, "batch failed");
                            e.to_string()
                        });
                        if let Some(r) = job.reply {
                            let _ = r.send(res);
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {
                        // Idle: pick up plans changed by another process; on a shared
                        // store index what the other writers stored; on its own store
                        // forget what retention deleted.
                        if let Err(e) = rt.block_on(pipeline.reload_plans_if_due()) {
                            tracing::error!(error = %e, "reloading plans failed");
                        }
                        let followed = if index_broken {
                            Ok(())
                        } else if pipeline.is_shared() {
                            rt.block_on(pipeline.follow_store()).map(drop)
                        } else {
                            rt.block_on(pipeline.forget_dropped_if_due()).map(drop)
                        };
                        if let Err(e) = followed {
                            tracing::error!(error = %e, "following the store failed");
                            index_broken |= matches!(e, PipelineError::Search(_));
                        }
                    }
                }
                if !index_broken && let Err(e) = pipeline.maybe_commit() {
                    tracing::error!(error = %e, "index commit failed");
                    index_broken = true;
                }
            }
            pipeline.finish()
        })
        .expect("spawn writer thread");
    (
        WriterHandle {
            tx,
            settings,
            judge,
        },
        join,
    )
}

/// An item as parsed by a producer: its location and the document, or why it could not be
/// parsed together with its raw text.
pub type Parsed = (String, Result<yuqing_core::Document, (String, String)>);

/// Prepares documents on a blocking thread, in order.
pub async fn prepare_batch(docs: Vec<(yuqing_core::Document, String)>, with: &Preparer) -> Batch {
    prepare_items(
        docs.into_iter().map(|(d, loc)| (loc, Ok(d))).collect(),
        with,
    )
    .await
}

/// Prepares parsed items on a blocking thread, in order; items that failed to parse
/// (reason, raw text) become rejections.
pub async fn prepare_items(items: Vec<Parsed>, with: &Preparer) -> Batch {
    let n = items.len();
    let Preparer {
        max_text_bytes,
        judge,
    } = with.clone();
    let prepared = tokio::task::spawn_blocking(move || {
        items
            .into_iter()
            .map(|(loc, item)| match item {
                Ok(d) => {
                    let payload = serde_json::to_string(&d).unwrap_or_default();
                    crate::transforms::prepare::prepare(d, loc.clone(), max_text_bytes, &judge)
                        .map_err(|e| Rejected {
                            location: loc,
                            reason: e.to_string(),
                            payload: crate::pipeline::cut(&payload),
                        })
                }
                Err((reason, raw)) => Err(Rejected {
                    location: loc,
                    reason,
                    payload: crate::pipeline::cut(&raw),
                }),
            })
            .collect::<Batch>()
    })
    .await;
    prepared.unwrap_or_else(|e| {
        // A panic while preparing is a bug; every item is reported rather than lost.
        (0..n)
            .map(|i| {
                Err(Rejected {
                    location: format!("#{i}"),
                    reason: format!("internal error: {e}"),
                    payload: String::new(),
                })
            })
            .collect()
    })
}

/// Where [`run_source`] sends each polled batch with the source's checkpoint: the
/// pipeline writer in `yuqing serve` (documents and checkpoint in one transaction), the
/// NATS bus in `yuqing collect` (the checkpoint stored once the bus holds the batch). A
/// sink commits the checkpoint only after the batch is safe, so a restart polls again from
/// the last batch that was, and repeats are caught by document identity.
pub trait Sink: Send + Sync {
    /// How the source's documents are checked and normalised before [`Sink::submit`].
    fn preparer(&self) -> Preparer;
    /// Takes a prepared batch and its checkpoint; what became of it.
    fn submit(
        &self,
        source: &str,
        items: Batch,
        checkpoint: Option<Checkpoint>,
    ) -> impl std::future::Future<Output = JobResult> + Send;
}

impl Sink for WriterHandle {
    fn preparer(&self) -> Preparer {
        WriterHandle::preparer(self)
    }

    async fn submit(
        &self,
        source: &str,
        items: Batch,
        checkpoint: Option<Checkpoint>,
    ) -> JobResult {
        WriterHandle::submit(self, source, items, checkpoint).await
    }
}

/// Polls one source forever (until `stop` turns true), sending what it finds to `writer`.
pub async fn run_source<S: Store, K: Sink>(
    cfg: SourceConfig,
    store: Arc<S>,
    writer: K,
    mut stop: watch::Receiver<bool>,
) {
    let name = cfg.name().to_owned();
    let source: Source = match cfg.build() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(source = %name, error = %e, "source configuration is invalid");
            let _ = store
                .record_poll(
                    &name,
                    &PollOutcome::Failure {
                        at: Utc::now(),
                        error: e.to_string(),
                    },
                )
                .await;
            return;
        }
    };
    let interval = cfg.interval();
    let mut failures: u32 = 0;
    loop {
        let cursor = store.checkpoint(&name).await.ok().flatten();
        let outcome = match source.poll(cursor.as_ref()).await {
            Ok(poll) => {
                let newest = poll
                    .documents
                    .iter()
                    .filter_map(|d| d.published_at)
                    .max()
                    .map(|t| t.with_timezone(&Utc));
                let n = poll.documents.len();
                let docs = poll.documents.into_iter().enumerate().map(|(i, d)| {
                    let loc = d.url.clone().unwrap_or_else(|| format!("{name}#{i}"));
                    (d, loc)
                });
                let items = prepare_batch(docs.collect(), &writer.preparer()).await;
                let cp = Checkpoint {
                    source: name.clone(),
                    cursor: poll.cursor,
                };
                match writer.submit(&name, items, Some(cp)).await {
                    Ok((report, _)) => {
                        tracing::info!(source = %name, fetched = n, stored = report.stored, "source polled");
                        failures = 0;
                        PollOutcome::Success {
                            at: Utc::now(),
                            documents: report.stored,
                            newest,
                        }
                    }
                    Err(e) => {
                        failures += 1;
                        PollOutcome::Failure {
                            at: Utc::now(),
                            error: e,
                        }
                    }
                }
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(source = %name, error = %e, failures, "source poll failed");
                PollOutcome::Failure {
                    at: Utc::now(),
                    error: e.to_string(),
                }
            }
        };
        if let Err(e) = store.record_poll(&name, &outcome).await {
            tracing::error!(source = %name, error = %e, "cannot record source health");
        }
        // Back off on failure: interval × 2^failures, at most 8×.
        let wait = interval * 2u32.pow(failures.min(3));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Watches a directory and imports every file that appears or changes. A file's size and
/// modification time are its cursor, committed with its last batch; a file interrupted
/// by a crash is read again and its already-stored documents are skipped as duplicates.
pub async fn run_import_dir<S: Store>(
    dir: PathBuf,
    every: Duration,
    store: Arc<S>,
    writer: WriterHandle,
    mut stop: watch::Receiver<bool>,
) {
    let name = "import-dir".to_owned();
    loop {
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                let mut files: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| {
                        p.is_file()
                            && !p
                                .file_name()
                                .and_then(|n| n.to_str())
                                .is_some_and(|n| n.starts_with('.'))
                    })
                    .collect();
                files.sort();
                for path in files {
                    let Ok(meta) = std::fs::metadata(&path) else {
                        continue;
                    };
                    let mtime = meta
                        .modified()
                        .ok()
                        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_millis() as i64);
                    let key = format!(
                        "dir:{}",
                        path.file_name().and_then(|n| n.to_str()).unwrap_or("")
                    );
                    let cursor = serde_json::json!({"size": meta.len(), "mtime": mtime});
                    if store.checkpoint(&key).await.ok().flatten().as_ref() == Some(&cursor) {
                        continue;
                    }
                    let settings = writer.settings().clone();
                    let rx = spawn_readers(
                        vec![path.clone()],
                        Format::Auto,
                        &settings,
                        Progress::default(),
                        writer.judge().clone(),
                    );
                    let rx = Arc::new(std::sync::Mutex::new(rx));
                    let mut total = Report::default();
                    let mut pending: Option<Batch> = None;
                    loop {
                        let r = rx.clone();
                        let next = tokio::task::spawn_blocking(move || {
                            r.lock().ok().and_then(|r| r.recv().ok())
                        })
                        .await
                        .ok()
                        .flatten();
                        // Send the previous batch; the last one carries the checkpoint.
                        if let Some(b) = pending.take() {
                            let cp = next.is_none().then(|| Checkpoint {
                                source: key.clone(),
                                cursor: cursor.clone(),
                            });
                            match writer.submit(&name, b, cp).await {
                                Ok((r, _)) => total.add(&r),
                                Err(e) => {
                                    tracing::error!(file = %path.display(), error = %e, "import failed");
                                    break;
                                }
                            }
                        }
                        match next {
                            Some(b) => pending = Some(b),
                            None => break,
                        }
                    }
                    if total.read == 0 {
                        // Empty file: still remember it.
                        let _ = writer
                            .submit(
                                &name,
                                Vec::new(),
                                Some(Checkpoint {
                                    source: key.clone(),
                                    cursor: cursor.clone(),
                                }),
                            )
                            .await;
                    }
                    tracing::info!(file = %path.display(), read = total.read, stored = total.stored, rejected = total.rejected, "imported file");
                    let _ = store
                        .record_poll(
                            &name,
                            &PollOutcome::Success {
                                at: Utc::now(),
                                documents: total.stored,
                                newest: None,
                            },
                        )
                        .await;
                }
            }
            Err(e) => {
                let _ = store
                    .record_poll(
                        &name,
                        &PollOutcome::Failure {
                            at: Utc::now(),
                            error: format!("{}: {e}", dir.display()),
                        },
                    )
                    .await;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
