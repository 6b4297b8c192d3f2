//! Libraries as the dynamic loader finds them, from the merged layers.
//!
//! glibc's `ld.so` (`elf/dl-load.c`, `_dl_map_object`), for each `DT_NEEDED` name of
//! an object, in this order:
//!
//! 1. a name with `/` is a path (relative ones against the working dir);
//! 2. an object already loaded under that name or `DT_SONAME` is reused (the loader
//!    itself is loaded first, under its path's name and soname);
//! 3. `DT_RPATH` of the object, then of the object that loaded it, and so on up to
//!    the program, for each that has no `DT_RUNPATH` (and not at all when the
//!    requesting object has a `DT_RUNPATH`);
//! 4. `LD_LIBRARY_PATH` (from the image's environment, as a wrapper leaves it);
//! 5. `DT_RUNPATH` of the requesting object only;
//! 6. `/etc/ld.so.cache`: the entry for the name whose flags fit the program's
//!    machine ([`ldconfig::expected_flags`]); a stale entry whose file is gone falls
//!    through;
//! 7. the directories compiled into the loader (read from the loader file itself,
//!    see [`ElfInfo::system_dirs`]: `/lib/x86_64-linux-gnu`,
//!    `/usr/lib/x86_64-linux-gnu`, `/lib`, `/usr/lib` on Debian amd64); 6 and 7 are
//!    skipped for an object linked with `-z nodefaultlib`.
//!
//! `$ORIGIN` in a path is the object's directory (the program's real one). A
//! candidate of another class or machine is skipped as `ld.so` skips it. Each found
//! library's own `DT_NEEDED` are resolved the same way, breadth first, each object
//! read once, at most [`MAX_OBJECTS`].
//!
//! musl (`ld-musl-*.so.1`): `LD_LIBRARY_PATH`, then `DT_RPATH`/`DT_RUNPATH` (alike)
//! of the object and those that loaded it, then `/etc/ld-musl-ARCH.path` or
//! `/lib:/usr/local/lib:/usr/lib`; the libc names (`libc.so`, `libpthread.so.0`, …)
//! are the loader itself. No cache.
//!
//! `/etc/ld.so.conf` (and its includes) is never read by `ld.so`: only `ldconfig`
//! reads it to write the cache. It is read here to explain a miss: a library in a
//! directory listed there but absent from the cache means `ldconfig` did not run.
//!
//! A library not found is `library-missing`: an error when no usable file of that
//! name exists anywhere in the image; a warning when one exists outside the
//! loader's paths (`LD_LIBRARY_PATH` set at run time may still find it).

use std::collections::{BTreeMap, BTreeSet};

use super::args::basename;
use super::{Ctx, Found, Run, absolute, physical, resolve};
use crate::image::elf::ElfInfo;
use crate::image::layers::{Head, Kind, MergedFs};
use crate::image::ldconfig::{self, LdCache, LdSoConf};
use crate::model::image::{Problem, ProblemKind};

/// Objects (program and libraries) one process loads at most, as judged here.
pub const MAX_OBJECTS: usize = 1024;

/// The loader's files in the image, read once per verification.
pub(super) struct LoaderFiles {
    /// `/etc/ld.so.cache`: parsed, absent (`Ok(None)`), or unusable (why).
    cache: Result<Option<LdCache>, String>,
    conf: LdSoConf,
}

impl LoaderFiles {
    fn read(fs: &MergedFs) -> Self {
        let text = |path: &str| -> Option<String> {
            let (real, node) = resolve(fs, path).ok()?;
            (node.kind == Kind::File)
                .then(|| fs.kept.get(&real))
                .flatten()
                .map(|b| String::from_utf8_lossy(b).into_owned())
        };
        let cache = match resolve(fs, "/etc/ld.so.cache") {
            Ok((real, node)) if node.kind == Kind::File => match fs.kept.get(&real) {
                Some(bytes) => ldconfig::parse_cache(bytes)
                    .map(Some)
                    .map_err(|e| e.to_string()),
                None => Err("larger than buildproof reads".to_owned()),
            },
            _ => Ok(None),
        };
        let list_dir = |dir: &str| -> Option<Vec<String>> {
            let (real, node) = resolve(fs, dir).ok()?;
            if node.kind != Kind::Dir {
                return None;
            }
            let prefix = format!("{real}/");
            Some(
                fs.nodes
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .map(|(k, _)| &k[prefix.len()..])
                    .filter(|rest| !rest.contains('/'))
                    .map(str::to_owned)
                    .collect(),
            )
        };
        let conf = ldconfig::read_conf("/etc/ld.so.conf", text, list_dir);
        Self { cache, conf }
    }
}

/// One object of the process: the program or a library.
struct Obj<'a> {
    /// The path it was loaded by (`$ORIGIN` is its directory).
    path: String,
    real: String,
    /// `None`: a file buildproof could not parse as ELF (taken as found, its own
    /// libraries unknown).
    info: Option<&'a ElfInfo>,
    /// The object whose `DT_NEEDED` loaded it.
    parent: Option<usize>,
    /// The name it was needed by (the program: its path as run).
    name: String,
}

/// Where a library was looked for.
#[derive(Default)]
struct Search {
    /// What was searched, for the message: "RUNPATH `…`", "`/etc/ld.so.cache`", ….
    places: Vec<String>,
    /// Candidate paths tried (directories resolved), for `image diff`.
    tried: Vec<String>,
    /// Candidates skipped for their class or machine: (path, "ELF32 i386").
    wrong_arch: Vec<(String, String)>,
    /// A search path buildproof cannot expand (`$LIB`, `$PLATFORM`): a miss is not
    /// reported.
    uncertain: bool,
}

/// What the loader searches after the per-object paths.
struct Defaults {
    musl: bool,
    dirs: Vec<String>,
    /// Where `dirs` come from, for the message.
    from: String,
    /// Names the loader itself provides.
    provided: BTreeSet<String>,
}

impl<'a> Ctx<'a> {
    fn loader_files(&self) -> &LoaderFiles {
        self.loader.get_or_init(|| LoaderFiles::read(self.fs))
    }

    /// Every library the program `found` (ELF `main`, loader `interp` whose ELF is
    /// `loader`) needs, transitively, found as the loader finds it.
    pub(super) fn check_libraries(
        &self,
        found: &Found<'_>,
        main: &'a ElfInfo,
        interp: &str,
        loader: Option<&ElfInfo>,
        run: &Run,
        problems: &mut Vec<Problem>,
    ) {
        if main.needed.as_ref().is_none_or(Vec::is_empty) {
            return;
        }
        let defaults = self.defaults(interp, loader, main);
        let mut objs = vec![Obj {
            path: found.real.clone(),
            real: found.real.clone(),
            info: Some(main),
            parent: None,
            name: found.wanted.clone(),
        }];
        let mut loaded: BTreeMap<String, usize> = BTreeMap::new();
        let mut reported = BTreeSet::new();
        let mut i = 0;
        while i < objs.len() {
            let needed = objs[i].info.and_then(|info| info.needed.as_ref());
            for name in needed.into_iter().flatten() {
                if loaded.contains_key(name)
                    || defaults.provided.contains(name)
                    || (defaults.musl && musl_builtin(name))
                {
                    continue;
                }
                let mut search = Search::default();
                match self.find_library(name, &objs, i, main, &defaults, run, &mut search) {
                    Some((path, real, info)) => {
                        if let Some(j) = objs.iter().position(|o| o.real == real) {
                            loaded.insert(name.clone(), j);
                            continue;
                        }
                        if objs.len() >= MAX_OBJECTS {
                            continue;
                        }
                        let j = objs.len();
                        loaded.insert(name.clone(), j);
                        if let Some(soname) = info.and_then(|i| i.soname.as_ref()) {
                            loaded.entry(soname.clone()).or_insert(j);
                        }
                        objs.push(Obj {
                            path,
                            real,
                            info,
                            parent: Some(i),
                            name: name.clone(),
                        });
                    }
                    None if search.uncertain => {}
                    None => {
                        if reported.insert(name.clone()) {
                            problems.push(self.library_problem(name, &objs, i, main, search));
                        }
                    }
                }
            }
            i += 1;
        }
    }

    /// The loader's own directories and names.
    fn defaults(&self, interp: &str, loader: Option<&ElfInfo>, main: &ElfInfo) -> Defaults {
        let name = basename(interp);
        let mut provided: BTreeSet<String> = [name.to_owned()].into();
        if let Some(soname) = loader.and_then(|l| l.soname.clone()) {
            provided.insert(soname);
        }
        if let Some(arch) = name
            .strip_prefix("ld-musl-")
            .and_then(|n| n.strip_suffix(".so.1"))
        {
            let file = format!("/etc/ld-musl-{arch}.path");
            let listed = resolve(self.fs, &file)
                .ok()
                .and_then(|(real, _)| self.fs.kept.get(&real))
                .map(|bytes| {
                    String::from_utf8_lossy(bytes)
                        .split([':', '\n'])
                        .filter(|d| !d.is_empty())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                });
            let (dirs, from) = match listed {
                Some(dirs) => (dirs, format!("listed in `{file}`")),
                None => (
                    ["/lib", "/usr/local/lib", "/usr/lib"]
                        .map(str::to_owned)
                        .to_vec(),
                    "musl's default".to_owned(),
                ),
            };
            return Defaults {
                musl: true,
                dirs,
                from,
                provided,
            };
        }
        let (dirs, from) = match loader.filter(|l| !l.system_dirs.is_empty()) {
            Some(l) => (l.system_dirs.clone(), format!("built into `{interp}`")),
            None => (fallback_dirs(main), "glibc's usual directories".to_owned()),
        };
        Defaults {
            musl: false,
            dirs,
            from,
            provided,
        }
    }

    /// The file the loader takes for `name`, needed by `objs[i]`: (path as found,
    /// real path, its ELF when parsed); `None` when it finds none.
    #[allow(clippy::too_many_arguments)]
    fn find_library(
        &self,
        name: &str,
        objs: &[Obj<'a>],
        i: usize,
        main: &ElfInfo,
        defaults: &Defaults,
        run: &Run,
        search: &mut Search,
    ) -> Option<(String, String, Option<&'a ElfInfo>)> {
        if name.contains('/') {
            let path = absolute(name, &run.cwd);
            search.places.push(format!("`{path}`"));
            return self.try_library(&path, main, search);
        }
        let dir_of = |o: &Obj<'_>| {
            o.path.rsplit_once('/').map_or("/".to_owned(), |(d, _)| {
                if d.is_empty() {
                    "/".to_owned()
                } else {
                    d.to_owned()
                }
            })
        };
        let program_dir = dir_of(&objs[0]);
        let env_dirs: Vec<String> = run
            .env
            .get("LD_LIBRARY_PATH")
            .unwrap_or_default()
            .split([':', ';'])
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect();
        let requester = &objs[i];
        let try_dirs = |what: String,
                        dirs: &[String],
                        origin: &str,
                        search: &mut Search|
         -> Option<(String, String, Option<&'a ElfInfo>)> {
            if dirs.is_empty() {
                return None;
            }
            let expanded: Vec<Option<String>> =
                dirs.iter().map(|d| expand(d, origin, &run.cwd)).collect();
            let written = dirs.join(":");
            let actual = expanded
                .iter()
                .flatten()
                .map(|d| super::lexical([d]))
                .collect::<Vec<_>>()
                .join(":");
            search.places.push(if actual == written {
                format!("{what} `{written}`")
            } else {
                format!("{what} `{written}` (`{actual}`)")
            });
            for dir in expanded {
                let Some(dir) = dir else {
                    search.uncertain = true;
                    continue;
                };
                let path = format!("{}/{name}", dir.trim_end_matches('/'));
                if let Some(hit) = self.try_library(&path, main, search) {
                    return Some(hit);
                }
            }
            None
        };
        if defaults.musl {
            if let Some(hit) = try_dirs("LD_LIBRARY_PATH".into(), &env_dirs, &program_dir, search) {
                return Some(hit);
            }
            let mut at = Some(i);
            while let Some(k) = at {
                let o = &objs[k];
                let paths: Vec<String> = rpath(o).iter().chain(runpath(o)).cloned().collect();
                let what = format!("the search path of `{}`:", o.name);
                if let Some(hit) = try_dirs(what, &paths, &dir_of(o), search) {
                    return Some(hit);
                }
                at = o.parent;
            }
        } else {
            if runpath(requester).is_empty() {
                let mut at = Some(i);
                while let Some(k) = at {
                    let o = &objs[k];
                    if runpath(o).is_empty() {
                        let what = format!("the RPATH of `{}`:", o.name);
                        if let Some(hit) = try_dirs(what, rpath(o), &dir_of(o), search) {
                            return Some(hit);
                        }
                    }
                    at = o.parent;
                }
            }
            if let Some(hit) = try_dirs("LD_LIBRARY_PATH".into(), &env_dirs, &program_dir, search) {
                return Some(hit);
            }
            let what = format!("the RUNPATH of `{}`:", requester.name);
            if let Some(hit) = try_dirs(what, runpath(requester), &dir_of(requester), search) {
                return Some(hit);
            }
            if requester.info.is_some_and(|i| i.nodeflib) {
                return None;
            }
            match &self.loader_files().cache {
                Ok(Some(cache)) => {
                    search.places.push("`/etc/ld.so.cache`".to_owned());
                    let entry = match ldconfig::expected_flags(main.machine, main.wide, main.flags)
                    {
                        Some(flags) => cache.lookup(name, flags),
                        None => cache.entries_for(name).find(|e| e.hwcap == 0),
                    };
                    if let Some(entry) = entry {
                        if let Some(hit) = self.try_library(&entry.path, main, search) {
                            return Some(hit);
                        }
                    }
                }
                Ok(None) => {}
                Err(why) => search
                    .places
                    .push(format!("not `/etc/ld.so.cache` ({why})")),
            }
        }
        if defaults.dirs.is_empty() {
            return None;
        }
        search.places.push(format!(
            "{} ({})",
            defaults
                .dirs
                .iter()
                .map(|d| format!("`{d}`"))
                .collect::<Vec<_>>()
                .join(", "),
            defaults.from
        ));
        for dir in &defaults.dirs {
            let path = format!("{}/{name}", dir.trim_end_matches('/'));
            if let Some(hit) = self.try_library(&path, main, search) {
                return Some(hit);
            }
        }
        None
    }

    /// Whether the loader would take the file at `path`: a regular file of the
    /// program's class and machine. A file that is not parsable ELF is taken (the
    /// doubt goes to the image).
    fn try_library(
        &self,
        path: &str,
        main: &ElfInfo,
        search: &mut Search,
    ) -> Option<(String, String, Option<&'a ElfInfo>)> {
        let tried = physical(self.fs, path);
        if !search.tried.contains(&tried) {
            search.tried.push(tried);
        }
        let (real, node) = resolve(self.fs, path).ok()?;
        if node.kind != Kind::File {
            return None;
        }
        match &node.head {
            Head::Elf(info) if !info.same_arch(main) => {
                search.wrong_arch.push((real, info.arch()));
                None
            }
            Head::Elf(info) => Some((path.to_owned(), real, Some(info))),
            _ => Some((path.to_owned(), real, None)),
        }
    }

    /// A usable file named `name` outside the places the loader looked.
    fn elsewhere(&self, name: &str, main: &ElfInfo, tried: &[String]) -> Option<String> {
        let names = self.names.get_or_init(|| {
            let mut names: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (path, node) in &self.fs.nodes {
                if node.kind != Kind::Dir {
                    names.entry(basename(path)).or_default().push(path);
                }
            }
            names
        });
        names.get(name)?.iter().find_map(|path| {
            if tried.iter().any(|t| t == path) {
                return None;
            }
            let (_, node) = resolve(self.fs, path).ok()?;
            let usable = node.kind == Kind::File
                && match &node.head {
                    Head::Elf(info) => info.same_arch(main),
                    _ => true,
                };
            usable.then(|| (*path).to_owned())
        })
    }

    /// The finding for a library not found: the chain that needs it, where the
    /// loader looked, and whether (and where) the image has it anyway.
    fn library_problem(
        &self,
        name: &str,
        objs: &[Obj<'_>],
        i: usize,
        main: &ElfInfo,
        search: Search,
    ) -> Problem {
        let mut chain = Vec::new();
        let mut at = Some(i);
        while let Some(k) = at {
            chain.push(k);
            at = objs[k].parent;
        }
        chain.reverse();
        let shown = chain
            .iter()
            .map(|&k| format!("`{}`", objs[k].name))
            .collect::<Vec<_>>()
            .join(" → ");
        let needed_by = chain.iter().map(|&k| objs[k].path.clone()).collect();
        let places = search.places.join(", ");
        let elsewhere = self.elsewhere(name, main, &search.tried);
        let message = match &elsewhere {
            None => {
                let mut m = format!("{shown} → needs `{name}`, which is not in the image");
                if let Some((path, arch)) = search.wrong_arch.first() {
                    m = format!(
                        "{shown} → needs `{name}`, which is not in the image as {} (`{path}` is {arch})",
                        main.arch()
                    );
                }
                if let Some(layer) = self.removed_in(search.tried.iter().map(String::as_str)) {
                    m.push_str(&format!(" (removed in layer {layer})"));
                }
                format!("{m}; the loader looked in {places}")
            }
            Some(path) => {
                let mut m = format!(
                    "{shown} → needs `{name}`, which is in the image only at `{path}`, outside where the loader looks ({places})"
                );
                if let Some(hint) = self.conf_hint(path, name) {
                    m.push_str(&format!("; {hint}"));
                }
                m
            }
        };
        Problem::new(
            ProblemKind::LibraryMissing {
                library: name.to_owned(),
                needed_by,
                elsewhere,
            },
            name,
            message,
        )
        .with_files(search.tried)
    }

    /// When `path`'s directory is listed in `/etc/ld.so.conf` (or a file it
    /// includes), the cache is what lacks it: `ldconfig` has not run since.
    fn conf_hint(&self, path: &str, name: &str) -> Option<String> {
        let dir = path.rsplit_once('/')?.0;
        let real_dir = resolve(self.fs, dir).ok()?.0;
        let listed = self
            .loader_files()
            .conf
            .dirs
            .iter()
            .find(|d| resolve(self.fs, &d.path).is_ok_and(|(real, _)| real == real_dir))?;
        Some(format!(
            "`{}` is listed in `{}` (line {}), but `/etc/ld.so.cache` has no `{name}` from it: \
             `ldconfig` has not run since the library was installed",
            listed.path, listed.file, listed.line
        ))
    }
}

fn rpath<'o>(o: &'o Obj<'_>) -> &'o [String] {
    o.info.map_or(&[], |i| &i.rpath)
}

fn runpath<'o>(o: &'o Obj<'_>) -> &'o [String] {
    o.info.map_or(&[], |i| &i.runpath)
}

/// A search path with `$ORIGIN` expanded; relative entries are relative to the
/// working dir, as `ld.so` takes them. `None` for `$LIB`, `$PLATFORM` and other
/// tokens buildproof does not expand.
fn expand(dir: &str, origin: &str, cwd: &str) -> Option<String> {
    let d = dir.replace("${ORIGIN}", origin).replace("$ORIGIN", origin);
    if d.contains('$') {
        return None;
    }
    Some(absolute(&d, cwd))
}

/// Names musl's loader answers itself: it is the C library, and `libpthread`,
/// `libm`, `libdl`, `librt`, `libutil`, `libxnet`, `libcrypt` are part of it.
fn musl_builtin(name: &str) -> bool {
    const RESERVED: [&str; 8] = ["c", "pthread", "rt", "m", "dl", "util", "xnet", "crypt"];
    name.strip_prefix("lib")
        .and_then(|rest| rest.split_once(".so"))
        .is_some_and(|(stem, after)| {
            RESERVED.contains(&stem) && (after.is_empty() || after.starts_with('.'))
        })
        || name.starts_with("libc.musl-")
}

/// The directories a glibc loader whose own list could not be read searches: the
/// multiarch pair, the lib64 pair for 64-bit, and `/lib`, `/usr/lib`. Generous, so
/// a miss is a miss everywhere a distribution's loader may look.
fn fallback_dirs(main: &ElfInfo) -> Vec<String> {
    let triplet = match (main.machine, main.wide) {
        (62, true) => Some("x86_64-linux-gnu"),
        (62, false) => Some("x86_64-linux-gnux32"),
        (3, false) => Some("i386-linux-gnu"),
        (183, true) => Some("aarch64-linux-gnu"),
        (40, false) if main.flags & 0x400 != 0 => Some("arm-linux-gnueabihf"),
        (40, false) => Some("arm-linux-gnueabi"),
        (21, true) => Some("powerpc64le-linux-gnu"),
        (22, true) => Some("s390x-linux-gnu"),
        (243, true) => Some("riscv64-linux-gnu"),
        _ => None,
    };
    let mut dirs = Vec::new();
    if let Some(t) = triplet {
        dirs.push(format!("/lib/{t}"));
        dirs.push(format!("/usr/lib/{t}"));
    }
    if main.wide {
        dirs.push("/lib64".to_owned());
        dirs.push("/usr/lib64".to_owned());
    }
    dirs.push("/lib".to_owned());
    dirs.push("/usr/lib".to_owned());
    dirs
}
