//! The `sarif` report format.

use std::io;

use super::Report;

pub(super) fn render(_report: &Report, _out: &mut dyn io::Write) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "report format `sarif` is not available yet",
    ))
}
