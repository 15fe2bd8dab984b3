//! The configuration tree: one typed struct, defaults in one place, unknown keys refused.
//!
//! The fully commented example (`config/yuqing.example.toml`) is embedded in the binary
//! and printed by `yuqing default-config`; a test parses it.

use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use yuqing_core::Lang;
use yuqing_ingest::IngestSettings;
use yuqing_ingest::sources::SourceConfig;

/// The example config, as shipped.
pub const EXAMPLE: &str = include_str!("../../../config/yuqing.example.toml");

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub lang: Lang,
    pub text: TextConfig,
    pub server: ServerConfig,
    pub ingest: IngestSettings,
    pub import_dir: ImportDirConfig,
    pub sources: Vec<SourceConfig>,
}

/// How text is normalised for matching (`[text]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextConfig {
    /// Fold traditional Chinese to simplified (with mainland vocabulary) for matching.
    pub fold_traditional: bool,
}

impl Default for TextConfig {
    fn default() -> Self {
        Self {
            fold_traditional: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub bind: String,
    pub push_tokens: Vec<yuqing_ingest::sources::Secret>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            push_tokens: vec![],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportDirConfig {
    pub enabled: bool,
    pub path: PathBuf,
    pub interval: yuqing_ingest::sources::HumanDuration,
}

impl Default for ImportDirConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            path: PathBuf::from("inbox"),
            interval: yuqing_ingest::sources::HumanDuration(Duration::from_secs(10)),
        }
    }
}

impl Config {
    /// Reads a config file; `None` gives the defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "无法读取配置文件 {} / cannot read config file {}",
                path.display(),
                path.display()
            )
        })?;
        Self::parse(&text).with_context(|| {
            format!(
                "配置文件 {} 有误 / config file {} is invalid",
                path.display(),
                path.display()
            )
        })
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let cfg: Config = toml::from_str(text)?;
        anyhow::ensure!(
            cfg.ingest.grouping.max_distance <= 3,
            "ingest.grouping.max_distance = {} 过大：最多为 3（四段 16 位分桶只保证找全 3 位以内的相似）/ \
             ingest.grouping.max_distance = {} is too large: at most 3 (the 4×16-bit bands only guarantee finding near-duplicates within 3 bits)",
            cfg.ingest.grouping.max_distance,
            cfg.ingest.grouping.max_distance
        );
        let mut names = std::collections::HashSet::new();
        for s in &cfg.sources {
            anyhow::ensure!(
                names.insert(s.name()),
                "数据源名称重复：{} / duplicate source name: {}",
                s.name(),
                s.name()
            );
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_matches_defaults() {
        let cfg = Config::parse(EXAMPLE).expect("example parses");
        let d = Config::default();
        assert_eq!(cfg.server.bind, d.server.bind);
        assert_eq!(cfg.text.fold_traditional, d.text.fold_traditional);
        assert_eq!(cfg.ingest.batch_size, d.ingest.batch_size);
        assert_eq!(cfg.ingest.word_ranking, d.ingest.word_ranking);
        assert_eq!(cfg.ingest.max_text_bytes, d.ingest.max_text_bytes);
        assert_eq!(cfg.ingest.grouping.min_chars, d.ingest.grouping.min_chars);
        assert_eq!(cfg.import_dir.interval.0, d.import_dir.interval.0);
        assert_eq!(cfg.sources.len(), 3);
        for s in &cfg.sources {
            s.build()
                .unwrap_or_else(|e| panic!("example source {} is invalid: {e}", s.name()));
        }
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let e = Config::parse("[server]\nbnid = \"x\"\n").unwrap_err();
        assert!(format!("{e:#}").contains("bnid"), "{e:#}");
    }

    #[test]
    fn duplicate_source_names_are_refused() {
        let src = "[[sources]]\nname='a'\ntype='feed'\nurl='http://example.com/f'\n";
        let e = Config::parse(&format!("{src}{src}")).unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
    }
}
