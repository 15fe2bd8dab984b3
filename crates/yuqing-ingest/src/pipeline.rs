//! The writer: takes prepared documents in order and sends them to the sinks.
//!
//! One [`Pipeline`] per data directory writes (a lock file enforces it). For each batch it
//! removes duplicates (same platform+id or canonical URL, in the batch or already stored),
//! resolves each document's root, assigns reprint groups, stores the new documents and the
//! source's checkpoint in one transaction, keeps rejected input as dead letters, and feeds
//! the stored documents to the full-text index. The index commits with the highest seq it
//! holds, so [`Pipeline::open`] catches it up from the store after a crash.

use crate::transforms::event::{Candidate, Events, root_key};
use crate::transforms::group::{Grouper, GroupingSettings};
use crate::transforms::judge::Judge;
use crate::transforms::prepare::Prepared;
use chrono::Utc;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use yuqing_core::StoredDocument;
use yuqing_judge::grading::{Critical, Facts, Level, raised};
use yuqing_search::{IndexDoc, SearchIndex, Writer};
use yuqing_store::{Checkpoint, DeadLetter, LevelRecord, NewDocument, Store};
use yuqing_text::normalize;
use yuqing_text::plan::{Plan, PlanSet};

/// Pipeline settings (`[ingest]` in the config).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSettings {
    /// Largest accepted title + text of one document, in bytes.
    pub max_text_bytes: usize,
    /// Largest accepted input line (JSONL/CSV), in bytes; longer lines are rejected.
    pub max_line_bytes: usize,
    /// Documents per store transaction.
    pub batch_size: usize,
    /// Memory for the index writer, in MB.
    pub index_memory_mb: usize,
    /// Index writer threads.
    pub index_threads: usize,
    /// Commit the index at least this often, in seconds (how soon new items are searchable).
    pub index_commit_secs: u64,
    /// Also index jieba words so that whole-word matches rank first (recall is the same
    /// either way). Costs about a quarter of the import throughput; off by default.
    pub word_ranking: bool,
    pub grouping: GroupingSettings,
}

impl Default for IngestSettings {
    fn default() -> Self {
        Self {
            max_text_bytes: yuqing_core::document::DEFAULT_MAX_TEXT_BYTES,
            max_line_bytes: 8 << 20,
            batch_size: 2000,
            index_memory_mb: 256,
            index_threads: 1,
            index_commit_secs: 2,
            word_ranking: false,
            grouping: GroupingSettings::default(),
        }
    }
}

/// An input item that could not become a document.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub location: String,
    pub reason: String,
    pub payload: String,
}

/// What happened to one input item.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Stored {
        id: String,
        seq: i64,
        group_id: Option<i64>,
        joined_group: bool,
    },
    Duplicate {
        id: String,
    },
    Rejected {
        location: String,
        reason: String,
    },
}

/// Counts for a batch or a whole run.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    pub read: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub near_duplicates: u64,
    pub rejected: u64,
}

impl Report {
    pub fn add(&mut self, o: &Report) {
        self.read += o.read;
        self.stored += o.stored;
        self.duplicates += o.duplicates;
        self.near_duplicates += o.near_duplicates;
        self.rejected += o.rejected;
    }
}

/// Errors that stop a batch (storage failures). Bad input never does.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] yuqing_store::StoreError),
    #[error(transparent)]
    Search(#[from] yuqing_search::SearchError),
    /// The runtime stopped while a batch was being stored (it is stored whole or not at
    /// all).
    #[error("写入被中止（程序正在退出） / storing was stopped (the program is shutting down)")]
    Stopped,
}

/// How often the writer checks whether plans changed.
const PLAN_CHECK: Duration = Duration::from_secs(2);
/// Recent documents read at start to warm event clustering.
const WARM_DOCS: i64 = 20_000;

impl PipelineError {
    pub fn code(&self) -> yuqing_core::Code {
        match self {
            PipelineError::Store(e) => e.code(),
            PipelineError::Search(e) => e.code(),
            PipelineError::Stopped => yuqing_core::Code::Unavailable,
        }
    }
}

/// The events a stored batch added to, and the batch's newest seq.
type Touched = (Vec<i64>, i64);

/// A batch after de-duplication and grouping, waiting to be stored.
struct Staged {
    report: Report,
    outcomes: Vec<Option<Outcome>>,
    letters: Vec<DeadLetter>,
    checkpoint: Option<Checkpoint>,
    new_docs: Vec<NewDocument>,
    /// Input position of each new document.
    positions: Vec<usize>,
    /// Normalised (title, text) of each new document, for the index.
    norms: Vec<(String, String)>,
    assignments: Vec<crate::transforms::group::Assignment>,
}

/// Writes a staged batch: dead letters, then documents and checkpoint in one transaction.
async fn store_staged<S: Store>(
    store: &S,
    st: &Staged,
) -> Result<Vec<yuqing_store::Inserted>, PipelineError> {
    let started = Instant::now();
    if !st.letters.is_empty() {
        store.put_dead_letters(&st.letters).await?;
    }
    let inserted = store.insert(&st.new_docs, st.checkpoint.as_ref()).await?;
    stage_seconds("store", started);
    Ok(inserted)
}

/// A batch being stored (and the previous batch's events re-graded) on its own task.
type StoreTask = tokio::task::JoinHandle<(
    Staged,
    Result<Vec<yuqing_store::Inserted>, PipelineError>,
    Result<(), PipelineError>,
)>;

/// Waits for a store task: the batch and its stored rows, once the task's re-grading of
/// the batch before is done too.
async fn joined(task: StoreTask) -> Result<(Staged, Vec<yuqing_store::Inserted>), PipelineError> {
    let (staged, inserted, graded) = match task.await {
        Ok(done) => done,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => return Err(PipelineError::Stopped),
    };
    graded?;
    Ok((staged, inserted?))
}

/// Re-grades the events a batch added to, whose newest member is seq `upto`, and marks
/// them graded up to it (the alert follower waits for that mark). A level only rises
/// here (a person may lower it, and that stands until the rules conclude more than
/// before); every change is recorded with its explanation.
async fn regrade<S: Store>(
    store: &S,
    judge: &Judge,
    events: &[i64],
    upto: i64,
) -> Result<(), PipelineError> {
    if events.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    let rules = judge.rules();
    for e in store.events_by_id(events).await? {
        let critical = e.critical_category.and_then(|c| {
            crate::transforms::judge::category_of_code(c).map(|category| Critical {
                category,
                document_id: e.critical_id.clone().unwrap_or_default(),
            })
        });
        let facts = Facts {
            comments: e.comments,
            views: e.views,
            mainstream_sources: e.mainstream.clone(),
            critical,
            at: e.last_at.or(e.first_at).unwrap_or_else(Utc::now),
        };
        let grade = rules.grade(&facts);
        let rules_level = e.rules_level.and_then(Level::from_code);
        // Only what the rules newly conclude counts: a level a person set stands until
        // the rules compute more than they did before.
        if !raised(rules_level, grade.level) {
            continue;
        }
        let current = e.level.as_ref().and_then(|l| Level::from_code(l.level));
        if raised(current, grade.level) {
            store
                .set_level(
                    e.id,
                    &LevelRecord {
                        level: grade.level.code(),
                        rule: grade.rule.clone(),
                        reason: grade.reason.clone(),
                        reason_en: grade.reason_en.clone(),
                        at: Utc::now(),
                        by: None,
                    },
                )
                .await?;
            metrics::counter!("yuqing_event_levels_total", "level" => grade.level.as_str())
                .increment(1);
        } else {
            store.set_rules_level(e.id, grade.level.code()).await?;
        }
    }
    store.mark_graded(events, upto).await?;
    stage_seconds("grade", started);
    Ok(())
}

/// Records how long a pipeline stage took for one batch
/// (`yuqing_pipeline_stage_seconds{stage="stage"|"store"|"index"|"commit"}`).
fn stage_seconds(stage: &'static str, started: Instant) {
    metrics::histogram!("yuqing_pipeline_stage_seconds", "stage" => stage)
        .record(started.elapsed().as_secs_f64());
}

/// Cap on remembered id → root entries (older entries are looked up in the store).
const ROOT_CACHE_MAX: usize = 2_000_000;

/// The single writer of a data directory.
pub struct Pipeline<S: Store> {
    store: Arc<S>,
    index: Arc<SearchIndex>,
    writer: Writer,
    grouper: Grouper,
    /// Document identity ([`root_key`]) → its root id.
    roots: HashMap<u64, String>,
    events: Events,
    judge: Arc<Judge>,
    plans_version: Option<i64>,
    plans_checked: Instant,
    settings: IngestSettings,
    uncommitted: usize,
    last_seq: i64,
    last_commit: Instant,
    /// Other writers share the store (`yuqing process` on PostgreSQL): the index is fed
    /// from the store in seq order ([`Pipeline::follow_store`]), not from the batch, and
    /// groups and events are settled by the store.
    shared: bool,
    /// Seqs this writer stored that [`Pipeline::follow_store`] has not passed yet (it
    /// learns only the other writers' documents).
    own: HashSet<i64>,
    /// The store's lowest seq when last looked at, and when that was: the index forgets
    /// what retention dropped below it ([`Pipeline::forget_dropped`]).
    first_seq: i64,
    first_checked: Option<Instant>,
    /// A single writer has loaded the store's orphan roots ([`Events::learn_orphans`]),
    /// at its first batch (a shared writer never needs them: the store adopts).
    orphans_loaded: bool,
}

/// How often a shared writer asks the store whether retention dropped documents.
const RETENTION_CHECK: Duration = Duration::from_secs(5);

/// Orphan roots (events founded by replies under a parent not stored yet) a single writer
/// loads before its first batch, newest first.
const ORPHANS_LOADED: usize = 1_000_000;

impl<S: Store> Pipeline<S> {
    /// Opens the writer: loads grouping and event state and the active plans, and catches
    /// the index up with the store.
    pub async fn open(
        store: Arc<S>,
        index: Arc<SearchIndex>,
        settings: IngestSettings,
        judge: Arc<Judge>,
    ) -> Result<Self, PipelineError> {
        let writer = index.writer_with_words(
            settings.index_memory_mb.max(16) << 20,
            settings.index_threads,
            settings.word_ranking,
        )?;
        let mut grouper = Grouper::new(settings.grouping);
        let mut after = 0;
        loop {
            let fps = store.fingerprints(after, 100_000).await?;
            let Some(last) = fps.last() else { break };
            after = last.seq;
            for f in &fps {
                grouper.learn(f.content_key, f.simhash, f.group_id);
            }
        }
        let mut events = Events::new(judge.settings().cluster.clone());
        let max_seq = store.max_seq().await?;
        for d in store.scan((max_seq - WARM_DOCS).max(0), WARM_DOCS).await? {
            if let Some(e) = d.event_id
                && d.doc.parent_id.is_none()
                && !d.doc.kind.is_spread()
            {
                let at = d
                    .doc
                    .published_at
                    .map_or(d.ingested_at.timestamp_millis(), |t| t.timestamp_millis());
                events.warm(e, &normalize(&d.doc.text), at);
            }
        }
        let mut me = Self {
            store,
            index,
            writer,
            grouper,
            roots: HashMap::default(),
            events,
            judge,
            plans_version: None,
            plans_checked: Instant::now(),
            settings,
            uncommitted: 0,
            last_seq: 0,
            last_commit: Instant::now(),
            shared: false,
            own: HashSet::default(),
            first_seq: 0,
            first_checked: None,
            orphans_loaded: false,
        };
        me.reload_plans().await?;
        me.catch_up().await?;
        // What retention deleted while no writer ran (`[retention]` under a `serve` that
        // stopped before its index forgot them) leaves the index now.
        me.forget_dropped().await?;
        Ok(me)
    }

    pub fn settings(&self) -> &IngestSettings {
        &self.settings
    }

    /// The judge the preparers of this pipeline must use.
    pub fn judge(&self) -> &Arc<Judge> {
        &self.judge
    }

    /// [`Pipeline::reload_plans`] when the last look is [`PLAN_CHECK`] old (the writer
    /// calls it when idle, so a plan changed elsewhere applies within seconds).
    pub async fn reload_plans_if_due(&mut self) -> Result<(), PipelineError> {
        if self.plans_checked.elapsed() >= PLAN_CHECK {
            self.reload_plans().await?;
        }
        Ok(())
    }

    /// Compiles the active plans into the judge when they changed since the last look.
    pub async fn reload_plans(&mut self) -> Result<(), PipelineError> {
        self.plans_checked = Instant::now();
        let v = self.store.plans_version().await?;
        if self.plans_version == Some(v) {
            return Ok(());
        }
        let mut compiled = Vec::new();
        for p in self.store.plans().await? {
            if !p.active {
                continue;
            }
            match Plan::parse(&p.expression) {
                Ok(plan) => compiled.push((p.id, plan)),
                Err(e) => {
                    tracing::error!(plan = %p.name, error = %e, "plan does not parse; skipped")
                }
            }
        }
        tracing::info!(plans = compiled.len(), "active plans loaded");
        metrics::gauge!("yuqing_plans_active").set(compiled.len() as f64);
        self.judge.set_plans(PlanSet::new(compiled));
        self.plans_version = Some(v);
        Ok(())
    }

    /// Says that other writers share the store (several `yuqing process` on one
    /// PostgreSQL database). Each batch's documents are then not indexed from the batch:
    /// after every batch, [`Pipeline::follow_store`] indexes everything committed after
    /// the last indexed seq, this writer's and the others', so each writer's index holds
    /// the whole store. This relies on the store's seq order being its commit order (a
    /// seq below a committed one is never committed later), which `PgStore` guarantees.
    ///
    /// Groups and events are then shared too: group and event ids come from the store,
    /// every document asks the store to settle its group and event under its write lock
    /// ([`yuqing_store::EventLink::verify`]: a root, text or group another writer claimed
    /// first wins; a parent arriving after its replies adopts their event), and
    /// [`Pipeline::follow_store`] teaches this writer what the others stored (their roots'
    /// and groups' events, their fingerprints, their originals' words), so that it
    /// proposes what the store would settle.
    /// Whether this pipeline shares its store with other writers ([`Pipeline::set_shared`]).
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    pub fn set_shared(&mut self, shared: bool) {
        self.shared = shared;
        self.events.set_shared(shared);
    }

    /// Indexes the documents stored after the last indexed seq, by this writer or any
    /// other (a shared store; see [`Pipeline::set_shared`]). Call it when idle too, so
    /// the others' documents become searchable here. Returns how many were indexed.
    pub async fn follow_store(&mut self) -> Result<u64, PipelineError> {
        self.forget_dropped_if_due().await?;
        let started = Instant::now();
        let mut n = 0;
        loop {
            let (docs, fps) = tokio::try_join!(
                self.store.scan(self.last_seq, 5000),
                self.store.fingerprints(self.last_seq, 5000)
            )?;
            let Some(last) = docs.last().map(|d| d.seq) else {
                break;
            };
            let fps: HashMap<i64, &yuqing_store::Fingerprint> =
                fps.iter().map(|f| (f.seq, f)).collect();
            for d in &docs {
                self.index_stored(d)?;
                if !self.own.remove(&d.seq) {
                    self.learn_other(d, fps.get(&d.seq).copied());
                }
                n += 1;
            }
            self.last_seq = last;
            if docs.len() < 5000 {
                break;
            }
        }
        if n > 0 {
            stage_seconds("index", started);
        }
        Ok(n)
    }

    /// [`forget_dropped`](Self::forget_dropped) if the last look is more than a few
    /// seconds old: what [`follow_store`](Self::follow_store) does on a shared store, and
    /// the writer thread when idle on its own store (`[retention]` on SQLite). Returns
    /// whether the store's lowest seq rose.
    pub async fn forget_dropped_if_due(&mut self) -> Result<bool, PipelineError> {
        if self
            .first_checked
            .is_none_or(|t| t.elapsed() >= RETENTION_CHECK)
        {
            return self.forget_dropped().await;
        }
        Ok(false)
    }

    /// Removes from the index the documents the store no longer has because retention
    /// dropped them (`PgStore::drop_partitions_before`, run by one node of a shared store,
    /// or `SqliteStore::drop_documents_before` under `serve`): everything below the
    /// store's lowest seq. Called every few seconds ([`forget_dropped_if_due`](Self::forget_dropped_if_due));
    /// returns whether the store's lowest seq rose since the last look (the first look at
    /// open counts).
    ///
    /// A document the store still has is never removed: seqs rise with ingest time, and a
    /// document kept at a month's edge (a host whose clock lagged) only keeps the dropped
    /// ones above it in the index; searches leave out hits the store cannot return.
    pub async fn forget_dropped(&mut self) -> Result<bool, PipelineError> {
        self.first_checked = Some(Instant::now());
        let first = self.store.first_seq().await?;
        // An empty store answers 0: nothing to forget.
        if first <= self.first_seq {
            return Ok(false);
        }
        let before = std::mem::replace(&mut self.first_seq, first);
        if first == 1 {
            // Seqs start at 1: nothing was ever deleted, no index commit needed.
            return Ok(true);
        }
        self.writer.delete_below(first)?;
        self.commit()?;
        if before > 0 {
            tracing::info!(
                below = first,
                "documents dropped by retention removed from the index"
            );
        }
        Ok(true)
    }

    /// Learns a document another writer stored (see [`Pipeline::set_shared`]).
    fn learn_other(&mut self, d: &StoredDocument, fp: Option<&yuqing_store::Fingerprint>) {
        if let Some(f) = fp {
            self.grouper.learn(f.content_key, f.simhash, f.group_id);
        }
        let Some(id) = d.doc.id.as_deref() else {
            return;
        };
        let root = d.doc.root_id.as_deref().unwrap_or(id);
        self.roots
            .insert(root_key(&d.doc.platform, id), root.to_owned());
        let original = d.doc.parent_id.is_none() && !d.doc.kind.is_spread();
        let text = original.then(|| normalize(&d.doc.text));
        self.events.follow(d, text.as_deref());
    }

    /// Recovers from a failed index write (a full disk: the index writer then refuses all
    /// work): drops what was not committed, starts the writer afresh and indexes what the
    /// store has beyond the index's last commit. The store is never touched.
    pub async fn recover_index(&mut self) -> Result<u64, PipelineError> {
        self.writer.restart()?;
        self.uncommitted = 0;
        self.last_commit = Instant::now();
        let n = self.catch_up().await?;
        if n > 0 {
            self.commit()?;
        }
        tracing::info!(indexed = n, "index writer recovered");
        Ok(n)
    }

    /// Indexes stored documents the index does not have yet (after a crash).
    pub async fn catch_up(&mut self) -> Result<u64, PipelineError> {
        let mut after = self.index.indexed_seq()?;
        let max = self.store.max_seq().await?;
        if after >= max {
            self.last_seq = after;
            return Ok(0);
        }
        tracing::info!(
            from = after,
            to = max,
            "index is behind the store, catching up"
        );
        let mut n = 0;
        loop {
            let docs = self.store.scan(after, 5000).await?;
            let Some(last) = docs.last() else { break };
            after = last.seq;
            for d in &docs {
                self.index_stored(d)?;
                n += 1;
            }
        }
        self.last_seq = after;
        self.commit()?;
        Ok(n)
    }

    fn index_stored(&mut self, d: &StoredDocument) -> Result<(), PipelineError> {
        let title = d.doc.title.as_deref().map(normalize).unwrap_or_default();
        let text = normalize(&d.doc.text);
        self.writer.add(&IndexDoc {
            seq: d.seq,
            title: &title,
            text: &text,
            platform: &d.doc.platform,
            kind: d.doc.kind.as_str(),
            source: d.doc.source.as_deref().unwrap_or(""),
            published_ms: d.doc.published_at.map(|t| t.timestamp_millis()),
            verified: d.doc.author_verified(),
            group_id: d.group_id,
        })?;
        self.uncommitted += 1;
        Ok(())
    }

    /// Commits the index (and makes it visible to searches).
    pub fn commit(&mut self) -> Result<(), PipelineError> {
        let started = Instant::now();
        self.writer.commit(self.last_seq)?;
        stage_seconds("commit", started);
        metrics::gauge!("yuqing_index_seq").set(self.last_seq as f64);
        self.index.reload()?;
        self.uncommitted = 0;
        self.last_commit = Instant::now();
        Ok(())
    }

    /// Commits if the configured interval has passed since the last commit.
    pub fn maybe_commit(&mut self) -> Result<(), PipelineError> {
        if self.uncommitted > 0
            && self.last_commit.elapsed() >= Duration::from_secs(self.settings.index_commit_secs)
        {
            self.commit()?;
        }
        Ok(())
    }

    /// Stores one batch of prepared items (in input order) and the source's checkpoint.
    /// Returns the counts and one outcome per item.
    pub async fn ingest(
        &mut self,
        items: Vec<Result<Prepared, Rejected>>,
        checkpoint: Option<Checkpoint>,
        source: &str,
    ) -> Result<(Report, Vec<Outcome>), PipelineError> {
        self.reload_plans_if_due().await?;
        let staged = self.stage(items, checkpoint, source).await?;
        let inserted = store_staged(self.store.as_ref(), &staged).await?;
        let (report, outcomes, touched) = self.apply(staged, inserted)?;
        self.regrade(&touched.0, touched.1).await?;
        if self.shared {
            self.follow_store().await?;
        }
        Ok((report, outcomes))
    }

    /// Re-grades the events a batch added to, whose newest member is seq `upto`, and
    /// marks them graded up to it (the alert follower waits for that mark). See
    /// [`regrade`].
    pub async fn regrade(&mut self, events: &[i64], upto: i64) -> Result<(), PipelineError> {
        regrade(self.store.as_ref(), &self.judge, events, upto).await
    }

    /// Stores a stream of batches (an import) in three overlapping steps: while a task
    /// stores batch N (one transaction) and then re-grades the events batch N−1 added to,
    /// this thread de-duplicates and groups batch N+1 and then finishes batch N−1's
    /// outcomes and index entries. `next` returns the next batch (it may block); `each`
    /// sees every batch's report, in order.
    ///
    /// Staging batch N+1 before batch N is stored is what [`Pipeline::apply`] is made
    /// for (a document stored meanwhile becomes a duplicate and its grouping is undone);
    /// re-grading after the next batch's transaction only grades from fresher counters.
    /// A writer of a shared store ([`Pipeline::set_shared`]) stores one batch after
    /// another instead.
    pub async fn ingest_stream(
        &mut self,
        mut next: impl FnMut() -> Option<Vec<Result<Prepared, Rejected>>>,
        source: &str,
        mut each: impl FnMut(&Report, &[Outcome]),
    ) -> Result<Report, PipelineError> {
        let mut total = Report::default();
        if self.shared {
            // Other writers' documents are learnt from the store after each batch
            // (`follow_store`), which tells this writer's own from theirs only while no
            // batch of its own is being stored meanwhile: one batch after another.
            while let Some(batch) = tokio::task::block_in_place(&mut next) {
                let (r, o) = self.ingest(batch, None, source).await?;
                total.add(&r);
                each(&r, &o);
            }
            return Ok(total);
        }
        let mut in_flight: Option<StoreTask> = None;
        loop {
            let batch = tokio::task::block_in_place(&mut next);
            let Some(batch) = batch else { break };
            // Staged while the previous batch is being stored.
            let staged = self.stage(batch, None, source).await?;
            // One transaction at a time, in batch order.
            let previous = match in_flight.take() {
                Some(task) => Some(joined(task).await?),
                None => None,
            };
            let (grades, graded_later) = tokio::sync::oneshot::channel::<Touched>();
            in_flight = Some(self.spawn_store(staged, previous.is_some().then_some(graded_later)));
            if let Some(done) = previous {
                let (r, o) = self.finish_stored(done, Some(grades)).await?;
                total.add(&r);
                each(&r, &o);
            }
        }
        if let Some(last) = in_flight {
            let (r, o) = self.finish_stored(joined(last).await?, None).await?;
            total.add(&r);
            each(&r, &o);
        }
        Ok(total)
    }

    /// Starts storing `staged` on its own task; with `regrade_after`, the task then
    /// waits for the events the previous batch touched and re-grades them.
    fn spawn_store(
        &self,
        staged: Staged,
        regrade_after: Option<tokio::sync::oneshot::Receiver<Touched>>,
    ) -> StoreTask {
        let store = self.store.clone();
        let judge = self.judge.clone();
        tokio::spawn(async move {
            let inserted = store_staged(store.as_ref(), &staged).await;
            let graded = match regrade_after {
                // The previous batch failed to finish: nothing to grade.
                Some(rx) => match rx.await {
                    Ok((events, upto)) => regrade(store.as_ref(), &judge, &events, upto).await,
                    Err(_) => Ok(()),
                },
                None => Ok(()),
            };
            (staged, inserted, graded)
        })
    }

    /// Feeds the index with a batch stored by a [`Pipeline::spawn_store`] task and makes
    /// its report; its events are re-graded by the task after it (`grades`), or here if
    /// there is none.
    async fn finish_stored(
        &mut self,
        (staged, inserted): (Staged, Vec<yuqing_store::Inserted>),
        grades: Option<tokio::sync::oneshot::Sender<Touched>>,
    ) -> Result<(Report, Vec<Outcome>), PipelineError> {
        let (r, o, touched) = self.apply(staged, inserted)?;
        match grades {
            Some(tx) => {
                // The next task grades them after its own transaction.
                let _ = tx.send(touched);
            }
            None => self.regrade(&touched.0, touched.1).await?,
        }
        Ok((r, o))
    }

    /// De-duplicates a batch against itself and the store, resolves roots and assigns
    /// reprint groups (tentatively: [`Pipeline::apply`] undoes what was not stored).
    async fn stage(
        &mut self,
        items: Vec<Result<Prepared, Rejected>>,
        checkpoint: Option<Checkpoint>,
        source: &str,
    ) -> Result<Staged, PipelineError> {
        let started = Instant::now();
        let mut report = Report {
            read: items.len() as u64,
            ..Default::default()
        };
        let mut outcomes: Vec<Option<Outcome>> = vec![None; items.len()];
        let mut letters = Vec::new();
        let mut ok: Vec<(usize, Prepared)> = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Err(r) => {
                    report.rejected += 1;
                    outcomes[i] = Some(Outcome::Rejected {
                        location: r.location.clone(),
                        reason: r.reason.clone(),
                    });
                    letters.push(DeadLetter {
                        source: source.to_owned(),
                        location: r.location,
                        reason: r.reason,
                        payload: r.payload,
                    });
                }
                Ok(p) => ok.push((i, p)),
            }
        }
        // Duplicates inside the batch, then against the store.
        let mut keep = vec![true; ok.len()];
        {
            let mut seen_ids: HashSet<(&str, &str)> =
                HashSet::with_capacity_and_hasher(ok.len(), Default::default());
            let mut seen_urls: HashSet<&str> = HashSet::default();
            for (k, (_, p)) in ok.iter().enumerate() {
                let fresh_id = seen_ids.insert((p.doc.platform.as_str(), p.id.as_str()));
                let fresh_url = p
                    .url_canonical
                    .as_deref()
                    .is_none_or(|u| seen_urls.insert(u));
                keep[k] = fresh_id && fresh_url;
            }
            let mut by_platform: HashMap<&str, Vec<&str>> = HashMap::default();
            for (k, (_, p)) in ok.iter().enumerate() {
                if keep[k] {
                    by_platform
                        .entry(p.doc.platform.as_str())
                        .or_default()
                        .push(p.id.as_str());
                }
            }
            let mut existing: HashSet<(String, String)> = HashSet::default();
            for (platform, ids) in &by_platform {
                for id in self.store.existing_ids(platform, ids).await? {
                    existing.insert(((*platform).to_owned(), id));
                }
            }
            let urls: Vec<&str> = ok
                .iter()
                .filter_map(|(_, p)| p.url_canonical.as_deref())
                .collect();
            let existing_urls = if urls.is_empty() {
                std::collections::HashSet::new()
            } else {
                self.store.existing_urls(&urls).await?
            };
            if !existing.is_empty() || !existing_urls.is_empty() {
                for (k, (_, p)) in ok.iter().enumerate() {
                    if keep[k]
                        && (existing.contains(&(p.doc.platform.clone(), p.id.clone()))
                            || p.url_canonical
                                .as_ref()
                                .is_some_and(|u| existing_urls.contains(u)))
                    {
                        keep[k] = false;
                    }
                }
            }
        }
        let mut fresh: Vec<(usize, Prepared)> = Vec::with_capacity(ok.len());
        for ((i, p), k) in ok.into_iter().zip(keep) {
            if k {
                fresh.push((i, p));
            } else {
                report.duplicates += 1;
                outcomes[i] = Some(Outcome::Duplicate { id: p.id });
            }
        }

        // Roots: given, or the parent's root (batch, cache, then store), or the parent.
        let mut looked_up: HashMap<u64, String> = HashMap::default();
        {
            let batch_ids: HashSet<(&str, &str)> = fresh
                .iter()
                .map(|(_, p)| (p.doc.platform.as_str(), p.id.as_str()))
                .collect();
            let mut missing: HashMap<&str, Vec<&str>> = HashMap::default();
            for (_, p) in &fresh {
                if p.doc.root_id.is_none()
                    && let Some(parent) = p.doc.parent_id.as_deref()
                    && !batch_ids.contains(&(p.doc.platform.as_str(), parent))
                    && !self.roots.contains_key(&root_key(&p.doc.platform, parent))
                {
                    missing
                        .entry(p.doc.platform.as_str())
                        .or_default()
                        .push(parent);
                }
            }
            for (platform, ids) in missing {
                for (id, root) in self.store.roots(platform, &ids).await? {
                    looked_up.insert(root_key(platform, &id), root);
                }
            }
        }
        if self.roots.len() > ROOT_CACHE_MAX {
            self.roots.clear();
        }
        if self.shared {
            // Group ids from the store: at most one new group per document.
            let need = self.grouper.ids_needed(fresh.len());
            if need > 0 {
                self.grouper
                    .provide(self.store.allocate_group_ids(need).await?);
            }
        }
        let now = Utc::now();
        let n = fresh.len();
        let mut staged = Staged {
            report,
            outcomes,
            letters,
            checkpoint,
            new_docs: Vec::with_capacity(n),
            positions: Vec::with_capacity(n),
            norms: Vec::with_capacity(n),
            assignments: Vec::with_capacity(n),
        };
        let mut criticals: Vec<Option<i64>> = Vec::with_capacity(n);
        let generation = self.judge.generation();
        for (i, mut p) in fresh {
            // Judged before the plans last changed: match again with the current ones.
            if p.judged.plans_generation != generation {
                (p.judged.plans_generation, p.judged.plan_hits) = self.judge.match_plans(&p);
            }
            let Prepared {
                mut doc,
                id,
                url_canonical,
                site,
                norm_title,
                norm_text,
                significant,
                simhash,
                judged,
                encoded,
                ..
            } = p;
            let root: Option<String> = match (&doc.root_id, &doc.parent_id) {
                (Some(r), _) => Some(r.clone()),
                (None, Some(parent)) => {
                    let k = root_key(&doc.platform, parent);
                    Some(
                        self.roots
                            .get(&k)
                            .or_else(|| looked_up.get(&k))
                            .cloned()
                            .unwrap_or_else(|| parent.clone()),
                    )
                }
                (None, None) => None,
            };
            self.roots.insert(
                root_key(&doc.platform, &id),
                root.clone().unwrap_or_else(|| id.clone()),
            );
            let group_text = if norm_text.is_empty() {
                &norm_title
            } else {
                &norm_text
            };
            let a = self
                .grouper
                .assign(group_text, significant, simhash, root.as_deref());
            if doc.root_id.is_none() && doc.parent_id.is_some() {
                doc.root_id = root;
            }
            staged.new_docs.push(NewDocument {
                doc,
                id,
                url_canonical,
                site,
                content_key: a.content_key.map(|k| k as i64),
                simhash: a.simhash.map(|h| h as i64),
                group_id: a.group_id,
                group_joined: a.joined,
                ingested_at: now,
                assessment: judged.assessment,
                plan_hits: judged.plan_hits,
                mainstream: judged.mainstream,
                event: None,
                encoded: Some(encoded),
            });
            criticals.push(judged.critical);
            staged.positions.push(i);
            staged.norms.push((norm_title, norm_text));
            staged.assignments.push(a);
        }
        self.assign_events(&mut staged, &criticals).await?;
        stage_seconds("stage", started);
        Ok(staged)
    }

    /// Puts every new document of the batch into an event (see [`crate::transforms::event`]).
    async fn assign_events(
        &mut self,
        staged: &mut Staged,
        criticals: &[Option<i64>],
    ) -> Result<(), PipelineError> {
        if !self.shared && !self.orphans_loaded {
            self.events
                .learn_orphans(&self.store.orphan_roots(ORPHANS_LOADED).await?);
            self.orphans_loaded = true;
        }
        let ingested = Utc::now().timestamp_millis();
        let candidates: Vec<Candidate> = staged
            .new_docs
            .iter()
            .zip(&staged.norms)
            .map(|(n, (title, text))| {
                let original = n.doc.parent_id.is_none() && !n.doc.kind.is_spread();
                Candidate {
                    platform: n.doc.platform.as_str(),
                    id: n.id.as_str(),
                    root: n.doc.root_id.as_deref().filter(|r| *r != n.id),
                    group: n.group_id,
                    joined_group: n.group_joined,
                    norm_text: if text.is_empty() { title } else { text },
                    at_ms: n
                        .doc
                        .published_at
                        .map_or(ingested, |t| t.timestamp_millis()),
                    original,
                }
            })
            .collect();
        for (platform, roots) in self.events.unknown_roots(&candidates) {
            let known = self.store.event_roots(platform, &roots).await?;
            self.events
                .learn(platform, known, std::collections::HashMap::new());
        }
        let groups = self.events.unknown_groups(&candidates);
        if !groups.is_empty() {
            let known = self.store.group_events(&groups).await?;
            self.events
                .learn("", std::collections::HashMap::new(), known);
        }
        let need = self.events.ids_needed(&candidates);
        if need > 0 {
            self.events
                .provide(self.store.allocate_event_ids(need).await?);
        }
        let mut links: Vec<_> = candidates
            .iter()
            .zip(criticals)
            .map(|(c, critical)| self.events.assign(c, *critical))
            .collect();
        let adoptions = self.events.take_adoptions();
        if !adoptions.is_empty() {
            // A parent adopts replies stored before it: the store settles the whole batch
            // (its orphans may be in it) and merges their event into the parent's.
            for l in &mut links {
                l.verify = true;
            }
            // Ids whose cached root was the parent now have the root above it; the store
            // answers for them from now on.
            self.roots
                .retain(|_, root| !adoptions.iter().any(|a| a.old_root == *root));
            for a in &adoptions {
                tracing::info!(from = a.from, into = a.into, parent = %a.old_root, "replies adopted by their parent's event");
            }
        }
        for (n, link) in staged.new_docs.iter_mut().zip(links) {
            n.event = Some(link);
        }
        Ok(())
    }

    /// Finishes a stored batch: undoes grouping of what was not stored, feeds the index,
    /// and builds the report and outcomes.
    /// Also returns the events that got new members.
    fn apply(
        &mut self,
        staged: Staged,
        inserted: Vec<yuqing_store::Inserted>,
    ) -> Result<(Report, Vec<Outcome>, Touched), PipelineError> {
        let started = Instant::now();
        let upto = inserted.iter().map(|i| i.seq).max().unwrap_or(0);
        let Staged {
            mut report,
            mut outcomes,
            new_docs,
            positions,
            norms,
            assignments,
            ..
        } = staged;
        type Settled = (i64, Option<i64>, Option<i64>);
        let seq_of: HashMap<(&str, &str), Settled> = inserted
            .iter()
            .map(|i| {
                (
                    (i.platform.as_str(), i.id.as_str()),
                    (i.seq, i.event_id, i.group_id),
                )
            })
            .collect();
        let mut touched: Vec<i64> = Vec::new();
        for (((n, &i), (title, text)), a) in new_docs
            .iter()
            .zip(&positions)
            .zip(&norms)
            .zip(&assignments)
        {
            match seq_of.get(&(n.doc.platform.as_str(), n.id.as_str())) {
                Some(&(seq, event, group)) => {
                    report.stored += 1;
                    if self.shared {
                        self.own.insert(seq);
                    }
                    if let Some(l) = &n.event {
                        let e = event.unwrap_or(l.event_id);
                        touched.push(e);
                        if e != l.event_id || group != n.group_id {
                            // Settled by the store otherwise (another writer came first).
                            let root = n.doc.root_id.as_deref().unwrap_or(&n.id);
                            self.events.settled(&n.doc.platform, root, group, e);
                            if let (Some(g), Some(_)) = (group, n.group_id)
                                && group != n.group_id
                            {
                                self.grouper.relabel(a, g);
                            }
                        }
                    }
                    if a.joined {
                        report.near_duplicates += 1;
                    }
                    // A shared store is indexed from the store instead (follow_store).
                    if !self.shared {
                        self.writer.add(&IndexDoc {
                            seq,
                            title,
                            text,
                            platform: &n.doc.platform,
                            kind: n.doc.kind.as_str(),
                            source: n.doc.source.as_deref().unwrap_or(""),
                            published_ms: n.doc.published_at.map(|t| t.timestamp_millis()),
                            verified: n.doc.author_verified(),
                            group_id: group,
                        })?;
                        self.uncommitted += 1;
                        self.last_seq = self.last_seq.max(seq);
                    }
                    outcomes[i] = Some(Outcome::Stored {
                        id: n.id.clone(),
                        seq,
                        group_id: group,
                        joined_group: a.joined || group != n.group_id,
                    });
                }
                None => {
                    // Stored meanwhile (a copy in an earlier batch still in flight, or
                    // another writer): a duplicate, and its grouping is undone.
                    self.grouper.rollback(a);
                    report.duplicates += 1;
                    outcomes[i] = Some(Outcome::Duplicate { id: n.id.clone() });
                }
            }
        }
        stage_seconds("index", started);
        metrics::counter!("yuqing_pipeline_received_total").increment(report.read);
        metrics::counter!("yuqing_pipeline_stored_total").increment(report.stored);
        metrics::counter!("yuqing_pipeline_dropped_total", "reason" => "duplicate")
            .increment(report.duplicates);
        metrics::counter!("yuqing_pipeline_dropped_total", "reason" => "rejected")
            .increment(report.rejected);
        metrics::counter!("yuqing_pipeline_near_duplicates_total")
            .increment(report.near_duplicates);
        let outcomes = outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or(Outcome::Rejected {
                    location: String::new(),
                    reason: "internal: no outcome".into(),
                })
            })
            .collect();
        touched.sort_unstable();
        touched.dedup();
        Ok((report, outcomes, (touched, upto)))
    }

    /// Commits the index and waits for background merges (call before exit).
    pub fn finish(mut self) -> Result<(), PipelineError> {
        self.commit()?;
        self.writer.finish()?;
        Ok(())
    }
}

/// Cuts a payload kept as a dead letter to 64 KiB.
pub fn cut(s: &str) -> String {
    const MAX: usize = 64 << 10;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[{} bytes]", &s[..end], s.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::prepare::prepare;
    use yuqing_store::{NewPlan, SqliteStore};

    fn doc(id: &str, text: &str) -> yuqing_core::Document {
        let mut d = yuqing_core::Document::new("weibo", id);
        d.text = text.to_owned();
        d
    }

    /// The first `n` documents of the CED dev set (real Weibo posts with their repost
    /// chains), prepared as an import prepares them.
    fn ced_prepared(n: usize, judge: &Judge) -> Vec<Result<Prepared, Rejected>> {
        use std::io::BufRead;
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/ced/ced_dev_documents.jsonl.gz"
        );
        let file = std::fs::File::open(path).expect("CED dev documents (../shared/data)");
        std::io::BufReader::new(flate2::read::MultiGzDecoder::new(file))
            .lines()
            .take(n)
            .map(|line| {
                let d = crate::import::parse_json_line(line.expect("line").as_bytes())
                    .expect("CED line");
                Ok(prepare(d, "ced".into(), 1 << 20, judge).expect("prepare"))
            })
            .collect()
    }

    /// A post (no parent) or a repost of `parent`, prepared as at ingest.
    fn item(
        judge: &Judge,
        id: &str,
        parent: Option<&str>,
        text: &str,
    ) -> Result<Prepared, Rejected> {
        let mut d = doc(id, text);
        if let Some(p) = parent {
            d.kind = yuqing_core::Kind::Repost;
            d.parent_id = Some(p.into());
        }
        Ok(prepare(d, "t".into(), 1 << 20, judge).expect("prepare"))
    }

    /// Every event of a store.
    async fn all_events(store: &SqliteStore) -> Vec<yuqing_store::EventRow> {
        store
            .events(&yuqing_store::EventQuery {
                limit: 1_000_000,
                ..Default::default()
            })
            .await
            .expect("events")
    }

    /// What a store holds of a run: every event with its root, counters, level, rules
    /// level and grading mark.
    async fn events_of(store: &SqliteStore) -> Vec<String> {
        let mut out: Vec<String> = all_events(store)
            .await
            .iter()
            .map(|e| {
                format!(
                    "{} {} {} {:?} {} {} {:?} {:?} {}",
                    e.id,
                    e.root_id,
                    e.documents,
                    e.first_seq,
                    e.comments,
                    e.views,
                    e.level.as_ref().map(|l| (l.level, &l.rule)),
                    e.rules_level,
                    e.graded_seq
                )
            })
            .collect();
        out.sort();
        out
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_overlapped_import_stores_and_grades_as_batch_by_batch() {
        // 6,000 real posts in batches of 400: each stored while the next is staged and
        // the one before is indexed, its events graded by the next store task.
        let judge = Judge::builtin();
        let items = ced_prepared(6000, &judge);
        let settings = IngestSettings {
            batch_size: 400,
            ..IngestSettings::default()
        };
        let open = |store: Arc<SqliteStore>| {
            let judge = judge.clone();
            let settings = settings.clone();
            async move {
                Pipeline::open(
                    store,
                    Arc::new(SearchIndex::in_ram().expect("index")),
                    settings,
                    judge,
                )
                .await
                .expect("pipeline")
            }
        };
        let one_by_one = Arc::new(SqliteStore::in_memory().await.expect("store"));
        let mut p = open(one_by_one.clone()).await;
        let mut expected = Vec::new();
        for batch in items.chunks(400) {
            let (_, o) = p.ingest(batch.to_vec(), None, "ced").await.expect("ingest");
            expected.extend(o);
        }
        p.finish().expect("finish");

        let streamed = Arc::new(SqliteStore::in_memory().await.expect("store"));
        let mut p = open(streamed.clone()).await;
        let mut batches = items.chunks(400).map(<[_]>::to_vec);
        let (mut outcomes, mut reports) = (Vec::new(), 0);
        let total = p
            .ingest_stream(
                || batches.next(),
                "ced",
                |_, o| {
                    reports += 1;
                    outcomes.extend_from_slice(o);
                },
            )
            .await
            .expect("ingest_stream");
        p.finish().expect("finish");

        assert_eq!(reports, 15);
        assert_eq!(total.stored, 6000);
        assert_eq!(
            outcomes, expected,
            "the same seqs, groups and outcomes in order"
        );
        let (a, b) = (events_of(&one_by_one).await, events_of(&streamed).await);
        assert!(
            a.len() > 10,
            "CED's first 6,000 posts make events: {}",
            a.len()
        );
        assert!(
            a.iter().any(|e| !e.contains(" None None ")),
            "some events are graded above nothing"
        );
        assert_eq!(a, b, "events, their levels and grading marks");
        // Every event graded up to its newest member.
        for e in all_events(&streamed).await {
            let newest = streamed
                .event_members(e.id)
                .await
                .expect("members")
                .iter()
                .map(|m| m.seq)
                .max()
                .expect("a member");
            assert!(
                e.graded_seq >= newest,
                "event {} graded to {}",
                e.id,
                e.graded_seq
            );
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_shared_writer_imports_one_batch_after_another() {
        let judge = Judge::builtin();
        let items = ced_prepared(600, &judge);
        let store = Arc::new(SqliteStore::in_memory().await.expect("store"));
        let index = Arc::new(SearchIndex::in_ram().expect("index"));
        let mut p = Pipeline::open(
            store.clone(),
            index.clone(),
            IngestSettings::default(),
            judge.clone(),
        )
        .await
        .expect("pipeline");
        p.set_shared(true);
        let mut batches = items.chunks(100).map(<[_]>::to_vec);
        let mut seqs = Vec::new();
        let total = p
            .ingest_stream(
                || batches.next(),
                "ced",
                |_, o| {
                    seqs.extend(o.iter().filter_map(|o| match o {
                        Outcome::Stored { seq, .. } => Some(*seq),
                        _ => None,
                    }))
                },
            )
            .await
            .expect("ingest_stream");
        p.finish().expect("finish");
        index.reload().expect("reload");
        assert_eq!(total.stored, 600);
        assert_eq!(
            seqs,
            (1..=600).collect::<Vec<i64>>(),
            "stored in input order"
        );
        // Indexed from the store (follow_store), each once.
        assert_eq!(index.num_docs(), 600);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn documents_judged_before_a_plan_change_are_matched_again() {
        let store = Arc::new(SqliteStore::in_memory().await.expect("store"));
        let index = Arc::new(SearchIndex::in_ram().expect("index"));
        let judge = Judge::builtin();
        let mut p = Pipeline::open(
            store.clone(),
            index,
            IngestSettings::default(),
            judge.clone(),
        )
        .await
        .expect("pipeline");
        // Prepared (judged) while no plan exists …
        let early =
            prepare(doc("1", "某中学食堂饭菜变质"), "t".into(), 1 << 20, &judge).expect("prepare");
        assert!(early.judged.plan_hits.is_empty());
        // … then a plan is added elsewhere and the writer notices before storing.
        let plan = store
            .put_plan(&NewPlan {
                name: "食堂".into(),
                expression: "食堂+变质".into(),
                structured: None,
                active: true,
                origin: "api".into(),
                by: None,
            })
            .await
            .expect("plan");
        p.reload_plans().await.expect("reload");
        let (report, _) = p.ingest(vec![Ok(early)], None, "t").await.expect("ingest");
        assert_eq!(report.stored, 1);
        let hits = store.plan_hit_count(plan.id).await.expect("hits");
        assert_eq!(hits, 1, "matched with the plans current at storing time");
        // Documents judged after the change carry the new generation and are not redone.
        let late = prepare(doc("2", "食堂又变质了"), "t".into(), 1 << 20, &judge).expect("prepare");
        assert_eq!(late.judged.plans_generation, judge.generation());
        assert_eq!(late.judged.plan_hits.len(), 1);
        // The event and its level were recorded with the documents.
        let events = store
            .events(&yuqing_store::EventQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .expect("events");
        assert_eq!(events.len(), 1);
        assert!(events[0].level.is_some(), "every event is graded");
    }

    /// One writer, replies collected before the repost they answer (g → c, then c → P):
    /// c adopts g's event, whether c comes in a later batch, in g's batch, or after a
    /// restart; the emptied event points at P's, and its analysis leads there.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_repost_arriving_after_its_replies_brings_them_into_its_chains_event() {
        let judge = Judge::builtin();
        let open = |store: Arc<SqliteStore>| {
            let judge = judge.clone();
            async move {
                Pipeline::open(
                    store,
                    Arc::new(SearchIndex::in_ram().expect("index")),
                    IngestSettings::default(),
                    judge,
                )
                .await
                .expect("pipeline")
            }
        };
        let item = |id: &str, parent: Option<&str>, text: &str| item(&judge, id, parent, text);
        let post = || item("P", None, "某县医院发生火灾，多名医生和病人受伤");
        let g = || item("g", Some("c"), "太可怕了，希望都平安");
        let c = || item("c", Some("P"), "转发：火灾现场视频");
        let g3 = || item("g3", Some("g"), "祈祷");
        for case in ["later batch", "same batch", "after a restart"] {
            let store = Arc::new(SqliteStore::in_memory().await.expect("store"));
            let mut p = open(store.clone()).await;
            p.ingest(vec![post()], None, "t").await.expect("post");
            match case {
                "same batch" => {
                    p.ingest(vec![g(), c()], None, "t").await.expect("g, c");
                }
                _ => {
                    p.ingest(vec![g()], None, "t").await.expect("g");
                    if case == "after a restart" {
                        p.finish().expect("finish");
                        p = open(store.clone()).await;
                    }
                    p.ingest(vec![c()], None, "t").await.expect("c");
                }
            }
            p.ingest(vec![g3()], None, "t").await.expect("g3");
            p.finish().expect("finish");
            let get = |id: &'static str| {
                let store = store.clone();
                async move { store.get("weibo", id).await.expect("get").expect("stored") }
            };
            let event = get("P").await.event_id.expect("event");
            for id in ["c", "g", "g3"] {
                let d = get(id).await;
                assert_eq!(d.event_id, Some(event), "{case}: {id} is in P's event");
                assert_eq!(d.doc.root_id.as_deref(), Some("P"), "{case}: {id}'s root");
            }
            let events = all_events(&store).await;
            assert_eq!(events.len(), 1, "{case}: {events:?}");
            assert_eq!(
                (
                    events[0].id,
                    events[0].documents,
                    events[0].first_id.as_deref()
                ),
                (event, 4, Some("P")),
                "{case}"
            );
            if case != "same batch" {
                // g's event, founded in its own batch, was merged into P's.
                let merged: Vec<i64> = store
                    .events_by_id(&(1..event + 10).collect::<Vec<_>>())
                    .await
                    .expect("events")
                    .iter()
                    .filter(|e| e.merged_into == Some(event))
                    .map(|e| {
                        assert_eq!(e.documents, 0, "{case}: {e:?}");
                        e.id
                    })
                    .collect();
                assert_eq!(merged.len(), 1, "{case}");
                let bg = crate::analysis::background(store.as_ref())
                    .await
                    .expect("background");
                let a = crate::analysis::analyse(store.as_ref(), &judge, &bg, merged[0])
                    .await
                    .expect("analysis");
                assert_eq!(
                    (a.id, a.merged_from, a.documents),
                    (event, Some(merged[0]), 4),
                    "{case}"
                );
            }
        }
    }

    /// Two writers on one store share events and reprint groups: a reply stored by one
    /// before its parent reached the other ends in the root's event, exact copies stored
    /// by both share one group and event, and event ids never collide.
    #[tokio::test(flavor = "multi_thread")]
    async fn shared_writers_share_events_and_groups() {
        let store = Arc::new(SqliteStore::in_memory().await.expect("store"));
        let judge = Judge::builtin();
        let open = || async {
            let mut p = Pipeline::open(
                store.clone(),
                Arc::new(SearchIndex::in_ram().expect("index")),
                IngestSettings::default(),
                judge.clone(),
            )
            .await
            .expect("pipeline");
            p.set_shared(true);
            p
        };
        let (mut a, mut b) = (open().await, open().await);
        let item = |id: &str, parent: Option<&str>, text: &str| item(&judge, id, parent, text);
        let copy = "教育部发布通知，要求各地中小学严格落实课后服务制度，切实减轻学生课业负担。";
        a.ingest(
            vec![
                item("P", None, "某地发生火灾，消防赶到"),
                item("X", None, copy),
            ],
            None,
            "t",
        )
        .await
        .expect("a");
        // b has not followed the store: it knows neither P nor X.
        b.ingest(
            vec![item("r2", Some("r1"), "转发"), item("Y", None, copy)],
            None,
            "t",
        )
        .await
        .expect("b");
        a.ingest(vec![item("r1", Some("P"), "转发")], None, "t")
            .await
            .expect("a");
        b.ingest(vec![item("r3", Some("r2"), "又转发")], None, "t")
            .await
            .expect("b");
        let ev = |id: &'static str| {
            let store = store.clone();
            async move {
                let d = store.get("weibo", id).await.expect("get").expect("stored");
                (d.event_id.expect("event"), d.group_id)
            }
        };
        let p = ev("P").await.0;
        for id in ["r1", "r2", "r3"] {
            assert_eq!(ev(id).await.0, p, "{id} is in its root's event");
        }
        let (x, y) = (ev("X").await, ev("Y").await);
        assert_eq!(x, y, "exact copies share group and event");
        assert_ne!(x.0, p);
        let events = store
            .events(&yuqing_store::EventQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .expect("events");
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events.iter().map(|e| e.documents).sum::<i64>(), 6);
    }

    /// Two writers on one store (several `yuqing process`): each index, fed from the
    /// store, holds both writers' documents, each once.
    #[tokio::test(flavor = "multi_thread")]
    async fn shared_writers_index_each_others_documents() {
        let store = Arc::new(SqliteStore::in_memory().await.expect("store"));
        let judge = Judge::builtin();
        let (ia, ib) = (
            Arc::new(SearchIndex::in_ram().expect("index")),
            Arc::new(SearchIndex::in_ram().expect("index")),
        );
        let mut a = Pipeline::open(
            store.clone(),
            ia.clone(),
            IngestSettings::default(),
            judge.clone(),
        )
        .await
        .expect("pipeline a");
        let mut b = Pipeline::open(
            store.clone(),
            ib.clone(),
            IngestSettings::default(),
            judge.clone(),
        )
        .await
        .expect("pipeline b");
        a.set_shared(true);
        b.set_shared(true);
        let item = |id: &str, text: &str| {
            Ok(prepare(doc(id, text), "t".into(), 1 << 20, &judge).expect("prepare"))
        };
        a.ingest(vec![item("1", "甲写入的第一条")], None, "t")
            .await
            .expect("a");
        b.ingest(
            vec![item("2", "乙写入的第二条"), item("1", "甲写入的第一条")],
            None,
            "t",
        )
        .await
        .expect("b");
        a.ingest(vec![item("3", "甲写入的第三条")], None, "t")
            .await
            .expect("a");
        b.follow_store().await.expect("follow");
        a.finish().expect("finish a");
        b.finish().expect("finish b");
        for (name, index) in [("a", &ia), ("b", &ib)] {
            assert_eq!(index.num_docs(), 3, "index {name}");
            assert_eq!(index.indexed_seq().expect("seq"), 3, "index {name}");
        }
    }
}
