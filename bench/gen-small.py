#!/usr/bin/env python3
"""Copy real files from the machine into a benchmark tree (the `small` workload).

    bench/gen-small.py DEST [--every K] [--max-files N] [--max-mib M] SRC...

Each SRC is copied to DEST/<basename of SRC>, walked in sorted order. Regular files
keep their permission bits; symlinks stay symlinks (their target text, never
followed, dangling or not); directories named `site-packages` directly below a SRC
are skipped (the Python stdlib without third-party packages), as are FIFOs, sockets,
devices, unreadable files and anything named `.git` (buildproof's walker never
enters `.git`, `nix hash path` would, so the tree must not hold one). With
`--every K` only every K-th file (in walk order) is taken, which keeps a smaller
tree representative of the whole. Copying stops at --max-files or --max-mib.
Prints `files bytes symlinks` of what it wrote.
"""
import argparse
import os
import shutil
import stat
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dest")
    ap.add_argument("src", nargs="+")
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--max-files", type=int, default=60000)
    ap.add_argument("--max-mib", type=int, default=1000)
    a = ap.parse_args()
    max_bytes = a.max_mib * 1024 * 1024
    files = size = links = seen = 0
    os.makedirs(a.dest, exist_ok=False)
    for src in a.src:
        src = os.path.realpath(src)
        top = os.path.join(a.dest, os.path.basename(src))
        for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
            rel = os.path.relpath(dirpath, src)
            dirnames[:] = sorted(
                d for d in dirnames
                if d != ".git" and not (rel == "." and d == "site-packages")
                and os.access(os.path.join(dirpath, d), os.R_OK | os.X_OK)
            )
            # os.walk lists symlinks to directories among dirnames; copy them as links.
            entries = sorted(filenames + [d for d in os.listdir(dirpath)
                                          if os.path.islink(os.path.join(dirpath, d))
                                          and d not in filenames])
            outdir = os.path.normpath(os.path.join(top, rel))
            os.makedirs(outdir, exist_ok=True)
            for name in entries:
                if name == ".git":
                    continue
                if files >= a.max_files or size >= max_bytes:
                    print(files, size, links)
                    return
                p = os.path.join(dirpath, name)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                    continue
                seen += 1
                if (seen - 1) % a.every:
                    continue
                q = os.path.join(outdir, name)
                try:
                    if stat.S_ISLNK(st.st_mode):
                        os.symlink(os.readlink(p), q)
                        links += 1
                    else:
                        shutil.copyfile(p, q, follow_symlinks=False)
                        os.chmod(q, (st.st_mode & 0o777) | 0o600)
                        size += st.st_size
                except (PermissionError, OSError) as e:
                    print(f"skipped {p}: {e}", file=sys.stderr)
                    if os.path.lexists(q):
                        os.unlink(q)
                    continue
                files += 1
    print(files, size, links)


if __name__ == "__main__":
    main()
