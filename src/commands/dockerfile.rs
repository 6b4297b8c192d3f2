//! `buildproof dockerfile diff`.

use crate::cli::DockerfileCommand;

pub(super) fn run(_cmd: DockerfileCommand) -> anyhow::Result<u8> {
    anyhow::bail!("`dockerfile` commands are not available yet")
}
