//! `yuqing serve`: the pipeline writer, every configured source, the watched import
//! directory and the web server, in one process, until Ctrl-C or SIGTERM.
//!
//! `yuqing serve --stateless --database postgres://…`: a web/API node of a multi-host
//! deployment (issue 7). Its system of record is the shared PostgreSQL database; what it
//! keeps in `--data` is a search index it feeds from the store (rebuilt from the store if
//! lost, so a node can be replaced by starting another anywhere) and its writer lock.
//! Pushed documents go through the same pipeline as a processor's, in shared mode; alerts,
//! deliveries and case deadlines run on whichever node (web or processor) holds the
//! `handling` lease. It runs no `[[sources]]` (collectors do), no import directory and no
//! daily-report schedule; evidence attachments are kept in `--data/evidence`, which must be
//! one shared directory for all web nodes.

use crate::config::Config;
use crate::data::DataDir;
use crate::output::outln;
use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use yuqing_ingest::runner::{run_import_dir, run_source, spawn_writer};
use yuqing_web::AppState;

pub async fn serve(root: &Path, cfg: Config, bind: Option<String>) -> anyhow::Result<ExitCode> {
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let dir = DataDir::open_writer(root).await?;
    let pipeline = crate::judgement::open_pipeline(&dir, &cfg).await?;
    let (writer, writer_thread) = spawn_writer(pipeline, tokio::runtime::Handle::current());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for s in cfg.sources.iter().filter(|s| s.enabled) {
        tasks.push(tokio::spawn(run_source(
            s.clone(),
            dir.store.clone(),
            writer.clone(),
            stop_rx.clone(),
        )));
    }
    if cfg.import_dir.enabled {
        let inbox = if cfg.import_dir.path.is_absolute() {
            cfg.import_dir.path.clone()
        } else {
            root.join(&cfg.import_dir.path)
        };
        std::fs::create_dir_all(&inbox).with_context(|| {
            format!(
                "无法创建导入目录 {} / cannot create import directory {}",
                inbox.display(),
                inbox.display()
            )
        })?;
        tasks.push(tokio::spawn(run_import_dir(
            inbox,
            cfg.import_dir.interval.0,
            dir.store.clone(),
            writer.clone(),
            stop_rx.clone(),
        )));
    }
    // Wakes the outbox dispatcher: alerts, reminders and the report schedule queue to it.
    let wake = Arc::new(tokio::sync::Notify::new());
    let handling = crate::handling_tasks::spawn(dir.store.clone(), &cfg, wake.clone()).await?;
    let access = Arc::new(yuqing_handling::access::Access::new(
        dir.store.clone(),
        Arc::new(yuqing_core::SystemClock),
        Default::default(),
    ));
    bootstrap(&access).await?;
    let (listener, addr) = listen(bind, &cfg).await?;
    let (state, reports) = web_state(
        dir.store.clone(),
        dir.index.clone(),
        &writer,
        access,
        root,
        &cfg,
        metrics,
    )?;
    let mut handling = handling;
    if cfg.retention.keep_months > 0 {
        handling.push(crate::handling_tasks::spawn_retention(
            dir.store.clone(),
            cfg.retention.clone(),
        ));
    }
    handling.push(crate::handling_tasks::spawn_reports(
        reports,
        cfg.report.clone(),
        &cfg.channels,
        wake,
    )?);
    drop(writer);
    eprintln!(
        "yuqing 已启动：http://{addr}  数据目录 {} / yuqing is running at http://{addr}, data in {}",
        root.display(),
        root.display()
    );
    outln!("listening on http://{addr}");
    yuqing_web::serve(listener, state, shutdown_signal()).await?;
    eprintln!("正在停止… / stopping…");
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    for t in handling {
        t.abort();
    }
    // The writer stops when the last handle (held by the web state, now dropped) is gone.
    join_writer(writer_thread).await?;
    Ok(ExitCode::SUCCESS)
}

/// Listens on `--bind` (or the config's).
async fn listen(
    bind: Option<String>,
    cfg: &Config,
) -> anyhow::Result<(tokio::net::TcpListener, std::net::SocketAddr)> {
    let bind = bind.unwrap_or_else(|| cfg.server.bind.clone());
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("无法监听 {bind}（端口被占用？用 --bind 换一个）/ cannot listen on {bind} (port in use? choose another with --bind)"))?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// On the first start only: an administrator with a one-time password, shown here once
/// (stderr, not through the tracing log) and stored only as its argon2 hash.
async fn bootstrap<S>(access: &yuqing_handling::access::Access<S>) -> anyhow::Result<()>
where
    S: yuqing_store::Store + yuqing_store::AccessStore + yuqing_store::HandlingStore,
{
    if let Some(b) = access
        .bootstrap()
        .await
        .context("无法创建初始管理员 / cannot create the first administrator")?
    {
        eprintln!(
            "首次启动：已创建管理员账号 {user}，一次性密码：{pw}\n  请立即登录并修改密码；此密码不会再次显示。\n\
             First start: created the administrator {user} with the one-time password: {pw}\n  \
             Log in and change it now; it will not be shown again.",
            user = b.user,
            pw = b.password
        );
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => return,
            };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// `yuqing serve --stateless --database postgres://…` (see the module docs).
pub async fn serve_stateless(
    root: &Path,
    cfg: Config,
    bind: Option<String>,
    database: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let node =
        crate::distributed::SharedNode::open(root, &cfg, database, "serve --stateless").await?;
    let crate::distributed::SharedNode {
        lock: _lock,
        store,
        index,
        pipeline,
    } = node;
    let leader = crate::handling_tasks::lead(store.clone(), cfg.clone(), pipeline.judge().clone())?;
    let (writer, writer_thread) = spawn_writer(pipeline, tokio::runtime::Handle::current());
    let leader = tokio::spawn(leader);
    let access = Arc::new(yuqing_handling::access::Access::new(
        store.clone(),
        Arc::new(yuqing_core::SystemClock),
        Default::default(),
    ));
    // One node at a time makes the first administrator.
    let lease = loop {
        if let Some(l) = store.try_lease("bootstrap").await? {
            break l;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    bootstrap(&access).await?;
    lease.release().await;
    let (listener, addr) = listen(bind, &cfg).await?;
    let (state, _) = web_state(store, index, &writer, access, root, &cfg, metrics)?;
    drop(writer);
    eprintln!(
        "yuqing 已启动（无状态 Web 节点）：http://{addr}  数据库 PostgreSQL，索引 {} / \
         yuqing is running (stateless web node) at http://{addr}, database PostgreSQL, index in {}",
        root.display(),
        root.display()
    );
    outln!("listening on http://{addr}");
    yuqing_web::serve(listener, state, shutdown_signal()).await?;
    eprintln!("正在停止… / stopping…");
    leader.abort();
    join_writer(writer_thread).await?;
    Ok(ExitCode::SUCCESS)
}

/// The web application's state over `store`: cases (with evidence in `root/evidence`),
/// reports and access; also the report builders, for the daily schedule.
#[allow(clippy::type_complexity)]
fn web_state<S>(
    store: Arc<S>,
    index: Arc<yuqing_search::SearchIndex>,
    writer: &yuqing_ingest::runner::WriterHandle,
    access: Arc<yuqing_handling::access::Access<S>>,
    root: &Path,
    cfg: &Config,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> anyhow::Result<(Arc<AppState<S>>, Arc<yuqing_handling::reports::Reports<S>>)>
where
    S: yuqing_store::Store + yuqing_store::HandlingStore + yuqing_store::ReportStore,
{
    let clock: Arc<dyn yuqing_core::Clock> = Arc::new(yuqing_core::SystemClock);
    let mut cases =
        yuqing_handling::cases::Cases::new(store.clone(), clock.clone(), cfg.deadlines.clone())
            .with_evidence(root.join("evidence"))
            .with_points(cfg.assessment.clone());
    if let Some(mailer) = cfg.reply_mailer()? {
        cases = cases.with_reply_mail(mailer);
    }
    let cases = Arc::new(cases);
    let reports = Arc::new(
        yuqing_handling::reports::Reports::new(store.clone(), writer.judge().clone(), clock)
            .with_cases(cases.clone())
            .with_letterhead(cfg.report.letterhead()?),
    );
    let state = Arc::new(AppState {
        store,
        index,
        writer: Some(writer.clone()),
        push_tokens: cfg.server.push_tokens.iter().map(|t| t.0.clone()).collect(),
        metrics,
        judge: writer.judge().clone(),
        judgement: Default::default(),
        cases: Some(cases),
        access: Some(access),
        secure_cookies: cfg.server.secure_cookies,
        handling: Some(Arc::new(cfg.handling())),
        reports: Some(reports.clone()),
        report_options: cfg.report.render_options(),
    });
    Ok((state, reports))
}

/// Waits for the writer thread (it stops when the last handle is dropped) and returns its
/// error, if any.
async fn join_writer<E>(thread: std::thread::JoinHandle<Result<(), E>>) -> anyhow::Result<()>
where
    E: std::error::Error + Send + Sync + 'static,
{
    tokio::task::spawn_blocking(move || thread.join())
        .await
        .ok()
        .and_then(|r| r.ok())
        .transpose()
        .context("写入线程出错 / writer failed")?;
    Ok(())
}
