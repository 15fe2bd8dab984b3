//! The background work of warning and handling in `yuqing serve`: the alert follower, the
//! outbox dispatcher, a 30-second timer for escalation and case deadlines, and the
//! schedule of the daily report (checked every minute).

use crate::config::Config;
use crate::data::DataDir;
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
/// an attempt cut short is retried after its lease).
pub async fn spawn(dir: &DataDir, cfg: &Config) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let settings = cfg.handling();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let wake = Arc::new(Notify::new());
    let alerter = Alerter::new(
        dir.store.clone(),
        clock.clone(),
        &settings,
        cfg.judgement.spike.clone(),
        wake.clone(),
    )
    .await?;
    let dispatcher = Dispatcher::new(
        dir.store.clone(),
        clock.clone(),
        &settings.channels,
        settings.alerts.outbox.clone(),
        wake.clone(),
    )?;
    let escalator = Escalator::new(dir.store.clone(), clock.clone(), &settings, wake)?;
    let cases = yuqing_handling::cases::Cases::new(
        dir.store.clone(),
        clock.clone(),
        settings.deadlines.clone(),
    );
    let timer = async move {
        loop {
            if let Err(e) = escalator.step().await {
                tracing::error!(error = %e, "escalating alerts failed");
            }
            match cases.tick(clock.now()).await {
                Ok(r) if !r.is_empty() => {
                    tracing::info!(reminders = r.len(), "case deadline reminders (催办/督办)")
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

/// Starts the daily-report schedule (`[report] daily_at`).
pub fn spawn_reports(
    reports: Arc<yuqing_handling::reports::Reports<yuqing_store::SqliteStore>>,
    settings: yuqing_handling::reports::ReportSettings,
    channels: &[yuqing_alert::ChannelConfig],
) -> anyhow::Result<JoinHandle<()>> {
    settings.daily_time()?;
    let channels: Vec<yuqing_alert::Channel> = channels
        .iter()
        .map(|c| c.build())
        .collect::<Result<_, _>>()?;
    Ok(tokio::spawn(async move {
        loop {
            match reports.run_schedule(&settings, &channels).await {
                Ok(r) => {
                    if let Some(saved) = r.made {
                        tracing::info!(
                            report = saved.id,
                            sent = r.sent.iter().filter(|x| x.is_ok()).count(),
                            failed = r.sent.iter().filter(|x| x.is_err()).count(),
                            "the daily report was made"
                        );
                    }
                }
                Err(e) => tracing::error!(error = %e, "making the daily report failed"),
            }
            tokio::time::sleep(REPORT_EVERY).await;
        }
    }))
}
