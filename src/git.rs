//! Where a snapshot's sources came from, asked of `git`: the commit `HEAD` names in
//! the work tree that holds the config, and whether the tree differs from it. Read
//! with the `git` command (as `tree` already asks it for tracked-but-ignored files)
//! rather than a library, so the answer is the one `git status` gives the user,
//! with their git's version, configuration and work-tree format.
//!
//! There is no commit outside a work tree: a config in a plain directory (a release
//! tarball, a Nix build sandbox), a repository without commits, or a machine without
//! git records none, which manifests allow. `dirty` counts what `git status` shows:
//! modified, staged, deleted and untracked files that no `.gitignore` excludes, in
//! the whole work tree (a change outside the config's directory still means the
//! commit is not the whole story).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::model::manifest::GitRecord;

/// The commit and dirty state of the work tree holding `dir`, if there is one.
#[must_use]
pub fn describe(dir: &Path) -> Option<GitRecord> {
    let inside = git(dir, &["rev-parse", "--is-inside-work-tree"])?;
    if inside.trim() != "true" {
        return None;
    }
    let commit = git(dir, &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])?;
    let commit = commit.trim().to_owned();
    let id = commit
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !(id && matches!(commit.len(), 40 | 64)) {
        return None;
    }
    let status = git(
        dir,
        &["status", "--porcelain", "-z", "--untracked-files=normal"],
    )?;
    Some(GitRecord {
        commit,
        dirty: !status.is_empty(),
    })
}

/// `git -C dir ARGS`'s stdout, or `None` when git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        // Never prompt, never page, never take a lock that a concurrent git holds.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn commit_and_dirty_state_of_a_work_tree() {
        if Command::new("git").arg("--version").output().is_err() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        // Outside a work tree: nothing.
        assert_eq!(describe(dir.path()), None);
        run(dir.path(), &["init", "-q"]);
        // No commit yet: nothing.
        assert_eq!(describe(dir.path()), None);
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        run(dir.path(), &["add", "a.txt"]);
        run(
            dir.path(),
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "commit",
                "-q",
                "-m",
                "one",
            ],
        );
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let clean = describe(&dir.path().join("sub")).unwrap();
        assert_eq!(clean.commit.len(), 40);
        assert!(!clean.dirty);
        std::fs::write(dir.path().join("a.txt"), "b").unwrap();
        let dirty = describe(dir.path()).unwrap();
        assert_eq!(dirty.commit, clean.commit);
        assert!(dirty.dirty);
    }
}
