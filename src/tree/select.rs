//! Selecting every component's input files in one walk of the config directory.
//!
//! The walk enters a directory only when some component's pattern can reach inside
//! it, and routes each file it meets to the components whose globs match it: all
//! components' patterns are compiled into one `globset` set (literal paths, literal
//! prefixes such as `web/**` and extensions are hash or Aho-Corasick look-ups there,
//! not one match per pattern), and the directories that patterns are confined to are
//! kept sorted, so deciding whether to enter a directory is a few look-ups however
//! many components there are. A config of 5,000 components costs one walk, not
//! 5,000 (the walk per component made that 417 s against 0.18 s for one component
//! over the same files).
//!
//! A path selected by several components is listed once: it is stated and hashed
//! once and its record shared.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use globset::{Candidate, Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use rayon::slice::ParallelSliceMut as _;

use super::TreeError;
use crate::fsio::{RootedDir, Stat, join};

/// One component's patterns, as the config gives them.
#[derive(Debug, Clone, Copy)]
pub struct Patterns<'a> {
    pub include: &'a [String],
    pub exclude: &'a [String],
}

/// What the walk selected for every component.
#[derive(Debug, Default)]
pub struct Selections {
    /// Every selected file once: raw relative paths (`/`-separated bytes), sorted
    /// bytewise.
    pub paths: Vec<Box<[u8]>>,
    /// Their `lstat`s, index for index, taken as the walk met them; under
    /// [`Stating::Links`], only the type of a file that is not a symlink (see
    /// there).
    pub stats: Vec<Stat>,
    /// Whether every file was stated.
    pub stating: Stating,
    /// Per component, in the order given.
    pub components: Vec<ComponentSelection>,
}

/// What the walk learns of each selected file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stating {
    /// An `lstat` of every file, for a stat cache to compare.
    #[default]
    Every,
    /// Without a stat cache, files are not stated: the directory entry gives their
    /// type (a FIFO or device is refused by it, unopened), and hashing takes the
    /// `fstat` of the opened file instead, which saves a look-up by name per file
    /// (a third of a small file's system time). Their [`Stat`] holds only the type
    /// in `mode`. Symlinks are stated (their `lstat` goes to a stat cache written
    /// after the run), and so are tracked files the walk did not meet.
    Links,
}

/// One component's share of [`Selections::paths`].
#[derive(Debug, Default, Clone)]
pub struct ComponentSelection {
    /// Indices into [`Selections::paths`], ascending.
    pub files: Vec<u32>,
    /// Patterns that matched no file.
    pub unmatched: Vec<String>,
}

fn glob(pattern: &str) -> Result<Glob, TreeError> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|source| TreeError::Glob {
            pattern: pattern.to_owned(),
            source,
        })
}

/// Glob metacharacters; a pattern without any names one path exactly.
const GLOB_CHARS: [char; 5] = ['*', '?', '[', '{', '\\'];

fn normalise(pattern: &str) -> &str {
    pattern.trim_start_matches("./").trim_end_matches('/')
}

/// Every component's patterns in one set; for each glob of the set, the component
/// (and, for includes, the pattern) it came from.
struct Router {
    includes: GlobSet,
    include_origin: Vec<(u32, u32)>,
    excludes: GlobSet,
    exclude_origin: Vec<u32>,
    /// Where include patterns can match, for the walk's decision to enter a
    /// directory (shared with the walker's filter, which must own what it uses).
    prefixes: Arc<Prefixes>,
}

/// The directories include patterns are confined to (see [`literal_prefix`]).
#[derive(Debug, Default)]
struct Prefixes {
    set: BTreeSet<Vec<u8>>,
    /// Some pattern starts with a glob: every directory may hold a match.
    anywhere: bool,
}

impl Router {
    /// Compiles patterns. A pattern that names a path exactly (`web`, `go.mod`) also
    /// selects everything below it when it is a directory; a glob does not (`src/*`
    /// selects the entries of `src`, not the trees below them: `*` stays in a
    /// directory).
    fn new(components: &[Patterns<'_>]) -> Result<Self, TreeError> {
        let mut includes = GlobSetBuilder::new();
        let mut include_origin = Vec::new();
        let mut excludes = GlobSetBuilder::new();
        let mut exclude_origin = Vec::new();
        let mut prefixes = Prefixes::default();
        for (c, patterns) in (0u32..).zip(components) {
            for (i, p) in (0u32..).zip(patterns.include) {
                let p = normalise(p);
                includes.add(glob(p)?);
                include_origin.push((c, i));
                if !p.contains(GLOB_CHARS) {
                    includes.add(glob(&format!("{p}/**"))?);
                    include_origin.push((c, i));
                }
                let prefix = literal_prefix(p);
                prefixes.anywhere |= prefix.is_empty();
                prefixes.set.insert(prefix.into_bytes());
            }
            for p in patterns.exclude {
                let p = normalise(p);
                excludes.add(glob(p)?);
                exclude_origin.push(c);
                if !p.contains(GLOB_CHARS) {
                    excludes.add(glob(&format!("{p}/**"))?);
                    exclude_origin.push(c);
                }
            }
        }
        let build = |b: GlobSetBuilder, which: &[&[String]]| {
            b.build().map_err(|source| TreeError::Glob {
                pattern: which
                    .iter()
                    .flat_map(|p| p.iter())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                source,
            })
        };
        let all_includes: Vec<&[String]> = components.iter().map(|c| c.include).collect();
        let all_excludes: Vec<&[String]> = components.iter().map(|c| c.exclude).collect();
        Ok(Self {
            includes: build(includes, &all_includes)?,
            include_origin,
            excludes: build(excludes, &all_excludes)?,
            exclude_origin,
            prefixes: Arc::new(prefixes),
        })
    }
}

impl Prefixes {
    /// Whether a walk must enter directory `dir` (relative, raw bytes): some pattern's
    /// prefix is `dir`, one of its ancestors, or lies below it.
    fn may_enter(&self, dir: &[u8]) -> bool {
        if self.anywhere {
            return true;
        }
        let prefixes = &self.set;
        // `dir` or an ancestor of it is a prefix.
        let mut end = dir.len();
        loop {
            if prefixes.contains(&dir[..end]) {
                return true;
            }
            match dir[..end].iter().rposition(|&b| b == b'/') {
                Some(slash) => end = slash,
                None => break,
            }
        }
        // A prefix lies below `dir`: the first key from `dir/` on starts with it.
        let mut below = dir.to_vec();
        below.push(b'/');
        prefixes
            .range(below.clone()..)
            .next()
            .is_some_and(|p| p.starts_with(&below))
    }
}

/// The directory a pattern is confined to: its leading components up to the first
/// one with a glob character (`goinstance/cmd` for `goinstance/cmd/**/*.go`, the whole
/// pattern when it has none, empty when it starts with a glob).
fn literal_prefix(pattern: &str) -> String {
    normalise(pattern)
        .split('/')
        .take_while(|c| !c.contains(GLOB_CHARS))
        .collect::<Vec<_>>()
        .join("/")
}

/// A file met by the walk: its path, where its `lstat` is (in [`Shared::stats`]),
/// and the components that select it (a run of [`Shared::owners`]).
struct Found {
    path: Box<[u8]>,
    stat: u32,
    start: u32,
    len: u32,
}

/// What the walking threads have found, merged as they go.
struct Shared {
    found: Vec<Found>,
    owners: Vec<u32>,
    /// In the order found; sorted with the paths at the end.
    stats: Vec<Stat>,
    /// Per component, per include pattern: matched some file.
    matched: Vec<Vec<bool>>,
    error: Option<SelectError>,
}

/// What one walking thread accumulates before handing it to [`Shared`] (in batches,
/// so no thread holds a second copy of everything).
struct Routing<'a> {
    router: &'a Router,
    shared: &'a Mutex<Shared>,
    found: Vec<Found>,
    owners: Vec<u32>,
    stats: Vec<Stat>,
    matched: Vec<Vec<bool>>,
    hits: Vec<usize>,
    excluded: Vec<usize>,
    components: Vec<u32>,
    /// The directory of the last file stated, open: the walk hands a thread one
    /// directory's entries in a row.
    dir: RootedDir<'a>,
    stating: Stating,
}

/// Entries a walking thread gathers before taking the lock.
const BATCH: usize = 4096;

impl<'a> Routing<'a> {
    fn new(
        root: &'a Path,
        router: &'a Router,
        shared: &'a Mutex<Shared>,
        components: &[Patterns<'_>],
        stating: Stating,
    ) -> Self {
        Self {
            router,
            shared,
            found: Vec::new(),
            owners: Vec::new(),
            stats: Vec::new(),
            matched: components
                .iter()
                .map(|c| vec![false; c.include.len()])
                .collect(),
            hits: Vec::new(),
            excluded: Vec::new(),
            components: Vec::new(),
            dir: RootedDir::new(root),
            stating,
        }
    }

    /// Routes the file at `path` (`rel` below the root), of type `file_type` when
    /// its directory entry says, to the components that select it, and `lstat`s
    /// it if any does (see [`Stating`]).
    fn route(
        &mut self,
        path: &Path,
        rel: &[u8],
        file_type: Option<fs::FileType>,
    ) -> Result<(), SelectError> {
        let candidate = Candidate::new(Path::new(OsStr::from_bytes(rel)));
        self.router
            .includes
            .matches_candidate_into(&candidate, &mut self.hits);
        if self.hits.is_empty() {
            return Ok(());
        }
        self.components.clear();
        for &h in &self.hits {
            let (c, i) = self.router.include_origin[h];
            self.matched[c as usize][i as usize] = true;
            self.components.push(c);
        }
        self.components.sort_unstable();
        self.components.dedup();
        if !self.router.exclude_origin.is_empty() {
            self.router
                .excludes
                .matches_candidate_into(&candidate, &mut self.excluded);
            if !self.excluded.is_empty() {
                let excluded: Vec<u32> = self
                    .excluded
                    .iter()
                    .map(|&h| self.router.exclude_origin[h])
                    .collect();
                self.components.retain(|c| !excluded.contains(c));
            }
        }
        let Some(&first) = self.components.first() else {
            return Ok(());
        };
        // Stated here, in the walking threads, while the directory is warm: the
        // hashing and the stat cache use this `lstat`.
        let known = match (self.stating, file_type) {
            (Stating::Links, Some(t)) if !t.is_symlink() => Some(Stat::of_type(t)),
            _ => None,
        };
        let stat = match known {
            Some(stat) => stat,
            None => self.dir.lstat(rel).map_err(|source| SelectError {
                component: Some(first as usize),
                error: TreeError::Io {
                    path: path.to_owned(),
                    source,
                },
            })?,
        };
        let start = u32::try_from(self.owners.len()).unwrap_or(u32::MAX);
        self.owners.extend_from_slice(&self.components);
        self.found.push(Found {
            path: rel.into(),
            stat: u32::try_from(self.stats.len()).unwrap_or(u32::MAX),
            start,
            len: u32::try_from(self.components.len()).unwrap_or(u32::MAX),
        });
        self.stats.push(stat);
        if self.found.len() >= BATCH {
            self.flush();
        }
        Ok(())
    }

    /// Hands what was found to the shared lists.
    fn flush(&mut self) {
        let Ok(mut shared) = self.shared.lock() else {
            return;
        };
        let owners = u32::try_from(shared.owners.len()).unwrap_or(u32::MAX);
        let stats = u32::try_from(shared.stats.len()).unwrap_or(u32::MAX);
        shared.owners.append(&mut self.owners);
        shared.stats.append(&mut self.stats);
        shared.found.extend(self.found.drain(..).map(|f| Found {
            stat: f.stat + stats,
            start: f.start + owners,
            ..f
        }));
        for (all, mine) in shared.matched.iter_mut().zip(&self.matched) {
            for (a, m) in all.iter_mut().zip(mine) {
                *a |= *m;
            }
        }
    }

    fn fail(&self, error: SelectError) {
        if let Ok(mut shared) = self.shared.lock() {
            shared.error.get_or_insert(error);
        }
    }
}

impl Drop for Routing<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Why the selection failed, and the component to name with it when one is known.
#[derive(Debug)]
pub struct SelectError {
    pub component: Option<usize>,
    pub error: TreeError,
}

impl From<TreeError> for SelectError {
    fn from(error: TreeError) -> Self {
        Self {
            component: None,
            error,
        }
    }
}

/// Selects, in one walk of `root`, the files each component's patterns select: what
/// its `include` globs match and its `exclude` globs do not, minus what `.gitignore`
/// ignores (inside a git work tree), plus tracked files that `.gitignore` matches.
/// The walk runs on several threads and `lstat`s the selected files as `stating`
/// says.
pub fn select_all(
    root: &Path,
    components: &[Patterns<'_>],
    stating: Stating,
) -> Result<Selections, SelectError> {
    let router = Router::new(components)?;
    let shared = Mutex::new(Shared {
        found: Vec::new(),
        owners: Vec::new(),
        stats: Vec::new(),
        matched: components
            .iter()
            .map(|c| vec![false; c.include.len()])
            .collect(),
        error: None,
    });
    // Git's view of tracked-but-ignored files is ready by the time the walk ends.
    let tracked = std::thread::scope(|scope| {
        let tracked = scope.spawn(|| tracked_but_ignored(root));
        walk(root, &router, &shared, components, stating);
        tracked.join().unwrap_or_default()
    });

    // Git never ignores a tracked file, and neither does buildproof: a generated file
    // committed despite `*.pb.go` in .gitignore is an input like any other. Files the
    // walk also found are merged below, after sorting (never a search per file).
    {
        let mut routing = Routing::new(root, &router, &shared, components, Stating::Every);
        for rel in tracked {
            let path = join(root, Path::new(OsStr::from_bytes(&rel)));
            if fs::symlink_metadata(&path).is_ok() {
                routing.route(&path, &rel, None)?;
            }
        }
    }

    let Shared {
        mut found,
        owners,
        stats: unsorted,
        matched,
        error,
    } = shared.into_inner().map_err(|_| {
        SelectError::from(TreeError::Walk {
            path: root.to_owned(),
            message: "a walking thread failed".to_owned(),
        })
    })?;
    if let Some(e) = error {
        return Err(e);
    }
    // On every core: sorting 60,000 paths was a fifth of the walk's wall time, on one.
    found.par_sort_unstable_by(|a, b| a.path.cmp(&b.path));
    let mut out = Selections {
        paths: Vec::with_capacity(found.len()),
        stats: Vec::with_capacity(found.len()),
        components: vec![ComponentSelection::default(); components.len()],
        stating,
    };
    for f in found {
        let same = out.paths.last().is_some_and(|p| *p == f.path);
        if !same {
            out.paths.push(f.path);
            out.stats.push(unsorted[f.stat as usize]);
        }
        let index = u32::try_from(out.paths.len() - 1).unwrap_or(u32::MAX);
        for &c in &owners[f.start as usize..(f.start + f.len) as usize] {
            let files = &mut out.components[c as usize].files;
            if files.last() != Some(&index) {
                files.push(index);
            }
        }
    }
    drop(unsorted);
    for ((selection, patterns), matched) in out.components.iter_mut().zip(components).zip(matched) {
        selection.unmatched = patterns
            .include
            .iter()
            .zip(matched)
            .filter(|(_, m)| !m)
            .map(|(p, _)| p.clone())
            .collect();
    }
    Ok(out)
}

/// A walk of `root` that skips what git ignores and nothing else: `.gitignore`
/// files (of this tree and its parents) and `.git/info/exclude`, only inside a git
/// work tree; hidden files are walked, symlinks are not followed. What `snapshot`
/// selects and what `init` proposes agree on this.
pub fn git_walker(root: &Path) -> ignore::WalkBuilder {
    let mut walker = ignore::WalkBuilder::new(root);
    walker
        .hidden(false)
        .ignore(false)
        .git_global(false)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(true)
        .parents(true)
        .follow_links(false);
    walker
}

/// Walks `root` once on several threads, routing every file to its components;
/// the first error stops the walk and is left in `shared`.
fn walk(
    root: &Path,
    router: &Router,
    shared: &Mutex<Shared>,
    components: &[Patterns<'_>],
    stating: Stating,
) {
    let root_owned = root.to_owned();
    let prefixes = Arc::clone(&router.prefixes);
    let walker = git_walker(root)
        .filter_entry(move |entry| {
            if entry.depth() == 0 {
                return true;
            }
            // Bytes, not `file_name()`'s parse of the path: this runs for every entry.
            if entry.path().as_os_str().as_bytes().ends_with(b"/.git") {
                return false;
            }
            if !entry.file_type().is_some_and(|t| t.is_dir()) {
                return true;
            }
            // Enter a directory only if some pattern can reach inside it.
            let rel = entry
                .path()
                .strip_prefix(&root_owned)
                .unwrap_or(entry.path());
            prefixes.may_enter(rel.as_os_str().as_bytes())
        })
        .build_parallel();
    walker.run(|| {
        let mut routing = Routing::new(root, router, shared, components, stating);
        Box::new(move |entry| {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    routing.fail(walk_error(root, &e).into());
                    return ignore::WalkState::Quit;
                }
            };
            if entry.depth() == 0 || entry.file_type().is_some_and(|t| t.is_dir()) {
                return ignore::WalkState::Continue;
            }
            let rel = relative(entry.path(), root);
            match routing.route(entry.path(), rel, entry.file_type()) {
                Ok(()) => ignore::WalkState::Continue,
                Err(e) => {
                    routing.fail(e);
                    ignore::WalkState::Quit
                }
            }
        })
    });
}

/// `path` below `root`, as raw bytes. The walk builds every path as `root/…`, so
/// this is a slice, not `Path::strip_prefix`'s comparison of each component (a
/// tenth of the walk's own time on a tree of small files).
fn relative<'p>(path: &'p Path, root: &Path) -> &'p [u8] {
    let (bytes, root_bytes) = (path.as_os_str().as_bytes(), root.as_os_str().as_bytes());
    match bytes.strip_prefix(root_bytes) {
        Some([b'/', rel @ ..]) => rel,
        Some(rel) if rel.is_empty() || root_bytes.ends_with(b"/") => rel,
        _ => path
            .strip_prefix(root)
            .unwrap_or(path)
            .as_os_str()
            .as_bytes(),
    }
}

/// Files under `root` that git tracks although a `.gitignore` pattern matches them
/// (`git ls-files --cached --ignored --exclude-standard`), as raw paths relative to
/// `root`. Empty outside a git work tree, or when git is not installed (then ignore
/// rules alone decide, which can only drop such files, never add strangers).
fn tracked_but_ignored(root: &Path) -> Vec<Vec<u8>> {
    let in_work_tree = root
        .canonicalize()
        .is_ok_and(|abs| abs.ancestors().any(|dir| dir.join(".git").exists()));
    if !in_work_tree {
        return Vec::new();
    }
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--ignored",
            "--exclude-standard",
            "--",
            ".",
        ])
        .stderr(std::process::Stdio::null())
        .output();
    match output {
        Ok(o) if o.status.success() => o
            .stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
        _ => Vec::new(),
    }
}

fn walk_error(root: &Path, e: &ignore::Error) -> TreeError {
    // `ignore` wraps the path in its message; keep the innermost path if present.
    let path = match e {
        ignore::Error::WithPath { path, .. } => path.clone(),
        _ => root.to_owned(),
    };
    TreeError::Walk {
        path,
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn paths_relative_to_the_root() {
        for (path, root, rel) in [
            ("./src/a.go", ".", "src/a.go"),
            ("src/a.go", "src", "a.go"),
            ("src/a.go", "src/", "a.go"),
            ("/w/x/y", "/w", "x/y"),
            ("/w", "/w", ""),
            ("a/./b/c", "a/b", "c"),
            ("/wx/y", "/w", "/wx/y"),
        ] {
            assert_eq!(relative(Path::new(path), Path::new(root)), rel.as_bytes());
        }
    }

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal_prefix("goinstance/**"), "goinstance");
        assert_eq!(literal_prefix("go.mod"), "go.mod");
        assert_eq!(literal_prefix("a/b/*.go"), "a/b");
        assert_eq!(literal_prefix("**/x"), "");
        assert_eq!(literal_prefix("./web/src/**"), "web/src");
    }

    #[test]
    fn directories_are_entered_only_on_the_way_to_a_pattern() {
        let include = strings(&["a/b/**", "go.mod"]);
        let router = Router::new(&[Patterns {
            include: &include,
            exclude: &[],
        }])
        .unwrap();
        let p = &router.prefixes;
        assert!(p.may_enter(b"a"));
        assert!(p.may_enter(b"a/b"));
        assert!(p.may_enter(b"a/b/c"));
        assert!(!p.may_enter(b"a/bc"));
        assert!(!p.may_enter(b"web"));
        assert!(!p.may_enter(b"a/c"));
    }

    /// Two components with overlapping and excluded files: each gets its own, shared
    /// files are listed once, paths come out in byte order (`a.txt` before `a/x`,
    /// though the walk meets `a/` first).
    #[test]
    fn one_walk_routes_files_to_their_components() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in ["a/x", "a/y_test", "a.txt", "b/z", "c/w"] {
            let p = root.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, f).unwrap();
        }
        let one = strings(&["a/**", "a.txt", "nothing/**"]);
        let one_ex = strings(&["**/*_test"]);
        let two = strings(&["a/**", "b"]);
        let got = select_all(
            root,
            &[
                Patterns {
                    include: &one,
                    exclude: &one_ex,
                },
                Patterns {
                    include: &two,
                    exclude: &[],
                },
            ],
            Stating::Every,
        )
        .unwrap();
        let paths: Vec<&[u8]> = got.paths.iter().map(|p| &p[..]).collect();
        assert_eq!(
            paths,
            [&b"a.txt"[..], b"a/x", b"a/y_test", b"b/z"],
            "sorted bytewise, each once"
        );
        assert_eq!(got.components[0].files, [0, 1]);
        assert_eq!(got.components[0].unmatched, ["nothing/**"]);
        assert_eq!(got.components[1].files, [1, 2, 3]);
        assert!(got.components[1].unmatched.is_empty());
    }
}
