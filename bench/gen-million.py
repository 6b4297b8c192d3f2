#!/usr/bin/env python3
"""Generate the 1M-file tree: FILES files of 0..2 KiB (1 KiB on average) in
FILES/100 directories of 100 files, 100 directories per parent.

    bench/gen-million.py ROOT [FILES]          (default 1,000,000)

Contents are slices of one seeded pseudo-random block, so the same FILES give the
same tree byte for byte (the git repository of a previous run stays valid when the
tree on tmpfs is regenerated after a reboot). On tmpfs each file takes at least one
page: 1M files need about 4 GiB of RAM.
"""
import os
import random
import sys


def main():
    root = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    rng = random.Random(1_000_000)
    block = rng.randbytes(8 * 1024 * 1024)
    os.makedirs(root, exist_ok=False)
    made = set()
    for i in range(n):
        d = os.path.join(root, f"a{i // 10000:03}", f"b{(i // 100) % 100:02}")
        if d not in made:
            os.makedirs(d)
            made.add(d)
        size = rng.randint(0, 2048)
        off = rng.randint(0, len(block) - size)
        with open(os.path.join(d, f"f{i % 100:02}.txt"), "wb") as f:
            f.write(block[off:off + size])


if __name__ == "__main__":
    main()
