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
