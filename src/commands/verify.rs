//! `buildproof verify BUILT --running RUNNING`.

use crate::cli::VerifyArgs;

pub(super) fn run(_args: &VerifyArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`verify` is not available yet")
}
