//! Reading the shared sentiment data layout: `<root>/<name>/{train,dev}.csv.gz`, CSV with
//! a header row and columns `label,text[,extra]`, label 1 = positive, 0 = negative.
//!
//! `covid19_weibo_emotion7` has emotion names as labels; they are mapped like the
//! `covid19_weibo_binary` set (optimism, gratitude → 1; fear, disgust, sadness, anger → 0;
//! surprise and unknown names skipped). Its texts are the same as the binary set's, so
//! training skips it by default (see [`DUPLICATE_SETS`]).

use std::fs::File;
use std::path::{Path, PathBuf};

/// One labelled text: (1 = positive / 0 = negative, text).
pub type Row = (u8, String);

/// One data set of [`load_dir`]: (name, train rows, dev rows).
pub type DataSet = (String, Vec<Row>, Vec<Row>);

/// Sets whose texts duplicate another set (same texts, same split): loaded by
/// [`load_dir`] but left out of training by default.
pub const DUPLICATE_SETS: &[&str] = &["covid19_weibo_emotion7"];

/// Errors while reading a data directory.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("sentiment data: cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("sentiment data: {path}: bad CSV: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("sentiment data: {path}: {msg}")]
    Format { path: PathBuf, msg: String },
}

/// Maps a label cell to 1/0; `None` skips the row (emotion `surprise`, unknown names).
pub fn map_label(cell: &str) -> Option<u8> {
    match cell.trim() {
        "1" | "optimism" | "gratitude" => Some(1),
        "0" | "fear" | "disgust" | "sadness" | "anger" => Some(0),
        _ => None,
    }
}

/// Reads one `label,text[,...]` CSV file, gzip-compressed when its name ends in `.gz`.
pub fn read_csv(path: &Path) -> Result<Vec<Row>, DataError> {
    let f = File::open(path).map_err(|source| DataError::Io {
        path: path.into(),
        source,
    })?;
    let reader: Box<dyn std::io::Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(f)))
    } else {
        Box::new(std::io::BufReader::new(f))
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|source| DataError::Csv {
            path: path.into(),
            source,
        })?
        .clone();
    if headers.get(0) != Some("label") || headers.get(1) != Some("text") {
        return Err(DataError::Format {
            path: path.into(),
            msg: format!("expected columns label,text; found {headers:?}"),
        });
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|source| DataError::Csv {
            path: path.into(),
            source,
        })?;
        let (Some(label), Some(text)) = (rec.get(0), rec.get(1)) else {
            continue;
        };
        if let Some(l) = map_label(label) {
            rows.push((l, text.to_string()));
        }
    }
    Ok(rows)
}

/// Loads every `<root>/<name>/` folder holding `train.csv.gz` (and `dev.csv.gz`, which may
/// be missing), sorted by name: `(name, train rows, dev rows)`.
pub fn load_dir(root: &Path) -> Result<Vec<DataSet>, DataError> {
    let entries = std::fs::read_dir(root).map_err(|source| DataError::Io {
        path: root.into(),
        source,
    })?;
    let mut names = Vec::new();
    for e in entries {
        let e = e.map_err(|source| DataError::Io {
            path: root.into(),
            source,
        })?;
        let p = e.path();
        if p.join("train.csv.gz").is_file() {
            names.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    if names.is_empty() {
        return Err(DataError::Format {
            path: root.into(),
            msg: "no <name>/train.csv.gz folders found".into(),
        });
    }
    let mut out = Vec::new();
    for name in names {
        let dir = root.join(&name);
        let train = read_csv(&dir.join("train.csv.gz"))?;
        let dev_path = dir.join("dev.csv.gz");
        let dev = if dev_path.is_file() {
            read_csv(&dev_path)?
        } else {
            Vec::new()
        };
        out.push((name, train, dev));
    }
    Ok(out)
}
