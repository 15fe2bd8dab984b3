//! Report documents: the [`model`] every report product is built into, and the [`render`]
//! formats. Builders that compute reports from the store are in
//! `yuqing_handling::reports`; this crate does no I/O except running LibreOffice for PDF.

pub mod error;
pub mod model;
pub mod render;

pub use error::{ReportError, Result};
pub use model::{
    Block, Chart, ChartKind, Figure, Item, Kind, Letterhead, Report, Section, Series, Table, Value,
};
pub use render::{Format, RenderOptions, render};
