//! PDF: the DOCX converted by LibreOffice (`soffice --headless --convert-to pdf`), the only
//! I/O this crate does.
//!
//! Each conversion runs in its own temporary directory with its own LibreOffice profile
//! (`-env:UserInstallation=…`), so concurrent conversions never share (and lock) one
//! profile. The child runs in its own process group and is killed, with everything it
//! started, when it outlives the timeout. LibreOffice not found →
//! [`ReportError::PdfUnavailable`], whose message says how to install or configure it.

use super::RenderOptions;
use crate::error::{ReportError, Result};
use crate::model::Report;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one conversion may take.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// Renders `report` as PDF through LibreOffice.
pub fn render(report: &Report, opts: &RenderOptions) -> Result<Vec<u8>> {
    let soffice = find_soffice(opts)?;
    let docx = super::docx::render(report, opts)?;
    convert(&soffice, &docx, TIMEOUT)
}

/// Where LibreOffice is: `opts.soffice` (which must exist), else `soffice` or `libreoffice`
/// on PATH, else the usual install places.
pub fn find_soffice(opts: &RenderOptions) -> Result<PathBuf> {
    if let Some(p) = &opts.soffice {
        return if p.is_file() {
            Ok(p.clone())
        } else {
            Err(ReportError::PdfUnavailable {
                tried: p.display().to_string(),
            })
        };
    }
    let mut tried = Vec::new();
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["soffice", "libreoffice"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        tried.push(format!("PATH 中的 {name} / {name} on PATH"));
    }
    for fixed in [
        "/usr/lib/libreoffice/program/soffice",
        "/opt/libreoffice/program/soffice",
        "/usr/local/bin/soffice",
        "/Applications/LibreOffice.app/Contents/MacOS/soffice",
        "C:\\Program Files\\LibreOffice\\program\\soffice.exe",
    ] {
        let p = Path::new(fixed);
        if p.is_file() {
            return Ok(p.to_owned());
        }
        tried.push(fixed.to_owned());
    }
    Err(ReportError::PdfUnavailable {
        tried: tried.join(", "),
    })
}

fn io_err(what: &str, e: std::io::Error) -> ReportError {
    ReportError::render(
        format!("PDF 转换失败（{what}）：{e}"),
        format!("PDF conversion failed ({what}): {e}"),
    )
}

/// A `file://` URL for a local path (bytes outside the unreserved set percent-encoded).
fn file_url(path: &Path) -> String {
    let mut out = String::from("file://");
    let s = path.to_string_lossy();
    if !s.starts_with('/') {
        out.push('/');
    }
    for b in s.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Converts a DOCX to PDF with `soffice`, killing it after `timeout`.
pub fn convert(soffice: &Path, docx: &[u8], timeout: Duration) -> Result<Vec<u8>> {
    let dir = tempfile::Builder::new()
        .prefix("yuqing-pdf-")
        .tempdir()
        .map_err(|e| io_err("临时目录 / temporary directory", e))?;
    let input = dir.path().join("report.docx");
    std::fs::write(&input, docx).map_err(|e| io_err("写入 DOCX / writing the DOCX", e))?;
    let profile = dir.path().join("profile");
    let log_path = dir.path().join("soffice.log");
    let log = std::fs::File::create(&log_path).map_err(|e| io_err("日志 / log", e))?;
    let log2 = log.try_clone().map_err(|e| io_err("日志 / log", e))?;

    let mut cmd = Command::new(soffice);
    cmd.arg(format!("-env:UserInstallation={}", file_url(&profile)))
        .args([
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            "--convert-to",
            "pdf",
            "--outdir",
        ])
        .arg(dir.path())
        .arg(&input)
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ReportError::PdfUnavailable {
                tried: soffice.display().to_string(),
            }
        } else {
            io_err("启动 LibreOffice / starting LibreOffice", e)
        }
    })?;

    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                kill_group(&mut child);
                return Err(ReportError::render(
                    format!(
                        "PDF 转换超时（{} 秒），已终止 LibreOffice；请稍后重试或改用 --format docx",
                        timeout.as_secs()
                    ),
                    format!(
                        "PDF conversion timed out after {} s and LibreOffice was stopped; retry later or use --format docx",
                        timeout.as_secs()
                    ),
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                kill_group(&mut child);
                return Err(io_err("等待 LibreOffice / waiting for LibreOffice", e));
            }
        }
    };
    let output = dir.path().join("report.pdf");
    match std::fs::read(&output) {
        Ok(pdf) if pdf.starts_with(b"%PDF") => Ok(pdf),
        _ => {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: String = log
                .chars()
                .rev()
                .take(400)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            Err(ReportError::render(
                format!("LibreOffice 未生成 PDF（{status}）：{}", tail.trim()),
                format!("LibreOffice produced no PDF ({status}): {}", tail.trim()),
            ))
        }
    }
}

/// Kills the child and, on Unix, the process group it leads (soffice starts soffice.bin).
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_are_encoded() {
        assert_eq!(
            file_url(Path::new("/tmp/a b/profile")),
            "file:///tmp/a%20b/profile"
        );
    }

    #[test]
    fn a_slow_converter_is_killed_at_the_timeout() {
        #[cfg(unix)]
        {
            let dir = tempfile::tempdir().unwrap();
            let fake = dir.path().join("soffice");
            std::fs::write(&fake, "#!/bin/sh\nsleep 30\n").unwrap();
            let _ = Command::new("chmod").arg("+x").arg(&fake).status();
            let t = Instant::now();
            let err = convert(&fake, b"PK", Duration::from_millis(300)).unwrap_err();
            assert!(t.elapsed() < Duration::from_secs(10));
            assert!(err.to_string().contains("超时"), "{err}");
        }
    }
}
