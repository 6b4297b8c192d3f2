#!/usr/bin/env python3
"""Generate a benchmark source tree: FILES files totalling about TOTAL_MIB MiB.

Ten large files carry a third of the bytes (like vendored archives or binaries); the
rest is spread over many small files in nested directories (like a source tree).
Contents are pseudo-random so nothing compresses or deduplicates.
"""
import os
import random
import sys

def main():
    root, files, total_mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    total = total_mib * 1024 * 1024
    rng = random.Random(42)
    block = rng.randbytes(64 * 1024 * 1024)
    pos = 0

    def chunk(n):
        nonlocal pos
        out = bytearray()
        while n > 0:
            take = min(n, len(block) - pos)
            out += block[pos:pos + take]
            pos = (pos + take) % len(block)
            n -= take
        return bytes(out)

    large = 10
    large_size = total // 3 // large
    small = files - large
    small_size = (total - large * large_size) // small
    os.makedirs(root, exist_ok=True)
    for i in range(large):
        with open(os.path.join(root, f"large-{i:02}.bin"), "wb") as f:
            f.write(chunk(large_size))
    for i in range(small):
        d = os.path.join(root, f"pkg{i % 50:02}", f"mod{(i // 50) % 20:02}")
        os.makedirs(d, exist_ok=True)
        size = max(1, int(small_size * rng.uniform(0.2, 1.8)))
        with open(os.path.join(d, f"file{i:05}.src"), "wb") as f:
            f.write(chunk(size))

if __name__ == "__main__":
    main()
