//! The error type of report rendering, with a Chinese and an English message.

/// What went wrong while rendering a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The request cannot be met as asked (unknown format, bad option): says how to fix it.
    #[error("{zh} / {en}")]
    Invalid { zh: String, en: String },
    /// PDF was asked for and LibreOffice is not installed (or not at the configured path).
    #[error("{} / {}", pdf_zh(.tried), pdf_en(.tried))]
    PdfUnavailable { tried: String },
    /// A format writer failed.
    #[error("{zh} / {en}")]
    Render { zh: String, en: String },
}

fn pdf_zh(tried: &str) -> String {
    format!(
        "无法生成 PDF：未找到 LibreOffice（{tried}）。请安装 LibreOffice（Debian：apt-get install libreoffice-writer-nogui），或在配置 [report] soffice 中指定 soffice 的路径；也可改用 --format docx"
    )
}

fn pdf_en(tried: &str) -> String {
    format!(
        "PDF needs LibreOffice, which was not found ({tried}). Install it (Debian: apt-get install libreoffice-writer-nogui) or set [report] soffice in the configuration; or use --format docx"
    )
}

impl ReportError {
    /// The message in Chinese and in English (the API answers with both).
    pub fn messages(&self) -> (String, String) {
        match self {
            ReportError::Invalid { zh, en } | ReportError::Render { zh, en } => {
                (zh.clone(), en.clone())
            }
            ReportError::PdfUnavailable { tried } => (pdf_zh(tried), pdf_en(tried)),
        }
    }

    pub fn invalid(zh: impl Into<String>, en: impl Into<String>) -> Self {
        ReportError::Invalid {
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn render(zh: impl Into<String>, en: impl Into<String>) -> Self {
        ReportError::Render {
            zh: zh.into(),
            en: en.into(),
        }
    }
}

pub type Result<T, E = ReportError> = std::result::Result<T, E>;
