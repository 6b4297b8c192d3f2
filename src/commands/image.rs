//! `buildproof image inspect|diff`.

use crate::cli::ImageCommand;

pub(super) fn run(_cmd: ImageCommand) -> anyhow::Result<u8> {
    anyhow::bail!("`image` commands are not available yet")
}
