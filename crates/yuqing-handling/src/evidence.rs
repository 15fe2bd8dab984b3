//! Evidence files of cases (附件: text, images, audio, video), stored by content.
//!
//! A file lives at `<dir>/<first two hex digits>/<sha256>`; the case records only its
//! metadata (`yuqing_workflow::case::Attachment`), so the audit log covers the hash and a
//! file changed on disk is detected when it is read back. Writes go to a temporary file
//! that is synced and renamed, so a crash never leaves a half-written file under its hash.

use crate::{HandlingError, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use yuqing_core::Code;

/// Largest evidence file accepted (256 MiB).
pub const MAX_BYTES: usize = 256 << 20;

/// The evidence directory.
#[derive(Debug, Clone)]
pub struct Evidence {
    dir: PathBuf,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> HandlingError {
    HandlingError::refused(
        Code::Unavailable,
        format!("无法{what}附件文件 {}：{e}", path.display()),
        format!("cannot {what} evidence file {}: {e}", path.display()),
    )
}

/// The kind of an evidence file from its name's extension (text when unknown).
pub fn guess_kind(name: &str) -> yuqing_workflow::case::AttachmentKind {
    use yuqing_workflow::case::AttachmentKind as K;
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" | "png" | "gif" | "webp" | "bmp" | "heic" => K::Image,
        "mp3" | "wav" | "m4a" | "amr" | "ogg" | "aac" => K::Audio,
        "mp4" | "mov" | "avi" | "mkv" | "webm" | "flv" => K::Video,
        _ => K::Text,
    }
}

fn valid_sha(sha: &str) -> bool {
    sha.len() == 64
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Evidence {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn path(&self, sha: &str) -> PathBuf {
        self.dir.join(&sha[..2]).join(sha)
    }

    /// Stores `bytes`; returns their SHA-256 (lower-case hex) and size. Storing the same
    /// content again is a no-op.
    pub async fn put(&self, bytes: Vec<u8>) -> Result<(String, u64)> {
        if bytes.len() > MAX_BYTES {
            return Err(HandlingError::refused(
                Code::InvalidInput,
                format!(
                    "附件过大：{} 字节，上限 {} MiB；请压缩或截取后再上传",
                    bytes.len(),
                    MAX_BYTES >> 20
                ),
                format!(
                    "evidence file too large: {} bytes, the limit is {} MiB; compress or cut it",
                    bytes.len(),
                    MAX_BYTES >> 20
                ),
            ));
        }
        let sha = hex::encode(Sha256::digest(&bytes));
        let path = self.path(&sha);
        let size = bytes.len() as u64;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let out = path.clone();
        let sha2 = sha.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            if out.exists() {
                return Ok(());
            }
            std::fs::create_dir_all(&dir).map_err(|e| io("创建", &dir, e))?;
            let tmp = dir.join(format!(".{sha2}.{}.tmp", std::process::id()));
            let write = || -> std::io::Result<()> {
                use std::io::Write;
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(&bytes)?;
                f.sync_all()?;
                std::fs::rename(&tmp, &out)
            };
            write().map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                io("写入", &out, e)
            })
        })
        .await
        .map_err(|e| HandlingError::refused(Code::Internal, format!("{e}"), format!("{e}")))??;
        Ok((sha, size))
    }

    /// The content of `sha`, checked against its hash.
    pub async fn get(&self, sha: &str) -> Result<Vec<u8>> {
        if !valid_sha(sha) {
            return Err(HandlingError::refused(
                Code::InvalidInput,
                format!("附件编号应为 64 位小写十六进制 SHA-256，实为 {sha:?}"),
                format!("an evidence id is a 64-digit lower-case hex SHA-256, got {sha:?}"),
            ));
        }
        let path = self.path(sha);
        let bytes = tokio::fs::read(&path).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                HandlingError::refused(
                    Code::NotFound,
                    format!("附件文件 {sha} 不在附件目录中（可能未随备份恢复）"),
                    format!("evidence file {sha} is missing from the evidence directory (not restored with a backup?)"),
                )
            } else {
                io("读取", &path, e)
            }
        })?;
        if hex::encode(Sha256::digest(&bytes)) != sha {
            return Err(HandlingError::refused(
                Code::Internal,
                format!(
                    "附件文件 {} 的内容与登记的哈希不符：文件已被改动",
                    path.display()
                ),
                format!(
                    "evidence file {} does not match its recorded hash: it was altered",
                    path.display()
                ),
            ));
        }
        Ok(bytes)
    }
}
