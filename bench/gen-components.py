#!/usr/bin/env python3
"""Write a buildproof.toml with N components that together cover one tree exactly.

    bench/gen-components.py ROOT TREE N [--output OUT] > components.toml

ROOT is the directory the config will live in; TREE the tree below it (relative to
ROOT) to split; every component declares OUT (default `out`, relative to ROOT) as its
output. The tree is cut the way a monorepo's components are: start with the whole
tree, and split the unit holding the most files until there are at least N units.
A directory `d/**` splits into `e/**` per subdirectory plus `d/*` for the files
directly in it; `d/*` splits into its single files. The units, in path order, are
then dealt out to N components in contiguous runs, so each component owns a few
neighbouring subtrees or files, no file is in two components, and the union is the
whole tree: the same files as one component with `TREE/**`.

Glob characters in names are escaped with a backslash. Prints to stderr how many
units of each kind were made.
"""
import argparse
import heapq
import os
import sys

GLOB = set("*?[]{}\\")


def esc(path):
    return "".join("\\" + c if c in GLOB else c for c in path)


def toml_str(s):
    out = []
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("tree")
    ap.add_argument("n", type=int)
    ap.add_argument("--output", default="out")
    a = ap.parse_args()

    # Files (regular files and symlinks, as buildproof selects them) under each dir.
    direct = {}  # dir -> sorted names of the files directly in it
    subdirs = {}  # dir -> sorted subdirectory paths
    for dirpath, dirnames, filenames in os.walk(os.path.join(a.root, a.tree)):
        rel = os.path.relpath(dirpath, a.root)
        real = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = sorted(d for d in real if d != ".git")
        names = sorted(filenames + [d for d in os.listdir(dirpath)
                                    if os.path.islink(os.path.join(dirpath, d))
                                    and d not in filenames])
        direct[rel] = [n for n in names if n != ".git"]
        subdirs[rel] = [os.path.join(rel, d) for d in dirnames]
    total = {}

    def count(d):
        if d not in total:
            total[d] = len(direct[d]) + sum(count(s) for s in subdirs[d])
        return total[d]

    sys.setrecursionlimit(100000)
    count(os.path.normpath(a.tree))
    # A unit: (kind, path); kinds: "tree" (d/**), "files" (d/*), "file".
    def size(u):
        k, p = u
        return count(p) if k == "tree" else len(direct[p]) if k == "files" else 1

    heap = [(-size(("tree", os.path.normpath(a.tree))), ("tree", os.path.normpath(a.tree)))]
    done = []
    while heap and len(heap) + len(done) < a.n:
        neg, (k, p) = heapq.heappop(heap)
        if k == "tree":
            parts = [("tree", s) for s in subdirs[p] if count(s) > 0]
            if direct[p]:
                parts.append(("files", p))
        elif k == "files":
            parts = [("file", os.path.join(p, f)) for f in direct[p]]
        else:
            done.append((k, p))
            continue
        for u in parts:
            if size(u) <= 1 and u[0] != "file":
                # A unit of one file is that file; no further split possible.
                if u[0] == "files":
                    u = ("file", os.path.join(u[1], direct[u[1]][0]))
                else:
                    only = next_file(u[1], direct, subdirs)
                    u = ("file", only)
            heapq.heappush(heap, (-size(u), u))
    units = sorted(done + [u for _, u in heap], key=lambda u: u[1].encode("utf-8", "surrogateescape"))
    n = min(a.n, len(units))
    if n < a.n:
        print(f"only {len(units)} files: {n} components, not {a.n}", file=sys.stderr)
    kinds = {}
    for k, _ in units:
        kinds[k] = kinds.get(k, 0) + 1
    print(f"{n} components over {len(units)} units: " +
          ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())), file=sys.stderr)

    out = sys.stdout
    out.write(f"# {n} components over {a.tree}, written by bench/gen-components.py\n")
    for i in range(n):
        lo, hi = i * len(units) // n, (i + 1) * len(units) // n
        pats = []
        for k, p in units[lo:hi]:
            try:
                p.encode("utf-8")
            except UnicodeEncodeError:
                sys.exit(f"{p!r}: a name that is not UTF-8 cannot be written in TOML")
            pats.append(esc(p) + ("/**" if k == "tree" else "/*" if k == "files" else ""))
        out.write("\n[[component]]\n")
        out.write(f'name = "c{i:05}"\n')
        out.write("inputs = [" + ", ".join(toml_str(x) for x in pats) + "]\n")
        out.write(f"outputs = [{toml_str(a.output)}]\n")


def next_file(d, direct, subdirs):
    """The only file below d (d holds exactly one)."""
    if direct[d]:
        return os.path.join(d, direct[d][0])
    for s in subdirs[d]:
        f = next_file(s, direct, subdirs)
        if f:
            return f
    return None


if __name__ == "__main__":
    main()
