//! The sentiment model: hashed linear weights, calibration, and the versioned file format.
//!
//! # File format (version 1)
//!
//! All integers little-endian.
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `YQSENTI\x1a` |
//! | 4 | `u32` format version (= [`FORMAT_VERSION`]) |
//! | 4 | `u32` header length `h` |
//! | h | header, UTF-8 JSON ([`Header`]: feature settings and version, bias, calibration, quantisation scale, training notes) |
//! | 4 | `u32` payload length `p` |
//! | p | payload: gzip of `2^bits` weights as `i16` (weight = q × `scale`) |
//! | 4 | `u32` CRC-32 of every byte before it |
//!
//! Loading checks the magic, the version, the lengths, the CRC, the header and the payload
//! size, and reports any mismatch as a [`ModelError`] (never a panic).

use super::features::{FEATURE_VERSION, FeatureConfig, Scratch, extract};
use super::{Label, Sentiment};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::OnceLock;

/// Magic bytes at the start of a model file.
pub const MAGIC: &[u8; 8] = b"YQSENTI\x1a";
/// The model file format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Default half-width of the neutral band around P(positive) = 0.5.
pub const DEFAULT_NEUTRAL_MARGIN: f32 = 0.25;

/// The shipped model file, embedded at build time.
static BUILTIN_BYTES: &[u8] = include_bytes!("../../../../models/sentiment-v1.bin");

/// Errors when reading or writing a model file.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("sentiment model: I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("sentiment model: not a yuqing sentiment model file (bad magic bytes)")]
    BadMagic,
    #[error(
        "sentiment model: unsupported format version {found} (this build reads version {FORMAT_VERSION})"
    )]
    UnsupportedVersion { found: u32 },
    #[error("sentiment model: file truncated ({0})")]
    Truncated(&'static str),
    #[error("sentiment model: checksum mismatch (file corrupted)")]
    Checksum,
    #[error("sentiment model: bad header: {0}")]
    Header(String),
    #[error("sentiment model: bad weights payload: {0}")]
    Payload(String),
}

/// Header of a model file (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Version of the feature extraction the weights belong to.
    pub feature_version: u32,
    pub features: FeatureConfig,
    pub bias: f32,
    /// Calibration: P(positive) = sigmoid((w·x + bias) / temperature).
    pub temperature: f32,
    /// Default neutral band half-width: neutral when |P - 0.5| < margin.
    pub neutral_margin: f32,
    /// Quantisation step of the weights.
    pub scale: f32,
    /// Names of the training sets, and free-form notes.
    #[serde(default)]
    pub trained_on: Vec<String>,
    #[serde(default)]
    pub notes: String,
}

/// A trained sentiment model. Cheap to share (`&Model` is `Sync`); classification is pure.
#[derive(Debug, Clone)]
pub struct Model {
    pub(crate) header: Header,
    pub(crate) weights: Vec<f32>,
    neutral_margin: f32,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Model {
    /// Builds a model from trained weights (used by training).
    pub(crate) fn from_parts(header: Header, weights: Vec<f32>) -> Model {
        let neutral_margin = header.neutral_margin;
        Model {
            header,
            weights,
            neutral_margin,
        }
    }

    /// The model shipped in the repository (`models/sentiment-v1.bin`), embedded in the
    /// binary, parsed once.
    ///
    /// # Panics
    /// If the embedded file is invalid, which the crate's tests rule out.
    pub fn builtin() -> &'static Model {
        Self::try_builtin().unwrap_or_else(|e| panic!("built-in {e}"))
    }

    /// [`Model::builtin`], returning the error instead of panicking.
    pub fn try_builtin() -> Result<&'static Model, ModelError> {
        static M: OnceLock<Result<Model, String>> = OnceLock::new();
        match M.get_or_init(|| Model::from_bytes(BUILTIN_BYTES).map_err(|e| e.to_string())) {
            Ok(m) => Ok(m),
            Err(e) => Err(ModelError::Header(e.clone())),
        }
    }

    /// Reads a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Model, ModelError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Model::from_bytes(&bytes)
    }

    /// Writes the model file (see the module docs for the format).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ModelError> {
        let path = path.as_ref();
        let io = |source| ModelError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(path, self.to_bytes()).map_err(io)
    }

    /// Serialises the model (quantising the weights to `i16`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let max = self.weights.iter().fold(0f32, |m, w| m.max(w.abs()));
        let scale = if max > 0.0 { max / 32767.0 } else { 1.0 };
        let mut header = self.header.clone();
        header.scale = scale;
        let mut raw = Vec::with_capacity(self.weights.len() * 2);
        for w in &self.weights {
            let q = (w / scale).round().clamp(-32767.0, 32767.0) as i16;
            raw.extend_from_slice(&q.to_le_bytes());
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&raw).expect("write to Vec");
        let payload = gz.finish().expect("write to Vec");
        let json = serde_json::to_vec(&header).expect("header serialises");
        let mut out = Vec::with_capacity(payload.len() + json.len() + 32);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&payload);
        let mut crc = flate2::Crc::new();
        crc.update(&out);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out
    }

    /// Parses and validates a model file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        if bytes.len() < 8 || &bytes[..8] != MAGIC {
            return Err(ModelError::BadMagic);
        }
        let u32_at = |at: usize, what: &'static str| -> Result<u32, ModelError> {
            bytes
                .get(at..at + 4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
                .ok_or(ModelError::Truncated(what))
        };
        let version = u32_at(8, "version")?;
        if version != FORMAT_VERSION {
            return Err(ModelError::UnsupportedVersion { found: version });
        }
        let hlen = u32_at(12, "header length")? as usize;
        let hstart = 16usize;
        let hend = hstart
            .checked_add(hlen)
            .ok_or(ModelError::Truncated("header"))?;
        let plen = u32_at(hend, "payload length")? as usize;
        let pstart = hend + 4;
        let pend = pstart
            .checked_add(plen)
            .ok_or(ModelError::Truncated("payload"))?;
        let crc_stored = u32_at(pend, "checksum")?;
        if bytes.len() != pend + 4 {
            return Err(ModelError::Header(format!(
                "{} trailing bytes after the checksum",
                bytes.len() as i64 - (pend as i64 + 4)
            )));
        }
        let mut crc = flate2::Crc::new();
        crc.update(&bytes[..pend]);
        if crc.sum() != crc_stored {
            return Err(ModelError::Checksum);
        }
        let header: Header = serde_json::from_slice(&bytes[hstart..hend])
            .map_err(|e| ModelError::Header(e.to_string()))?;
        if header.feature_version != FEATURE_VERSION {
            return Err(ModelError::Header(format!(
                "feature version {} (this build computes version {FEATURE_VERSION})",
                header.feature_version
            )));
        }
        let bits = header.features.bits;
        if !(8..=26).contains(&bits) {
            return Err(ModelError::Header(format!(
                "bits = {bits} out of range 8..=26"
            )));
        }
        let positive = |v: f32| v.is_finite() && v > 0.0;
        let f = &header.features;
        if !positive(header.scale) || !positive(header.temperature) || !header.bias.is_finite() {
            return Err(ModelError::Header(
                "scale, temperature or bias not a positive number".into(),
            ));
        }
        if !f.chain_weight.is_finite() || !f.tag_weight.is_finite() || f.max_ngram > 8 {
            return Err(ModelError::Header("feature settings out of range".into()));
        }
        let n = 1usize << bits;
        let mut raw = Vec::with_capacity(n * 2);
        flate2::read::GzDecoder::new(&bytes[pstart..pend])
            .take(n as u64 * 2 + 1)
            .read_to_end(&mut raw)
            .map_err(|e| ModelError::Payload(e.to_string()))?;
        if raw.len() != n * 2 {
            return Err(ModelError::Payload(format!(
                "{} bytes of weights, expected {} for 2^{bits} buckets",
                raw.len(),
                n * 2
            )));
        }
        let scale = header.scale;
        let weights = raw
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 * scale)
            .collect();
        Ok(Model::from_parts(header, weights))
    }

    /// The file header (feature settings, calibration, training notes).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Half-width of the neutral band: [`Model::classify`] says neutral when
    /// |P(positive) − 0.5| < margin.
    pub fn neutral_margin(&self) -> f32 {
        self.neutral_margin
    }

    /// Sets the neutral band half-width (clamped to 0..=0.5; 0 = never neutral except for
    /// texts with no features).
    pub fn set_neutral_margin(&mut self, margin: f32) {
        self.neutral_margin = margin.clamp(0.0, 0.5);
    }

    /// Builder form of [`Model::set_neutral_margin`].
    pub fn with_neutral_margin(mut self, margin: f32) -> Model {
        self.set_neutral_margin(margin);
        self
    }

    /// Raw margin w·x + bias (before calibration), or `None` when the text has no features.
    pub fn margin(&self, text: &str) -> Option<f32> {
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            let feats = extract(&self.header.features, text, &mut s);
            if feats.is_empty() {
                return None;
            }
            let mut m = self.header.bias;
            for &(i, v) in feats {
                m += self.weights[i as usize] * v;
            }
            Some(m)
        })
    }

    /// Calibrated P(positive) in [0, 1]; 0.5 for a text with no features (empty,
    /// only punctuation or mentions).
    pub fn score(&self, text: &str) -> f32 {
        match self.margin(text) {
            Some(m) => sigmoid(m / self.header.temperature),
            None => 0.5,
        }
    }

    /// Three-way sentiment. `score` is P(positive); the label is neutral when the score is
    /// within [`Model::neutral_margin`] of 0.5.
    pub fn classify(&self, text: &str) -> Sentiment {
        let score = self.score(text);
        let label = if (score - 0.5).abs() < self.neutral_margin || score == 0.5 {
            Label::Neutral
        } else if score > 0.5 {
            Label::Positive
        } else {
            Label::Negative
        };
        Sentiment { label, score }
    }

    /// Two-way sentiment (never neutral; a tie at exactly 0.5 counts as positive) with
    /// P(positive).
    pub fn classify_binary(&self, text: &str) -> (Label, f32) {
        let score = self.score(text);
        (
            if score >= 0.5 {
                Label::Positive
            } else {
                Label::Negative
            },
            score,
        )
    }
}

#[inline]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}
