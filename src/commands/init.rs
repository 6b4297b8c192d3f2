//! `buildproof init [DIR]`: propose a commented `buildproof.toml` from what the tree
//! holds (`init.rs` in the library), and write it as a new file, never over one, or
//! print it with `--print`. What to fill in before `snapshot` goes to stderr.

use crate::cli::{InitArgs, Verbosity};
use crate::init::{self, Options};

pub(super) fn run(args: &InitArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    if !args.dir.is_dir() {
        anyhow::bail!("`{}` is not a directory", args.dir.display());
    }
    let target = args.dir.join("buildproof.toml");
    // Refused before the tree is searched: nothing to do if it cannot be written.
    if !args.print && std::fs::symlink_metadata(&target).is_ok() {
        return Err(crate::output::OutputError::Exists { path: target }.into());
    }
    let options = Options {
        nix_attrs: args.nix_attrs.clone(),
        flake: !args.no_flake,
    };
    let proposal = init::propose(&args.dir, &options)?;
    if args.print {
        super::emit(None, proposal.text.as_bytes(), io)?;
    } else {
        crate::output::write_new(&target, proposal.text.as_bytes())?;
    }
    if io.verbosity == Verbosity::Quiet {
        return Ok(0);
    }
    let mut summary = String::new();
    let what = if args.print {
        "proposed".to_owned()
    } else {
        format!("wrote `{}`:", target.display())
    };
    summary.push_str(&format!(
        "buildproof init: {what} {} component{}{}\n",
        proposal.components.len(),
        if proposal.components.len() == 1 {
            ""
        } else {
            "s"
        },
        if proposal.components.is_empty() {
            String::new()
        } else {
            format!(" ({})", proposal.components.join(", "))
        }
    ));
    for note in &proposal.notes {
        summary.push_str(&format!("  note: {note}\n"));
    }
    if !proposal.todo.is_empty() {
        summary.push_str("  fill in before `buildproof snapshot`:\n");
        for item in &proposal.todo {
            summary.push_str(&format!("    {item}\n"));
        }
    }
    io.stderr
        .write_all(crate::report::log_safe(&summary).as_bytes())?;
    Ok(0)
}
