#!/usr/bin/env python3
"""Write an uncompressed cpio (newc) initramfs: mkinitramfs.py OUT DEST=SRC|DEST->TARGET...
Each DEST=SRC (e.g. init, bin/prog) gets SRC's bytes, mode 0755; each DEST->TARGET is a
symbolic link; /dev, /dev/console, /proc and the parent directories are made. No cpio
tool needed."""
import os, sys

def entry(name, mode, data=b"", rdev=(0, 0), ino=[1]):
    ino[0] += 1
    name_b = name.encode() + b"\0"
    hdr = "070701" + "".join("%08x" % v for v in (
        ino[0], mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0))
    out = hdr.encode() + name_b
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out

def main():
    out, pairs = sys.argv[1], sys.argv[2:]
    dirs, files, links = {"dev", "proc"}, [], []
    for p in pairs:
        if "->" in p:
            dest, target = p.split("->", 1)
            links.append((dest, target.encode()))
        else:
            dest, src = p.split("=", 1)
            with open(src, "rb") as f:
                files.append((dest, f.read()))
        d = os.path.dirname(dest)
        while d:
            dirs.add(d)
            d = os.path.dirname(d)
    blob = b"".join(entry(d, 0o40755) for d in sorted(dirs))
    # the kernel opens /dev/console for init before anything is mounted
    blob += entry("dev/console", 0o20600, rdev=(5, 1))
    blob += b"".join(entry(dest, 0o100755, data) for dest, data in files)
    blob += b"".join(entry(dest, 0o120777, target) for dest, target in links)
    blob += entry("TRAILER!!!", 0)
    with open(out + ".part", "wb") as f:
        f.write(blob)
    os.replace(out + ".part", out)

main()
