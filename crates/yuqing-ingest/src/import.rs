//! File import: JSONL (plain or gzip), JSON arrays, CSV and feeds (RSS/Atom/RDF), for
//! `yuqing import` and the watched import directory.
//!
//! Reading, parsing and preparing run on their own threads, in parallel, with bounded
//! channels between them (backpressure); the writer receives batches in file order. Bad
//! input never stops a run: each bad line is reported with its file and line number,
//! counted, and kept as a dead letter. A line longer than `max_line_bytes` is skipped
//! without being held in memory, and a gzip stream that inflates more than 200× past
//! 1 GiB is treated as a decompression bomb and stopped.

use crate::pipeline::{IngestSettings, Rejected, cut};
use crate::transforms::judge::Judge;
use crate::transforms::prepare::{Prepared, prepare};
use flate2::read::MultiGzDecoder;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use yuqing_core::Document;

/// Input format of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Decide from the extension, then from the first bytes.
    #[default]
    Auto,
    Jsonl,
    Csv,
    /// Any feed: RSS 0.9x, 1.0 (RDF), 2.0 and Atom.
    Rss,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Format::Auto),
            "jsonl" | "json" | "ndjson" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            "rss" | "atom" | "feed" => Ok(Format::Rss),
            other => Err(format!(
                "未知格式 {other:?}，可选 auto|jsonl|csv|rss / unknown format {other:?}: use auto, jsonl, csv or rss"
            )),
        }
    }
}

/// A file-level failure (the file could not be read at all, or was stopped).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("无法读取 {path}：{source} / cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path}：解压后超过压缩大小的 200 倍（已解压 {inflated} 字节），疑似压缩炸弹，已停止读取此文件 / {path}: inflated {inflated} bytes, over 200× its compressed size: looks like a decompression bomb, file stopped"
    )]
    Bomb { path: String, inflated: u64 },
    #[error(
        "{path}：文件过大（超过 {max} 字节），此格式需整体读入 / {path}: file is larger than {max} bytes, which this format must read whole"
    )]
    TooLarge { path: String, max: u64 },
}

/// One unit of work for the writer: prepared items in file order.
pub type Batch = Vec<Result<Prepared, Rejected>>;

const BOMB_MIN: u64 = 1 << 30;
const BOMB_RATIO: u64 = 200;
const WHOLE_FILE_MAX: u64 = 256 << 20;

struct Counting<R> {
    inner: R,
    n: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

/// Stops a decompression bomb: once more than [`BOMB_MIN`] bytes have come out of the
/// decoder and that is over [`BOMB_RATIO`] times what was read from disk, every further
/// read fails with an error naming the file. Sits under every format's reader.
struct BombGuard<R> {
    inner: R,
    path: String,
    compressed: Arc<AtomicU64>,
    inflated: u64,
}

impl<R: Read> Read for BombGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.inflated > BOMB_MIN
            && self.inflated > BOMB_RATIO * self.compressed.load(Ordering::Relaxed).max(1)
        {
            let e = ImportError::Bomb {
                path: self.path.clone(),
                inflated: self.inflated,
            };
            return Err(std::io::Error::other(e.to_string()));
        }
        let k = self.inner.read(buf)?;
        self.inflated += k as u64;
        Ok(k)
    }
}

/// Bytes read from disk so far across all files (for progress bars).
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub bytes: Arc<AtomicU64>,
}

struct Opened {
    reader: Box<dyn BufRead + Send>,
}

fn open(path: &Path, progress: &Progress) -> Result<Opened, ImportError> {
    let io = |source| ImportError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(io)?;
    drop(f);
    let f = std::fs::File::open(path).map_err(io)?;
    let compressed = Arc::new(AtomicU64::new(0));
    let raw = Counting {
        inner: f,
        n: compressed.clone(),
    };
    let gzip = n == 2 && magic == [0x1f, 0x8b];
    let progress = progress.bytes.clone();
    let reader: Box<dyn BufRead + Send> = if gzip {
        let dec = MultiGzDecoder::new(BufReader::with_capacity(
            1 << 16,
            ProgressReader {
                inner: raw,
                progress,
            },
        ));
        let guard = BombGuard {
            inner: dec,
            path: path.display().to_string(),
            compressed,
            inflated: 0,
        };
        Box::new(BufReader::with_capacity(1 << 18, guard))
    } else {
        Box::new(BufReader::with_capacity(
            1 << 18,
            ProgressReader {
                inner: raw,
                progress,
            },
        ))
    };
    Ok(Opened { reader })
}

struct ProgressReader<R> {
    inner: R,
    progress: Arc<AtomicU64>,
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.progress.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

/// Reads one line into `buf` (without the newline), keeping at most `max` bytes.
/// Returns `None` at end of input, else the full length of the line.
fn read_capped_line(
    r: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<usize>> {
    buf.clear();
    let mut total = 0usize;
    let mut any = false;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(if any { Some(total) } else { None });
        }
        any = true;
        let (take, done) = match memchr(chunk) {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        let room = max.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        total += take;
        r.consume(if done { take + 1 } else { take });
        if done {
            if buf.last() == Some(&b'\r') {
                buf.pop();
                total -= 1;
            }
            return Ok(Some(total));
        }
    }
}

fn memchr(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// Detects the format of a file from its name and first bytes.
pub fn detect(path: &Path, first: &[u8]) -> Format {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json") {
        return Format::Jsonl;
    }
    if name.ends_with(".csv") {
        return Format::Csv;
    }
    if name.ends_with(".xml")
        || name.ends_with(".rss")
        || name.ends_with(".atom")
        || name.ends_with(".rdf")
    {
        return Format::Rss;
    }
    let first = first.strip_prefix(b"\xef\xbb\xbf").unwrap_or(first);
    match first.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => Format::Jsonl,
        Some(b'<') => Format::Rss,
        _ => Format::Csv,
    }
}

/// Parses one JSON line into a document, with a message naming the problem.
pub fn parse_json_line(line: &[u8]) -> Result<Document, String> {
    let s = std::str::from_utf8(line).map_err(|e| {
        format!(
            "不是有效的 UTF-8（第 {} 字节）/ invalid UTF-8 at byte {}",
            e.valid_up_to() + 1,
            e.valid_up_to() + 1
        )
    })?;
    serde_json::from_str::<Document>(s).map_err(|e| format!("JSON 无效 / invalid JSON: {e}"))
}

/// One input item as read: a raw JSON line (parsed by a preparer, in parallel), a
/// document parsed by the reader (CSV, feeds, JSON arrays), or a failure.
enum Item {
    Json(Vec<u8>),
    Doc(Box<Document>),
    Bad(String, Option<Vec<u8>>),
}

/// Work sent from the reader to the preparers: (location, item).
type Lines = Vec<(String, Item)>;

fn prepare_item(
    loc: String,
    item: Item,
    max_text: usize,
    judge: &Judge,
) -> Result<Prepared, Rejected> {
    let r = prepare_item_inner(loc, item, max_text, judge);
    let outcome = if r.is_ok() { "ok" } else { "rejected" };
    metrics::counter!("yuqing_import_items_total", "outcome" => outcome).increment(1);
    r
}

fn prepare_item_inner(
    loc: String,
    item: Item,
    max_text: usize,
    judge: &Judge,
) -> Result<Prepared, Rejected> {
    let reject = |loc: String, reason: String, raw: Option<&[u8]>| Rejected {
        location: loc,
        reason,
        payload: raw
            .map(|r| cut(&String::from_utf8_lossy(r)))
            .unwrap_or_default(),
    };
    match item {
        Item::Json(raw) => match parse_json_line(&raw) {
            Ok(d) => prepare(d, loc.clone(), max_text, judge)
                .map_err(|e| reject(loc, e.to_string(), Some(&raw))),
            Err(reason) => Err(reject(loc, reason, Some(&raw))),
        },
        Item::Doc(d) => {
            let raw = serde_json::to_vec(&d).ok();
            prepare(*d, loc.clone(), max_text, judge)
                .map_err(|e| reject(loc, e.to_string(), raw.as_deref()))
        }
        Item::Bad(reason, raw) => Err(reject(loc, reason, raw.as_deref())),
    }
}

/// Reads `paths` and sends prepared batches, in order, to the returned receiver. Runs on
/// background threads; file-level errors are sent as rejected items naming the file.
pub fn spawn_readers(
    paths: Vec<PathBuf>,
    format: Format,
    settings: &IngestSettings,
    progress: Progress,
    judge: Arc<Judge>,
) -> Receiver<Batch> {
    let (out_tx, out_rx) = sync_channel::<Batch>(4);
    let batch = settings.batch_size.max(1);
    let max_line = settings.max_line_bytes;
    let max_text = settings.max_text_bytes;
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    std::thread::Builder::new()
        .name("import-read".into())
        .spawn(move || {
            // Preparers in round-robin; results collected in the same order.
            let mut to_workers: Vec<SyncSender<Lines>> = Vec::new();
            let mut from_workers: Vec<Receiver<Batch>> = Vec::new();
            for w in 0..workers {
                let (tx, rx) = sync_channel::<Lines>(2);
                let (btx, brx) = sync_channel::<Batch>(2);
                let judge = judge.clone();
                to_workers.push(tx);
                from_workers.push(brx);
                let _ = std::thread::Builder::new()
                    .name(format!("import-prepare-{w}"))
                    .spawn(move || {
                        for lines in rx {
                            let b: Batch = lines
                                .into_iter()
                                .map(|(loc, item)| prepare_item(loc, item, max_text, &judge))
                                .collect();
                            if btx.send(b).is_err() {
                                break;
                            }
                        }
                    });
            }
            let (chunk_tx, chunk_rx) = sync_channel::<Option<Lines>>(workers * 2);
            // Collector thread: forwards worker results in round-robin order.
            let collector = std::thread::Builder::new()
                .name("import-collect".into())
                .spawn(move || {
                    let mut w = 0;
                    while let Ok(Some(())) = chunk_rx.recv().map(|c| c.map(|_| ())) {
                        let Ok(b) = from_workers[w].recv() else { break };
                        if out_tx.send(b).is_err() {
                            break;
                        }
                        w = (w + 1) % from_workers.len();
                    }
                });
            let mut w = 0;
            let mut send = |lines: Lines| {
                if to_workers[w].send(lines).is_err() {
                    return false;
                }
                w = (w + 1) % to_workers.len();
                chunk_tx.send(Some(Vec::new())).is_ok()
            };
            'files: for path in paths {
                let name = path.display().to_string();
                let emit_file_error = |reason: String, send: &mut dyn FnMut(Lines) -> bool| {
                    send(vec![(name.clone(), Item::Bad(reason, None))])
                };
                let opened = match open(&path, &progress) {
                    Ok(o) => o,
                    Err(e) => {
                        if !emit_file_error(e.to_string(), &mut send) {
                            break 'files;
                        }
                        continue;
                    }
                };
                let Opened { mut reader } = opened;
                let fmt = match format {
                    Format::Auto => match reader.fill_buf() {
                        Ok(b) => detect(&path, b),
                        Err(e) => {
                            emit_file_error(
                                ImportError::Io {
                                    path: name.clone(),
                                    source: e,
                                }
                                .to_string(),
                                &mut send,
                            );
                            continue;
                        }
                    },
                    f => f,
                };
                let first_non_ws = reader.fill_buf().ok().and_then(|b| {
                    b.strip_prefix(b"\xef\xbb\xbf")
                        .unwrap_or(b)
                        .iter()
                        .copied()
                        .find(|c| !c.is_ascii_whitespace())
                });
                let result = match fmt {
                    Format::Jsonl if first_non_ws == Some(b'[') => {
                        read_json_array(&name, reader.as_mut(), &mut send)
                    }
                    Format::Jsonl => read_jsonl(&name, reader.as_mut(), max_line, batch, &mut send),
                    Format::Csv => read_csv(&name, reader.as_mut(), batch, &mut send),
                    Format::Rss => read_feed(&name, reader.as_mut(), &mut send),
                    Format::Auto => unreachable!("format resolved above"),
                };
                match result {
                    Ok(true) => {}
                    Ok(false) => break 'files,
                    Err(e) => {
                        if !emit_file_error(e.to_string(), &mut send) {
                            break 'files;
                        }
                    }
                }
            }
            let _ = chunk_tx.send(None);
            drop(to_workers);
            if let Ok(c) = collector {
                let _ = c.join();
            }
        })
        .expect("spawn reader thread");
    out_rx
}

fn read_jsonl(
    name: &str,
    r: &mut dyn BufRead,
    max_line: usize,
    batch: usize,
    send: &mut dyn FnMut(Lines) -> bool,
) -> Result<bool, ImportError> {
    let mut buf = Vec::with_capacity(4096);
    let mut lines: Lines = Vec::with_capacity(batch);
    let mut no = 0u64;
    loop {
        let len = match read_capped_line(r, &mut buf, max_line) {
            Ok(len) => len,
            Err(source) => {
                // Keep what was read before the failure (e.g. a decompression bomb).
                if !lines.is_empty() && !send(std::mem::take(&mut lines)) {
                    return Ok(false);
                }
                return Err(ImportError::Io {
                    path: name.to_owned(),
                    source,
                });
            }
        };
        let Some(len) = len else { break };
        no += 1;
        if buf.iter().all(u8::is_ascii_whitespace) && len <= max_line {
            continue;
        }
        let loc = format!("{name}:{no}");
        if len > max_line {
            let reason = format!(
                "行过长：{len} 字节，上限 {max_line} 字节（ingest.max_line_bytes）/ line is {len} bytes, the limit is {max_line} (ingest.max_line_bytes)"
            );
            lines.push((
                loc,
                Item::Bad(reason, Some(buf[..buf.len().min(1024)].to_vec())),
            ));
        } else {
            let line = if no == 1 {
                buf.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&buf)
            } else {
                &buf[..]
            };
            lines.push((loc, Item::Json(line.to_vec())));
        }
        if lines.len() >= batch && !send(std::mem::replace(&mut lines, Vec::with_capacity(batch))) {
            return Ok(false);
        }
    }
    if !lines.is_empty() && !send(lines) {
        return Ok(false);
    }
    Ok(true)
}

fn read_whole(name: &str, r: &mut dyn BufRead) -> Result<Vec<u8>, ImportError> {
    let mut all = Vec::new();
    r.take(WHOLE_FILE_MAX + 1)
        .read_to_end(&mut all)
        .map_err(|source| ImportError::Io {
            path: name.to_owned(),
            source,
        })?;
    if all.len() as u64 > WHOLE_FILE_MAX {
        return Err(ImportError::TooLarge {
            path: name.to_owned(),
            max: WHOLE_FILE_MAX,
        });
    }
    Ok(all)
}

fn read_json_array(
    name: &str,
    r: &mut dyn BufRead,
    send: &mut dyn FnMut(Lines) -> bool,
) -> Result<bool, ImportError> {
    let all = read_whole(name, r)?;
    let body = all.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&all);
    let items: Vec<serde_json::Value> = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Ok(send(vec![(
                name.to_owned(),
                Item::Bad(format!("JSON 数组无效 / invalid JSON array: {e}"), None),
            )]));
        }
    };
    let lines: Lines = items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let loc = format!("{name}[{i}]");
            let raw = v.to_string().into_bytes();
            match serde_json::from_value::<Document>(v) {
                Ok(d) => (loc, Item::Doc(Box::new(d))),
                Err(e) => (
                    loc,
                    Item::Bad(format!("文档无效 / invalid document: {e}"), Some(raw)),
                ),
            }
        })
        .collect();
    Ok(send(lines))
}

fn read_feed(
    name: &str,
    r: &mut dyn BufRead,
    send: &mut dyn FnMut(Lines) -> bool,
) -> Result<bool, ImportError> {
    let all = read_whole(name, r)?;
    let source = Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(name)
        .to_owned();
    match crate::sources::feed::parse_feed(&all, &source, "news") {
        Ok(docs) => {
            let lines: Lines = docs
                .into_iter()
                .enumerate()
                .map(|(i, d)| (format!("{name}#{}", i + 1), Item::Doc(Box::new(d))))
                .collect();
            Ok(lines.is_empty() || send(lines))
        }
        Err(e) => Ok(send(vec![(
            name.to_owned(),
            Item::Bad(e.to_string(), None),
        )])),
    }
}

/// The CSV reader of [`spawn_readers`] over an in-memory file named `name`, without the
/// preparing step: each row's location (`name:LINE`) with its document or the reason it
/// was refused, in file order. For tests and fuzzing; imports stream through the same reader.
pub fn parse_csv(name: &str, input: &[u8]) -> Vec<(String, Result<Document, String>)> {
    let mut out = Vec::new();
    let mut collect = |lines: Lines| {
        out.extend(lines.into_iter().map(|(loc, item)| {
            let r = match item {
                Item::Json(raw) => parse_json_line(&raw),
                Item::Doc(d) => Ok(*d),
                Item::Bad(reason, _) => Err(reason),
            };
            (loc, r)
        }));
        true
    };
    let mut r = input;
    if let Err(e) = read_csv(name, &mut r, 1024, &mut collect) {
        out.push((name.to_owned(), Err(e.to_string())));
    }
    out
}

/// CSV columns: the document fields by name (`id, platform, kind, url, title, text,
/// published_at, parent_id, root_id, source`), author fields as `author_id`,
/// `author_name` (or `author`), `author_verified`, `followers`, `location`, `gender`,
/// metrics as `views, reposts, comments, likes`; any other column is kept in `rest`.
fn read_csv(
    name: &str,
    r: &mut dyn BufRead,
    batch: usize,
    send: &mut dyn FnMut(Lines) -> bool,
) -> Result<bool, ImportError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(r);
    let headers = match rdr.byte_headers() {
        Ok(h) => h
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_ascii_lowercase()
            })
            .collect::<Vec<_>>(),
        Err(e) => {
            return Ok(send(vec![(
                name.to_owned(),
                Item::Bad(format!("CSV 表头无效 / invalid CSV header: {e}"), None),
            )]));
        }
    };
    let mut lines: Lines = Vec::with_capacity(batch);
    let mut rec = csv::ByteRecord::new();
    loop {
        let before = rdr.position().line();
        let mut loc = format!("{name}:{before}");
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                // The record's own first line (the reader's position is where it stopped).
                if let Some(p) = rec.position() {
                    loc = format!("{name}:{}", p.line());
                }
                let mut obj = serde_json::Map::new();
                let mut author = serde_json::Map::new();
                let mut metrics = serde_json::Map::new();
                let mut bad = None;
                for (h, v) in headers.iter().zip(rec.iter()) {
                    let v = match std::str::from_utf8(v) {
                        Ok(v) => v,
                        Err(_) => {
                            bad = Some(format!(
                                "列 {h} 不是有效的 UTF-8 / column {h} is not valid UTF-8"
                            ));
                            break;
                        }
                    };
                    if v.is_empty() {
                        continue;
                    }
                    let num = |v: &str| {
                        v.parse::<i64>()
                            .map(serde_json::Value::from)
                            .unwrap_or_else(|_| v.into())
                    };
                    match h.as_str() {
                        "author_id" => drop(author.insert("id".into(), v.into())),
                        "author_name" | "author" => drop(author.insert("name".into(), v.into())),
                        "author_verified" | "verified" => drop(author.insert(
                            "verified".into(),
                            matches!(v, "1" | "true" | "TRUE" | "True" | "是").into(),
                        )),
                        "followers" => drop(author.insert("followers".into(), num(v))),
                        "location" => drop(author.insert("location".into(), v.into())),
                        "gender" => drop(author.insert("gender".into(), v.into())),
                        "views" | "reposts" | "comments" | "likes" => {
                            drop(metrics.insert(h.clone(), num(v)))
                        }
                        _ => drop(obj.insert(h.clone(), v.into())),
                    }
                }
                if !author.is_empty() {
                    obj.insert("author".into(), author.into());
                }
                if !metrics.is_empty() {
                    obj.insert("metrics".into(), metrics.into());
                }
                let raw = rec.as_slice().to_vec();
                match bad {
                    Some(reason) => lines.push((loc, Item::Bad(reason, Some(raw)))),
                    None => {
                        match serde_json::from_value::<Document>(serde_json::Value::Object(obj)) {
                            Ok(d) => lines.push((loc, Item::Doc(Box::new(d)))),
                            Err(e) => lines.push((
                                loc,
                                Item::Bad(format!("CSV 行无效 / invalid CSV row: {e}"), Some(raw)),
                            )),
                        }
                    }
                }
            }
            Err(e) => {
                let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                lines.push((
                    loc,
                    Item::Bad(format!("CSV 行无效 / invalid CSV row: {e}"), None),
                ));
                if fatal {
                    break;
                }
            }
        }
        if lines.len() >= batch && !send(std::mem::replace(&mut lines, Vec::with_capacity(batch))) {
            return Ok(false);
        }
    }
    if !lines.is_empty() && !send(lines) {
        return Ok(false);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_lines_skip_the_rest() {
        let data = b"short\n0123456789abcdef\nlast";
        let mut r = &data[..];
        let mut buf = Vec::new();
        assert_eq!(read_capped_line(&mut r, &mut buf, 8).unwrap(), Some(5));
        assert_eq!(buf, b"short");
        assert_eq!(read_capped_line(&mut r, &mut buf, 8).unwrap(), Some(16));
        assert_eq!(buf, b"01234567");
        assert_eq!(read_capped_line(&mut r, &mut buf, 8).unwrap(), Some(4));
        assert_eq!(read_capped_line(&mut r, &mut buf, 8).unwrap(), None);
    }

    #[test]
    fn detects_formats() {
        assert_eq!(detect(Path::new("a.jsonl.gz"), b""), Format::Jsonl);
        assert_eq!(detect(Path::new("a.csv"), b""), Format::Csv);
        assert_eq!(detect(Path::new("feed"), b"  <?xml"), Format::Rss);
        assert_eq!(detect(Path::new("x"), b"{\"id\":1}"), Format::Jsonl);
        assert_eq!(detect(Path::new("x"), b"id,text"), Format::Csv);
    }

    #[test]
    fn invalid_utf8_is_named() {
        let e = parse_json_line(b"{\"id\":\"\xff\"}").unwrap_err();
        assert!(e.contains("UTF-8"), "{e}");
    }
}
