//! The background work of warning and handling in `yuqing serve`: the alert follower, the
//! outbox dispatcher, a 30-second timer for escalation and case deadlines (whose 催办/督办
//! reminders go to `[deadlines] remind_channels` through the outbox), and the
//! schedule of the daily report (checked every minute), and retention (`[retention]`,
//! checked hourly: [`spawn_retention`]). On a shared PostgreSQL store the same tasks run
//! in the one node (`process` or `serve --stateless`) that holds the `handling` lease (see
//! [`lead`]).

use crate::config::Config;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use yuqing_core::{Clock, SystemClock};
use yuqing_handling::alerting::Alerter;
use yuqing_handling::delivery::Dispatcher;
use yuqing_handling::escalation::Escalator;

/// How often the follower looks for new documents.
const FOLLOW_EVERY: Duration = Duration::from_millis(200);
/// Longest wait of the dispatcher between passes.
const DISPATCH_IDLE: Duration = Duration::from_secs(5);
/// How often escalation and deadlines are checked.
const TIMER_EVERY: Duration = Duration::from_secs(30);

/// Starts the tasks; the caller aborts them at shutdown (every step is a transaction, and
/// an attempt cut short is retried after its lease). `wake` wakes the dispatcher: the
/// caller shares it with [`spawn_reports`].
pub async fn spawn<S>(
    store: Arc<S>,
    cfg: &Config,
    wake: Arc<Notify>,
) -> anyhow::Result<Vec<JoinHandle<()>>>
where
    S: yuqing_store::Store + yuqing_store::HandlingStore + Send + Sync + 'static,
{
    let settings = cfg.handling();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let alerter = Alerter::new(
        store.clone(),
        clock.clone(),
        &settings,
        cfg.judgement.spike.clone(),
        wake.clone(),
    )
    .await?;
    let dispatcher = Dispatcher::new(
        store.clone(),
        clock.clone(),
        &settings.channels,
        settings.alerts.outbox.clone(),
        wake.clone(),
    )?
    .with_report_options(cfg.report.render_options());
    let escalator = Escalator::new(store.clone(), clock.clone(), &settings, wake.clone())?;
    let cases = yuqing_handling::cases::Cases::new(
        store.clone(),
        clock.clone(),
        settings.deadlines.clone(),
    )
    .with_reminder_channels(&settings)?;
    let to_send = !settings.deadlines.remind_channels.is_empty();
    let timer = async move {
        loop {
            if let Err(e) = escalator.step().await {
                tracing::error!(error = %e, "escalating alerts failed");
            }
            match cases.tick(clock.now()).await {
                Ok(r) if !r.is_empty() => {
                    tracing::info!(reminders = r.len(), "case deadline reminders (催办/督办)");
                    if to_send {
                        wake.notify_one();
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "checking case deadlines failed"),
            }
            tokio::time::sleep(TIMER_EVERY).await;
        }
    };
    Ok(vec![
        tokio::spawn(alerter.run(FOLLOW_EVERY)),
        tokio::spawn(dispatcher.run(DISPATCH_IDLE)),
        tokio::spawn(timer),
    ])
}

/// How often the report schedule is checked.
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// Starts the report schedule (`[report] daily_at`, `weekly_at`, `monthly_at`). The
/// announcements are queued in the outbox, and `wake` wakes the dispatcher of [`spawn`]
/// to send them.
pub fn spawn_reports<S>(
    reports: Arc<yuqing_handling::reports::Reports<S>>,
    settings: yuqing_handling::reports::ReportSettings,
    channels: &[yuqing_alert::ChannelConfig],
    wake: Arc<Notify>,
) -> anyhow::Result<JoinHandle<()>>
where
    S: yuqing_store::Store
        + yuqing_store::HandlingStore
        + yuqing_store::ReportStore
        + Send
        + Sync
        + 'static,
{
    settings.check()?;
    let names: Vec<&str> = channels.iter().map(|c| c.name()).collect();
    let channels = settings.channels_of(&names)?;
    Ok(tokio::spawn(async move {
        loop {
            match reports.run_schedule(&settings, &channels).await {
                Ok(ran) => {
                    if ran.iter().any(|r| r.queued > 0) {
                        wake.notify_one();
                    }
                    for r in ran {
                        match &r.made {
                            Ok(saved) => tracing::info!(
                                report = saved.id,
                                kind = %saved.kind,
                                queued = r.queued,
                                "a scheduled report was made"
                            ),
                            Err(e) => tracing::warn!(
                                report = %r.key,
                                error = %e,
                                queued = r.queued,
                                "a scheduled report failed; the office is told and it is tried again"
                            ),
                        }
                    }
                }
                Err(e) => tracing::error!(error = %e, "making the scheduled reports failed"),
            }
            tokio::time::sleep(REPORT_EVERY).await;
        }
    }))
}

/// How often retention is applied.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// A store that drops old documents (`[retention]`).
pub trait Retain: Send + Sync + 'static {
    /// Drops the documents ingested before the first day of `cutoff`'s month.
    fn drop_before(
        &self,
        cutoff: chrono::NaiveDate,
    ) -> impl std::future::Future<Output = Result<yuqing_store::Retention, yuqing_store::StoreError>>
    + Send;
}

impl Retain for yuqing_store::PgStore {
    async fn drop_before(
        &self,
        cutoff: chrono::NaiveDate,
    ) -> Result<yuqing_store::Retention, yuqing_store::StoreError> {
        self.drop_partitions_before(cutoff).await
    }
}

impl Retain for yuqing_store::SqliteStore {
    async fn drop_before(
        &self,
        cutoff: chrono::NaiveDate,
    ) -> Result<yuqing_store::Retention, yuqing_store::StoreError> {
        self.drop_documents_before(cutoff).await
    }
}

/// Applies `[retention]` now and then every [`RETENTION_EVERY`]: drops the documents
/// ingested before the cut-off (PostgreSQL: whole monthly partitions,
/// `PgStore::drop_partitions_before`; SQLite: `SqliteStore::drop_documents_before`). The
/// indexes forget them by themselves (`Pipeline::forget_dropped`). Run by the node holding
/// the `handling` lease, or by `serve` on its own store.
pub fn spawn_retention<S: Retain>(
    store: Arc<S>,
    retention: crate::config::RetentionConfig,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Some(cut) = retention.cutoff(chrono::Utc::now().date_naive()) {
                match store.drop_before(cut).await {
                    Ok(r) if !r.partitions.is_empty() || r.documents > 0 => {
                        tracing::info!(partitions = ?r.partitions, documents = r.documents, before = %cut, "retention dropped old documents");
                        eprintln!(
                            "保留期：已删除 {cut} 之前入库的 {} 篇文档 / retention: dropped {} documents ingested before {cut}",
                            r.documents, r.documents,
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "applying retention failed"),
                }
            }
            tokio::time::sleep(RETENTION_EVERY).await;
        }
    })
}

/// Everything the `handling` lease holder runs: [`spawn`], the daily report, retention.
async fn spawn_leader_tasks(
    store: Arc<yuqing_store::PgStore>,
    cfg: &Config,
    judge: Arc<yuqing_ingest::transforms::judge::Judge>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let wake = Arc::new(Notify::new());
    let mut tasks = spawn(store.clone(), cfg, wake.clone()).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let cases = Arc::new(
        yuqing_handling::cases::Cases::new(store.clone(), clock.clone(), cfg.deadlines.clone())
            .with_points(cfg.assessment.clone()),
    );
    let reports = Arc::new(
        yuqing_handling::reports::Reports::new(store.clone(), judge, clock)
            .with_cases(cases)
            .with_letterhead(cfg.report.letterhead()?),
    );
    match spawn_reports(reports, cfg.report.clone(), &cfg.channels, wake) {
        Ok(t) => tasks.push(t),
        Err(e) => {
            for t in tasks {
                t.abort();
            }
            return Err(e);
        }
    }
    if cfg.retention.keep_months > 0 {
        tasks.push(spawn_retention(store, cfg.retention.clone()));
    }
    Ok(tasks)
}

/// The name of the lease whose holder runs the tasks of [`spawn`] among `yuqing process`
/// nodes.
pub const HANDLING_LEASE: &str = "handling";
/// How often a node asks for the lease, and its holder checks it still holds it.
const LEASE_EVERY: Duration = Duration::from_secs(2);

/// Runs the tasks of [`spawn`], the daily report and retention on this node while it
/// holds the `handling` lease in the shared PostgreSQL store, so that across nodes one
/// follows alerts, delivers, keeps case deadlines, makes the daily report and drops old
/// months; when the holder dies its lease is freed and another node takes over within
/// [`LEASE_EVERY`] from the cursors in the store. The settings are checked first (an
/// error here is a configuration error); the future never returns, and the caller aborts
/// it at shutdown.
pub fn lead(
    store: Arc<yuqing_store::PgStore>,
    cfg: Config,
    judge: Arc<yuqing_ingest::transforms::judge::Judge>,
) -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    cfg.report.check()?;
    cfg.report.letterhead()?;
    Ok(lead_loop(store, cfg, judge))
}

async fn lead_loop(
    store: Arc<yuqing_store::PgStore>,
    cfg: Config,
    judge: Arc<yuqing_ingest::transforms::judge::Judge>,
) {
    let mut held: Option<(yuqing_store::postgres::Lease, Vec<JoinHandle<()>>)> = None;
    loop {
        match held.as_mut() {
            None => match store.try_lease(HANDLING_LEASE).await {
                Ok(Some(lease)) => {
                    match spawn_leader_tasks(store.clone(), &cfg, judge.clone()).await {
                        Ok(tasks) => {
                            eprintln!(
                                "本节点负责预警、推送、处置时限、日报与保留期 / this node leads: alerts, \
                             deliveries, case deadlines, the daily report and retention run here"
                            );
                            held = Some((lease, tasks));
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "starting the handling tasks failed");
                            lease.release().await;
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "asking for the handling lease failed"),
            },
            Some((lease, _)) => {
                if !lease.held().await {
                    let (_, tasks) = held.take().expect("held");
                    for t in tasks {
                        t.abort();
                    }
                    tracing::warn!(
                        "the handling lease was lost (database connection broken); \
                         stopped alerts and deadlines here until it is held again"
                    );
                    eprintln!(
                        "本节点不再负责预警与时限 / this node no longer leads alerts and deadlines"
                    );
                }
            }
        }
        tokio::time::sleep(LEASE_EVERY).await;
    }
}
