//! Standard output of the commands. A reader that stops early (`yuqing plan test … | head`)
//! closes the pipe; the command then ends quietly with success, as Unix tools do, instead
//! of panicking in `println!` or reporting an error. Other write failures end the command
//! with an error message.

use std::fmt;
use std::io::{ErrorKind, Write};

/// Writes one line to standard output (see the module docs).
pub fn line(args: fmt::Arguments<'_>) {
    write(format_args!("{args}\n"));
}

/// Writes to standard output without a newline (see the module docs).
pub fn write(args: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args) {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("错误 / error: 无法写出结果 / cannot write the output: {e}");
        std::process::exit(1);
    }
}

/// `println!` for command output: [`line`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}

/// `print!` for command output: [`write`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*))
    };
}

pub(crate) use {out, outln};
