#!/usr/bin/env python3
"""Commit a whole tree to git quickly: print a `git fast-import` stream of one commit
holding every file under TREE (regular files, executables, symlinks).

    bench/git-import.py TREE | git --git-dir=G fast-import --quiet
    git --git-dir=G --work-tree=TREE reset -q      # index = HEAD, stat data filled in

`git add` would write one loose object per file (a million files on disk for the
1M-file tree); fast-import writes one pack. `.git` entries are skipped.
"""
import os
import stat
import sys


def quote(path: bytes) -> bytes:
    out = bytearray(b'"')
    for b in path:
        if b in (0x22, 0x5C):
            out += b"\\" + bytes([b])
        elif b < 0x20 or b >= 0x7F:
            out += b"\\%03o" % b
        else:
            out.append(b)
    return bytes(out + b'"')


def main():
    root = os.fsencode(sys.argv[1])
    w = sys.stdout.buffer
    w.write(b"commit refs/heads/main\n"
            b"committer bench <bench@localhost> 0 +0000\n"
            b"data 6\nbench\n")
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != b".git"
                             and not os.path.islink(os.path.join(dirpath, d)))
        names = set(filenames)
        names.update(d for d in os.listdir(dirpath) if os.path.islink(os.path.join(dirpath, d)))
        names.discard(b".git")
        for name in sorted(names):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                mode, data = b"120000", os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                mode = b"100755" if st.st_mode & stat.S_IXUSR else b"100644"
                with open(p, "rb") as f:
                    data = f.read()
            else:
                continue
            rel = os.path.relpath(p, root)
            w.write(b"M " + mode + b" inline " + quote(rel) + b"\n")
            w.write(b"data %d\n" % len(data))
            w.write(data)
            w.write(b"\n")
    w.write(b"\n")


if __name__ == "__main__":
    main()
