#!/usr/bin/env python3
"""A hostile process for the file tools' race tests: flips paths inside a
workspace as fast as it can until its stdin closes, then prints how many
flips it made (one JSON line).

    racer.py exchange A B      renameat2(A, B, RENAME_EXCHANGE) in a loop
                               (A and B trade places atomically: a real
                               directory and a symlink pointing elsewhere)
    racer.py swap A LINK_TARGET   rename A away, put a symlink to
                               LINK_TARGET in its place, put A back (the
                               rename-loop attack where renameat2 is missing)
"""
import ctypes
import ctypes.util
import json
import os
import sys
import threading

AT_FDCWD = -100
RENAME_EXCHANGE = 2

libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def renameat2(a, b, flags):
    try:
        fn = libc.renameat2
    except AttributeError:
        fn = None
    if fn is not None:
        r = fn(AT_FDCWD, a, AT_FDCWD, b, flags)
    else:  # glibc < 2.28: the raw syscall (x86_64: 316, aarch64: 276)
        nr = {"x86_64": 316, "aarch64": 276}[os.uname().machine]
        r = libc.syscall(nr, AT_FDCWD, a, AT_FDCWD, b, flags)
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


stop = threading.Event()


def watch_stdin():
    sys.stdin.read()
    stop.set()


def main():
    mode = sys.argv[1]
    threading.Thread(target=watch_stdin, daemon=True).start()
    flips = 0
    errors = 0
    if mode == "exchange":
        a, b = (os.fsencode(p) for p in sys.argv[2:4])
        while not stop.is_set():
            try:
                renameat2(a, b, RENAME_EXCHANGE)
                flips += 1
            except OSError:
                errors += 1
    elif mode == "swap":
        path, target = sys.argv[2], sys.argv[3]
        aside = path + ".aside"
        while not stop.is_set():
            try:
                os.rename(path, aside)
                os.symlink(target, path)
                os.unlink(path)
                os.rename(aside, path)
                flips += 1
            except OSError:
                errors += 1
                # Put things back whatever state the loop stopped in.
                if os.path.islink(path):
                    os.unlink(path)
                if os.path.exists(aside) and not os.path.exists(path):
                    os.rename(aside, path)
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps({"flips": flips, "errors": errors}), flush=True)


main()
