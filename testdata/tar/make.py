#!/usr/bin/env python3
"""Writes the tar fixtures of this folder, header by header (`python3 make.py`).

Each recreates the case of one of Go's archive/tar test archives
(src/archive/tar/testdata/, with the outcome its reader_test.go expects), written
here from scratch: the headers Go's file has, in the same order, with our own
names and contents where those do not matter. The expected outcome is in the
test that reads the file (src/image/tar_stream.rs).
"""

import os

BLOCK = 512
USTAR = b"ustar\x0000"
GNU = b"ustar  \x00"


def header(name, flag, size=0, magic=USTAR, link=b"", mode=0o644):
    h = bytearray(BLOCK)
    h[0 : len(name)] = name
    h[100:108] = b"%07o\x00" % mode
    h[108:116] = b"0001750\x00"
    h[116:124] = b"0001750\x00"
    h[124:136] = b"%011o\x00" % size
    h[136:148] = b"00000000000\x00"
    h[156] = flag
    h[157 : 157 + len(link)] = link
    h[257:265] = magic
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\x00 " % sum(h)
    return bytes(h)


def padded(data):
    return data + b"\x00" * (-len(data) % BLOCK)


def record(key, value):
    body = b" " + key + b"=" + value + b"\n"
    n = len(body) + 1
    while len(str(n)) + len(body) != n:
        n += 1
    return str(n).encode() + body


def pax(records, name=b"PaxHeaders/entry", flag=ord("x")):
    body = b"".join(record(k, v) for k, v in records)
    return header(name, flag, len(body)) + padded(body)


def entry(name, flag=ord("0"), data=b"", **kw):
    return header(name, flag, len(data), **kw) + padded(data)


END = b"\x00" * (2 * BLOCK)
TYPES = [(ord(f), n) for f, n in zip("0123456", [b"file", b"hard", b"sym", b"chr", b"blk", b"dir", b"fifo"])]

FIXTURES = {
    # Go's pax-multi-hdrs.tar: four consecutive PAX headers, then a symlink. Only the
    # last applies: the entry is `bar` -> `PAX4/PAX4/long-linkpath-name`.
    "pax-multi-hdrs.tar": pax([(b"path", b"PAX1/PAX1/long-path-name")])
    + pax([(b"path", b"PAX2/PAX2/long-path-name")])
    + pax([(b"linkpath", b"PAX3/PAX3/long-linkpath-name")])
    + pax([(b"linkpath", b"PAX4/PAX4/long-linkpath-name")])
    + entry(b"bar", ord("2"), link=b"foo"),
    # Go's pax-nul-path.tar: a PAX path ending in a NUL byte (Go: ErrHeader).
    "pax-nul-path.tar": pax([(b"path", b"0123456789" * 20 + b"\x00")])
    + entry(b"0123456789" * 10)
    + END,
    # Go's pax-nul-xattrs.tar: an xattr key with a NUL byte (Go: ErrHeader).
    "pax-nul-xattrs.tar": pax([(b"SCHILY.xattr.null\x00null", b"fizzbuzz")])
    + entry(b"bad-null.txt")
    + END,
    # Go's pax-bad-mtime-file.tar: an mtime that is not a number (Go: ErrHeader).
    "pax-bad-mtime-file.tar": pax([(b"mtime", b"999xxx9324.432432444444")])
    + entry(b"foo", data=b"x" * 684),
    # Go's pax-path-hdr.tar: a PAX header, then the end of the stream (Go: no
    # entries, no error).
    "pax-path-hdr.tar": pax([(b"path", b"PAX1/PAX1/long-path-name")]),
    # Go's gnu-incremental.tar: a GNU dumpdir (`D`) with its 14-byte listing, then a
    # file in it.
    "gnu-incremental.tar": entry(b"test2/", ord("D"), b"Yfoo\x00Ysparse\x00\x00", magic=GNU, mode=0o755)
    + entry(b"test2/foo", data=b"f" * 64, magic=GNU)
    + END,
    # Go's hdr-only.tar: entries of every type, then the same with a size set. Types
    # that have no data (links, devices, directories, FIFOs) have none whatever
    # their size says: Go reads the next header right after theirs.
    "hdr-only.tar": b"".join(entry(name, flag) for flag, name in TYPES)
    # The same with a size stated: the next header follows at once, no data.
    + b"".join(header(name + b"-sized", flag, 512 if flag != ord("0") else 0) for flag, name in TYPES)
    + END,
    # Not Go's: a PAX 1.0 sparse file whose map stores 3 bytes and claims 20 GiB of
    # holes. Read as zeros, its holes would take minutes to hash; an image's sparse
    # files may claim 16 GiB in all.
    "sparse-huge-holes.tar": pax(
        [
            (b"GNU.sparse.major", b"1"),
            (b"GNU.sparse.minor", b"0"),
            (b"GNU.sparse.name", b"var/log/lastlog"),
            (b"GNU.sparse.realsize", str(20 << 30).encode()),
        ]
    )
    + header(b"GNUSparseFile.0/lastlog", ord("0"), BLOCK + 3)
    + padded(b"1\n" + str((20 << 30) - 3).encode() + b"\n3\n")
    + padded(b"abc")
    + END,
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for name, data in FIXTURES.items():
        with open(os.path.join(here, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
