//! `yuqing`: the command-line binary. Parses flags, loads the config, opens the data
//! directory and runs one command. All behaviour lives in the library crates; this file
//! wires them together and formats output.

mod backup;
mod check;
mod commands;
mod config;
mod data;
mod distributed;
mod failure;
mod handling;
mod handling_tasks;
mod judgement;
mod output;
mod plans;
mod reports;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// yuqing (舆情): 网络舆情监测与处置 / network public-opinion monitoring and response.
#[derive(Debug, Parser)]
#[command(name = "yuqing", version, about, long_about = None)]
pub struct Cli {
    /// Data directory (database, index, inbox).
    #[arg(
        long,
        global = true,
        env = "YUQING_DATA",
        default_value = "./yuqing-data"
    )]
    pub data: PathBuf,
    /// Configuration file (TOML). See `yuqing default-config`.
    #[arg(long, global = true, env = "YUQING_CONFIG")]
    pub config: Option<PathBuf>,
    /// A PostgreSQL database (`postgres://user@host:5432/db`) shared by several nodes,
    /// instead of the SQLite database in --data. For now used by `process`, `collect`,
    /// `serve --stateless`, `search` and `count`;
    /// the index stays in --data.
    #[arg(long, global = true, env = "YUQING_DATABASE")]
    pub database: Option<String>,
    /// Log filter, e.g. `info` or `yuqing_ingest=debug`.
    #[arg(long, global = true, env = "YUQING_LOG", default_value = "warn")]
    pub log: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the fully commented example configuration.
    DefaultConfig,
    /// Import documents from files (JSONL, JSON array, CSV, RSS/Atom; gzip or plain).
    Import {
        /// Files to import.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Input format: auto, jsonl, csv or rss (any feed).
        #[arg(long, default_value = "auto")]
        format: yuqing_ingest::import::Format,
        /// Print the summary as one JSON object on the last line of stdout.
        #[arg(long)]
        json: bool,
    },
    /// Publish documents to the NATS JetStream bus for `yuqing process` instead of
    /// storing them: read FILEs as `import` does, or, with no FILE, poll the configured
    /// [[sources]] until SIGTERM (each source by one collector at a time: a lease in the
    /// PostgreSQL database of --database, which also keeps the checkpoints).
    Collect {
        /// Files to read (none: run the configured sources).
        paths: Vec<PathBuf>,
        /// Input format: auto, jsonl, csv or rss (any feed).
        #[arg(long, default_value = "auto")]
        format: yuqing_ingest::import::Format,
        #[command(flatten)]
        bus: distributed::BusArgs,
        /// Print the summary as one JSON object on the last line of stdout.
        #[arg(long)]
        json: bool,
    },
    /// Consume the bus into the PostgreSQL database of --database (any number of
    /// processors share the work), keeping a full-text index in --data; stops on
    /// SIGTERM or Ctrl-C after storing and acking the current batch.
    Process {
        #[command(flatten)]
        bus: distributed::BusArgs,
        /// Seconds after which a delivered, unacked batch goes to another processor.
        #[arg(long, env = "YUQING_BUS_ACK_WAIT", default_value_t = 60, hide = true)]
        ack_wait: u64,
    },
    /// Search documents (substring matching on normalised text).
    Search {
        query: String,
        #[command(flatten)]
        filters: commands::Filters,
        /// Number of hits.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Hits to skip (paging).
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Order: relevance, time (newest first) or time_asc.
        #[arg(long, default_value = "relevance")]
        sort: String,
        /// One JSON object per hit.
        #[arg(long)]
        json: bool,
    },
    /// Count documents whose normalised text contains QUERY.
    Count {
        query: String,
        #[command(flatten)]
        filters: commands::Filters,
    },
    /// Export stored documents as JSONL (the interchange format).
    Export {
        /// Output file (default: stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Show the health of every source; with --check, poll the configured sources once
    /// and show what they would collect (nothing is stored).
    Sources {
        #[arg(long)]
        json: bool,
        /// Poll each configured source once now (or the ones named) and report: the number
        /// of items and the newest, or the error and how to fix it. Exits 1 when one fails.
        #[arg(long)]
        check: bool,
        /// With --check: the sources to poll (default: every enabled source).
        names: Vec<String>,
    },
    /// Show the most recent rejected inputs with their reasons.
    DeadLetters {
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the full-text index from the store.
    Reindex,
    /// Sentiment of each line of standard input: `LABEL<TAB>SCORE` per line, LABEL one of
    /// positive|neutral|negative (with --binary only positive|negative); SCORE is P(positive).
    Sentiment {
        #[arg(long)]
        binary: bool,
        /// A model file instead of the built-in one.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Train a model: `yuqing train sentiment`.
    Train {
        #[command(subcommand)]
        what: TrainCommand,
    },
    /// Monitoring plans (监测方案): test an expression against history, or lint it.
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// Events (事件), most serious first; with --json one object per line (id, title,
    /// root_id, documents, level, …).
    Events {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Only events at or above this level: general|large|major|especially_major.
        #[arg(long)]
        min_level: Option<String>,
        /// Only events with at least this many documents.
        #[arg(long)]
        min_documents: Option<i64>,
    },
    /// The full analysis of one event (docs/specs/events.md).
    Event {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Correct an automatic judgement of a document (the correction wins from now on).
    Correct {
        /// The document: its seq or PLATFORM:ID.
        doc: String,
        /// positive|neutral|negative (正面|中性|负面).
        #[arg(long)]
        sentiment: Option<String>,
        /// behaviour|complaint|view|attitude|none.
        #[arg(long)]
        content_type: Option<String>,
        /// Who corrects it (recorded).
        #[arg(long)]
        by: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Set an event's level by hand (recorded with who and why; may lower it).
    Level {
        event: i64,
        /// general|large|major|especially_major (or 一般|较大|重大|特别重大).
        level: String,
        #[arg(long)]
        by: String,
        #[arg(long)]
        reason: String,
    },
    /// Case handling: `org`, `duty`, `case`, `audit`, `points`, `stats` (docs/specs/case-workflow.md).
    #[command(flatten)]
    Handling(handling::HandlingCommand),
    /// Reports (舆情报告): 日报, 周报, 月报, 专报, 快报, 摘报, 年度统计, as html, docx, xlsx,
    /// pdf or json; the saved reports.
    Report {
        #[command(subcommand)]
        command: reports::ReportCommand,
    },
    /// Is the data directory whole (after a crash)? The database, the index against the
    /// store, the audit chain; `--repair` rebuilds a damaged index (stop serve first).
    Check {
        #[arg(long)]
        repair: bool,
    },
    /// A consistent copy of the data directory (database, evidence, manifest) into a new
    /// directory, also while `serve` runs; the index is rebuilt on restore.
    Backup { dest: PathBuf },
    /// Make the data directory (`--data`, which must hold no database) from a backup:
    /// checks it, copies it, rebuilds the index and verifies the audit chain.
    Restore { src: PathBuf },
    /// Run the system: sources, pipeline and web server.
    Serve {
        /// Address to listen on (default from config: 127.0.0.1:8080).
        #[arg(long, env = "YUQING_BIND")]
        bind: Option<String>,
        /// A web/API node of a multi-host deployment: the shared PostgreSQL database of
        /// --database is the system of record, --data keeps only a search index fed from it
        /// (no sources, no import directory).
        #[arg(long, env = "YUQING_STATELESS")]
        stateless: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Train the sentiment classifier from labelled CSV sets (`<set>/train.csv.gz`,
    /// `<set>/dev.csv.gz`, columns label,text) and report dev accuracy per set.
    Sentiment {
        /// Directory of the labelled sets.
        #[arg(long, default_value = "../shared/data/sentiment")]
        data_dir: PathBuf,
        /// Where to write the model.
        #[arg(short, long, default_value = "models/sentiment-v1.bin")]
        output: PathBuf,
        /// Also learn from the sentiment corrections stored in --data (each corrected
        /// positive/negative text is added to the training data).
        #[arg(long)]
        with_corrections: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Backtest an expression against the stored documents; prints the number of matching
    /// documents on the first line.
    Test {
        expr: String,
        /// Published at or after (RFC 3339, `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`).
        #[arg(long)]
        since: Option<String>,
        /// Published before.
        #[arg(long)]
        until: Option<String>,
        /// One JSON object: count, daily counts and sample ids.
        #[arg(long)]
        json: bool,
    },
    /// Report errors and suspicious constructs in an expression.
    Lint { expr: String },
    /// List the stored plans (from the config file, the API and this command).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Create a plan, or replace the one with the same name; active from the next batch.
    Add {
        name: String,
        /// The expression (or use the structured flags).
        expr: Option<String>,
        /// 地域词 (repeatable).
        #[arg(long)]
        region: Vec<String>,
        /// 主体词 (repeatable).
        #[arg(long)]
        subject: Vec<String>,
        /// 事件词 (repeatable).
        #[arg(long)]
        event: Vec<String>,
        /// 排除词 (repeatable).
        #[arg(long)]
        exclusion: Vec<String>,
        /// Who makes the change (recorded).
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Documents a stored plan hit at ingest, newest first, with the terms that matched;
    /// the first line is the total number of hits.
    Hits {
        id: i64,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// One JSON object per hit (after the count line).
        #[arg(long)]
        json: bool,
    },
    /// Switch a plan on.
    Enable { id: i64 },
    /// Switch a plan off (its past hits are kept).
    Disable { id: i64 },
    /// Delete a plan (its past hits are kept).
    Remove { id: i64 },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("错误 / error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let data = cli.data.clone();
    match rt.block_on(commands::run(cli)) {
        Ok(code) => code,
        // The reader of the output went away (`| head`): done, quietly.
        Err(e) if failure::broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误 / error: {}", failure::message(&e));
            if let Some(c) = failure::condition(&e, &data) {
                eprintln!("{}", failure::advice(c, &data));
            }
            std::process::ExitCode::FAILURE
        }
    }
}
