//! Unit tests of startup verification on hand-made merged filesystems and layers.

use super::*;
use crate::image::elf::ElfInfo;

fn node(kind: Kind, mode: u32, target: Option<&str>, head: Head) -> Node {
    Node {
        layer: 1,
        kind,
        mode,
        uid: 0,
        gid: 0,
        size: 0,
        target: target.map(str::to_owned),
        digest: None,
        head,
    }
}

fn fs(entries: &[(&str, Node)]) -> MergedFs {
    let mut fs = MergedFs::default();
    for (p, n) in entries {
        fs.nodes.insert((*p).to_owned(), n.clone());
    }
    fs
}

fn elf() -> Head {
    Head::Elf(ElfInfo {
        needed: Some(Vec::new()),
        ..ElfInfo::default()
    })
}

#[test]
fn resolve_table() {
    let d = || node(Kind::Dir, 0o755, None, Head::Other);
    let l = |t: &str| node(Kind::Symlink, 0o777, Some(t), Head::Other);
    let f = || node(Kind::File, 0o755, None, elf());
    let fs = fs(&[
        ("/bin", d()),
        ("/bin/app", f()),
        ("/up", l("../../../bin/app")),
        ("/abs", l("/bin/app")),
        ("/dirlink", l("bin")),
        ("/loop1", l("/loop2")),
        ("/loop2", l("loop1")),
        ("/self", l("self/x")),
    ]);
    let cases: &[(&str, Result<&str, &str>)] = &[
        ("/bin/app", Ok("/bin/app")),
        ("/up", Ok("/bin/app")),
        ("/abs", Ok("/bin/app")),
        ("/dirlink/app", Ok("/bin/app")),
        ("/bin/../bin/./app", Ok("/bin/app")),
        ("/bin/app/x", Err("is not a directory")),
        ("/nope", Err("does not exist")),
        ("/loop1", Err("loop")),
        ("/self", Err("symbolic link")),
    ];
    for (input, want) in cases {
        match (resolve(&fs, input), want) {
            (Ok((real, _)), Ok(w)) => assert_eq!(real, *w, "{input}"),
            (Err(e), Err(w)) => assert!(e.message.contains(w), "{input}: {e:?}"),
            (got, _) => panic!("{input}: {got:?}"),
        }
    }
}

#[test]
fn users_and_groups() {
    let f = || node(Kind::File, 0o644, None, Head::Other);
    let mut fs = fs(&[
        ("/etc", node(Kind::Dir, 0o755, None, Head::Other)),
        ("/etc/passwd", f()),
        ("/etc/group", f()),
    ]);
    fs.kept.insert(
        "/etc/passwd".into(),
        b"root:x:0:0::/:/bin/sh\napp:x:1000:1001::/:/bin/sh\n".to_vec(),
    );
    fs.kept.insert(
        "/etc/group".into(),
        b"app:x:1001:\nextra:x:2000:app\n".to_vec(),
    );
    let c = creds_of("app", &fs, None).unwrap();
    assert_eq!((c.uid, c.gid), (1000, 1001));
    assert!(c.groups.contains(&2000));
    let c = creds_of("1000:extra", &fs, None).unwrap();
    assert_eq!((c.uid, c.gid), (1000, 2000));
    let c = creds_of("4242", &fs, None).unwrap();
    assert_eq!((c.uid, c.gid), (4242, 0));
    assert!(
        creds_of("ghost", &fs, None)
            .unwrap_err()
            .message
            .contains("`ghost`")
    );
    assert!(
        creds_of("app:ghosts", &fs, None)
            .unwrap_err()
            .message
            .contains("group `ghosts`")
    );
    assert!(
        creds_of("x", &MergedFs::default(), None)
            .unwrap_err()
            .message
            .contains("no /etc/passwd")
    );
}

#[test]
fn nothing_to_start_is_broken() {
    let problems = verify(&Startup::default(), &MergedFs::default());
    assert_eq!(problems.len(), 1);
    assert!(problems[0].message.contains("neither entrypoint nor cmd"));
}

/// A tar entry for [`layered`]: (name, kind, data or link target, mode).
type Entry<'a> = (&'a str, tar::EntryType, &'a [u8], u32);

fn tar_of(entries: &[Entry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for &(name, kind, data, mode) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        let link = kind == tar::EntryType::Symlink || kind == tar::EntryType::Link;
        if link {
            h.set_link_name(std::str::from_utf8(data).unwrap()).unwrap();
            h.set_size(0);
        } else {
            h.set_size(data.len() as u64);
        }
        // Raw name: absolute names are written as a producer would.
        let raw = &mut h.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, if link { &[][..] } else { data }).unwrap();
    }
    b.into_inner().unwrap()
}

/// The merged filesystem of these layers, read as an image's layers are.
fn layered(layers: &[&[Entry]]) -> MergedFs {
    let mut fs = MergedFs::default();
    for entries in layers {
        let tar = tar_of(entries);
        let d = crate::digest::Digest::of(&tar);
        crate::image::layers::apply_layer(
            &mut fs,
            &tar[..],
            "application/vnd.oci.image.layer.v1.tar",
            tar.len() as u64,
            None,
            d,
            crate::image::layers::Options::default(),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    }
    fs
}

const REG: tar::EntryType = tar::EntryType::Regular;
const DIR: tar::EntryType = tar::EntryType::Directory;
const SYM: tar::EntryType = tar::EntryType::Symlink;
const HARD: tar::EntryType = tar::EntryType::Link;
const PASSWD: &[u8] = b"root:x:0:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n";
const ROOT_ONLY: &[u8] = b"root:x:0:0::/:/bin/sh\n";

fn tiny_elf() -> Vec<u8> {
    let mut h = b"\x7fELF\x02\x01\x01".to_vec();
    h.resize(64, 0);
    h
}

fn run_as(fs: &MergedFs, user: &str, argv: &[&str]) -> Vec<Problem> {
    let s = Startup {
        entrypoint: Some(argv.iter().map(|a| (*a).to_owned()).collect()),
        user: (!user.is_empty()).then(|| user.to_owned()),
        ..Startup::default()
    };
    verify(&s, fs)
}

fn base() -> Vec<(String, tar::EntryType, Vec<u8>, u32)> {
    vec![
        ("bin/".into(), DIR, Vec::new(), 0o755),
        ("bin/sh".into(), REG, tiny_elf(), 0o755),
        ("etc/".into(), DIR, Vec::new(), 0o755),
        ("etc/passwd".into(), REG, PASSWD.to_vec(), 0o644),
    ]
}

fn with_base(extra: &[Entry]) -> MergedFs {
    let b = base();
    let lower: Vec<Entry> = b
        .iter()
        .map(|(n, k, d, m)| (n.as_str(), *k, d.as_slice(), *m))
        .collect();
    layered(&[&lower, extra])
}

// podman: `unable to find user app` for each of these upper layers.
#[test]
fn deleted_or_replaced_passwd_is_not_used() {
    let cases: &[(&str, &[Entry])] = &[
        (
            "opaque /etc",
            &[
                ("etc/", DIR, b"", 0o755),
                ("etc/.wh..wh..opq", REG, b"", 0),
                ("etc/hostname", REG, b"x\n", 0o644),
            ],
        ),
        ("whiteout of /etc", &[(".wh.etc", REG, b"", 0)]),
        (
            "symlink replacing /etc/passwd",
            &[
                ("etc/root-only", REG, ROOT_ONLY, 0o644),
                ("etc/passwd", SYM, b"root-only", 0o777),
            ],
        ),
        (
            "replaced twice in one layer",
            &[
                ("etc/passwd", REG, PASSWD, 0o644),
                ("etc/passwd", SYM, b"root-only", 0o777),
                ("etc/root-only", REG, ROOT_ONLY, 0o644),
            ],
        ),
        (
            "directory replacing /etc/passwd",
            &[("etc/passwd/", DIR, b"", 0o755)],
        ),
    ];
    for (what, upper) in cases {
        let fs = with_base(upper);
        let problems = run_as(&fs, "app", &["/bin/sh"]);
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("user `app` does not exist")),
            "{what}: {problems:?}"
        );
    }
    // Untouched, the user exists.
    assert_eq!(run_as(&with_base(&[]), "app", &["/bin/sh"]), []);
}

#[test]
fn linked_passwd_resolves_to_its_content() {
    let cases: &[(&str, &[Entry])] = &[
        (
            "hardlink in the same layer",
            &[
                ("etc/passwd.real", REG, PASSWD, 0o644),
                ("etc/passwd", HARD, b"etc/passwd.real", 0o644),
            ],
        ),
        (
            "relative symlink",
            &[
                ("usr/", DIR, b"", 0o755),
                ("usr/passwd", REG, PASSWD, 0o644),
                ("etc/passwd", SYM, b"../usr/passwd", 0o777),
            ],
        ),
        (
            "absolute symlink, target after the link",
            &[
                ("etc/passwd", SYM, b"/usr/passwd", 0o777),
                ("usr/passwd", REG, PASSWD, 0o644),
            ],
        ),
    ];
    for (what, layer) in cases {
        let fs = layered(&[&[("bin/sh", REG, &tiny_elf(), 0o755)], layer]);
        assert_eq!(run_as(&fs, "app", &["/bin/sh"]), [], "{what}");
    }
    // A hardlink to a lower layer's file.
    let fs = layered(&[
        &[
            ("bin/sh", REG, &tiny_elf(), 0o755),
            ("etc/passwd.real", REG, PASSWD, 0o644),
        ],
        &[("etc/passwd", HARD, b"etc/passwd.real", 0o644)],
    ]);
    assert_eq!(run_as(&fs, "app", &["/bin/sh"]), [], "lower hardlink");
}

// podman: the absolute-named busybox starts.
#[test]
fn absolute_entry_names_apply_under_the_root() {
    let fs = layered(&[&[
        ("/bin/busybox", REG, &tiny_elf(), 0o755),
        ("../../escape", REG, b"x", 0o755),
    ]]);
    assert_eq!(run_as(&fs, "", &["/bin/busybox"]), []);
    assert_eq!(fs.rejected.len(), 1, "{:?}", fs.rejected);
    assert!(!fs.nodes.contains_key("/escape"));
}

#[test]
fn empty_entrypoint_clears_it() {
    let fs = with_base(&[]);
    let s = Startup {
        entrypoint: Some(vec![String::new()]),
        cmd: Some(vec!["/bin/sh".into()]),
        ..Startup::default()
    };
    assert_eq!(verify(&s, &fs), []);
    let s = Startup {
        entrypoint: Some(vec![String::new()]),
        cmd: Some(vec!["/nope".into()]),
        ..Startup::default()
    };
    assert!(
        verify(&s, &fs)[0]
            .message
            .contains("`/nope` does not exist")
    );
}

#[test]
fn shell_words_are_not_commands() {
    let fs = with_base(&[]);
    for script in [
        "until test -e /tmp/ready; do sleep 1; done; exec /bin/sh",
        "unset HOME && exec /bin/sh",
        "pwd && exec /bin/sh",
        "while true; do sleep 1; done",
        "! false",
        "{ echo; }",
        "local x=1",
        "getopts ab x",
        "hash sh",
        "kill -0 1",
        "[[ -e /x ]] && echo",
        "function f { :; }",
        "time sleep 1",
    ] {
        assert_eq!(run_as(&fs, "", &["/bin/sh", "-c", script]), [], "{script}");
    }
}

fn with_scripts(scripts: &[(&str, &[u8])]) -> MergedFs {
    let entries: Vec<Entry> = scripts
        .iter()
        .map(|(name, body)| (*name, REG, *body, 0o755))
        .collect();
    with_base(&entries)
}

// podman: `exec /app/run: no such file or directory` for both.
#[test]
fn crlf_shebang_and_env_programs() {
    let fs = with_scripts(&[
        ("app/crlf", b"#!/bin/sh\r\necho\r\n"),
        ("app/py", b"#!/usr/bin/env python3\nprint()\n"),
        ("app/split", b"#!/usr/bin/env -S python3 -u\nprint()\n"),
        ("app/ok", b"#!/usr/bin/env sh\necho\n"),
        ("app/envcrlf", b"#!/usr/bin/env sh\r\necho\r\n"),
        ("app/oksplit", b"#!/usr/bin/env -S -i sh -e\necho\n"),
        ("usr/bin/env", &tiny_elf()),
    ]);
    let p = run_as(&fs, "", &["/app/crlf"]);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].message.contains("\\r") && p[0].message.contains("Windows"),
        "{p:?}"
    );
    for script in ["/app/py", "/app/split"] {
        let p = run_as(&fs, "", &[script]);
        assert_eq!(p.len(), 1, "{script}: {p:?}");
        assert!(
            p[0].message.contains("`python3` is not found in PATH"),
            "{p:?}"
        );
    }
    let p = run_as(&fs, "", &["/app/envcrlf"]);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].message.contains("Windows line endings"), "{p:?}");
    assert_eq!(run_as(&fs, "", &["/app/ok"]), []);
    assert_eq!(run_as(&fs, "", &["/app/oksplit"]), []);
}

// podman: five chained scripts start; six fail with ELOOP.
#[test]
fn five_chained_scripts_start_six_do_not() {
    let fs = with_scripts(&[
        ("app/s1", b"#!/app/s2\n"),
        ("app/s2", b"#!/app/s3\n"),
        ("app/s3", b"#!/app/s4\n"),
        ("app/s4", b"#!/app/s5\n"),
        ("app/s5", b"#!/app/s6\n"),
        ("app/s6", b"#!/bin/sh\n"),
    ]);
    assert_eq!(run_as(&fs, "", &["/app/s2"]), []);
    let p = run_as(&fs, "", &["/app/s1"]);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].message.contains("too many levels"), "{p:?}");
    assert_eq!(p[0].kind, ProblemKind::InterpreterDepth, "{p:?}");
}

// podman (runc): `exec: "tool": permission denied` — runc takes /usr/bin/tool
// (mode 0700, root's) before /bin/tool.
#[test]
fn path_search_takes_the_first_file_with_an_execute_bit() {
    let fs = with_base(&[
        ("usr/bin/tool", REG, &tiny_elf(), 0o700),
        ("bin/tool", REG, &tiny_elf(), 0o755),
    ]);
    let p = run_as(&fs, "1000", &["tool"]);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].message
            .contains("`/usr/bin/tool` is not executable by uid 1000"),
        "{p:?}"
    );
}

/// A minimal ELF64 little-endian shared object or executable: `PT_INTERP` (when
/// given), `PT_DYNAMIC` with `DT_NEEDED`, `DT_SONAME`, `DT_RUNPATH`, one `PT_LOAD`
/// over the whole file; `extra` bytes appended (a loader's built-in directories).
struct ElfSpec<'a> {
    machine: u16,
    interp: Option<&'a str>,
    needed: &'a [&'a str],
    soname: Option<&'a str>,
    runpath: Option<&'a str>,
    extra: &'a [u8],
}

const X86_64: u16 = 62;

impl Default for ElfSpec<'_> {
    fn default() -> Self {
        Self {
            machine: X86_64,
            interp: None,
            needed: &[],
            soname: None,
            runpath: None,
            extra: &[],
        }
    }
}

fn elf_of(spec: &ElfSpec<'_>) -> Vec<u8> {
    const PHDR: usize = 56;
    let phnum = if spec.interp.is_some() { 3 } else { 2 };
    let data_at = 64 + PHDR * phnum;
    // Strings: offset 0 is the empty string.
    let mut strtab = vec![0u8];
    let mut add = |s: &str| {
        let at = strtab.len() as u64;
        strtab.extend_from_slice(s.as_bytes());
        strtab.push(0);
        at
    };
    let mut dynamic: Vec<(u64, u64)> = spec.needed.iter().map(|n| (1, add(n))).collect();
    if let Some(s) = spec.soname {
        dynamic.push((14, add(s)));
    }
    if let Some(r) = spec.runpath {
        dynamic.push((29, add(r)));
    }
    let interp_at = data_at;
    let interp = spec.interp.map(|i| format!("{i}\0")).unwrap_or_default();
    let strtab_at = interp_at + interp.len();
    let dyn_at = (strtab_at + strtab.len()).next_multiple_of(8);
    dynamic.push((5, strtab_at as u64));
    dynamic.push((0, 0));
    let mut out = vec![0u8; dyn_at + dynamic.len() * 16];
    out[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    out[16..18].copy_from_slice(&3u16.to_le_bytes());
    out[0x12..0x14].copy_from_slice(&spec.machine.to_le_bytes());
    out[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
    out[0x36..0x38].copy_from_slice(&(PHDR as u16).to_le_bytes());
    out[0x38..0x3a].copy_from_slice(&(phnum as u16).to_le_bytes());
    let total = (out.len() + spec.extra.len()) as u64;
    let mut phdrs: Vec<(u32, u64, u64)> = vec![(1, 0, total)];
    phdrs.push((2, dyn_at as u64, (dynamic.len() * 16) as u64));
    if spec.interp.is_some() {
        phdrs.push((3, interp_at as u64, interp.len() as u64));
    }
    for (k, (kind, offset, size)) in phdrs.into_iter().enumerate() {
        let at = 64 + k * PHDR;
        out[at..at + 4].copy_from_slice(&kind.to_le_bytes());
        out[at + 8..at + 16].copy_from_slice(&offset.to_le_bytes());
        out[at + 16..at + 24].copy_from_slice(&offset.to_le_bytes());
        out[at + 32..at + 40].copy_from_slice(&size.to_le_bytes());
        out[at + 40..at + 48].copy_from_slice(&size.to_le_bytes());
    }
    out[interp_at..interp_at + interp.len()].copy_from_slice(interp.as_bytes());
    out[strtab_at..strtab_at + strtab.len()].copy_from_slice(&strtab);
    for (k, (tag, val)) in dynamic.iter().enumerate() {
        let at = dyn_at + k * 16;
        out[at..at + 8].copy_from_slice(&tag.to_le_bytes());
        out[at + 8..at + 16].copy_from_slice(&val.to_le_bytes());
    }
    out.extend_from_slice(spec.extra);
    out
}

/// An ELF32 i386 file (no segments): a library of the wrong class.
fn elf32() -> Vec<u8> {
    let mut h = b"\x7fELF\x01\x01\x01".to_vec();
    h.resize(52, 0);
    h[0x12..0x14].copy_from_slice(&3u16.to_le_bytes());
    h
}

const LOADER: &str = "/lib64/ld-linux-x86-64.so.2";
const DEBIAN_DIRS: &[u8] =
    b"\0/lib/x86_64-linux-gnu/\0/usr/lib/x86_64-linux-gnu/\0/lib/\0/usr/lib/\0";

/// Owned tar entries, borrowed as [`Entry`] for [`layered`].
type Owned = Vec<(String, tar::EntryType, Vec<u8>, u32)>;

fn entries(owned: &Owned) -> Vec<Entry<'_>> {
    owned
        .iter()
        .map(|(n, k, d, m)| (n.as_str(), *k, d.as_slice(), *m))
        .collect()
}

/// A merged-/usr Debian-like base: the loader (with Debian's built-in directories),
/// libc, `/etc/passwd` with `nobody`, `/bin/sh`.
fn debian_base() -> Owned {
    let loader = elf_of(&ElfSpec {
        soname: Some("ld-linux-x86-64.so.2"),
        extra: DEBIAN_DIRS,
        ..ElfSpec::default()
    });
    let libc = elf_of(&ElfSpec {
        soname: Some("libc.so.6"),
        needed: &["ld-linux-x86-64.so.2"],
        ..ElfSpec::default()
    });
    let sh = elf_of(&ElfSpec {
        interp: Some(LOADER),
        needed: &["libc.so.6"],
        ..ElfSpec::default()
    });
    let passwd =
        b"root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n";
    let group = b"root:x:0:\nnogroup:x:65534:\napp:x:1000:\nstaff:x:50:app\n";
    let lib = "usr/lib/x86_64-linux-gnu";
    vec![
        ("usr/".into(), DIR, Vec::new(), 0o755),
        ("usr/bin/".into(), DIR, Vec::new(), 0o755),
        ("usr/lib64/".into(), DIR, Vec::new(), 0o755),
        (format!("{lib}/"), DIR, Vec::new(), 0o755),
        ("bin".into(), SYM, b"usr/bin".to_vec(), 0o777),
        ("lib".into(), SYM, b"usr/lib".to_vec(), 0o777),
        ("lib64".into(), SYM, b"usr/lib64".to_vec(), 0o777),
        (format!("{lib}/ld-linux-x86-64.so.2"), REG, loader, 0o755),
        (
            "usr/lib64/ld-linux-x86-64.so.2".into(),
            SYM,
            b"/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2".to_vec(),
            0o777,
        ),
        (format!("{lib}/libc.so.6"), REG, libc, 0o755),
        ("usr/bin/sh".into(), REG, sh, 0o755),
        ("etc/".into(), DIR, Vec::new(), 0o755),
        ("etc/passwd".into(), REG, passwd.to_vec(), 0o644),
        ("etc/group".into(), REG, group.to_vec(), 0o644),
    ]
}

/// The base plus `more` in one layer, then `upper` layers.
fn debian(more: Owned, upper: &[Owned]) -> MergedFs {
    let mut first = debian_base();
    first.extend(more);
    let first = entries(&first);
    let uppers: Vec<Vec<Entry<'_>>> = upper.iter().map(entries).collect();
    let mut all: Vec<&[Entry<'_>]> = vec![&first];
    all.extend(uppers.iter().map(Vec::as_slice));
    layered(&all)
}

fn program(needed: &[&str], runpath: Option<&str>) -> Vec<u8> {
    elf_of(&ElfSpec {
        interp: Some(LOADER),
        needed,
        runpath,
        ..ElfSpec::default()
    })
}

fn library(soname: &str, needed: &[&str]) -> Vec<u8> {
    elf_of(&ElfSpec {
        soname: Some(soname),
        needed,
        ..ElfSpec::default()
    })
}

fn file(path: &str, data: Vec<u8>, mode: u32) -> (String, tar::EntryType, Vec<u8>, u32) {
    (path.to_owned(), REG, data, mode)
}

fn kinds(problems: &[Problem]) -> Vec<&'static str> {
    problems.iter().map(|p| p.kind.id()).collect()
}

// podman (testdata/debian broken-node-no-libicuuc): `node: error while loading
// shared libraries: libicuuc.so.72: cannot open shared object file`.
#[test]
fn a_library_of_a_library_removed_by_a_later_layer() {
    let lib = "usr/lib/x86_64-linux-gnu";
    let fs = debian(
        vec![
            file(
                "usr/bin/node",
                program(&["libnode.so.108", "libc.so.6"], None),
                0o755,
            ),
            file(
                &format!("{lib}/libnode.so.108"),
                library("libnode.so.108", &["libicuuc.so.72", "libc.so.6"]),
                0o644,
            ),
            file(
                &format!("{lib}/libicuuc.so.72"),
                library("libicuuc.so.72", &[]),
                0o644,
            ),
        ],
        &[vec![(
            format!("{lib}/.wh.libicuuc.so.72"),
            REG,
            Vec::new(),
            0,
        )]],
    );
    let p = run_as(&fs, "", &["node"]);
    assert_eq!(kinds(&p), ["library-missing"], "{p:?}");
    let ProblemKind::LibraryMissing {
        library: name,
        needed_by,
        elsewhere,
    } = &p[0].kind
    else {
        unreachable!()
    };
    assert_eq!(name, "libicuuc.so.72");
    assert_eq!(
        needed_by,
        &["/usr/bin/node", "/lib/x86_64-linux-gnu/libnode.so.108"]
    );
    assert_eq!(*elsewhere, None);
    let m = &p[0].message;
    assert!(
        m.contains("`/usr/bin/node` → `libnode.so.108` → needs `libicuuc.so.72`, which is not in the image (removed in layer 2)"),
        "{m}"
    );
    assert!(
        m.contains("`/lib/x86_64-linux-gnu`, `/usr/lib/x86_64-linux-gnu`, `/lib`, `/usr/lib` (built into `/lib64/ld-linux-x86-64.so.2`)"),
        "{m}"
    );
    assert!(
        p[0].files.contains(&format!("/{lib}/libicuuc.so.72")),
        "{:?}",
        p[0].files
    );
    // Untouched, it starts; libc needs the loader, which is loaded already.
    let fs = debian(
        vec![
            file("usr/bin/node", program(&["libnode.so.108"], None), 0o755),
            file(
                &format!("{lib}/libnode.so.108"),
                library("libnode.so.108", &["libc.so.6"]),
                0o644,
            ),
        ],
        &[],
    );
    assert_eq!(run_as(&fs, "", &["node"]), []);
}

// podman (testdata/debian ok-ldconf-ldconfig / broken-ldconf-no-ldconfig): the
// library registered in ld.so.conf.d starts only once `ldconfig` has cached it.
#[test]
fn the_cache_finds_what_ldconfig_registered() {
    let cache = include_bytes!("../../../testdata/ldcache/new.cache").to_vec();
    let greet = || {
        file(
            "opt/greet/lib/libgreet.so.1",
            library("libgreet.so.1", &[]),
            0o644,
        )
    };
    let app = || file("usr/bin/greet", program(&["libgreet.so.1"], None), 0o755);
    let conf = || {
        vec![
            file(
                "etc/ld.so.conf",
                b"include /etc/ld.so.conf.d/*.conf\n".to_vec(),
                0o644,
            ),
            file(
                "etc/ld.so.conf.d/greet.conf",
                b"# greet\n/opt/greet/lib\n".to_vec(),
                0o644,
            ),
        ]
    };
    let mut with_cache = conf();
    with_cache.extend([greet(), app(), file("etc/ld.so.cache", cache, 0o644)]);
    assert_eq!(run_as(&debian(with_cache, &[]), "", &["greet"]), []);
    let mut without = conf();
    without.extend([greet(), app()]);
    let p = run_as(&debian(without, &[]), "", &["greet"]);
    assert_eq!(kinds(&p), ["library-missing"], "{p:?}");
    assert!(
        matches!(&p[0].kind, ProblemKind::LibraryMissing { elsewhere: Some(e), .. } if e == "/opt/greet/lib/libgreet.so.1")
    );
    assert!(
        p[0].message
            .contains("`/opt/greet/lib` is listed in `/etc/ld.so.conf.d/greet.conf` (line 2)"),
        "{}",
        p[0].message
    );
    // LD_LIBRARY_PATH in the image's environment finds it; `env -i` clears it.
    let mut without = conf();
    without.extend([greet(), app()]);
    let fs = debian(without, &[]);
    let env_file = elf_of(&ElfSpec {
        interp: Some(LOADER),
        needed: &["libc.so.6"],
        ..ElfSpec::default()
    });
    let mut more = conf();
    more.extend([greet(), app(), file("usr/bin/env", env_file, 0o755)]);
    let fs_env = debian(more, &[]);
    let s = |argv: &[&str]| Startup {
        entrypoint: Some(argv.iter().map(|a| (*a).to_owned()).collect()),
        env: Some(vec!["LD_LIBRARY_PATH=/opt/greet/lib".to_owned()]),
        ..Startup::default()
    };
    assert_eq!(verify(&s(&["greet"]), &fs), []);
    assert_eq!(verify(&s(&["env", "greet"]), &fs_env), []);
    let p = verify(&s(&["env", "-i", "greet"]), &fs_env);
    assert_eq!(kinds(&p), ["library-missing"], "{p:?}");
    assert!(
        p[0].message.starts_with("`env` runs `greet`: "),
        "{}",
        p[0].message
    );
}

// podman (testdata/debian ok-runpath-origin / broken-runpath-origin-missing).
#[test]
fn runpath_with_origin() {
    let app = || {
        file(
            "app/bin/app",
            program(&["libgreet.so.1"], Some("$ORIGIN/../lib")),
            0o755,
        )
    };
    let greet = |at: &str| file(at, library("libgreet.so.1", &[]), 0o644);
    let ok = debian(vec![app(), greet("app/lib/libgreet.so.1")], &[]);
    assert_eq!(run_as(&ok, "", &["/app/bin/app"]), []);
    let beside = debian(vec![app(), greet("app/bin/libgreet.so.1")], &[]);
    let p = run_as(&beside, "", &["/app/bin/app"]);
    assert_eq!(kinds(&p), ["library-missing"], "{p:?}");
    assert!(
        p[0].message
            .contains("the RUNPATH of `/app/bin/app`: `$ORIGIN/../lib` (`/app/lib`)"),
        "{}",
        p[0].message
    );
    assert!(
        matches!(&p[0].kind, ProblemKind::LibraryMissing { elsewhere: Some(e), .. } if e == "/app/bin/libgreet.so.1")
    );
}

#[test]
fn libraries_and_loaders_of_another_architecture_do_not_count() {
    let lib = "usr/lib/x86_64-linux-gnu";
    // Only a 32-bit libz: ld.so skips it, and so does LD_LIBRARY_PATH: an error.
    let fs = debian(
        vec![
            file("usr/bin/app", program(&["libz.so.1"], None), 0o755),
            file(&format!("{lib}/libz.so.1"), elf32(), 0o644),
        ],
        &[],
    );
    let p = run_as(&fs, "", &["/usr/bin/app"]);
    assert_eq!(kinds(&p), ["library-missing"], "{p:?}");
    assert!(matches!(
        &p[0].kind,
        ProblemKind::LibraryMissing {
            elsewhere: None,
            ..
        }
    ));
    assert!(
        p[0].message.contains(
            "not in the image as ELF64 x86-64 (`/usr/lib/x86_64-linux-gnu/libz.so.1` is ELF32 i386)"
        ),
        "{}",
        p[0].message
    );
    // An AArch64 program whose loader path holds the x86-64 loader.
    let arm = elf_of(&ElfSpec {
        machine: 183,
        interp: Some(LOADER),
        ..ElfSpec::default()
    });
    let fs = debian(vec![file("usr/bin/arm", arm, 0o755)], &[]);
    let p = run_as(&fs, "", &["/usr/bin/arm"]);
    assert_eq!(kinds(&p), ["loader-mismatch"], "{p:?}");
    assert!(
        p[0].message
            .contains("is ELF64 x86-64, the program is ELF64 AArch64"),
        "{}",
        p[0].message
    );
}

#[test]
fn musl_finds_its_own_libc_and_its_default_dirs() {
    let musl = "/lib/ld-musl-x86_64.so.1";
    let fs = layered(&[&[
        ("lib/", DIR, b"", 0o755),
        (
            "lib/ld-musl-x86_64.so.1",
            REG,
            &library("libc.musl-x86_64.so.1", &[]),
            0o755,
        ),
        (
            "usr/lib/libssl.so.3",
            REG,
            &library("libssl.so.3", &["libc.musl-x86_64.so.1"]),
            0o644,
        ),
        (
            "bin/app",
            REG,
            &elf_of(&ElfSpec {
                interp: Some(musl),
                needed: &["libssl.so.3", "libc.musl-x86_64.so.1", "libpthread.so.0"],
                ..ElfSpec::default()
            }),
            0o755,
        ),
        (
            "bin/bad",
            REG,
            &elf_of(&ElfSpec {
                interp: Some(musl),
                needed: &["libgone.so.1"],
                ..ElfSpec::default()
            }),
            0o755,
        ),
    ]]);
    assert_eq!(run_as(&fs, "", &["/bin/app"]), []);
    let p = run_as(&fs, "", &["/bin/bad"]);
    assert_eq!(kinds(&p), ["library-missing"], "{p:?}");
    assert!(
        p[0].message.contains("(musl's default)"),
        "{}",
        p[0].message
    );
}

const SCRIPT: &[u8] = b"#!/bin/sh\necho started\n";

// podman (testdata/debian broken-script-0711-nobody, ok-script-0711-root,
// ok-elf-0711-uid): `/bin/sh: 0: cannot open ./entrypoint.sh: Permission denied`
// for the script as nobody; root reads it; an ELF needs only the x bit.
#[test]
fn scripts_must_be_readable_binaries_need_not_be() {
    let fs = debian(
        vec![
            file("app/entrypoint.sh", SCRIPT.to_vec(), 0o711),
            file("app/grouped.sh", SCRIPT.to_vec(), 0o750),
            file("app/hello", program(&["libc.so.6"], None), 0o711),
        ],
        &[],
    );
    let p = run_as(&fs, "nobody", &["/app/entrypoint.sh"]);
    assert_eq!(kinds(&p), ["not-readable"], "{p:?}");
    assert!(
        p[0].message
            .contains("uid 65534 may not read it: mode 0711"),
        "{}",
        p[0].message
    );
    assert_eq!(run_as(&fs, "", &["/app/entrypoint.sh"]), []);
    assert_eq!(run_as(&fs, "65534", &["/app/hello"]), []);
    // `sh SCRIPT` reads it too.
    let p = run_as(&fs, "nobody", &["sh", "/app/entrypoint.sh"]);
    assert_eq!(kinds(&p), ["not-readable"], "{p:?}");
    // Group 50 (`staff`) lists `app`: its group bits apply.
    let mut fs = fs;
    fs.nodes.get_mut("/app/grouped.sh").unwrap().gid = 50;
    assert_eq!(run_as(&fs, "app", &["/app/grouped.sh"]), []);
    assert_eq!(
        kinds(&run_as(&fs, "nobody", &["/app/grouped.sh"])),
        ["not-executable"]
    );
}

fn tool(path: &str) -> (String, tar::EntryType, Vec<u8>, u32) {
    file(path, program(&["libc.so.6"], None), 0o755)
}

// podman (testdata/debian broken-tini-missing, broken-dumb-init-python,
// broken-gosu-unknown-user, broken-gosu-script-0711, broken-setpriv-missing and
// their ok- look-alikes).
#[test]
fn wrappers_run_their_command_as_whom_they_say() {
    let fs = debian(
        vec![
            tool("usr/bin/tini"),
            tool("usr/bin/dumb-init"),
            tool("usr/sbin/gosu"),
            tool("usr/bin/setpriv"),
            tool("usr/bin/python3"),
            file("app/entrypoint.sh", SCRIPT.to_vec(), 0o711),
            file("app/app.py", b"print()\n".to_vec(), 0o600),
        ],
        &[],
    );
    let check = |argv: &[&str]| kinds(&run_as(&fs, "", argv));
    assert_eq!(
        check(&["tini", "--", "python3", "/app/app.py"]),
        Vec::<&str>::new()
    );
    assert_eq!(
        check(&["tini", "--", "/app/server"]),
        ["wrapped-command-missing"]
    );
    assert_eq!(check(&["tini", "--"]), ["wrapper-without-command"]);
    assert_eq!(
        check(&["/usr/bin/dumb-init", "--", "python", "app.py"]),
        ["wrapped-command-missing"]
    );
    assert_eq!(
        check(&["gosu", "app", "python3", "/app/app.py"]),
        ["not-readable"]
    );
    assert_eq!(check(&["gosu", "ghost", "python3"]), ["user-unknown"]);
    assert_eq!(
        check(&["gosu", "nobody", "/app/entrypoint.sh"]),
        ["not-readable"]
    );
    assert_eq!(
        check(&["gosu", "root", "/app/entrypoint.sh"]),
        Vec::<&str>::new()
    );
    assert_eq!(
        check(&[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "python"
        ]),
        ["wrapped-command-missing"]
    );
    // su-exec: gosu's rules (a busybox-style image has it instead).
    let fs = {
        let mut fs = fs;
        let su = fs.nodes["/usr/sbin/gosu"].clone();
        fs.nodes.insert("/usr/sbin/su-exec".into(), su);
        fs
    };
    assert_eq!(
        kinds(&run_as(
            &fs,
            "",
            &["su-exec", "nobody", "/app/entrypoint.sh"]
        )),
        ["not-readable"]
    );
    assert_eq!(
        kinds(&run_as(&fs, "", &["su-exec", "app:app"])),
        ["wrapper-without-command"]
    );
    let p = run_as(&fs, "", &["gosu", "ghost", "python3"]);
    assert!(matches!(&p[0].kind, ProblemKind::UserUnknown { wrapper: Some(w), .. } if w == "gosu"));
    assert!(!p[0].kind.about_user(), "fixed at ENTRYPOINT, not USER");
    let p = run_as(&fs, "", &["tini", "--", "gosu", "nobody", "python"]);
    assert_eq!(
        p[0].message,
        "`tini` runs `gosu`: `gosu` runs `python` as `nobody`: `python` is not found in PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)"
    );
}

// podman (testdata/debian broken-python-missing-script, broken-workdir-root-script,
// ok-workdir-script, ok-python-m): the interpreter starts, then cannot open its
// script; `-m` names a module, not a path.
#[test]
fn interpreter_scripts_resolve_against_the_working_dir() {
    let fs = debian(
        vec![
            tool("usr/bin/python3"),
            tool("usr/bin/node"),
            file("app/app.py", b"print()\n".to_vec(), 0o644),
            file("app/index.js", b"1\n".to_vec(), 0o644),
        ],
        &[],
    );
    let in_dir = |dir: &str, argv: &[&str]| {
        let s = Startup {
            entrypoint: Some(argv.iter().map(|a| (*a).to_owned()).collect()),
            working_dir: Some(dir.to_owned()),
            ..Startup::default()
        };
        verify(&s, &fs)
    };
    assert_eq!(in_dir("/app", &["python3", "app.py"]), []);
    let p = in_dir("/", &["python3", "app.py"]);
    assert_eq!(kinds(&p), ["script-missing"], "{p:?}");
    assert!(
        p[0].message
            .contains("no `/app.py` (relative to the working dir `/`)"),
        "{}",
        p[0].message
    );
    assert_eq!(in_dir("/srv", &["python3", "-u", "-m", "mod"]), []);
    assert_eq!(
        kinds(&in_dir("/", &["python3", "-u", "/app/gone.py"])),
        ["script-missing"]
    );
    assert_eq!(in_dir("/app", &["node", "index"]), []);
    assert_eq!(
        kinds(&in_dir("/app", &["node", "main"])),
        ["script-missing"]
    );
    // java -jar: the jar, relative to the working dir; a main class is not a file.
    let mut fs = fs;
    let java = fs.nodes["/usr/bin/python3"].clone();
    fs.nodes.insert("/usr/bin/java".into(), java);
    let in_dir = |dir: &str, argv: &[&str]| {
        let s = Startup {
            entrypoint: Some(argv.iter().map(|a| (*a).to_owned()).collect()),
            working_dir: Some(dir.to_owned()),
            ..Startup::default()
        };
        verify(&s, &fs)
    };
    assert_eq!(
        kinds(&in_dir("/app", &["java", "-Xmx1g", "-jar", "app.jar"])),
        ["script-missing"]
    );
    assert_eq!(in_dir("/app", &["java", "-cp", "/app", "Main"]), []);
    // Shell form: `exec` and the interpreter's script alike.
    assert_eq!(
        in_dir("/", &["/bin/sh", "-c", "exec python3 /app/app.py"]),
        []
    );
    let p = in_dir("/", &["/bin/sh", "-c", "exec python3 /app/gone.py \"$@\""]);
    assert_eq!(kinds(&p), ["script-missing"], "{p:?}");
    assert!(
        p[0].message
            .starts_with("the shell-form command `exec python3 /app/gone.py \"$@\"`: "),
        "{}",
        p[0].message
    );
}

// podman (testdata/debian broken-awk-alternative-dangling, ok-awk-alternatives).
#[test]
fn a_dangling_alternative_names_its_links_and_the_layer_that_removed_it() {
    let awk = || {
        vec![
            tool("usr/bin/mawk"),
            (
                "usr/bin/awk".to_owned(),
                SYM,
                b"/etc/alternatives/awk".to_vec(),
                0o777,
            ),
            (
                "etc/alternatives/awk".to_owned(),
                SYM,
                b"/usr/bin/mawk".to_vec(),
                0o777,
            ),
        ]
    };
    let fs = debian(awk(), &[]);
    let s = Startup {
        cmd: Some(vec!["awk".into()]),
        ..Startup::default()
    };
    assert_eq!(verify(&s, &fs), []);
    assert_eq!(
        command_path(&s, &fs).unwrap(),
        [
            "awk",
            "/usr/bin/awk",
            "/etc/alternatives/awk",
            "/usr/bin/mawk"
        ]
    );
    let fs = debian(
        awk(),
        &[vec![("usr/bin/.wh.mawk".to_owned(), REG, Vec::new(), 0)]],
    );
    let p = verify(&s, &fs);
    assert_eq!(kinds(&p), ["not-in-path"], "{p:?}");
    assert!(
        p[0].message.ends_with(": `/usr/bin/awk` → `/etc/alternatives/awk` → `/usr/bin/mawk`, which does not exist in the image (removed in layer 2)"),
        "{}",
        p[0].message
    );
    assert!(
        p[0].files.contains(&"/usr/bin/mawk".to_owned()),
        "{:?}",
        p[0].files
    );
    assert_eq!(command_path(&s, &fs), None);
}
