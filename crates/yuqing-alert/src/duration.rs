//! [`Span`]: a configured duration (`30`, `"90s"`, `"5m"`, `"1h30m"`, `"2d"`), the same
//! type and forms as source intervals ([`yuqing_core::HumanDuration`]).

pub use yuqing_core::duration::HumanDuration as Span;
